"""weft_state: the interpreter side of the chunk cache's state handling.

Tracking (called by the runtime around a chunk that runs with tracking on):

    token = begin_tracking(ns, req)      before the chunk runs
    record = end_tracking(token, ns)     after it, also when it raised

    record = {
      "bound":   names whose binding changed (new, or rebound to another object),
      "deleted": names that were bound before and are gone,
      "mutated": names still bound to the same object whose content changed
                 (checked for req["reads"], req.get("maybe_mutates") and every
                 other name linked to one of those by reachability: sharing a
                 mutable object, or a class or function the object reaches;
                 an object that cannot be fingerprinted counts as mutated),
      "files_read", "files_written": absolute paths of regular files the chunk
                 opened (a file written counts as read only if read first;
                 appending counts as both; sqlite3 databases as read), seen
                 through one audit hook on "open", "os.rename", "os.replace"
                 and "sqlite3.connect", active only while tracking. Ignored:
                 the cache directory, Python's own files (lib, site-packages,
                 __pycache__), /dev, /proc, /sys, /usr/lib, /usr/share, /etc
                 and matplotlib's font caches. A local module a chunk imports
                 is a file read.
      "unsaveable": {name: type} for bound names of a type that cannot be saved,
      "mutated_aliases": {name: [names]}: for a mutated name restored from a
                 group saved together (op_save "group"), the members of that
                 group not bound to the same object here; in a fresh run they
                 are that object, so they changed too. The planner may restore
                 them (op_restore shares the object) and count them as written.
      "settings": {"<setting:NAME>": value hash or null} for process-wide
                 settings the chunk changed (weft_settings: numpy print options,
                 rcParams, warnings filters, os.environ, cwd, sys.path, ...),
      "walk_truncated": names it bound whose reachability walk stopped at
                 weft_reach's budget (sharing deeper down is not seen),
      "shared":  names the chunk neither bound nor changed that now share a
                 mutable object with a name it did (b = a writes a too; see
                 weft_reach): they are also in "mutated", so they are saved
                 with it and count as written,
      "rng":     true when the chunk used, seeded or first imported random's
                 or numpy's global generator (the planner treats the generator
                 state as a name the chunk reads and writes, and saves the
                 states after it with op_rng_get),
      "inputs", "subprocesses", "fs_ops": what else it read (listings, existence
                 checks, environment, cwd, content before it changed a file it
                 read), subprocesses started, deletions and folders made: see
                 weft_inputs. A writable np.memmap it bound or mutated makes
                 its file a file written (flushed first).
    }
    req may carry "reads" (list, or "*" for every name), "maybe_mutates",
    "cache_dir" (files under it are ignored).

Ops (dispatched by the runtime as op_<name>(req) -> reply dict):

    op_save({"names": [...], "dir": path[, "fsync": false]})
        -> {"items": [{"name", "kind": "pickle", "pickle": path, "buffers": [path...],
                       "type": typename[, "hashes": [hex...]]}
                      | {"name", "kind": "module", "module": "numpy", "type": "module"}
                      | {"name", "unsaveable": true, "type": typename, "reason": str}
                      | {"name", "missing": true}]}
        Each name of __main__ goes to new files in `dir` (pickle protocol 5 via
        cloudpickle, out-of-band buffers written raw, each file fsynced unless
        the request says "fsync": false, for a store that syncs its files
        itself; a big file's writeback then starts as it is written). Inside
        weft's worker each file's XXH3-128 is computed as it is written and
        given in "hashes" (the pickle's first, then the buffers', as hex),
        so the store need not read the files back. Files are named
        "<pid>-weft-...". Names bound to one mutable
        object are saved as a group: each item has its own files (hard links,
        equal content) and "group": [names]; restoring them gives one object.
        Functions and classes of __main__ are saved by value but keep reading
        __main__'s globals when restored (their global values are not saved).
    op_restore({"items": [items as op_save returned them, paths may differ]})
        -> {"restored": [names], "errors": {name: message}}
        Buffers are memory-mapped copy-on-write: lazy and still writable.
        weft's parent sends the files themselves, not their paths: the
        request's "fds" are descriptors of the blobs it verified (passed with
        SCM_RIGHTS, engine.h), an item's "pickle_fd" and "buffer_fds" index
        them and its "pickle" is then the blob's hash; a path could be
        replaced between the parent's check and the open here.
    op_rng_get({"dir": path[, "fsync": false]}) -> {"path": file, "numpy": bool}
    op_rng_set({"path": file} or {"fds": [fd], "fd": 0}) -> {}
        Global random-number states (random, and numpy's if imported).
    op_names({}) -> {"names": {name: typename}}   user names bound in __main__
    op_fingerprint({"names": [...][, "values": true]}) -> {"fingerprints": {name: hex or null}}
        Content fingerprints (null: cannot be fingerprinted; "" for immutable
        objects; classes, functions, lru caches and modules get a digest of
        their in-place state, weft_reach.code_fingerprint, comparable only
        within one process). With "values": value digests, comparable across
        processes (value_digest: immutable values too; "code" for code).
        A name not bound is left out.

The interpreter's dunders (__builtins__, __name__, __spec__, ...; see
_INTERPRETER_DUNDERS) and names the runtime registers in RUNTIME_NAMES (or
starting with "_weft") are never reported or saved; the document's dunders
(__version__, __all__, __doc__, __annotations__) are names like any other.
The record also has "ns_tail": the names the chunk (re)inserted at the end of
the namespace, in order (weft_fidelity.ns_tail), and "ns_moved": those of them
that were bound before it (deleted and bound again; the others were new here,
which under lazy restore need not mean new in a fresh run).

Pickling for fingerprints and saves never runs the document's code (a
__reduce__ or __getstate__ defined in a chunk, ...): such an object has no
fingerprint (counts as changed) and is unsaveable (rebuilt by replay); so is,
when saving, what a restore would not give back as it was (an exception's
traceback, a set's iteration order). See weft_fidelity.

Names linked by shared mutable objects (weft_reach: b = a, inner = outer[0],
a numpy view and its base, a bound method and its object) are saved as one
pickle of {name: object} (save_group: items carry "group" and "member"), so
restoring them together keeps the sharing. Code state that cannot be saved
faithfully (a module or a by-reference class or function changed in place, a
non-empty lru_cache, a global of a local module) is reported unsaveable, so
the planner replays the chunk that made it.

Known limits: a change reaches only the names live when the chunk runs.
Files opened by C code without an audit event are not recorded (listings,
deletions and the rest: weft_inputs).
"""

# Only cheap modules at import time: the worker imports this module for the
# first tracked chunk, and a document that imports nothing must start fast.
# pickle, cloudpickle, hashlib, mmap, threading are imported when first needed.
import os
import sys
import types
from _blake2 import blake2b

RUNTIME_NAMES = set()

