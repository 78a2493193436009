/*
 * notebook_reader: Jupyter notebooks (nbformat 4, .ipynb) as documents;
 * nbformat 3 (what Pweave's own converter writes) is read too.
 *
 * Markdown and raw cells are prose (one text block each), code cells are
 * chunks. A code cell's options come from its metadata, `"weft": {...}`
 * (option -> JSON value) or `"weft": "name, echo=False"` (Pweave syntax),
 * and from leading `#| key: value` lines (handled with every other reader's
 * in document.c). The notebook's own metadata `"weft": {...}` gives document
 * defaults, as front matter does; a first raw cell holding a `---` YAML block
 * is the front matter. Chunks take the notebook's language (language_info
 * or kernelspec; python when absent). Outputs stored in the notebook are
 * ignored: weft runs the code.
 *
 * Lines: JSON gives no positions, so a cell's line is found in the file text
 * (the line of its "source" key; with the usual one-string-per-line layout
 * the code's first line is the next one). Messages therefore point into the
 * .ipynb file near the cell.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/optval_json.h"
#include "reader/front_matter.h"
#include "reader/reader.h"

/*
 * Offsets of every newline in the file, built once, so a byte's line is a
 * binary search instead of a rescan from the start (which made reading a
 * notebook quadratic in its size).
 */
struct line_index {
	size_t *nl;		/* offsets of '\n', ascending */
	size_t n, alloc;
};

/* Index the newlines of text[0..len). */
static void line_index_build(struct line_index *li, const char *text, size_t len)
{
	li->nl = NULL;
	li->n = li->alloc = 0;
	for (const char *p = text, *end = text + len;
	     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) {
		ARRAY_GROW(li->nl, li->n + 1, li->alloc);
		li->nl[li->n++] = (size_t)(p - text);
	}
}

/* Release the index. */
static void line_index_free(struct line_index *li)
{
	free(li->nl);
	li->nl = NULL;
	li->n = li->alloc = 0;
}

