/*
 * progress: one line per chunk on stderr while a document renders: its line,
 * name, state and time. On a terminal the line is live (rewritten in place
 * while a chunk runs); otherwise plain lines; nothing when quiet.
 */
#ifndef WEFT_PROGRESS_H
#define WEFT_PROGRESS_H

#include <stdbool.h>

#include "planner/planner.h"

struct progress {
	bool quiet;
	bool tty;        /* stderr is a terminal: live line */
	bool explain;    /* also print why each chunk ran */
	int live;        /* a live line is on screen and must be cleared */
};

void progress_init(struct progress *p, bool quiet, bool explain);
/* The planner_progress_fn to pass with a struct progress as ctx. */
void progress_event(void *ctx, enum planner_event ev, const struct document *doc,
		    const struct chunk *chunk, const struct chunk_outcome *outcome);
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
