/* inline_code: prose split into text and inline code spans; see inline_code.h. */
#include "reader/inline_code.h"

#include <ctype.h>
#include <stdbool.h>
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
 * Which lines of s[0, n) start inside a string literal that continues from an
 * earlier line (a triple-quoted string, or a quoted one continued by a
 * backslash): their leading whitespace is part of the string, never
 * indentation. Sets inside[k] for the k-th line (the caller sizes it to the
 * number of lines). A small Python lexer: comments, quotes, escapes.
 */
static void lines_in_string(const char *s, size_t n, bool *inside)
{
	char quote = 0;     /* the open string's quote character, 0 outside strings */
	bool triple = false, continued = false; /* continued: a backslash ended the line */
	size_t line = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\n') {
			line++;
			inside[line] = quote != 0;
			if (quote && !triple && !continued)
				quote = 0; /* an unterminated short string ends here (a SyntaxError anyway) */
			continued = false;
			continue;
		}
		if (!quote) {
			if (c == '#') {
				while (i + 1 < n && s[i + 1] != '\n')
					i++;
			} else if (c == '\'' || c == '"') {
				quote = c;
				triple = i + 2 < n && s[i + 1] == c && s[i + 2] == c;
				if (triple)
					i += 2;
			}
		} else if (c == '\\') {
			if (i + 1 < n && s[i + 1] == '\n')
				continued = true; /* an escaped newline continues the string */
			else
				i++;              /* an escaped character */
		} else if (c == quote) {
			if (!triple) {
				quote = 0;
			} else if (i + 2 < n && s[i + 1] == c && s[i + 2] == c) {
				quote = 0;
				i += 2;
			}
		}
	}
}

/*
 * The code of a span, as Pweave takes it (the text after the opener, leading
 * whitespace stripped) with one convenience Pweave lacks: code that starts on
 * a line of its own after the opener may be indented as a block, and that
 * indentation (the first code line's) is removed from every line that has it,
 * except lines that continue a string literal, whose text is kept as written.
 * Code that starts on the opener's line is kept as written, so a multi-line
 * string or expression means what it says. Trailing whitespace is stripped.
 * Returns malloc'd text.
 */
static char *clean_code(const char *s, size_t n)
{
	size_t b = 0;
	bool own_line = false; /* the code starts on a line after the opener's */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			b = i + 1;
			own_line = true;
		} else if (!isspace((unsigned char)s[i])) {
			break;
		}
	}
	while (n > b && isspace((unsigned char)s[n - 1]))
		n--;
	size_t indent = 0;
	while (b + indent < n && (s[b + indent] == ' ' || s[b + indent] == '\t'))
		indent++;
	const char *code = s + b + indent;
	size_t len = n > b + indent ? n - b - indent : 0;
	struct strbuf sb;
	strbuf_init(&sb);
	if (!own_line || !indent) {
		strbuf_add(&sb, code, len);
		return strbuf_detach(&sb, NULL);
	}
	size_t nlines = 1;
	for (size_t i = 0; i < len; i++)
		nlines += code[i] == '\n';
	bool *inside = xcalloc(nlines, sizeof(bool));
	lines_in_string(code, len, inside);
	const char *prefix = s + b;
	size_t line = 0;
	for (size_t i = 0; i < len;) {
		if (line > 0 && !inside[line] && len - i >= indent && !memcmp(code + i, prefix, indent))
			i += indent;
		while (i < len && code[i] != '\n')
			strbuf_addch(&sb, code[i++]);
		if (i < len) {
			strbuf_addch(&sb, '\n');
			i++;
			line++;
		}
	}
	free(inside);
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
