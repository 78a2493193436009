"""weft_pweave: Pweave's chunk option defaults, as a document's code changes them.

A Pweave document may change the options of every later chunk from its code:

    import pweave
    pweave.rcParams["chunk"]["defaultoptions"].update({"echo": False})

Pweave runs the code in its own process, so the change reaches its option
resolution. weft runs chunks in a worker process: after each chunk and inline
span the runtime calls current() and, when the defaults changed while it ran,
puts them in the op's reply ("chunk_defaults": {option: value as JSON data},
the options whose value differs from Pweave's own); the planner applies them to
the chunks after it (src/planner/rundefaults.h).

A document gets the real `pweave` package when it is installed. Where it is not,
the runtime's last meta-path finder imports the stand-in this module builds
(stand_in_spec): a module holding Pweave 0.30.3's rcParams, nothing else.

For the cache the dict is a process setting (weft_settings, "pweave.chunk_defaults"):
saved with the chunk that changed it and put back before a later chunk runs, so a
chunk after a cached one sees the defaults a fresh run would show it.
"""

import sys

# Pweave 0.30.3's rcParams["chunk"]["defaultoptions"] (pweave/config.py).
PRISTINE = {
    "echo": True, "results": "verbatim", "fig": True, "include": True, "evaluate": True,
    "caption": False, "term": False, "name": None, "wrap": "output", "f_pos": "htpb",
    "f_size": (6, 4), "f_env": None, "dpi": 200, "f_spines": True, "complete": True,
    "option_string": "", "display_data": True, "display_stream": True,
}


_MISSING = object()


def _rc_params():
    """Pweave's whole rcParams, as Pweave 0.30.3 has them (the stand-in's copy)."""
    return {"figdir": "figures", "usematplotlib": True, "storeresults": False,
            "cachedir": "cache", "chunk": {"defaultoptions": dict(PRISTINE)}}


def _options():
    """The imported pweave's defaultoptions dict, or None (not imported, or not Pweave's shape)."""
    mod = sys.modules.get("pweave")
    try:
        opts = mod.rcParams["chunk"]["defaultoptions"]
    except Exception:  # pylint: disable=broad-except
        return None
    return opts if isinstance(opts, dict) else None


def _as_json(value):
    """The value as JSON data (tuples as lists); {"repr": text} for a value that
    is not an option value (the planner warns with its text)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and -2**63 <= value < 2**63:
        return int(value)
    if isinstance(value, float) and value == value and value not in (float("inf"), float("-inf")):
        return value
    if isinstance(value, (list, tuple)):
        items = [_as_json(v) for v in value]
        if not any(isinstance(v, dict) for v in items):
            return items
    return {"repr": repr(value)}


def current():
    """{option: value as JSON data} of the defaults that differ from Pweave's, or
    None when pweave is not imported. Non-string keys are left out."""
    opts = _options()
    if opts is None:
        return None
    out = {}
    for key, value in list(opts.items()):
        if not isinstance(key, str):
            continue
        old = PRISTINE.get(key, _MISSING)
        try:
            if type(old) is type(value) and old == value:
                continue
            out[key] = _as_json(value)
        except Exception:  # pylint: disable=broad-except
            out[key] = {"repr": "<%s object>" % type(value).__name__}
    return out


# -- the process setting (weft_settings.register) -------------------------------------

def snapshot():
    """The defaults now, a plain dict copy (None when pweave has no such dict)."""
    opts = _options()
    return None if opts is None else dict(opts)


def apply(value):
    """Put saved defaults in force, in the same dict (code may hold a reference to it)."""
    opts = _options()
    if opts is not None and isinstance(value, dict):
        opts.clear()
        opts.update(value)


def reset():
    """A fresh worker's defaults: Pweave's own."""
    apply(dict(PRISTINE))


def register_setting(register):
    """Register the defaults with weft_settings' `register` (called from its registry)."""
    register("pweave.chunk_defaults", snapshot, apply, reset=reset, module="pweave")


# -- the stand-in module -----------------------------------------------------------------

class _StandInLoader:
    """Makes the stand-in `pweave`: rcParams only, said so in its docstring."""

    def create_module(self, spec):  # pylint: disable=no-self-use,unused-argument
        return None

    def exec_module(self, module):  # pylint: disable=no-self-use
        module.__doc__ = ("weft's stand-in for Pweave (not installed here): rcParams only, "
                          "so rcParams['chunk']['defaultoptions'] changes later chunks' options")
        module.rcParams = _rc_params()
        module.__weft_stand_in__ = True


def stand_in_spec(name):
    """The module spec of the stand-in `pweave` (the runtime's fallback finder asks)."""
    import importlib.util  # pylint: disable=import-outside-toplevel
    return importlib.util.spec_from_loader(name, _StandInLoader())
