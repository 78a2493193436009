/*
 * pweave_executed: test-only loader for Pweave's executed chunk list
 * (formats/formatters_test_executed.json of the compat corpus), so renderers can be
 * tested against Pweave's reference outputs without running any code.
 *
 * The JSON is a list of Pweave chunks: {"type": "doc", "content": ...} and
 * {"type": "code", "content": ..., <resolved options>, "result": [nbformat
 * outputs]}. The loader builds the same `struct document` + `struct
 * weave_results` a reader and the engine would produce:
 *
 *   doc blocks   -> BLOCK_TEXT with one SEG_TEXT segment (the content as is)
 *   code blocks  -> BLOCK_CHUNK; code is Pweave's content without the one
 *                   leading newline Pweave's markdown reader keeps, and with a
 *                   final newline (weft's "newline-terminated lines");
 *                   chunk_options from the JSON fields (caption False -> NULL,
 *                   wrap True -> "all", as the option resolver stores it,
 *                   since Pweave wraps code only for True; wrap False -> NULL)
 *   result       -> weave_results chunk outcome, state CHUNK_RAN, status
 *                   RUN_OK (RUN_ERROR when an error output is present),
 *                   outputs through output_list_from_json. A term=True chunk
 *                   gets one statement per chunk (Pweave ran it as one
 *                   statement) and its outputs refer to statement 0.
 *
 * Self-contained on purpose: it fills the model structs directly and frees
 * them with pweave_executed_free, so renderer tests do not depend on the
 * reader/options modules being finished.
 *
 *   struct pweave_executed px;
 *   struct weft_error err;
 *   weft_error_init(&err);
 *   if (pweave_executed_load(&px, pweave_compat_path("formats/formatters_test_executed.json"),
 *                            "formatters_test.pmd", &err) < 0) ...
 *   render_document(&px.doc, &px.res, &opts, &out, &err);
 *   pweave_executed_free(&px);
 */
#ifndef WEFT_TEST_PWEAVE_EXECUTED_H
#define WEFT_TEST_PWEAVE_EXECUTED_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "model/document.h"
#include "model/outcome.h"
#include "model/output.h"
#include "util/error.h"
#include "util/strbuf.h"

#include "compat_corpus.h"

struct pweave_executed {
	struct document doc;
	struct weave_results res;
};

/*
 * Path of `rel` inside the Pweave compatibility corpus (compat_corpus.h: $WEFT_COMPAT,
 * else build/pweave-tests). Returns a static buffer.
 */
static inline const char *pweave_compat_path(const char *rel)
{
	static char buf[4096];
	find_compat();
	snprintf(buf, sizeof(buf), "%s/%s", compat, rel);
	return buf;
}

/* A JSON string field, copied, or NULL when absent / not a string (False, None). */
static inline char *pweave_json_str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

/* A JSON boolean field with a default when absent. */
static inline bool pweave_json_bool(const json_t *obj, const char *key, bool dflt)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* A JSON number field (int or real) with a default. */
static inline double pweave_json_num(const json_t *obj, const char *key, double dflt)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

/* Pweave's resolved chunk fields -> weft's chunk_options (Pweave defaults when absent). */
static inline void pweave_executed_options(struct chunk_options *o, const json_t *c)
{
	memset(o, 0, sizeof(*o));
	o->name = pweave_json_str(c, "name");
	o->echo = pweave_json_bool(c, "echo", true);
	o->evaluate = pweave_json_bool(c, "evaluate", true);
	o->results = pweave_json_str(c, "results");
	if (!o->results)
		o->results = xstrdup("verbatim");
	o->term = pweave_json_bool(c, "term", false);
	o->include = pweave_json_bool(c, "include", true);
	o->fig = pweave_json_bool(c, "fig", true);
	o->caption = pweave_json_str(c, "caption");
	const json_t *wrap = json_object_get(c, "wrap");
	if (json_is_string(wrap))
		o->wrap = xstrdup(json_string_value(wrap));
	else if (json_is_true(wrap))
		o->wrap = xstrdup("all");
	else if (!wrap)
		o->wrap = xstrdup("output");
	else
		o->wrap = NULL;
	const json_t *fs = json_object_get(c, "f_size");
	o->f_size[0] = json_is_array(fs) ? json_number_value(json_array_get(fs, 0)) : 6;
	o->f_size[1] = json_is_array(fs) ? json_number_value(json_array_get(fs, 1)) : 4;
	o->f_pos = pweave_json_str(c, "f_pos");
	if (!o->f_pos)
		o->f_pos = xstrdup("htpb");
	o->f_env = pweave_json_str(c, "f_env");
	o->dpi = (int)pweave_json_num(c, "dpi", 200);
	o->complete = pweave_json_bool(c, "complete", true);
	o->source = pweave_json_str(c, "source");
	o->width = pweave_json_str(c, "width");
	o->error = pweave_json_bool(c, "error", false);
}

/* Free what pweave_executed_options allocated (mirrors chunk_options_free). */
static inline void pweave_executed_options_free(struct chunk_options *o)
{
	free(o->name);
	free(o->results);
	free(o->caption);
	free(o->wrap);
	free(o->f_pos);
	free(o->f_env);
	free(o->source);
	free(o->width);
	for (size_t i = 0; i < o->ndependson; i++)
		free(o->dependson[i]);
	free(o->dependson);
	free(o->cache_extra);
}

