/*
 * load: read a document file into the model: run the reader of its syntax,
 * then do what is common to every syntax: front matter, Quarto "#|" option
 * lines, option resolution, source= files. See load.h.
 */
#include "reader/load.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reader/doc_settings.h"
#include "reader/front_matter.h"
#include "reader/reader.h"

/*
 * Move leading Quarto "#| key: value" lines of the chunk's code into its
 * options (after those of the header, so they win), shifting code_line.
 */
static int take_quarto_options(struct document *doc, struct chunk *c, struct weft_error *err)
{
	const char *p = c->code;
	int line = c->code_line;
	while (p && p[0] == '#' && p[1] == '|') {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		int col = 3;
		const char *body = p + 2;
		if (*body == ' ') {
			body++;
			col++;
		}
		char *text = xstrndup(body, l - (size_t)(body - p));
		int rc = option_parse_quarto(text, doc->path, line, col, &c->raw, err);
		free(text);
		if (rc < 0)
			return -1;
		p = nl ? nl + 1 : p + l;
		line++;
	}
	if (p && p != c->code) {
		char *rest = xstrdup(p);
		free(c->code);
		c->code = rest;
		c->code_line = line;
	}
	return 0;
}

/*
 * engine="r" (noweb, Pweave's old option) or `#| engine: r`: the chunk's
 * language, as a fence word names it in markdown (issue 11). Any other value
 * type is ignored, as Pweave ignores the option.
 */
static void take_engine_option(struct chunk *c)
{
	const struct chunk_option *o = option_list_get(&c->raw, "engine");
	if (!o || o->val.kind != OPTVAL_STRING || !o->val.s[0])
		return;
	free(c->lang);
	c->lang = xstrdup(o->val.s);
	c->lang_explicit = true;
}

/* Directory part of path, with a trailing '/', or "" (into sb). */
static void dir_of(struct strbuf *sb, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash)
		strbuf_add(sb, path, (size_t)(slash - path) + 1);
}

/*
 * source=: the file's contents (trailing whitespace removed) become the
 * chunk's code, followed by any code written in the chunk, as in Pweave.
 */
static int load_source(struct document *doc, struct chunk *c, struct weft_error *err)
{
	struct strbuf path, contents;
	strbuf_init(&path);
	strbuf_init(&contents);
	if (c->opts.source[0] != '/')
		dir_of(&path, doc->path);
	strbuf_addstr(&path, c->opts.source);
	if (strbuf_read_file(&contents, path.buf) < 0) {
		const struct chunk_option *o = option_list_get(&c->raw, "source");
		weft_error_set(err, doc->path, o ? o->line : c->header_line, o ? o->column : 0,
			       "chunk %d: cannot read source file '%s': %s", c->number, path.buf,
			       strerror(errno));
		strbuf_free(&path);
		strbuf_free(&contents);
		return -1;
	}
	strbuf_rtrim(&contents);
	strbuf_addch(&contents, '\n');
	if (c->code && c->code[0])
		strbuf_addstr(&contents, c->code);
	free(c->code);
	c->code = strbuf_detach(&contents, NULL);
	strbuf_free(&path);
	return 0;
}

/*
 * A NUL byte is not text: the model keeps text in C strings, so one would
 * silently cut off the rest of its block (a binary file "rendered" to a few
 * bytes). Refuse it, naming the line and column.
 */
static int refuse_nul(const char *path, const char *text, size_t len, struct weft_error *err)
{
	const char *nul = memchr(text, '\0', len);
	if (!nul)
		return 0;
	int line = 1, col = 1;
	for (const char *p = text; p < nul; p++) {
		if (*p == '\n')
			line++, col = 1;
		else
			col++;
	}
	return weft_error_set(err, path, line, col,
			      "the document contains a NUL byte (is it a binary file?); weft reads text");
}

/*
 * A script's front matter: "#' ---" first, "#' ---" (or "#' ...") closing,
 * the lines between being YAML behind "#' " (what `weft convert -f script`
 * writes). Read as any front matter; *consumed is the bytes it takes.
 */
