/*
 * notebook: the "notebook" format, a Jupyter notebook (nbformat 4.4) with the
 * outputs included, so the report opens in Jupyter and converts with
 * nbconvert.
 *
 *   YAML front matter     a raw cell "---\n...\n---" first (the convention
 *                         Jupytext and Quarto use)
 *   text blocks           markdown cells, inline code results in place;
 *                         blank ones are left out
 *   code chunks           code cells: the code, execution_count numbering
 *                         the chunks that ran (null otherwise), the outputs
 *                         in nbformat form. results="hidden" keeps only the
 *                         figures, include=False none, fig=False no figures;
 *                         echo=False marks the source hidden
 *                         (metadata.jupyter.source_hidden); a named chunk
 *                         carries metadata.name; results --frozen took from
 *                         an earlier version are flagged in metadata.weft.frozen
 *   execution stopped     a markdown cell with the note after that chunk
 *
 * Metadata names the python3 kernel (kernelspec, language_info). The JSON is
 * written as nbformat writes it: one-space indent, sorted keys, text split
 * into lists of lines, a final newline.
 */
#ifndef WEFT_NOTEBOOK_H
#define WEFT_NOTEBOOK_H

#include <jansson.h>

#include "render/render.h"

/* Render as "notebook", appending the .ipynb JSON to `out`. Returns 0, or -1 with err. */
int notebook_render(const char *format, const struct document *doc, const struct weave_results *res,
		    const struct render_options *opts, struct strbuf *out, struct weft_error *err);

/* True when `format` is one this module renders ("notebook"). */
int notebook_format_known(const char *format);

/*
 * Writing nbformat 4.4, shared with `weft convert`:
 * notebook_lines  nbformat's multiline string (a list of lines, each keeping its
 *                 "\n"; invalid UTF-8 becomes U+FFFD instead of being lost);
 * notebook_cell   a markdown or raw cell of `type` with that source, empty metadata;
 * notebook_write  wrap `cells` (taken over) in a notebook naming the python3 kernel
 *                 and append it as nbformat writes it. 0, or -1 with err naming path.
 */
json_t *notebook_lines(const char *s, size_t len);
json_t *notebook_cell(const char *type, const char *src, size_t len);
int notebook_write(json_t *cells, const char *path, struct strbuf *out, struct weft_error *err);

#endif
