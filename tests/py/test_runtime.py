"""Tests of weft_runtime's pure-Python pieces (no worker process involved).

Run with /usr/bin/python3; prints "ok - name" / "not ok - name" per test.
"""
import base64
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "src", "engine", "py"))
sys.path.insert(0, HERE)

import tap  # noqa: E402
import weft_runtime as rt  # noqa: E402

DOC = "/tmp/some/doc.pmd"
rt.DOC_PATH = DOC
SENT = []
rt._send = SENT.append  # collect events instead of writing to a channel

def check(name, fn):
    """Run one test with a clean event list."""
    del SENT[:]
    tap.run(name, fn)


def outputs():
    return [m["output"] for m in SENT if m.get("ev") == "output"]


def test_shifted_source_lines():
    src = rt.shifted_source("a = 1\nb = 2\n", 10)
    tree = rt.parse(src)
    assert [n.lineno for n in tree.body] == [10, 11]
    assert rt.shifted_source("x\n", 0) == "x\n"


def test_semicolon():
    for code, want in [("x\n", False), ("x;\n", True), ("x ;  # c\n", True), ("(x\n);\n", True),
                       ("'a;b'\n", False), ("x  # ;\n", False), ("f(x);\n", True)]:
        src = rt.shifted_source(code, 3)
        node = rt.parse(src).body[-1]
        assert rt.ends_with_semicolon(src, node) is want, (code, want)


def test_statement_spans():
    code = "x = 1\n@dec\ndef f():\n    pass\n\nfor i in r:\n    i\n"
    src = rt.shifted_source(code, 5)
    assert rt.statement_spans(src, rt.parse(src)) == [(5, 5), (6, 8), (10, 11)]


class Rich:
    def _repr_html_(self):
        return "<b>x</b>"

    def _repr_png_(self):
        return b"\x89PNG"

    def _repr_latex_(self):
        return None  # means "no latex", as pandas does

    def _repr_markdown_(self):
        return ("*m*", {"k": 1})

    def __repr__(self):
        return "Rich()"


class Bundle:
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": "B", "image/png": b"\x00\x01"}, {"image/png": {"width": 2}}


class Broken:
    def _repr_html_(self):
        raise RuntimeError("boom")


def test_mime_bundle():
    data, md = rt.mime_bundle(Rich())
    assert data["text/html"] == "<b>x</b>"
    assert data["image/png"] == "iVBORw=="  # base64 of b"\x89PNG"
    assert "text/latex" not in data
    assert data["text/markdown"] == "*m*" and md["text/markdown"] == {"k": 1}
    assert data["text/plain"] == "Rich()"
    data, md = rt.mime_bundle(Bundle())
    assert data == {"text/plain": "B", "image/png": "AAE="}
    assert md == {"image/png": {"width": 2}}
    # a class object's _repr_html_ is unbound: only its repr
    data, _ = rt.mime_bundle(Rich)
    assert list(data) == ["text/plain"]


def test_broken_repr_is_skipped():
    errs = []
    rt.sys.stderr, saved = rt.StreamWriter(2, "stderr", lambda fd, s: errs.append(s)), sys.stderr
    try:
        data, _ = rt.mime_bundle(Broken())
    finally:
        rt.sys.stderr = saved
    assert "text/html" not in data and "text/plain" in data
    assert "boom" in "".join(errs)


def test_stream_writer():
    got = []
    w = rt.StreamWriter(1, "stdout", lambda fd, s: got.append((fd, s)))
    print("hi", 3, file=w)
    w.buffer.write(b"\xc3\xa9")
    assert got == [(1, "hi"), (1, " "), (1, "3"), (1, "\n"), (1, "\u00e9")]
    assert w.fileno() == 1 and not w.isatty()
    w.reconfigure(line_buffering=True)  # code that tunes sys.stdout keeps working
    try:
        w.write(b"x")
        raise AssertionError("bytes accepted")
    except TypeError:
        pass


def test_run_code_outputs():
    ns = {"__name__": "__main__"}
    res = rt.ChunkResult()
    rt.run_code("x = 2\nx * 21\n", 1, ns, res)
    outs = outputs()
    assert res.status == "ok"
    assert len(outs) == 1 and outs[0]["output_type"] == "execute_result"
    assert outs[0]["data"]["text/plain"] == "42"
    del SENT[:]
    rt.run_code("x * 21;\n", 1, ns, res)
    assert outputs() == []


def test_top_level_await():
    ns = {}
    res = rt.ChunkResult()
    code = "import asyncio\nasync def f():\n    return 5\nv = await f()\nawait f()\n"
    rt.run_code(code, 1, ns, res)
    assert res.status == "ok" and ns["v"] == 5
    assert outputs()[0]["data"]["text/plain"] == "5"


def test_error_lines():
    ns = {"__name__": "__main__"}
    res = rt.ChunkResult()
    rt.run_code("def f():\n    return {}['k']\n", 30, ns, res)
    rt.run_code("a = 1\nf()\n", 50, ns, res)
    outs = outputs()
    assert res.status == "error" and res.error_type == "KeyError" and res.error_line == 31
    tb = "\n".join(outs[-1]["traceback"])
    assert 'File "%s", line 51, in <module>' % DOC in tb
    assert "return {}['k']" in tb  # quoted from the registered lines
    assert "weft_runtime" not in tb