# Names of __main__ the interpreter and weft's runtime own: never tracked or saved.
_INTERPRETER_DUNDERS = frozenset({"__builtins__", "__name__", "__loader__", "__spec__",
                                  "__package__", "__file__", "__cached__", "__path__"})

# Bulk data is hashed with OpenSSL's SHA-256: with the SHA extensions of
# current CPUs it runs about 2.5x faster than BLAKE2b on large buffers
# (measured 1.6 vs 0.65 GB/s here); small pickles use BLAKE2b.
_BULK = 1 << 20

# Types whose objects never change in place: same object means same content.
_IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, range, type(Ellipsis))
# Code and namespaces: only rebinding changes them for the cache.
_CODE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
         types.MethodType, types.BuiltinMethodType, types.MethodWrapperType,
         types.WrapperDescriptorType)
# Objects tied to the process: never saved.
_UNSAVEABLE = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType,
               types.FrameType, types.TracebackType)
# The same, from modules that may not be loaded (then no object can be theirs).
_UNSAVEABLE_IN = {"sqlite3": ("Connection", "Cursor"), "socket": ("socket",),
                  "threading": ("Thread",), "_thread": ("LockType", "RLock"),
                  "_io": ("_IOBase",), "mmap": ("mmap",),
                  "numpy": ("memmap",), "_queue": ("SimpleQueue",),
                  "multiprocessing.connection": ("Connection",)}


def is_user_name(name):
    """True for names the cache cares about: not dunders, not the runtime's
    (nor keys that are no identifiers, which globals()[1] = ... can make).
    Called for the names a tracked chunk changed (and, for a chunk that
    reads every name, for all): the shape test is memoized per string
    (_name_shapes), RUNTIME_NAMES is looked up each time (it may grow)."""
    if type(name) is not str:
        return False
    shaped = _name_shapes.get(name)
    if shaped is None:
        if len(_name_shapes) >= _NAME_SHAPES_MAX:
            _name_shapes.clear()
        shaped = _name_shapes[name] = _user_shaped(name)
    return shaped and name not in RUNTIME_NAMES


# str -> _user_shaped(str), for is_user_name; cleared when it reaches the cap
_name_shapes = {}
_NAME_SHAPES_MAX = 1 << 20


# Names is_user_name accepted, valid while RUNTIME_NAMES is what it was then
# (nothing else changes its answer). _known[0] is replaced when RUNTIME_NAMES
# changes: the namespace index (weft_nsindex) takes it as its runtime key.
_known = [frozenset(), set()]


def _known_user_names():
    """The set of names known to be user names (see _known)."""
    if _known[0] != RUNTIME_NAMES:
        _known[0] = frozenset(RUNTIME_NAMES)
        _known[1] = set()
    return _known[1]


def _user_shaped(name):
    """is_user_name of a str, apart from RUNTIME_NAMES."""
    if not name.isidentifier():
        return False
    if name.startswith("__") and name.endswith("__"):
        # __version__, __all__, __doc__ ... are the document's (issue 8 class 9);
        # the interpreter's own are not
        return name not in _INTERPRETER_DUNDERS
    return not name.startswith("_weft")


def _main_dict():
    """The namespace chunks run in."""
    return sys.modules["__main__"].__dict__


def _typename(obj):
    """'int', 'numpy.ndarray', 'sqlite3.Cursor' ..."""
    t = type(obj)
    mod = t.__module__
    return t.__qualname__ if mod in ("builtins", None) else f"{mod}.{t.__qualname__}"


def _unsaveable_types():
    """The unsaveable types of the modules loaded so far."""
    out = list(_UNSAVEABLE)
    for mod, names in _UNSAVEABLE_IN.items():
        m = sys.modules.get(mod)
        if m is not None:
            out.extend(t for t in (getattr(m, n, None) for n in names) if isinstance(t, type))
    return tuple(out)


def _unsaveable_reason(obj, kinds=None):
    """A reason when obj's type alone says it cannot be saved, else None."""
    if isinstance(obj, kinds or _unsaveable_types()):
        return f"{_typename(obj)} objects are tied to this process"
    return None


# -- fingerprints ------------------------------------------------------------

def _hash_buffer(h, buf):
    """Feed a buffer to hash `h`, using a bulk hash for big ones."""
    mv = memoryview(buf)
    if not mv.c_contiguous:
        mv = memoryview(mv.tobytes())
    mv = mv.cast("B")
    if mv.nbytes >= _BULK:
        h.update(_bulk_digest(mv))
    else:
        h.update(mv)


_PIECE = 16 << 20


def _bulk_digest(mv):
    """Digest of a big byte buffer. Inside weft's worker: XXH3-128 from the
    worker's native module (memory speed; fingerprints are only compared
    within one run, so any collision-resistant-enough hash will do). Elsewhere
    (tests run without the engine): SHA-256 in fixed 16 MiB pieces on all
    CPUs (hashlib releases the GIL), then the pieces' digests hashed; the
    result does not depend on the number of CPUs."""
    native = sys.modules.get("_weft")
    if native is not None and hasattr(native, "xxh128"):
        return native.xxh128(mv)
    import hashlib
    n = mv.nbytes
    if n < 4 * _PIECE:
        return hashlib.sha256(mv).digest()
    pieces = [mv[i:i + _PIECE] for i in range(0, n, _PIECE)]
    out = [b""] * len(pieces)
    nxt = iter(range(len(pieces)))

    def work():
        for i in nxt:                   # next() on a range iterator is atomic under the GIL
            out[i] = hashlib.sha256(pieces[i]).digest()
    workers = min(os.cpu_count() or 1, 8, len(pieces))
    threads = []
    if workers > 1:
        import threading
        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers - 1)]
        for t in threads:
            t.start()
    work()
    for t in threads:
        t.join()
    return hashlib.sha256(b"".join(out)).digest()


def fingerprint_kind(obj):
    """"none" for objects that only change by rebinding (immutable values,
    code, modules), else "content"."""
    if isinstance(obj, _IMMUTABLE) or isinstance(obj, _CODE):
        return "none"
    if type(obj) is tuple and all(isinstance(x, _IMMUTABLE) for x in obj):
        return "none"
    return "content"


