/*
 * jupyter_engine: engine.h's second implementation, a Jupyter client in C
 * (libzmq + libsodium) for any installed kernel (`weft weave --kernel NAME`).
 *
 * Lifecycle:
 *   jupyter_engine_start  find the kernelspec NAME (JUPYTER_PATH, then
 *                         ~/.local/share/jupyter, /usr/local/share/jupyter,
 *                         /usr/share/jupyter; each + "/kernels/NAME/kernel.json"),
 *                         write a connection file (127.0.0.1 ports, random
 *                         HMAC-SHA256 key, mode 0600), launch the kernel in its
 *                         own process group in the document's folder, connect
 *                         shell/control/stdin (DEALER), iopub (SUB) and heartbeat
 *                         (REQ; connected for protocol completeness, but
 *                         liveness comes from waitid() on the kernel, our
 *                         child), then kernel_info_request until the kernel
 *                         answers on shell and iopub (so no output is lost to
 *                         ZeroMQ's slow-joiner effect).
 *   jupyter_engine_run_chunk  one execute_request per chunk; iopub stream,
 *                         display_data, execute_result, error and clear_output
 *                         become outputs (ANSI colours stripped from tracebacks)
 *                         until status idle for our request. Past the timeout
 *                         the kernel is interrupted (interrupt_request on control
 *                         or SIGINT to its group, per the kernelspec's
 *                         interrupt_mode); if it stays busy its group is killed.
 *                         A kernel that exits is RUN_CRASHED.
 *   jupyter_engine_stop   shutdown_request on control, a short grace, then
 *                         SIGKILL of the group; reaped; connection file removed.
 *
 * Figures: for Python kernels a silent request before each fig=True chunk
 * gives matplotlib's inline backend the chunk's size, dpi and format (as
 * Pweave's IPython processor does); other kernels use their own defaults.
 *
 * Term mode (Python kernels): the kernel's ast module splits the chunk into
 * top-level statements (a user expression); each runs as its own
 * execute_request, so outputs carry their statement's index as in the
 * embedded engine. Other kernels run a term chunk whole.
 *
 * Output: each stream of a request is capped at WORKER_STREAM_LIMIT_BYTES
 * (worker.h), with the embedded engine's marker and warning past it.
 *
 * Limits: the cache's Python-side ops exist only in the embedded engine, so
 * jupyter_engine_request answers "not supported" (other languages' kernels
 * are cached by chain, planner/chain.h); stdin requests are refused
 * (allow_stdin false); errors point at the chunk line IPython's traceback
 * names ("Cell In[n], line k"), other kernels' errors at the chunk's start.
 *
 * The wire-protocol helpers are public so they can be tested without a kernel.
 */
#ifndef WEFT_JUPYTER_ENGINE_H
#define WEFT_JUPYTER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "engine/engine.h"
#include "model/outcome.h"
#include "util/error.h"
#include "util/strbuf.h"

struct jupyter_engine;

int jupyter_engine_start(struct jupyter_engine **out, const struct engine_config *cfg,
			 struct weft_error *err);
void jupyter_engine_stop(struct jupyter_engine *e);
bool jupyter_engine_alive(const struct jupyter_engine *e);
int jupyter_engine_run_chunk(struct jupyter_engine *e, const struct run_request *req,
			     struct chunk_outcome *out, json_t **tracked, struct weft_error *err);
/*
 * Python kernels: expressions go through user_expressions, str(value) asked
 * for and unquoted, as the embedded engine inserts. Other kernels (IRkernel
 * answers no user_expressions) run the expression as code: R's as
 * paste(format(value), collapse = ", "), knitr's way; others insert what it
 * printed, else its execute_result's text/plain. Code inserts what it printed
 * to stdout. A failure's message is the kernel's exception text, never a bare
 * "error".
 */
int jupyter_engine_eval_inline(struct jupyter_engine *e, const char *code, bool is_expr, int line,
			       struct inline_outcome *out, struct weft_error *err);
/* Always -1: the cache's ops exist only in the embedded engine. */
int jupyter_engine_request(struct jupyter_engine *e, json_t *request, json_t **reply,
			   struct weft_error *err);
/* Change the per-chunk timeout (seconds, 0 = none) for later requests. */
void jupyter_engine_set_timeout(struct jupyter_engine *e, double seconds);
/* "jupyter kernel NAME: IMPLEMENTATION VERSION; LANGUAGE VERSION", from kernel_info. */
const char *jupyter_engine_identity(struct jupyter_engine *e);

/* The kernelspec's language ("python", "R", ...; "" when it names none). */
const char *jupyter_engine_language(const struct jupyter_engine *e);
/*
 * Python kernels: apply req's figure options (size, dpi, format) now, as
 * run_chunk does before a fig=True chunk; for a caller that brackets the
 * chunk with requests of its own (kernel_runtime.c). 0, or -1 with err when
 * the kernel died or hung (the engine is then dead unless interrupted).
 */
int jupyter_engine_figures(struct jupyter_engine *e, const struct run_request *req,
			   struct weft_error *err);
/*
 * Run `code` silently (no history, no execution count, its outputs dropped)
 * and, when expr is not NULL, evaluate the user expression expr after it.
 * *result: a new reference to the expression's result ({"status", "data":
 * {MIME: value}, ...}) or, without expr, to the execute_reply content.
 * Returns 0, or -1 with err (code or expression raised: the kernel's
 * message; the kernel died or timed out).
 */
int jupyter_engine_eval_silent(struct jupyter_engine *e, const char *code, const char *expr,
			       json_t **result, struct weft_error *err);

/* ---- wire protocol ---- */

/* One message's four JSON parts (each owned, never NULL after decode). */
struct jupyter_msg {
	json_t *header, *parent_header, *metadata, *content;
};

void jupyter_msg_init(struct jupyter_msg *m);
void jupyter_msg_free(struct jupyter_msg *m);

/*
 * Hex HMAC-SHA256 of the concatenated parts under `key` (the connection
 * file's key string, used as bytes). An empty key signs with "" (no auth).
 */
void jupyter_sign(const char *key, const struct strbuf parts[4], char out[65]);

/*
 * Serialise `m` into the frames after the routing ids:
 * "<IDS|MSG>", signature, header, parent_header, metadata, content.
 * `frames` must hold 6 initialised strbufs (their contents are replaced).
 */
void jupyter_msg_encode(const struct jupyter_msg *m, const char *key, struct strbuf frames[6]);

/*
 * Parse received frames (routing ids, delimiter, signature, four parts, then
 * optional buffers, ignored). Verifies the signature in constant time.
 * Returns 0, or -1 with err (no delimiter, too few frames, bad signature,
 * bad JSON); m is left empty on failure.
 */
int jupyter_msg_decode(struct jupyter_msg *m, const struct strbuf *frames, size_t n,
		       const char *key, struct weft_error *err);

/*
 * Decode the repr() of a Python str (how IPython's text/plain shows one) into
 * out. Returns 0, or -1 when `lit` is not a plain quoted literal.
 */
int jupyter_unrepr(const char *lit, struct strbuf *out);

/* Remove ANSI escape sequences (colours in IPython tracebacks) in place. */
void jupyter_strip_ansi(struct strbuf *sb);

#endif
