"""weft_inputs: what a tracked chunk reads besides the files it opens, and the
files and folders it deletes or makes.

weft_state calls, around a chunk that runs with tracking on:

    begin(token)            after its token is made (token.files, token.prefixes)
    extra = end(token)      after the chunk; extra goes into the tracking record

    extra = {
      "inputs": [typed inputs, in the order first seen; paths absolute]
          {"t": "stat", "p": path, "l": 0|1 (lstat), "lv": "k"|"s"|"m",
           "k": "missing"|"file"|"dir"|"link"|"other"|"err<errno>",
           "size": int (lv s, m), "mtime": int ns (lv m)}
              an existence check (os.path.exists/isfile/isdir/lexists/islink:
              lv "k"), a size (getsize: "s"), or a whole stat result
              (os.stat/lstat, pathlib's stat, exists, is_file...: "m"); a
              file the chunk tried to open for reading and that was not a
              file ("k"): an optional file that appears later is seen.
          {"t": "content", "p": path, "h": hex}   a file the chunk read and
              then changed (opened for update, rewritten, deleted, renamed
              over): BLAKE2b-256 of the bytes it held before the change (the
              fingerprint of files read is taken after the chunk).
          {"t": "list", "p": path, "h": hex}   a folder listed (os.listdir,
              os.scandir, hence glob, os.walk, pathlib iterdir/glob): h is
              listing_digest(path) when listed.
          {"t": "env", "n": name, "v": value or None}   an environment
              variable read (os.environ[...], get, in, os.getenv): its value
              in the environment weft was started with (the world outside
              the document; a value an earlier chunk set is that chunk's
              business), None when unset.
          {"t": "environ", "h": hex}   the whole environment read (iterated,
              copied): environ_digest() of weft's starting environment.
          {"t": "cwd", "p": path}   the working directory's path read
              (os.getcwd, hence abspath of a relative path, Path.cwd()).
      "subprocesses": [command text]: subprocess.Popen, os.system, os.exec*,
              os.posix_spawn*, os.spawn*, os.fork: their reads are unknown.
              Not counted: the machine queries of platform, ctypes.util and
              uuid, and subprocesses a library module starts while it is
              imported (its top-level code: pandas asks for `uname -p`).
      "fs_ops": [[op, path]] in order: "rm" (os.remove/unlink, and the
              source of os.rename/replace), "rmdir", "rmtree", "mkdir".
    }

Checked later without Python (src/planner/inputs.c) by recomputing each input
the same way: a listing digest is the BLAKE2b-256 (hex) of, for each entry
name sorted as bytes, name + b"\\0" + type + b"\\n" with type "d" (folder),
"f" (regular file), "l" (symlink) or "o", or of b"missing" / b"notdir" /
b"err<errno>" when the folder cannot be listed.

Recording is active only while a chunk is tracked: wrappers replace os.stat,
os.lstat, os.getcwd(b), the os.path checks and os.environ's class at begin and
are put back at end; one audit hook (installed once) returns at once when no
chunk is tracked. Calls made by weft's own code (first non-stdlib caller is an
embedded '<weft>/' module) are not recorded, nor the import system's scans
of sys.path folders. Paths under token.prefixes (the cache, Python's own
files, /usr/lib, ...) are ignored, as for files opened.

Known limits: functions bound before tracking began (`from os.path import
exists` in a module imported earlier) and C code reading the file system or
the environment directly (getenv in an extension) are not seen; a listing
through a file descriptor (os.fwalk) is not recorded; a local module that
appears later and would shadow an installed one imported by a cached chunk is
not seen (the import system's folder scans are not inputs).
"""

# Cheap at import: the worker imports this with weft_state for the first tracked chunk.
import os
import posixpath
import sys
from _blake2 import blake2b

_tok = None                 # the weft_state token of the chunk being tracked
_busy = False               # weft_inputs' own work in progress: record nothing
_hook_installed = False
_rec = None                 # the _Record of the chunk being tracked
_saved = {}                 # (module, name) -> original, while tracking
_env0 = None                # weft's starting environment: {bytes name: bytes value}
_stdlib = None              # directory of the standard library (callers there are skipped)

