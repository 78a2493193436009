"""weft_runtime: the Python side of weft's python engine.

This module runs inside the worker process (src/engine/worker.c), which
compiles it from the copy embedded in the weft binary and calls serve().
It executes chunks in the shared ``__main__`` namespace, captures what they
print, display and plot, and answers the parent over the worker's channel
(the builtin module ``_weft``).

Protocol: one JSON object per line in each direction.

  hello   sent once at startup, before any request:
          {"ok": true, "hello": {"implementation", "version", "executable",
                                 "prefix", "base_prefix", "pid"}}
  request {"op": NAME, ...}
  events  zero or more, while a request runs, in the order things happened:
          {"ev": "stream", "name": "stdout"|"stderr", "text": str,
           "statement": int (term mode only)}     -- sent by worker.c
          {"ev": "output", "output": <nbformat output>}
                display_data / execute_result / error; in term mode the
                output's metadata carries "weft_statement": int
          {"ev": "exit", "status": int, "line": int}
                os._exit was called (from document line `line`, 0 if unknown);
                the worker is about to end
  reply   exactly one per request, the first line without "ev":
          {"ok": true, ...} or {"ok": false, "error": "message"}

Ops handled here:

  run     in:  code, code_line (document line of the first code line), name,
               term, complete, fig, f_size [w, h], dpi, fig_format, track,
               plus any extra fields (passed on to weft_state when tracking);
               `complete` is informational: the caller joins fragments
          out: status "ok"|"error", error_type, error_message, error_line,
               statements [{"source", "line"}] (term mode), seconds,
               tracked (weft_state.end_tracking's record, when track is set,
               plus "source_lines": true when the chunk looked up the
               document's own lines or raised: its output shows them),
               tracked_error (message, when tracking itself failed)
          chunk_defaults (Pweave's chunk option defaults, when the chunk
               changed them: weft_pweave.current)
  inline  in:  code, is_expr, line
          out: status, text (str(value) for an expression, "" for None; the
               parent inserts the stdout stream events before it), error_message,
               chunk_defaults (as for run)
  track_begin, track_end
          bracket an "inline" request to track it like a chunk: in as
          run's extra fields (reads, cache_dir); track_end's out: tracked
  doc_lines
          in:  units [{"code", "line"}]: lines of units run elsewhere (cached),
               registered for tracebacks, warnings and inspect
  ping    out: {}
  quit    the worker exits after replying

Every op's request and reply fields and every event kind are defined once, in
src/engine/protocol_schema.h; the build generates weft_protocol.py from it and
dispatch() checks each request and reply of a listed op against it.

Every other op NAME is dispatched to a function ``op_NAME(req) -> dict`` in
an embedded module named weft_*.py (imported on first use) or in any module
already in sys.modules whose name starts with "weft_". Exceptions become
{"ok": false, "error": "Type: message"}.

Signals: SIGUSR1 makes faulthandler print the stack to stderr (the parent
sends it when a chunk times out, to report the line before killing); a
fatal signal prints it too (faulthandler is enabled at startup).

Only builtin modules are imported at startup (_ast, binascii; JSON is
encoded and decoded in C by _weft, so json, re and enum are not loaded): a
document that imports nothing must start in a few tens of milliseconds.
matplotlib is configured through an import hook, only if a chunk imports it.
"""

import _ast as ast  # the node classes without ast.py's imports; parse via compile()
import binascii
import builtins
import os
import sys
import time

try:
    import _weft
except ImportError:  # imported by the tests, outside the worker
    _weft = None

# ---------------------------------------------------------------------------
# Per-run state

DOC_PATH = sys.argv[0] if sys.argv and sys.argv[0] else "<document>"


class _RunState:
    """Settings of the request being executed (figures, term statement)."""

    def __init__(self):
        self.fig = True
        self.f_size = (6.0, 4.0)
        self.dpi = 200
        self.fig_format = "png"
        self.statement = -1


STATE = _RunState()
_doc_lines = {}  # document line number -> source line, for tracebacks


def _send(msg):
    """Send one protocol message (after any pending stream text)."""
    if _weft is not None:
        _weft.send(msg)  # encoded in C: importing json would cost startup time
    else:
        import json  # pylint: disable=import-outside-toplevel
        sys.__stdout__.write(json.dumps(msg, default=str) + "\n")


def parse(source):
    """The module AST of source, with DOC_PATH as file name for SyntaxErrors."""
    return compile(source, DOC_PATH, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)


def emit_output(out):
    """Send an nbformat output as an event, tagged with the term statement."""
    if STATE.statement >= 0:
        out.setdefault("metadata", {})["weft_statement"] = STATE.statement
    _send({"ev": "output", "output": out})


# ---------------------------------------------------------------------------
# sys.stdout / sys.stderr replacements


class _BinaryWriter:
    """The .buffer of a stream: bytes are decoded as UTF-8 and passed on."""

    def __init__(self, text):
        self._text = text

    def write(self, b):
        self._text.write(bytes(b).decode("utf-8", "replace"))
        return len(b)

    def flush(self):
        pass


