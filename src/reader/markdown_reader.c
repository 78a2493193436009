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
#include <stdlib.h>
#include <string.h>

#include "reader/reader.h"

/*
 * Does the line open a python chunk? On success sets the options text
 * (offset and length within the line) and returns 1.
 */
static int fence_opens_chunk(const char *s, size_t len, size_t *opt_off, size_t *opt_len)
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
	if (e > i && s[e - 1] == '}')
		e--;
	while (e > i && isspace((unsigned char)s[e - 1]))
		e--;
	*opt_off = i;
	*opt_len = e - i;
	return 1;
}

/* Does the line (stripped) consist of a fence only? */
static int fence_closes_chunk(const char *s, size_t len)
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
		if (!in_code && fence_opens_chunk(l->s, l->len, &off, &olen)) {
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
		if (in_code && fence_closes_chunk(l->s, l->len)) {
			reader_add_chunk(doc, &code, &opts, number++, header, header + 1);
			in_code = 0;
			doc_start = l->no + 1;
			continue;
		}
		inline_text_add_line(in_code ? &code : &prose, l->s, l->len, l->no, 1);
	}
	if (in_code) {
		weft_error_set(err, doc->path, header, 1,
			       "unterminated code chunk: the fence opened here is never closed");
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