def fingerprint(obj):
    """Content fingerprint of obj as bytes; b"" when content can only change by
    rebinding (immutable values, code); None when it cannot be computed."""
    if isinstance(obj, _IMMUTABLE):
        return b""
    if isinstance(obj, _CODE) or _is_lru(obj):
        return _code_fingerprint(obj)
    np = sys.modules.get("numpy")
    h = blake2b(digest_size=32)
    if np is not None and type(obj) is np.ndarray and not obj.dtype.hasobject:
        h.update(f"nd{obj.dtype.str}{obj.shape}".encode())
        if obj.dtype.fields is not None or obj.dtype.subdtype is not None:
            h.update(repr(obj.dtype.descr).encode())
        a = obj if obj.flags.c_contiguous else np.ascontiguousarray(obj)
        _hash_buffer(h, a.reshape(-1).view(np.uint8) if a.size else b"")
        return h.digest()
    if type(obj) is tuple and all(isinstance(x, _IMMUTABLE) for x in obj):
        return b""
    if _unsaveable_reason(obj) is not None:
        return None
    import io
    import _pickle  # the C pickler: pickle.py would import re, struct and enum (8 ms)
    from weft_fidelity import guarded_pickler, Unfaithful
    bufs = []
    try:
        f = io.BytesIO()
        # refuses (before running it) any __reduce__ etc. of the document: its
        # side effects would show in the report
        guarded_pickler(_pickle.Pickler, False)(f, protocol=5, buffer_callback=bufs.append).dump(obj)
        data = f.getvalue()
    except Unfaithful:
        return None
    except Exception:
        # Lambdas and classes of __main__ inside containers: by value, without
        # the values of the globals they use (those are other names).
        try:
            data, bufs = _dump(obj, _main_dict(), strict=False)
        except Exception:
            return None
    h.update(len(data).to_bytes(8, "little"))
    _hash_buffer(h, data)
    for b in bufs:
        raw = b.raw() if _contiguous(b) else memoryview(b).tobytes()
        h.update(len(raw).to_bytes(8, "little"))
        _hash_buffer(h, raw)
    return h.digest()


def mutation_probe(obj):
    """What begin/end_tracking compare to notice an in-place change: for an
    array whose memory lies in a blob restored copy-on-write and not written
    since, a token naming that memory (a write to any of its pages would make
    the page anonymous, which the probe after the chunk sees, so reading a
    restored 1 GiB array costs a look at the page table, not a hash of 1 GiB);
    for anything else its fingerprint."""
    np = sys.modules.get("numpy")
    if np is not None and _restored_maps and isinstance(obj, np.ndarray):
        token = _mapped_token(obj, np)
        if token is not None:
            return token
    return fingerprint(obj)


# id -> mmap of each buffer restore_item mapped (a WeakValueDictionary once
# one was: an entry goes with its mapping)
_restored_maps = None


def _mapped_token(arr, np):
    """b"map:..." for an array lying in an unwritten restored mapping, else None."""
    root = arr
    while isinstance(root, np.ndarray):
        root = root.base
    if isinstance(root, memoryview):
        root = root.obj
    if _restored_maps.get(id(root)) is not root or arr.dtype.hasobject or arr.size == 0:
        return None
    start = np.frombuffer(root, dtype=np.uint8).__array_interface__["data"][0]
    lo, hi = np.byte_bounds(arr)
    if lo < start or hi > start + len(root) or _written_pages(lo, hi, np) != 0:
        return None
    return b"map:" + repr((id(root), lo, hi, arr.dtype.str, arr.shape, arr.strides)).encode()


def _written_pages(lo, hi, np):
    """Pages of [lo, hi) this process wrote (in a private file mapping a written
    page turns anonymous: /proc/self/pagemap bit 63 present, bit 61 file-page
    clear) or that went to swap (bit 62, only anonymous pages do); None when the
    page table cannot be read."""
    import mmap
    first, last = lo // mmap.PAGESIZE, (hi - 1) // mmap.PAGESIZE
    want = (last - first + 1) * 8
    try:
        with open("/proc/self/pagemap", "rb", buffering=0) as f:
            f.seek(first * 8)
            raw = bytearray()
            while len(raw) < want:
                got = f.read(want - len(raw))
                if not got:
                    return None
                raw += got
    except OSError:
        return None
    e = np.frombuffer(raw, dtype=np.uint64)
    one = np.uint64(1)
    written = ((e >> np.uint64(63)) & ~(e >> np.uint64(61)) & one) | ((e >> np.uint64(62)) & one)
    return int(np.count_nonzero(written))


def _contiguous(pb):
    """True when a PickleBuffer can be exposed raw."""
    mv = memoryview(pb)
    return mv.c_contiguous or mv.f_contiguous


# -- file tracking -------------------------------------------------------------

_active = None            # the _Token being tracked, or None
_hook_installed = False

_READ, _WRITE, _READWRITE = 1, 2, 3


def _ignored_prefixes(cache_dir):
    """Directories whose files are not the document's inputs or outputs."""
    prefixes = {"/dev/", "/proc/", "/sys/", "/usr/lib/", "/usr/share/", "/usr/local/lib/",
                "/etc/", "/run/", "/var/cache/"}
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        if p and p != "/":
            prefixes.add(os.path.join(os.path.realpath(p), "lib") + os.sep)
    for p in sys.path:
        if "-packages" in p:
            prefixes.add(os.path.realpath(p) + os.sep)
    home = os.path.expanduser("~")
    for sub in (".cache/matplotlib", ".config/matplotlib", ".cache/fontconfig"):
        prefixes.add(os.path.join(home, sub) + os.sep)
    if os.environ.get("MPLCONFIGDIR"):
        prefixes.add(os.path.realpath(os.environ["MPLCONFIGDIR"]) + os.sep)
    if cache_dir:
        prefixes.add(os.path.realpath(cache_dir) + os.sep)
    return tuple(sorted(prefixes))


def _open_kind(mode, flags):
    """_READ, _WRITE or _READWRITE from an "open" audit event's mode/flags."""
    if isinstance(mode, str):
        if "r" in mode:
            return _READWRITE if "+" in mode else _READ
        if "a" in mode:
            return _READWRITE                  # the result depends on the old content
        return _WRITE                          # "w", "x" (truncate / create)
    if isinstance(flags, int):
        acc = flags & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
        if acc == os.O_RDONLY:
            return _READ
        if flags & os.O_TRUNC:
            return _WRITE
        if flags & os.O_CREAT and flags & os.O_EXCL:
            return _WRITE
        return _READWRITE
    return _READ


def _audit(event, args):
    """sys.addaudithook callback: records files opened while tracking.
    Must never raise (an exception would surface in the user's open())."""
    tok = _active
    if tok is None:
        return
    try:
        if event == "open":
            path, mode, flags = args
            kind = _open_kind(mode, flags)
        elif event in ("os.rename", "os.replace"):
            path, kind = args[1], _WRITE
        elif event == "sqlite3.connect":
            # a database file is an input; never restored as an output
            path, kind = args[0], _READ
        else:
            return
        if isinstance(path, int) or path is None:
            return
        path = os.fsdecode(path)
        tok.note_file(path, kind)
    except Exception:
        pass


def _install_hook():
    """Install the audit hook once per process (hooks cannot be removed)."""
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True


_prefix_cache = {}


