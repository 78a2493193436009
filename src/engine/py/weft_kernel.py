"""weft_kernel: weft's runtime inside a Python Jupyter kernel (ipykernel).

With `weft --kernel NAME` and a kernel whose language is Python, the chunk
cache works as with the embedded engine: src/engine/kernel_runtime.c sends
the runtime's files (the same ones the worker embeds) once, in a silent
execute_request that runs this module's boot(); from then on every op of
protocol_schema.h is one silent execute_request whose user expression calls
call(request_json), and the reply comes back as the expression's value, a
JSON text under the MIME type REPLY_MIME (never a display: nothing reaches
the report). Chunks themselves still run as IPython cells, so their
outputs are the kernel's; a tracked chunk is bracketed by the runtime's
track_begin and track_end ops, as inline code is in the embedded engine.

The worker's C module `_weft` is replaced by a pure Python one (native()):
no XXH3 hashing of written files (weft_state then gives no "hashes", and
the store hashes the blob files it receives), events dropped (weft's own
ops emit none a report shows).

What differs from the worker, and how it stays sound:
  * The kernel's execution count is set before each tracked chunk to the
    one a render without cache has there (one per chunk cell, one per
    statement in term mode, none for inline code; the units before it come
    from doc_lines and track_begin), so tracebacks show a fresh run's
    "Cell In[n]".
  * A function restored from the cache keeps the cell file name of the kernel
    that ran its chunk (/tmp/ipykernel_PID/HASH.py): IPython's cell map
    (_CellNumbers) and linecache answer for such files with the cell number
    and lines of the document chunk whose code has that HASH.
  * The kernel's own names (get_ipython, exit, quit, ...) and IPython's
    history (_ __ ___ _i _ii _iii _iN _N In Out _oh _ih _dh), which lives
    in the shell as well as in the namespace, are never tracked or saved
    (weft_state.RUNTIME_NAMES); the planner turns the cache off for a
    document that reads history (kernel_runtime.h).

Import cost: only sys at top level (the worker may import this module while
looking for an op; it defines no op_ function).
"""

import os
import sys

REPLY_MIME = "application/vnd.weft.reply+json"

# IPython's history: values and inputs of earlier cells (also _iN and _N),
# kept in the shell's own state as well as in the namespace, and the
# containers of all cells. Never tracked or saved: a cached render's differ
# from a fresh run's, so the planner turns the cache off for a document
# that reads any of them (kernel_runtime_history_read, in C).
HISTORY_NAMES = frozenset(("_", "__", "___", "_i", "_ii", "_iii", "In", "Out",
                           "_oh", "_ih", "_dh"))

_SOURCES = {}
_STATE = {"cells_seen": False, "runtime": None}


def is_history_name(name):
    """True for IPython's history names: the fixed ones and _iN / _N."""
    if name in HISTORY_NAMES:
        return True
    if name.startswith("_i") and name[2:].isdigit():
        return True
    return name.startswith("_") and name[1:].isdigit()


def native():
    """A pure Python stand-in for the worker's `_weft` module."""
    import types  # pylint: disable=import-outside-toplevel
    mod = types.ModuleType("_weft", "weft's worker channel, as seen inside a Jupyter kernel")

    def send(_msg):
        """Events of weft's own ops are not shown: dropped."""

    def write(fd, text):
        """Text for fd 1 or 2 goes to the kernel's streams."""
        (sys.stdout if fd == 1 else sys.stderr).write(text)

    mod.send = send
    mod.sync = lambda: None
    mod.write = write
    mod.set_statement = lambda _index: None
    mod.in_worker = lambda: False
    mod.recv = lambda: None
    mod.code = lambda _name: None
    mod.source = _SOURCES.get
    mod.names = lambda: sorted(_SOURCES)
    return mod


def _load(name):
    """Define module `name` from its sent source (file name '<weft>/NAME.py')."""
    import types  # pylint: disable=import-outside-toplevel
    mod = types.ModuleType(name)
    mod.__file__ = "<weft>/" + name + ".py"
    sys.modules[name] = mod
    exec(compile(_SOURCES[name + ".py"], mod.__file__, "exec", dont_inherit=True),  # pylint: disable=exec-used
         mod.__dict__)
    return mod


def _shell():
    """The kernel's InteractiveShell, or None (outside a kernel: tests)."""
    ip = sys.modules.get("IPython")
    get = getattr(ip, "get_ipython", None) if ip is not None else None
    return get() if get is not None else None


