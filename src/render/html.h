/*
 * html: the HTML format family, behind render.h's dispatch table.
 *
 *   html          an HTML fragment (Pweave's "html": highlighted code blocks,
 *                 <pre> outputs), meant to be pasted into another page
 *   md2html       a standalone page (the default for .pmd): prose through md4c,
 *                 Pygments-highlighted code, styled output blocks and tables,
 *                 KaTeX math inlined only when the document has math, figures
 *                 embedded as data: URIs (or linked when !opts->embed_figures)
 *   pandoc2html   \ run `pandoc` on the pandoc-markdown rendering; pandoc is not
 *   pandoc2latex  / bundled, so a clear error names the format when it is missing
 *
 * Highlighting goes through opts->highlight (style "html"); without it, code is
 * escaped plain text.
 */
#ifndef WEFT_HTML_H
#define WEFT_HTML_H

#include "render/render.h"

/*
 * Render `doc` with `res` as HTML format `format` (one of the above),
 * appending to `out`. Returns 0, or -1 with err.
 */
int html_render(const char *format, const struct document *doc, const struct weave_results *res,
		const struct render_options *opts, struct strbuf *out, struct weft_error *err);

/* True when `format` is one this module renders. */
int html_format_known(const char *format);

/* Append `s` (`len` bytes) escaped for HTML text and attribute values. */
void html_escape(struct strbuf *sb, const char *s, size_t len);

/* html_escape for a NUL-terminated string. */
void html_escape_str(struct strbuf *sb, const char *s);

#endif