_ORIG_STAT = os.stat
_ORIG_LSTAT = os.lstat
_ORIG_GETCWD = os.getcwd
_ORIG_SCANDIR = os.scandir

# MPLBACKEND is forced to Agg in the worker (worker.c): its outside value changes nothing.
_ENV_IGNORED = frozenset(("MPLBACKEND",))

_SUBPROCESS_EVENTS = frozenset(("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                                "os.spawn", "os.fork", "os.forkpty", "pty.spawn"))


class _Record:
    """What the tracked chunk read and did, beyond files opened."""

    def __init__(self, token):
        self.token = token
        self.inputs = []
        self.seen = set()         # keys of inputs recorded (first one wins)
        self.subprocesses = []
        self.fs_ops = []
        self.opened = set()       # paths opened so far
        # (path as passed, follow, level) of checks already recorded: repeated calls
        # skip the caller walk; emptied when the working directory changes
        self.fast = set()
        self.env_seen = set()     # variable names already recorded (or the chunk's own)
        self.made = set()         # folders the chunk made (they did not exist before)

    def own(self, p):
        """Is p inside a folder this chunk made? Then checks and listings there are
        its own effects (a temporary folder), not inputs from outside."""
        made = self.made
        if not made:
            return False
        while p != "/":
            if p in made:
                return True
            p = posixpath.dirname(p)
        return False

    def add(self, key, item):
        """Record an input once: the first observation is what came from outside."""
        if key not in self.seen:
            self.seen.add(key)
            self.inputs.append(item)


def _kind_of(st):
    """The kind of a stat result."""
    import stat as _st
    m = st.st_mode
    if _st.S_ISREG(m):
        return "file"
    if _st.S_ISDIR(m):
        return "dir"
    if _st.S_ISLNK(m):
        return "link"
    return "other"


def _err_kind(exc):
    """The kind recorded when stat fails: missing, or the errno."""
    import errno
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG):
        return "missing"
    return "err%d" % (exc.errno or 0)


def _abs(path):
    """Absolute normalised text path (no recording: uses the real getcwd)."""
    path = os.fsdecode(os.fspath(path))
    if not path.startswith("/"):
        path = posixpath.join(_ORIG_GETCWD(), path)
    return posixpath.normpath(path)


def _ignored(path):
    """Paths that are not the document's inputs: under the token's prefixes, or
    the folders leading to Python's own files (realpath walking /usr/bin)."""
    tok = _tok
    return tok is None or path.startswith(tok.prefixes) or "/__pycache__/" in path or \
        path in _system_paths()


_system = None


def _system_paths():
    """The interpreter and the folders leading to it, to its library and to
    matplotlib's configuration folders: libraries stat them while importing."""
    global _system
    if _system is None:
        out = set()
        home = posixpath.expanduser("~")
        roots = [os.path.realpath(sys.executable), sys.executable, "/usr/lib/python3", "/usr/share/",
                 home + "/.cache/matplotlib/", home + "/.config/matplotlib/"]
        roots += [posixpath.join(os.path.realpath(p), "lib/") for p in (sys.prefix, sys.base_prefix)]
        for r in roots:
            r = posixpath.normpath(r)
            while r not in out and r != "/":
                out.add(r)
                r = posixpath.dirname(r)
        out.add("/")
        _system = frozenset(out)
    return _system


def _caller():
    """Who made the call being recorded: "weft" when the first caller outside
    the standard library is weft's own embedded code (weft_state noting a file
    calls abspath, realpath...), "import" for the import system's own
    directory scans, else "user" (the chunk, or a library it called)."""
    global _stdlib
    if _stdlib is None:
        _stdlib = posixpath.dirname(posixpath.__file__) + "/"
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if fn == _SELF:
            f = f.f_back
            continue
        if fn.startswith(_OWN_DIR):
            return "weft"
        if fn == "<frozen importlib._bootstrap_external>":
            return "import"
        if not fn.startswith(_stdlib) and not fn.startswith("<frozen "):
            return "user"
        f = f.f_back
    return "user"


def _weft_caller():
    """True when weft's own code made the call (see _caller)."""
    return _caller() == "weft"


_SELF = _caller.__code__.co_filename
_OWN_DIR = posixpath.dirname(_SELF) + "/"       # "<weft>/" when embedded


def _active():
    """Should the current wrapper call be recorded?"""
    return _rec is not None and not _busy and not _weft_caller()


def _probe(path, follow, level, st=None, exc=None):
    """Record an existence/size/stat check of `path` with its result."""
    global _busy
    rec = _rec
    _busy = True
    try:
        if type(path) in (str, bytes):
            rec.fast.add((path, follow, level))     # the same call again records nothing new
        p = _abs(path)
        if _ignored(p):
            return
        files = rec.token.files.get(p)
        if files is not None and files[1] & 2 or rec.own(p):   # the chunk's own file or folder
            return
        if st is None and exc is None:
            try:
                st = (_ORIG_STAT if follow else _ORIG_LSTAT)(p)
            except OSError as e:
                exc = e
        item = {"t": "stat", "p": p, "l": 0 if follow else 1, "lv": level}
        if exc is not None:
            item["k"] = _err_kind(exc)
        else:
            item["k"] = _kind_of(st)
            if level in ("s", "m"):
                item["size"] = st.st_size
            if level == "m":
                item["mtime"] = st.st_mtime_ns
        rec.add(("stat", p, follow, level), item)
    except Exception:       # recording must never break the chunk
        pass
    finally:
        _busy = False


def _wrap_stat(orig, follow):
    """os.stat / os.lstat: the whole result is visible to the caller."""
    def stat(path, *args, **kw):
        rec = _rec
        if rec is None or _busy or args or kw.get("dir_fd") is not None or isinstance(path, int) or \
                (type(path) in (str, bytes) and (path, follow, "m") in rec.fast) or not _active():
            return orig(path, *args, **kw)
        try:
            st = orig(path, *args, **kw)
        except OSError as exc:
            _probe(path, follow and kw.get("follow_symlinks", True), "m", exc=exc)
            raise
        _probe(path, follow and kw.get("follow_symlinks", True), "m", st=st)
        return st
    stat.__wrapped__ = orig
    return stat


def _wrap_check(orig, follow, level):
    """os.path.exists & co.: only the kind (or the size) is visible."""
    def check(path, *args, **kw):
        global _busy
        rec = _rec
        if rec is None or _busy or isinstance(path, int):
            return orig(path, *args, **kw)
        if not (type(path) in (str, bytes) and (path, follow, level) in rec.fast) and not _weft_caller():
            _probe(path, follow, level)
        _busy = True            # its inner os.stat is not a stat of its own
        try:
            return orig(path, *args, **kw)
        finally:
            _busy = False
    check.__wrapped__ = orig
    return check


def _wrap_getcwd(orig):
    """os.getcwd / getcwdb: the working directory's path."""
    def getcwd():
        cwd = orig()
        if _active():
            _rec.add(("cwd",), {"t": "cwd", "p": os.fsdecode(cwd)})
        return cwd
    getcwd.__wrapped__ = orig
    return getcwd


def _environ0():
    """weft's starting environment: the worker is forked from weft (no exec),
    so /proc/self/environ is what weft was started with; C checks getenv."""
    global _env0
    if _env0 is None:
        try:
            with open("/proc/self/environ", "rb") as f:
                data = f.read()
            env = {}
            for item in data.split(b"\0"):
                if item:
                    k, _, v = item.partition(b"=")
                    env.setdefault(k, v)
            _env0 = env
        except OSError:
            _env0 = {os.fsencode(k): os.fsencode(v) for k, v in os.environ.items()}
    return _env0


def environ_digest(env):
    """Digest of a whole environment {bytes: bytes}: sorted b"k=v" entries."""
    h = blake2b(digest_size=32)
    for k in sorted(env):
        h.update(k + b"=" + env[k] + b"\0")
    return h.hexdigest()


def _note_env(name):
    """Record an environment variable read by the chunk."""
    rec = _rec
    if rec is None or _busy or not isinstance(name, str) or name in rec.env_seen or name in _ENV_IGNORED:
        return
    if _weft_caller():
        return
    rec.env_seen.add(name)
    v = _environ0().get(os.fsencode(name))
    rec.add(("env", name), {"t": "env", "n": name, "v": None if v is None else os.fsdecode(v)})


def _note_environ():
    """Record a read of the whole environment."""
    rec = _rec
    if rec is None or _busy or _weft_caller():
        return
    env = {k: v for k, v in _environ0().items() if os.fsdecode(k) not in _ENV_IGNORED}
    rec.add(("environ",), {"t": "environ", "h": environ_digest(env)})


def _tracked_environ_class(base):
    """A subclass of os.environ's class that records reads (swapped in while tracking)."""
    class TrackedEnviron(base):
        def __getitem__(self, key):
            _note_env(key)
            return base.__getitem__(self, key)

        def __contains__(self, key):
            _note_env(key)
            return base.__contains__(self, key)

        def __iter__(self):
            _note_environ()
            return base.__iter__(self)

        def __len__(self):
            _note_environ()
            return base.__len__(self)

        def __setitem__(self, key, value):
            if _rec is not None:
                _rec.env_seen.add(key)
            base.__setitem__(self, key, value)

        def __delitem__(self, key):
            if _rec is not None:
                _rec.env_seen.add(key)
            base.__delitem__(self, key)

        def copy(self):
            _note_environ()
            return base.copy(self)
    TrackedEnviron.__name__ = base.__name__
    TrackedEnviron.__qualname__ = base.__qualname__
    return TrackedEnviron


_env_class = None


def listing_digest(path):
    """Digest of a folder's listing (see the module docstring)."""
    h = blake2b(digest_size=32)
    try:
        entries = []
        with _ORIG_SCANDIR(os.fsencode(path)) as it:
            for e in it:
                try:
                    if e.is_symlink():
                        t = b"l"
                    elif e.is_dir(follow_symlinks=False):
                        t = b"d"
                    elif e.is_file(follow_symlinks=False):
                        t = b"f"
                    else:
                        t = b"o"
                except OSError:
                    t = b"o"
                entries.append((e.name, t))
        entries.sort()
        for name, t in entries:
            h.update(name + b"\0" + t + b"\n")
    except OSError as exc:
        import errno
        if exc.errno == errno.ENOENT:
            h.update(b"missing")
        elif exc.errno == errno.ENOTDIR:
            h.update(b"notdir")
        else:
            h.update(b"err%d" % (exc.errno or 0))
    return h.hexdigest()


def _audit(event, args):
    """Audit hook: listings, subprocesses, deletions and folders made. Never raises."""
    global _busy
    rec = _rec
    if rec is None or _busy:
        return
    try:
        _busy = True
        if event == "open":
            _note_open(rec, args)
        elif event == "os.chdir":
            rec.fast.clear()
        elif event in ("os.listdir", "os.scandir"):
            path = args[0] if args else None
            if isinstance(path, int):
                return
            p = _abs("." if path is None else path)
            if not _ignored(p) and ("list", p) not in rec.seen and not rec.own(p) and _caller() == "user":
                rec.add(("list", p), {"t": "list", "p": p, "h": listing_digest(p)})
        elif event in _SUBPROCESS_EVENTS:
            if not _machine_query():
                rec.subprocesses.append(_command_text(event, args))
        elif event in ("os.remove", "os.rmdir", "shutil.rmtree", "os.mkdir"):
            if len(args) > 1 and args[-1] not in (None, -1):
                return                              # relative to a dir_fd: unknown path
            if event != "os.mkdir":
                _note_content_before_change(rec, args[0], event == "shutil.rmtree")
            elif not isinstance(args[0], int) and not os.path.lexists(args[0]):
                rec.made.add(_abs(args[0]))         # what happens inside is the chunk's own doing
            _fs_op({"os.remove": "rm", "os.rmdir": "rmdir", "shutil.rmtree": "rmtree",
                    "os.mkdir": "mkdir"}[event], args[0])
        elif event in ("os.rename", "os.replace"):
            src = args[0]
            if not isinstance(src, int) and os.path.lexists(src):
                _note_content_before_change(rec, src, False)
                _fs_op("rm", src)
            if not isinstance(args[1], int):
                _note_content_before_change(rec, args[1], False)
    except Exception:
        pass
    finally:
        _busy = False


def _content_digest(path):
    """BLAKE2b-256 (hex) of a file's bytes, or None when it cannot be read."""
    h = blake2b(digest_size=32)
    try:
        with open(path, "rb", buffering=0) as f:   # _busy is set: not recorded
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
    except OSError:
        return None
    return h.hexdigest()


def _note_content(rec, p):
    """Record what a file held when the chunk read it, before the chunk changes it."""
    if ("content", p) in rec.seen:
        return
    h = _content_digest(p)
    if h is not None:
        rec.add(("content", p), {"t": "content", "p": p, "h": h})


def _note_content_before_change(rec, path, tree):
    """A file (or, for a tree, any file under it) the chunk read first is about to be
    deleted or replaced: the fingerprint taken after the chunk cannot say what it read."""
    if isinstance(path, int) or path is None:
        return
    p = _abs(path)
    files = rec.token.files
    if tree:
        prefix = p + "/"
        for q, (first, _) in list(files.items()):
            if first & 1 and q.startswith(prefix):
                _note_content(rec, q)
    else:
        entry = files.get(p)
        if entry is not None and entry[0] & 1:
            _note_content(rec, p)


def _note_open(rec, args):
    """An "open" event (weft_state's hook has noted the file already): a read of a
    missing file is an existence check; a file opened for update, or written after
    the chunk read it, is recorded with the content it had before the change."""
    path, mode, flags = args
    if isinstance(path, int) or path is None:
        return
    if isinstance(mode, str):
        write = any(c in mode for c in "wxa+")
        update = "+" in mode and ("r" in mode or "a" in mode)
    elif isinstance(flags, int):
        acc = flags & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
        write = acc != os.O_RDONLY
        update = acc == os.O_RDWR and not flags & os.O_TRUNC
    else:
        return
    p = _abs(path)
    if _ignored(p) or rec.own(p):
        return
    if not write:
        rec.opened.add(p)
        key = ("stat", p, True, "k")
        if key not in rec.seen:
            try:
                st = _ORIG_STAT(p)
                kind = None if _kind_of(st) == "file" else _kind_of(st)
            except OSError as exc:
                kind = _err_kind(exc)
            if kind is not None:
                rec.add(key, {"t": "stat", "p": p, "l": 0, "lv": "k", "k": kind})
        return
    entry = rec.token.files.get(p)
    opened_before = p in rec.opened
    rec.opened.add(p)
    # read first (earlier, or by this very open for update), now changed in place
    if entry is not None and entry[0] & 1 and (update or opened_before):
        _note_content(rec, p)


def memmaps_written(ns, names):
    """Files behind writable np.memmap objects among `names` of ns (bound or
    mutated by the chunk), flushed: writes through the mapping change the file
    without any open, so weft_state counts these files as written."""
    np = sys.modules.get("numpy")
    if np is None:
        return []
    out = []
    for n in names:
        v = ns.get(n)
        if isinstance(v, np.memmap) and getattr(v, "filename", None) and v.mode in ("r+", "w+"):
            try:
                v.flush()
            except Exception:
                pass
            out.append(v.filename)
    return out


def _fs_op(op, path):
    """Append a deletion or folder creation, collapsing what an rmtree covers."""
    if isinstance(path, int) or path is None:
        return
    p = _abs(path)
    if _ignored(p):
        return
    ops = _rec.fs_ops
    if ops and ops[-1][0] == "rmtree" and op in ("rm", "rmdir") and \
            (p == ops[-1][1] or p.startswith(ops[-1][1] + "/")):
        return                                      # shutil.rmtree's own unlinks
    if ops and ops[-1] == [op, p]:
        return
    ops.append([op, p])


# Standard-library modules whose subprocesses ask about the machine (uname -p,
# ldconfig), not about the document's files: outside the contract, like the clock.
_MACHINE_QUERIES = ("platform.py", "ctypes/util.py", "uuid.py")


def _machine_query():
    """Is the subprocess being started a query about the machine rather than a
    reader of the document's inputs: started by platform/ctypes.util/uuid, or
    by a library module's own top-level code while it is imported (pandas'
    __init__ asks platform for the processor)?"""
    global _stdlib
    if _stdlib is None:
        _stdlib = posixpath.dirname(posixpath.__file__) + "/"
    prefixes = _tok.prefixes if _tok is not None else ()
    f = sys._getframe(2)
    while f is not None:
        fn = f.f_code.co_filename
        if fn.startswith(_stdlib) and fn[len(_stdlib):] in _MACHINE_QUERIES:
            return True
        if f.f_code.co_name == "<module>" and fn.startswith(prefixes):
            return True
        f = f.f_back
    return False


def _command_text(event, args):
    """A short text naming a subprocess, for the reason shown to the user."""
    try:
        if event == "os.system":
            cmd = os.fsdecode(args[0])
        elif event == "subprocess.Popen":
            a = args[1]
            cmd = os.fsdecode(a) if isinstance(a, (str, bytes)) else " ".join(os.fsdecode(x) for x in a)
        elif event in ("os.exec", "os.posix_spawn"):
            cmd = " ".join(os.fsdecode(x) for x in args[1])
        elif event == "os.spawn":
            cmd = " ".join(os.fsdecode(x) for x in args[2])
        else:
            cmd = event
    except Exception:
        cmd = event
    return cmd if len(cmd) <= 60 else cmd[:57] + "..."


def _install():
    """Swap the wrappers in (while tracking)."""
    global _env_class
    wrappers = {
        (os, "stat"): _wrap_stat(os.stat, True),
        (os, "lstat"): _wrap_stat(os.lstat, False),
        (os, "getcwd"): _wrap_getcwd(os.getcwd),
        (os, "getcwdb"): _wrap_getcwd(os.getcwdb),
        (posixpath, "exists"): _wrap_check(posixpath.exists, True, "k"),
        (posixpath, "lexists"): _wrap_check(posixpath.lexists, False, "k"),
        (posixpath, "isfile"): _wrap_check(posixpath.isfile, True, "k"),
        (posixpath, "isdir"): _wrap_check(posixpath.isdir, True, "k"),
        (posixpath, "islink"): _wrap_check(posixpath.islink, False, "k"),
        (posixpath, "getsize"): _wrap_check(posixpath.getsize, True, "s"),
    }
    pathlib = sys.modules.get("pathlib")
    if pathlib is not None:
        # only the kind is visible (their inner stat() is not recorded on its own);
        # pathlib imported by the chunk itself gets the os.stat record instead
        for name, follow in (("exists", True), ("is_file", True), ("is_dir", True), ("is_symlink", False)):
            orig = pathlib.Path.__dict__.get(name)
            if orig is not None:
                wrappers[(pathlib.Path, name)] = _wrap_check(orig, follow, "k")
    for (mod, name), fn in wrappers.items():
        _saved[(mod, name)] = getattr(mod, name)
        setattr(mod, name, fn)
    env = os.environ
    if _env_class is None or not isinstance(env, _env_class.__mro__[1]):
        _env_class = _tracked_environ_class(type(env))
    _saved[("environ", "class")] = type(env)
    try:
        env.__class__ = _env_class
    except TypeError:
        del _saved[("environ", "class")]


def _uninstall():
    """Put the originals back (unless a chunk replaced them itself meanwhile)."""
    for key, orig in list(_saved.items()):
        if key == ("environ", "class"):
            if type(os.environ) is _env_class:
                os.environ.__class__ = orig
            continue
        mod, name = key
        cur = getattr(mod, name, None)
        if getattr(cur, "__wrapped__", None) is orig:
            setattr(mod, name, orig)
    _saved.clear()


def begin(token):
    """Start recording for the chunk tracked with weft_state `token`."""
    global _hook_installed, _rec, _tok
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    _tok = token
    _rec = _Record(token)
    _install()


def end(token):
    """Stop recording; the extra fields of the tracking record."""
    global _rec, _tok, _busy
    rec = _rec
    _uninstall()
    _rec = None
    if rec is None or rec.token is not token:
        _tok = None
        return {"inputs": [], "subprocesses": [], "fs_ops": []}
    _tok = None
    subs = list(dict.fromkeys(rec.subprocesses))
    return {"inputs": rec.inputs, "subprocesses": subs, "fs_ops": rec.fs_ops}
