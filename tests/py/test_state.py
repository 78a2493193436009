"""Tests of weft_state (run-time tracking, save/restore of names, RNG state).

Run with /usr/bin/python3 tests/py/test_state.py; prints ok/not ok lines.
Round trips save in one Python process and restore in another, as the cache
does across renders.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.realpath(os.path.join(HERE, "..", "..", "src", "engine", "py"))
sys.path.insert(0, PYDIR)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tap import test  # noqa: E402
import tap  # noqa: E402
import weft_state as ws  # noqa: E402

TMP = tempfile.mkdtemp(prefix="weft-test-state-")




def eq(got, want):
    assert got == want, f"got {got!r}, want {want!r}"


def run_chunk(ns, code, reads=(), **req):
    """Run `code` in namespace `ns` with tracking, like the runtime does."""
    req = dict(req, reads=reads if isinstance(reads, str) else list(reads))
    tok = ws.begin_tracking(ns, req)
    try:
        exec(compile(textwrap.dedent(code), "<chunk>", "exec"), ns)
    finally:
        rec = ws.end_tracking(tok, ns)
    json.dumps(rec)                 # replies must be JSON-able
    return rec


def fresh_ns():
    return {"__name__": "__main__", "__builtins__": __builtins__}


def python(code, cwd=None):
    """Run code in a new /usr/bin/python3 as __main__; return its stdout."""
    prelude = f"import sys; sys.path.insert(0, {PYDIR!r})\n"
    p = subprocess.run(["/usr/bin/python3", "-c", prelude + textwrap.dedent(code)],
                       capture_output=True, text=True, cwd=cwd or TMP, timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"child failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


# -- bound / deleted ----------------------------------------------------------------

@test
def bound_and_deleted():
    ns = fresh_ns()
    exec("same = 1\nlst = [1]\nw = 3\nkeep = 'k'", ns)
    rec = run_chunk(ns, "new = 1\nsame = 1\nlst = [1]\ndel w\n_weft_private = 1\n__dunder__ = 2")
    # lst: an equal but different object; __dunder__: a document's dunder is a
    # name like any other (issue 8 class 9), the interpreter's are not
    eq(rec["bound"], ["__dunder__", "lst", "new"])
    eq(rec["deleted"], ["w"])
    eq(rec["mutated"], [])


@test
def odd_namespace_keys_and_hook_robustness():
    ns = fresh_ns()
    rec = run_chunk(ns, "globals()[1] = 'x'\nglobals()['not a name'] = 2\nok = 1")
    eq(rec["bound"], ["ok"])
    # the audit hook never breaks opens it cannot interpret
    d = tempfile.mkdtemp(dir=TMP)
    ns["d"] = d
    rec = run_chunk(ns, """
        import os, pathlib
        fd = os.open(os.path.join(d, 'raw'), os.O_CREAT | os.O_WRONLY)
        f = open(fd, 'w')          # an fd, not a path
        f.write('x')
        f.close()
        pathlib.Path(d, 'p.txt').write_text('y')
        os.chdir(d)
        try:
            open('rel.txt', 'w').close()
            open(b'rel.txt').read()
        finally:
            os.chdir('/')
        """)
    j = lambda n: os.path.join(d, n)  # noqa: E731
    eq(rec["files_written"], [j("p.txt"), j("raw"), j("rel.txt")])
    eq(rec["files_read"], [])


@test
def function_attributes_are_state():
    ns = fresh_ns()
    exec("def f():\n    return 1\ng = f", ns)
    rec = run_chunk(ns, "f.attr = 1", reads=["f"])
    eq(rec["mutated"], ["f", "g"])           # a function's attributes are its state
    rec = run_chunk(ns, "def f():\n    return 2", reads=[])
    eq(rec["bound"], ["f"])


# -- mutation ------------------------------------------------------------------------

@test
def mutation_list_append():
    ns = fresh_ns()
    exec("lst = [1, 2]\nother = [1, 2]", ns)
    rec = run_chunk(ns, "lst.append(3)", reads=["lst", "other"])
    eq(rec["mutated"], ["lst"])
    eq(rec["bound"], [])
    rec = run_chunk(ns, "n = len(lst)", reads=["lst"])
    eq(rec["mutated"], [])


@test
def mutation_dataframe_column():
    ns = fresh_ns()
    ns["df"] = pd.DataFrame({"a": np.arange(5), "b": np.arange(5) * 2.0})
    rec = run_chunk(ns, "df['c'] = df.a * 2", reads=["df"])
    eq(rec["mutated"], ["df"])
    rec = run_chunk(ns, "s = df.describe()\nt = df['a'].sum()", reads=["df"])
    eq(rec["mutated"], [])
    eq(rec["bound"], ["s", "t"])
    rec = run_chunk(ns, "df.loc[2, 'b'] = -1.0", reads=["df"])
    eq(rec["mutated"], ["df"])


@test
def mutation_ndarray_inplace():
    ns = fresh_ns()
    ns["a"] = np.zeros((3, 4))
    ns["big"] = np.zeros(3_000_000)
    rec = run_chunk(ns, "a += 1", reads=["a"])
    eq(rec["mutated"], ["a"])
    eq(rec["bound"], [])                     # rebound to the same object
    rec = run_chunk(ns, "big[1_234_567] = 1e-300", reads=["big"])
    eq(rec["mutated"], ["big"])
    rec = run_chunk(ns, "v = a.T[1:, ::2]\nv *= 2", reads=["a"])
    eq(rec["mutated"], ["a"])
    rec = run_chunk(ns, "m = a.mean()", reads=["a", "big"])
    eq(rec["mutated"], [])


@test
def mutation_of_restored_mapped_array():
    """A restored array lives in a copy-on-write mapping of its blob: the
    mutation check reads the page table instead of hashing, and must still
    see every kind of in-place change."""
    d = tempfile.mkdtemp(dir=TMP)
    import __main__
    __main__.__dict__["_t_m"] = np.arange(3_000_000, dtype=np.float64)
    try:
        items = ws.op_save({"names": ["_t_m"], "dir": d, "fsync": False})["items"]
    finally:
        del __main__.__dict__["_t_m"]

    def restored():
        ns = fresh_ns()
        ws.restore_item(items[0], ns)
        return ns

    ns = restored()
    probe = ws.mutation_probe(ns["_t_m"])
    assert probe.startswith(b"map:"), probe[:20]          # no hash of the data
    eq(run_chunk(ns, "s = float(_t_m[::1000].sum())", reads=["_t_m"])["mutated"], [])
    eq(run_chunk(ns, "t = _t_m[10:20].copy()", reads=["_t_m"])["mutated"], [])
    # a view kept under a name links it to its base: saved with it, so written too
    eq(run_chunk(ns, "v = _t_m[10:20]", reads=["_t_m"])["shared"], ["_t_m"])
    del ns["v"]
    # a write anywhere in the buffer, through the name or through a view
    eq(run_chunk(ns, "_t_m[2_999_999] = -1.0", reads=["_t_m"])["mutated"], ["_t_m"])
    ns = restored()
    eq(run_chunk(ns, "w = _t_m[5:9]\nw[:] = 0", reads=["_t_m"])["mutated"], ["_t_m"])
    # a write that puts the same value back is still a write (conservative)
    ns = restored()
    eq(run_chunk(ns, "_t_m[7] = _t_m[7]", reads=["_t_m"])["mutated"], ["_t_m"])
    # once written, later chunks compare contents: an unchanged read is not a mutation
    eq(run_chunk(ns, "s = _t_m.sum()", reads=["_t_m"])["mutated"], [])
    eq(run_chunk(ns, "_t_m += 1", reads=["_t_m"])["mutated"], ["_t_m"])
    # metadata changes in place (same memory, new shape) are changes too
    ns = restored()
    eq(run_chunk(ns, "_t_m.shape = (1000, 3000)", reads=["_t_m"])["mutated"], ["_t_m"])
    # a view restored into another name still counts through its base mapping
    ns = restored()
    ns["_t_v"] = ns["_t_m"][100:200]
    assert ws.mutation_probe(ns["_t_v"]).startswith(b"map:")
    eq(run_chunk(ns, "_t_m[150] = 3.0", reads=["_t_v"])["mutated"], ["_t_m", "_t_v"])  # linked by the base
    # where the page table cannot be read (a locked-down /proc), contents are hashed
    saved = ws._written_pages
    ws._written_pages = lambda lo, hi, np: None
    try:
        ns = restored()
        eq(ws.mutation_probe(ns["_t_m"]), ws.fingerprint(ns["_t_m"]))
        eq(run_chunk(ns, "s = _t_m.sum()", reads=["_t_m"])["mutated"], [])
        eq(run_chunk(ns, "_t_m[3] = 0.5", reads=["_t_m"])["mutated"], ["_t_m"])
    finally:
        ws._written_pages = saved


@test
def bulk_fingerprint_parallel_and_stable():
    import hashlib
    a = np.random.default_rng(3).random(20_000_000)       # 160 MB: hashed in pieces
    mv = memoryview(a).cast("B")
    d = ws._bulk_digest(mv)
    pieces = b"".join(hashlib.sha256(mv[i:i + ws._PIECE]).digest()
                      for i in range(0, mv.nbytes, ws._PIECE))
    eq(d, hashlib.sha256(pieces).digest())
    fp = ws.fingerprint(a)
    a[-1] += 1.0
    assert ws.fingerprint(a) != fp
    a[-1] -= 1.0
    eq(ws.fingerprint(a), fp)


@test
def mutation_through_alias():
    ns = fresh_ns()
    exec("a = [1]\nb = a\nc = [1]", ns)
    rec = run_chunk(ns, "a.append(2)", reads=["a"])
    eq(rec["mutated"], ["a", "b"])           # b is the same object
    rec = run_chunk(ns, "b.append(3)", reads=["b"])
    eq(rec["mutated"], ["a", "b"])


@test
def mutation_through_function_of_another_chunk():
    ns = fresh_ns()
    exec("items = []\ndef add(v):\n    items.append(v)\n", ns)   # an earlier chunk
    # the planner passes the reads of the functions the chunk calls
    rec = run_chunk(ns, "add(3)", reads=["add", "items"])
    eq(rec["mutated"], ["items"])


@test
def mutation_of_nested_and_custom_objects():
    ns = fresh_ns()
    exec("class P:\n    def __init__(self):\n        self.v = {'k': [1]}\np = P()\n"
         "cfg = {'a': {'b': [1, 2]}}\ntup = (1, [2])", ns)
    rec = run_chunk(ns, "p.v['k'].append(2)\ncfg['a']['b'][0] = 5\ntup[1].append(3)",
                    reads=["p", "cfg", "tup"])
    eq(rec["mutated"], ["cfg", "p", "tup"])


@test
def unfingerprintable_counts_as_mutated():
    ns = fresh_ns()
    exec("gen = (i for i in range(10))", ns)
    rec = run_chunk(ns, "x = 1", reads=["gen"])
    eq(rec["mutated"], ["gen"])


@test
def fingerprint_everything_when_asked():
    ns = fresh_ns()
    exec("a = [1]\nb = {'x': 1}", ns)
    rec = run_chunk(ns, "exec('b[\"y\"] = 2')", reads="*")
    eq(rec["mutated"], ["b"])


@test
def unsaveable_in_record():
    ns = fresh_ns()
    rec = run_chunk(ns, "import sqlite3\ncon = sqlite3.connect(':memory:')\ncur = con.cursor()\n"
                        "g = (i for i in range(3))\nok = 1")
    eq(rec["unsaveable"], {"con": "sqlite3.Connection", "cur": "sqlite3.Cursor", "g": "generator"})


# -- files ------------------------------------------------------------------------

@test
def files_read_and_written():
    d = tempfile.mkdtemp(dir=TMP)
    inp = os.path.join(d, "in.txt")
    with open(inp, "w") as f:
        f.write("hello")
    ns = fresh_ns()
    ns["d"] = d
    rec = run_chunk(ns, """
        import os
        with open(os.path.join(d, 'in.txt')) as f:
            s = f.read()
        with open(os.path.join(d, 'out.txt'), 'w') as f:
            f.write(s)
        open(os.path.join(d, 'rw.txt'), 'w').write('1')
        open(os.path.join(d, 'rw.txt')).read()
        open(os.path.join(d, 'out.txt')).read()
        open(os.path.join(d, 'in.txt'), 'a').write('!')
        open(os.path.join(d, 'new_log.txt'), 'a').write('first line')
        fd = os.open(os.path.join(d, 'low.bin'), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.close(fd)
        import sqlite3
        sqlite3.connect(os.path.join(d, 'db.sqlite')).close()
        sqlite3.connect(':memory:').close()
        open(os.path.join(d, 'gone.txt'), 'w').close()
        os.remove(os.path.join(d, 'gone.txt'))
        import json, collections.abc
        """)
    j = lambda n: os.path.join(os.path.realpath(d), n)  # noqa: E731
    eq(rec["files_read"], [j("db.sqlite"), j("in.txt")])
    eq(rec["files_written"], sorted([j("in.txt"), j("out.txt"), j("rw.txt"), j("low.bin"),
                                     j("new_log.txt")]))
    # nothing is recorded outside tracking
    open(inp).read()
    assert ws._active is None


@test
def files_pandas_and_numpy():
    d = tempfile.mkdtemp(dir=TMP)
    pd.DataFrame({"a": [1, 2]}).to_csv(os.path.join(d, "t.csv"), index=False)
    np.save(os.path.join(d, "arr.npy"), np.arange(4))
    ns = fresh_ns()
    ns["d"] = d
    rec = run_chunk(ns, """
        import os, numpy, pandas
        df = pandas.read_csv(os.path.join(d, 't.csv'))
        arr = numpy.load(os.path.join(d, 'arr.npy'))
        numpy.save(os.path.join(d, 'out.npy'), arr * 2)
        df.to_csv(os.path.join(d, 'out.csv'))
        """)
    j = lambda n: os.path.join(os.path.realpath(d), n)  # noqa: E731
    eq(rec["files_read"], [j("arr.npy"), j("t.csv")])
    eq(rec["files_written"], [j("out.csv"), j("out.npy")])


@test
def files_ignore_cache_dir_and_imports():
    d = tempfile.mkdtemp(dir=TMP)
    cache = os.path.join(d, ".weft-cache")
    os.makedirs(cache)
    with open(os.path.join(d, "mymod_weft_test.py"), "w") as f:
        f.write("VALUE = 42\n")
    ns = fresh_ns()
    ns["d"] = d
    sys.path.insert(0, d)
    try:
        rec = run_chunk(ns, """
            import os, decimal, mymod_weft_test
            open(os.path.join(d, '.weft-cache', 'x'), 'w').write('1')
            v = mymod_weft_test.VALUE
            """, cache_dir=cache)
    finally:
        sys.path.remove(d)
    # stdlib imports are ignored; a local module is a real input
    eq(rec["files_read"], [os.path.join(os.path.realpath(d), "mymod_weft_test.py")])
    eq(rec["files_written"], [])


# -- save / restore -------------------------------------------------------------------

SAVE_SCRIPT = """
import json, sys
import numpy as np, pandas as pd
import weft_state as ws
k = 10
n = 7
d = {"a": [1, 2, {"b": 3.5}], "t": (1, "x")}
arr = np.arange(12, dtype=np.int32).reshape(3, 4)
farr = np.asfortranarray(np.random.default_rng(1).random((5, 3)))
big = np.linspace(0, 1, 8_000_000)          # 64 MB
df = pd.DataFrame({"x": np.arange(4), "y": ["p", "q", "r", "s"], "z": np.linspace(0, 1, 4)})
lam = lambda v: v * 2 + k
def add_k(v):
    return v + k
class Point:
    scale = 3
    def __init__(self, x):
        self.x = x
    def norm(self):
        return self.x * self.scale + k
pt = Point(4)
import sqlite3
con = sqlite3.connect(":memory:")
cur = con.cursor()
gen = (i for i in range(3))
box = {"g": (i for i in range(2))}
import os.path as osp
names = ["k", "n", "d", "arr", "farr", "big", "df", "lam", "add_k", "Point", "pt",
         "cur", "gen", "box", "np", "osp", "absent"]
out = ws.op_save({"names": names, "dir": sys.argv[1] if len(sys.argv) > 1 else DIR})
print(json.dumps(out))
"""


def _save_in_child(directory):
    out = python(f"DIR = {directory!r}\n" + SAVE_SCRIPT)
    return {it["name"]: it for it in json.loads(out)["items"]}


@test
def save_reply_shapes():
    d = tempfile.mkdtemp(dir=TMP)
    items = _save_in_child(d)
    eq(items["k"]["kind"], "pickle")
    eq(items["k"]["type"], "int")
    eq(items["big"]["type"], "numpy.ndarray")
    eq(len(items["big"]["buffers"]), 1)
    eq(os.path.getsize(items["big"]["buffers"][0]), 8_000_000 * 8)   # raw bytes
    assert os.path.getsize(items["big"]["pickle"]) < 1000
    eq(items["np"], {"name": "np", "kind": "module", "module": "numpy", "type": "module"})
    eq(items["osp"]["module"], "posixpath")
    eq(items["cur"]["unsaveable"], True)
    eq(items["cur"]["type"], "sqlite3.Cursor")
    eq(items["gen"]["type"], "generator")
    eq(items["gen"]["unsaveable"], True)
    eq(items["box"]["unsaveable"], True)           # found while pickling
    assert "generator" in items["box"]["reason"], items["box"]
    eq(items["absent"], {"name": "absent", "missing": True})
    paths = [items[n]["pickle"] for n in ("k", "d", "arr", "lam")]
    assert len(set(paths)) == 4 and all(os.path.dirname(p) == d for p in paths)
    # "<pid>-..." names let the store's gc remove files of dead workers
    assert all(os.path.basename(p).split("-")[0].isdigit() for p in paths), paths


@test
def save_without_fsync():
    d = tempfile.mkdtemp(dir=TMP)
    ns = {"a": np.arange(100_000.0), "b": {"k": [1, 2]}}
    import __main__
    for k, v in ns.items():
        __main__.__dict__["_t_" + k] = v
    try:
        r = ws.op_save({"names": ["_t_a", "_t_b"], "dir": d, "fsync": False})
        items = r["items"]
        eq([it["kind"] for it in items], ["pickle", "pickle"])
        del __main__.__dict__["_t_a"], __main__.__dict__["_t_b"]
        eq(ws.op_restore({"items": items})["errors"], {})
        eq(__main__.__dict__["_t_b"], {"k": [1, 2]})
        assert np.array_equal(__main__.__dict__["_t_a"], ns["a"])
    finally:
        __main__.__dict__.pop("_t_a", None)
        __main__.__dict__.pop("_t_b", None)


@test
def restore_round_trip_other_process():
    d = tempfile.mkdtemp(dir=TMP)
    items = _save_in_child(d)
    # the store moves files into blobs: restore must only use the given paths
    blobs = os.path.join(d, "blobs")
    os.makedirs(blobs)
    moved = []
    for n in ("n", "d", "arr", "farr", "big", "df", "lam", "add_k", "Point", "pt", "np", "osp"):
        it = dict(items[n])
        if it["kind"] == "pickle":
            np_ = os.path.join(blobs, n + ".pkl")
            os.rename(it["pickle"], np_)
            it["pickle"] = np_
            nb = []
            for i, b in enumerate(it["buffers"]):
                dst = os.path.join(blobs, f"{n}.{i}.buf")
                os.rename(b, dst)
                nb.append(dst)
            it["buffers"] = nb
        moved.append(it)
    out = python(f"""
        import json, mmap, sys
        import weft_state as ws
        k = 100            # this process's own value: restore must not touch it
        untouched = "u"
        r = ws.op_restore({{"items": {json.dumps(moved)}}})
        assert r["errors"] == {{}}, r
        import numpy as np
        res = {{}}
        res["k"] = k
        res["n"] = n
        res["d"] = d
        res["arr"] = arr.tolist()
        res["arr_dtype"] = str(arr.dtype)
        res["farr_ok"] = bool(np.array_equal(farr, np.random.default_rng(1).random((5, 3))))
        res["farr_f"] = bool(farr.flags.f_contiguous)
        res["big_ok"] = bool(big[0] == 0.0 and big[-1] == 1.0 and big.shape == (8_000_000,))
        base = big
        while getattr(base, "base", None) is not None:
            base = base.base
        if isinstance(base, memoryview):
            base = base.obj
        res["big_mmap"] = isinstance(base, mmap.mmap)
        big[0] = 5.0                      # copy-on-write: writable, file unchanged
        res["big_writable"] = bool(big[0] == 5.0)
        res["df"] = df.to_dict("list")
        res["df_dtypes"] = [str(t) for t in df.dtypes]
        res["lam"] = lam(1)               # reads this process's k
        res["add_k"] = add_k(1)
        res["pt_norm"] = pt.norm()
        res["pt_isinstance"] = isinstance(pt, Point)
        res["Point_new"] = Point(2).norm()
        res["np"] = np.__name__
        res["osp"] = osp.__name__
        res["untouched"] = untouched
        import builtins
        res["builtins_kept"] = __builtins__ is builtins
        print(json.dumps(res))
        """)
    res = json.loads(out)
    eq(res["k"], 100)
    eq(res["n"], 7)
    eq(res["d"], {"a": [1, 2, {"b": 3.5}], "t": [1, "x"]})
    eq(res["arr"], [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
    eq(res["arr_dtype"], "int32")
    assert res["farr_ok"] and res["farr_f"], res
    assert res["big_ok"] and res["big_mmap"] and res["big_writable"], res
    eq(res["df"], {"x": [0, 1, 2, 3], "y": ["p", "q", "r", "s"], "z": [0.0, 1 / 3, 2 / 3, 1.0]})
    eq(res["df_dtypes"], ["int64", "object", "float64"])
    eq(res["lam"], 102)
    eq(res["add_k"], 101)
    eq(res["pt_norm"], 112)
    eq(res["pt_isinstance"], True)
    eq(res["Point_new"], 106)
    eq(res["np"], "numpy")
    eq(res["osp"], "posixpath")
    eq(res["untouched"], "u")
    eq(res["builtins_kept"], True)
    # the blob on disk was not changed by the write through the mapping
    raw = np.fromfile(os.path.join(blobs, "big.0.buf"), dtype=np.float64, count=1)
    eq(float(raw[0]), 0.0)


def _store_like(item, blobs):
    """Move an item's files into a content-addressed folder, as the C store
    does (an equal blob already there: the new file is removed)."""
    import hashlib

    def put(path):
        with open(path, "rb") as f:
            h = hashlib.sha256(f.read()).hexdigest()
        dst = os.path.join(blobs, h)
        if os.path.exists(dst):
            os.unlink(path)
        else:
            os.rename(path, dst)
        return dst
    it = dict(item)
    if it.get("kind") == "pickle":
        it["pickle"] = put(it["pickle"])
        it["buffers"] = [put(b) for b in it["buffers"]]
    return it


@test
def aliases_saved_as_group():
    d = tempfile.mkdtemp(dir=TMP)
    blobs = os.path.join(d, "blobs")
    os.makedirs(blobs)
    out = python(f"""
        import json
        import numpy as np
        import weft_state as ws
        x = [1]
        y = x
        a = np.zeros(200_000)
        b = a
        i = 5
        j = 5
        r = ws.op_save({{"names": ["x", "y", "a", "b", "i", "j"], "dir": {d!r}}})
        print(json.dumps(r["items"]))
        """)
    items = {it["name"]: it for it in json.loads(out)}
    eq(items["x"]["group"], ["x", "y"])
    eq(items["y"]["group"], ["x", "y"])
    eq(items["b"]["group"], ["a", "b"])
    assert "group" not in items["i"] and "group" not in items["j"]
    assert items["x"]["pickle"] != items["y"]["pickle"]   # the store owns each file
    stored = {n: _store_like(it, blobs) for n, it in items.items()}
    eq(stored["x"]["pickle"], stored["y"]["pickle"])      # one blob
    out = python(f"""
        import json
        import weft_state as ws
        items = {json.dumps(stored)}
        ws.op_restore({{"items": [items["x"], items["a"]]}})
        ns = globals()
        tok = ws.begin_tracking(ns, {{"reads": ["x", "a"]}})
        x.append(2)                    # a chunk runs and mutates x (y not restored yet)
        a[0] = 7.0
        rec = ws.end_tracking(tok, ns)
        assert rec["mutated"] == ["a", "x"], rec
        assert rec["mutated_aliases"] == {{"a": ["b"], "x": ["y"]}}, rec
        ws.op_restore({{"items": [items["y"], items["b"]]}})
        res = [list(y), y is x, float(b[0]), b is a]
        y.append(3)
        res.append(list(x))
        ws.op_restore({{"items": [items["x"]]}})   # x asked for again: a fresh copy
        res += [x, x is y]
        print(json.dumps(res))
        """)
    eq(json.loads(out), [[1, 2], True, 7.0, True, [1, 2, 3], [1], False])


@test
def restore_errors_are_per_item():
    d = tempfile.mkdtemp(dir=TMP)
    ns = {"good": [1, 2]}
    item = ws.save_name("good", d, ns)
    bad = {"name": "bad", "kind": "pickle", "pickle": os.path.join(d, "nope"), "buffers": []}
    import __main__
    saved = __main__.__dict__.pop("good", None)
    try:
        r = ws.op_restore({"items": [bad, item]})
        eq(r["restored"], ["good"])
        assert "bad" in r["errors"]
        eq(__main__.__dict__["good"], [1, 2])
        assert "bad" not in __main__.__dict__
    finally:
        __main__.__dict__.pop("good", None)
        if saved is not None:
            __main__.good = saved


# -- random numbers -----------------------------------------------------------------------

@test
def rng_continues_after_restore():
    d = tempfile.mkdtemp(dir=TMP)
    out = python(f"""
        import json, random
        import numpy as np
        import weft_state as ws
        random.seed(5); np.random.seed(7)
        # chunk 1 runs
        a = [random.random() for _ in range(3)] + list(np.random.rand(3))
        saved = ws.op_rng_get({{"dir": {d!r}}})
        # chunk 2 runs: what a fresh render sees next
        nxt = [random.random(), float(np.random.rand()), random.randint(0, 10**9)]
        print(json.dumps({{"path": saved["path"], "next": nxt, "numpy": saved["numpy"]}}))
        """)
    first = json.loads(out)
    assert first["numpy"] is True
    # another render: chunk 1 is a cache hit, so only its RNG state is set
    out = python(f"""
        import json, random
        import numpy as np
        import weft_state as ws
        random.seed(999); np.random.seed(999)
        ws.op_rng_set({{"path": {first["path"]!r}}})
        nxt = [random.random(), float(np.random.rand()), random.randint(0, 10**9)]
        print(json.dumps(nxt))
        """)
    eq(json.loads(out), first["next"])


@test
def rng_without_numpy():
    d = tempfile.mkdtemp(dir=TMP)
    out = python(f"""
        import json, random, sys
        import weft_state as ws
        random.seed(1)
        r = ws.op_rng_get({{"dir": {d!r}}})
        x = random.random()
        random.seed(2)
        ws.op_rng_set(r)
        print(json.dumps([r["numpy"], x == random.random(), "numpy" in sys.modules]))
        """)
    eq(json.loads(out), [False, True, False])


@test
def rng_flag_in_record():
    import random
    ns = fresh_ns()
    rec = run_chunk(ns, "import random\nx = random.random()")
    eq(rec["rng"], True)
    rec = run_chunk(ns, "y = 2")
    eq(rec["rng"], False)
    rec = run_chunk(ns, "import numpy\nz = numpy.random.rand()")
    eq(rec["rng"], True)
    rec = run_chunk(ns, "numpy.random.seed(3)")
    eq(rec["rng"], True)
    rec = run_chunk(ns, "w = numpy.arange(3).sum()")
    eq(rec["rng"], False)
    random.random()


@test
def rng_flag_when_first_imported():
    # a chunk that imports numpy and seeds it writes the generator state
    out = python("""
        import sys, json
        import weft_state as ws
        ns = {"__name__": "__main__"}
        tok = ws.begin_tracking(ns, {})
        exec("import numpy as np\\nnp.random.seed(0)", ns)
        rec = ws.end_tracking(tok, ns)
        print(json.dumps([rec["rng"], "numpy" in sys.modules]))
        """)
    eq(json.loads(out), [True, True])


# -- namespace queries ------------------------------------------------------------------

@test
def names_and_fingerprints():
    import __main__
    __main__.__dict__["_weft_internal"] = 1
    __main__.__dict__["weft_test_arr"] = np.arange(3)
    try:
        names = ws.op_names({})["names"]
        eq(names["weft_test_arr"], "numpy.ndarray")
        eq(names["np"], "module")
        assert "_weft_internal" not in names and "__name__" not in names
        fp1 = ws.op_fingerprint({"names": ["weft_test_arr"]})["fingerprints"]["weft_test_arr"]
        __main__.weft_test_arr[0] = 9
        fp2 = ws.op_fingerprint({"names": ["weft_test_arr"]})["fingerprints"]["weft_test_arr"]
        assert fp1 != fp2 and len(fp1) == 64
    finally:
        del __main__.__dict__["_weft_internal"], __main__.__dict__["weft_test_arr"]


@test
def value_digests_compare_across_processes():
    """What the planner mixes into a cache=False chunk's state: equal values give
    equal digests in another interpreter (immutable ones too, and functions of
    the document's), other values other digests; other code says "code", a
    connection has none."""
    code = textwrap.dedent("""
        import json, sqlite3, sys
        import numpy as np, pandas as pd
        import weft_state as ws
        vals = {"i": 3, "s": "abc", "t": (1, "x"), "l": [1, {"a": 2.5}], "a": np.arange(4),
                "df": pd.DataFrame({"c": [1, 2]}), "f": len, "m": sys,
                "con": sqlite3.connect(":memory:")}
        import __main__
        exec("def later(x, t=5):\\n    return x + t", __main__.__dict__)
        vals["later"] = __main__.later
        out = {}
        for k, v in vals.items():
            d = ws.value_digest(v)
            out[k] = d if d is None or isinstance(d, str) else d.hex()
        print(json.dumps(out))
        """)
    digests = []
    for _ in range(2):
        digests.append(json.loads(python(code)))
    a, b = digests
    for k in ("i", "s", "t", "l", "a", "df", "later"):     # a function of the document's: by value
        assert a[k] and a[k] == b[k] and len(a[k]) == 64, (k, a[k], b[k])
    eq((a["f"], a["m"]), ("code", "code"))
    eq(a["con"], None)
    assert len({a[k] for k in ("i", "s", "t", "l", "a", "df", "later")}) == 7
    eq(ws.value_digest(3) == ws.value_digest(4), False)
    eq(ws.value_digest(1) == ws.value_digest(1.0), False)   # an equal value of another type
    eq(ws.value_digest([1, 2]) == ws.value_digest([1, 3]), False)


# -- reachability and code state (weft_reach) ----------------------------------------------

@test
def linked_names_by_reachability():
    ns = fresh_ns()
    exec("outer = [[0], [1]]\nlog = []\nother = [5]", ns)
    rec = run_chunk(ns, "inner = outer[0]\nadd = log.append", reads=["outer", "log"])
    eq(rec["bound"], ["add", "inner"])
    eq(rec["shared"], ["log", "outer"])           # they share objects with new names now
    rec = run_chunk(ns, "inner.append(1)\nadd(2)", reads=["inner", "add"])
    eq(rec["mutated"], ["add", "inner", "log", "outer"])
    rec = run_chunk(ns, "other.append(1)", reads=["other"])
    eq(rec["mutated"], ["other"])                 # nothing linked to it


@test
def code_state_fingerprinted():
    ns = fresh_ns()
    exec("import functools\nclass C:\n    reg = []\nc = C()\n"
         "def f(x, acc=[]):\n    acc.append(x)\n"
         "def mk():\n    n = [0]\n    def inc():\n        n[0] += 1\n    return inc\ninc = mk()\n"
         "@functools.lru_cache\ndef sq(x):\n    return x * x", ns)
    eq(run_chunk(ns, "C.reg.append(1)", reads=["C"])["mutated"], ["C", "c"])
    eq(run_chunk(ns, "C.x = 2", reads=["C"])["mutated"], ["C", "c"])
    eq(run_chunk(ns, "y = C.reg[0]", reads=["C"])["mutated"], [])
    eq(run_chunk(ns, "f(1)", reads=["f"])["mutated"], ["f"])
    eq(run_chunk(ns, "inc()", reads=["inc"])["mutated"], ["inc"])
    eq(run_chunk(ns, "sq(3)", reads=["sq"])["mutated"], ["sq"])
    eq(run_chunk(ns, "sq(3)", reads=["sq"])["mutated"], [])      # a hit is no change
    import json as mod
    ns["mod"] = mod
    eq(run_chunk(ns, "mod._weft_private = 1", reads=["mod"])["mutated"], [])   # a library's own
    eq(run_chunk(ns, "mod.weft_test_attr = 1", reads=["mod"])["mutated"], ["mod"])
    del mod.weft_test_attr, mod._weft_private
    item = ws.save_name("mod", TMP, ns)
    assert item.get("unsaveable") and "changed in place" in item["reason"], item
    item = ws.save_name("sq", TMP, ns)
    assert item.get("unsaveable") and "lru_cache" in item["reason"], item


@test
def local_module_state_is_a_pseudo_name():
    d = tempfile.mkdtemp(dir=TMP)
    with open(os.path.join(d, "alias_t_helper.py"), "w") as f:
        f.write("calls = []\ndef record(x):\n    calls.append(x)\n")
    sys.path.insert(0, d)
    try:
        ns = fresh_ns()
        exec("from alias_t_helper import record, calls", ns)
        rec = run_chunk(ns, "record(1)", reads=["record"])
        eq(rec["mutated"], ["<module alias_t_helper>", "calls", "record"])
        eq(run_chunk(ns, "n = len(calls)", reads=["calls"])["mutated"], [])
        item = ws.save_name("<module alias_t_helper>", TMP, ns)
        assert item.get("unsaveable"), item
        item = ws.save_name("calls", TMP, ns)            # a copy would split it from the module
        assert item.get("unsaveable") and "alias_t_helper" in item["reason"], item
    finally:
        sys.path.remove(d)
        sys.modules.pop("alias_t_helper", None)


@test
def walks_do_not_keep_deleted_objects_alive():
    import weakref
    ns = fresh_ns()
    exec("class Res:\n    pass\nr = Res()\nr.items = [1]\nkeep = [2]", ns)
    run_chunk(ns, "x = r.items", reads=["r"])          # walks r, x, keep (kept for later chunks)
    ref = weakref.ref(ns["r"])
    run_chunk(ns, "del r, x", reads=[])                 # reads nothing, binds nothing
    assert ref() is None, "a deleted object outlived its chunk"


@test
def linked_group_keeps_views_and_sharing():
    d = tempfile.mkdtemp(dir=TMP)
    blobs = os.path.join(d, "blobs")
    os.makedirs(blobs)
    out = python(f"""
        import json
        import numpy as np
        import weft_state as ws
        arr = np.zeros(100_000)
        v = arr[10:20:2]
        outer = [[0]]
        inner = outer[0]
        r = ws.op_save({{"names": ["arr", "v", "outer", "inner"], "dir": {d!r}}})
        print(json.dumps(r["items"]))
        """)
    items = {it["name"]: it for it in json.loads(out)}
    eq(items["v"]["group"], ["arr", "v"])
    eq(items["inner"]["group"], ["inner", "outer"])
    stored = {n: _store_like(it, blobs) for n, it in items.items()}
    out = python(f"""
        import json
        import weft_state as ws
        items = json.loads({json.dumps(json.dumps(stored))})
        ws.op_restore({{"items": [items["v"], items["arr"], items["inner"], items["outer"]]}})
        v += 1
        inner.append(1)
        print(json.dumps([float(arr[10]), float(arr[12]), float(arr[11]), outer, v.base is not None]))
        """)
    eq(json.loads(out), [1.0, 1.0, 0.0, [[0, 1]], True])


if __name__ == "__main__":
    shutil.rmtree(TMP, ignore_errors=True)
    tap.finish()

