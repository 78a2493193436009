"""weft_settings: process-wide settings as cache state (the process-state registry).

A chunk can change settings that live outside its names: numpy's print
options, pandas options, matplotlib's rcParams, warnings filters, the
environment, the working directory, sys.path, modules put in sys.modules, the
decimal context. A later chunk sees them in a fresh run, so the cache treats
each setting as a pseudo-name "<setting:NAME>": a chunk that changes it writes
it (its value travels with the chunk's entry), and every later chunk reads
every setting that has a writer (the planner keys on the value's hash, so an
edit that leaves a setting's value alone re-runs nothing downstream).

Each setting has
    snapshot()  -> a value comparable with ==, picklable when it can be restored
    apply(v)    puts value v in force (None: values are never saved; a chunk
                after the writer gets the setting by replaying the writer)
    reset()     puts back what a fresh worker had (or None: the value seen first)
    module      the module it belongs to, or None; while that module is not
                imported the setting costs nothing (its snapshot is None) and a
                value to apply waits until the module is imported.

Adding a setting (in this file, or from anywhere before chunks run):

    register("mylib.options", snapshot=lambda: dict(mylib.OPTIONS),
             apply=lambda v: mylib.OPTIONS.update(v), reset=mylib.reset,
             module="mylib")

The tracking calls (weft_state.begin_tracking / end_tracking):

    before = snapshot_all()
    ... chunk runs ...
    changed = changes(before)   -> {"<setting:NAME>": value hash (hex) or None}

    A hash is None when the value has no stable text (a function, an object
    shown by address, a module put in sys.modules): the planner then keys
    readers on the writing chunk's state, and rebuilds the value by replaying
    the chunk when a value cannot be saved.

Ops (dispatched by the runtime as op_<name>(req)):

    op_settings_save({"names": [pseudo-names], "dir": path[, "fsync": false]})
        -> {"items": {name: {"path": file[, "hash": its XXH3-128 hex]} | {"pristine": true}
                             | {"unsaveable": reason}}}
        ("pristine": the value a fresh worker has; restored by reset()).
        The values as the last tracked chunk left them, one pickle file each.
    op_settings_apply({"items": [{"name": pseudo-name, "path": file or null
                                  | "fd": index into the request's "fds"}]})
        -> {"errors": {name: message}}
        weft's parent sends "fd": the verified blob itself (engine.h).
        Puts saved values in force (null: back to a fresh worker's value), in
        registry order; a setting of a module not imported waits for its import.

Not tracked (named in the README): settings kept inside objects that chunks
hold (a Figure's own properties), loggers other than the root logger, signal
handlers, thread-local or context-local state other than the decimal context,
values written to os.environ that hold the document's absolute folder (a moved
document keeps the old path), entries put in sys.modules under the dotted
name of a real package's submodule, and the warnings registries behind the
"once" and "default" actions (CPython keeps the version that validates them
out of reach, so they cannot be put back faithfully).
"""

import os
import sys

PREFIX = "<setting:"
_MODULE_TYPE = type(sys)


class _Setting:
    """One registered setting."""

    __slots__ = ("name", "snapshot", "apply", "reset", "module", "pristine")

    def __init__(self, name, snapshot, apply, reset, module, pristine):
        self.pristine = pristine
        self.name = name
        self.snapshot = snapshot
        self.apply = apply
        self.reset = reset
        self.module = module


_REGISTRY = {}        # pseudo-name -> _Setting, in registration (= apply) order
_initial = {}         # pseudo-name -> first value seen (for settings without reset)
_last = {}            # pseudo-name -> value after the last tracked chunk that changed it
_pending = {}         # pseudo-name -> value to apply once its module is imported
_finder = None


def pseudo(name):
    """The pseudo-name of setting `name`."""
    return PREFIX + name + ">"


def register(name, snapshot, apply, reset=None, module=None, pristine=None):
    """Add (or replace) a setting; see the module docstring. Returns its pseudo-name.
    `pristine`, when given, is the value reset() gives: a value equal to it is
    restored by reset(), even for a setting whose values are never saved."""
    key = pseudo(name)
    _REGISTRY[key] = _Setting(key, snapshot, apply, reset, module, pristine)
    if module is None or module in sys.modules:
        try:
            _initial.setdefault(key, snapshot())
        except Exception:  # pylint: disable=broad-except
            pass
    return key


