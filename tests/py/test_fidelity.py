"""Tests of weft_fidelity and its use by weft_state (issue 8 classes 9 and 10):
weft's pickling never runs the document's code, refuses what a restore would
not give back faithfully, and the namespace order bookkeeping.

Run with /usr/bin/python3 tests/py/test_fidelity.py; prints ok/not ok lines.
"""

import io
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.realpath(os.path.join(HERE, "..", "..", "src", "engine", "py"))
sys.path.insert(0, PYDIR)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from tap import test  # noqa: E402
import tap  # noqa: E402
import weft_fidelity as wf  # noqa: E402
import weft_state as ws  # noqa: E402

TMP = tempfile.mkdtemp(prefix="weft-test-fidelity-")
DOC = os.path.join(TMP, "doc.mdw")
sys.argv = [DOC]          # the runtime's DOC_PATH: code compiled with it is the document's


def eq(got, want):
    assert got == want, f"got {got!r}, want {want!r}"


def chunk(code, ns=None):
    """Run code as a chunk of the document would (compiled with DOC) in `ns`."""
    ns = {} if ns is None else ns
    ns.setdefault("__name__", "__main__")
    exec(compile(code, DOC, "exec"), ns)
    return ns


def dump(obj, strict=True):
    """Pickle like a save; returns None or the Unfaithful message."""
    try:
        ws._dump(obj, sys.modules["__main__"].__dict__, strict=strict)
        return None
    except wf.Unfaithful as e:
        return str(e)


def main_chunk(code):
    """Run code in the real __main__ (classes must be __main__'s, as in the worker)."""
    return chunk(code, sys.modules["__main__"].__dict__)


# ---- document code never runs ------------------------------------------------

@test
def reduce_of_the_document_is_refused_without_running():
    ns = main_chunk("fz_calls = []\nclass FzR:\n    def __reduce__(self):\n        fz_calls.append(1)\n"
                    "        print('reduce')\n        return (FzR, ())\nfz_r = FzR()")
    out = io.StringIO()
    old = sys.stdout
    sys.stdout = out
    try:
        msg = dump([1, {"k": ns["fz_r"]}])
        fp = ws.fingerprint(ns["fz_r"])
        ns["fz_r"].state = [1]
        fp2 = ws.fingerprint(ns["fz_r"])
        fp3 = ws.fingerprint(ns["fz_r"])
        item = ws.save_name("fz_r", TMP, ns)
    finally:
        sys.stdout = old
    assert msg and "FzR.__reduce__" in msg, msg
    assert fp is not None and fp != fp2 and fp2 == fp3, (fp, fp2, fp3)   # its raw state, not its reduce
    dq = main_chunk("import collections\nclass FzQ(collections.deque):\n    def __reduce__(self):\n"
                    "        fz_calls.append(2)\n        return (FzQ, (list(self),))\nfz_q = FzQ([1])")["fz_q"]
    eq(ws.fingerprint(dq), None)            # its content is not in __dict__: no fingerprint, never its reduce
    eq(ns["fz_calls"], [])
    assert item.get("unsaveable") and "FzR.__reduce__" in item["reason"], item
    eq(ns["fz_calls"], [])
    eq(out.getvalue(), "")


@test
def getstate_setstate_hash_and_container_methods_are_refused():
    ns = main_chunk(
        "class FzG:\n    def __getstate__(self):\n        return {}\n"
        "class FzS:\n    def __setstate__(self, s):\n        pass\n"
        "class FzH:\n    def __hash__(self):\n        return 1\n"
        "class FzL(list):\n    def append(self, x):\n        list.append(self, x)\n"
        "class FzA:\n    def __getattr__(self, n):\n        raise AttributeError(n)\n"
        "class FzE(Exception):\n    def __init__(self, m):\n        self.seen = 1\n        super().__init__(m)\n")
    for name, want in (("FzG", "__getstate__"), ("FzS", "__setstate__"), ("FzH", "__hash__"),
                       ("FzA", "__getattr__")):
        msg = dump({"x": [ns[name]()]})
        assert msg and f"{name}.{want}" in msg, (name, msg)
    msg = dump(ns["FzL"]([1]))
    assert msg and "FzL.append" in msg, msg
    msg = dump(ns["FzE"]("m"))
    assert msg and "FzE.__init__" in msg, msg


