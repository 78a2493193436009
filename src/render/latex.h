/*
 * latex: the LaTeX format family, behind render.h's dispatch table.
 *
 *   tex          verbatim code and output (Pweave's "tex")
 *   texminted    minted environments for code, verbatim output
 *   texpweave    \begin{pweavecode} / \begin{pweaveout} environments
 *   texpygments  code highlighted by Pygments' LaTeX formatter (through
 *                opts->highlight with style "latex"), plus its style macros
 *   texwrapped   weft's own blocks (latex_wrap.h: wrapped long lines,
 *                highlighted); not a format of its own: the pdf format
 *                renders LaTeX-prose documents with it and adds
 *                latex_wrap_preamble() to their preamble
 *
 * Presentation options (echo, results incl. raw "tex" pass-through, include,
 * caption, name, width, f_env, f_pos, wrap, term transcripts, error tracebacks,
 * the stopped-execution marker) are applied here. Figures are written through
 * render/figures.h and referenced with \includegraphics. A display's
 * text/latex goes in raw; else a DataFrame's table (TABLE_MIME) becomes a
 * booktabs tabular (render/table_render.h); else its text/plain.
 *
 * The packages and definitions a render used (Pygments' style macros,
 * texpweave's environments, booktabs, minted) are put at the end of the
 * document's own preamble, or at the top of a fragment
 * (render/latex_preamble.h), so the report compiles as written.
 */
#ifndef WEFT_LATEX_H
#define WEFT_LATEX_H

#include "render/render.h"

/*
 * Render `doc` with `res` as LaTeX format `format` (one of the four above),
 * appending to `out`. Returns 0, or -1 with err (e.g. a figure file could not
 * be written, or a display's table data is malformed: err names the chunk).
 */
int latex_render(const char *format, const struct document *doc, const struct weave_results *res,
		 const struct render_options *opts, struct strbuf *out, struct weft_error *err);

/*
 * Rich output `o` of chunk `ch` as the LaTeX family shows it (text/latex
 * passed through, ...), appended to `out`; false when it has no LaTeX form
 * (the caller shows its text/plain). For md2latex (md_latex.c), whose
 * chunks are not rendered here.
 */
bool latex_show_rich(const struct document *doc, const struct weave_results *res,
		     const struct render_options *opts, struct strbuf *out, const struct chunk *ch,
		     const struct output *o, struct weft_error *err);

/* True when `format` is one this module renders. */
int latex_format_known(const char *format);

#endif
