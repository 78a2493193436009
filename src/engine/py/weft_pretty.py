"""weft_pretty: the text/plain form of a displayed value, as IPython shows it.

Pweave runs chunks in an IPython kernel, whose display formatter does not use
repr() for text/plain but IPython's pretty printer: containers longer than 79
columns are broken one item per line, sets and frozensets are sorted (so a
report does not change from run to run with the hash seed), classes print as
`module.Name`, functions with their signature, plain objects as
`<module.C at 0x...>`, and objects may define `_repr_pretty_(p, cycle)`.
This module follows those rules, checked output for output against the
installed IPython (tests/py/test_pretty.py), without importing IPython.

    pretty(obj, max_width=79, max_seq_length=1000) -> str
        the text/plain IPython's PlainTextFormatter would produce.
    PrettyPrinter
        the printer a `_repr_pretty_(p, cycle)` method receives: text(s),
        breakable(sep=" "), break_(), begin_group(indent, open) /
        end_group(dedent, close), group(indent, open, close) and indent(n)
        as context managers, pretty(obj), flush(); attributes output_width,
        max_width, max_seq_length, indentation, newline, output, verbose.

Layout (the Oppen / Wadler scheme IPython uses): text is written at once
until a breakable is seen; after it, text is held in a buffer.  Every
breakable belongs to the innermost open group.  When the line would pass
max_width, the outermost group holding a pending breakable is broken: all
its breakables, pending and future, become newlines indented to the group's
indentation; groups that are not broken keep their breakables as spaces.

Only imported when a value is displayed (weft_runtime.mime_bundle), so the
worker's start-up does not pay for it; inspect is imported only to print a
function's signature.
"""

import io
import sys
from collections import deque

MAX_WIDTH = 79          # IPython's PlainTextFormatter.max_width
MAX_SEQ_LENGTH = 1000   # PlainTextFormatter.max_seq_length: items shown before "..."
_BUILTIN_MODULES = ("__builtin__", "builtins", "exceptions")


def pretty(obj, max_width=MAX_WIDTH, max_seq_length=MAX_SEQ_LENGTH, newline="\n"):
    """The pretty-printed text of obj (what IPython's text/plain shows)."""
    p = PrettyPrinter(max_width, max_seq_length, newline)
    p.pretty(obj)
    p.flush()
    return p.output.getvalue()


# ---------------------------------------------------------------------------
# The layout engine


class _Group:
    """An open or closed group: its nesting depth, its breakables not yet
    written (oldest first), and whether it has been broken."""

    __slots__ = ("depth", "pending", "broken")

    def __init__(self, depth):
        self.depth = depth
        self.pending = deque()
        self.broken = False


class _Text:
    """Held text (written once the breakables before it are decided)."""

    __slots__ = ("text", "width")

    def __init__(self, text):
        self.text = text
        self.width = len(text)

    def write(self, p, column):
        """Write the text; the column after it."""
        p.output.write(self.text)
        return column + self.width


class _Breakable:
    """A place where the line may break: `sep` if its group stays whole, else
    a newline and the indentation current when the breakable was made."""

    __slots__ = ("sep", "width", "indent", "group")

    def __init__(self, sep, indent, group):
        self.sep = sep
        self.width = len(sep)
        self.indent = indent
        self.group = group
        group.pending.append(self)

    def write(self, p, column):
        """Write the separator or the line break; the column after it."""
        group = self.group
        group.pending.popleft()
        if group.broken:
            p.output.write(p.newline + " " * self.indent)
            return self.indent
        if not group.pending:
            p._unqueue(group)  # pylint: disable=protected-access
        p.output.write(self.sep)
        return column + self.width


class _Ctx:
    """A context manager calling `enter` and `leave` (no contextlib import)."""

    __slots__ = ("_enter", "_leave")

    def __init__(self, enter, leave):
        self._enter = enter
        self._leave = leave

    def __enter__(self):
        self._enter()
        return self

    def __exit__(self, *_exc):
        self._leave()
        return False