/* Line (1-based) of byte `off`: one plus the number of newlines before it. */
static int line_at(const struct line_index *li, size_t off)
{
	size_t lo = 0, hi = li->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (li->nl[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int)lo + 1;
}

/*
 * Where the next cell's source starts: the line of its "source" key
 * (cells are the only objects with a "cell_type" key), plus one when the
 * source is written as a list. 0 when not found.
 */
static int cell_source_line(const char *text, size_t len, const struct line_index *li,
			    size_t *cursor, const char *key)
{
	const char *p = text + *cursor;
	const char *end = text + len;
	/* the next "cell_type" from the cursor belongs to the next cell */
	const char *ct = memmem(p, (size_t)(end - p), "\"cell_type\"", 11);
	if (!ct)
		return 0;
	const char *next = memmem(ct + 11, (size_t)(end - ct - 11), "\"cell_type\"", 11);
	const char *limit = next ? next : end;
	*cursor = (size_t)(ct + 11 - text);
	/* nbformat writes keys sorted ("source" after "cell_type"); hand-written
	 * files may put it first, so look back to the previous cell too. */
	size_t klen = strlen(key);
	const char *src = memmem(ct, (size_t)(limit - ct), key, klen);
	if (!src)
		src = memmem(p, (size_t)(ct - p), key, klen);
	if (!src)
		return line_at(li, (size_t)(ct - text));
	const char *q = src + klen;
	while (q < limit && (*q == ' ' || *q == ':' || *q == '\t' || *q == '\r' || *q == '\n'))
		q++;
	size_t off = (size_t)(q - text);
	int line = line_at(li, off);
	if (q < limit && *q == '[') {
		const char *r = q + 1;
		while (r < limit && (*r == ' ' || *r == '\t' || *r == '\r'))
			r++;
		if (r < limit && *r == '\n')
			line++;
	}
	return line;
}

/* A cell's source (string or list of strings) as one string; NULL if malformed. */
static char *cell_source(json_t *cell, const char *key)
{
	json_t *src = json_object_get(cell, key);
	if (json_is_string(src))
		return xstrdup(json_string_value(src));
	if (!json_is_array(src))
		return src ? NULL : xstrdup("");
	struct strbuf sb;
	strbuf_init(&sb);
	size_t i;
	json_t *v;
	json_array_foreach(src, i, v) {
		if (!json_is_string(v)) {
			strbuf_free(&sb);
			return NULL;
		}
		strbuf_add(&sb, json_string_value(v), json_string_length(v));
	}
	return strbuf_detach(&sb, NULL);
}

/*
 * Options from a "weft" metadata value (object or Pweave option string)
 * into `opts`, located at `line` of the notebook.
 */
static int metadata_options(struct document *doc, json_t *weft, int line,
			    struct option_list *opts, int *cache, struct weft_error *err)
{
	if (!weft)
		return 0;
	if (json_is_string(weft))
		return option_parse(json_string_value(weft), doc->path, line, 0, opts, err);
	if (!json_is_object(weft))
		return weft_error_set(err, doc->path, line, 0,
				      "notebook metadata 'weft' must be an object or an option string");
	const char *key;
	json_t *v;
	json_object_foreach(weft, key, v) {
		struct optval val;
		if (optval_from_json(v, &val) < 0)
			return weft_error_set(err, doc->path, line, 0,
					      "notebook metadata: option '%s' must be a scalar or a list",
					      key);
		if (cache && !strcmp(key, "cache"))
			*cache = optval_truthy(&val);
		ARRAY_GROW(opts->items, opts->n + 1, opts->alloc);
		struct chunk_option *o = &opts->items[opts->n++];
		o->key = xstrdup(strcmp(key, "label") ? key : "name");
		o->val = val;
		o->line = line;
		o->column = 0;
	}
	return 0;
}

/* Add the prose of a markdown/raw cell as a text block. */
static int add_prose(struct document *doc, const char *src, int line, struct weft_error *err)
{
	struct reader_lines ls;
	struct inline_text t;
	inline_text_init(&t);
	reader_lines_split(&ls, src, strlen(src), line);
	for (size_t i = 0; i < ls.n; i++)
		inline_text_add_line(&t, ls.v[i].s, ls.v[i].len, ls.v[i].no, 1);
	reader_lines_free(&ls);
	return reader_add_text(doc, &t, line, err);
}

int notebook_reader_read(struct document *doc, const char *text, size_t len, int first_line,
			 struct weft_error *err)
{
	json_error_t jerr;
	json_t *nb = json_loadb(text, len, 0, &jerr);
	int rc = -1, number = 1, cache = doc->doc_cache;
	size_t cursor = 0, i;
	json_t *cell;
	struct line_index li;

	(void)first_line;
	line_index_build(&li, text, len);
	if (!nb) {
		weft_error_set(err, doc->path, jerr.line, jerr.column, "malformed notebook: %s",
			       jerr.text);
		goto out;
	}
	json_t *ver = json_object_get(nb, "nbformat");
	long long version = json_is_integer(ver) ? (long long)json_integer_value(ver) : 0;
	/* nbformat 3 (Pweave's own conversions) keeps cells in worksheets[0] */
	json_t *cells = version == 3
		? json_object_get(json_array_get(json_object_get(nb, "worksheets"), 0), "cells")
		: json_object_get(nb, "cells");
	if (!json_is_object(nb) || (version != 4 && version != 3) || !json_is_array(cells)) {
		weft_error_set(err, doc->path, 1, 0,
			       "not an nbformat 4 (or 3) notebook");
		goto out;
	}
	json_t *meta = json_object_get(nb, "metadata");
	if (metadata_options(doc, json_object_get(meta, "weft"), 1, &doc->doc_defaults, &cache,
			     err) < 0)
		goto out;
	doc->doc_cache = cache;
	/* the notebook's kernel language, when it says one (default: python) */
	const char *lang = json_string_value(
		json_object_get(json_object_get(meta, "language_info"), "name"));
	if (!lang)
		lang = json_string_value(
			json_object_get(json_object_get(meta, "kernelspec"), "language"));

	json_array_foreach(cells, i, cell) {
		const char *type = json_string_value(json_object_get(cell, "cell_type"));
		/* nbformat 3 code cells hold their code under "input" */
		const char *key = version == 3 && type && !strcmp(type, "code") ? "input" : "source";
		char qkey[16];
		snprintf(qkey, sizeof(qkey), "\"%s\"", key);
		int line = cell_source_line(text, len, &li, &cursor, qkey);
		char *src = cell_source(cell, key);
		if (!type || !src) {
			free(src);
			weft_error_set(err, doc->path, line, 0, "malformed notebook cell %zu", i + 1);
			goto out;
		}
		if (!strcmp(type, "code")) {
			struct option_list opts;
			struct inline_text code;
			struct reader_lines ls;
			option_list_init(&opts);
			if (metadata_options(doc, json_object_get(json_object_get(cell, "metadata"), "weft"),
					     line, &opts, NULL, err) < 0) {
				option_list_free(&opts);
				free(src);
				goto out;
			}
			inline_text_init(&code);
			reader_lines_split(&ls, src, strlen(src), line);
			for (size_t k = 0; k < ls.n; k++)
				inline_text_add_line(&code, ls.v[k].s, ls.v[k].len, ls.v[k].no, 1);
			reader_lines_free(&ls);
			struct chunk *c = reader_add_chunk(doc, &code, &opts, number++, 0, line);
			if (c && lang) {
				free(c->lang);
				c->lang = xstrdup(lang);
			}
		} else if (i == 0 && !strcmp(type, "raw") && !strncmp(src, "---", 3) && !doc->front_matter) {
			/* a leading raw YAML cell is the front matter (Quarto's convention) */
			size_t used = 0;
			struct strbuf fm;
			strbuf_init(&fm);
			strbuf_addstr(&fm, src);
			if (!strbuf_ends_with(&fm, "\n"))
				strbuf_addch(&fm, '\n');
			size_t ndefs = doc->doc_defaults.n;
			int r = front_matter_read(doc, fm.buf, fm.len, &used, err);
			/* front_matter_read counts from the cell's first line */
			if (r < 0 && err && err->line > 0)
				err->line += line - 1;
			for (size_t k = ndefs; k < doc->doc_defaults.n; k++)
				doc->doc_defaults.items[k].line += line - 1;
			if (r == 0 && used < fm.len)
				r = add_prose(doc, fm.buf + used, line + doc->front_matter_lines, err);
			else if (r == 0 && !used)
				r = add_prose(doc, src, line, err);
			strbuf_free(&fm);
			if (r < 0) {
				free(src);
				goto out;
			}
		} else if (add_prose(doc, src, line, err) < 0) {
			free(src);
			goto out;
		}
		free(src);
	}
	rc = 0;
out:
	line_index_free(&li);
	json_decref(nb);
	return rc;
}