/* Pweave content -> weft chunk code: drop one leading newline, end with one. */
static inline char *pweave_executed_code(const char *content)
{
	struct strbuf sb;
	strbuf_init(&sb);
	if (content[0] == '\n')
		content++;
	strbuf_addstr(&sb, content);
	if (sb.len && sb.buf[sb.len - 1] != '\n')
		strbuf_addch(&sb, '\n');
	return strbuf_detach(&sb, NULL);
}

static inline int pweave_count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Release everything pweave_executed_load built. */
static inline void pweave_executed_free(struct pweave_executed *px)
{
	struct document *doc = &px->doc;
	for (size_t i = 0; i < doc->nblocks; i++) {
		struct block *b = &doc->blocks[i];
		if (b->kind == BLOCK_TEXT) {
			for (size_t k = 0; k < b->text.nsegs; k++)
				free(b->text.segs[k].text);
			free(b->text.segs);
		} else {
			free(b->chunk.code);
			free(b->chunk.lang);
			pweave_executed_options_free(&b->chunk.opts);
			for (size_t k = 0; k < b->chunk.raw.n; k++) {
				free(b->chunk.raw.items[k].key);
				free(b->chunk.raw.items[k].val.s);
				free(b->chunk.raw.items[k].val.src);
			}
			free(b->chunk.raw.items);
		}
	}
	free(doc->blocks);
	free(doc->path);
	free(doc->input_format);
	free(doc->front_matter);
	memset(doc, 0, sizeof(*doc));
	weave_results_free(&px->res);
}

/*
 * Load `json_path` as if `doc_path` (e.g. "formatters_test.pmd", used for
 * figure names) had been read and run. Returns 0, or -1 with err.
 */
static inline int pweave_executed_load(struct pweave_executed *px, const char *json_path,
				const char *doc_path, struct weft_error *err)
{
	memset(px, 0, sizeof(*px));
	px->res.stopped_at = -1;
	json_error_t jerr;
	json_t *root = json_load_file(json_path, 0, &jerr);
	if (!root)
		return weft_error_set(err, json_path, jerr.line, jerr.column, "%s", jerr.text);
	if (!json_is_array(root)) {
		json_decref(root);
		return weft_error_set(err, json_path, 0, 0, "expected a JSON array of chunks");
	}
	struct document *doc = &px->doc;
	doc->path = xstrdup(doc_path);
	doc->input_format = xstrdup("markdown");

	size_t nchunks = 0, i;
	json_t *c;
	json_array_foreach(root, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		if (type && !strcmp(type, "code"))
			nchunks++;
	}
	weave_results_init(&px->res, nchunks, 0);

	int line = 1;
	json_array_foreach(root, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *content = json_string_value(json_object_get(c, "content"));
		if (!type || !content) {
			json_decref(root);
			pweave_executed_free(px);
			return weft_error_set(err, json_path, 0, 0, "chunk %zu: no type or content", i);
		}
		ARRAY_GROW(doc->blocks, doc->nblocks + 1, doc->alloc);
		struct block *b = &doc->blocks[doc->nblocks++];
		memset(b, 0, sizeof(*b));
		if (!strcmp(type, "doc")) {
			b->kind = BLOCK_TEXT;
			b->text.line = line;
			ARRAY_GROW(b->text.segs, 1, b->text.alloc);
			b->text.nsegs = 1;
			b->text.segs[0].kind = SEG_TEXT;
			b->text.segs[0].text = xstrdup(content);
			b->text.segs[0].line = line;
			b->text.segs[0].column = 1;
			line += pweave_count_lines(content);
			continue;
		}
		b->kind = BLOCK_CHUNK;
		struct chunk *ch = &b->chunk;
		ch->index = (int)doc->nchunks;
		ch->number = (int)pweave_json_num(c, "number", (double)doc->nchunks + 1);
		ch->code = pweave_executed_code(content);
		ch->lang = xstrdup("python");
		/* Pweave's start_line is the line after the closing fence. */
		int end = (int)pweave_json_num(c, "start_line", 0);
		int ncode = pweave_count_lines(ch->code);
		ch->code_line = end > ncode + 1 ? end - 1 - ncode : line + 1;
		ch->header_line = ch->code_line - 1;
		line = ch->code_line + ncode + 1;
		pweave_executed_options(&ch->opts, c);
		doc->nchunks++;

		struct chunk_outcome *oc = &px->res.chunks[ch->index];
		oc->state = ch->opts.evaluate ? CHUNK_RAN : CHUNK_NOT_EVALUATED;
		oc->status = RUN_OK;
		const json_t *result = json_object_get(c, "result");
		if (result && output_list_from_json(&oc->outputs, result, err) < 0) {
			json_decref(root);
			pweave_executed_free(px);
			return -1;
		}
		for (size_t k = 0; k < oc->outputs.n; k++) {
			const struct output *o = &oc->outputs.items[k];
			if (o->type == OUTPUT_ERROR) {
				oc->status = RUN_ERROR;
				oc->error_type = xstrdup(o->ename ? o->ename : "Exception");
				oc->error_message = xstrdup(o->evalue ? o->evalue : "");
			}
		}
		if (ch->opts.term) {
			oc->statements = xcalloc(1, sizeof(*oc->statements));
			oc->statements[0].source = xstrdup(ch->code);
			oc->statements[0].line = ch->code_line;
			oc->nstatements = 1;
			for (size_t k = 0; k < oc->outputs.n; k++)
				oc->outputs.items[k].statement = 0;
		}
	}
	json_decref(root);
	return 0;
}

#endif
