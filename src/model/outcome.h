/*
 * outcome: what happened to each chunk and inline span of one render. The
 * planner and engine fill it; renderers read it together with the document.
 */
#ifndef WEFT_OUTCOME_H
#define WEFT_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "model/output.h"

enum chunk_state {
	CHUNK_PENDING,   /* not reached (yet) */
	CHUNK_RAN,       /* executed in this render */
	CHUNK_CACHED,    /* outputs taken from the cache, nothing ran */
	CHUNK_REPLAYED,  /* re-run only to rebuild unsaveable names; outputs from the cache */
	CHUNK_NOT_EVALUATED, /* evaluate=False */
	CHUNK_SKIPPED,   /* not run because execution stopped earlier (crash, timeout) */
	CHUNK_STALE,     /* --frozen: last cached results shown although the chunk is stale */
};

enum run_status {
	RUN_OK,          /* finished normally */
	RUN_ERROR,       /* raised an exception (shown in the outputs) */
	RUN_CRASHED,     /* the interpreter died (segfault, os._exit) */
	RUN_TIMEOUT,     /* exceeded --timeout and was killed */
};

/* One top-level statement of a chunk, for term mode transcripts. */
struct statement {
	char *source;    /* the statement's source lines */
	int line;        /* its first line in the document */
};

struct chunk_outcome {
	enum chunk_state state;
	enum run_status status;
	struct output_list outputs;
	struct statement *statements;  /* term mode: statements, outputs refer to them by index */
	size_t nstatements;
	char *error_type;              /* RUN_ERROR: exception type, e.g. "ZeroDivisionError" */
	char *error_message;           /* RUN_ERROR: str(exception); CRASHED/TIMEOUT: description */
	int error_line;                /* document line the error points at, 0 if unknown */
	double seconds;                /* run time (from the cache entry for cached chunks) */
	char *why;                     /* planner: why it ran / why it is stale, or NULL */
	bool tracking_failed;          /* engine: the cache could not track this run (never cached) */
	char *chunk_defaults;          /* engine: Pweave's chunk option defaults as this run's code
	                                  changed them (pweave.rcParams), JSON object text
	                                  {option: Python literal}; NULL: unchanged (rundefaults.h) */
};

struct inline_outcome {
	bool done;
	bool stale;                    /* --frozen: the value is from an out-of-date entry (marked) */
	enum run_status status;
	struct strbuf text;            /* text to insert (value or printed output) */
	char *error_message;           /* when status != RUN_OK */
	int error_line;                /* document line the error points at, 0 if unknown */
	char *chunk_defaults;          /* as in chunk_outcome */
};

struct weave_results {
	struct chunk_outcome *chunks;  /* one per chunk, by chunk index */
	size_t nchunks;
	struct inline_outcome *inl;    /* one per inline span, by inline_index */
	size_t ninline;
	int stopped_at;                /* chunk index where execution stopped (crash/timeout), or -1 */
	bool engine_started;           /* Python was started for this render */
};

/*
 * The text inline span `io` shows, with surrounding whitespace stripped as
 * Pweave strips every inline result: a pointer into io->text (length in *len).
 */
const char *inline_outcome_shown(const struct inline_outcome *io, size_t *len);

void weave_results_init(struct weave_results *r, size_t nchunks, size_t ninline);
void weave_results_free(struct weave_results *r);
void chunk_outcome_free(struct chunk_outcome *o);
/* Reset an outcome to empty/pending (frees contents). */
void chunk_outcome_reset(struct chunk_outcome *o);
const char *chunk_state_name(enum chunk_state s);

#endif
