/*
 * reader: what the per-syntax readers share: splitting a buffer into
 * numbered lines, and appending text blocks and chunks to the document in
 * the shape Pweave's readers produce.
 *
 * Every reader makes the same model as Pweave's parse(): a text block for
 * every Pweave doc chunk (including empty ones: Pweave joins formatted
 * chunks with newlines, so an empty doc chunk still counts), and a chunk for
 * every non-blank code chunk. Chunk numbers follow Pweave's counter, which
 * also counts the blank chunks it drops.
 *
 *   struct reader_lines ls;
 *   reader_lines_split(&ls, text, len, first_line);
 *   ... for (i = 0; i < ls.n; i++) ls.v[i].s, ls.v[i].len, ls.v[i].no ...
 *   reader_lines_free(&ls);
 */
#ifndef WEFT_READER_H
#define WEFT_READER_H

#include <stddef.h>

#include "model/document.h"
#include "reader/inline_code.h"

struct reader_line {
	const char *s;  /* the line, without its terminator (not NUL-terminated) */
	size_t len;
	int no;         /* 1-based document line */
};

struct reader_lines {
	struct reader_line *v;
	size_t n, alloc;
};

/* Split text at "\n" / "\r\n"; the first line is document line `first_line`. */
void reader_lines_split(struct reader_lines *ls, const char *text, size_t len, int first_line);
void reader_lines_free(struct reader_lines *ls);

/* True when the line is empty or only whitespace. */
int reader_line_blank(const char *s, size_t len);

/*
 * Append a text block holding the collected prose `t` (split into inline
 * code segments); `line` is its first line when `t` is empty. Resets `t`.
 */
int reader_add_text(struct document *doc, struct inline_text *t, int line,
		    struct weft_error *err);

/*
 * Append a chunk whose code is the collected lines of `code` with trailing
 * whitespace removed (as Pweave's read.rstrip()); its code_line is the line
 * of the first collected line, or `code_line_if_empty` when there is none.
 * A chunk whose code is blank is dropped (returns NULL) unless `opts` has
 * `source`. Takes the options in `opts` (leaves it empty). Resets `code`.
 */
struct chunk *reader_add_chunk(struct document *doc, struct inline_text *code,
			       struct option_list *opts, int number, int header_line,
			       int code_line_if_empty);

/* The readers, one per input syntax: append `text` (which starts at
 * `first_line` of doc->path) to doc. Each returns 0 or -1 with err set. */
int markdown_reader_read(struct document *doc, const char *text, size_t len, int first_line,
			 struct weft_error *err);
int noweb_reader_read(struct document *doc, const char *text, size_t len, int first_line,
		      struct weft_error *err);
int script_reader_read(struct document *doc, const char *text, size_t len, int first_line,
		       struct weft_error *err);
int notebook_reader_read(struct document *doc, const char *text, size_t len, int first_line,
			 struct weft_error *err);

#endif