class PrettyPrinter:
    """Lays out text, groups and breakables within max_width columns."""

    def __init__(self, max_width=MAX_WIDTH, max_seq_length=MAX_SEQ_LENGTH, newline="\n"):
        self.output = io.StringIO()
        self.max_width = max_width
        self.max_seq_length = max_seq_length
        self.newline = newline
        self.verbose = False
        self.output_width = 0      # column of the written output
        self.buffer_width = 0      # width of the held items
        self.indentation = 0
        self.stack = []            # ids of the objects being printed, for cycles
        self._held = deque()       # _Text and _Breakable items not yet written
        root = _Group(0)
        self._open = [root]        # open groups, innermost last
        self._queue = []           # per depth, groups that may still be broken
        self._enqueue(root)

    # -- queue of breakable groups, by depth --

    def _enqueue(self, group):
        """Make group a candidate for breaking."""
        while len(self._queue) <= group.depth:
            self._queue.append([])
        self._queue[group.depth].append(group)

    def _unqueue(self, group):
        """group can no longer be broken (closed without pending breakables)."""
        level = self._queue[group.depth] if group.depth < len(self._queue) else []
        for k, g in enumerate(level):
            if g is group:
                del level[k]
                return

    def _outermost_breakable(self):
        """Mark broken and return the outermost group with a pending breakable.

        Within one depth the latest group wins.  IPython then drops the entry
        at the mirrored position of that depth's list (the same one when
        there is one group, the usual case); doing the same keeps layouts
        identical when several groups of one depth wait.  Shallower groups
        without pending breakables are marked broken on the way, so their
        future breakables become newlines."""
        for level in self._queue:
            n = len(level)
            for k in range(n - 1, -1, -1):
                group = level[k]
                if group.pending:
                    del level[n - 1 - k]
                    group.broken = True
                    return group
            for group in level:
                group.broken = True
            del level[:]
        return None

    def _fit(self):
        """Break outer groups while the current line is too long."""
        while self.output_width + self.buffer_width > self.max_width:
            group = self._outermost_breakable()
            if group is None:
                return
            self._write_through(group)

    def _write_through(self, group):
        """Write the held items up to group's last pending breakable (now
        newlines) and the text right after it."""
        held = self._held
        while group.pending:
            item = held.popleft()
            self.output_width = item.write(self, self.output_width)
            self.buffer_width -= item.width
        while held and isinstance(held[0], _Text):
            item = held.popleft()
            self.output_width = item.write(self, self.output_width)
            self.buffer_width -= item.width

    # -- the API of IPython's printer, for _repr_pretty_ methods --

    def text(self, obj):
        """Add text that is never broken."""
        width = len(obj)
        if self._held:
            last = self._held[-1]
            if isinstance(last, _Text):
                last.text += obj
                last.width += width
            else:
                self._held.append(_Text(obj))
            self.buffer_width += width
            self._fit()
        else:
            self.output.write(obj)
            self.output_width += width

    def breakable(self, sep=" "):
        """A place for a line break (else `sep`) in the innermost group."""
        group = self._open[-1]
        if group.broken:
            self.flush()
            self.output.write(self.newline + " " * self.indentation)
            self.output_width = self.indentation
            self.buffer_width = 0
        else:
            self._held.append(_Breakable(sep, self.indentation, group))
            self.buffer_width += len(sep)
            self._fit()

    def break_(self):
        """A line break here, whatever the width; the outermost group that
        can still break is broken too (a multi-line repr inside a list puts
        the list's items on their own lines)."""
        group = self._outermost_breakable()
        if group is not None:
            self._write_through(group)
        self.flush()
        self.output.write(self.newline + " " * self.indentation)
        self.output_width = self.indentation
        self.buffer_width = 0

    def begin_group(self, indent=0, open=""):  # pylint: disable=redefined-builtin
        """Open a group (after the text `open`); its lines indent by `indent` more."""
        if open:
            self.text(open)
        group = _Group(self._open[-1].depth + 1)
        self._open.append(group)
        self._enqueue(group)
        self.indentation += indent

    def end_group(self, dedent=0, close=""):
        """Close the innermost group (then the text `close`)."""
        self.indentation -= dedent
        group = self._open.pop()
        if not group.pending:
            self._unqueue(group)
        if close:
            self.text(close)

    def group(self, indent=0, open="", close=""):  # pylint: disable=redefined-builtin
        """begin_group / end_group around a with-block."""
        return _Ctx(lambda: self.begin_group(indent, open), lambda: self.end_group(indent, close))

    def indent(self, indent):
        """Indent the lines broken inside a with-block by `indent` more."""
        def enter():
            self.indentation += indent

        def leave():
            self.indentation -= indent
        return _Ctx(enter, leave)

    def flush(self):
        """Write everything held (its breakables as their groups decide)."""
        column = self.output_width
        for item in self._held:
            column = item.write(self, column)
        self._held.clear()
        self.output_width = column
        self.buffer_width = 0

    def _enumerate(self, seq):
        """(index, item) of seq, ending with "..." after max_seq_length items."""
        for idx, x in enumerate(seq):
            if self.max_seq_length and idx >= self.max_seq_length:
                self.text(",")
                self.breakable()
                self.text("...")
                return
            yield idx, x

    def pretty(self, obj):
        """Print obj, by the first rule its class (or a base) has."""
        oid = id(obj)
        cycle = oid in self.stack
        self.stack.append(oid)
        self.begin_group()
        try:
            if obj is None or obj is True or obj is False or obj is Ellipsis \
                    or obj is NotImplemented:
                self.text(repr(obj))
                return
            cls = _attr(obj, "__class__", None) or type(obj)
            for base in _mro(cls):
                printer = _PRINTERS.get(base)
                if printer is None:
                    printer = _BY_NAME.get((_attr(base, "__module__", None),
                                            _attr(base, "__name__", None)))
                if printer is not None:
                    printer(obj, self, cycle)
                    return
                attrs = _attr(base, "__dict__", {})
                if "_repr_pretty_" in attrs:
                    meth = base._repr_pretty_
                    if callable(meth):
                        meth(obj, self, cycle)
                        return
                if base is not object and callable(attrs.get("__repr__")):
                    _repr_lines(obj, self, cycle)
                    return
            _plain_object(obj, self, cycle)
        finally:
            self.end_group()
            self.stack.pop()


