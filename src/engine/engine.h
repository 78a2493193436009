/*
 * engine: runs code chunks. One interface, two implementations:
 *
 *   python  (default) embedded CPython in a worker process forked from weft,
 *           spoken to over pipes with newline-delimited JSON messages. A chunk
 *           that segfaults, calls os._exit or runs past the timeout kills only
 *           the worker: the caller gets RUN_CRASHED / RUN_TIMEOUT and may start
 *           a new engine.
 *   jupyter a Jupyter client (ZeroMQ) for any installed kernel, chosen by
 *           engine_config.kernel (jupyter_engine.h); for a Python kernel the
 *           cache's ops (engine_request) run in weft's runtime sent into the
 *           kernel (kernel_runtime.h), other kernels do not support them.
 *
 * engine.c dispatches: engine_start picks the implementation, the other
 * calls go through its vtable (python_engine.h, jupyter_engine.h).
 *
 * The engine is started lazily by the caller: a render where nothing has to
 * run never calls engine_start, so Python never starts.
 *
 * Protocol (python engine), one JSON object per line in each direction:
 *   request  {"op": "...", ...}
 *   reply    {"ok": true, ...} or {"ok": false, "error": "message"}
 * Every op's fields and every event kind are listed once, in
 * protocol_schema.h (the worker's weft_protocol.py is generated from it);
 * protocol.h builds requests with checked helpers and decodes replies and
 * events into typed structs. A message that cannot be built or does not
 * conform is an error naming the chunk, never a dropped field.
 * Ops "run" and "inline" are wrapped by engine_run_chunk / engine_eval_inline.
 * Every other op (the cache's name analysis, save/restore of names, state
 * fingerprints) is dispatched by name to the Python runtime and reached
 * through engine_request, so the cache can grow the protocol without
 * touching the process plumbing.
 */
#ifndef WEFT_ENGINE_H
#define WEFT_ENGINE_H

#include <stdbool.h>

#include <jansson.h>

#include "model/outcome.h"
#include "util/error.h"

struct engine;

struct engine_config {
	const char *python;     /* --python: path to a (venv) python executable, or NULL */
	const char *doc_path;   /* the document: sys.argv[0], traceback file name */
	const char *workdir;    /* directory chunks run in (the document's), or NULL for cwd */
	double timeout;         /* seconds per chunk, 0 = none */
	const char *kernel;     /* --kernel: Jupyter kernelspec name, or NULL for embedded Python */
};

/* What to run: one chunk with the options that change what it computes. */
struct run_request {
	const char *code;
	int code_line;          /* document line of the first code line */
	const char *name;       /* chunk name for messages, or NULL */
	bool term;              /* console transcript: outputs carry their statement index */
	bool complete;          /* False: code is an incomplete fragment (joined with the next chunk by the caller) */
	bool fig;               /* capture matplotlib figures */
	double f_size[2];       /* figure size in inches */
	int dpi;
	const char *fig_format; /* "png", "svg" or "pdf" */
	bool track;             /* cache: report names bound/deleted/mutated, files read/written */
	const json_t *extra;    /* optional object whose fields are merged into the "run" request
				 * and so reach weft_state.begin_tracking (cache: "reads", "cache_dir") */
	/* Optional work of the caller's that need not wait for the chunk: called
	 * once, after the request went out, while the chunk runs (the cache stores
	 * the previous chunk's entry, fsyncs and all, then). The chunk's recorded
	 * seconds are the worker's own, so the work does not count in them. An
	 * engine may also not call it; the caller then does the work later. */
	void (*meanwhile)(void *ctx);
	void *meanwhile_ctx;
	/* Optional progress hooks (the command line's live line and -v), with
	 * hook_ctx: `waiting` is called about every 0.1 s while the chunk runs,
	 * `streamed` with each piece of stream text ("stdout"/"stderr") as it
	 * arrives. Neither may touch the engine. An engine may not call them. */
	void (*waiting)(void *ctx);
	void (*streamed)(void *ctx, const char *stream, const char *text, size_t len);
	void *hook_ctx;
};

/*
 * One implementation's operations, each on its own opaque state. The planner
 * may be handed one (planner_config.engine_ops) instead of the usual choice:
 * tests drive the planner's walk with a scripted engine, no Python involved.
 * `request` takes a JSON object with "op" and gives the reply (see
 * protocol_schema.h for every op's fields).
 */
struct engine_ops {
	const char *name;
	int (*start)(void **impl, const struct engine_config *cfg, struct weft_error *err);
	void (*stop)(void *impl);
	bool (*alive)(const void *impl);
	int (*run_chunk)(void *impl, const struct run_request *req, struct chunk_outcome *out,
			 json_t **tracked, struct weft_error *err);
	int (*eval_inline)(void *impl, const char *code, bool is_expr, int line,
			   struct inline_outcome *out, struct weft_error *err);
	int (*request)(void *impl, json_t *request, json_t **reply, struct weft_error *err);
	const char *(*identity)(void *impl);
};

/* Start a worker. Returns 0, or -1 with err (e.g. the interpreter failed to start). */
int engine_start(struct engine **out, const struct engine_config *cfg, struct weft_error *err);
/* Start the engine `ops` implements (an injected one); as engine_start. */
int engine_start_with(struct engine **out, const struct engine_ops *ops, const struct engine_config *cfg,
		      struct weft_error *err);
/* Stop the worker (if alive) and free the engine. NULL is fine. */
void engine_stop(struct engine *e);
/* False once the worker has died (crash, timeout, protocol failure). */
bool engine_alive(const struct engine *e);

/*
 * Run a chunk. Fills `out` (outputs, status, error fields, statements in term
 * mode, seconds) and, when req->track is set and `tracked` is non-NULL, stores
 * the worker's tracking record there (new reference; see the Python runtime for
 * its fields). Returns 0 when the chunk finished (normally or by raising), -1
 * when the worker died or the protocol failed: out->status says RUN_CRASHED or
 * RUN_TIMEOUT and err describes it; the engine is then dead.
 */
int engine_run_chunk(struct engine *e, const struct run_request *req, struct chunk_outcome *out,
		     json_t **tracked, struct weft_error *err);

/*
 * Evaluate inline code at document `line`: `<%= expr %>` (is_expr) inserts
 * str(value); `<% code %>` inserts what it printed. Fills `out`.
 */
int engine_eval_inline(struct engine *e, const char *code, bool is_expr, int line,
		       struct inline_outcome *out, struct weft_error *err);

/*
 * Send any other request (a JSON object with "op") and wait for its reply.
 * `*reply` gets a new reference to the reply object. Returns 0 when the reply
 * says ok, -1 otherwise (err holds the worker's message).
 * A request's "fds" field, an array of open descriptors of this process, is
 * not sent as text: the Python worker receives the descriptors themselves
 * (SCM_RIGHTS) and finds its own numbers for them in the same field, in the
 * same order (fields refer to them by index). The caller keeps and closes its
 * own; the worker closes its copies once the request is answered.
 */
int engine_request(struct engine *e, json_t *request, json_t **reply, struct weft_error *err);

/*
 * A digest of the code that runs chunks and answers the cache's ops: the
 * Python worker and its runtime as built into this weft (both worker images).
 * Part of every cache identity, so an entry made by other runtime code (which
 * may display values or save figures differently) is never taken for one of
 * this build's, whatever VERSION says. 16 hex digits.
 */
const char *engine_runtime_digest(void);

/* The interpreter's identity ("CPython 3.11.2 /usr/bin/python3"), part of cache keys. */
const char *engine_identity(struct engine *e);

#endif