class _Token:
    """What begin_tracking remembers until end_tracking."""

    def __init__(self, ns, req):
        # the namespace index brought up to date with what changed since the
        # last tracked chunk (restores, deletions, untracked inline code)
        ix = self.index = _ns_index()
        gap, _, _ = _sync_index(ix, ns)
        # a copy of ns as it is now (sync replaces, never changes it): the
        # names before the chunk, and it keeps their ids alive
        self.before = before = ix.snap
        self.rewalk = set(gap)        # walked again at the end (as they were before the index)
        cache_dir = req.get("cache_dir")
        self.prefixes = _prefix_cache.get(cache_dir)
        if self.prefixes is None:
            self.prefixes = _prefix_cache[cache_dir] = _ignored_prefixes(cache_dir)
        self.files = {}                                   # path -> [first kind, seen kinds]
        self.fps = {}
        reads = req.get("reads") or []
        if reads == "*":
            wanted = {n for n in before if is_user_name(n)}    # it may read (and change) anything
        else:
            wanted = {n for n in reads if n in before and is_user_name(n)}
            wanted.update(n for n in req.get("maybe_mutates") or () if n in before and is_user_name(n))
            if wanted:
                wanted |= ix.aliases(wanted, before)
        from weft_fidelity import always_probe
        wanted.update(n for n in always_probe(before) if is_user_name(n))
        if wanted:
            _rewalk(ix, ns, wanted)
            wanted = ix.reach.closure(wanted, True)
        for n in wanted:
            self.fps[n] = _probe(before[n], ix.reach.get(n, before[n]))
        # Names restored from a group whose other members are not bound to
        # the same object here: in a fresh run those would change too.
        self.groups = {}
        if _shared and self.fps:
            by_obj = {id(obj): group for obj, _, group in _shared.values()}
            for n in self.fps:
                group = by_obj.get(id(self.before[n]))
                if group:
                    self.groups[n] = group
        self.rng = _rng_state()
        import weft_settings  # pylint: disable=import-outside-toplevel
        self.settings = weft_settings.snapshot_all()
        self.modules = _local_module_states()

    def note_file(self, path, kind):
        """Remember a file opened with `kind` (first access decides read-first)."""
        path = os.path.abspath(path)
        if path.endswith((".pyc", ".pyo")) or "/__pycache__/" in path:
            return
        real = os.path.realpath(path)
        if real.startswith(self.prefixes) or path.startswith(self.prefixes):
            return
        if kind == _READWRITE and not os.path.lexists(path):
            kind = _WRITE        # appending to / updating a file that is not there yet
        entry = self.files.get(path)
        if entry is None:
            self.files[path] = [kind, kind]
        else:
            entry[1] |= kind


def _rng_state():
    """Global generator states, comparable with ==. A generator module not
    imported yet has no state anyone could depend on."""
    st = {}
    random = sys.modules.get("random")
    if random is not None:
        st["random"] = random.getstate()
    np = sys.modules.get("numpy")
    if np is not None:
        s = np.random.get_state()
        st["numpy"] = (s[0], s[1].tobytes(), s[2:])
    return st


def _rng_changed(before, after):
    """True when the chunk advanced or reseeded a global generator. A generator
    first imported by the chunk counts too: the chunk may have seeded it, and
    the states after it must then be saved for the chunks that follow."""
    return before != after


def _inputs():
    """weft_inputs (listings, existence checks, environment, cwd, subprocesses,
    deletions), imported with the first tracked chunk."""
    import weft_inputs
    return weft_inputs


def begin_tracking(ns, req):
    """Start tracking a chunk about to run in namespace `ns`."""
    global _active
    _install_hook()
    inputs = _inputs()           # imported before tracking starts: not a file the chunk read
    tok = _Token(ns, req or {})
    _active = tok
    inputs.begin(tok)
    return tok


def end_tracking(token, ns):
    """Stop tracking and return the record (see module docstring)."""
    global _active
    if _active is token:
        _active = None
    extra = _inputs().end(token)
    before = token.before
    ix = token.index
    changed, deleted, same_order = _sync_index(ix, ns)     # walks the names bound
    walked = set(changed)
    if ix.base_id != id(before):
        # the index was synced since begin_tracking (for another token) or
        # rebuilt (another namespace): the chunk's changes are those since its snapshot
        changed, deleted, same_order = _nsindex().diff(before, ns)
        changed = [k for k in changed if is_user_name(k)]
        deleted = [k for k in deleted if is_user_name(k)]
    bound, mutated, unsaveable = changed, [], {}
    kinds = _unsaveable_types()
    for k in bound:
        v = ns[k]
        if _unsaveable_reason(v, kinds) is not None:
            unsaveable[k] = _typename(v)
    mutated_aliases = {}
    _rewalk(ix, ns, (set(bound) | set(token.fps) | token.rewalk) - walked)
    for k, fp in token.fps.items():
        if k in ns and ns[k] is before[k]:
            if fp is None or _probe(ns[k], ix.reach.get(k, ns[k])) != fp:
                mutated.append(k)
                others = [m for m in token.groups.get(k, ()) if ns.get(m, token) is not ns[k]]
                if others:
                    mutated_aliases[k] = others
    for path in _inputs().memmaps_written(ns, bound + mutated):
        token.note_file(path, _WRITE)
    files_read, files_written = [], []
    for path, (first, seen) in token.files.items():
        if not os.path.isfile(path):
            continue
        if seen & _WRITE:
            files_written.append(path)
            if first & _READ:
                files_read.append(path)
        else:
            files_read.append(path)
    rng = _rng_changed(token.rng, _rng_state())
    import weft_settings  # pylint: disable=import-outside-toplevel
    settings = weft_settings.changes(token.settings)
    shared = _shared_writes(ix.reach, bound, mutated, ns)
    mutated = sorted(set(mutated) | set(_changed_modules(token.modules)))
    mutated = sorted(set(mutated) | set(shared))
    tail, moved = _ns_tail(before, ns, bound, same_order)
    token.before = None
    return {
        "bound": sorted(bound), "deleted": sorted(deleted), "mutated": sorted(mutated),
        "files_read": sorted(files_read), "files_written": sorted(files_written),
        "unsaveable": unsaveable, "rng": rng, "mutated_aliases": mutated_aliases,
        "settings": settings,
        "inputs": extra["inputs"], "subprocesses": extra["subprocesses"], "fs_ops": extra["fs_ops"],
        "shared": shared,
        # names bound here whose reachability walk stopped at its budget: sharing
        # deeper than that is not seen (README, limits); the planner warns
        "walk_truncated": sorted(n for n in bound if _truncated(ix, ns, n)),
        "ns_tail": tail, "ns_moved": moved,
    }


# -- save / restore --------------------------------------------------------------

class _MainGlobals:
    """Stands for __main__'s namespace in a pickle: unpickles to the live
    __main__.__dict__, so restored functions read current globals."""

    def __reduce__(self):
        return (vars, (_MainModule(),))


class _MainModule:
    """Unpickles to the __main__ module (imported by name, never by value)."""

    def __reduce__(self):
        import importlib
        return (importlib.import_module, ("__main__",))


_pickler_class = None


