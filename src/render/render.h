/*
 * render: turn a document plus its outcomes into a report, one renderer per
 * format family (markdown.c, latex.c, rst.c, html.c, notebook.c), chosen by
 * Pweave's format names. Renderers also write figure files.
 *
 * Outputs are stored raw and rendered every run, so every presentation option
 * (echo, results, include, caption, width, wrap, ...) is applied here and
 * never affects what ran or what the cache holds.
 */
#ifndef WEFT_RENDER_H
#define WEFT_RENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "model/document.h"
#include "model/outcome.h"
#include "util/error.h"
#include "util/strbuf.h"

/*
 * Syntax highlighting is Pygments' job (as in the Python ecosystem), which lives
 * in Python; renderers never start Python themselves. The caller supplies this
 * callback (see render/highlight.h), which may answer from a cache. `style` is
 * "html", "latex" or "latex-defs" (the style macros "latex" markup uses).
 * Returns 0 with highlighted markup appended to `out`, or -1 when
 * highlighting is unavailable (the renderer then escapes plain code).
 */
typedef int (*render_highlight_fn)(void *ctx, const char *code, const char *lang,
				   const char *style, struct strbuf *out);

struct render_options {
	const char *format;        /* Pweave format name: "markdown", "pandoc", "tex", ... */
	const char *output_path;   /* where the report will be written (figure paths are relative to it) */
	const char *figure_dir;    /* figure directory as written into the report (default "figures") */
	const char *figure_format; /* "png", "svg", "pdf": the format figures were produced in */
	bool embed_figures;        /* html: embed figures as data: URIs (default true) */
	const char *version;       /* weft version, for footers */
	render_highlight_fn highlight; /* may be NULL: no highlighting */
	void *highlight_ctx;
	/* notebook: the kernel the document's default language runs in (--kernel),
	 * from its kernelspec; NULL name: python3, the embedded engine's */
	const char *kernel_name, *kernel_display_name, *kernel_language;
	/* pdf: the TeX engine (name or path; NULL: lualatex, xelatex, pdflatex, the first
	 * installed), and whether the LaTeX is also written beside the report */
	const char *latex_engine;
	bool keep_tex;
};

/*
 * Render `doc` with `res` into `out`, writing figure files under the figure
 * directory (relative to the output file's directory). Returns 0, or -1 with err.
 */
int render_document(const struct document *doc, const struct weave_results *res,
		    const struct render_options *opts, struct strbuf *out, struct weft_error *err);

/*
 * Pweave's default output format for an input file name: .pmd/.py -> md2html,
 * then by substring of the extension: md -> markdown, tex -> texpygments,
 * rst -> rst, htm -> html; anything else -> markdown.
 */
const char *render_default_format(const char *input_path);
/* The output file extension for a format ("md", "tex", "html", "rst", "ipynb", ...). */
const char *render_extension(const char *format);
/* The default figure format for an output format ("pdf" for LaTeX, "png" otherwise). */
const char *render_default_figure_format(const char *format);
/* True when `format` is written as HTML for a browser (html, md2html, pandoc2html). */
bool render_format_is_html(const char *format);
/* True when `format` is a known format name. */
bool render_format_known(const char *format);
/* Print "name  description" lines for every format. */
void render_list_formats(FILE *fp);

/* The output format names, alphabetical, into names[0..max); returns how many there are. */
size_t render_format_names(const char **names, size_t max);

#endif
