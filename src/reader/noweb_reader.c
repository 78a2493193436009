/*
 * noweb_reader: noweb documents (.texw, .Pnw, .mdw, .rstw, ...). A chunk
 * opens with a line "<<options>>=" (nothing before "<<", only whitespace
 * after ">>=") and closes at a line holding only "@". Inside a chunk a
 * "<<...>>=" line is code, outside it an "@" line is prose, as in Pweave.
 * A chunk left open at the end of the file is an error.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "reader/reader.h"

/* Is the line a chunk header? Sets the options' offset and length. */
static int noweb_opens_chunk(const char *s, size_t len, size_t *opt_off, size_t *opt_len)
{
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len < 5 || s[0] != '<' || s[1] != '<' || memcmp(s + len - 3, ">>=", 3))
		return 0;
	*opt_off = 2;
	*opt_len = len - 5;
	return 1;
}

/* Is the line, stripped, a lone "@"? */
static int noweb_closes_chunk(const char *s, size_t len)
{
	size_t b = 0, e = len;
	while (b < e && isspace((unsigned char)s[b]))
		b++;
	while (e > b && isspace((unsigned char)s[e - 1]))
		e--;
	return e - b == 1 && s[b] == '@';
}

int noweb_reader_read(struct document *doc, const char *text, size_t len, int first_line,
		      struct weft_error *err)
{
	struct reader_lines ls;
	struct inline_text prose, code;
	struct option_list opts;
	int in_code = 0, number = 1, header = 0, doc_start = first_line, rc = -1;
	char *optstr = NULL;

	reader_lines_split(&ls, text, len, first_line);
	inline_text_init(&prose);
	inline_text_init(&code);
	option_list_init(&opts);
	for (size_t i = 0; i < ls.n; i++) {
		const struct reader_line *l = &ls.v[i];
		size_t off, olen;
		if (!in_code && noweb_opens_chunk(l->s, l->len, &off, &olen)) {
			if (reader_add_text(doc, &prose, doc_start, err) < 0)
				goto out;
			optstr = xstrndup(l->s + off, olen);
			if (option_parse(optstr, doc->path, l->no, (int)off + 1, &opts, err) < 0)
				goto out;
			free(optstr);
			optstr = NULL;
			in_code = 1;
			header = l->no;
			continue;
		}
		if (in_code && noweb_closes_chunk(l->s, l->len)) {
			reader_add_chunk(doc, &code, &opts, number++, header, header + 1);
			in_code = 0;
			doc_start = l->no + 1;
			continue;
		}
		inline_text_add_line(in_code ? &code : &prose, l->s, l->len, l->no, 1);
	}
	if (in_code) {
		weft_error_set(err, doc->path, header, 1,
			       "unterminated code chunk: '<<...>>=' has no closing '@' line");
		goto out;
	}
	rc = reader_add_text(doc, &prose, doc_start, err);
out:
	free(optstr);
	option_list_free(&opts);
	inline_text_free(&prose);
	inline_text_free(&code);
	reader_lines_free(&ls);
	return rc;
}