@test
def class_rebuilt_by_value_with_init_subclass_or_metaclass_is_refused():
    ns = main_chunk(
        "class FzBase:\n    reg = []\n    def __init_subclass__(cls, **kw):\n        FzBase.reg.append(cls)\n"
        "class FzSub(FzBase):\n    pass\n"
        "class FzMeta(type):\n    def __new__(m, n, b, d):\n        return super().__new__(m, n, b, d)\n"
        "class FzWithMeta(metaclass=FzMeta):\n    pass\n")
    msg = dump(ns["FzSub"])
    assert msg and "FzBase.__init_subclass__" in msg, msg
    msg = dump(ns["FzWithMeta"])
    assert msg and "FzMeta.__new__" in msg, msg
    eq(ns["FzBase"].reg, [ns["FzSub"]])


@test
def plain_and_library_objects_still_pickle():
    import collections
    import dataclasses
    import fractions
    import pandas as pd
    ns = main_chunk("class FzP:\n    def __init__(self):\n        self.a = [1]\n    def __eq__(self, o):\n"
                    "        return True\nfz_p = FzP()\nfz_f = lambda x: x + 1\n")

    @dataclasses.dataclass(frozen=True)
    class Frozen:           # generated __hash__ / __eq__ (file "<string>"): not the document's
        a: int
    for obj in (ns["fz_p"], ns["fz_f"], fractions.Fraction(1, 3), collections.Counter("aab"),
                collections.OrderedDict(a=1), np.arange(5), pd.DataFrame({"a": [1, 2]}),
                {1, 2, 3}, frozenset({4, 5}), ValueError("plain")):
        eq(dump(obj), None)
    assert ws.fingerprint(ns["fz_p"]) is not None
    assert not wf.is_document_code(Frozen.__hash__)


# ---- faithful restores only ----------------------------------------------------

@test
def exception_with_traceback_or_cause_refused_when_saving_only():
    try:
        {}["k"]
    except KeyError as e:
        err = e
    msg = dump([err])
    assert msg and "traceback" in msg, msg
    assert ws.fingerprint(err) is not None          # fingerprints need no fidelity
    chained = ValueError("v")
    chained.__cause__ = KeyError("k")
    assert dump(chained)
    eq(dump(ValueError("no traceback")), None)


@test
def set_whose_order_a_rebuild_changes_is_refused():
    s = set(range(50))
    for i in range(50):
        if i not in (5, 40):
            s.discard(i)
    assert list(s) != list(set(list(s)))            # the premise: a rebuild reorders it
    msg = dump({"nested": [s]})
    assert msg and "iteration order" in msg, msg
    import pandas as pd
    col = np.empty(2, dtype=object)
    col[0], col[1] = s, 1
    for holder in (col, pd.DataFrame({"tags": [s, {1}]}), pd.Series([s]), [np.arange(3), [s]]):
        msg = dump(holder)                          # sets the GC does not see (object arrays)
        assert msg and "iteration order" in msg, (type(holder), msg)
    eq(dump(pd.DataFrame({"tags": [{1}, {2}]})), None)
    fs = frozenset(range(100)) - frozenset(range(2, 99))
    eq(dump(fs), None)                              # built from its elements: order kept
    eq(dump({64, 1}), None)

    class Sub(set):
        pass
    t = Sub(range(50))
    for i in range(48):
        t.discard(i)
    if list(t) != list(set(list(t))):
        assert dump(t)