def _present(s):
    """Is the setting's module imported (settings of absent modules cost nothing)?"""
    return s.module is None or s.module in sys.modules


def snapshot_all():
    """{pseudo-name: value} of every setting now; None for absent modules
    (or the value waiting for the module's import). A snapshot that raises
    counts as a value no other snapshot equals."""
    out = {}
    for key, s in _REGISTRY.items():
        if not _present(s):
            out[key] = _pending.get(key)
            continue
        try:
            out[key] = s.snapshot()
        except Exception as exc:  # pylint: disable=broad-except
            out[key] = _Broken(exc)
        _initial.setdefault(key, out[key])
    return out


class _Broken:
    """A snapshot that failed: unequal to everything, never saved."""

    def __init__(self, exc):
        self.why = f"{type(exc).__name__}: {exc}"

    def __eq__(self, other):
        return False

    def __hash__(self):
        return id(self)


def changes(before):
    """Settings whose value differs from `before` (a snapshot_all result):
    {pseudo-name: value hash or None}. Remembers the values for op_settings_save."""
    after = snapshot_all()
    out = {}
    for key, value in after.items():
        old = before.get(key)
        if old is None and value is None:
            continue
        try:
            if type(old) is type(value) and old == value and not isinstance(value, _Broken):
                continue
        except Exception:  # pylint: disable=broad-except
            pass
        _last[key] = value
        out[key] = value_hash(key, value)
    return out


# -- stable hashing ---------------------------------------------------------------

class _Unstable(Exception):
    """The value has no text that identifies it across processes."""


def _canon(v, out):
    """Append a text that identifies value v across processes to list `out`."""
    t = type(v)
    if v is None or t in (bool, int, float, complex, str, bytes):
        out.append(t.__name__ + ":" + repr(v))
    elif t in (tuple, list):
        out.append(t.__name__ + "(")
        for x in v:
            _canon(x, out)
            out.append(",")
        out.append(")")
    elif t is dict:
        items = []
        for k, x in v.items():
            ko, vo = [], []
            _canon(k, ko)
            _canon(x, vo)
            items.append(("".join(ko), "".join(vo)))
        out.append("dict{" + ";".join(k + "=" + x for k, x in sorted(items)) + "}")
    elif t in (set, frozenset):
        parts = []
        for x in v:
            xo = []
            _canon(x, xo)
            parts.append("".join(xo))
        out.append("set{" + ",".join(sorted(parts)) + "}")
    elif isinstance(v, type):
        if v.__module__ == "__main__" or "<locals>" in v.__qualname__:
            raise _Unstable()     # a document's class: same name, any body
        out.append(f"type:{v.__module__}.{v.__qualname__}")
    elif t.__name__ == "Pattern" and t.__module__ == "re":
        out.append(f"re:{v.pattern!r}/{v.flags}")
    elif isinstance(v, (_Broken, _Assigned)):
        raise _Unstable()
    else:
        if callable(v) and t.__module__ == "builtins":
            raise _Unstable()     # functions, lambdas, builtins: their text is their address
        import enum  # pylint: disable=import-outside-toplevel
        if isinstance(v, enum.Enum):
            out.append(f"enum:{t.__module__}.{t.__qualname__}.{v.name}")
            return
        if isinstance(v, _MODULE_TYPE) or t.__module__ == "__main__":
            raise _Unstable()
        r = repr(v)
        if " at 0x" in r or " object at " in r:
            raise _Unstable()
        out.append(f"{t.__module__}.{t.__qualname__}:{r}")


