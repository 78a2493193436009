/*
 * pandoc_render: the pandoc2html and pandoc2latex formats, weft's Pandoc
 * Markdown rendering piped through pandoc, as Pweave did. pandoc is not a
 * weft dependency: its absence is a clear error naming the format and the
 * format to use instead.
 */
#ifndef WEFT_PANDOC_RENDER_H
#define WEFT_PANDOC_RENDER_H

#include "render/render.h"

/* Render `doc` with `res` as "pandoc2html" or "pandoc2latex", appending to `out`. 0, or -1 with err. */
int pandoc_render(const char *format, const struct document *doc, const struct weave_results *res,
		  const struct render_options *opts, struct strbuf *out, struct weft_error *err);

#endif
