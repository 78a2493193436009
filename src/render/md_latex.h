/*
 * md_latex: the md2latex format, a standalone LaTeX document from a
 * Markdown-prose document (.pmd, .mdw, `#'` scripts, notebooks' markdown
 * cells), written by weft itself as md2html writes its page: no pandoc.
 *
 * Prose goes through md_prose (pandoc's $ math rules, footnotes, fenced
 * divs, @fig-NAME references: the same rules as md2html, with LaTeX markup)
 * and md4c's parser, whose events become LaTeX: headings (\section..., not
 * numbered, as pandoc's default), emphasis, code spans (\texttt, escaped),
 * code blocks (latex_wrap.h: wrapped, highlighted), lists, block quotes,
 * links (\href), local images (\includegraphics, never wider than the
 * line; a remote or unsupported image is a warning and a link), GFM tables
 * (booktabs tabular with the column alignment), footnotes (\footnote), math
 * (passed to LaTeX), raw LaTeX (\commands with their arguments, and
 * \begin{env}...\end{env} blocks, passed through) and raw HTML (dropped
 * with a warning naming file:line; HTML comments silently).
 *
 * Chunks go through the shared chunk walk: code and outputs as latex_wrap
 * blocks, figures written as files (PDF by default) in a figure
 * environment with the caption (Markdown, converted) and \label{fig:NAME},
 * which @fig-NAME refers to with \ref; rich LaTeX (text/latex) as latex.c
 * shows it.
 *
 * The preamble works under lualatex, xelatex (fontspec, Latin Modern) and
 * pdflatex (inputenc utf8, T1, lmodern, textcomp); it loads booktabs,
 * graphicx, amsmath, hyperref. Title, author and date come from the front
 * matter (or a pandoc "% title" block); no date means none is printed, so
 * the document does not change from day to day.
 */
#ifndef WEFT_MD_LATEX_H
#define WEFT_MD_LATEX_H

#include "render/render.h"

/* Render `doc` with `res` as md2latex into `out`. Returns 0, or -1 with err (a figure not written). */
int md_latex_render(const char *format, const struct document *doc, const struct weave_results *res,
		    const struct render_options *opts, struct strbuf *out, struct weft_error *err);

/*
 * md2latex's preamble (\documentclass up to, not including,
 * \begin{document}), with \title, \author and \date from the arguments
 * (NULL: empty). pdf.c puts it around LaTeX prose that has none.
 */
void md_latex_preamble(struct strbuf *out, const char *title, const char *author, const char *date);

#endif
