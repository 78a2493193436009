/*
 * pdf: the pdf format, a PDF report compiled by weft itself (no pandoc).
 *
 * The LaTeX: a Markdown-prose document is rendered as md2latex; a
 * LaTeX-prose document (a name containing "tex", as .texw, or prose with
 * \documentclass or \begin{document}, as most .Pnw) through the LaTeX family
 * with weft's wrapped blocks (latex.c's texwrapped style), latex_wrap's
 * definitions added before its \begin{document} (or md2latex's preamble
 * around it when it has none).
 *
 * The engine: opts->latex_engine, else lualatex, xelatex, pdflatex, the
 * first installed. It runs in a private folder made with mkdtemp under
 * $TMPDIR, non-interactively and without shell escape, with TEXINPUTS
 * pointing at the report's folder (figures) and the document's (images,
 * \input files), then the user's TEXINPUTS, and again while the log asks for it ("Rerun to get ...",
 * "Label(s) may have changed"), at most PDF_MAX_RUNS times. The PDF's bytes
 * become the report (the caller writes it atomically); the folder is
 * removed, also on failure. With opts->keep_tex the LaTeX is also written
 * beside the report (REPORT.tex).
 *
 * The PDF is reproducible: the engine gets SOURCE_DATE_EPOCH=0 unless the
 * environment sets it (the dates in the PDF's metadata are then 1970's), so
 * an unchanged document gives the same bytes and a cached render is
 * byte-identical to an uncached one (the cache's contract), as for the other
 * formats. \today still prints the day (FORCE_SOURCE_DATE is not set).
 *
 * A LaTeX error is an error "LaTeX failed: <the log's first error line and
 * its context>" (pdf_error_is_latex tells it apart: exit status 1, not 2).
 */
#ifndef WEFT_PDF_H
#define WEFT_PDF_H

#include <stdbool.h>

#include "render/render.h"

/* How many times LaTeX runs at most, while references settle. */
#define PDF_MAX_RUNS 4

/* Render `doc` with `res` as a PDF into `out` (its bytes). Returns 0, or -1 with err. */
int pdf_render(const char *format, const struct document *doc, const struct weave_results *res,
	       const struct render_options *opts, struct strbuf *out, struct weft_error *err);

/* True when `doc`'s prose is LaTeX (see above), false for Markdown. */
bool pdf_prose_is_latex(const struct document *doc);

/* True when `err` is pdf_render's "LaTeX failed" (the document's fault, not a missing tool). */
bool pdf_error_is_latex(const struct weft_error *err);

/*
 * The TeX engine to use: `wanted` (a name or path, checked to exist), else
 * the first of lualatex, xelatex, pdflatex installed. Its path goes to
 * `path`. Returns 0, or -1 with err naming what to install.
 */
int pdf_find_engine(const char *wanted, const char *doc_path, struct strbuf *path,
		    struct weft_error *err);

#endif