# ---------------------------------------------------------------------------
# Rules per type


def _attr(obj, name, default):
    """getattr that survives objects whose attribute lookup raises."""
    try:
        return getattr(obj, name, default)
    except Exception:  # pylint: disable=broad-except
        return default


def _mro(cls):
    """The classes to look rules up in, most derived first."""
    mro = _attr(cls, "__mro__", None)
    return mro if isinstance(mro, tuple) else (cls, object)


def _repr_lines(obj, p, _cycle):
    """repr(obj), its lines joined by hard breaks at the current indentation."""
    with p.group():
        for idx, line in enumerate(repr(obj).splitlines()):
            if idx:
                p.break_()
            p.text(line)


def _repr_text(obj, p, _cycle):
    """repr(obj) as one piece of text (types whose repr is one line)."""
    p.text(repr(obj))


def _plain_object(obj, p, cycle):
    """An object without a repr of its own: <module.Class at 0x...>."""
    cls = _attr(obj, "__class__", None) or type(obj)
    if _attr(cls, "__repr__", None) is not object.__repr__:
        _repr_lines(obj, p, cycle)
        return
    p.begin_group(1, "<")
    p.pretty(cls)
    p.text(" at 0x%x" % id(obj))
    p.end_group(1, ">")


def _own_repr(obj, base):
    """True when obj is of a subclass of `base` whose repr is not base's."""
    typ = type(obj)
    return typ is not base and typ.__repr__ != base.__repr__


def _shown_whole(obj, p, cycle, start, end, base):
    """Print what needs no items (a subclass's own repr, a cycle); True if done."""
    if _own_repr(obj, base):
        p.text(_typ_repr(obj))
        return True
    if cycle:
        p.text(start + "..." + end)
        return True
    return False


