/*
 * markdown_reader: Pweave markdown (.pmd, .md). A code chunk opens with a
 * fence of three or more backticks or tildes followed by `python`,
 * `{python}` or `{.python}`, optionally a ',' or ';' and Pweave options:
 *
 *   ```{python, echo=False}      ~~~python name, fig=True      ```{.python}
 *
 * and closes at the next line holding only a fence (any length, either
 * character, any indentation: Pweave does not pair fences). Fences naming
 * another language stay prose. A chunk fence left open is an error.
 */
#include <ctype.h>
#include <string.h>

#include "reader/reader.h"

/* A python chunk fence; sets the options' span (see reader.h). */
int markdown_reader_opens_chunk(const char *s, size_t len, size_t *opt_off, size_t *opt_len)
{
	size_t i = 0;
	while (i < len && (s[i] == '`' || s[i] == '~'))
		i++;
	if (i < 3)
		return 0;
	if (i < len && s[i] == '{') {
		i++;
		if (i < len && s[i] == '.')
			i++;
	}
	if (len - i < 6 || memcmp(s + i, "python", 6))
		return 0;
	i += 6;
	/* `python` must be the whole word (Pweave's regex would also take ```pythonx). */
	if (i < len && !isspace((unsigned char)s[i]) && s[i] != ',' && s[i] != ';' && s[i] != '}')
		return 0;
	if (i < len && (s[i] == ',' || s[i] == ';'))
		i++;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	size_t e = len;
	while (e > i && isspace((unsigned char)s[e - 1]))
		e--;
	/* as Pweave's lazy regex: blanks before a closing '}' belong to the options */
	if (e > i && s[e - 1] == '}')
		e--;
	*opt_off = i;
	*opt_len = e - i;
	return 1;
}

/* A line (stripped) holding only a fence: what closes a chunk. */
int markdown_reader_closes_chunk(const char *s, size_t len)
{
	size_t b = 0, e = len;
	while (b < e && isspace((unsigned char)s[b]))
		b++;
	while (e > b && isspace((unsigned char)s[e - 1]))
		e--;
	if (e - b < 3)
		return 0;
	for (size_t i = b; i < e; i++)
		if (s[i] != '`' && s[i] != '~')
			return 0;
	return 1;
}

int markdown_reader_read(struct document *doc, const char *text, size_t len, int first_line,
			 struct weft_error *err)
{
	static const struct reader_delimited markdown = {
		markdown_reader_opens_chunk, markdown_reader_closes_chunk,
		"unterminated code chunk: the fence opened here is never closed"
	};
	return reader_read_delimited(doc, text, len, first_line, &markdown, err);
}