static int script_front_matter(struct document *doc, const char *text, size_t len, size_t *consumed,
			       struct weft_error *err)
{
	*consumed = 0;
	struct strbuf yaml;
	strbuf_init(&yaml);
	size_t pos = 0;
	int closed = 0;
	while (pos < len && !closed) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *ln = text + pos;
		size_t n = end - pos;
		if (n > 0 && ln[n - 1] == '\r')
			n--;
		if (n < 2 || ln[0] != '#' || ln[1] != '\'')
			break;
		ln += 2;
		n -= 2;
		if (n && *ln == ' ')
			ln++, n--;
		int fence = (n == 3 && (!memcmp(ln, "---", 3) || !memcmp(ln, "...", 3)));
		if (pos == 0 && !(n == 3 && !memcmp(ln, "---", 3)))
			break;
		strbuf_add(&yaml, ln, n);
		strbuf_addch(&yaml, '\n');
		pos = nl ? end + 1 : len;
		closed = pos > 0 && fence && yaml.len > 4;
	}
	int rc = 0;
	if (closed) {
		size_t used = 0;
		rc = front_matter_read(doc, yaml.buf, yaml.len, &used, err);
		if (rc == 0 && used)
			*consumed = pos;
	}
	strbuf_free(&yaml);
	return rc;
}

/* As document_read_buffer; `config`: also the project's and the user's settings files. */
static int read_text(struct document *doc, const char *path, const char *format, const char *text,
		     size_t len, bool config, struct weft_error *err)
{
	size_t skip = 0;
	int first_line = 1, rc;

	if (refuse_nul(path, text, len, err) < 0)
		return -1;

	/* A UTF-8 byte order mark is not text (editors on Windows add one). */
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
		text += 3;
		len -= 3;
	}
	if (!doc->path)
		doc->path = xstrdup(path);
	if (!format)
		format = document_guess_format(path);
	if (!format)
		return weft_error_set(err, path, 0, 0,
				      "cannot tell the input format from the file name; give -i markdown, "
				      "noweb, script or notebook (a .py file is a script, .pmd markdown, "
				      ".Pnw/.texw noweb, .ipynb a notebook)");
	free(doc->input_format);
	doc->input_format = xstrdup(format);

	if (!strcmp(format, "markdown") || !strcmp(format, "noweb")) {
		if (front_matter_read(doc, text, len, &skip, err) < 0)
			return -1;
		if (skip)
			first_line = doc->front_matter_lines + 1;
	} else if (!strcmp(format, "script")) {
		if (script_front_matter(doc, text, len, &skip, err) < 0)
			return -1;
		if (skip)
			first_line = doc->front_matter_lines + 1;
	}
	if (config && doc_settings_load_config(doc, err) < 0)
		return -1;
	doc->doc_cache = doc->settings.cache == 1;
	if (!strcmp(format, "markdown"))
		rc = markdown_reader_read(doc, text + skip, len - skip, first_line, err);
	else if (!strcmp(format, "noweb"))
		rc = noweb_reader_read(doc, text + skip, len - skip, first_line, err);
	else if (!strcmp(format, "script"))
		rc = script_reader_read(doc, text + skip, len - skip, first_line, err);
	else if (!strcmp(format, "notebook"))
		rc = notebook_reader_read(doc, text, len, 1, err);
	else
		return weft_error_set(err, path, 0, 0,
				      "unknown input format '%s' (markdown, noweb, script, notebook)",
				      format);
	if (rc < 0)
		return -1;

	/* Check the document defaults once, so a bad one is reported once. */
	if (doc->doc_defaults.n) {
		struct chunk_options check;
		rc = chunk_options_resolve(&check, NULL, &doc->doc_defaults, doc->path, err);
		chunk_options_free(&check);
		if (rc < 0)
			return -1;
	}
	for (size_t b = 0; b < doc->nblocks; b++) {
		if (doc->blocks[b].kind != BLOCK_CHUNK)
			continue;
		struct chunk *c = &doc->blocks[b].chunk;
		if (take_quarto_options(doc, c, err) < 0)
			return -1;
		chunk_options_free(&c->opts);
		if (chunk_options_resolve(&c->opts, &doc->doc_defaults, &c->raw, doc->path, err) < 0)
			return -1;
		if (c->opts.source && load_source(doc, c, err) < 0)
			return -1;
		take_engine_option(c);
	}
	return 0;
}

int document_read(struct document *doc, const char *path, const char *format,
		  struct weft_error *err)
{
	struct strbuf sb;
	strbuf_init(&sb);
	if (strbuf_read_file(&sb, path) < 0) {
		strbuf_free(&sb);
		return weft_error_errno(err, path, "cannot read document");
	}
	int rc = read_text(doc, path, format, sb.buf, sb.len, true, err);
	strbuf_free(&sb);
	return rc;
}

int document_read_buffer(struct document *doc, const char *path, const char *format,
			 const char *text, size_t len, struct weft_error *err)
{
	return read_text(doc, path, format, text, len, false, err);
}
