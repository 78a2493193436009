"""Tests of weft_inputs: the inputs a tracked chunk reads besides files it opens
(listings, existence checks, environment, cwd), subprocesses, deletions.

Run with /usr/bin/python3 tests/py/test_inputs.py; prints ok/not ok lines.
"""

import json
import os
import posixpath
import shutil
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.realpath(os.path.join(HERE, "..", "..", "src", "engine", "py"))
sys.path.insert(0, PYDIR)
sys.path.insert(0, HERE)

from tap import test  # noqa: E402
import tap  # noqa: E402
import pathlib  # noqa: E402,F401  (imported before tracking, as in a worker that ran pathlib code)
import weft_inputs as wi  # noqa: E402
import weft_state as ws  # noqa: E402

TMP = os.path.realpath(tempfile.mkdtemp(prefix="weft-test-inputs-"))


def eq(got, want):
    assert got == want, f"got {got!r}, want {want!r}"


def run_chunk(code, reads=(), **names):
    """Run `code` tracked in a fresh namespace holding `names`; the record."""
    ns = {"__name__": "__main__", "__builtins__": __builtins__}
    ns.update(names)
    tok = ws.begin_tracking(ns, {"reads": list(reads)})
    try:
        exec(compile(textwrap.dedent(code), "<chunk>", "exec"), ns)
    finally:
        rec = ws.end_tracking(tok, ns)
    json.dumps(rec)
    return rec


def folder():
    d = tempfile.mkdtemp(dir=TMP)
    os.makedirs(os.path.join(d, "data"))
    for n in ("a.csv", "b.csv", "notes.txt"):
        with open(os.path.join(d, "data", n), "w") as f:
            f.write(n)
    return d


def of_type(rec, t):
    return [i for i in rec["inputs"] if i["t"] == t]


@test
def listings_from_listdir_scandir_glob_walk_pathlib():
    d = folder()
    rec = run_chunk("""
        import os, glob, pathlib
        a = sorted(os.listdir(d + '/data'))
        g = sorted(glob.glob(d + '/data/*.csv'))
        w = list(os.walk(d))
        p = sorted(pathlib.Path(d, 'data').iterdir())
        with os.scandir(d) as it:
            s = [e.name for e in it]
        """, d=d)
    lists = {i["p"]: i["h"] for i in of_type(rec, "list")}
    eq(set(lists), {d, d + "/data"})
    eq(lists[d + "/data"], wi.listing_digest(d + "/data"))
    before = lists[d + "/data"]
    open(os.path.join(d, "data", "c.csv"), "w").close()
    assert wi.listing_digest(d + "/data") != before
    os.remove(os.path.join(d, "data", "c.csv"))
    eq(wi.listing_digest(d + "/data"), before)
    assert wi.listing_digest(d + "/nope") != wi.listing_digest(d + "/data/a.csv")


@test
def listing_is_taken_when_listed_not_after():
    d = folder()
    rec = run_chunk("""
        import os
        names = os.listdir(d + '/data')
        open(d + '/data/summary.csv', 'w').write('x')
        """, d=d)
    (item,) = of_type(rec, "list")
    assert item["h"] != wi.listing_digest(d + "/data"), "the chunk's own file is not in what it saw"


@test
def existence_checks_and_optional_files():
    d = folder()
    rec = run_chunk("""
        import os, pathlib
        e1 = os.path.exists(d + '/data/a.csv')
        e2 = os.path.isfile(d + '/opt.csv')
        e3 = os.path.isdir(d + '/data')
        n = os.path.getsize(d + '/data/b.csv')
        st = os.stat(d + '/data/notes.txt')
        e4 = pathlib.Path(d, 'other.csv').exists()
        try:
            open(d + '/maybe.csv').read()
        except FileNotFoundError:
            pass
        """, d=d)
    got = {(i["p"][len(d) + 1:], i["lv"]): i for i in of_type(rec, "stat")}
    eq(got[("data/a.csv", "k")]["k"], "file")
    eq(got[("opt.csv", "k")]["k"], "missing")
    eq(got[("data", "k")]["k"], "dir")
    eq(got[("data/b.csv", "s")]["size"], 5)
    eq(got[("data/notes.txt", "m")]["size"], 9)
    assert got[("data/notes.txt", "m")]["mtime"] > 0
    eq(got[("other.csv", "k")]["k"], "missing")      # pathlib's exists: the kind only
    eq(got[("maybe.csv", "k")]["k"], "missing")
    # the inner os.stat of os.path.exists is not a whole-stat record of its own
    assert ("data/a.csv", "m") not in got


@test
def files_the_chunk_wrote_first_are_not_inputs():
    d = folder()
    rec = run_chunk("""
        import os
        open(d + '/out.txt', 'w').write('1')
        ok = os.path.exists(d + '/out.txt')
        """, d=d)
    eq(of_type(rec, "stat"), [])


@test
def environment_reads():
    os.environ["WEFT_TEST_SEEN"] = "later value"
    rec = run_chunk("""
        import os
        a = os.environ.get('HOME')
        b = os.getenv('WEFT_TEST_UNSET_VAR')
        c = 'WEFT_TEST_OTHER' in os.environ
        os.environ['WEFT_TEST_OWN'] = '1'
        d = os.environ['WEFT_TEST_OWN']
        e = os.environ.get('MPLBACKEND')
        """)
    env = {i["n"]: i["v"] for i in of_type(rec, "env")}
    eq(env["HOME"], os.fsdecode(wi._environ0()[b"HOME"]))
    eq(env["WEFT_TEST_UNSET_VAR"], None)
    eq(env["WEFT_TEST_OTHER"], None)
    assert "WEFT_TEST_OWN" not in env and "MPLBACKEND" not in env
    eq(type(os.environ).__name__, "_Environ")
    assert type(os.environ) is os._Environ, "the class is put back"
    rec = run_chunk("import os\nallenv = dict(os.environ)")
    eq(len(of_type(rec, "environ")), 1)
    # the value is weft's starting environment, not one set in the process since
    rec = run_chunk("import os\nv = os.environ['WEFT_TEST_SEEN']")
    eq(of_type(rec, "env"), [{"t": "env", "n": "WEFT_TEST_SEEN", "v": None}])
    del os.environ["WEFT_TEST_SEEN"]


