/* progress: per-chunk progress lines on stderr; see progress.h. */
#include "cli/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Monotonic seconds. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, bool quiet, bool explain, bool verbose)
{
	*p = (struct progress){0};
	p->quiet = quiet;
	p->tty = isatty(2);
	p->explain = explain;
	p->verbose = verbose && !quiet;
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

/* Draw (or redraw) the live line of the running chunk. */
static void draw_live(struct progress *p)
{
	fprintf(stderr, "\r\033[K%s running %.1fs", p->label, now() - p->started);
	fflush(stderr);
	p->live = 1;
	p->drawn = now();
}

void progress_waiting(void *ctx)
{
	struct progress *p = ctx;
	if (p->quiet || !p->label[0])
		return;
	double t = now();
	if (p->tty) {
		if (!p->mid_line && t - p->drawn >= 0.2)
			draw_live(p);
	} else if (!p->announced && t - p->started >= 1.0) {
		fprintf(stderr, "%s running...\n", p->label);
		p->announced = true;
	}
}

void progress_streamed(void *ctx, const char *stream, const char *text, size_t len)
{
	struct progress *p = ctx;
	(void)stream;
	if (!p->verbose || !len)
		return;
	progress_finish(p);
	fwrite(text, 1, len, stderr);
	p->mid_line = text[len - 1] != '\n';
	if (p->tty && !p->mid_line)
		draw_live(p);
	else
		fflush(stderr);
}

void progress_event(void *ctx, enum planner_event ev, const struct document *doc,
		    const struct chunk *chunk, const struct chunk_outcome *o)
{
	struct progress *p = ctx;
	char name[128];
	progress_chunk_name(chunk, name, sizeof(name));
	int line = chunk->header_line ? chunk->header_line : chunk->code_line;

	if (ev == PLANNER_UNIT_START) {
		snprintf(p->label, sizeof(p->label), "%s:%d %s [%d/%zu]", doc->path, line, name,
			 chunk->number, doc->nchunks);
		p->started = p->drawn = now();
		p->announced = p->mid_line = false;
		if (!p->quiet && p->tty)
			draw_live(p);
		return;
	}
	p->label[0] = '\0';
	if (p->mid_line) { /* the chunk's last output had no newline */
		fputc('\n', stderr);
		p->mid_line = false;
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
	if (!p->quiet) {
		/* a cached chunk's time is what it took when it ran, not now */
		bool from_cache = o->state == CHUNK_CACHED || o->state == CHUNK_STALE;
		fprintf(stderr, "%s:%d %s [%d/%zu] %s %s%.2fs%s\n", doc->path, line, name, chunk->number,
			doc->nchunks, state, from_cache ? "(ran in " : "", o->seconds, from_cache ? ")" : "");
	}
	if (p->explain && o->why)
		fprintf(stderr, "%s:%d %s: %s\n", doc->path, line, name, o->why);
}