class StreamWriter:
    """A text stream whose writes go to the worker's ordered output channel.

    Python-level text never passes through the fd 1/2 pipes, so its order
    relative to displays and to the other stream is exact; fileno() still
    returns the real fd, so code that writes to it is captured by the pump.
    """

    encoding = "utf-8"
    errors = "replace"
    newlines = None
    line_buffering = False
    closed = False

    def __init__(self, fd, name, sink=None):
        self._fd = fd
        self.name = "<" + name + ">"
        self._sink = sink if sink is not None else (lambda fd, s: _weft.write(fd, s))
        self.buffer = _BinaryWriter(self)

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not " + type(s).__name__)
        if s:
            self._sink(self._fd, s)
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def fileno(self):
        return self._fd

    def isatty(self):
        return False

    def readable(self):
        return False

    def writable(self):
        return True

    def seekable(self):
        return False

    def reconfigure(self, **_kwargs):
        """Accepted and ignored: the text always goes out as UTF-8, unbuffered."""


# ---------------------------------------------------------------------------
# Rich display

# MIME type -> the _repr_*_ method IPython's formatters look for.
REPR_METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("text/latex", "_repr_latex_"),
    ("image/svg+xml", "_repr_svg_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("application/pdf", "_repr_pdf_"),
    ("application/json", "_repr_json_"),
    ("application/javascript", "_repr_javascript_"),
)

BINARY_MIMES = ("image/png", "image/jpeg", "image/gif", "application/pdf")


def _encode_mime(mime, value):
    """A MIME value in nbformat's JSON form (base64 for binary types)."""
    if mime in BINARY_MIMES:
        if isinstance(value, str):  # already base64, as IPython allows
            return value
        return binascii.b2a_base64(bytes(value), newline=False).decode("ascii")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if mime == "application/json" or mime.endswith("+json"):
        return value
    return value if isinstance(value, str) else str(value)


def _is_figure(obj):
    """True for a matplotlib Figure (without importing matplotlib)."""
    mod = sys.modules.get("matplotlib.figure")
    return mod is not None and isinstance(obj, mod.Figure)


def _warn_repr_failure(obj, meth, exc):
    """A failing _repr_*_ method is skipped, with a note on stderr (as IPython does)."""
    sys.stderr.write("weft: %s.%s() failed: %s: %s\n"
                     % (type(obj).__name__, meth, type(exc).__name__, exc))


def mime_bundle(obj):
    """(data, metadata) for obj, as IPython's display formatters would build it."""
    if _is_figure(obj):
        return figure_bundle(obj)
    data, metadata = {}, {}
    if not isinstance(obj, type):  # a class's _repr_html_ is an unbound function
        meth = getattr(obj, "_repr_mimebundle_", None)
        if callable(meth):
            try:
                res = meth(include=None, exclude=None)
            except Exception as exc:  # pylint: disable=broad-except
                _warn_repr_failure(obj, "_repr_mimebundle_", exc)
                res = None
            if isinstance(res, tuple) and len(res) == 2:
                res, md = res
                metadata.update(md or {})
            for mime, value in (res or {}).items():
                if value is not None:
                    data[mime] = _encode_mime(mime, value)
        for mime, name in REPR_METHODS:
            if mime in data:
                continue
            meth = getattr(obj, name, None)
            if not callable(meth):
                continue
            try:
                value = meth()
            except Exception as exc:  # pylint: disable=broad-except
                _warn_repr_failure(obj, name, exc)
                continue
            if isinstance(value, tuple) and len(value) == 2:
                value, md = value
                if md:
                    metadata[mime] = md
            if value is not None:
                data[mime] = _encode_mime(mime, value)
    if "text/plain" not in data:
        data["text/plain"] = _pretty(obj)
    _add_table(obj, data)
    return data, metadata


def _add_table(obj, data):
    """A pandas DataFrame or Series also carries weft's private table MIME
    (weft_table), from which the LaTeX, Markdown and reST reports build a
    real table; only when pandas is already imported, so other documents
    never load weft_table."""
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(obj, (getattr(pd, "DataFrame", ()), getattr(pd, "Series", ()))):
        return
    mod = sys.modules.get("weft_table") or find_module("weft_table")
    if mod is None:  # outside the worker (the tests): from sys.path
        import weft_table as mod  # pylint: disable=import-outside-toplevel
    try:
        table = mod.table_of(obj, data.get("text/html"), data.get("text/plain"))
    except Exception:  # pylint: disable=broad-except
        table = None  # not a table pandas drew: text/html and text/plain stand
    if table is not None:
        data[mod.TABLE_MIME] = table


def _pretty(obj):
    """text/plain of obj as IPython shows it (weft_pretty, imported on the
    first display: a document that shows no value never loads it)."""
    mod = sys.modules.get("weft_pretty") or find_module("weft_pretty")
    if mod is None:  # outside the worker (the tests): from sys.path
        import weft_pretty as mod  # pylint: disable=import-outside-toplevel
    return mod.pretty(obj)


def _display_one(obj, output_type="display_data", raw=False, metadata=None):
    """Emit one display_data / execute_result output for obj."""
    if raw:
        data = {m: _encode_mime(m, v) for m, v in dict(obj).items()}
        md = {}
    else:
        data, md = mime_bundle(obj)
        if _is_figure(obj):  # shown now: not again when the chunk ends
            _close_figure(obj)
    if metadata:
        md.update(metadata)
    out = {"output_type": output_type, "data": data, "metadata": md}
    if output_type == "execute_result":
        out["execution_count"] = None
    emit_output(out)


def display(*objs, raw=False, metadata=None, **_ignored):
    """Show objects as display_data outputs (IPython.display.display's behaviour)."""
    for obj in objs:
        _display_one(obj, raw=raw, metadata=metadata)