@test
def read_only_arrays_come_back_read_only():
    d = tempfile.mkdtemp(dir=TMP)
    ns = {"small": np.arange(4.0), "big": np.arange(100000.0), "rw": np.arange(100000.0)}
    ns["small"].flags.writeable = False
    ns["big"].flags.writeable = False
    items = {n: ws.save_name(n, d, ns) for n in ns}
    out = {}
    for n, it in items.items():
        ws.restore_item(it, out)
    eq([out[n].flags.writeable for n in ("small", "big", "rw")], [False, False, True])
    eq(float(out["big"].sum()), float(ns["big"].sum()))
    a = np.arange(10.0)
    a.flags.writeable = False
    for view in (a[::2], np.broadcast_to(np.arange(3.0), (4, 3))):
        msg = dump({"v": view})
        assert msg and "read-only array" in msg, msg
    eq(dump(a[::2].copy()), None)


# ---- quiet -------------------------------------------------------------------------

@test
def quiet_discards_and_restores_the_streams():
    out, err = sys.stdout, sys.stderr
    try:
        with wf.quiet():
            print("lost")
            sys.stderr.write("lost too")
            raise KeyError("x")
    except KeyError:
        pass
    assert sys.stdout is out and sys.stderr is err


# ---- namespace: dunders and order --------------------------------------------------

@test
def document_dunders_are_user_names_the_interpreters_are_not():
    for n in ("__version__", "__all__", "__author__", "__doc__", "__annotations__"):
        assert ws.is_user_name(n), n
    for n in ("__builtins__", "__name__", "__spec__", "__loader__", "__package__", "__file__"):
        assert not ws.is_user_name(n), n


@test
def tracking_reports_dunders_and_the_inserted_tail():
    ns = {"__name__": "__main__", "__builtins__": __builtins__, "__doc__": None, "a": 1, "b": [1]}
    tok = ws.begin_tracking(ns, {"reads": []})
    chunk("'''Doc.'''\n__version__ = '1.0'\nz = 2\ndel a\na = 3", ns)
    rec = ws.end_tracking(tok, ns)
    for n in ("__doc__", "__version__", "z", "a"):
        assert n in rec["bound"], (n, rec)
    eq(rec["ns_tail"], ["__version__", "z", "a"])
    assert "__name__" not in rec["bound"] and "__builtins__" not in rec["bound"]


@test
def annotations_mutated_by_an_annotated_assignment_are_seen():
    ns = chunk("x: int = 1")
    tok = ws.begin_tracking(ns, {"reads": []})
    chunk("y: str = 'a'", ns)
    rec = ws.end_tracking(tok, ns)
    assert "__annotations__" in rec["mutated"], rec


@test
def ns_tail_cases():
    eq(wf.ns_tail(["a", "b", "c"], ["a", "b", "c"]), [])
    eq(wf.ns_tail(["a", "b"], ["a", "b", "x", "y"]), ["x", "y"])
    eq(wf.ns_tail(["a", "b", "c"], ["a", "c", "b"]), ["b"])          # b deleted and rebound
    eq(wf.ns_tail(["b", "a"], ["a", "b"]), ["b"])
    eq(wf.ns_tail(["a", "b"], ["b"]), [])                            # a deleted: not a tail


@test
def op_ns_order_moves_names_to_the_end_in_order():
    main = sys.modules["__main__"].__dict__
    main.update(fz_o1=1, fz_o2=2, fz_o3=3)
    wf.op_ns_order({"names": ["fz_o3", "fz_o1", "fz_missing"]})
    keys = [k for k in main if k.startswith("fz_o")]
    eq(keys, ["fz_o2", "fz_o3", "fz_o1"])


@test
def analysis_flags_namespace_listings_as_dynamic():
    import weft_analysis as wa
    codes = {"print(dir())": True, "print(dir(x))": False, "print(vars())": True, "print(vars(x))": False,
             "import sys\nm = sys.modules['__main__']": True, "import sys\nprint(sys.version)": False,
             "print(len(globals()))": True, "def f():\n    return locals()": True}
    got = wa.op_analyze({"chunks": [{"code": c, "line": 1} for c in codes]})["chunks"]
    for (code, want), rec in zip(codes.items(), got):
        assert rec["dynamic"] is want, (code, rec["dynamic"])


shutil.rmtree(TMP, ignore_errors=True)
tap.finish()
