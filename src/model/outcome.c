/* outcome: per-render results; see outcome.h. */
#include "model/outcome.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void chunk_outcome_zero(struct chunk_outcome *o)
{
	memset(o, 0, sizeof(*o));
	output_list_init(&o->outputs);
}

void weave_results_init(struct weave_results *r, size_t nchunks, size_t ninline)
{
	r->nchunks = nchunks;
	r->chunks = xcalloc(nchunks ? nchunks : 1, sizeof(*r->chunks));
	for (size_t i = 0; i < nchunks; i++)
		chunk_outcome_zero(&r->chunks[i]);
	r->ninline = ninline;
	r->inl = xcalloc(ninline ? ninline : 1, sizeof(*r->inl));
	for (size_t i = 0; i < ninline; i++)
		strbuf_init(&r->inl[i].text);
	r->stopped_at = -1;
}

void chunk_outcome_free(struct chunk_outcome *o)
{
	output_list_free(&o->outputs);
	for (size_t i = 0; i < o->nstatements; i++)
		free(o->statements[i].source);
	free(o->statements);
	free(o->error_type);
	free(o->error_message);
	free(o->why);
	free(o->chunk_defaults);
	chunk_outcome_zero(o);
}

void chunk_outcome_reset(struct chunk_outcome *o)
{
	chunk_outcome_free(o);
}

void weave_results_free(struct weave_results *r)
{
	for (size_t i = 0; i < r->nchunks; i++)
		chunk_outcome_free(&r->chunks[i]);
	free(r->chunks);
	for (size_t i = 0; i < r->ninline; i++) {
		strbuf_free(&r->inl[i].text);
		free(r->inl[i].error_message);
		free(r->inl[i].chunk_defaults);
	}
	free(r->inl);
	memset(r, 0, sizeof(*r));
	r->stopped_at = -1;
}

const char *chunk_state_name(enum chunk_state s)
{
	switch (s) {
	case CHUNK_PENDING: return "pending";
	case CHUNK_RAN: return "ran";
	case CHUNK_CACHED: return "cached";
	case CHUNK_REPLAYED: return "replayed";
	case CHUNK_NOT_EVALUATED: return "not evaluated";
	case CHUNK_SKIPPED: return "skipped";
	case CHUNK_STALE: return "stale";
	}
	return "?";
}

const char *inline_outcome_shown(const struct inline_outcome *io, size_t *len)
{
	const char *t = io->text.buf ? io->text.buf : "";
	size_t n = io->text.len;
	while (n && isspace((unsigned char)*t)) {
		t++;
		n--;
	}
	while (n && isspace((unsigned char)t[n - 1]))
		n--;
	*len = n;
	return t;
}
