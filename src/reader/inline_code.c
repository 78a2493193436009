/* inline_code: prose split into text and inline code spans; see inline_code.h. */
#include "reader/inline_code.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void inline_text_init(struct inline_text *t)
{
	strbuf_init(&t->text);
	t->starts = NULL;
	t->lines = NULL;
	t->cols = NULL;
	t->nlines = t->alloc = 0;
}

void inline_text_free(struct inline_text *t)
{
	strbuf_free(&t->text);
	free(t->starts);
	free(t->lines);
	free(t->cols);
	inline_text_init(t);
}

void inline_text_add_line(struct inline_text *t, const char *s, size_t len, int line,
			  int column)
{
	if (t->nlines == t->alloc) {
		/* the three arrays share one capacity */
		t->alloc = t->alloc ? t->alloc * 2 : 16;
		t->starts = xrealloc(t->starts, t->alloc * sizeof(*t->starts));
		t->lines = xrealloc(t->lines, t->alloc * sizeof(*t->lines));
		t->cols = xrealloc(t->cols, t->alloc * sizeof(*t->cols));
	}
	t->starts[t->nlines] = t->text.len;
	t->lines[t->nlines] = line;
	t->cols[t->nlines] = column;
	t->nlines++;
	strbuf_add(&t->text, s, len);
	strbuf_addch(&t->text, '\n');
}

/* Document position of byte `off` of the collected text. */
static void locate(const struct inline_text *t, size_t off, int *line, int *col)
{
	size_t lo = 0, hi = t->nlines;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (t->starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*line = t->lines[lo];
	*col = t->cols[lo] + (int)(off - t->starts[lo]);
}

/*
 * The code of a span: drop leading blank lines, remove the indentation all
 * non-blank lines share, strip trailing whitespace. Returns malloc'd text.
 */
static char *clean_code(const char *s, size_t n)
{
	size_t b = 0;
	/* skip leading blank lines */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			b = i + 1;
		else if (!isspace((unsigned char)s[i]))
			break;
	}
	while (n > b && isspace((unsigned char)s[n - 1]))
		n--;
	/* common indentation of non-blank lines */
	size_t indent = (size_t)-1;
	for (size_t i = b; i < n;) {
		size_t k = 0;
		while (i + k < n && (s[i + k] == ' ' || s[i + k] == '\t'))
			k++;
		if (i + k < n && s[i + k] != '\n' && k < indent)
			indent = k;
		while (i < n && s[i] != '\n')
			i++;
		i++;
	}
	if (indent == (size_t)-1)
		indent = 0;
	struct strbuf sb;
	strbuf_init(&sb);
	for (size_t i = b; i < n;) {
		size_t k = 0;
		while (k < indent && i + k < n && s[i + k] != '\n')
			k++;
		i += k;
		while (i < n && s[i] != '\n')
			strbuf_addch(&sb, s[i++]);
		if (i < n) {
			strbuf_addch(&sb, '\n');
			i++;
		}
	}
	return strbuf_detach(&sb, NULL);
}

int inline_code_split(struct text_block *tb, const struct inline_text *t, const char *file,
		      size_t *ninline, struct weft_error *err)
{
	const char *s = t->text.buf;
	size_t n = t->text.len, pos = 0;
	int line, col;

	if (t->nlines && !tb->nsegs)
		tb->line = t->lines[0];
	while (pos < n) {
		const char *open = strstr(s + pos, "<%");
		const char *close = open ? strstr(open + 2, "%>") : NULL;
		if (open && !close) {
			locate(t, (size_t)(open - s), &line, &col);
			weft_warn(file, line, "'<%%' without a closing '%%>' is kept as text");
			open = NULL;
		}
		size_t tend = open ? (size_t)(open - s) : n;
		if (tend > pos) {
			locate(t, pos, &line, &col);
			text_block_add(tb, SEG_TEXT, xstrndup(s + pos, tend - pos), line, col);
		}
		if (!open)
			break;
		int is_expr = open[2] == '=';
		const char *body = open + (is_expr ? 3 : 2);
		locate(t, (size_t)(open - s), &line, &col);
		char *code = clean_code(body, (size_t)(close - body));
		pos = (size_t)(close - s) + 2;
		if (!code[0]) {
			/* Pweave evaluates an empty span to nothing; so do we. */
			free(code);
			continue;
		}
		struct text_segment *seg = text_block_add(
			tb, is_expr ? SEG_INLINE_EXPR : SEG_INLINE_CODE, code, line, col);
		seg->inline_index = (int)(*ninline)++;
	}
	return 0;
}
