/* reader: helpers shared by the per-syntax readers; see reader.h. */
#include "reader/reader.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void reader_lines_split(struct reader_lines *ls, const char *text, size_t len, int first_line)
{
	size_t pos = 0;
	int no = first_line;
	ls->v = NULL;
	ls->n = ls->alloc = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t l = end - pos;
		if (l > 0 && text[pos + l - 1] == '\r')
			l--;
		ARRAY_GROW(ls->v, ls->n + 1, ls->alloc);
		ls->v[ls->n++] = (struct reader_line){ text + pos, l, no++ };
		pos = end + 1;
	}
}

void reader_lines_free(struct reader_lines *ls)
{
	free(ls->v);
	ls->v = NULL;
	ls->n = ls->alloc = 0;
}

int reader_line_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

int reader_add_text(struct document *doc, struct inline_text *t, int line,
		    struct weft_error *err)
{
	struct block *b = document_add_block(doc, BLOCK_TEXT);
	b->text.line = line;
	int rc = inline_code_split(&b->text, t, doc->path, &doc->ninline, err);
	inline_text_free(t);
	return rc;
}

struct chunk *reader_add_chunk(struct document *doc, struct inline_text *code,
			       struct option_list *opts, int number, int header_line,
			       int code_line_if_empty)
{
	struct strbuf *sb = &code->text;
	strbuf_rtrim(sb);
	if (!sb->len && !option_list_get(opts, "source")) {
		inline_text_free(code);
		option_list_free(opts);
		return NULL;
	}
	struct block *b = document_add_block(doc, BLOCK_CHUNK);
	struct chunk *c = &b->chunk;
	c->number = number;
	c->header_line = header_line;
	c->code_line = code->nlines ? code->lines[0] : code_line_if_empty;
	if (sb->len)
		strbuf_addch(sb, '\n');
	c->code = strbuf_detach(sb, NULL);
	c->raw = *opts;
	option_list_init(opts);
	c->lang = xstrdup("python");
	inline_text_free(code);
	return c;
}

int reader_read_delimited(struct document *doc, const char *text, size_t len, int first_line,
			  const struct reader_delimited *syn, struct weft_error *err)
{
	struct reader_lines ls;
	struct inline_text prose, code;
	struct option_list opts;
	int in_code = 0, number = 1, header = 0, doc_start = first_line, rc = -1;
	char *optstr = NULL, *lang = NULL;

	reader_lines_split(&ls, text, len, first_line);
	inline_text_init(&prose);
	inline_text_init(&code);
	option_list_init(&opts);
	for (size_t i = 0; i < ls.n; i++) {
		const struct reader_line *l = &ls.v[i];
		size_t off, olen;
		if (!in_code && syn->opens(l->s, l->len, &off, &olen)) {
			/* the prose so far is one block, even when empty (as Pweave) */
			if (reader_add_text(doc, &prose, doc_start, err) < 0)
				goto out;
			optstr = xstrndup(l->s + off, olen);
			if (option_parse(optstr, doc->path, l->no, (int)off + 1, &opts, err) < 0)
				goto out;
			free(optstr);
			optstr = NULL;
			in_code = 1;
			header = l->no;
			free(lang);
			lang = syn->lang ? syn->lang(l->s, l->len) : NULL;
			continue;
		}
		if (in_code && syn->closes(l->s, l->len)) {
			struct chunk *c = reader_add_chunk(doc, &code, &opts, number++, header, header + 1);
			if (c && lang) {
				free(c->lang);
				c->lang = lang;
				c->lang_explicit = true;
				lang = NULL;
			}
			in_code = 0;
			doc_start = l->no + 1;
			continue;
		}
		inline_text_add_line(in_code ? &code : &prose, l->s, l->len, l->no, 1);
	}
	if (in_code) {
		weft_error_set(err, doc->path, header, 1, "%s", syn->unterminated);
		goto out;
	}
	rc = reader_add_text(doc, &prose, doc_start, err);
out:
	free(optstr);
	free(lang);
	option_list_free(&opts);
	inline_text_free(&prose);
	inline_text_free(&code);
	reader_lines_free(&ls);
	return rc;
}