def _displayhook(value):
    """sys.displayhook: term mode and 'single' code show values as execute_result."""
    if value is None:
        return
    builtins._ = None  # as the console: repr first, then remember
    _display_one(value, "execute_result")
    builtins._ = value


# ---------------------------------------------------------------------------
# matplotlib: configured on import, figures captured per chunk


def _apply_mpl_rc():
    """Figure size and dpi of the running chunk, for figures it creates."""
    mpl = sys.modules.get("matplotlib")
    if mpl is None or not hasattr(mpl, "rcParams"):
        return
    try:
        mpl.rcParams["figure.figsize"] = [float(STATE.f_size[0]), float(STATE.f_size[1])]
        mpl.rcParams["figure.dpi"] = float(STATE.dpi)
    except Exception:  # pylint: disable=broad-except
        pass


def _patch_pyplot(plt=None):
    """plt.show() emits the open figures at that point, in order with text."""
    plt = plt or sys.modules.get("matplotlib.pyplot")
    if plt is None or getattr(plt.show, "_weft", False):
        return

    def show(*_args, **_kwargs):
        flush_figures()

    show._weft = True
    show.__doc__ = "weft: display the open figures now."
    plt.show = show


def _patch_ipython_display(mod):
    """IPython's display() without a kernel prints reprs; make it weft's display."""
    if hasattr(mod, "display"):
        mod.display = display


_POST_IMPORT = {
    "matplotlib": lambda mod: _apply_mpl_rc(),
    "matplotlib.pyplot": _patch_pyplot,
    "IPython.core.display_functions": _patch_ipython_display,
    "IPython.core.display": _patch_ipython_display,
    # warnings and tracebacks quote source lines through linecache: give it the
    # document's lines (the file may be a notebook, or changed since reading)
    "linecache": lambda mod: _install_linecache(),
}


class _PostImportLoader:
    """Wraps a module's loader to run a hook right after the module executed."""

    def __init__(self, loader, hook):
        self._loader = loader
        self._hook = hook

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create else None

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            self._hook(module)
        except Exception:  # pylint: disable=broad-except
            pass

    def __getattr__(self, name):  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)


class PostImportFinder:
    """A meta path finder that only decorates the loaders of _POST_IMPORT modules."""

    def __init__(self, hooks):
        self._hooks = hooks

    def find_spec(self, name, path=None, target=None):
        hook = self._hooks.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PostImportLoader(spec.loader, hook)
                return spec
        return None


class _StandInFinder:
    """Last on sys.meta_path: `pweave` when no other finder has it (Pweave not
    installed), as weft_pweave's stand-in, so a document's
    pweave.rcParams["chunk"]["defaultoptions"] changes still work."""

    def find_spec(self, name, path=None, target=None):  # pylint: disable=unused-argument
        if name != "pweave":
            return None
        mod = find_module("weft_pweave")
        return mod.stand_in_spec(name) if mod is not None else None


def _figure_managers():
    """The open pyplot figures, by figure number (matplotlib need not be imported)."""
    helpers = sys.modules.get("matplotlib._pylab_helpers")
    if helpers is None:
        return []
    return [m for _, m in sorted(helpers.Gcf.figs.items(), key=lambda kv: kv[0])]


