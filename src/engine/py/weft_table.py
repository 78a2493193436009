"""weft_table: a pandas DataFrame or Series as weft's private table MIME.

The LaTeX, Markdown and reST reports show a DataFrame as a real table built
from its data (render/table_render.c), not as raw HTML or a text dump. The
worker adds, next to text/html and text/plain, the MIME type TABLE_MIME
whose value is this JSON object (version 1; src/model/table.h decodes it):

  {"version": 1,
   "columns": N,                  total width, index columns included
   "index_columns": K,            leading columns that are the index
   "header": [[{"text": s, "span": n}, ...], ...]
                                  header rows; spans of a row sum to N
                                  (MultiIndex column levels, the row of
                                  index names)
   "body": [[s, ...], ...]        one list of N cell strings per row; a
                                  MultiIndex level repeated down a span
                                  (pandas' sparsified index) is ""
   "numeric": [bool, ...]         per column: right-aligned (numeric dtype)
   "footer": s}                   "9 rows x 6 columns" as pandas shows it
                                  under a truncated frame, the Series'
                                  "Name: v, dtype: int64" line, or ""

Why parse _repr_html_ (stdlib html.parser) rather than call pandas'
formatters: the HTML is what pandas displays (its own number formatting,
float precision, truncation with "..." rows and columns, MultiIndex
sparsifying under the current display options), its structure has been
stable across pandas versions, while DataFrameFormatter is private API that
changes between releases. The HTML is already computed for text/html, so
nothing in pandas runs twice for a DataFrame. A Series has no _repr_html_:
its one-column frame's (Series.to_frame) is parsed instead.

Only called when pandas is already imported and the value is a DataFrame
or Series (weft_runtime.mime_bundle), so a document without pandas never
imports this module or html.parser. Anything unexpected gives None: the
report then shows text/html or text/plain, as before.
"""

import sys

TABLE_MIME = "application/vnd.weft.table+json"


def _parse_html_table(html):
    """Rows of the first <table> in html: (rows, head_rows); each row is a list
    of (text, is_th, colspan, rowspan); head_rows counts rows inside <thead>.
    None when there is no table or tables nest."""
    from html.parser import HTMLParser  # pylint: disable=import-outside-toplevel

    class _Parser(HTMLParser):
        """Collects the cells of the first table (text only, entities decoded)."""

        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.depth = 0
            self.done = False
            self.bad = False
            self.rows = []
            self.head_rows = 0
            self.in_head = False
            self.cell = None
            self.footer = []
            self.in_p = False

        def handle_starttag(self, tag, attrs):
            if self.done:
                if tag == "p":
                    self.in_p = True
                return
            if tag == "table":
                self.depth += 1
                if self.depth > 1:
                    self.bad = True
            elif self.depth == 1 and tag == "thead":
                self.in_head = True
            elif self.depth == 1 and tag == "tr":
                self.rows.append([])
                if self.in_head:
                    self.head_rows += 1
            elif self.depth == 1 and tag in ("th", "td") and self.rows:
                a = dict(attrs)
                self.cell = [[], tag == "th", _span(a.get("colspan")), _span(a.get("rowspan"))]
            elif self.depth == 1 and tag == "br" and self.cell is not None:
                self.cell[0].append(" ")

        def handle_endtag(self, tag):
            if self.done:
                if tag == "p":
                    self.in_p = False
                return
            if tag == "table" and self.depth:
                self.depth -= 1
                if not self.depth:
                    self.done = True
            elif tag == "thead":
                self.in_head = False
            elif tag in ("th", "td") and self.cell is not None:
                text = " ".join("".join(self.cell[0]).split())
                self.rows[-1].append((text, self.cell[1], self.cell[2], self.cell[3]))
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell[0].append(data)
            elif self.done and self.in_p:
                self.footer.append(data)

    p = _Parser()
    p.feed(html)
    p.close()
    if p.bad or not p.done or not p.rows:
        return None
    return p.rows, p.head_rows, " ".join("".join(p.footer).split())


