/*
 * progress: what a render tells the user on stderr while it works.
 *
 * One line per chunk when it is resolved: "file:line name [k/n] state time".
 * On a terminal, a live line while a chunk runs, rewritten in place with its
 * elapsed time; without one (a CI log), a line when a chunk has run for a
 * second, so a long chunk shows up before it ends. With -v (verbose) the
 * chunk's own output is copied to stderr as it arrives. Nothing when quiet
 * (but --explain still says why each chunk ran).
 */
#ifndef WEFT_PROGRESS_H
#define WEFT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "planner/planner.h"

struct progress {
	bool quiet;
	bool tty;        /* stderr is a terminal: live line */
	bool explain;    /* also print why each chunk ran */
	bool verbose;    /* copy the chunk's output to stderr as it comes */
	int live;        /* a live line is on screen and must be cleared */
	bool mid_line;   /* the copied output ended without a newline: no live line now */
	bool announced;  /* the running chunk's "running..." line was printed (no terminal) */
	double started;  /* when the running chunk started (monotonic seconds) */
	double drawn;    /* when the live line was last drawn */
	char label[512]; /* "file:line name [k/n]" of the running chunk */
};

void progress_init(struct progress *p, bool quiet, bool explain, bool verbose);
/* The planner_progress_fn to pass with a struct progress as ctx. */
void progress_event(void *ctx, enum planner_event ev, const struct document *doc,
		    const struct chunk *chunk, const struct chunk_outcome *outcome);
/* planner_config.waiting: the running chunk's elapsed time. */
void progress_waiting(void *ctx);
/* planner_config.streamed: with -v, the chunk's output as it comes. */
void progress_streamed(void *ctx, const char *stream, const char *text, size_t len);
/* Clear any live line (call before printing anything else). */
void progress_finish(struct progress *p);
/* A chunk's display name: its name, or "chunk N". Writes into buf. */
const char *progress_chunk_name(const struct chunk *c, char *buf, size_t size);
/*
 * A chunk as messages about it name it: "chunk 'name'", or "chunk N" for an
 * unnamed one (never "chunk chunk N"). Writes into buf.
 */
const char *progress_chunk_label(const struct chunk *c, char *buf, size_t size);

#endif