def _close_figure(fig):
    """Close a figure through pyplot, if pyplot manages it."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(fig)


def figure_bundle(fig, fmt=None):
    """(data, metadata) for a figure, as IPython's inline backend shows it.

    Saved in the chunk's figure format with bbox_inches="tight" (the canvas
    cropped to what is drawn, as Pweave's kernel does); a figure with no axes
    and no lines is its text/plain only (`<Figure size WxH with 0 Axes>`),
    not a blank image.  The bytes are reproducible (see _save_figure)."""
    fmt = (fmt or STATE.fig_format or "png").lower()
    mime = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf",
            "jpg": "image/jpeg", "jpeg": "image/jpeg"}.get(fmt)
    if mime is None:
        raise ValueError("unsupported figure format %r (png, svg, pdf, jpeg)" % fmt)
    if not fig.axes and not getattr(fig, "lines", None):
        return {"text/plain": repr(fig)}, {}
    raw = _save_figure(fig, fmt)
    value = raw.decode("utf-8") if mime == "image/svg+xml" else raw
    data = {mime: _encode_mime(mime, value), "text/plain": repr(fig)}
    return data, _figure_metadata(mime, raw, fig.dpi)


def _save_figure(fig, fmt):
    """The figure's bytes, the same on every run for the same drawing: no
    creation date in SVG and PDF, SVG element ids from a fixed salt (unless
    the document chose one), so a cached render equals a fresh one."""
    import io  # pylint: disable=import-outside-toplevel
    kwargs = {"format": fmt, "dpi": "figure", "bbox_inches": "tight",
              "facecolor": fig.get_facecolor(), "edgecolor": fig.get_edgecolor()}
    if fmt == "svg":
        kwargs["metadata"] = {"Date": None}
    elif fmt == "pdf":
        kwargs["metadata"] = {"CreationDate": None}
    rc = getattr(sys.modules.get("matplotlib"), "rcParams", None)
    salted = fmt == "svg" and rc is not None and rc.get("svg.hashsalt") is None
    if salted:
        rc["svg.hashsalt"] = "weft"
    buf = io.BytesIO()
    try:
        fig.savefig(buf, **kwargs)
    finally:
        if salted:
            rc["svg.hashsalt"] = None
    return buf.getvalue()


def _figure_metadata(mime, raw, dpi):
    """Display size of a PNG drawn above 100 dpi: its width and height in CSS
    pixels at 100 per inch, as Jupyter's inline backend writes them for a
    high-resolution (retina) figure (pixels / 2 at 200 dpi, Pweave's default),
    so a notebook shows it at its size rather than at 2x.  At 100 dpi or less
    nothing is written: the image is shown pixel for pixel, as Jupyter does."""
    if mime != "image/png" or len(raw) < 24 or raw[12:16] != b"IHDR" or not dpi or dpi <= 100:
        return {}
    width = int.from_bytes(raw[16:20], "big")
    height = int.from_bytes(raw[20:24], "big")
    return {mime: {"width": int(width * 100 // dpi), "height": int(height * 100 // dpi)}}


def flush_figures(keep=None):
    """Emit every open pyplot figure (if figures are wanted) and close it."""
    want = STATE.fig if keep is None else keep
    managers = _figure_managers()
    if not managers:
        return
    plt = sys.modules.get("matplotlib.pyplot")
    for manager in managers:
        fig = manager.canvas.figure
        try:
            if want:
                data, md = figure_bundle(fig)
                emit_output({"output_type": "display_data", "data": data, "metadata": md})
        finally:
            if plt is not None:
                plt.close(fig)


# ---------------------------------------------------------------------------
# Executing code with document file names and line numbers


def _register_lines(code, first_line):
    """Remember the chunk's lines so tracebacks and warnings can quote them.

    Costs the chunk's length (plus any gap since the last chunk), not the
    document's: _doc_line_list grows in place and linecache shares it.
    """
    lines = _doc_line_list
    for i, text in enumerate(code.splitlines(True)):
        ln = first_line + i
        _doc_lines[ln] = text
        if ln < 1:
            continue
        if len(lines) < ln:
            lines.extend(["\n"] * (ln - len(lines)))
        lines[ln - 1] = text if text.endswith("\n") else text + "\n"
    if "linecache" in sys.modules:  # else the import hook installs them when needed
        _install_linecache()


_source_seen = False  # the document's lines were looked up since source_seen(clear=True)


def source_seen(clear=False):
    """Did code look up the document's own lines (linecache: tracebacks,
    warnings, inspect.getsource) since the last clear? The cache keys such a
    chunk on the document's layout, since its output shows it."""
    global _source_seen  # pylint: disable=global-statement
    seen = _source_seen
    if clear:
        _source_seen = False
    return seen


def _watch_linecache(linecache):
    """Wrap linecache.getlines (getline goes through it) to notice look-ups of
    the document's lines; once per process."""
    real = linecache.getlines
    if getattr(real, "_weft_watch", False):
        return
    doc_abs = os.path.abspath(DOC_PATH)

    def getlines(filename, module_globals=None):
        global _source_seen  # pylint: disable=global-statement
        if filename == DOC_PATH or filename == doc_abs:
            _source_seen = True
        return real(filename, module_globals)

    getlines._weft_watch = True
    linecache.getlines = getlines


_doc_line_list = []  # _doc_lines as linecache wants them: line i at index i - 1


def _install_linecache():
    """Give linecache the document lines run so far (the file may have changed).

    The size field is not checked for entries whose mtime is None, so the
    shared list is handed over as it is, without copying or summing it."""
    import linecache  # pylint: disable=import-outside-toplevel
    _watch_linecache(linecache)
    if not _doc_line_list:
        return
    linecache.cache[DOC_PATH] = (len(_doc_line_list), None, _doc_line_list, DOC_PATH)


def shifted_source(code, first_line):
    """The code preceded by blank lines, so compiled line numbers are document lines."""
    return "\n" * (max(first_line, 1) - 1) + code


def _shift_lines(node, delta):
    """Add delta to the line numbers of node and everything below it (in place)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if getattr(cur, "lineno", None) is not None:
            cur.lineno += delta
        if getattr(cur, "end_lineno", None) is not None:
            cur.end_lineno += delta
        for field in cur._fields:
            value = getattr(cur, field, None)
            if isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                stack.append(value)


def parse_at(code, first_line, mode="exec"):
    """The AST of code whose first line is document line first_line.

    Linear in the chunk: padding the source with first_line - 1 newlines
    (shifted_source) made every chunk cost the length of the document
    before it, so 100,000 chunks took time quadratic in their number. The
    line numbers of the tree, and of a SyntaxError, are document lines;
    the source lines of a node are code lines (node line - offset, see
    source_offset).
    """
    delta = max(first_line, 1) - 1
    try:
        tree = compile(code, DOC_PATH, mode, ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        _syntax_error_text(exc, code, mode)
        if delta and exc.filename == DOC_PATH:
            if exc.lineno:
                exc.lineno += delta
            if getattr(exc, "end_lineno", None):
                exc.end_lineno += delta
        raise
    if delta:
        _shift_lines(tree, delta)
    return tree


def _syntax_error_text(exc, code, mode):
    """Give a SyntaxError from compiling code the source line it points at.

    CPython fills SyntaxError.text by reading line `lineno` of the file the
    code was compiled under: here the document, whose line `lineno` (a line
    of the chunk, before parse_at shifts it) is another line altogether, so
    the report showed a fence or a blank line, and the caret at a column of
    that line. Compiling again under a name that is no file makes CPython take
    the line and column from the chunk itself, as Python (and IPython, which
    Pweave runs) shows them. Only on this error path: parsing stays one compile.
    """
    if exc.filename != DOC_PATH or not exc.lineno:
        return
    import warnings  # pylint: disable=import-outside-toplevel
    try:
        with warnings.catch_warnings():  # the first compile already warned
            warnings.simplefilter("ignore")
            compile(code, "<weft chunk>", mode, ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as again:
        if again.lineno == exc.lineno:
            exc.text, exc.offset = again.text, again.offset
            exc.end_offset = getattr(again, "end_offset", None)
            return
    except (ValueError, RecursionError, MemoryError):
        pass
    lines = code.splitlines(True)
    if 1 <= exc.lineno <= len(lines):  # no caret better than one in the wrong place
        exc.text, exc.offset, exc.end_offset = lines[exc.lineno - 1], None, None


def source_offset(first_line):
    """What to subtract from a document line to index the chunk's code lines."""
    return max(first_line, 1) - 1