def _span(value):
    """A colspan/rowspan attribute as a count (1 when absent or odd)."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return 1
    return n if 1 <= n <= 10000 else 1


def _grid(rows):
    """Place cells (with col/row spans) on a grid: a list of rows, each a list of
    (text, is_th, colspan, origin) where origin is False for a slot a span
    covers. None when the rows do not make a rectangle."""
    grid = []
    pending = {}  # column -> (rows left, is_th) of a rowspan from above
    width = None
    for row in rows:
        out = []
        col = 0
        cells = iter(row)
        nxt = next(cells, None)
        while nxt is not None or col in pending:
            if col in pending:
                left, is_th = pending[col]
                out.append(("", is_th, 1, False))
                if left <= 1:
                    del pending[col]
                else:
                    pending[col] = (left - 1, is_th)
                col += 1
                continue
            text, is_th, colspan, rowspan = nxt
            out.append((text, is_th, colspan, True))
            for k in range(colspan):
                if k:
                    out.append(("", is_th, 1, False))
                if rowspan > 1:
                    pending[col + k] = (rowspan - 1, is_th)
            col += colspan
            nxt = next(cells, None)
        if width is None:
            width = len(out)
        elif len(out) != width:
            return None
        grid.append(out)
    if pending or not width:
        return None
    return grid


def _numeric_dtype(pd, dtype):
    """True for a number dtype (bool is not: it reads as a word)."""
    api = pd.api.types
    try:
        return bool(api.is_numeric_dtype(dtype)) and not api.is_bool_dtype(dtype)
    except Exception:  # pylint: disable=broad-except
        return False


def _numeric_columns(pd, frame, header_last, index_columns, width):
    """Per grid column: numeric or not, mapping shown columns to the frame's
    dtypes around a "..." column when pandas truncated the columns."""
    dtypes = list(frame.dtypes)
    shown = width - index_columns
    flags = [False] * index_columns
    if shown == len(dtypes):
        return flags + [_numeric_dtype(pd, d) for d in dtypes]
    dots = [i for i in range(index_columns, width) if header_last[i] == "..."]
    if len(dots) != 1:
        return flags + [False] * shown
    left = dots[0] - index_columns
    right = shown - left - 1
    if left + right > len(dtypes):
        return flags + [False] * shown
    tail = dtypes[len(dtypes) - right:] if right else []
    return (flags + [_numeric_dtype(pd, d) for d in dtypes[:left]] + [False]
            + [_numeric_dtype(pd, d) for d in tail])


def table_of(obj, html, plain):
    """The table JSON object for DataFrame/Series obj, whose text/html (None
    for a Series) and text/plain were already computed; None when obj is not
    one or its HTML is not a pandas table."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return None
    footer = ""
    if isinstance(obj, pd.Series):
        frame = obj.to_frame(name="" if obj.name is None else obj.name)
        html = frame._repr_html_()  # pylint: disable=protected-access
        last = plain.rstrip("\n").rsplit("\n", 1)[-1] if isinstance(plain, str) else ""
        if "dtype:" in last:
            footer = last.strip()
    elif isinstance(obj, pd.DataFrame):
        frame = obj
    else:
        return None
    if not isinstance(html, str):
        return None
    parsed = _parse_html_table(html)
    if parsed is None:
        return None
    rows, head_rows, html_footer = parsed
    grid = _grid(rows)
    if grid is None or head_rows >= len(grid):
        return None  # no body rows: "Empty DataFrame" reads better as text
    width = len(grid[0])
    header, body = grid[:head_rows], grid[head_rows:]
    # the index: the leading columns that are <th> in every body row
    index_columns = width
    for row in body:
        k = 0
        while k < width and row[k][1]:
            k += 1
        index_columns = min(index_columns, k)
    header_json = [[{"text": c[0], "span": c[2]} for c in row if c[3]] for row in header]
    header_last = [c[0] for c in header[-1]] if header else [""] * width
    if len(header) > 1 and all(not c[0] for c in header[-1][index_columns:]):
        header_last = [c[0] for c in header[-2]]  # the last row holds index names only
    return {
        "version": 1,
        "columns": width,
        "index_columns": index_columns,
        "header": header_json,
        "body": [[c[0] for c in row] for row in body],
        "numeric": _numeric_columns(pd, frame, header_last, index_columns, width),
        "footer": footer or html_footer,  # a Series' own line says "Length: 100"
    }
