/*
 * markdown_reader: Pweave markdown (.pmd, .md). A code chunk opens with a
 * fence of three or more backticks or tildes followed by `python`,
 * `{python}` or `{.python}`, optionally a ',' or ';' and Pweave options:
 *
 *   ```{python, echo=False}      ~~~python name, fig=True      ```{.python}
 *
 * Other languages (issue 11): ```{r}, ```{.julia, echo=False}, and the bare
 * words ```r, ```bash, ```sh; the chunk's lang is the word as written and
 * lang_explicit is set (the planner picks a kernel by it).
 *
 * and closes at the next line holding only a fence (any length, either
 * character, any indentation: Pweave does not pair fences). Other fences
 * (```text, ```json, a bare ```) stay prose. A chunk fence left open is an error.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "reader/reader.h"

/*
 * Fence words that open a chunk without braces: Pweave's `python`, and the
 * languages issue 11 runs in a Jupyter kernel (```r, ```bash). Any other bare
 * word (```text, ```json) stays prose, as Pweave keeps it; in braces
 * (```{r}, ```{.julia}, knitr's and Quarto's executable form) any language
 * opens a chunk.
 */
static bool bare_chunk_lang(const char *s, size_t n)
{
	static const char *const langs[] = {"python", "r", "R", "bash", "sh"};
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		if (strlen(langs[i]) == n && !memcmp(s, langs[i], n))
			return true;
	return false;
}

int markdown_reader_fence(const char *s, size_t len, size_t *lang_off, size_t *lang_len,
			  size_t *opt_off, size_t *opt_len)
{
	size_t i = 0;
	bool braced = false;
	while (i < len && (s[i] == '`' || s[i] == '~'))
		i++;
	if (i < 3)
		return 0;
	if (i < len && s[i] == '{') {
		braced = true;
		i++;
		if (i < len && s[i] == '.')
			i++;
	}
	size_t l0 = i;
	if (i >= len || !isalpha((unsigned char)s[i]))
		return 0;
	while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '+' || s[i] == '-'))
		i++;
	size_t ln = i - l0;
	/* the word must end there (Pweave's regex would also take ```pythonx) */
	if (i < len && !isspace((unsigned char)s[i]) && s[i] != ',' && s[i] != ';' && s[i] != '}')
		return 0;
	if (!braced && !bare_chunk_lang(s + l0, ln))
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
	*lang_off = l0;
	*lang_len = ln;
	*opt_off = i;
	*opt_len = e - i;
	return 1;
}

/* A chunk fence of any language; sets the options' span (see reader.h). */
int markdown_reader_opens_chunk(const char *s, size_t len, size_t *opt_off, size_t *opt_len)
{
	size_t lo, ll;
	return markdown_reader_fence(s, len, &lo, &ll, opt_off, opt_len);
}

/* The fence's language, as written (reader_delimited.lang). */
static char *markdown_fence_lang(const char *s, size_t len)
{
	size_t lo, ll, oo, ol;
	return markdown_reader_fence(s, len, &lo, &ll, &oo, &ol) ? xstrndup(s + lo, ll) : NULL;
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
		"unterminated code chunk: the fence opened here is never closed", markdown_fence_lang
	};
	return reader_read_delimited(doc, text, len, first_line, &markdown, err);
}
