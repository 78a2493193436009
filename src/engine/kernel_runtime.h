/*
 * kernel_runtime: the engine for `--kernel NAME`, a Jupyter kernel with the
 * chunk cache when the kernel is a Python one (issue 11).
 *
 * A kernel_engine wraps a jupyter_engine. For a kernel whose language is
 * Python, weft's runtime (the src/engine/py files the worker embeds, also
 * linked into weft: embedded.h) is sent into the kernel once, on the first
 * op or tracked chunk, by a silent execute_request running
 * weft_kernel.boot (src/engine/py/weft_kernel.py). Then:
 *
 *   request     every op of protocol_schema.h: a silent execute_request whose
 *               user expression calls weft_kernel.call(<request JSON>); the
 *               reply is the expression's value, JSON text under the MIME
 *               type application/vnd.weft.reply+json (never an output);
 *   run_chunk   with track set: the figure set-up, then the runtime's
 *               track_begin, the chunk as IPython cells (outputs from
 *               iopub, as without the cache), then track_end, whose record
 *               is the chunk's tracking record. track_begin carries the
 *               chunk's code, line and term flag: the kernel side sets the
 *               kernel's execution count to the one a render without cache
 *               has there (from the units before it: doc_lines and earlier
 *               runs), so "Cell In[n]" and IPython's _iN / _N names match;
 *               a record of a chunk reading In / Out is "volatile" (re-run
 *               every render; see weft_kernel.py).
 *
 * Other kernels, and chunks run without tracking, go straight to the
 * jupyter_engine; request then answers "not supported".
 *
 * Cache keys hold the kernel's identity (kernel_runtime_identity), distinct
 * from the embedded engine's, so entries of one never serve the other.
 */
#ifndef WEFT_KERNEL_RUNTIME_H
#define WEFT_KERNEL_RUNTIME_H

#include <stdbool.h>

#include <jansson.h>

#include "engine/engine.h"
#include "model/outcome.h"
#include "util/error.h"

struct kernel_engine;

/* engine.h's operations (engine.c's vtable for cfg->kernel). */
int kernel_engine_start(struct kernel_engine **out, const struct engine_config *cfg,
			struct weft_error *err);
void kernel_engine_stop(struct kernel_engine *k);
bool kernel_engine_alive(const struct kernel_engine *k);
int kernel_engine_run_chunk(struct kernel_engine *k, const struct run_request *req,
			    struct chunk_outcome *out, json_t **tracked, struct weft_error *err);
int kernel_engine_eval_inline(struct kernel_engine *k, const char *code, bool is_expr, int line,
			      struct inline_outcome *out, struct weft_error *err);
int kernel_engine_request(struct kernel_engine *k, json_t *request, json_t **reply,
			  struct weft_error *err);
const char *kernel_engine_identity(struct kernel_engine *k);

/*
 * What in a unit's analysis (weft_analysis's record) reads IPython's history
 * (_ __ ___ _i _ii _iii _iN _N In Out _oh _ih _dh), which lives in the shell
 * and differs in a render that skipped cached chunks: the name, or
 * "dynamic code" / the lister ("eval", "globals", ...) through which the
 * unit may read any name; NULL when it reads none. The planner turns the
 * cache off for a document with such a unit.
 */
const char *kernel_runtime_history_read(const json_t *analysis);

/*
 * Can the chunk cache work through kernel `name`? True when its kernelspec
 * exists and names Python as its language; read without starting it.
 */
bool kernel_runtime_cacheable(const char *name);

/*
 * The identity cache keys hold for kernel `name`, known without starting it:
 * "jupyter kernel NAME: LANGUAGE, EXECUTABLE ARGS..." with the executable's
 * real path (found on PATH when kernel.json names no folder). New string;
 * for a kernelspec that cannot be read, "jupyter kernel NAME".
 */
char *kernel_runtime_identity(const char *name);

#endif