def boot(sources, doc_path):
    """Install weft's runtime in this kernel: the `_weft` stand-in, weft_runtime
    (its DOC_PATH the document's), the finder for the other weft_* modules,
    IPython's names registered as the runtime's, and the linecache watch."""
    _SOURCES.clear()
    _SOURCES.update(sources)
    if "_weft" not in sys.modules:
        sys.modules["_weft"] = native()
    runtime = _load("weft_runtime")
    runtime.DOC_PATH = doc_path
    sys.meta_path.insert(0, runtime.EmbeddedFinder())
    _STATE["runtime"] = runtime
    state = runtime.find_module("weft_state")
    shell = _shell()
    if shell is not None:
        state.RUNTIME_NAMES.update(n for n in shell.user_ns_hidden
                                   if not (n.startswith("__") and n.endswith("__")))
        _map_cell_names(shell)
    state.RUNTIME_NAMES.update(HISTORY_NAMES)
    _hide_history(runtime)
    _watch_cells()


def _hide_history(runtime):
    """Register the _iN / _N names the kernel made since the last request."""
    state = sys.modules.get("weft_state")
    if state is None:
        return
    ns = runtime._main_ns()  # pylint: disable=protected-access
    state.RUNTIME_NAMES.update(k for k in ns if type(k) is str and is_history_name(k))


# -- the kernel's cell numbers, as a render without cache has them -----------

# document line -> (cells a render without cache executes for the unit, its code)
_UNITS = {}
# a cell's file base name (its code's hash) -> [document line, code]
_CELL_FILES = {}


def _executions(code, chunk, term):
    """How many cells (execution counts) running this unit takes: none for
    inline code (silent) and blank code, one per top-level statement in term
    mode (jupyter_engine.c runs them one by one), else one."""
    if not chunk or not code.strip():
        return 0
    if not term:
        return 1
    import ast  # pylint: disable=import-outside-toplevel
    try:
        return len(ast.parse(code).body)
    except (SyntaxError, ValueError):
        return 1            # run whole, as jupyter_engine.c does


def _note_unit(line, code, chunk, term):
    """Remember a unit of the document (run here, or cached) and its cells' file name."""
    _UNITS[line] = (_executions(code, chunk, term), code)
    shell = _shell()
    if shell is None or not chunk:
        return
    try:
        name = shell.compile.get_code_name(code, shell.transform_cell(code), 0)
    except Exception:  # pylint: disable=broad-except
        return
    import os  # pylint: disable=import-outside-toplevel
    _CELL_FILES[os.path.basename(name)] = [line, code]


def _count_before(line):
    """The execution count a render without cache gives the unit at `line`."""
    return 1 + sum(n for ln, (n, _code) in _UNITS.items() if ln < line)


def set_execution_count(line):
    """Give the kernel the execution count a render without cache has here, so
    tracebacks ("Cell In[n]") and _iN / _N names are the same."""
    shell = _shell()
    if shell is not None:
        shell.execution_count = _count_before(line)


def _foreign_cell(filename):
    """[line, code] of the document unit whose cell file `filename` is, when it
    is a cell of another kernel process (a function restored from the cache
    keeps the file name of the kernel that ran its chunk), else None."""
    import os  # pylint: disable=import-outside-toplevel
    if not isinstance(filename, str) or not os.path.basename(os.path.dirname(filename)).startswith("ipykernel_"):
        return None
    return _CELL_FILES.get(os.path.basename(filename))


class _CellNumbers(dict):
    """IPython's cell file -> execution count map (compile._filename_map),
    also answering for cells of other kernel processes (_foreign_cell)."""

    def __contains__(self, name):
        return dict.__contains__(self, name) or _foreign_cell(name) is not None

    def __getitem__(self, name):
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        cell = _foreign_cell(name)
        if cell is None:
            raise KeyError(name)
        return _count_before(cell[0])

    def get(self, name, default=None):
        return self[name] if name in self else default


def _map_cell_names(shell):
    """Tracebacks name a restored function's cell as a fresh run does
    ("Cell In[n]"): IPython looks cell files up in compile._filename_map
    (through format_code_name from IPython 8.6 on)."""
    comp = shell.compile
    if not isinstance(getattr(comp, "_filename_map", None), _CellNumbers):
        comp._filename_map = _CellNumbers(getattr(comp, "_filename_map", None) or {})  # pylint: disable=protected-access


