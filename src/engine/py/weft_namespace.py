"""Namespace operations the planner needs between chunks.

Dispatched by the runtime as ops: a request {"op": "delete", ...} calls
op_delete(req). They act on the document's shared ``__main__`` namespace.
"""

import hashlib
import sys


def _main_ns():
    return sys.modules["__main__"].__dict__


def op_delete(req):
    """Remove names, so a chunk sees them undefined exactly as in a fresh run."""
    ns = _main_ns()
    for name in req.get("names", []):
        ns.pop(name, None)
    return {}


def rng_fingerprint():
    """A digest of the global random states (random, and numpy's if loaded).

    A chunk whose run changes it consumed (or reseeded) randomness, so its
    results depend on the state it started from.
    """
    h = hashlib.blake2b(digest_size=16)
    import random

    h.update(repr(random.getstate()).encode())
    np = sys.modules.get("numpy")
    if np is not None:
        try:
            state = np.random.get_state(legacy=False)
            h.update(repr(state).encode())
        except Exception:  # a numpy without the legacy global generator
            pass
    return h.hexdigest()


def op_rng_fingerprint(req):
    """Reply {"fingerprint": hex} for the current global random states."""
    return {"fingerprint": rng_fingerprint()}


def op_eval_extra(req):
    """Evaluate a cache_extra expression in the document namespace; reply its repr."""
    ns = _main_ns()
    value = eval(compile(req["expr"], req.get("filename", "<cache_extra>"), "eval"), ns)
    return {"value": repr(value)}
