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
#include "reader/option_parser.h"

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

/*
 * A syntax whose chunks are delimited by a header line and an end line
 * (markdown fences, noweb "<<...>>=" / "@"). Outside a chunk, a line that
 * `opens` starts one (its options are the span it reports); inside, a line
 * that `closes` ends it; every other line is prose or code.
 */
struct reader_delimited {
	int (*opens)(const char *s, size_t len, size_t *opt_off, size_t *opt_len);
	int (*closes)(const char *s, size_t len);
	const char *unterminated;  /* error for a chunk left open (at its header) */
};

/*
 * Read `text` (line `first_line` of doc->path) in the delimited syntax
 * `syn`: text blocks and chunks appended to doc as Pweave's readers make
 * them. 0, or -1 with err set (bad options, unterminated chunk).
 */
int reader_read_delimited(struct document *doc, const char *text, size_t len, int first_line,
			  const struct reader_delimited *syn, struct weft_error *err);

/*
 * The syntaxes' line recognizers, for the readers and for whoever must
 * agree with them (the converter checks and copies header lines with them).
 * A line is passed without its terminator.
 *
 * markdown_reader_opens_chunk: a python chunk fence (```python, ~~~{python},
 * ```{.python, ...}); sets the options' span within the line (after the
 * ',' or ';', without the closing '}' and trailing blanks; blanks before the
 * '}' stay, as Pweave's regex keeps them). markdown_reader_closes_chunk: a
 * line holding only a fence. noweb_reader_opens_chunk: "<<options>>=";
 * noweb_reader_closes_chunk: a lone "@". Return 1 or 0.
 */
int markdown_reader_opens_chunk(const char *s, size_t len, size_t *opt_off, size_t *opt_len);
int markdown_reader_closes_chunk(const char *s, size_t len);
int noweb_reader_opens_chunk(const char *s, size_t len, size_t *opt_off, size_t *opt_len);
int noweb_reader_closes_chunk(const char *s, size_t len);

/*
 * Script markers at the start of a line: the length of a prose marker
 * ("#'", "#%%", "# %%") or of an option marker ("#+", "#%%+", "# %%+"),
 * 0 when there is none.
 */
size_t script_reader_doc_marker(const char *s, size_t len);
size_t script_reader_opt_marker(const char *s, size_t len);

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
