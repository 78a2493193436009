/*
 * md_prose: the Markdown prose of an md2html page, brought to pandoc's
 * reading where md4c (CommonMark + GitHub extensions) reads it otherwise,
 * before md4c sees it:
 *
 *   $ math      an opening $ needs a non-space after it, a closing $ a
 *               non-space before it and no digit after it, and no blank
 *               followed by a $ comes between; a $ that opens or closes
 *               nothing is text ("It costs $5 and $10"); code spans and
 *               code blocks win (a $ inside them is never math)
 *   ::: divs    pandoc's fenced divs, "::: {.note #id}" / "::: note" ...
 *               ":::", nested, become <div class="note" id="id">
 *   footnotes   [^label] references become numbered superscript links, in
 *               order of first reference; "[^label]: text" definitions
 *               (continued by indented lines) are taken out and written at
 *               the end of the page, each with a link back
 *   @fig-NAME   a reference to the captioned chunk named fig-NAME becomes a
 *               link "Figure N" to its figure (id "fig:fig-NAME"), as in
 *               Quarto; every captioned figure is numbered in order
 *               (md_prose_add_figure) and its caption starts "Figure N."
 *
 * One md_prose context spans the page: footnotes and figure numbers are the
 * document's, not a text block's.
 *
 * What the rewritten references and divs become is the markup's (struct
 * md_prose_markup): HTML for md2html by default; md_latex.c sets its own, so
 * the rules above are written once for every format md4c's prose feeds.
 */
#ifndef WEFT_MD_PROSE_H
#define WEFT_MD_PROSE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/document.h"
#include "model/outcome.h"
#include "util/strbuf.h"

struct md_footnote {
	char *label;
	char *text;     /* the definition's Markdown, or NULL until it is seen */
	int number;     /* order of first reference, 0 while never referenced */
	int def_line;   /* document line of the definition */
};

struct md_figure {
	char *name;     /* chunk name, or NULL */
	int chunk;      /* chunk number */
	int number;
};

struct md_prose;

/*
 * The markup rewritten prose carries, appended to `out` (it is Markdown text
 * that md4c reads next). Every member is required; no markup at all means
 * md2html's.
 */
struct md_prose_markup {
	/* reference to `note` (its number is set); `first`: its first reference */
	void (*footnote_ref)(struct strbuf *out, const struct md_footnote *note, bool first);
	/* @NAME referring to the captioned figure numbered `number` */
	void (*figure_ref)(struct strbuf *out, const char *name, int number);
	/* a fenced div opens with classes `cls` (space-separated, maybe "") and `id` (maybe "") */
	void (*div_open)(struct strbuf *out, const char *cls, const char *id);
	/* the innermost open div closes */
	void (*div_close)(struct strbuf *out);
};

struct md_prose {
	const struct md_prose_markup *markup; /* NULL: HTML */
	struct md_footnote *notes;
	size_t nnotes, notes_alloc;
	int next_note;
	struct md_figure *figures;
	size_t nfigures, figures_alloc;
};

void md_prose_init(struct md_prose *p);
void md_prose_free(struct md_prose *p);

/* Number the captioned figure of chunk `chunk` (named `name` or NULL), in document order before any prose. */
int md_prose_add_figure(struct md_prose *p, const char *name, int chunk);

/* The number of the first figure of a chunk named `name`, or 0. */
int md_prose_figure_number(const struct md_prose *p, const char *name);

/* The number of chunk `chunk`'s figure, or 0 when it has none numbered. */
int md_prose_chunk_figure(const struct md_prose *p, int chunk);

/* The footnote numbered `number` (order of first reference), or NULL. */
const struct md_footnote *md_prose_note(const struct md_prose *p, int number);

/* Rewrite one text block's Markdown `md` (len bytes, starting at document line `line`) into `out`. */
void md_prose_prepare(struct md_prose *p, const char *md, size_t len, int line, struct strbuf *out);

/*
 * The footnotes section for the end of the page, each definition's Markdown
 * rendered by `to_html`; nothing when no footnote was referenced. Warns at
 * `doc_path` for a reference without definition.
 */
void md_prose_footnotes(struct md_prose *p, const char *doc_path,
			void (*to_html)(struct strbuf *out, const char *md, size_t len),
			struct strbuf *out);

/*
 * Append a text block's Markdown to `sb` with its inline results spliced in,
 * as md2html and md2latex both read it: a value cleaned of control bytes,
 * followed by `stale_mark` when --frozen showed a value a run would
 * recompute; a failure as a code span "`[message]`".
 */
void md_prose_splice_inline(struct strbuf *sb, const struct text_block *tb,
			    const struct weave_results *res, const char *stale_mark);

#endif