def _make_pickler_class():
    """The cloudpickle-based pickler (defined on first use: importing
    cloudpickle costs tens of milliseconds)."""
    import cloudpickle

    class _Pickler(cloudpickle.CloudPickler):
        """cloudpickle, except that functions whose globals are __main__'s
        keep __main__ as globals and carry none of its values: a restored
        function must see the names as they are when it is called, and
        restoring must not overwrite any other name."""

        def __init__(self, file, main, buffer_callback):
            super().__init__(file, protocol=5, buffer_callback=buffer_callback)
            self._weft_main = main
            self._weft_marker = _MainGlobals()

        def _dynamic_function_reduce(self, func):
            """Reduce a by-value function (see the class comment)."""
            rv = super()._dynamic_function_reduce(func)
            if func.__globals__ is not self._weft_main:
                return rv
            make, newargs, (state, slotstate) = rv[0], rv[1], rv[2]
            slotstate = dict(slotstate)
            slotstate["__globals__"] = {}
            newargs = (newargs[0], self._weft_marker) + tuple(newargs[2:])
            return (make, newargs, (state, slotstate)) + tuple(rv[3:])

    return _Pickler


_WRITEBACK_MIN = 1 << 20


def _write_all(path_fd, data, sync=True):
    """Write a whole buffer to a file descriptor, then fsync it (unless the
    caller's store syncs its files itself). Returns the buffer's XXH3-128
    (hex, the store's blob name) when weft's worker computed it on the way,
    else None."""
    native = sys.modules.get("_weft")
    if native is not None and hasattr(native, "write_file"):
        mv = memoryview(data)
        # a store that syncs later: start a big file's writeback now
        digest = native.write_file(path_fd, mv, not sync and mv.nbytes >= _WRITEBACK_MIN)
        if sync:
            os.fsync(path_fd)
        return digest.hex()
    mv = memoryview(data).cast("B")
    step = 1 << 30
    off, n = 0, mv.nbytes
    while off < n:
        off += os.write(path_fd, mv[off:off + step])
    if sync:
        os.fsync(path_fd)
    return None


def _tmp_name(suffix):
    """A fresh file name "<pid>-weft-<random><suffix>": the store's gc removes
    temporary files of dead processes by that pid prefix."""
    return f"{os.getpid()}-weft-{os.urandom(8).hex()}{suffix}"


def _new_file(directory, suffix):
    """A new, empty file in `directory`: (fd, path). Not tempfile.mkstemp:
    importing tempfile pulls in shutil, random, bz2 and lzma, tens of ms."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        path = os.path.join(directory, _tmp_name(suffix))
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue


_OOB_MIN = 1 << 16  # smaller buffers stay in the pickle: a file and fsync each cost more


def _dump(obj, main, strict=True):
    """Pickle obj: (pickle bytes, [PickleBuffer]). The C pickler first: it
    needs no import, while cloudpickle's costs 50 ms (more on a busy machine)
    per render. Its result is kept only when nothing in it names __main__;
    functions and classes defined in chunks take the main-aware pickler.
    Both are guarded (weft_fidelity): an object whose pickling would run the
    document's code, or (strict) that would not come back faithfully, raises
    weft_fidelity.Unfaithful; so does (strict) a set whose order would change."""
    import io
    import _pickle
    from weft_fidelity import guarded_pickler, Unfaithful, needs_set_check, check_sets
    bufs = []

    def out_of_band(b):
        with memoryview(b) as m:
            if m.nbytes < _OOB_MIN:
                return True
        bufs.append(b)
        return False

    f = io.BytesIO()
    cls = guarded_pickler(_pickle.Pickler, strict)
    try:
        p = cls(f, protocol=5, buffer_callback=out_of_band)
        p.dump(obj)
        data = f.getvalue()
        if b"__main__" not in data:
            if strict and needs_set_check(data, getattr(p, "_weft_memo", {})):
                check_sets(obj)
            return data, bufs
    except Unfaithful:
        for b in bufs:
            b.release()
        raise
    except Exception:
        pass
    for b in bufs:
        b.release()
    bufs.clear()
    global _pickler_class
    if _pickler_class is None:
        _pickler_class = _make_pickler_class()
    f = io.BytesIO()
    cls = guarded_pickler(_pickler_class, strict)
    p = cls(f, main, out_of_band)
    p.dump(obj)
    data = f.getbuffer()
    if strict and needs_set_check(data, getattr(p, "_weft_memo", {})):
        check_sets(obj)
    return data, bufs


def _write_pickle_files(directory, data, bufs, sync):
    """Write a pickle and its out-of-band buffers to new files in `directory`
    (released after); (pickle path, buffer paths, their hashes). On failure
    no file is left behind."""
    paths, hashes = [], []
    try:
        fd, ppath = _new_file(directory, ".pkl")
        paths.append(ppath)
        try:
            hashes.append(_write_all(fd, data, sync))
        finally:
            os.close(fd)
        bpaths = []
        for b in bufs:
            fd, bpath = _new_file(directory, ".buf")
            paths.append(bpath)
            bpaths.append(bpath)
            try:
                hashes.append(_write_all(fd, b.raw() if _contiguous(b) else memoryview(b).tobytes(), sync))
            finally:
                os.close(fd)
    except BaseException:
        for p in paths:
            try:
                os.unlink(p)
            except OSError:
                pass
        raise
    finally:
        for b in bufs:
            b.release()
    return ppath, bpaths, hashes


def save_name(name, directory, ns=None, aliases=None, sync=True):
    """Save one name of `ns` (default __main__) into new files in `directory`.
    `aliases`: names saved with it that are bound to the same object (see
    op_save); they share the files' content and come back as one object."""
    ns = _main_dict() if ns is None else ns
    if name.startswith("<module "):
        return {"name": name, "unsaveable": True, "type": "module state",
                "reason": "a module's state is rebuilt by replaying the chunk that changed it"}
    if name not in ns:
        return {"name": name, "missing": True}
    obj = ns[name]
    tname = _typename(obj)
    reason = _code_unsaveable(obj)
    if reason is not None:
        return {"name": name, "unsaveable": True, "type": tname, "reason": reason}
    if isinstance(obj, types.ModuleType):
        return {"name": name, "kind": "module", "module": obj.__name__, "type": "module"}
    reason = _unsaveable_reason(obj)
    if reason is not None:
        return {"name": name, "unsaveable": True, "type": tname, "reason": reason}
    try:
        data, bufs = _dump(obj, ns)
    except Exception as e:
        if type(e).__name__ == "Unfaithful":     # weft_fidelity refused it: the planner warns
            return {"name": name, "unsaveable": True, "type": tname, "reason": str(e), "fidelity": True}
        return {"name": name, "unsaveable": True, "type": tname,
                "reason": f"{type(e).__name__}: {e}"}
    ppath, bpaths, hashes = _write_pickle_files(directory, data, bufs, sync)
    first = {"name": name, "kind": "pickle", "pickle": ppath, "buffers": bpaths, "type": tname}
    if None not in hashes:
        first["hashes"] = hashes        # the files' XXH3-128, pickle first
    if not aliases:
        return first
    first["group"] = [name] + list(aliases)
    items = [first]
    for other in aliases:
        it = dict(first, name=other, pickle=_link_copy(ppath, directory),
                  buffers=[_link_copy(b, directory) for b in bpaths])
        items.append(it)
    return items


