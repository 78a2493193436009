/*
 * html_page: the standalone page md2html writes around a rendered body: the
 * title, author and date (from YAML front matter or a Pandoc "% Title" block),
 * the compiled-in stylesheet, KaTeX (CSS with inlined fonts and script, from
 * Debian's libjs-katex or WEFT_KATEX_DIR) only when the body has math, and a
 * footer naming the document and weft. Nothing on the page needs a network.
 */
#ifndef WEFT_HTML_PAGE_H
#define WEFT_HTML_PAGE_H

#include <stddef.h>

#include "util/strbuf.h"

/* title/author/date from the document's YAML front matter (NULL: none); each owned, NULL if absent. */
void html_page_front_matter(const char *yaml, char **title, char **author, char **date);

/*
 * Pandoc's title block (Pweave's parsetitle): "% Title", "% Author", "% Date"
 * opening the first text block. Moves them into the title fields (if unset)
 * and removes them from `md`.
 */
void html_page_title_block(struct strbuf *md, char **title, char **author, char **date);

/*
 * Append the page: head (title, or the document's file name), styles, the
 * title header, `body`, the footer, and KaTeX when the body has math
 * (warning at `doc_path` when KaTeX is not installed). `version` names weft.
 */
void html_page_write(struct strbuf *out, const char *doc_path, const char *version,
		     const char *body, size_t len, const char *title, const char *author,
		     const char *date);

#endif
