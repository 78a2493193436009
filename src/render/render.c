/*
 * render: the format table and dispatch shared by every renderer; see
 * render.h. Each format family lives in its own module (markdown.c, rst.c,
 * notebook.c, latex.c, html.c); this file only knows names, descriptions,
 * extensions and default figure formats, all as Pweave 0.30 has them.
 */
#include "render/render.h"

#include <string.h>
#include <strings.h>

#include "render/html.h"
#include "render/latex.h"
#include "render/markdown.h"
#include "render/md_latex.h"
#include "render/notebook.h"
#include "render/pdf.h"
#include "render/rst.h"

typedef int (*family_fn)(const char *format, const struct document *doc,
			 const struct weave_results *res, const struct render_options *opts,
			 struct strbuf *out, struct weft_error *err);

struct format_entry {
	const char *name;
	const char *description; /* Pweave's wording */
	const char *extension;   /* output file extension */
	const char *figure_format;
	family_fn render;
};

/* Sorted by name, as `weft formats` prints them. */
static const struct format_entry formats[] = {
	{"html", "HTML fragment, code highlighted by Pygments", "html", "png", html_render},
	{"leanpub", "Markdown for Leanpub books", "md", "png", markdown_render},
	{"markdown", "Markdown (the pandoc flavour, as Pweave writes it)", "md", "png", markdown_render},
	{"md2html", "standalone HTML page: md4c, Pygments, KaTeX, embedded figures", "html", "png", html_render},
	{"md2latex", "standalone LaTeX document from Markdown prose (no pandoc needed)", "tex", "pdf",
	 md_latex_render},
	{"notebook", "Jupyter notebook (nbformat 4) with outputs", "ipynb", "png", notebook_render},
	{"pandoc", "pandoc Markdown: figures with attributes and captions", "md", "png", markdown_render},
	{"pandoc2html", "HTML through the pandoc program (must be installed)", "html", "png",
	 html_render},
	{"pandoc2latex", "LaTeX through the pandoc program (must be installed)", "tex", "pdf",
	 html_render},
	{"pdf", "PDF through LaTeX (lualatex, xelatex or pdflatex), long code lines wrapped", "pdf",
	 "pdf", pdf_render},
	{"rst", "reStructuredText", "rst", "png", rst_render},
	{"softcover", "Markdown for Softcover books", "md", "png", markdown_render},
	{"sphinx", "reStructuredText with Sphinx directives", "rst", "png", rst_render},
	{"tex", "LaTeX, code and output in verbatim", "tex", "pdf", latex_render},
	{"texminted", "LaTeX, code in minted environments", "tex", "pdf",
	 latex_render},
	{"texpweave",
	 "LaTeX, code and output in environments you define",
	 "tex", "pdf", latex_render},
	{"texpygments", "LaTeX, code highlighted by Pygments", "tex", "pdf",
	 latex_render},
};

#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

/* The table entry for `format`, or NULL. */
static const struct format_entry *find_format(const char *format)
{
	if (!format)
		return NULL;
	for (size_t i = 0; i < NFORMATS; i++)
		if (!strcmp(formats[i].name, format))
			return &formats[i];
	return NULL;
}

size_t render_format_names(const char **names, size_t max)
{
	size_t n = sizeof(formats) / sizeof(*formats);
	for (size_t i = 0; i < n && i < max; i++)
		names[i] = formats[i].name;
	return n;
}

bool render_format_is_html(const char *format)
{
	const struct format_entry *f = find_format(format);
	return f && !strcmp(f->extension, "html");
}

bool render_format_known(const char *format)
{
	return find_format(format) != NULL;
}

const char *render_extension(const char *format)
{
	const struct format_entry *f = find_format(format);
	return f ? f->extension : "md";
}

const char *render_default_figure_format(const char *format)
{
	const struct format_entry *f = find_format(format);
	return f ? f->figure_format : "png";
}

const char *render_default_format(const char *input_path)
{
	/* Pweave guesses from the (lower-cased) extension, by substring. */
	const char *slash = input_path ? strrchr(input_path, '/') : NULL;
	const char *base = slash ? slash + 1 : input_path ? input_path : "";
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base)
		return "markdown";
	char ext[32];
	size_t n = strlen(dot);
	if (n >= sizeof(ext))
		n = sizeof(ext) - 1;
	for (size_t i = 0; i < n; i++)
		ext[i] = (char)((dot[i] >= 'A' && dot[i] <= 'Z') ? dot[i] - 'A' + 'a' : dot[i]);
	ext[n] = '\0';
	if (!strcmp(ext, ".pmd") || !strcmp(ext, ".py"))
		return "md2html";
	if (strstr(ext, "md"))
		return "markdown";
	if (strstr(ext, "tex"))
		return "texpygments";
	if (strstr(ext, "rst"))
		return "rst";
	if (strstr(ext, "htm"))
		return "html";
	return "markdown";
}

void render_list_formats(FILE *fp)
{
	for (size_t i = 0; i < NFORMATS; i++)
		fprintf(fp, "  %-13s %s\n", formats[i].name, formats[i].description);
}

int render_document(const struct document *doc, const struct weave_results *res,
		    const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	const struct format_entry *f = find_format(opts->format);
	if (!f)
		return weft_error_set(err, doc->path, 0, 0,
				      "unknown output format '%s' (weft --list-formats shows them)",
				      opts->format ? opts->format : "(none)");
	if (!f->render)
		return weft_error_set(err, doc->path, 0, 0,
				      "output format '%s' is not available in this build", f->name);
	return f->render(f->name, doc, res, opts, out, err);
}
