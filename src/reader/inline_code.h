/*
 * inline_code: split prose into literal text and inline code spans, for
 * every reader.
 *
 * Inline code is written as in Pweave (ERB style): `<%= expr %>` inserts the
 * value of an expression, `<% code %>` runs statements and inserts what they
 * print. A span may cover several lines; it ends at the first `%>`. An
 * opener without a closing `%>` stays literal text (Pweave's behaviour), with
 * a warning.
 *
 * Readers collect the prose of one text block line by line in a struct
 * inline_text, recording where each line starts in the document (a script
 * reader strips a "#' " prefix, so columns shift), then split it:
 *
 *   struct inline_text t;
 *   inline_text_init(&t);
 *   inline_text_add_line(&t, line, len, lineno, 1);   // for each prose line
 *   inline_code_split(&block->text, &t, path, &doc->ninline, &err);
 *   inline_text_free(&t);
 */
#ifndef WEFT_INLINE_CODE_H
#define WEFT_INLINE_CODE_H

#include <stddef.h>

#include "model/document.h"
#include "util/strbuf.h"

struct inline_text {
	struct strbuf text;  /* the prose, each line '\n'-terminated */
	size_t *starts;      /* offset in `text` where each line starts */
	int *lines;          /* document line of each line */
	int *cols;           /* document column of each line's first byte */
	size_t nlines, alloc;
};

void inline_text_init(struct inline_text *t);
void inline_text_free(struct inline_text *t);
/* Append one line (without its terminator) plus '\n'; it starts at (line, column). */
void inline_text_add_line(struct inline_text *t, const char *s, size_t len, int line,
			  int column);

/*
 * Append the segments of `t` to `tb`: SEG_TEXT for literal prose (empty
 * pieces are left out), SEG_INLINE_EXPR / SEG_INLINE_CODE for spans, whose
 * text is the code without delimiters (as Pweave takes it: leading and
 * trailing whitespace stripped, continuation lines as written; code starting
 * on a line after the opener may be indented as a block, which is removed,
 * outside string literals) and whose line/column is that of the `<%` opener.
 * Spans are numbered from *ninline, which is advanced. Sets tb->line to the
 * first line of `t` if `t` has any. An empty span (`<%= %>`) is dropped, as
 * Pweave evaluates it to nothing. Returns 0 (-1 with err is reserved for
 * future checks).
 */
int inline_code_split(struct text_block *tb, const struct inline_text *t, const char *file,
		      size_t *ninline, struct weft_error *err);

#endif
