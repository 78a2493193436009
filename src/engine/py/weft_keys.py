"""weft_keys: worker ops that let the planner treat inline code like a chunk
and give tracebacks the document lines a fresh run would have.

    op_track_begin({"reads": [...], "cache_dir": str}) -> {}
        start tracking (weft_state) before an inline span runs
    op_track_end({}) -> {"tracked": record}
        stop tracking; the record is weft_state's, plus "source_lines": true
        when the span looked up the document's lines
    op_doc_lines({"units": [{"code": str, "line": int}, ...]}) -> {}
        register the lines of units that did not run in this worker (cached
        ones), so tracebacks and warnings through their functions quote the
        same lines as in a render without cache
"""

import sys

_token = None


def _runtime():
    """The running weft_runtime module (the worker's main module)."""
    return sys.modules["weft_runtime"]


def _state():
    import weft_state  # pylint: disable=import-outside-toplevel
    return weft_state


def op_track_begin(req):
    """Start tracking the next inline span, as op_run does for a chunk."""
    global _token  # pylint: disable=global-statement
    rt = _runtime()
    rt.source_seen(clear=True)
    _token = _state().begin_tracking(rt._main_ns(), req)  # pylint: disable=protected-access
    return {}


def op_track_end(_req):
    """Stop tracking; the record of what the span read, wrote and drew."""
    global _token  # pylint: disable=global-statement
    if _token is None:
        return {"ok": False, "error": "track_end without track_begin"}
    token, _token = _token, None
    rt = _runtime()
    rec = _state().end_tracking(token, rt._main_ns())  # pylint: disable=protected-access
    if rt.source_seen():
        rec["source_lines"] = True
    return {"tracked": rec}


def op_doc_lines(req):
    """Register document lines of units that ran in another process."""
    rt = _runtime()
    for unit in req.get("units", ()):
        rt._register_lines(str(unit.get("code", "")), int(unit.get("line") or 1))  # pylint: disable=protected-access
    return {}
