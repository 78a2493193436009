/* rst: reStructuredText flavours of the text-format core; see rst.h. */
#include "render/rst.h"

#include <string.h>

#include "render/figures.h"
#include "render/markdown.h"
#include "render/table_render.h"

/* ".. figure::" with the caption as legend, else ".. image::"; both with a width. */
static void rst_figure(const struct text_flavour *fl, struct strbuf *out, const struct chunk *ch,
		       const char *path, const char *caption)
{
	const char *width = ch->opts.width ? ch->opts.width : fl->default_width;
	if (caption)
		strbuf_addf(out, ".. figure:: %s\n   :width: %s\n\n   %s\n\n", path, width, caption);
	else
		strbuf_addf(out, ".. image:: %s\n   :width: %s\n\n", path, width);
}

/* Append `text` with every line indented by three spaces (directive content). */
static void add_directive_body(struct strbuf *out, const char *text)
{
	size_t len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	strbuf_addstr(out, "   ");
	for (size_t i = 0; i < len; i++) {
		strbuf_addch(out, text[i]);
		if (text[i] == '\n' && i + 1 < len && text[i + 1] != '\n')
			strbuf_addstr(out, "   ");
	}
	strbuf_addch(out, '\n');
}

/* The stopped-execution note as a warning admonition. */
static void rst_note(struct strbuf *out, const char *text)
{
	if (!strbuf_ends_with(out, "\n"))
		strbuf_addch(out, '\n');
	if (!strbuf_ends_with(out, "\n\n"))
		strbuf_addch(out, '\n');
	strbuf_addstr(out, ".. warning::\n\n");
	add_directive_body(out, text);
	strbuf_addch(out, '\n');
}

/* A reST comment (".." followed by the text, indented). */
static void rst_comment(struct strbuf *out, const char *text)
{
	if (!strbuf_ends_with(out, "\n"))
		strbuf_addch(out, '\n');
	strbuf_addstr(out, "..\n");
	add_directive_body(out, text);
	strbuf_addch(out, '\n');
}

/* YAML front matter kept, but as a comment: reST has no front matter. */
static void rst_front_matter(struct strbuf *out, const struct document *doc)
{
	strbuf_addstr(out, "..\n");
	add_directive_body(out, doc->front_matter);
	strbuf_addch(out, '\n');
}

static const char *const rst_rich[] = {"text/restructuredtext", "text/x-rst", NULL};

static const struct text_flavour rst_flavours[] = {
	{"rst", ".. code:: %s\n", "\n\n", ".. code::\n", "\n\n", "    ", rst_rich,
	 figures_for_rst, "15 cm", "", rst_figure, rst_note, rst_front_matter, rst_comment, table_render_rst},
	{"sphinx", ".. code-block:: %s\n", "\n\n", "::\n", "\n\n", "    ", rst_rich,
	 figures_for_rst, "15 cm", "", rst_figure, rst_note, rst_front_matter, rst_comment, table_render_rst},
};

/* The flavour called `format`, or NULL. */
static const struct text_flavour *rst_flavour(const char *format)
{
	for (size_t i = 0; i < sizeof(rst_flavours) / sizeof(rst_flavours[0]); i++)
		if (format && !strcmp(rst_flavours[i].name, format))
			return &rst_flavours[i];
	return NULL;
}

int rst_format_known(const char *format)
{
	return rst_flavour(format) != NULL;
}

int rst_render(const char *format, const struct document *doc, const struct weave_results *res,
	       const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	const struct text_flavour *fl = rst_flavour(format);
	if (!fl)
		return weft_error_set(err, doc->path, 0, 0, "rst: unknown format '%s'",
				      format ? format : "(none)");
	return markdown_render_flavour(fl, doc, res, opts, out, err);
}