def ends_with_semicolon(source, node, offset=0):
    """True when the statement `node` is followed by ';' (Jupyter's output suppression).

    offset: source starts at document line offset + 1 (see parse_at)."""
    lines = source.splitlines(True)
    end = None if node.end_lineno is None else node.end_lineno - offset
    if end is None or end > len(lines) or end < 1:
        return False
    rest = lines[end - 1][node.end_col_offset:]
    rest += "".join(lines[end:])
    rest = rest.lstrip(" \t\r\n)\\")
    return rest.startswith(";")


def statement_spans(source, tree):
    """[(first_line, last_line)] of each top-level statement, decorators included."""
    spans = []
    for node in tree.body:
        first = node.lineno
        for dec in getattr(node, "decorator_list", ()):
            first = min(first, dec.lineno)
        spans.append((first, node.end_lineno or node.lineno))
    return spans


def term_items(source, tree, offset=0):
    """The console transcript's entries: [(first, last, node or None)].

    Top-level statements, plus each comment line outside them as an entry of
    its own (node None: nothing runs), as typing it into a console would show.
    Lines are document lines; source starts at document line offset + 1.
    """
    lines = source.splitlines()
    items = []
    covered = offset  # last line that belongs to an entry already
    for node, (first, last) in zip(tree.body, statement_spans(source, tree)):
        for ln in range(covered + 1, first):
            if lines[ln - offset - 1].lstrip().startswith("#"):
                items.append((ln, ln, None))
        items.append((first, last, node))
        covered = last
    for ln in range(covered + 1, len(lines) + offset + 1):
        if lines[ln - offset - 1].lstrip().startswith("#"):
            items.append((ln, ln, None))
    return items


def _doc_frames(tb):
    """The traceback from the first frame of document code (runtime frames hidden)."""
    while tb is not None and tb.tb_frame.f_code.co_filename != DOC_PATH:
        tb = tb.tb_next
    return tb


def _user_traceback(traceback, exc, tb):
    """format_exception's lines without weft's own frames: a call that weft
    wraps only while it tracks a chunk (os.stat under the cache) must not
    show in the traceback, or a cached render would differ from --no-cache."""
    te = traceback.TracebackException(type(exc), exc, tb)
    seen = set()
    todo = [te]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if any(f.filename.startswith("<weft>/") for f in cur.stack):
            cur.stack = traceback.StackSummary.from_list(
                [f for f in cur.stack if not f.filename.startswith("<weft>/")])
        todo.extend(x for x in (cur.__cause__, cur.__context__) if x is not None)
    return list(te.format())


def _library_frames(tb):
    """The traceback past the runtime's own frames, when no document frame is in it.

    An exception raised after the chunk's code returned (matplotlib failing to
    draw a figure when weft saves it) has no frame of document code: Python
    would still show the library frames it passed through, and so does Pweave's
    IPython; hiding them left a bare "ValueError: ..." without even the
    "Traceback (most recent call last):" line.
    """
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith("<weft>/"):
        tb = tb.tb_next
    return tb


def error_info(exc):
    """(nbformat error output, error_line) for an exception raised by document code."""
    import traceback  # pylint: disable=import-outside-toplevel
    _install_linecache()
    tb = _doc_frames(exc.__traceback__)
    if tb is None and not isinstance(exc, SyntaxError):
        tb = _library_frames(exc.__traceback__)
    line = 0
    walk = tb
    while walk is not None:
        if walk.tb_frame.f_code.co_filename == DOC_PATH:
            line = walk.tb_lineno
        walk = walk.tb_next
    if isinstance(exc, SyntaxError) and tb is None:
        # raised by compiling the chunk: no frames, the location is in the exception
        text = traceback.format_exception_only(type(exc), exc)
        if exc.filename == DOC_PATH and exc.lineno:
            line = exc.lineno
    else:
        text = _user_traceback(traceback, exc, tb)
    lines = "".join(text).rstrip("\n").split("\n")
    out = {"output_type": "error", "ename": type(exc).__name__,
           "evalue": str(exc), "traceback": lines}
    return out, line


class ChunkResult:
    """Status of one run: the first error's type, message and document line."""

    def __init__(self):
        self.status = "ok"
        self.error_type = None
        self.error_message = None
        self.error_line = 0

    def record(self, exc):
        """Emit the error output for exc; the first error sets the status."""
        out, line = error_info(exc)
        emit_output(out)
        if self.status == "ok":
            self.status = "error"
            self.error_type = type(exc).__name__
            self.error_message = str(exc)
            self.error_line = line


