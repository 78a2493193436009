/* table_render: a decoded table as LaTeX, pipe table or reST; see table_render.h. */
#include "render/table_render.h"

#include <string.h>

#include "render/latex_wrap.h"

int table_render_decode(const struct output *o, const struct document *doc, const struct chunk *ch,
			struct table *t, struct weft_error *err)
{
	const struct mime_item *m = output_get_mime(o, TABLE_MIME);
	if (!m)
		return 0;
	struct weft_error why;
	weft_error_init(&why);
	int rc = table_from_json(t, m->data, m->len, &why);
	if (rc < 0) {
		int line = ch->header_line ? ch->header_line : ch->code_line;
		if (ch->opts.name)
			weft_error_set(err, doc->path, line, 0, "chunk '%s': %s", ch->opts.name,
				       why.msg.buf);
		else
			weft_error_set(err, doc->path, line, 0, "chunk %d: %s", ch->number, why.msg.buf);
	}
	weft_error_free(&why);
	return rc < 0 ? -1 : 1;
}

/* ---- LaTeX ---- */


/* A cell (NUL-terminated) as LaTeX text. */
static void latex_text(struct strbuf *out, const char *s)
{
	latex_wrap_escape_text(out, s, strlen(s));
}

/* One header row: spanned cells as \multicolumn, then a \cmidrule under each span. */
static void latex_header_row(struct strbuf *out, const struct table_hrow *hr)
{
	for (size_t k = 0; k < hr->ncells; k++) {
		const struct table_hcell *c = &hr->cells[k];
		if (k)
			strbuf_addstr(out, " & ");
		if (c->span > 1) {
			strbuf_addf(out, "\\multicolumn{%zu}{c}{", c->span);
			latex_text(out, c->text);
			strbuf_addch(out, '}');
		} else {
			latex_text(out, c->text);
		}
	}
	strbuf_addstr(out, " \\\\\n");
	size_t col = 1;
	bool rule = false;
	for (size_t k = 0; k < hr->ncells; k++) {
		const struct table_hcell *c = &hr->cells[k];
		if (c->span > 1 && *c->text) {
			strbuf_addf(out, "%s\\cmidrule(lr){%zu-%zu}", rule ? " " : "", col,
				    col + c->span - 1);
			rule = true;
		}
		col += c->span;
	}
	if (rule)
		strbuf_addch(out, '\n');
}

bool table_latex_is_long(const struct table *t)
{
	return t->nrows > TABLE_LATEX_LONG_ROWS;
}

void table_render_latex(struct strbuf *out, const struct table *t)
{
	bool is_long = table_latex_is_long(t);
	if (out->len && out->buf[out->len - 1] != '\n')
		strbuf_addch(out, '\n');
	strbuf_addch(out, '\n');
	if (is_long) /* a document that does not load longtable gets one tabular (no page breaks) */
		strbuf_addstr(out, "\\makeatletter\\@ifundefined{longtable}{\\newenvironment{longtable}[1][]"
				   "{\\par\\noindent\\begin{tabular}}{\\end{tabular}\\par}"
				   "\\let\\endhead\\relax}{}\\makeatother\n");
	/* flush left, both kinds: a longtable centres unless told [l], a tabular is indented */
	strbuf_addstr(out, is_long ? "\\begin{longtable}[l]{" : "\\noindent\\begin{tabular}{");
	for (size_t c = 0; c < t->ncols; c++)
		strbuf_addch(out, c >= t->nindex && t->numeric[c] ? 'r' : 'l');
	strbuf_addstr(out, "}\n\\toprule\n");
	for (size_t i = 0; i < t->nheader; i++)
		latex_header_row(out, &t->header[i]);
	if (t->nheader)
		strbuf_addstr(out, "\\midrule\n");
	if (is_long) /* the header again on every page */
		strbuf_addstr(out, "\\endhead\n");
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = table_cell(t, r, c);
			if (c)
				strbuf_addstr(out, " & ");
			if (c < t->nindex && *cell) {
				strbuf_addstr(out, "\\textbf{");
				latex_text(out, cell);
				strbuf_addch(out, '}');
			} else {
				latex_text(out, cell);
			}
		}
		strbuf_addstr(out, " \\\\\n");
	}
	strbuf_addf(out, "\\bottomrule\n\\end{%s}\n", is_long ? "longtable" : "tabular");
	if (*t->footer) {
		strbuf_addstr(out, "\n\\noindent{\\small ");
		latex_text(out, t->footer);
		strbuf_addstr(out, "}\n");
	}
	strbuf_addch(out, '\n');
}