def _link_copy(path, directory):
    """A second new file with the same content: a hard link (no second
    write; the store renames or removes each name on its own), or a copy."""
    while True:
        new = os.path.join(directory, _tmp_name(os.path.splitext(path)[1]))
        try:
            os.link(path, new)
            return new
        except FileExistsError:
            continue
        except OSError:
            break
    fd, new = _new_file(directory, os.path.splitext(path)[1])
    try:
        with open(path, "rb") as f:
            _write_all(fd, f.read())
    finally:
        os.close(fd)
    return new


def _map_buffer(path):
    """A lazily loaded, writable (copy-on-write) view of a buffer file."""
    with open(path, "rb") as f:
        return _map_fd(f.fileno())


def _map_fd(fd):
    """_map_buffer of an open file (mmap keeps its own descriptor)."""
    import mmap
    size = os.fstat(fd).st_size
    if size == 0:
        return bytearray()
    m = mmap.mmap(fd, size, access=mmap.ACCESS_COPY)
    global _restored_maps
    if _restored_maps is None:
        import weakref
        _restored_maps = weakref.WeakValueDictionary()
    _restored_maps[id(m)] = m
    return m


def restore_item(item, ns=None):
    """Load one saved item into `ns` (default __main__); touches no other name."""
    ns = _main_dict() if ns is None else ns
    name = item["name"]
    kind = item.get("kind")
    if kind == "module":
        import importlib
        ns[name] = importlib.import_module(item["module"])
        return
    if kind != "pickle":
        raise ValueError(f"{name}: nothing saved to restore")
    if item.get("member"):
        _restore_member(item, ns)
        return
    key = None
    if item.get("group"):
        # Names saved bound to one object share one blob: the second of them
        # restored gets the first one's object while that is still bound,
        # so a mutation through one shows through the other, as in a fresh
        # run. The same name asked for again means a fresh copy is wanted.
        key = _item_key(item)
        _prune_shared(ns)
        ent = _shared.get(key)
        if ent is not None and name not in ent[1] and any(
                ns.get(m, _shared) is ent[0] for m in ent[1]):
            ns[name] = ent[0]
            ent[1].add(name)
            return
    obj = _load_item(item, ns, lambda o: [o])
    ns[name] = obj
    if key is not None:
        _shared[key] = (obj, {name}, tuple(item["group"]))


# real path of a group's pickle -> (object, names restored from it, the group)
_shared = {}


def _prune_shared(ns):
    """Forget shared objects no restored name is bound to any more."""
    for key in [k for k, (obj, names, _) in _shared.items()
                if not any(ns.get(m, _shared) is obj for m in names)]:
        del _shared[key]


def op_save(req):
    """Save names of __main__ into new files in req["dir"]. Names bound to
    the same mutable object are saved as a group (items carry "group")."""
    directory = req["dir"]
    sync = bool(req.get("fsync", True))
    ns = _main_dict()
    names = list(dict.fromkeys(req.get("names", [])))
    by_id = {}
    for n in names:
        if n in ns and fingerprint_kind(ns[n]) == "content":
            by_id.setdefault(id(ns[n]), []).append(n)
    items, done = [], set()
    for comp in _linked_groups(ns, names):
        items.extend(save_group(comp, directory, ns, sync))
        done.update(comp)
    for n in names:
        if n in done:
            continue
        group = by_id.get(id(ns[n])) if n in ns else None
        if group and len(group) > 1 and group[0] == n:
            r = save_name(n, directory, ns, aliases=group[1:], sync=sync)
            if isinstance(r, list):
                items.extend(r)
                done.update(group)
                continue
            items.append(r)           # unsaveable: say so for each name
            items.extend(dict(r, name=m) for m in group[1:])
            done.update(group)
            continue
        items.append(save_name(n, directory, ns, sync=sync))
    return {"items": items}


def _item_key(item):
    """What identifies an item's pickle among those restored (group sharing):
    the blob's hash when it came as a descriptor, else the file's real path."""
    if "_pickle_fd" in item:
        return "blob:" + str(item["pickle"])
    return os.path.realpath(item["pickle"])


def _with_fds(item, fds):
    """The item with its descriptor indexes ("pickle_fd", "buffer_fds")
    resolved to the request's descriptors (as "_pickle_fd", "_buffer_fds")."""
    if "pickle_fd" not in item:
        return item
    return dict(item, _pickle_fd=fds[item["pickle_fd"]],
                _buffer_fds=[fds[i] for i in item.get("buffer_fds", ())])


def fd_bytes(fd):
    """Everything in an open file, read from its start (pread: the offset
    is shared with the parent's descriptor of the same file)."""
    chunks, off = [], 0
    while True:
        b = os.pread(fd, 1 << 20, off)
        if not b:
            return b"".join(chunks)
        chunks.append(b)
        off += len(b)


def op_restore(req):
    """Restore saved items into __main__; one failure does not stop the rest."""
    ns = _main_dict()
    fds = req.get("fds") or []
    restored, errors = [], {}
    for item in req.get("items", []):
        try:
            restore_item(_with_fds(item, fds), ns)
            restored.append(item["name"])
        except Exception as e:
            errors[item.get("name", "?")] = f"{type(e).__name__}: {e}"
    return {"restored": restored, "errors": errors}


# -- random-number generators ----------------------------------------------------

def op_rng_get(req):
    """Save the global generators' states to a new file in req["dir"]."""
    import _pickle
    import random
    state = {"random": random.getstate()}
    np = sys.modules.get("numpy")
    if np is not None:
        state["numpy"] = np.random.get_state()
    fd, path = _new_file(req["dir"], ".rng")
    try:
        _write_all(fd, _pickle.dumps(state, protocol=5), bool(req.get("fsync", True)))
    finally:
        os.close(fd)
    return {"path": path, "numpy": "numpy" in state}


def op_rng_set(req):
    """Put back generator states saved by op_rng_get (numpy's only if saved;
    importing numpy here would cost time and change nothing a fresh run sees)."""
    import _pickle
    import random
    if "fd" in req:
        state = _pickle.loads(fd_bytes(req["fds"][req["fd"]]))
    else:
        with open(req["path"], "rb") as f:
            state = _pickle.loads(f.read())
    random.setstate(state["random"])
    if "numpy" in state:
        import numpy as np
        np.random.set_state(state["numpy"])
    return {}


# -- namespace queries ----------------------------------------------------------

def op_names(req):
    """User names bound in __main__ with their types."""
    return {"names": {k: ("module" if isinstance(v, types.ModuleType) else _typename(v))
                      for k, v in _main_dict().items() if is_user_name(k)}}