def _main_ns():
    """The namespace all chunks share: __main__'s dict, as in Jupyter."""
    return sys.modules["__main__"].__dict__


def run_code(code, first_line, ns, result):
    """Run a chunk as a notebook cell: the last expression's value is displayed."""
    _register_lines(code, first_line)
    try:
        tree = parse_at(code, first_line)
    except SyntaxError as exc:
        result.record(exc)
        return
    last = None
    if (tree.body and isinstance(tree.body[-1], ast.Expr)
            and not ends_with_semicolon(code, tree.body[-1], source_offset(first_line))):
        last = tree.body.pop()
    try:
        run_compiled(tree, "exec", ns)
        if last is not None:
            value = run_compiled(ast.Expression(last.value), "eval", ns)
            if value is not None:
                _display_one(value, "execute_result")
    except BaseException as exc:  # pylint: disable=broad-except
        result.record(exc)


CO_COROUTINE = 0x80
_loop = None  # the event loop top-level `await` runs on, kept across chunks


def run_compiled(tree, mode, ns):
    """Compile and run an AST; top-level `await` works as in Jupyter."""
    code = compile(tree, DOC_PATH, mode, ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    value = eval(code, ns)  # pylint: disable=eval-used
    if code.co_flags & CO_COROUTINE:
        global _loop  # pylint: disable=global-statement
        import asyncio  # pylint: disable=import-outside-toplevel
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
        value = _loop.run_until_complete(value)
    return value


def run_term(code, first_line, ns, result):
    """Run each top-level statement as a console would; returns the statements."""
    _register_lines(code, first_line)
    try:
        tree = parse_at(code, first_line)
    except SyntaxError as exc:
        result.record(exc)
        return []
    offset = source_offset(first_line)
    lines = code.splitlines(True)
    items = term_items(code, tree, offset)
    statements = [{"source": "".join(lines[first - offset - 1:last - offset]), "line": first}
                  for first, last, _node in items]
    old_hook = sys.displayhook
    sys.displayhook = _displayhook
    try:
        for index, (_first, _last, node) in enumerate(items):
            if node is None:
                continue  # a comment: shown in the transcript, nothing to run
            set_statement(index)
            try:
                run_compiled(ast.Interactive([node]), "single", ns)
            except BaseException as exc:  # pylint: disable=broad-except
                result.record(exc)  # a console goes on with the next statement
            if STATE.fig:
                flush_figures()
    finally:
        sys.displayhook = old_hook
    return statements


def set_statement(index):
    """Tag the following outputs with term-mode statement `index` (-1: none)."""
    STATE.statement = index
    if _weft is not None:
        _weft.set_statement(index)


# ---------------------------------------------------------------------------
# Ops


def _configure(req):
    """Apply a run request's figure options before the chunk runs."""
    size = req.get("f_size") or (6, 4)
    STATE.fig = bool(req.get("fig", True))
    STATE.f_size = (float(size[0]), float(size[1]))
    STATE.dpi = int(req.get("dpi") or 200)
    STATE.fig_format = str(req.get("fig_format") or "png")
    _apply_mpl_rc()
    _patch_pyplot()


def chunk_code(code):
    """The code Python runs for a chunk: an indented chunk dedented as IPython
    does (weft_source), line numbers unchanged."""
    import weft_source  # pylint: disable=import-outside-toplevel
    return weft_source.dedent_chunk(code)


def op_run(req):
    """Run one chunk; outputs go out as events, the reply summarises."""
    code = chunk_code(req.get("code", ""))
    first_line = int(req.get("code_line") or 1)
    ns = _main_ns()
    _configure(req)
    result = ChunkResult()
    reply = {}
    state = find_module("weft_state") if req.get("track") else None
    token = None
    if state is not None:
        try:
            with _quiet_weft():
                token = state.begin_tracking(ns, req)
        except Exception as exc:  # pylint: disable=broad-except
            reply["tracked_error"] = "begin_tracking: %s: %s" % (type(exc).__name__, exc)
            state = None
    start = time.perf_counter()
    statements = None
    source_seen(clear=True)
    defaults_before = _chunk_defaults()
    try:
        if req.get("term"):
            statements = run_term(code, first_line, ns, result)
        else:
            run_code(code, first_line, ns, result)
        set_statement(-1)
        try:
            flush_figures()
        except Exception as exc:  # pylint: disable=broad-except
            result.record(exc)
    finally:
        set_statement(-1)
        seconds = time.perf_counter() - start
        if state is not None:
            try:
                with _quiet_weft():
                    reply["tracked"] = state.end_tracking(token, ns)
                # Its output shows document lines or line numbers: keyed on the layout.
                if source_seen() or result.status != "ok":
                    reply["tracked"]["source_lines"] = True
            except Exception as exc:  # pylint: disable=broad-except
                reply["tracked_error"] = "end_tracking: %s: %s" % (type(exc).__name__, exc)
    reply.update(status=result.status, seconds=seconds)
    if result.status != "ok":
        reply.update(error_type=result.error_type, error_message=result.error_message,
                     error_line=result.error_line)
    if statements is not None:
        reply["statements"] = statements
    _report_chunk_defaults(reply, defaults_before)
    return reply


def op_inline(req):
    """Inline code: an expression's str() value ("" for None), or run code; what
    either prints goes out as stdout events (the parent inserts it before the value)."""
    code = req.get("code", "")
    line = int(req.get("line") or 1)
    ns = _main_ns()
    _register_lines(code, line)
    defaults_before = _chunk_defaults()
    reply = {"status": "ok"}
    try:
        if req.get("is_expr"):
            value = run_compiled(parse_at(code.strip(), line, "eval"), "eval", ns)
            # Pweave inserts what the expression printed, then its value unless None
            text = "" if value is None else str(value)
        else:
            run_compiled(parse_at(code.strip() + "\n", line), "exec", ns)
            text = ""
    except BaseException as exc:  # pylint: disable=broad-except
        _out, err_line = error_info(exc)
        reply = {"status": "error", "error_type": type(exc).__name__,
                 "error_message": "%s: %s" % (type(exc).__name__, exc), "error_line": err_line}
        text = ""
    finally:
        flush_figures(keep=False)
    reply["text"] = text
    _report_chunk_defaults(reply, defaults_before)
    return reply


def _chunk_defaults():
    """Pweave's chunk option defaults as the document's code set them
    (weft_pweave.current), or None while pweave is not imported."""
    if "pweave" not in sys.modules:
        return None
    mod = find_module("weft_pweave")
    return mod.current() if mod is not None else None


def _report_chunk_defaults(reply, before):
    """Put the defaults in the reply when the code just run changed them: the
    planner applies them to the chunks after it (planner/rundefaults.h)."""
    after = _chunk_defaults()
    if after is not None and after != before:
        reply["chunk_defaults"] = after


# Inline spans are tracked like chunks (the planner brackets the "inline" op
# with these two), and cached chunks' lines are registered for tracebacks.
_inline_token = None


def op_track_begin(req):
    """Start tracking the next inline span, as op_run does for a chunk."""
    global _inline_token  # pylint: disable=global-statement
    source_seen(clear=True)
    _inline_token = find_module("weft_state").begin_tracking(_main_ns(), req)
    return {}


def op_track_end(_req):
    """Stop tracking the inline span: what it read, wrote and drew."""
    global _inline_token  # pylint: disable=global-statement
    if _inline_token is None:
        return {"ok": False, "error": "track_end without track_begin"}
    token, _inline_token = _inline_token, None
    rec = find_module("weft_state").end_tracking(token, _main_ns())
    if source_seen():
        rec["source_lines"] = True
    return {"tracked": rec}


def op_doc_lines(req):
    """Register the lines of units that did not run in this worker (cached
    ones), so tracebacks and warnings through their functions quote what a
    render without cache quotes."""
    for unit in req.get("units", ()):
        _register_lines(chunk_code(str(unit.get("code", ""))), int(unit.get("line") or 1))
    return {}


def op_ping(_req):
    """Liveness check."""
    return {}


class _Quit(Exception):
    """Raised by op_quit to end the serve loop."""


def op_quit(_req):
    """Ask the serve loop to end after replying."""
    raise _Quit()


# ---------------------------------------------------------------------------
# Embedded modules and op dispatch


class EmbeddedFinder:
    """Imports weft_*.py modules from the copies embedded in the weft worker:
    their code objects compiled at build time, else (a libpython with another
    bytecode format) their source, compiled here."""

    def find_spec(self, name, path=None, target=None):
        if "." in name or not name.startswith("weft_"):
            return None
        code = _weft.code(name + ".py")
        if code is None:
            text = _weft.source(name + ".py")
            if text is None:
                return None
            code = compile(text, "<weft>/" + name + ".py", "exec", dont_inherit=True)
        import importlib.util  # pylint: disable=import-outside-toplevel
        return importlib.util.spec_from_loader(name, _EmbeddedLoader(code))


class _EmbeddedLoader:
    """Executes an embedded module's code, with '<weft>/NAME.py' as its file name."""

    def __init__(self, code):
        self._code = code

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = self._code.co_filename
        exec(self._code, module.__dict__)  # pylint: disable=exec-used


def embedded_module_names():
    """Names of the embedded weft_* modules other than this one."""
    if _weft is None:
        return []
    names = [n[:-3] for n in _weft.names() if n.startswith("weft_") and n.endswith(".py")]
    return sorted(n for n in names if n != "weft_runtime")


def find_module(name):
    """The module `name` (embedded or already imported), or None when it does not exist."""
    if name in sys.modules:
        return sys.modules[name]
    if name not in embedded_module_names():
        return None
    import importlib  # pylint: disable=import-outside-toplevel
    return importlib.import_module(name)


def find_op(op):
    """The function handling `op`: op_<op> here, in an embedded or loaded weft_* module."""
    if not isinstance(op, str) or not op.isidentifier():
        return None
    fn = globals().get("op_" + op)
    if callable(fn):
        return fn
    names = embedded_module_names()
    names += sorted(n for n in list(sys.modules) if n.startswith("weft_") and n not in names
                    and n != "weft_runtime")
    for name in names:
        mod = find_module(name)
        fn = getattr(mod, "op_" + op, None) if mod is not None else None
        if callable(fn):
            return fn
    return None


def _quiet_weft():
    """weft_fidelity.quiet(): stdout and stderr discarded during weft's own work
    (outside the worker, where nothing is embedded: imported from sys.path)."""
    mod = find_module("weft_fidelity")
    if mod is None:
        import weft_fidelity as mod  # pylint: disable=import-outside-toplevel
    return mod.quiet()


def dispatch(req):
    """Handle one request dict and return the reply dict."""
    if not isinstance(req, dict):
        return {"ok": False, "error": "request is not a JSON object"}
    op = req.get("op")
    proto = _protocol()
    try:
        fn = find_op(op)
        if fn is None:
            return {"ok": False, "error": "unknown op %r" % (op,)}
        bad = proto.check("REQ", op, req) if proto is not None else None
        if bad is not None:  # a field the parent failed to build: never run on a partial request
            return {"ok": False, "error": "op %s: %s" % (op, bad)}
        if op in ("run", "inline", "ping", "quit"):
            reply = fn(req)
        else:
            with _quiet_weft():       # weft's own ops print nothing into a report
                reply = fn(req)
    except _Quit:
        raise
    except BaseException as exc:  # pylint: disable=broad-except
        return {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
    if reply is None:
        reply = {}
    if not isinstance(reply, dict):
        return {"ok": False, "error": "op %s returned %s, not a dict" % (op, type(reply).__name__)}
    bad = proto.check("REP", op, reply) if proto is not None else None
    if bad is not None:
        return {"ok": False, "error": "op %s: %s" % (op, bad)}
    if proto is not None and reply.get("tracked") is not None:
        bad = proto.check_track(reply["tracked"])
        if bad is not None:  # the chunk ran; only its record cannot be trusted: never cached
            del reply["tracked"]
            reply.setdefault("tracked_error", "tracking record: " + bad)
    reply.setdefault("ok", True)
    return reply


_PROTOCOL = []


def _protocol():
    """The generated schema module (weft_protocol, from protocol_schema.h), imported once;
    None outside the worker (tests importing this file directly)."""
    if not _PROTOCOL:
        _PROTOCOL.append(find_module("weft_protocol") if _weft is not None else None)
    return _PROTOCOL[0]


# ---------------------------------------------------------------------------
# Startup and the serve loop


def _exit_flushing(real_exit):
    """os._exit that first sends buffered output (a chunk calling os._exit keeps it)."""
    def _exit(status):
        if _weft is not None:
            # tell the parent which document line called it, then flush
            frame, line = sys._getframe(1), 0  # pylint: disable=protected-access
            while frame is not None:
                if frame.f_code.co_filename == DOC_PATH:
                    line = frame.f_lineno
                    break
                frame = frame.f_back
            _send({"ev": "exit", "status": status, "line": line})
            _weft.sync()
        real_exit(status)
    _exit.__doc__ = real_exit.__doc__
    return _exit


def setup():
    """Prepare the interpreter: streams, display, hooks, sys.path."""
    sys.stdout = sys.__stdout__ = StreamWriter(1, "stdout")
    sys.stderr = sys.__stderr__ = StreamWriter(2, "stderr")
    sys.displayhook = _displayhook
    builtins.display = display
    if "" not in sys.path:
        sys.path.insert(0, "")  # the document's folder, as in Jupyter
    sys.meta_path.insert(0, EmbeddedFinder())
    sys.meta_path.insert(0, PostImportFinder(_POST_IMPORT))
    sys.meta_path.append(_StandInFinder())
    os._exit = _exit_flushing(os._exit)  # pylint: disable=protected-access
    ns = _main_ns()
    ns.pop("__file__", None)
    ns.setdefault("__builtins__", builtins)
    try:  # on a timeout the parent asks for the stack before killing (no enum import)
        import faulthandler  # pylint: disable=import-outside-toplevel
        import _signal  # pylint: disable=import-outside-toplevel
        faulthandler.register(_signal.SIGUSR1, all_threads=False)
    except (ImportError, AttributeError, RuntimeError, ValueError):
        pass


def hello():
    """What the parent learns at startup."""
    impl = sys.implementation
    return {"implementation": impl.name, "version": "%d.%d.%d" % sys.version_info[:3],
            "executable": sys.executable, "prefix": sys.prefix,
            "base_prefix": sys.base_prefix, "pid": os.getpid()}


def serve():
    """Answer requests until the parent closes the channel or sends quit."""
    setup()
    _send({"ok": True, "hello": hello()})
    try:
        _serve_loop()
    finally:
        if _weft.in_worker():
            _run_atexit()


def _run_atexit():
    """Run the document's atexit handlers (temporary directories, ...) as python would.

    The worker then leaves with _exit, without waiting for threads; a fork
    made by chunk code never gets here, so it cannot run the worker's handlers.
    """
    import atexit  # pylint: disable=import-outside-toplevel
    try:
        atexit._run_exitfuncs()  # pylint: disable=protected-access
    except BaseException:  # pylint: disable=broad-except
        pass


def _close_fds(req):
    """Close the descriptors a request came with (its "fds", engine.h): the
    op has read or mapped them (mmap keeps its own)."""
    fds = req.get("fds") if isinstance(req, dict) else None
    for fd in fds if isinstance(fds, list) else ():
        try:
            os.close(fd)
        except (OSError, TypeError):
            pass


def _serve_loop():
    """Read, dispatch and answer requests until EOF or quit."""
    while True:
        try:
            req = _weft.recv()
        except ValueError as exc:
            _send({"ok": False, "error": str(exc)})
            continue
        if req is None:
            return
        try:
            reply = dispatch(req)
        except _Quit:
            _send({"ok": True})
            return
        finally:
            _close_fds(req)
        _weft.sync()
        _send(reply)
