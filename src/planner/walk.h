/*
 * walk: the state of one render while the planner walks a document, shared by
 * the planner's modules (planner.c decides, entry.c keeps cache entries,
 * restore.c keeps the worker's names at the right versions). Internal to the
 * planner layer: nothing outside src/planner includes it.
 */
#ifndef WEFT_WALK_H
#define WEFT_WALK_H

#include <stdbool.h>

#include <jansson.h>

#include "cache/store.h"
#include "engine/engine.h"
#include "planner/dataflow.h"
#include "planner/planner.h"

/* Everything one render keeps while walking the document. */
struct walk {
	const struct document *doc;
	const struct planner_config *cfg;
	struct weave_results *res;
	struct engine *engine;
	bool stopped;              /* a crash or timeout ended execution */
	bool caching;              /* some unit takes part in the cache */
	struct dataflow df;
	struct store *store;
	bool own_store;            /* opened here (else the caller's, from planner_config) */
	char *doc_id;              /* the document as the store knows it (absolute path) */
	char *doc_dir;             /* its folder (absolute; chunks run there), no trailing slash */
	json_t *live;              /* name -> unit index whose version the worker holds */
	int live_rng;              /* unit whose random state the worker holds, -1 fresh */
	json_t **meta;             /* per unit: its cache entry (hit or new), or NULL */
	bool *replaying;           /* per unit: replay in progress (cycle guard) */
	bool *stale;               /* --frozen: per unit, shown results may differ from a fresh run */
	bool *lines_sent;          /* per unit: its document lines are registered in the worker */
	char **extra;              /* per unit: value of its cache_extra this render, or NULL */
	json_t *ns_tails;          /* nsorder: unit index -> names it inserted / deleted, or NULL */
	json_t *run_defaults;      /* rundefaults.h: chunk defaults set by code so far, or NULL */
	char *identity;
	char *python;              /* the interpreter python_select chose (engine_config.python), or NULL */
	char *python_error;        /* why none could be chosen (reported when the engine must start), or NULL */
	char *python_note;         /* python3 on PATH is another interpreter: said once when the engine starts */
	/* The Jupyter kernel Python chunks run in (--kernel of a Python kernelspec),
	 * or NULL for the embedded engine; other languages' kernels: chain.h. */
	const char *python_kernel;
	/* Work for while a chunk runs (run_request.meanwhile), given the walk. */
	void (*meanwhile)(void *walk);
	/* The entry of the last chunk that ran, built but not yet in the store:
	 * the planner writes it while the next chunk runs (entry_write_pending
	 * as `meanwhile`), so its fsyncs overlap that chunk instead of preceding it. */
	struct pending_entry {
		json_t *meta;      /* NULL: nothing pending */
		json_t *blobs;     /* hashes the entry references */
		size_t ui;
		double seconds;
	} pending;
};

/* Start the engine on first need, so renders with nothing to run never start Python. */
int walk_engine(struct walk *w, struct weft_error *err);

/* Ask the engine for an op; the reply is returned or NULL with err set. */
json_t *walk_request(struct walk *w, json_t *req, struct weft_error *err);

struct chunk_outcome *walk_outcome(struct walk *w, size_t ui);

void walk_set_why(struct walk *w, size_t ui, const char *why);

void walk_progress(struct walk *w, enum planner_event ev, size_t ui);

/*
 * Mark that execution ended at chunk `index` (-1: in inline code, no chunk to
 * mark); the worker is gone and later units are skipped.
 */
void walk_stop(struct walk *w, int index);

/*
 * Run unit ui's code in the worker. With `track`, collect what it wrote and
 * read; `for_replay` discards the outputs (they come from the cache).
 * Fills *record (new reference) with the tracking record, or NULL.
 */
int walk_run_code(struct walk *w, size_t ui, bool track, const json_t *reads,
		    struct chunk_outcome *out, json_t **record, struct weft_error *err);

void walk_init(struct walk *w, const struct document *doc, const struct planner_config *cfg,
		      struct weave_results *res);

void walk_free(struct walk *w);

/* Is `name` in `names`, a JSON array of a record's few names (deleted, moved, mutated)? */
bool walk_names_has(const json_t *names, const char *name);

/* Is unit u's chunk named in --rebuild, or has it cache_rebuild=True? (Its entry is then not used.) */
bool walk_rebuild_requested(const struct walk *w, const struct unit *u);

#endif
