/*
 * markdown: the Markdown format family (markdown, pandoc, leanpub,
 * softcover), and the text-format core that reST (rst.c) shares.
 *
 * Pweave's text formats differ only in a few markups: what starts and ends a
 * code block and an output block, how lines are indented, and how a figure
 * is written. So there is one renderer, `markdown_render_flavour`, driven by
 * a `struct text_flavour` that holds those markups; each format is a table
 * entry. The layout follows Pweave 0.30 byte for byte where it can:
 *
 *   - blocks are joined by "\n" (Pweave's "\n".join of formatted chunks);
 *   - a chunk is its code block (echo), then its outputs, then its figures;
 *   - a verbatim output block holds the text right-stripped, between
 *     newlines; raw results (results="tex", "rst", "markdown", "html", ...)
 *     pass stream text through between newlines;
 *   - wrap: True wraps code and output, "code" code only, "output"/"results"
 *     output only, False nothing (see figures_wrap);
 *   - results="hidden" hides text outputs but keeps figures; a caption goes
 *     to the chunk's first figure and the others are not shown (their files
 *     are still written, so names stay stable).
 *
 * Where weft differs on purpose:
 *   - outputs appear in the order they happened: a figure drawn between two
 *     prints sits between them (Pweave printed all text, then all figures);
 *     consecutive stream outputs form one block;
 *   - term=True renders a console transcript: ">>> " / "... " prompts per
 *     statement, each followed by the text it produced (Pweave 0.30 split
 *     the chunk into code/output pairs);
 *   - display data with no figure: text/markdown (and text/html, text/latex
 *     for pandoc-style Markdown, so pandas tables come out as HTML tables)
 *     is passed through raw, else text/plain is shown as an output block;
 *   - where execution stopped (crash, timeout) a visible note follows the
 *     chunk; later (skipped) chunks show their code only;
 *   - YAML front matter is written back at the top;
 *   - softcover: no "\label{fig:None}" for unnamed chunks;
 *   - include=False hides outputs as well as figures (the meaning options.h
 *     gives it; Pweave's include governed figures only);
 *   - a ``` fence is lengthened when the code or output holds one;
 *   - a chunk whose results --frozen took from an earlier version of it is
 *     followed by a comment saying so (as the LaTeX renderer does).
 */
#ifndef WEFT_MARKDOWN_H
#define WEFT_MARKDOWN_H

#include <stdbool.h>

#include "render/render.h"

struct text_flavour;
struct table;

/* How a flavour writes figure `path` of chunk `ch`; `caption` is the caption when shown. */
typedef void (*text_figure_fn)(const struct text_flavour *fl, struct strbuf *out,
			       const struct chunk *ch, const char *path, const char *caption);

/* The markups of one text format. "%s" in a start markup becomes the chunk's language. */
struct text_flavour {
	const char *name;
	const char *codestart, *codeend;     /* around echoed code (and term transcripts) */
	const char *outputstart, *outputend; /* around verbatim output */
	const char *indent;                  /* prefix of code/output lines ("" or reST's 4 spaces) */
	const char *const *rich_mimes;       /* display MIME types passed through raw, best first */
	const char *const *figure_mimes;     /* figure MIME types, best first (figures.h) */
	const char *default_width;           /* figure width when the chunk sets none, or NULL */
	const char *after_figure;            /* written between a figure and a following output block */
	text_figure_fn figure;
	/* the execution-stopped note and the YAML front matter, in this format */
	void (*note)(struct strbuf *out, const char *text);
	void (*front_matter)(struct strbuf *out, const struct document *doc);
	/* a comment the reader of the source sees but the rendered page does not */
	void (*comment)(struct strbuf *out, const char *text);
	/*
	 * A DataFrame's table (render/table_render.h) in this format, shown
	 * instead of text/html when the display has none of rich_mimes but
	 * text/html or text/latex; NULL: the flavour never builds tables.
	 */
	void (*table)(struct strbuf *out, const struct table *t);
};

/*
 * Render `doc` with `res` in flavour `fl`, appending to `out` and writing
 * figure files. Returns 0, or -1 with err (a figure could not be written).
 */
int markdown_render_flavour(const struct text_flavour *fl, const struct document *doc,
			    const struct weave_results *res, const struct render_options *opts,
			    struct strbuf *out, struct weft_error *err);

/* Render one of markdown, pandoc, leanpub, softcover. */
int markdown_render(const char *format, const struct document *doc, const struct weave_results *res,
		    const struct render_options *opts, struct strbuf *out, struct weft_error *err);

/* True when `format` is one this module renders. */
int markdown_format_known(const char *format);

#endif
