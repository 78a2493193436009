/* progress: per-chunk progress lines on stderr; see progress.h. */
#include "cli/progress.h"

#include <stdio.h>
#include <unistd.h>

void progress_init(struct progress *p, bool quiet, bool explain)
{
	p->quiet = quiet;
	p->tty = isatty(2);
	p->explain = explain;
	p->live = 0;
}

const char *progress_chunk_name(const struct chunk *c, char *buf, size_t size)
{
	if (c->opts.name)
		snprintf(buf, size, "%s", c->opts.name);
	else
		snprintf(buf, size, "chunk %d", c->number);
	return buf;
}

const char *progress_chunk_label(const struct chunk *c, char *buf, size_t size)
{
	if (c->opts.name)
		snprintf(buf, size, "chunk '%s'", c->opts.name);
	else
		snprintf(buf, size, "chunk %d", c->number);
	return buf;
}

void progress_finish(struct progress *p)
{
	if (p->live) {
		fputs("\r\033[K", stderr);
		p->live = 0;
	}
}

void progress_event(void *ctx, enum planner_event ev, const struct document *doc,
		    const struct chunk *chunk, const struct chunk_outcome *o)
{
	struct progress *p = ctx;
	char name[128];
	progress_chunk_name(chunk, name, sizeof(name));
	int line = chunk->header_line ? chunk->header_line : chunk->code_line;

	if (ev == PLANNER_UNIT_START) {
		if (p->quiet || !p->tty)
			return;
		fprintf(stderr, "\r\033[K%s:%d %s running...", doc->path, line, name);
		p->live = 1;
		return;
	}
	if (p->quiet && !p->explain)
		return;
	progress_finish(p);
	const char *state = chunk_state_name(o->state);
	if (o->state == CHUNK_RAN && o->status == RUN_ERROR)
		state = "ran (raised)";
	else if (o->status == RUN_CRASHED)
		state = "crashed";
	else if (o->status == RUN_TIMEOUT)
		state = "timed out";
	if (!p->quiet)
		fprintf(stderr, "%s:%d %s %s %.2fs\n", doc->path, line, name, state, o->seconds);
	if (p->explain && o->why)
		fprintf(stderr, "%s:%d %s: %s\n", doc->path, line, name, o->why);
}