def value_hash(key, value):
    """Hex hash of a setting's value, equal across processes for equal values;
    None when the value cannot be identified that way."""
    out = [key, "\n"]
    try:
        _canon(value, out)
    except (_Unstable, RecursionError):
        return None
    except Exception:  # pylint: disable=broad-except
        return None
    from _blake2 import blake2b  # pylint: disable=import-outside-toplevel
    return blake2b("".join(out).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# -- applying ------------------------------------------------------------------------

def _apply_one(key, value):
    """Put `value` (None: a fresh worker's value) in force for setting `key`."""
    s = _REGISTRY[key]
    if not _present(s):
        # Applied when the module is imported, as a fresh run would have it then.
        if value is None:
            _pending.pop(key, None)
        else:
            _pending[key] = value
            _install_finder()
        return
    _pending.pop(key, None)
    if value is None:
        if s.reset is not None:
            s.reset()
            return
        value = _initial.get(key)
        if value is None:
            return
    try:
        if s.snapshot() == value:
            return
    except Exception:  # pylint: disable=broad-except
        pass
    s.apply(value)


def _apply_pending_for(module_name):
    """A module was just imported: apply the values waiting for it."""
    for key, s in _REGISTRY.items():
        if s.module == module_name and key in _pending:
            value = _pending.pop(key)
            try:
                s.apply(value)
            except Exception as exc:  # pylint: disable=broad-except
                sys.__stderr__.write(f"weft: could not apply {key}: {exc}\n")


class _PendingHooks:
    """The hooks weft_runtime.PostImportFinder runs after an import: for a
    module some settings wait for, applying them (looked up at each import,
    as the waiting settings change)."""

    def get(self, name):
        if not any(_REGISTRY[k].module == name for k in _pending):
            return None
        return lambda module: _apply_pending_for(name)


def _install_finder():
    """Put the pending-settings finder first on sys.meta_path (once)."""
    global _finder
    if _finder is None:
        import weft_runtime  # pylint: disable=import-outside-toplevel
        _finder = weft_runtime.PostImportFinder(_PendingHooks())
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


# -- ops -------------------------------------------------------------------------------

def _write_file(directory, data, sync):
    """A new file in `directory` holding `data`, written as weft_state writes
    blobs (its XXH3-128 computed on the way, store faults injected alike):
    (path, hex digest or None)."""
    import weft_state  # pylint: disable=import-outside-toplevel
    fd, path = weft_state._new_file(directory, ".setting")  # pylint: disable=protected-access
    try:
        digest = weft_state._write_all(fd, data, sync)  # pylint: disable=protected-access
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return path, digest


def _pickle_value(value):
    """Pickle a setting's value; _Unstable when it refers to the document's own
    classes or functions (pickled by name, they would not come back as these)."""
    import io  # pylint: disable=import-outside-toplevel
    import pickle  # pylint: disable=import-outside-toplevel

    class _Pickler(pickle.Pickler):
        def reducer_override(self, obj):  # pylint: disable=no-self-use
            if getattr(obj, "__module__", None) == "__main__" and (isinstance(obj, type) or callable(obj)):
                raise _Unstable()
            return NotImplemented

    buf = io.BytesIO()
    _Pickler(buf, protocol=5).dump(value)
    return buf.getvalue()


def op_settings_save(req):
    """Pickle the values the last tracked chunk left (see module docstring)."""
    items = {}
    for key in req.get("names", []):
        if key not in _REGISTRY:
            items[key] = {"unsaveable": "unknown setting"}
            continue
        value = _last.get(key)
        s = _REGISTRY[key]
        try:
            if s.pristine is not None and s.reset is not None and type(value) is type(s.pristine) \
                    and value == s.pristine:
                items[key] = {"pristine": True}
                continue
        except Exception:  # pylint: disable=broad-except
            pass
        if s.apply is None:
            items[key] = {"unsaveable": "restored by replaying the chunk that made it"}
            continue
        if isinstance(value, _Broken):
            items[key] = {"unsaveable": value.why}
            continue
        if isinstance(value, _Assigned):
            items[key] = {"unsaveable": "a module put in sys.modules by a chunk"}
            continue
        try:
            data = _pickle_value(value)
        except _Unstable:
            # A class or function of the document, pickled by name: restoring
            # it would give whatever the name holds then, not this object.
            items[key] = {"unsaveable": "refers to an object defined in the document"}
            continue
        except Exception as exc:  # pylint: disable=broad-except
            items[key] = {"unsaveable": f"{type(exc).__name__}: {exc}"}
            continue
        path, digest = _write_file(req["dir"], data, bool(req.get("fsync", True)))
        items[key] = {"path": path, "hash": digest} if digest else {"path": path}
    return {"items": items}


def op_settings_apply(req):
    """Put saved setting values in force (see module docstring)."""
    import pickle  # pylint: disable=import-outside-toplevel
    errors = {}
    wanted = {}
    for item in req.get("items", []):
        key = item.get("name")
        if key not in _REGISTRY:
            errors[str(key)] = "unknown setting"
            continue
        path = item.get("path")
        try:
            if "fd" in item:      # the verified blob itself (engine.h "fds")
                import weft_state  # pylint: disable=import-outside-toplevel
                wanted[key] = pickle.loads(weft_state.fd_bytes(req["fds"][item["fd"]]))
            elif path is None:
                wanted[key] = None
            else:
                with open(path, "rb") as f:
                    wanted[key] = pickle.loads(f.read())
        except Exception as exc:  # pylint: disable=broad-except
            errors[key] = f"{type(exc).__name__}: {exc}"
    for key in _REGISTRY:
        if key in wanted:
            try:
                _apply_one(key, wanted[key])
            except Exception as exc:  # pylint: disable=broad-except
                errors[key] = f"{type(exc).__name__}: {exc}"
    return {"errors": errors}


# -- the known settings ---------------------------------------------------------------

_START_DIR = os.getcwd()   # the document's folder: the worker starts there


def _doc_relative(path):
    """('doc', relative) for a path inside the document's folder, else ('abs', path):
    entries do not depend on where the document is (as files in entries)."""
    if isinstance(path, str) and os.path.isabs(path):
        if path == _START_DIR:
            return ("doc", ".")
        if path.startswith(_START_DIR + os.sep):
            return ("doc", path[len(_START_DIR) + 1:])
    return ("abs", path)


def _doc_absolute(entry):
    """Inverse of _doc_relative."""
    kind, path = entry
    if kind == "doc":
        return _START_DIR if path == "." else os.path.join(_START_DIR, path)
    return path


# numpy

_NUMPY_PRINT_DEFAULTS = {"edgeitems": 3, "threshold": 1000, "floatmode": "maxprec", "precision": 8,
                         "suppress": False, "linewidth": 75, "nanstr": "nan", "infstr": "inf",
                         "sign": "-", "formatter": None, "legacy": False}


def _np_print_snapshot():
    return dict(sys.modules["numpy"].get_printoptions())


def _np_print_apply(v):
    sys.modules["numpy"].set_printoptions(**v)


def _np_print_reset():
    np = sys.modules["numpy"]
    cur = np.get_printoptions()
    np.set_printoptions(**{k: v for k, v in _NUMPY_PRINT_DEFAULTS.items() if k in cur})


def _np_err_snapshot():
    np = sys.modules["numpy"]
    return (dict(np.geterr()), np.geterrcall())


def _np_err_apply(v):
    np = sys.modules["numpy"]
    np.seterr(**v[0])
    np.seterrcall(v[1])


def _np_err_reset():
    _np_err_apply(({"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}, None))


# pandas

def _pd_config():
    return sys.modules["pandas._config.config"]


def _flatten(d, prefix, out):
    for k, v in d.items():
        if isinstance(v, dict):
            _flatten(v, prefix + k + ".", out)
        else:
            out.append((prefix + k, v))
    return out


def _pd_snapshot():
    return tuple(sorted(_flatten(_pd_config()._global_config, "", []), key=lambda kv: kv[0]))


def _quietly(fn, *args):
    """Call fn with warnings silenced (deprecated options warn when set)."""
    import warnings  # pylint: disable=import-outside-toplevel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(*args)


def _pd_apply(v):
    cfg = _pd_config()
    cur = dict(_pd_snapshot())
    for k, x in v:
        if k not in cur or cur[k] != x or type(cur[k]) is not type(x):
            _quietly(cfg.set_option, k, x)


def _pd_reset():
    _quietly(_pd_config().reset_option, "all")


# matplotlib: weft sets the backend and, before every chunk, the figure size and
# dpi of the chunk's options: those are not the document's settings.
_MPL_OWN = frozenset(("backend", "backend_fallback", "figure.figsize", "figure.dpi"))


def _copy_value(v):
    return list(v) if type(v) is list else v


def _mpl_snapshot():
    rc = sys.modules["matplotlib"].rcParams
    return {k: _copy_value(v) for k, v in dict.items(rc) if k not in _MPL_OWN}


def _mpl_apply(v):
    rc = sys.modules["matplotlib"].rcParams
    for k, x in v.items():
        if k in _MPL_OWN:
            continue
        cur = dict.get(rc, k)
        if cur != x or type(cur) is not type(x):
            dict.__setitem__(rc, k, _copy_value(x))   # values were validated when first set


def _mpl_reset():
    mpl = sys.modules["matplotlib"]
    _mpl_apply({k: v for k, v in dict.items(mpl.rcParamsOrig) if k not in _MPL_OWN})


# warnings

def _warnings_snapshot():
    import warnings  # pylint: disable=import-outside-toplevel
    return (tuple(warnings.filters), warnings.defaultaction)


def _warnings_apply(v):
    import warnings  # pylint: disable=import-outside-toplevel
    warnings.filters[:] = list(v[0])
    warnings.defaultaction = v[1]
    warnings._filters_mutated()  # pylint: disable=protected-access


# environment: os.environ, and the C environment changed by os.putenv/unsetenv,
# which os.environ does not show. os.environ's own changes call os.putenv and
# os.unsetenv too (looked up in os at each call), so wrapping those two module
# functions sees every change; an audit hook would too, but would run for
# every audited event of the process (each id(), open, import...).

_cenv = {}
_env_wrapped = False


def _wrap_env_function(real, record):
    """os.putenv / os.unsetenv that first records the change in _cenv."""
    def wrapper(*args):
        real(*args)
        record(*args)
    wrapper.__name__ = real.__name__
    wrapper.__qualname__ = real.__qualname__
    wrapper.__doc__ = real.__doc__
    wrapper.__module__ = "os"
    wrapper._weft_real = real  # pylint: disable=protected-access
    return wrapper


def _record_putenv(key, value):
    _cenv[os.fsdecode(key)] = os.fsdecode(value)


def _record_unsetenv(key):
    _cenv.pop(os.fsdecode(key), None)


def _start_env_tracking():
    global _env_wrapped
    if not _env_wrapped:
        _cenv.update(os.environ)
        if not hasattr(os.putenv, "_weft_real"):
            os.putenv = _wrap_env_function(os.putenv, _record_putenv)
        if not hasattr(os.unsetenv, "_weft_real"):
            os.unsetenv = _wrap_env_function(os.unsetenv, _record_unsetenv)
        _env_wrapped = True


_env_prev = [None, None, None]    # [os.environ's raw data copy, C environment copy, snapshot]


def _env_snapshot():
    data = getattr(os.environ, "_data", None)
    prev = _env_prev
    if type(data) is dict and prev[0] is not None and data == prev[0] and _cenv == prev[1]:
        return prev[2]
    env = dict(os.environ)
    cdiff = {k: v for k, v in _cenv.items() if env.get(k) != v}
    cdiff.update((k, None) for k in env if k not in _cenv)
    snap = (env, cdiff)
    if type(data) is dict:
        prev[:] = [dict(data), dict(_cenv), snap]
    return snap


def _env_apply(v):
    env, cdiff = v
    for k in [k for k in os.environ if k not in env]:
        del os.environ[k]
    for k, x in env.items():
        if os.environ.get(k) != x:
            os.environ[k] = x
    # os.environ's own changes went through putenv; now those made around it
    want = dict(env)
    want.update(cdiff)
    for k in set(_cenv) | set(want):
        x = want.get(k)
        if _cenv.get(k) != x:
            if x is None:
                os.unsetenv(k)
            else:
                os.putenv(k, x)


# working directory and sys.path (paths inside the document's folder relative to it)

def _cwd_snapshot():
    return _doc_relative(os.getcwd())


def _cwd_apply(v):
    os.chdir(_doc_absolute(v))


def _path_snapshot():
    return tuple(_doc_relative(p) for p in sys.path)


def _path_apply(v):
    sys.path[:] = [_doc_absolute(e) for e in v]
    import importlib  # pylint: disable=import-outside-toplevel
    importlib.invalidate_caches()


# sys.modules: entries a chunk put there itself, and modules imported from the
# document's folder. Modules imported normally from elsewhere are not state: a
# fresh run imports them again wherever they are needed, with the same result.

_modules_baseline = frozenset(sys.modules)
_module_kind = {}       # name -> (object, description or None)
_file_digest = {}       # path -> ((mtime_ns, size), hex)


def _local_file(path):
    """Is `path` a module file inside the document's folder (not an installed package)?"""
    if not isinstance(path, str):
        return False
    # A cheap test first: most modules come from elsewhere, and realpath costs
    # a system call per path component (38 ms for numpy + pandas + pyplot).
    path = path if os.path.isabs(path) else os.path.abspath(path)
    if not path.startswith(_START_DIR + os.sep):
        return False
    path = os.path.realpath(path)
    return path.startswith(_START_DIR + os.sep) and "-packages" + os.sep not in path


def _digest_file(path):
    """Content hash of a module's file, cached by mtime and size."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _file_digest.get(path)
    if hit and hit[0] == stamp:
        return hit[1]
    from _blake2 import blake2b  # pylint: disable=import-outside-toplevel
    with open(path, "rb") as f:
        h = blake2b(f.read(), digest_size=16).hexdigest()
    _file_digest[path] = (stamp, h)
    return h


def _real_module(obj, name):
    """A module imported normally under `name` (its spec names it)."""
    if not isinstance(obj, _MODULE_TYPE):
        return False
    try:
        d = _MODULE_TYPE.__getattribute__(obj, "__dict__")
    except Exception:  # pylint: disable=broad-except
        return False
    spec = d.get("__spec__")
    return spec is not None and getattr(spec, "name", None) == name


def _describe_module(name, obj):
    """What sys.modules[name] contributes to the setting, or None."""
    if name == "__main__" or name.startswith(("weft_", "_weft")) or name in _modules_baseline:
        return None
    if _real_module(obj, name):
        path = _MODULE_TYPE.__getattribute__(obj, "__dict__").get("__file__")
        if _local_file(path):
            rel = os.path.relpath(os.path.realpath(path), _START_DIR)
            return ("local", rel, _digest_file(path))
        return None
    if name.startswith(("cython_runtime", "_cython_")):
        return None
    top = name.split(".", 1)[0]
    if top != name and _real_module(sys.modules.get(top), top):
        return None        # a package's own alias or helper entry (typing.io, pyexpat.errors)
    return ("assigned", id(obj), type(obj).__name__)


class _Assigned(tuple):
    """A sys.modules description holding an object's identity: no stable hash."""


_modules_prev = [None, None]    # [copy of sys.modules, its snapshot]: most chunks import nothing


def _modules_snapshot():
    cur = dict(sys.modules)
    prev, snap = _modules_prev
    try:
        # identical entries compare equal without calling their __eq__
        if prev is not None and cur == prev and not isinstance(snap, _Assigned) and \
                not any(d[1] == "local" for d in snap):
            return snap
    except Exception:  # pylint: disable=broad-except
        pass
    snap = _modules_scan()
    _modules_prev[:] = [cur, snap]
    return snap


def _modules_scan():
    out = []
    for name, obj in list(sys.modules.items()):
        known = _module_kind.get(name)
        if known is not None and known[0] is obj:
            desc = known[1]
            if desc is not None and desc[0] == "local":
                desc = ("local", desc[1], _digest_file(os.path.join(_START_DIR, desc[1])))
        else:
            desc = _describe_module(name, obj)
            _module_kind[name] = (obj, desc)
        if desc is not None:
            out.append((name,) + desc)
    out.sort(key=lambda d: d[0])
    if any(d[1] == "assigned" for d in out):
        return _Assigned(out)
    return tuple(out)


def _import_local(name, rel):
    """Import the document's module `name` from its file, its output discarded."""
    import importlib.util  # pylint: disable=import-outside-toplevel
    import io  # pylint: disable=import-outside-toplevel
    path = os.path.join(_START_DIR, rel)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {name} from {rel}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    out, err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        sys.stdout, sys.stderr = out, err
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)


def _modules_apply(v):
    if isinstance(v, _Assigned) or any(d[1] == "assigned" for d in v):
        raise ValueError("modules put in sys.modules by a chunk cannot be restored")
    want = {d[0]: d for d in v}
    cur = {d[0]: d for d in _modules_scan()}
    # A document module loaded now but not wanted stays: names bound to its
    # objects (from helper import calls) and its own state (<module helper>,
    # weft_state) belong to a later chunk, which a replay of an earlier one
    # must not cut off by importing a second copy.
    for name, d in cur.items():
        if name not in want and d[1] != "local":
            sys.modules.pop(name, None)
    for name in sorted(want, key=lambda n: n.count(".")):
        obj = sys.modules.get(name)
        # (an earlier module of the list may have imported this one already)
        if obj is not None and (name,) + (_describe_module(name, obj) or ()) == want[name]:
            continue
        sys.modules.pop(name, None)
        _import_local(name, want[name][2])


def _modules_reset():
    _modules_apply(())


# decimal: the current thread's context

def _decimal_snapshot():
    c = sys.modules["decimal"].getcontext()
    return (c.prec, c.rounding, c.Emin, c.Emax, c.capitals, c.clamp,
            tuple(sorted(s.__name__ for s, on in c.flags.items() if on)),
            tuple(sorted(s.__name__ for s, on in c.traps.items() if on)))


def _decimal_apply(v):
    decimal = sys.modules["decimal"]
    c = decimal.getcontext()
    c.prec, c.rounding, c.Emin, c.Emax, c.capitals, c.clamp = v[:6]
    for s in list(c.flags):
        c.flags[s] = s.__name__ in v[6]
    for s in list(c.traps):
        c.traps[s] = s.__name__ in v[7]


def _decimal_reset():
    decimal = sys.modules["decimal"]
    decimal.setcontext(decimal.Context())


# locale: the C library's, through _locale (built in, no import cost)

def _locale_categories():
    import _locale  # pylint: disable=import-outside-toplevel
    return [getattr(_locale, n) for n in ("LC_CTYPE", "LC_COLLATE", "LC_TIME", "LC_MONETARY",
                                          "LC_NUMERIC", "LC_MESSAGES") if hasattr(_locale, n)]


def _locale_snapshot():
    import _locale  # pylint: disable=import-outside-toplevel
    return tuple(_locale.setlocale(c, None) for c in _locale_categories())


def _locale_apply(v):
    import _locale  # pylint: disable=import-outside-toplevel
    for c, name in zip(_locale_categories(), v):
        if _locale.setlocale(c, None) != name:
            _locale.setlocale(c, name)


# logging: the root logger's level and handlers, and logging.disable. Handlers
# hold streams and files, so the value is not saved: a chunk after the one that
# configured logging gets it by replaying that chunk (the value is still hashed,
# so readers are keyed on what it is).

def _logging_snapshot():
    logging = sys.modules["logging"]
    root = logging.getLogger()
    hs = []
    for h in root.handlers:
        fmt = getattr(h, "formatter", None)
        stream = getattr(h, "stream", None)
        hs.append((type(h).__module__ + "." + type(h).__qualname__, h.level,
                   getattr(fmt, "_fmt", None), getattr(fmt, "datefmt", None),
                   getattr(h, "baseFilename", None), getattr(stream, "name", None), len(h.filters)))
    return (root.level, tuple(hs), len(root.filters), logging.root.manager.disable)


def _logging_reset():
    logging = sys.modules["logging"]
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(logging.WARNING)
    logging.disable(logging.NOTSET)


def _pweave_module():
    """weft_pweave (embedded in the worker; from sys.path in the tests)."""
    mod = sys.modules.get("weft_pweave")
    if mod is None:
        import weft_pweave as mod  # pylint: disable=import-outside-toplevel
    return mod


def _register_builtin():
    """The settings weft knows, in the order they are applied."""
    register("os.chdir", _cwd_snapshot, _cwd_apply)
    register("os.environ", _env_snapshot, _env_apply)
    register("sys.path", _path_snapshot, _path_apply)
    register("sys.modules", _modules_snapshot, _modules_apply, reset=_modules_reset)
    register("sys.recursionlimit", sys.getrecursionlimit, sys.setrecursionlimit)
    register("warnings.filters", _warnings_snapshot, _warnings_apply)
    register("locale", _locale_snapshot, _locale_apply)
    _pweave_module().register_setting(register)   # pweave.rcParams' chunk defaults
    register("logging.root", _logging_snapshot, None, reset=_logging_reset, module="logging",
             pristine=(30, (), 0, 0))
    register("decimal.context", _decimal_snapshot, _decimal_apply, reset=_decimal_reset, module="decimal")
    register("numpy.printoptions", _np_print_snapshot, _np_print_apply, reset=_np_print_reset,
             module="numpy")
    register("numpy.errstate", _np_err_snapshot, _np_err_apply, reset=_np_err_reset, module="numpy")
    register("pandas.options", _pd_snapshot, _pd_apply, reset=_pd_reset, module="pandas")
    register("matplotlib.rcParams", _mpl_snapshot, _mpl_apply, reset=_mpl_reset, module="matplotlib")


_start_env_tracking()
_register_builtin()