@test
def working_directory():
    rec = run_chunk("import os\nhere = os.getcwd()")
    eq(of_type(rec, "cwd"), [{"t": "cwd", "p": os.getcwd()}])
    rec = run_chunk("import os\np = os.path.abspath('x.txt')")
    eq(len(of_type(rec, "cwd")), 1)
    # weft's own bookkeeping (abspath of a relative file name) records nothing
    cwd = os.getcwd()
    os.chdir(TMP)
    try:
        rec = run_chunk("open('rel.txt', 'w').write('1')")
    finally:
        os.chdir(cwd)
    eq(of_type(rec, "cwd"), [])


@test
def subprocesses():
    rec = run_chunk("""
        import subprocess, os
        out = subprocess.run(['cat', '/dev/null'], capture_output=True)
        rc = os.system('true')
        """)
    eq(rec["subprocesses"], ["cat /dev/null", "true"])
    eq(run_chunk("x = 1")["subprocesses"], [])


@test
def deletions_and_folders_in_order():
    d = folder()
    rec = run_chunk("""
        import os, shutil
        os.makedirs(d + '/tmp/deep', exist_ok=True)
        open(d + '/tmp/deep/f.txt', 'w').write('1')
        os.remove(d + '/data/a.csv')
        shutil.rmtree(d + '/tmp')
        open(d + '/x.tmp', 'w').write('1')
        os.rename(d + '/x.tmp', d + '/x.txt')
        os.rmdir(d + '/data') if False else None
        """, d=d)
    eq([[op, p[len(d) + 1:]] for op, p in rec["fs_ops"]],
       [["mkdir", "tmp"], ["mkdir", "tmp/deep"], ["rm", "data/a.csv"], ["rmtree", "tmp"], ["rm", "x.tmp"]])
    eq(rec["files_written"], [d + "/x.txt"])


@test
def content_before_the_chunk_changes_a_file_it_read():
    d = folder()
    for n in ("counter.txt", "upd.bin", "gone.txt", "log.txt", "fresh.txt"):
        with open(os.path.join(d, n), "w") as f:
            f.write("7")
    rec = run_chunk("""
        n = int(open(d + '/counter.txt').read())
        open(d + '/counter.txt', 'w').write(str(n + 1))
        with open(d + '/upd.bin', 'r+') as f:
            f.write('9')
        open(d + '/gone.txt').read()
        import os
        os.remove(d + '/gone.txt')
        open(d + '/log.txt', 'a').write('appended')
        open(d + '/fresh.txt', 'w').write('overwritten unread')
        """, d=d)
    got = {i["p"][len(d) + 1:]: i["h"] for i in of_type(rec, "content")}
    with open(os.path.join(d, "x7"), "w") as f:
        f.write("7")
    seven = wi._content_digest(os.path.join(d, "x7"))
    eq(got, {"counter.txt": seven, "upd.bin": seven, "gone.txt": seven})


@test
def subprocess_machine_queries_are_not_inputs():
    rec = run_chunk("import platform\nplatform._uname_cache = None\nplatform.processor()\n"
                    "import ctypes.util\nctypes.util.find_library('c')")
    eq(rec["subprocesses"], [])


@test
def memmap_writes_are_written_files():
    import numpy as np
    d = folder()
    path = os.path.join(d, "m.dat")
    mm = np.memmap(path, dtype="float64", mode="w+", shape=(4,))
    ro = np.memmap(path, dtype="float64", mode="r", shape=(4,))
    rec = run_chunk("mm[1] = 5.0\nv = ro[:2]", reads=["mm", "ro"], mm=mm, ro=ro)
    eq(rec["mutated"], ["mm", "ro"])       # ro maps the same file: its content changed too
    eq(rec["files_written"], [path])       # once: ro is read-only
    eq(np.fromfile(path)[1], 5.0)          # flushed
    rec = run_chunk("x = ro.sum()", reads=["ro"], ro=ro)
    eq(rec["files_written"], [])           # a read-only map writes nothing
    assert ws._unsaveable_reason(mm) is not None, "a memmap is replayed, not pickled as a plain array"


@test
def a_folder_the_chunk_made_is_its_own():
    d = folder()
    rec = run_chunk("""
        import os, tempfile
        with tempfile.TemporaryDirectory(dir=d) as t:
            open(os.path.join(t, 'x'), 'w').write('1')
            names = os.listdir(t)
            ok = os.path.isdir(os.path.join(t, 'sub'))
        os.makedirs(d + '/data', exist_ok=True)
        listed = os.listdir(d + '/data')
        """, d=d)
    # d: makedirs checks that the parent exists; data: it exists already, then listed
    eq(sorted({i["p"] for i in rec["inputs"] if i["t"] in ("list", "stat")}), [d, d + "/data"])


@test
def wrappers_removed_after_tracking():
    run_chunk("x = 1")
    assert os.stat is wi._ORIG_STAT and os.getcwd is wi._ORIG_GETCWD
    assert posixpath.exists.__module__ == "genericpath"
    assert wi._rec is None


if __name__ == "__main__":
    shutil.rmtree(TMP, ignore_errors=True)
    tap.finish()
