"""Tests of restoring from open descriptors (the "fds" of a request, engine.h):
weft_state.op_restore and op_rng_set, weft_settings.op_settings_apply read the
file they were given, never a path; a file renamed over the saved one after it
was opened is not what comes back. Also: the namespace scans of tracking
accept exactly the names is_user_name accepts.

Run with /usr/bin/python3 tests/py/test_state_fds.py; prints ok/not ok lines.
"""

import os
import pickle
import random
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
import weft_settings  # noqa: E402
import weft_state as ws  # noqa: E402

TMP = tempfile.mkdtemp(prefix="weft-test-fds-")


def eq(got, want):
    assert got == want, f"got {got!r}, want {want!r}"


def swap(path, data):
    """Rename a file holding `data` over `path` (what an attacker or a race would do)."""
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.rename(path + ".new", path)


def as_fd_item(item, fds):
    """A saved item as weft's parent sends it: its files as descriptors (indexes into fds)."""
    out = dict(item, pickle="0123456789abcdef0123456789abcdef")
    out["pickle_fd"] = len(fds)
    fds.append(os.open(item["pickle"], os.O_RDONLY))
    out["buffer_fds"] = []
    for p in item.get("buffers", ()):
        out["buffer_fds"].append(len(fds))
        fds.append(os.open(p, os.O_RDONLY))
    return out


@test
def restore_reads_the_descriptor_not_the_path():
    d = tempfile.mkdtemp(dir=TMP)
    import __main__
    main = __main__.__dict__
    main["_t_x"] = 41
    main["_t_a"] = np.arange(100_000.0)
    try:
        items = ws.op_save({"names": ["_t_x", "_t_a"], "dir": d, "fsync": False})["items"]
        fds = []
        sent = [as_fd_item(it, fds) for it in items]
        for it in items:             # replaced after "verification": the paths now lie
            swap(it["pickle"], pickle.dumps(1000))
            for p in it.get("buffers", ()):
                swap(p, b"\0" * 16)
        del main["_t_x"], main["_t_a"]
        r = ws.op_restore({"items": sent, "fds": fds})
        eq(r["errors"], {})
        eq(main["_t_x"], 41)
        assert np.array_equal(main["_t_a"], np.arange(100_000.0))
        for fd in fds:
            os.close(fd)
    finally:
        main.pop("_t_x", None)
        main.pop("_t_a", None)


@test
def restore_with_a_missing_descriptor_is_an_error_for_that_name():
    r = ws.op_restore({"items": [{"name": "_t_y", "kind": "pickle", "pickle": "00", "pickle_fd": 3}],
                       "fds": []})
    assert "_t_y" in r["errors"], r
    import __main__
    assert "_t_y" not in __main__.__dict__


@test
def rng_set_reads_the_descriptor():
    d = tempfile.mkdtemp(dir=TMP)
    random.seed(7)
    path = ws.op_rng_get({"dir": d, "fsync": False})["path"]
    want = random.random()
    fd = os.open(path, os.O_RDONLY)
    os.lseek(fd, 0, os.SEEK_END)      # the parent hashed it: its offset is at the end
    swap(path, pickle.dumps({"random": random.getstate()}))
    random.seed(99)
    ws.op_rng_set({"fds": [fd], "fd": 0})
    os.close(fd)
    eq(random.random(), want)


@test
def settings_apply_reads_the_descriptor():
    d = tempfile.mkdtemp(dir=TMP)
    key = "<setting:sys.recursionlimit>"
    old = sys.getrecursionlimit()
    try:
        path = os.path.join(d, "saved.setting")     # a saved value: its pickle
        with open(path, "wb") as f:
            f.write(pickle.dumps(1234))
        fd = os.open(path, os.O_RDONLY)
        sys.setrecursionlimit(2345)
        swap(path, pickle.dumps(3456))
        r = weft_settings.op_settings_apply({"items": [{"name": key, "fd": 0}], "fds": [fd]})
        os.close(fd)
        eq(r["errors"], {})
        eq(sys.getrecursionlimit(), 1234)
    finally:
        sys.setrecursionlimit(old)


@test
def known_user_names_agree_with_is_user_name():
    names = ["x", "_y", "__version__", "__builtins__", "_weft_z", "1bad", "__name__", "ok_2"]
    ns = {n: i for i, n in enumerate(names)}
    tok = ws.begin_tracking(ns, {"reads": []})
    ns["new"] = 1
    del ns["x"]
    rec = ws.end_tracking(tok, ns)
    eq(sorted(rec["bound"]) if "bound" in rec else None, ["new"])
    eq(sorted(k for k in ns if ws.is_user_name(k)), sorted(n for n in ns if n in ws._known_user_names()))
    ws.RUNTIME_NAMES.add("ok_2")      # the known set follows RUNTIME_NAMES
    try:
        assert not ws.is_user_name("ok_2")
        assert "ok_2" not in ws._known_user_names()
    finally:
        ws.RUNTIME_NAMES.discard("ok_2")


shutil.rmtree(TMP, ignore_errors=True)
tap.finish()