def value_digest(obj):
    """A digest of obj's value (bytes) that another process computes alike for
    an equal value, immutable values included (unlike fingerprint); "code" for
    modules, classes and other code, whose state has no such digest (a function
    of the document's is digested by value, its globals apart); None for what
    cannot be pickled faithfully."""
    if isinstance(obj, _IMMUTABLE) or (type(obj) is tuple and all(isinstance(x, _IMMUTABLE) for x in obj)):
        import _pickle
        try:
            data = _pickle.dumps(obj, protocol=5)
        except Exception:
            return None
        return blake2b(data, digest_size=32).digest()
    if type(obj) is types.FunctionType and getattr(obj, "__module__", None) == "__main__":
        try:
            data, bufs = _dump(obj, _main_dict(), strict=False)
        except Exception:
            return "code"
        h = blake2b(bytes(data), digest_size=32)
        for b in bufs:
            h.update(memoryview(b).tobytes())
        return h.digest()
    if isinstance(obj, _CODE) or _is_lru(obj):
        return "code"  # code_fingerprint is comparable only within one process
    return fingerprint(obj)


def op_fingerprint(req):
    """Content fingerprints of names in __main__, or with "values" their value
    digests (see module docstring)."""
    ns = _main_dict()
    digest = value_digest if req.get("values") else fingerprint
    out = {}
    for n in req.get("names", []):
        if n in ns:
            fp = digest(ns[n])
            out[n] = fp if fp is None or isinstance(fp, str) else fp.hex()
    return {"fingerprints": out}


# -- reachability: aliases, views, code state (weft_reach does the walking) ------

def _reach():
    """weft_reach, imported on first need."""
    import weft_reach
    return weft_reach


def _is_lru(obj):
    """True for a functools.lru_cache wrapper (its cache is state)."""
    ft = sys.modules.get("functools")
    return ft is not None and type(obj) is getattr(ft, "_lru_cache_wrapper", None)


def _code_fingerprint(obj):
    """The in-place state of a class, function, method or module (b"" for
    builtins, which user code cannot change)."""
    fp = _reach().code_fingerprint(obj)
    return b"" if fp is None else fp


# ids of classes, functions and modules a tracked chunk changed in place, with
# the objects (kept alive so an id is never reused for another object)
_changed_code = {}


def _walkable(v):
    """Values whose walk can meet another name's: not immutable leaves or modules."""
    return not isinstance(v, _IMMUTABLE) and type(v) is not types.ModuleType


def _nsindex():
    """weft_nsindex, imported on first need."""
    import weft_nsindex
    return weft_nsindex


# The namespace as tracking last saw it (weft_nsindex.NsIndex): its names by
# object and their reachability walks, kept from chunk to chunk. A name bound
# to the same object that no chunk since has bound, changed or read keeps its
# walk (a change to what it reaches would have come through a name linked to
# it, and that chunk would have walked it again).
_ns_index_obj = None


def _ns_index():
    """The process's NsIndex, made on first need."""
    global _ns_index_obj
    if _ns_index_obj is None:
        _ns_index_obj = _nsindex().NsIndex()
    return _ns_index_obj


def _walker(ns):
    """walk(name, value) -> the weft_reach walk of a value that can share
    objects with another name's, else None; for walks made in namespace ns
    (which they never enter)."""
    ctx = []

    def walk(_name, v):
        # _walkable, inline, and never weft's own token
        if isinstance(v, _IMMUTABLE) or type(v) is types.ModuleType or isinstance(v, _Token):
            return None
        if not ctx:
            wr = _reach()
            skip = wr._excluded_ids()
            skip.add(id(ns))
            ctx.extend((wr, skip, wr.local_values()))
        return ctx[0].reach(v, ctx[1], lv=ctx[2])
    return walk


def _sync_index(ix, ns):
    """ix.sync for namespace ns: (changed, deleted, same_order), see weft_nsindex."""
    known = _known_user_names()               # renews _known[0] when RUNTIME_NAMES changed
    out = ix.sync(ns, is_user_name, _known[0], _walker(ns))
    known.update(out[0])
    return out


def _rewalk(ix, ns, names):
    """Walk `names` of ns again and keep the walks in ix (a name no longer
    bound, or bound to what cannot share objects, loses its walk)."""
    walk = None
    for n in names:
        v = ns.get(n, _rewalk) if type(n) is str else _rewalk
        w = None
        if v is not _rewalk:
            walk = walk or _walker(ns)
            w = walk(n, v)
        if w is None:
            ix.reach.drop(n)
        else:
            ix.reach.put(n, v, w)


def _truncated(ix, ns, name):
    """True when name's walk stopped at weft_reach's budget."""
    w = ix.reach.get(name, ns.get(name, _truncated))
    return w is not None and w.truncated


def _ns_tail(before, ns, bound, same_order):
    """(ns_tail, ns_moved) of the record (see the module docstring): `before`
    the namespace copy at begin_tracking, `bound` the names bound in ns's
    order, `same_order` from weft_nsindex.diff. When no name moved, the tail
    is the names new here; otherwise the names kept are compared in order
    (C-level), and only when those moved too is each name looked at."""
    if same_order:
        return [k for k in bound if k not in before], []
    import operator
    kept = list(filter(ns.__contains__, before))
    after_all = list(ns)
    if len(after_all) >= len(kept) and all(map(operator.is_, after_all, kept)):
        return [k for k in after_all[len(kept):] if is_user_name(k)], []
    from weft_fidelity import ns_tail
    before_keys = [k for k in before if is_user_name(k)]
    was = set(before_keys)
    after_keys = [k for k in ns if k in was or is_user_name(k)]
    tail = ns_tail(before_keys, after_keys)
    return tail, [n for n in tail if n in was]


def _walk_names(ns, names):
    """{name: weft_reach.Reach} for the user names of `names` bound in ns to
    something that can share objects: the index's walk of a name still bound
    to the object it walked, else a new walk (not kept)."""
    ix = _ns_index()
    walk = None
    out = {}
    for n in names:
        if not is_user_name(n) or n not in ns:
            continue
        v = ns[n]
        w = ix.reach.get(n, v)
        if w is None:
            walk = walk or _walker(ns)
            w = walk(n, v)
        if w is not None:
            out[n] = w
    return out


def _probe(obj, walk):
    """mutation_probe, plus the state of the user classes and functions the
    object reaches (an instance changes when its class does)."""
    base = mutation_probe(obj)
    if base is None or walk is None or not walk.code:
        return base
    wr = _reach()
    h = blake2b(base, digest_size=32)
    for i in sorted(walk.code):
        fp = wr.code_fingerprint(walk.code[i])
        h.update(fp if fp is not None else b"?")
    return h.digest()


