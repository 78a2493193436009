/*
 * table: weft's private table MIME (TABLE_MIME), decoded and checked.
 *
 * The worker (src/engine/py/weft_table.py) adds this MIME to the display of
 * a pandas DataFrame or Series: the table pandas shows, as cell strings,
 * so the LaTeX, Markdown and reST reports build a real table from the data
 * (render/table_render.h) instead of raw HTML or a text dump. It is never
 * shown as such: notebook.c strips it, HTML keeps text/html.
 *
 * The data arrives from the worker, which runs user code (a raw display()
 * can send anything under this MIME), so table_from_json is the ONE place
 * that reads it, and checks everything: version, types, sizes, spans that
 * tile every header row, body rows of the declared width, no NUL byte.
 * Anything else is an error (never a crash, never a partial table).
 *
 *   struct table t;
 *   table_init(&t);
 *   if (table_from_json(&t, m->data, m->len, &err) < 0) ... err says what is wrong
 *   for (size_t r = 0; r < t.nrows; r++) ... table_cell(&t, r, c) ...
 *   table_free(&t);
 */
#ifndef WEFT_TABLE_H
#define WEFT_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define TABLE_MIME "application/vnd.weft.table+json"

/* Limits well above anything pandas shows (display.max_rows/max_columns), bounding hostile data. */
#define TABLE_MAX_COLUMNS 4096
#define TABLE_MAX_ROWS 1000000

/* One header cell: its text and how many columns it covers. */
struct table_hcell {
	char *text;
	size_t span;
};

/* One header row: cells whose spans sum to the table's width. */
struct table_hrow {
	struct table_hcell *cells;
	size_t ncells;
};

struct table {
	size_t ncols;              /* width, index columns included (>= 1) */
	size_t nindex;             /* leading columns that are the index (<= ncols) */
	struct table_hrow *header; /* header rows (column levels, the index names row) */
	size_t nheader;
	char **body;               /* nrows * ncols cell strings, row-major */
	size_t nrows;
	bool *numeric;             /* per column: a number column (right-aligned) */
	char *footer;              /* "9 rows × 6 columns", a Series' dtype line, or "" */
};

void table_init(struct table *t);
void table_free(struct table *t);

/*
 * Decode `len` bytes of JSON (the TABLE_MIME data as stored) into `t`
 * (initialised, empty). Returns 0, or -1 with err saying what is malformed
 * (no file or line: the caller names the chunk); t is then empty.
 */
int table_from_json(struct table *t, const char *data, size_t len, struct weft_error *err);

/* The body cell at row `r`, column `c` (both in range). */
const char *table_cell(const struct table *t, size_t r, size_t c);

#endif
