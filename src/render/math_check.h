/*
 * math_check: the math of an md2html page checked when the page is written,
 * so a typo in a formula is a warning with the document's line, not a red
 * box found later in a browser.
 *
 * With Node.js installed (node or nodejs on PATH), every formula goes through
 * the same KaTeX the page inlines, with errors thrown; each error is a
 * warning "file:line: math `...`: KaTeX parse error: ...". Without Node, the
 * macros are checked by name: a \\name that KaTeX's source does not mention
 * and the document does not define (\\newcommand, \\renewcommand, \\def,
 * \\DeclareMathOperator) is listed, once, with its line.
 */
#ifndef WEFT_MATH_CHECK_H
#define WEFT_MATH_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

struct math_item {
	char *tex;      /* the formula, TeX source */
	bool display;   /* $$...$$ */
	int line;       /* document line of the text block it is in */
};

struct math_list {
	struct math_item *items;
	size_t n, alloc;
};

void math_list_init(struct math_list *l);
void math_list_free(struct math_list *l);

/* Add the formulas of md4c's HTML `html` (<x-equation> elements), from the text block at `line`. */
void math_list_add_html(struct math_list *l, const char *html, size_t len, int line);

/*
 * Place items [from, n) more precisely: each at the line of `md` (the block's
 * Markdown, starting at document line `line`) where its TeX first appears
 * after the previous one's.
 */
void math_list_locate(struct math_list *l, size_t from, const char *md, size_t len, int line);

/* Check them (see above) with KaTeX from `katex_dir`; warnings name `doc_path`. Returns the number of problems. */
int math_check(const struct math_list *l, const char *doc_path, const char *katex_dir);

#endif
