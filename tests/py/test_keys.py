"""Tests of what the cache keys take from the source text (issue 8, class 6):
weft_analysis' `suppressed` and `defines_code`, and weft_runtime noticing a
look-up of the document's own lines. No worker process involved.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "src", "engine", "py"))
sys.path.insert(0, HERE)

import tap  # noqa: E402
import weft_analysis as an  # noqa: E402
import weft_runtime as rt  # noqa: E402


@tap.test
def suppressed_semicolon_changes_normalized():
    plain = an.analyze_chunk("x + 1\n")
    quiet = an.analyze_chunk("x + 1;\n")
    quiet2 = an.analyze_chunk("x + 1 ;  # hush\n")
    assert not plain["suppressed"] and quiet["suppressed"] and quiet2["suppressed"]
    assert plain["normalized"] != quiet["normalized"]
    assert quiet["normalized"] == quiet2["normalized"]  # comments still do not count
    # Only the last expression statement's semicolon matters (as in the runtime).
    assert not an.analyze_chunk("a = 1;\n")["suppressed"]
    assert not an.analyze_chunk("f(x); g(y)\n")["suppressed"]
    assert an.analyze_chunk("f(x); g(y);\n")["suppressed"]


@tap.test
def suppression_agrees_with_the_runtime():
    for code in ["x\n", "x;\n", "(x\n);\n", "'a;b'\n", "x  # ;\n", "f(x) ;\n", "x = 1\n"]:
        tree = rt.parse(code)
        runtime = bool(tree.body) and type(tree.body[-1]).__name__ == "Expr" and \
            rt.ends_with_semicolon(code, tree.body[-1])
        assert an.analyze_chunk(code)["suppressed"] == runtime, code


@tap.test
def defines_code():
    for code, want in [("def f(): pass\n", True), ("class C: pass\n", True), ("f = lambda: 1\n", True),
                       ("g = (i for i in range(3))\n", True), ("x = [i for i in range(3)]\n", False),
                       ("if True:\n    def h(): pass\n", True), ("x = 1\nprint(x)\n", False)]:
        assert an.analyze_chunk(code)["defines_code"] is want, code


@tap.test
def document_line_lookups_are_noticed():
    import linecache
    import traceback
    rt.DOC_PATH = "/tmp/weft-test-doc.pmd"
    rt._register_lines("def f():\n    return 1 / 0\n", 3)
    rt._install_linecache()
    rt.source_seen(clear=True)
    linecache.getline("/nonexistent/other.py", 1)
    assert not rt.source_seen()
    code = compile(rt.shifted_source("def f():\n    return 1 / 0\n", 3), rt.DOC_PATH, "exec")
    ns = {}
    exec(code, ns)  # pylint: disable=exec-used
    try:
        ns["f"]()
    except ZeroDivisionError as exc:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    assert "return 1 / 0" in text
    assert rt.source_seen(clear=True)
    assert not rt.source_seen()


tap.finish()