def _sequence(start, end, base):
    """Printer of a list or tuple: items separated by ",", a breakable."""
    def printer(obj, p, cycle):
        if _shown_whole(obj, p, cycle, start, end, base):
            return
        step = len(start)
        p.begin_group(step, start)
        for idx, x in p._enumerate(obj):  # pylint: disable=protected-access
            if idx:
                p.text(",")
                p.breakable()
            p.pretty(x)
        if base is tuple and len(obj) == 1:
            p.text(",")
        p.end_group(step, end)
    return printer


def _typ_repr(obj):
    """The repr a subclass gave itself."""
    return type(obj).__repr__(obj)


def _sorted(items):
    """Sorted by value, else by str (mixed types), else as they come."""
    try:
        return sorted(items)
    except Exception:  # pylint: disable=broad-except
        try:
            return sorted(items, key=str)
        except Exception:  # pylint: disable=broad-except
            return items


def _set(start, end, base):
    """Printer of a set or frozenset: sorted (below max_seq_length items)."""
    def printer(obj, p, cycle):
        if _shown_whole(obj, p, cycle, start, end, base):
            return
        if not obj:
            p.text(type(obj).__name__ + "()")
            return
        step = len(start)
        p.begin_group(step, start)
        items = obj
        if not (p.max_seq_length and len(obj) >= p.max_seq_length):
            items = _sorted(obj)
        for idx, x in p._enumerate(items):  # pylint: disable=protected-access
            if idx:
                p.text(",")
                p.breakable()
            p.pretty(x)
        p.end_group(step, end)
    return printer


def _mapping(start, end, base=None):
    """Printer of a dict (insertion order) or a dict-like wrapper."""
    def printer(obj, p, cycle):
        if base is not None and _own_repr(obj, base):
            p.text(_typ_repr(obj))
            return
        if cycle:
            p.text("{...}")
            return
        step = len(start)
        p.begin_group(step, start)
        for idx, key in p._enumerate(obj.keys()):  # pylint: disable=protected-access
            if idx:
                p.text(",")
                p.breakable()
            p.pretty(key)
            p.text(": ")
            p.pretty(obj[key])
        p.end_group(step, end)
    return printer


def _qualified(obj):
    """module.qualname of a class or function; builtins without a module."""
    name = _attr(obj, "__qualname__", None)
    if not isinstance(name, str):
        name = obj.__name__
    mod = _attr(obj, "__module__", None)
    if mod and mod not in _BUILTIN_MODULES:
        return mod + "." + name
    return name


def _class(obj, p, cycle):
    """A class: module.Name, unless its metaclass has its own repr."""
    own = [m for m in _mro(type(obj)) if "__repr__" in _attr(m, "__dict__", {})]
    if own[:1] != [type]:
        _repr_lines(obj, p, cycle)
        return
    p.text(_qualified(obj))


def _function(obj, p, _cycle):
    """A function: <function module.name(signature)>."""
    name = _qualified(obj)
    import inspect  # pylint: disable=import-outside-toplevel
    try:
        name += str(inspect.signature(obj))
    except ValueError:
        pass
    p.text("<function %s>" % name)


def _exception(obj, p, _cycle):
    """An exception: Name(arg, ...), module-qualified unless builtin."""
    cls = obj.__class__
    name = _attr(cls, "__qualname__", None) or cls.__name__
    if cls.__module__ not in ("exceptions", "builtins"):
        name = "%s.%s" % (cls.__module__, name)
    step = len(name) + 1
    p.begin_group(step, name + "(")
    for idx, arg in enumerate(_attr(obj, "args", ())):
        if idx:
            p.text(",")
            p.breakable()
        p.pretty(arg)
    p.end_group(step, ")")


def _super(obj, p, _cycle):
    """super(): <super: Class, object>."""
    p.begin_group(8, "<super: ")
    p.pretty(obj.__thisclass__)
    p.text(",")
    p.breakable()
    p.pretty(obj.__self__)
    p.end_group(8, ">")