def test_syntax_error_line():
    res = rt.ChunkResult()
    rt.run_code("ok = 1\nif x\n", 12, {}, res)
    assert res.error_type == "SyntaxError" and res.error_line == 13
    tb = "\n".join(outputs()[-1]["traceback"])
    assert 'File "%s", line 13' % DOC in tb


def test_term_statements():
    ns = {}
    res = rt.ChunkResult()
    printed = []
    saved, sys.stdout = sys.stdout, rt.StreamWriter(1, "stdout", lambda fd, s: printed.append(s))
    try:
        statements = rt.run_term("a = 1\na\n# note\nprint(a)\n", 4, ns, res)
    finally:
        sys.stdout = saved
    assert "".join(printed) == "1\n"
    # the comment line is an entry of its own, as typed into a console
    assert [s["line"] for s in statements] == [4, 5, 6, 7]
    assert [s["source"] for s in statements] == ["a = 1\n", "a\n", "# note\n", "print(a)\n"]
    outs = outputs()
    assert outs[0]["data"]["text/plain"] == "1"
    assert outs[0]["metadata"]["weft_statement"] == 1


def test_term_items():
    code = "# head\nx = 1\n\nif x:\n    # inside\n    y = 2\n# tail\n"
    src = rt.shifted_source(code, 10)
    items = rt.term_items(src, rt.parse(src))
    assert [(a, b, n is None) for a, b, n in items] == \
        [(10, 10, True), (11, 11, False), (13, 15, False), (16, 16, True)]


def test_dispatch():
    assert rt.dispatch({"op": "ping"}) == {"ok": True}
    bad = rt.dispatch({"op": "frobnicate"})
    assert bad["ok"] is False and "unknown op" in bad["error"]
    assert rt.dispatch({"op": "../x"})["ok"] is False
    assert rt.dispatch([1])["ok"] is False
    import types
    mod = types.ModuleType("weft_probe_ops")
    mod.op_echo = lambda req: {"got": req["v"]}
    mod.op_boom = lambda req: 1 / 0
    sys.modules["weft_probe_ops"] = mod
    try:
        assert rt.dispatch({"op": "echo", "v": 5}) == {"got": 5, "ok": True}
        err = rt.dispatch({"op": "boom"})
        assert err["ok"] is False and err["error"].startswith("ZeroDivisionError")
    finally:
        del sys.modules["weft_probe_ops"]


def test_inline():
    ns = rt._main_ns()
    ns["inline_v"] = 5
    assert rt.op_inline({"code": " inline_v * 2 ", "is_expr": True, "line": 3}) == \
        {"status": "ok", "text": "10"}
    r = rt.op_inline({"code": "inline_v / 0", "is_expr": True, "line": 9})
    assert r["status"] == "error" and r["error_line"] == 9
    assert r["error_message"].startswith("ZeroDivisionError")


def test_post_import_hook():
    seen = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "weft_hooked_mod.py"), "w") as f:
            f.write("VALUE = 7\n")
        sys.path.insert(0, tmp)
        finder = rt.PostImportFinder({"weft_hooked_mod": lambda m: seen.append(m.VALUE)})
        sys.meta_path.insert(0, finder)
        try:
            import importlib
            importlib.import_module("weft_hooked_mod")
        finally:
            sys.meta_path.remove(finder)
            sys.path.remove(tmp)
            sys.modules.pop("weft_hooked_mod", None)
    assert seen == [7]


def test_figure_bundle_size():
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rt.STATE.f_size, rt.STATE.dpi, rt.STATE.fig_format = (2, 1), 200, "png"
    rt._apply_mpl_rc()
    rt._patch_pyplot(plt)
    plt.plot([1, 2])
    plt.figure()
    print("between", file=rt.StreamWriter(1, "stdout", lambda fd, s: None))
    plt.show()  # patched: emits both figures, in figure-number order
    outs = outputs()
    assert len(outs) == 2 and plt.get_fignums() == []
    # cropped to what is drawn (bbox_inches="tight"); shown at CSS pixels
    # (100 per inch: half the pixels at 200 dpi), as Jupyter's retina figures
    png = base64.b64decode(outs[0]["data"]["image/png"])
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) != (400, 200)
    md = outs[0]["metadata"]["image/png"]
    assert (md["width"], md["height"]) == (width // 2, height // 2)
    assert outs[0]["data"]["text/plain"].startswith("<Figure size 400x200")
    # nothing drawn: text only, as IPython's inline backend shows it
    assert outs[1]["data"] == {"text/plain": "<Figure size 400x200 with 0 Axes>"}
    del SENT[:]
    fig = plt.figure()
    fig.add_subplot()
    data, _ = rt.figure_bundle(fig, "svg")
    assert data["image/svg+xml"].lstrip().startswith("<?xml")
    rt.STATE.fig = False
    rt.flush_figures()
    rt.STATE.fig = True
    assert outputs() == [] and plt.get_fignums() == []


for _name, _fn in list(globals().items()):
    if _name.startswith("test_") and callable(_fn):
        check(_name[5:], _fn)
tap.finish()