def _shared_writes(reach, bound, mutated, ns):
    """Names the chunk did not bind or change that now share a mutable object
    with a name it did: in a fresh run they are one object from here on, so
    they are saved with it (one pickle) and count as written. `reach`: the
    index's walks (weft_reach.ReachIndex), up to date for the names the chunk
    bound or may have changed. Also notes the code objects the chunk changed
    in place (see _code_unsaveable)."""
    wr = _reach()
    for k in mutated:
        if k in ns and (wr.is_code(ns[k]) or _is_lru(ns[k])):
            _changed_code[id(ns[k])] = ns[k]
    written = set(bound) | set(mutated)
    if not written:
        return []
    return sorted(reach.closure(written, False) - written)


def _code_unsaveable(obj):
    """Why obj's state cannot be saved faithfully (a module or a by-reference
    class or function changed in place, an lru_cache with contents, a global
    of a local module), else None; the planner then replays its chunk."""
    if isinstance(obj, _IMMUTABLE):
        return None
    return _reach().unsaveable_reason(obj, _changed_code)


def _linked_groups(ns, names):
    """Groups (two or more) of `names` linked through shared mutable objects
    that are not all one object (those are op_save's identity groups)."""
    if len(names) < 2:
        return []
    walks = _walk_names(ns, names)
    if len(walks) < 2:
        return []
    out = []
    for comp in _reach().components(walks):
        if len({id(ns[n]) for n in comp}) > 1:
            out.append(comp)
    return out


def save_group(names, directory, ns, sync=True):
    """Save linked names as one pickle of {name: object} (views of a shared
    array base stay views): one item per name, each with its own files of
    equal content, "group" and "member": restore_item takes its name out of
    the dict, and names of one group restored together share objects."""
    for n in names:
        obj = ns[n]
        reason = _code_unsaveable(obj) or _unsaveable_reason(obj)
        if reason is not None:
            return [{"name": m, "unsaveable": True, "type": _typename(ns[m]),
                     "reason": (f"shares objects with {n}, which cannot be saved: {reason}"
                                if m != n else reason)} for m in names]
    wr = _reach()
    walks = _walk_names(ns, names)
    try:
        data, bufs = wr.dump_group({n: ns[n] for n in names}, ns, wr.shared_roots(walks.values()))
    except Exception as e:
        return [{"name": m, "unsaveable": True, "type": _typename(ns[m]),
                 "reason": f"{type(e).__name__}: {e}"} for m in names]
    ppath, bpaths, hashes = _write_pickle_files(directory, data, bufs, sync)
    first = {"name": names[0], "kind": "pickle", "pickle": ppath, "buffers": bpaths,
             "type": _typename(ns[names[0]]), "group": list(names), "member": True}
    if None not in hashes:
        first["hashes"] = hashes
    items = [first]
    for other in names[1:]:
        items.append(dict(first, name=other, type=_typename(ns[other]),
                          pickle=_link_copy(ppath, directory),
                          buffers=[_link_copy(b, directory) for b in bpaths]))
    return items


# real path of a linked group's pickle -> (the loaded {name: object}, names restored from it)
_shared_groups = {}


def _restore_member(item, ns):
    """restore_item for a member of a linked group: a member restored while
    the members restored before from the same pickle are still bound to its
    objects joins them (sharing kept); else the pickle is loaded afresh."""
    name = item["name"]
    key = _item_key(item)
    for k in [k for k, (d, done) in _shared_groups.items()
              if not any(ns.get(m, _shared_groups) is d.get(m) for m in done)]:
        del _shared_groups[k]
    ent = _shared_groups.get(key)
    if ent is not None and name not in ent[1] and name in ent[0]:
        ns[name] = ent[0][name]
        ent[1].add(name)
        return
    group = _load_item(item, ns, lambda g: list(g.values()) if isinstance(g, dict) else [])
    if not isinstance(group, dict) or name not in group:
        raise ValueError(f"{name}: not in its group's pickle")
    ns[name] = group[name]
    _shared_groups[key] = (group, {name})


def _load_item(item, ns, tops):
    """Unpickle a saved item's pickle and buffers (mapped copy-on-write) for
    namespace ns; tops as in _load_keeping_classes. cloudpickle's function
    setstate rebinds __builtins__ in the function's globals (here: ns) to a
    dict: the module is put back."""
    if "_pickle_fd" in item:
        bufs = [_map_fd(fd) for fd in item["_buffer_fds"]]
        data = fd_bytes(item["_pickle_fd"])
    else:
        bufs = [_map_buffer(p) for p in item.get("buffers", ())]
        with open(item["pickle"], "rb") as f:
            data = f.read()
    had = ns.get("__builtins__", _shared)
    try:
        return _load_keeping_classes(data, bufs, tops)
    finally:
        if had is _shared:
            ns.pop("__builtins__", None)
        elif ns.get("__builtins__", _shared) is not had:
            ns["__builtins__"] = had


def _load_keeping_classes(data, bufs, tops):
    """Unpickle; a class of __main__ that already exists here (cloudpickle
    finds it by its tracker id) keeps its current attributes, unless it is
    itself one of the restored objects (`tops(result)`): an instance saved
    before `C.x = 2` must not put the old x back on the live class."""
    import _pickle
    if b"_class_setstate" not in data:
        return _pickle.loads(data, buffers=bufs)
    try:
        import cloudpickle.cloudpickle as cp
        import cloudpickle.cloudpickle_fast as cpf
        tracker = cp._DYNAMIC_CLASS_TRACKER_BY_CLASS
        orig = cpf._class_setstate
    except (ImportError, AttributeError):
        return _pickle.loads(data, buffers=bufs)
    existing = {id(c) for c in list(tracker.keys())}
    skipped = []

    def setstate(obj, state):
        if id(obj) in existing:
            skipped.append((obj, state))
            return obj
        return orig(obj, state)
    cpf._class_setstate = setstate
    try:
        result = _pickle.loads(data, buffers=bufs)
    finally:
        cpf._class_setstate = orig
    top = {id(o) for o in tops(result)}
    for obj, state in skipped:
        if id(obj) in top:
            orig(obj, state)
    return result


def _local_module_states():
    """{module name: (module, state digest)} for the document's own modules
    loaded now (weft_reach.code_fingerprint); empty, and cheap, when there are none."""
    wr = _reach()
    return {m.__name__: (m, wr.code_fingerprint(m)) for m in wr._local_modules()}


def _changed_modules(before):
    """Pseudo-names "<module NAME>" of the local modules loaded before the
    chunk whose state it changed in place. A name taken from such a module
    (from helper import calls) reads its pseudo-name (weft_analysis), so
    its readers depend on the chunk, which the planner replays to rebuild
    the module's state (save_name reports the pseudo-name unsaveable)."""
    if not before:
        return []
    wr = _reach()
    out = []
    for name, (mod, fp) in before.items():
        if sys.modules.get(name) is mod and wr.code_fingerprint(mod) != fp:
            _changed_code[id(mod)] = mod
            out.append(f"<module {name}>")
    return out
