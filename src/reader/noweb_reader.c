/*
 * noweb_reader: noweb documents (.texw, .Pnw, .mdw, .rstw, ...). A chunk
 * opens with a line "<<options>>=" (nothing before "<<", only whitespace
 * after ">>=") and closes at a line holding only "@". Inside a chunk a
 * "<<...>>=" line is code, outside it an "@" line is prose, as in Pweave.
 * A chunk left open at the end of the file is an error. A chunk's language
 * is the document's default unless it says engine="r" (load.c).
 */
#include <ctype.h>
#include <string.h>

#include "reader/reader.h"

/* A chunk header "<<options>>="; sets the options' span (see reader.h). */
int noweb_reader_opens_chunk(const char *s, size_t len, size_t *opt_off, size_t *opt_len)
{
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len < 5 || s[0] != '<' || s[1] != '<' || memcmp(s + len - 3, ">>=", 3))
		return 0;
	*opt_off = 2;
	*opt_len = len - 5;
	return 1;
}

/* A line (stripped) holding a lone "@": what closes a chunk. */
int noweb_reader_closes_chunk(const char *s, size_t len)
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
	static const struct reader_delimited noweb = {
		noweb_reader_opens_chunk, noweb_reader_closes_chunk,
		"unterminated code chunk: '<<...>>=' has no closing '@' line", NULL
	};
	return reader_read_delimited(doc, text, len, first_line, &noweb, err);
}
