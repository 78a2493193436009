"""Tests of weft_pweave (Pweave's chunk option defaults as a document's code sets
them: the report, the process setting, the stand-in module).

Run with /usr/bin/python3 tests/py/test_pweave.py; prints ok/not ok lines. Each
test runs in a new Python process: `pweave` in sys.modules is process-wide.
"""

import json
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.realpath(os.path.join(HERE, "..", "..", "src", "engine", "py"))
sys.path.insert(0, HERE)

from tap import test  # noqa: E402
import tap  # noqa: E402

PRELUDE = f"""
import json, sys
sys.path.insert(0, {PYDIR!r})
import weft_pweave as W
def out(v):
    print("RESULT " + json.dumps(v))
def standin():
    import importlib.util
    mod = importlib.util.module_from_spec(W.stand_in_spec("pweave"))
    W.stand_in_spec("pweave").loader.exec_module(mod)
    sys.modules["pweave"] = mod
    return mod
"""


def py(code):
    """Run code (after PRELUDE) in a new process; the value it passed to out()."""
    p = subprocess.run(["/usr/bin/python3", "-c", PRELUDE + textwrap.dedent(code)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, p.stdout + p.stderr
    return json.loads(lines[-1][7:])


def eq(got, want):
    assert got == want, f"got {got!r}, want {want!r}"


@test
def nothing_reported_while_pweave_is_not_imported():
    eq(py("out(W.current())"), None)


@test
def stand_in_holds_pweaves_defaults():
    eq(py("""
        m = standin()
        d = m.rcParams["chunk"]["defaultoptions"]
        out([m.__weft_stand_in__, d["echo"], list(d["f_size"]), W.current()])
    """), [True, True, [6, 4], {}])


@test
def current_reports_changed_defaults_as_json():
    eq(py("""
        m = standin()
        m.rcParams["chunk"]["defaultoptions"].update({"echo": False, "f_size": (3, 2.5), "results": "verbatim",
                                                     "new": [1, "a"], "odd": len, "big": 2**70})
        out(W.current())
    """), {"echo": False, "f_size": [3, 2.5], "new": [1, "a"], "odd": {"repr": "<built-in function len>"},
           "big": {"repr": str(2**70)}})


@test
def setting_snapshot_apply_reset_keep_the_dict():
    eq(py("""
        m = standin()
        d = m.rcParams["chunk"]["defaultoptions"]
        d["echo"] = False
        snap = W.snapshot()
        W.reset()
        after_reset = W.current()
        W.apply(snap)
        out([after_reset, W.current(), m.rcParams["chunk"]["defaultoptions"] is d])
    """), [{}, {"echo": False}, True])


@test
def registered_with_weft_settings():
    eq(py("""
        import weft_settings as S
        key = S.pseudo("pweave.chunk_defaults")
        before = S.snapshot_all()
        m = standin()
        m.rcParams["chunk"]["defaultoptions"]["echo"] = False
        changed = S.changes(before)
        out([key in S._REGISTRY, key in changed, changed.get(key) is not None])
    """), [True, True, True])


tap.finish()