def _is_cell_file(filename):
    """Is `filename` the file name of a kernel cell (this kernel's or another's)?"""
    if not isinstance(filename, str):
        return False
    if filename.startswith("<ipython-input-"):
        return True
    shell = _shell()
    names = getattr(getattr(shell, "compile", None), "_filename_map", None)
    if names is not None and filename in names:
        return True
    import os  # pylint: disable=import-outside-toplevel
    return os.path.basename(os.path.dirname(filename)).startswith("ipykernel_")


def _watch_cells():
    """Wrap linecache.getlines once: note look-ups of kernel cells' lines."""
    import linecache  # pylint: disable=import-outside-toplevel
    real = linecache.getlines
    if getattr(real, "_weft_cells", False):
        return

    def getlines(filename, module_globals=None):
        if _is_cell_file(filename):
            _STATE["cells_seen"] = True
        lines = real(filename, module_globals)
        cell = _foreign_cell(filename) if not lines else None
        if cell is not None:   # a restored function's chunk: its lines, as the fresh run's cell
            lines = cell[1].splitlines(True)
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
        return lines

    getlines._weft_cells = True
    linecache.getlines = getlines


def _track_begin(runtime, req):
    """The runtime's track_begin, after the kernel's execution count is set."""
    code = req.pop("code", None)
    line = req.pop("line", None)
    if isinstance(line, int) and isinstance(code, str):   # a chunk (inline spans have no cell)
        _note_unit(line, code, True, bool(req.pop("term", False)))
        set_execution_count(line)
    _STATE["cells_seen"] = False
    return runtime.dispatch(req)


def _track_end(runtime, req):
    """The runtime's track_end; a chunk that raised or quoted kernel cells is
    keyed on the document's layout, as the worker does for document lines."""
    failed = bool(req.pop("failed", False))
    reply = runtime.dispatch(req)
    rec = reply.get("tracked") if isinstance(reply, dict) else None
    if rec is None:
        return reply
    if failed or _STATE["cells_seen"]:   # a traceback or warning: keyed on the layout
        rec["source_lines"] = True
    return reply


class Reply:
    """A reply as a user expression's value: its JSON text under REPLY_MIME."""

    def __init__(self, text):
        self._text = text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {REPLY_MIME: self._text, "text/plain": "<weft reply>"}

    def __repr__(self):
        return "<weft reply>"


def call(text):
    """Handle one request (JSON text) with the runtime's dispatcher; its reply."""
    import json  # pylint: disable=import-outside-toplevel
    runtime = _STATE["runtime"]
    try:
        req = json.loads(text)
    except ValueError as exc:
        return Reply(json.dumps({"ok": False, "error": "bad request: %s" % exc}))
    if runtime is None:
        return Reply(json.dumps({"ok": False, "error": "weft's runtime is not installed in the kernel"}))
    _hide_history(runtime)
    op = req.get("op") if isinstance(req, dict) else None
    try:
        opened = _open_parent_fds(req)
    except OSError as exc:
        return Reply(json.dumps({"ok": False, "error": "op %s: cannot open weft's verified blobs: %s" % (op, exc)}))
    try:
        return _call(runtime, req, op, json)
    finally:
        for fd in opened:
            try:
                os.close(fd)
            except OSError:
                pass


def _open_parent_fds(req):
    """The blobs weft verified, opened through /proc/<weft>/fd/N: the kernel gets
    the same open files as the embedded worker gets by SCM_RIGHTS (engine.h)."""
    fds = req.get("fds") if isinstance(req, dict) else None
    pid = req.get("fd_pid") if isinstance(req, dict) else None
    if not isinstance(fds, list) or not fds or not isinstance(pid, int):
        return []
    opened = []
    try:
        for n in fds:
            opened.append(os.open("/proc/%d/fd/%d" % (pid, int(n)), os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        for fd in opened:
            os.close(fd)
        raise
    req["fds"] = opened
    return opened


def _call(runtime, req, op, json):
    """call()'s dispatch, once the request's descriptors are the kernel's own."""
    if op == "doc_lines":
        for unit in req.get("units") or ():
            if isinstance(unit, dict) and isinstance(unit.get("line"), int):
                _note_unit(unit["line"], str(unit.get("code", "")), unit.get("chunk", True) is not False,
                           bool(unit.get("term")))
    if op == "track_begin":
        reply = _track_begin(runtime, req)
    elif op == "track_end":
        reply = _track_end(runtime, req)
    else:
        reply = runtime.dispatch(req)
    try:
        out = json.dumps(reply, allow_nan=False, default=str)
    except ValueError as exc:
        out = json.dumps({"ok": False, "error": "op %s: reply not JSON: %s" % (op, exc)})
    return Reply(out)
