/* notebook: nbformat 4 output; see notebook.h. */
#include "render/notebook.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/stream_text.h"
#include "model/table.h"
#include "render/figures.h"

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t k = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
		 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (!k || k > n || (k == 2 && s[0] < 0xC2))
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return k;
}

/*
 * A JSON string of s[0..len). JSON needs UTF-8: a document in another
 * encoding gets U+FFFD for each bad byte rather than losing the text.
 */
static json_t *nb_string(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	if (j)
		return j;
	struct strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq((const unsigned char *)s + i, len - i);
		if (k && s[i]) {
			strbuf_add(&sb, s + i, k);
			i += k;
		} else {
			strbuf_addstr(&sb, "\xEF\xBF\xBD");
			i++;
		}
	}
	j = json_stringn(sb.buf, sb.len);
	strbuf_free(&sb);
	return j ? j : json_string("");
}

json_t *notebook_lines(const char *s, size_t len)
{
	json_t *arr = json_array();
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n') {
			json_array_append_new(arr, nb_string(s + start, i + 1 - start));
			start = i + 1;
		}
	}
	if (start < len)
		json_array_append_new(arr, nb_string(s + start, len - start));
	return arr;
}

/* Replace a string member by its list-of-lines form. */
static void split_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_string(v))
		json_object_set_new(obj, key, notebook_lines(json_string_value(v), json_string_length(v)));
}

/*
 * Lay out one output of output_list_to_json as nbformat writes it: text and
 * text MIME data split into lines; base64 and JSON data stay as they are;
 * weft's private TABLE_MIME is dropped.
 */
static void nb_output(json_t *o)
{
	split_member(o, "text");
	json_t *data = json_object_get(o, "data");
	/* weft's private table data is for its own renderers: never in a notebook */
	json_object_del(data, TABLE_MIME);
	const char *mime;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(data, tmp, mime, v) {
		size_t n = strlen(mime);
		if (mime_is_binary(mime) || (n >= 4 && !strcmp(mime + n - 4, "json")))
			continue;
		split_member(data, mime);
	}
}

json_t *notebook_cell(const char *type, const char *src, size_t len)
{
	json_t *c = json_object();
	json_object_set_new(c, "cell_type", json_string(type));
	json_object_set_new(c, "metadata", json_object());
	json_object_set_new(c, "source", notebook_lines(src, len));
	return c;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A text block as Markdown, inline code results in place (stripped, as Pweave does). */
static void text_block(struct strbuf *sb, const struct text_block *tb,
		       const struct weave_results *res)
{
	for (size_t i = 0; i < tb->nsegs; i++) {
		const struct text_segment *s = &tb->segs[i];
		if (s->kind == SEG_TEXT) {
			if (s->text)
				strbuf_addstr(sb, s->text);
			continue;
		}
		if (!res || s->inline_index < 0 || (size_t)s->inline_index >= res->ninline)
			continue;
		const struct inline_outcome *io = &res->inl[s->inline_index];
		if (!io->done)
			continue;
		bool value = io->status == RUN_OK || !io->error_message;
		const char *t = value ? (io->text.buf ? io->text.buf : "") : io->error_message;
		size_t n = value ? io->text.len : strlen(t); /* a value may hold a NUL */
		while (n && is_space(*t)) {
			t++;
			n--;
		}
		while (n && is_space(t[n - 1]))
			n--;
		stream_text_clean(sb, t, n); /* a markdown cell's text: no raw control byte */
		if (io->stale) /* --frozen showed a value a run would recompute */
			strbuf_addstr(sb, " [stale]");
	}
}

/* True when output `o` is to appear in the cell under the chunk's options. */
static bool keep_output(const struct chunk *ch, const struct output *o)
{
	if (!ch->opts.include)
		return false;
	bool image = figure_mime(o, figures_for_html, NULL) || output_get_mime(o, "application/pdf");
	if (image)
		return ch->opts.fig;
	return !ch->opts.results || strcmp(ch->opts.results, "hidden") != 0;
}

/*
 * A figure output of a chunk with a caption carries it in its metadata
 * ("caption"), so the notebook keeps what the other formats show under the
 * figure (nbformat allows extra output metadata; Jupyter ignores it).
 */
static void caption_figure(json_t *o, const struct chunk *ch, const struct output *src)
{
	if (!ch->opts.caption || !(figure_mime(src, figures_for_html, NULL) ||
				   output_get_mime(src, "application/pdf")))
		return;
	json_t *md = json_object_get(o, "metadata");
	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(o, "metadata", md);
	}
	json_object_set_new(md, "caption", nb_string(ch->opts.caption, strlen(ch->opts.caption)));
}

