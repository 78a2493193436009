/*
 * rst: the reStructuredText format family (rst, sphinx).
 *
 * Rendered by the shared text-format core of markdown.h with reST's markups:
 * code in ".. code:: python" (sphinx: ".. code-block:: python") directives,
 * output in ".. code::" (sphinx: "::") literal blocks, every block line
 * indented by four spaces, figures as ".. image::" (or ".. figure::" with the
 * caption as its legend) with Pweave's default width "15 cm". Raw results
 * and text/restructuredtext displays pass through; the execution-stopped
 * note is a ".. warning::" directive; YAML front matter becomes a comment.
 */
#ifndef WEFT_RST_H
#define WEFT_RST_H

#include "render/render.h"

/* Render one of rst, sphinx, appending to `out`. Returns 0, or -1 with err. */
int rst_render(const char *format, const struct document *doc, const struct weave_results *res,
	       const struct render_options *opts, struct strbuf *out, struct weft_error *err);

/* True when `format` is one this module renders. */
int rst_format_known(const char *format);

#endif
