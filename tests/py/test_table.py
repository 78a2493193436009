"""Tests of weft_table: a pandas DataFrame or Series shown by weft_runtime's
mime_bundle carries the private table MIME, built from pandas' own HTML
(cells as pandas formats them, MultiIndex levels and spans, "..." where pandas
truncates, number columns), and nothing else ever does or pays for it.

Run with /usr/bin/python3 tests/py/test_table.py; prints ok/not ok lines.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.realpath(os.path.join(HERE, "..", "..", "src", "engine", "py"))
sys.path.insert(0, PYDIR)
sys.path.insert(0, HERE)

from tap import test  # noqa: E402
import tap  # noqa: E402

MIME = "application/vnd.weft.table+json"


def pandas():
    """pandas, or tap.Skip."""
    try:
        import pandas as pd  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise tap.Skip(f"pandas is not installed ({exc})")
    return pd


def table(obj):
    """The table MIME of obj's bundle (None when absent)."""
    import weft_runtime  # pylint: disable=import-outside-toplevel
    data, _ = weft_runtime.mime_bundle(obj)
    return data.get(MIME)


@test
def plain_frame_cells_as_pandas_shows_them():
    pd = pandas()
    df = pd.DataFrame({"a": [1, 2], "b": [1.5, None], "c": ["x<y", "z"], "d": [True, False]})
    df.index.name = "idx"
    t = table(df)
    assert t["version"] == 1 and t["columns"] == 5 and t["index_columns"] == 1, t
    assert [c["text"] for c in t["header"][0]] == ["", "a", "b", "c", "d"], t["header"]
    assert [c["text"] for c in t["header"][1]] == ["idx", "", "", "", ""], t["header"]
    assert t["body"] == [["0", "1", "1.5", "x<y", "True"], ["1", "2", "NaN", "z", "False"]], t["body"]
    assert t["numeric"] == [False, True, True, False, False], t["numeric"]  # bool is not a number
    assert t["footer"] == ""


@test
def multiindex_levels_spans_and_sparse_index():
    pd = pandas()
    import numpy as np  # pylint: disable=import-outside-toplevel
    cols = pd.MultiIndex.from_product([["A", "B"], ["x", "y"]], names=["L0", "L1"])
    idx = pd.MultiIndex.from_product([["r1", "r2"], [1, 2]], names=["i0", "i1"])
    t = table(pd.DataFrame(np.arange(16).reshape(4, 4), index=idx, columns=cols))
    assert t["columns"] == 6 and t["index_columns"] == 2, t
    assert t["header"][0] == [{"text": "", "span": 1}, {"text": "L0", "span": 1},
                              {"text": "A", "span": 2}, {"text": "B", "span": 2}], t["header"][0]
    assert t["body"][1] == ["", "2", "4", "5", "6", "7"], t["body"]
    assert all(sum(c["span"] for c in row) == 6 for row in t["header"])


@test
def truncation_rows_and_columns_as_pandas_shows_it():
    pd = pandas()
    import numpy as np  # pylint: disable=import-outside-toplevel
    frame = pd.DataFrame(np.arange(400).reshape(40, 10))
    frame[3] = frame[3].astype(str)
    with pd.option_context("display.max_rows", 6, "display.max_columns", 4):
        t = table(frame)
    assert ["..."] * t["columns"] in t["body"], t["body"]
    last = [c["text"] for c in t["header"][-1]]
    assert last == ["", "0", "1", "...", "8", "9"], last
    assert t["numeric"] == [False, True, True, False, True, True], t["numeric"]
    assert t["footer"] == "40 rows \u00d7 10 columns", t["footer"]
    assert len(t["body"]) == 7


@test
def series_as_one_column_with_its_dtype_line():
    pd = pandas()
    t = table(pd.Series(range(100), name="v"))
    assert t["columns"] == 2 and t["header"][0][1]["text"] == "v", t
    assert t["footer"] == "Name: v, Length: 100, dtype: int64", t["footer"]
    assert t["numeric"] == [False, True]


@test
def no_table_for_other_values():
    pd = pandas()
    assert table([1, 2]) is None
    assert table(pd.DataFrame()) is None  # "Empty DataFrame" reads better as text
    assert table(pd.DataFrame({"a": [1]}).style) is None  # a Styler shows its own HTML
    with pd.option_context("display.notebook_repr_html", False):
        assert table(pd.DataFrame({"a": [1]})) is None  # pandas asked for text only


@test
def no_cost_without_pandas():
    """Showing values in a process without pandas loads neither weft_table nor html.parser."""
    code = ("import sys; sys.path.insert(0, %r); import weft_runtime as r; r.mime_bundle({'a': 1});"
            "r.mime_bundle(3.5); print(sorted(m for m in ('weft_table', 'html.parser', 'pandas')"
            " if m in sys.modules))" % PYDIR)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


tap.finish()