/* ---- pandoc Markdown ---- */

/* A cell as pandoc Markdown inline text: ASCII punctuation with a meaning backslash-escaped. */
static void md_cell(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (strchr("\\`*_[]<>|$~^#@", *s))
			strbuf_addch(out, '\\');
		strbuf_addch(out, (unsigned char)*s < 0x20 ? ' ' : *s);
	}
}

/*
 * The text of column `c` in every header row, joined with " / " (a spanned
 * level counts for each column it covers); an index column takes only its
 * last non-empty header text (the index name under the column level names).
 */
static void md_header_cell(struct strbuf *out, const struct table *t, size_t c)
{
	bool any = false;
	const char *last = NULL;
	for (size_t i = 0; i < t->nheader; i++) {
		const struct table_hrow *hr = &t->header[i];
		size_t col = 0;
		for (size_t k = 0; k < hr->ncells; k++) {
			const struct table_hcell *cell = &hr->cells[k];
			if (c >= col && c < col + cell->span && *cell->text) {
				if (c < t->nindex) {
					last = cell->text;
				} else {
					if (any)
						strbuf_addstr(out, " / ");
					md_cell(out, cell->text);
					any = true;
				}
			}
			col += cell->span;
		}
	}
	if (last)
		md_cell(out, last);
}

void table_render_pipe(struct strbuf *out, const struct table *t)
{
	if (out->len && out->buf[out->len - 1] != '\n')
		strbuf_addch(out, '\n');
	strbuf_addch(out, '\n');
	strbuf_addch(out, '|');
	for (size_t c = 0; c < t->ncols; c++) {
		strbuf_addch(out, ' ');
		md_header_cell(out, t, c);
		strbuf_addstr(out, " |");
	}
	strbuf_addstr(out, "\n|");
	for (size_t c = 0; c < t->ncols; c++)
		strbuf_addstr(out, c >= t->nindex && t->numeric[c] ? "----:|" : ":----|");
	strbuf_addch(out, '\n');
	for (size_t r = 0; r < t->nrows; r++) {
		strbuf_addch(out, '|');
		for (size_t c = 0; c < t->ncols; c++) {
			strbuf_addch(out, ' ');
			md_cell(out, table_cell(t, r, c));
			strbuf_addstr(out, " |");
		}
		strbuf_addch(out, '\n');
	}
	if (*t->footer) {
		strbuf_addch(out, '\n');
		md_cell(out, t->footer);
		strbuf_addch(out, '\n');
	}
}

/* ---- reStructuredText ---- */

/* A cell as reST inline text: the inline-markup characters backslash-escaped. */
static void rst_cell(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (strchr("\\`*_|:", *s))
			strbuf_addch(out, '\\');
		strbuf_addch(out, (unsigned char)*s < 0x20 ? ' ' : *s);
	}
}

/* One list-table row item: "* - a" then "  - b" per further cell ("-" alone when empty). */
static void rst_item(struct strbuf *out, size_t c, const char *text)
{
	strbuf_addstr(out, c ? "     -" : "   * -");
	if (*text) {
		strbuf_addch(out, ' ');
		rst_cell(out, text);
	}
	strbuf_addch(out, '\n');
}

void table_render_rst(struct strbuf *out, const struct table *t)
{
	if (out->len && out->buf[out->len - 1] != '\n')
		strbuf_addch(out, '\n');
	strbuf_addf(out, "\n.. list-table::\n   :header-rows: %zu\n\n", t->nheader);
	for (size_t i = 0; i < t->nheader; i++) {
		const struct table_hrow *hr = &t->header[i];
		size_t c = 0;
		for (size_t k = 0; k < hr->ncells; k++)
			for (size_t s = 0; s < hr->cells[k].span; s++, c++)
				rst_item(out, c, s ? "" : hr->cells[k].text);
	}
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			rst_item(out, c, table_cell(t, r, c));
	if (*t->footer) {
		strbuf_addch(out, '\n');
		rst_cell(out, t->footer);
		strbuf_addch(out, '\n');
	}
}
