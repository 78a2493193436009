/*
 * table_render: a DataFrame's table (model/table.h, from the private
 * TABLE_MIME the worker adds) as LaTeX, pandoc Markdown or reST markup, so
 * the non-HTML reports show a real table built from the data rather than raw
 * HTML (one paragraph per cell once pandoc reads it) or a text dump.
 *
 *   LaTeX   booktabs tabular: \toprule, header rows (a spanned column level
 *           as \multicolumn with a \cmidrule under it), \midrule, body,
 *           \bottomrule; number columns right-aligned, the rest and the
 *           index left, index cells bold; every cell escaped; pandoc's
 *           footer ("9 rows × 6 columns") as a small paragraph under it.
 *           A table longer than a page is a longtable. Needs booktabs (and
 *           longtable); latex.c puts them in the preamble.
 *   pandoc  a pipe table (pandoc writes it as a LaTeX longtable, an HTML
 *           table, ...): one header row, column levels joined with " / ",
 *           number columns `---:`, cells backslash-escaped.
 *   reST    a list-table directive with its header rows.
 *
 * Every renderer that meets an output gets the table through
 * table_render_decode, which names the chunk when the data is malformed.
 */
#ifndef WEFT_TABLE_RENDER_H
#define WEFT_TABLE_RENDER_H

#include "model/document.h"
#include "model/output.h"
#include "model/table.h"
#include "util/error.h"
#include "util/strbuf.h"

/*
 * The table output `o` of chunk `ch` (of `doc`) carries: 1 with `t` filled
 * (initialised, empty on entry; table_free it), 0 when `o` has no TABLE_MIME,
 * -1 with err ("doc:line: chunk NAME: malformed table data: ...") when the
 * data is not a valid table.
 */
int table_render_decode(const struct output *o, const struct document *doc, const struct chunk *ch,
			struct table *t, struct weft_error *err);

/* Rows above which a LaTeX table is a longtable (it breaks across pages; a tabular would not). */
#define TABLE_LATEX_LONG_ROWS 30

/* True when table_render_latex writes `t` as a longtable (the preamble then needs longtable). */
bool table_latex_is_long(const struct table *t);

/*
 * `t` as a booktabs tabular, or longtable past TABLE_LATEX_LONG_ROWS rows
 * (header repeated on each page), and its footer, starting and ending a
 * line, appended to `out`. A longtable comes with a one-line fallback that
 * makes it a plain tabular where the document does not load longtable (a
 * fragment, md2latex's own preamble), so the report compiles either way.
 */
void table_render_latex(struct strbuf *out, const struct table *t);

/* `t` after a blank line as a pandoc pipe table (and footer paragraph), ending a line. */
void table_render_pipe(struct strbuf *out, const struct table *t);

/* `t` after a blank line as a reST list-table directive (and footer paragraph), ending a line. */
void table_render_rst(struct strbuf *out, const struct table *t);

#endif
