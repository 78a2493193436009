"""Tests of weft_source (an indented chunk dedented as IPython's leading_indent does).

Run with /usr/bin/python3 tests/py/test_source.py; prints ok/not ok lines.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "src", "engine", "py"))
sys.path.insert(0, HERE)

import tap  # noqa: E402
import weft_analysis as wa  # noqa: E402
import weft_source as ws  # noqa: E402


def test_unindented_code_untouched():
    for code in ["x = 1\n", "", "\n\n", "# c\n    # indented comment\ny = 2\n",
                 "  # indented comment first\nif True:\n  y = 2\n", "def f():\n    return 1\n"]:
        assert ws.dedent_chunk(code) is code, code


def test_dedent_keeps_lines():
    code = "\n    # method body\n    def f(a):\n        return a\n\n    s = '''\n  text\n    '''\n    f(1)\n"
    out = ws.dedent_chunk(code)
    assert out.count("\n") == code.count("\n")
    assert out == "\n# method body\ndef f(a):\n    return a\n\ns = '''\n  text\n'''\nf(1)\n", repr(out)
    compile(out, "<t>", "exec")


def test_tabs_and_crlf():
    assert ws.dedent_chunk("\tx = 1\r\n\ty = x\r\n") == "x = 1\r\ny = x\r\n"
    # lines are "\n"-separated only: a form feed inside a line is not a line break
    assert ws.dedent_chunk("    s = 'a\x0c    b'\n") == "s = 'a\x0c    b'\n"


def test_first_code_line_decides():
    assert ws.first_code_indent("\n  # c\n    x = 1\n") == "    "
    assert ws.first_code_indent("   \n\t\n") == ""


def test_analysis_sees_dedented_code():
    rec = wa.op_analyze({"chunks": [{"code": "    a = 1\n    b = a + 1\n", "line": 5}]})["chunks"][0]
    assert "syntax_error" not in rec, rec
    assert set(rec["writes"]) >= {"a", "b"}, rec
    assert rec["statements"] == [5, 6], rec
    flat = wa.op_analyze({"chunks": [{"code": "a = 1\nb = a + 1\n", "line": 5}]})["chunks"][0]
    assert rec["normalized"] == flat["normalized"]


for _name, _fn in sorted(globals().items()):
    if _name.startswith("test_") and callable(_fn):
        tap.run(_name[5:], _fn)
tap.finish()
