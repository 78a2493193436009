"""Namespace operations the planner needs between chunks.

Dispatched by the runtime as ops: a request {"op": "delete", ...} calls
op_delete(req). They act on the document's shared ``__main__`` namespace.
"""

import sys


def _main_ns():
    return sys.modules["__main__"].__dict__


def op_delete(req):
    """Remove names, so a chunk sees them undefined exactly as in a fresh run."""
    ns = _main_ns()
    for name in req.get("names", []):
        ns.pop(name, None)
    return {}


def op_eval_extra(req):
    """Evaluate a cache_extra expression in the document namespace; reply its repr."""
    ns = _main_ns()
    value = eval(compile(req["expr"], req.get("filename", "<cache_extra>"), "eval"), ns)
    return {"value": repr(value)}