/* The code cell of one chunk; `count` numbers the chunks that ran. */
static json_t *code_cell(const struct chunk *ch, const struct weave_results *res, int *count)
{
	const char *code = ch->code ? ch->code : "";
	size_t len = strlen(code);
	while (len && code[len - 1] == '\n')
		len--;
	json_t *c = json_object();
	json_object_set_new(c, "cell_type", json_string("code"));
	json_t *md = json_object();
	if (ch->opts.name)
		json_object_set_new(md, "name", nb_string(ch->opts.name, strlen(ch->opts.name)));
	if (!ch->opts.echo)
		json_object_set_new(md, "jupyter", json_pack("{s:b}", "source_hidden", 1));
	struct strbuf stale;
	strbuf_init(&stale);
	if (figures_stale_note(res, ch, &stale))
		/* nb_string repairs text that is not UTF-8: the stale mark is never dropped */
		json_object_set_new(md, "weft", json_pack("{s:o}", "frozen", nb_string(stale.buf, stale.len)));
	strbuf_free(&stale);
	json_object_set_new(c, "metadata", md);
	json_object_set_new(c, "source", notebook_lines(code, len));

	json_t *outs = json_array();
	bool ran = ch->opts.evaluate && figures_chunk_has_outputs(res, ch);
	if (ran) {
		const struct chunk_outcome *oc = figures_outcome(res, ch);
		/* streams joined, \r and \b applied, as nbconvert --to notebook saves them */
		struct output_list shown;
		output_list_init(&shown);
		stream_text_finish_list(&shown, &oc->outputs);
		json_t *all = output_list_to_json(&shown, false);
		++*count;
		for (size_t i = 0; i < shown.n; i++) {
			if (!keep_output(ch, &shown.items[i]))
				continue;
			json_t *o = json_array_get(all, i);
			nb_output(o);
			caption_figure(o, ch, &oc->outputs.items[i]);
			/* a result carries its cell's count, as Jupyter's Out[n] */
			if (json_object_get(o, "execution_count"))
				json_object_set_new(o, "execution_count", json_integer(*count));
			json_array_append(outs, o);
		}
		json_decref(all);
		output_list_free(&shown);
		json_object_set_new(c, "execution_count", json_integer(*count));
	} else {
		json_object_set_new(c, "execution_count", json_null());
	}
	json_object_set_new(c, "outputs", outs);
	return c;
}

/*
 * Notebook metadata: python3's for the embedded engine, else the kernelspec
 * of the kernel the document's default language ran in (--kernel ir: "ir",
 * language "R"). Taken from the kernelspec, not from the kernel's
 * kernel_info_reply: a cached render starts no kernel, and it must write
 * what an uncached one writes.
 */
static json_t *nb_metadata(const struct render_options *opts)
{
	if (!opts || !opts->kernel_name)
		return json_pack("{s:{s:s,s:s,s:s},s:{s:{s:s,s:i},s:s,s:s,s:s,s:s,s:s}}",
				 "kernelspec", "display_name", "Python 3", "language", "python", "name",
				 "python3", "language_info", "codemirror_mode", "name", "ipython", "version",
				 3, "file_extension", ".py", "mimetype", "text/x-python", "name", "python",
				 "nbconvert_exporter", "python", "pygments_lexer", "ipython3");
	const char *lang = opts->kernel_language && *opts->kernel_language ? opts->kernel_language : "";
	return json_pack("{s:{s:s,s:s,s:s},s:{s:s}}", "kernelspec", "display_name",
			 opts->kernel_display_name ? opts->kernel_display_name : opts->kernel_name, "language",
			 lang, "name", opts->kernel_name, "language_info", "name", lang);
}

static int write_notebook(json_t *cells, json_t *metadata, const char *path, struct strbuf *out,
			  struct weft_error *err);

int notebook_format_known(const char *format)
{
	return format && !strcmp(format, "notebook");
}

int notebook_render(const char *format, const struct document *doc, const struct weave_results *res,
		    const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	json_t *cells = json_array();
	struct strbuf sb;
	strbuf_init(&sb);
	if (doc->front_matter) {
		strbuf_addstr(&sb, "---\n");
		strbuf_addstr(&sb, doc->front_matter);
		if (!strbuf_ends_with(&sb, "\n"))
			strbuf_addch(&sb, '\n');
		strbuf_addstr(&sb, "---");
		json_array_append_new(cells, notebook_cell("raw", sb.buf, sb.len));
	}
	int count = 0;
	for (size_t i = 0; i < doc->nblocks; i++) {
		const struct block *b = &doc->blocks[i];
		if (b->kind == BLOCK_TEXT) {
			strbuf_reset(&sb);
			text_block(&sb, &b->text, res);
			size_t n = sb.len;
			while (n && is_space(sb.buf[n - 1]))
				n--;
			if (n)
				json_array_append_new(cells, notebook_cell("markdown", sb.buf, sb.len));
			continue;
		}
		json_array_append_new(cells, code_cell(&b->chunk, res, &count));
		strbuf_reset(&sb);
		if (figures_stop_note(doc, res, &b->chunk, &sb)) {
			struct strbuf note;
			strbuf_init(&note);
			strbuf_addf(&note, "> **%s**", sb.buf);
			json_array_append_new(cells, notebook_cell("markdown", note.buf, note.len));
			strbuf_free(&note);
		}
	}
	strbuf_free(&sb);

	return write_notebook(cells, nb_metadata(opts), doc->path, out, err);
}

int notebook_write(json_t *cells, const char *path, struct strbuf *out, struct weft_error *err)
{
	return write_notebook(cells, nb_metadata(NULL), path, out, err);
}

/* notebook_write with the given metadata (taken). */
static int write_notebook(json_t *cells, json_t *metadata, const char *path, struct strbuf *out,
			  struct weft_error *err)
{
	json_t *nb = json_object();
	json_object_set_new(nb, "cells", cells);
	json_object_set_new(nb, "metadata", metadata);
	json_object_set_new(nb, "nbformat", json_integer(4));
	json_object_set_new(nb, "nbformat_minor", json_integer(4));
	char *text = json_dumps(nb, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(nb);
	if (!text)
		return weft_error_set(err, path, 0, 0, "notebook: cannot serialise the notebook");
	strbuf_addstr(out, text);
	strbuf_addch(out, '\n');
	free(text);
	return 0;
}
