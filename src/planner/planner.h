/*
 * planner: walks a document in order and decides, for every chunk and inline
 * span, whether it runs, comes from the cache, is replayed or is skipped;
 * drives the engine (started lazily: a render where nothing has to run never
 * starts Python) and fills the weave results the renderers read.
 *
 * Cache soundness lives here: keys are a Merkle chain over the dataflow
 * (cache_key.h), names are restored lazily at the version a fresh run would
 * have seen, unsaveable names are rebuilt by replaying their chunk.
 */
#ifndef WEFT_PLANNER_H
#define WEFT_PLANNER_H

#include <stdbool.h>
#include <stdio.h>

#include "model/document.h"
#include "model/outcome.h"
#include "util/error.h"

struct store;
struct engine_ops;

enum planner_event {
	PLANNER_UNIT_START, /* a chunk starts running */
	PLANNER_UNIT_DONE,  /* a chunk is resolved (ran, cached, skipped, ...) */
};

/* Progress callback: called for chunks only (not inline spans). */
typedef void (*planner_progress_fn)(void *ctx, enum planner_event ev, const struct document *doc,
				    const struct chunk *chunk, const struct chunk_outcome *outcome);

struct planner_config {
	const char *python;        /* --python, or NULL */
	const char *kernel;        /* --kernel: Jupyter kernelspec name for the default language, or NULL;
	                              a Python kernel turns caching off, others are cached by chain */
	double timeout;            /* --timeout seconds per chunk, 0 = none */
	const char *fig_format;    /* png, svg, pdf */
	bool cache_all;            /* --cache: cache=True for every chunk unless it says otherwise */
	bool no_cache;             /* --no-cache: no cache at all, whatever the document or --cache say */
	const char *cache_dir;     /* --cache-dir, or NULL (WEFT_CACHE_DIR, then .weft-cache/ beside the doc) */
	const char **rebuild;      /* --rebuild NAME..., chunk names to re-run */
	size_t nrebuild;
	bool frozen;               /* --frozen: render from the cache, run nothing */
	bool explain;              /* --explain: print why each chunk runs */
	planner_progress_fn progress;
	void *progress_ctx;
	/* While a chunk runs (with progress_ctx; see engine.h's run_request): called
	 * about every 0.1 s, and with each piece of its stream text as it arrives. */
	void (*waiting)(void *ctx);
	void (*streamed)(void *ctx, const char *stream, const char *text, size_t len);
	struct store *store;       /* the cache store, opened by planner_open_store (NULL: none) */
	/* The engine to run chunks with, or NULL for the usual one (embedded Python,
	 * or --kernel). Tests inject a scripted engine here (tests/unit/test_planner.c). */
	const struct engine_ops *engine_ops;
};

/*
 * True when this render uses the cache (--cache, --frozen, front matter, or a
 * chunk's cache=True), unless --no-cache turns it off altogether.
 */
bool planner_uses_cache(const struct document *doc, const struct planner_config *cfg);

/*
 * Open the cache store for `doc` (--cache-dir, WEFT_CACHE_DIR, or .weft-cache/
 * beside the document; made absolute, since chunks run in the document's folder).
 */
int planner_open_store(const struct document *doc, const struct planner_config *cfg,
		       struct store **out, struct weft_error *err);

/*
 * Run (or take from the cache) every chunk of `doc`, filling `res` (which the
 * caller has weave_results_init'ed for the document). Chunk failures are
 * recorded in the outcomes, not returned as errors; -1 means weft itself
 * failed (cache store unusable, engine could not start, ...), with err set.
 * The options of chunks after one whose code set Pweave's chunk defaults
 * (pweave.rcParams) are re-resolved in place (rundefaults.h): afterwards each
 * chunk's opts are the options in force when the render reached it.
 */
int planner_weave(struct document *doc, const struct planner_config *cfg,
		  struct weave_results *res, struct weft_error *err);

/*
 * `weft cache status`: print a table, one row per chunk (name, line, fresh /
 * stale / not cached, and why), without running any chunk.
 */
int planner_status(struct document *doc, const struct planner_config *cfg, FILE *out,
		   struct weft_error *err);

/*
 * Write the machine-readable summary of a render (--summary-json): for each
 * chunk its name, line, state, why and seconds.
 */
int planner_write_summary(const struct document *doc, const struct weave_results *res,
			  const char *path, struct weft_error *err);

#endif
