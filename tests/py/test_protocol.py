"""The protocol's Python side (weft_protocol.py, generated from
src/engine/protocol_schema.h at build time) against the runtime: every op in
the schema has a handler, every handler is in the schema, and the dispatcher
refuses a request or reply that breaks it.

Run with /usr/bin/python3 after `make` (it reads $WEFT_BUILD/gen/py).
"""
import glob
import importlib.util
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
PY = os.path.join(TOP, "src", "engine", "py")
sys.path.insert(0, PY)
sys.path.insert(0, HERE)

import tap  # noqa: E402
import weft_runtime as rt  # noqa: E402
import weft_namespace  # noqa: E402

GEN = os.path.join(TOP, os.environ.get("WEFT_BUILD", "build"), "gen", "py", "weft_protocol.py")
spec = importlib.util.spec_from_file_location("weft_protocol", GEN)
proto = importlib.util.module_from_spec(spec)
spec.loader.exec_module(proto)

HANDLERS = {}
for path in sorted(glob.glob(os.path.join(PY, "weft_*.py"))):
    with open(path) as f:
        for m in re.finditer(r"^def op_(\w+)\(", f.read(), re.M):
            HANDLERS[m.group(1)] = os.path.basename(path)


@tap.test
def every_schema_op_has_a_handler():
    missing = [op for op in proto.OPS if op not in HANDLERS]
    assert not missing, missing


@tap.test
def every_handler_is_in_the_schema():
    extra = sorted(op for op in HANDLERS if op not in proto.OPS)
    assert not extra, f"ops handled but not in protocol_schema.h: {extra}"


@tap.test
def rows_name_known_ops_and_events():
    for d, op, field, typ, _req in proto.ROWS:
        assert (op in proto.OPS) if d in ("REQ", "REP") else (op in proto.EVENTS), (d, op, field)
        assert typ in ("STR", "INT", "BOOL", "NUM", "ARRAY", "OBJECT", "ANY"), typ


@tap.test
def check_types_and_presence():
    ok = {"op": "inline", "code": "1", "is_expr": True, "line": 3}
    assert proto.check("REQ", "inline", ok) is None
    assert "missing" in proto.check("REQ", "inline", {"code": "1", "is_expr": True})
    assert "not int" in proto.check("REQ", "inline", dict(ok, line=True))  # a bool is no int
    assert "not str" in proto.check("REQ", "inline", dict(ok, code=5))
    assert "missing" in proto.check("REQ", "inline", dict(ok, code=None))  # None is absent
    rep = {"status": "ok", "seconds": 1}
    assert proto.check("REP", "run", rep) is None and proto.check("REP", "run", dict(rep, seconds=0.5)) is None
    assert "not num" in proto.check("REP", "run", dict(rep, seconds="1"))
    assert proto.check("REQ", "inline", dict(ok, extra_field=[1])) is None  # unlisted fields pass
    assert proto.check("REQ", "no_such_op", {}) is None


@tap.test
def dispatch_refuses_a_partial_request():
    rt._PROTOCOL[:] = [proto]
    try:
        r = rt.dispatch({"op": "inline", "is_expr": True, "line": 1})  # "code" dropped
        assert r["ok"] is False and "'code' missing" in r["error"], r
        r = rt.dispatch({"op": "inline", "code": "6*7", "is_expr": True, "line": 1})
        assert r["ok"] is True and r["text"] == "42", r
    finally:
        rt._PROTOCOL[:] = []


@tap.test
def dispatch_refuses_a_reply_that_breaks_the_schema():
    rt._PROTOCOL[:] = [proto]
    real = weft_namespace.op_eval_extra
    weft_namespace.op_eval_extra = lambda req: {"value": 3}  # not a str
    try:
        r = rt.dispatch({"op": "eval_extra", "expr": "1"})
        assert r["ok"] is False and "'value'" in r["error"], r
    finally:
        weft_namespace.op_eval_extra = real
        rt._PROTOCOL[:] = []


@tap.test
def tracking_records_must_survive_the_crossing():
    rec = {"bound": ["x"], "deleted": [], "mutated": [], "files_read": ["/d/a.csv"], "files_written": [],
           "rng": False, "new_field": {"any": 1}}
    assert proto.check_track(rec) is None
    assert "missing" in proto.check_track(dict(rec, bound=None))
    assert "holds a int" in proto.check_track(dict(rec, mutated=[1]))
    assert "not valid UTF-8" in proto.check_track(dict(rec, files_read=["/d/\udcff.csv"]))


@tap.test
def dispatch_turns_a_bad_record_into_a_tracking_error():
    rt._PROTOCOL[:] = [proto]
    real = rt.op_run
    rt.op_run = lambda req: {"status": "ok", "seconds": 0.0,
                             "tracked": {"bound": [], "deleted": [], "mutated": [], "files_written": [],
                                         "files_read": ["/d/\udcff"]}}
    try:
        r = rt.dispatch({"op": "run", "code": "", "code_line": 1, "term": False, "complete": True,
                         "fig": False, "f_size": [6, 4], "dpi": 100, "fig_format": "png", "track": True})
        assert r["ok"] is True and "tracked" not in r and "not valid UTF-8" in r["tracked_error"], r
    finally:
        rt.op_run = real
        rt._PROTOCOL[:] = []


tap.finish()
