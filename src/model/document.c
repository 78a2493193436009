/*
 * document: the document model (blocks, chunks, text segments) and the
 * format guess. Reading a file into it is the reader layer's (reader/load.h).
 * See document.h.
 */
#include "model/document.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


void document_init(struct document *doc)
{
	memset(doc, 0, sizeof(*doc));
	option_list_init(&doc->doc_defaults);
	doc->settings.cache = -1;
}

/* Free one text block's segments. */
static void text_block_free(struct text_block *tb)
{
	for (size_t i = 0; i < tb->nsegs; i++)
		free(tb->segs[i].text);
	free(tb->segs);
}

/* Free one chunk's storage. */
static void chunk_free(struct chunk *c)
{
	free(c->code);
	free(c->lang);
	option_list_free(&c->raw);
	chunk_options_free(&c->opts);
}

void document_free(struct document *doc)
{
	for (size_t i = 0; i < doc->nblocks; i++) {
		if (doc->blocks[i].kind == BLOCK_TEXT)
			text_block_free(&doc->blocks[i].text);
		else
			chunk_free(&doc->blocks[i].chunk);
	}
	free(doc->blocks);
	free(doc->path);
	free(doc->input_format);
	free(doc->front_matter);
	option_list_free(&doc->doc_defaults);
	free(doc->settings.format);
	free(doc->settings.output);
	free(doc->settings.kernel);
	free(doc->settings.figure_dir);
	free(doc->settings.figure_format);
	free(doc->settings.latex_engine);
	free(doc->settings.python);
	document_init(doc);
}

struct block *document_add_block(struct document *doc, enum block_kind kind)
{
	ARRAY_GROW(doc->blocks, doc->nblocks + 1, doc->alloc);
	struct block *b = &doc->blocks[doc->nblocks++];
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	if (kind == BLOCK_CHUNK) {
		b->chunk.index = (int)doc->nchunks++;
		option_list_init(&b->chunk.raw);
		chunk_options_init_defaults(&b->chunk.opts);
	}
	return b;
}

struct text_segment *text_block_add(struct text_block *tb, enum segment_kind kind, char *text,
				    int line, int column)
{
	ARRAY_GROW(tb->segs, tb->nsegs + 1, tb->alloc);
	struct text_segment *s = &tb->segs[tb->nsegs++];
	s->kind = kind;
	s->text = text;
	s->line = line;
	s->column = column;
	s->inline_index = -1;
	return s;
}

struct chunk *document_chunk(struct document *doc, size_t i)
{
	return (struct chunk *)document_chunk_const(doc, i);
}

const struct chunk *document_chunk_const(const struct document *doc, size_t i)
{
	if (i >= doc->nchunks)
		return NULL;
	/*
	 * Chunk indexes grow with block positions, so binary search: renderers
	 * and the planner look chunks up by index in loops over large documents.
	 */
	size_t lo = 0, hi = doc->nblocks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, b = mid;
		while (b < hi && doc->blocks[b].kind != BLOCK_CHUNK)
			b++;
		if (b == hi) {
			hi = mid;
			continue;
		}
		int idx = doc->blocks[b].chunk.index;
		if (idx == (int)i)
			return &doc->blocks[b].chunk;
		if (idx < (int)i)
			lo = b + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct chunk *document_find_chunk(const struct document *doc, const char *name)
{
	for (size_t b = 0; b < doc->nblocks; b++) {
		const struct chunk *c = &doc->blocks[b].chunk;
		if (doc->blocks[b].kind == BLOCK_CHUNK && c->opts.name && !strcmp(c->opts.name, name))
			return c;
	}
	return NULL;
}

const char *document_guess_format(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	/* Pweave: os.path.splitext ignores a leading dot (".pmd" has no extension). */
	if (!dot || dot == base)
		return NULL;
	char ext[32];
	size_t n = strlen(dot);
	if (n >= sizeof(ext))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		ext[i] = (char)tolower((unsigned char)dot[i]);
	if (!strcmp(ext, ".ipynb"))
		return "notebook";
	if (ext[n - 1] == 'w')
		return "noweb";
	if (strstr(ext, "md"))
		return "markdown";
	if (!strcmp(ext, ".py"))
		return "script";
	return NULL;
}