_RE_FLAGS = ("IGNORECASE", "LOCALE", "MULTILINE", "DOTALL", "UNICODE", "VERBOSE", "DEBUG")


def _pattern(obj, p, _cycle):
    """A compiled regular expression: re.compile(r'...', re.FLAG|...)."""
    re = sys.modules["re"]
    p.text("re.compile(")
    p.text("r" + repr(obj.pattern).replace("\\\\", "\\"))
    flags = [f for f in _RE_FLAGS if obj.flags & getattr(re, f)]
    if flags:
        p.text(",")
        p.breakable()
        p.text("|".join("re." + f for f in flags))
    p.text(")")


def _pattern_grouped(obj, p, cycle):
    """re.compile(...) with continuation lines under the pattern."""
    step = len("re.compile(")
    p.begin_group(step)
    _pattern(obj, p, cycle)
    p.end_group(step)


def _namespace(obj, p, cycle):
    """types.SimpleNamespace: namespace(name=value, ...)."""
    name = "namespace"
    with p.group(len(name) + 1, name + "(", ")"):
        if cycle:
            p.text("...")
            return
        for idx, (key, value) in enumerate(obj.__dict__.items()):
            if idx:
                p.text(",")
                p.breakable()
            label = "%s=" % key
            with p.indent(len(label)):
                p.text(label)
                p.pretty(value)


def _wrapped(inner, empty=None):
    """A collections type printed as Name(<inner value>), Name(...) in a cycle;
    `empty` (a format with the name) when the object is empty.  The name and
    parentheses are text around an indented inner value, not a group of
    their own: group depths decide which group breaks first, and this is the
    nesting that lays out as IPython does."""
    def printer(obj, p, cycle):
        name = obj.__class__.__name__
        if empty is not None and not cycle and not obj:
            p.text(empty % name)
            return
        p.text(name + "(")
        with p.indent(len(name) + 1):
            if cycle:
                p.text("...")
            else:
                inner(obj, p)
        p.text(")")
    return printer


def _default_dict(obj, p):
    p.pretty(obj.default_factory)
    p.text(",")
    p.breakable()
    p.pretty(dict(obj))


def _deque(obj, p):
    p.pretty(list(obj))
    if obj.maxlen is not None:
        p.text(",")
        p.breakable()
        p.text("maxlen=%d" % obj.maxlen)


_PRINTERS = {
    int: _repr_text,
    float: _repr_text,
    complex: _repr_text,
    str: _repr_text,
    bytes: _repr_text,
    range: _repr_text,
    slice: _repr_text,
    tuple: _sequence("(", ")", tuple),
    list: _sequence("[", "]", list),
    dict: _mapping("{", "}", dict),
    set: _set("{", "}", set),
    frozenset: _set("frozenset({", "})", frozenset),
    super: _super,
    type: _class,
    type(_attr): _function,               # a function defined in Python
    type(len): _function,                 # builtin_function_or_method
    type(PrettyPrinter().pretty): _repr_lines,  # a bound method
    BaseException: _exception,
    type(sys.implementation): _namespace,  # types.SimpleNamespace
    type(type.__dict__): _mapping("mappingproxy({", "})"),
}

# Printers of types whose modules are imported on demand, by (module, name).
_BY_NAME = {
    ("re", "Pattern"): _pattern_grouped,
    ("datetime", "datetime"): _repr_text,
    ("datetime", "timedelta"): _repr_text,
    ("os", "_Environ"): _mapping("environ{", "}"),
    ("collections", "OrderedDict"): _wrapped(lambda o, p: p.pretty(list(o.items())),
                                             "%s()"),
    ("collections", "defaultdict"): _wrapped(_default_dict),
    ("collections", "deque"): _wrapped(_deque),
    ("collections", "Counter"): _wrapped(lambda o, p: p.pretty(dict(o)), "%s()"),
    ("collections", "UserList"): _wrapped(lambda o, p: p.pretty(o.data)),
}
