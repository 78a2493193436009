"""weft_analysis: static name analysis of code chunks for the chunk cache.

The C planner builds each chunk's cache key from the chunks that last wrote
the names it reads.  This module supplies those facts without running
anything: one request analyses every chunk of a document, in order.

    op_analyze({"chunks": [{"code": str, "line": int}, ...]})
        -> {"chunks": [record, ...]}

Each record (all name lists sorted, so replies are deterministic):

    normalized      blake2b hex digest of the code's AST without positions:
                    comment and whitespace edits keep it, code edits change it
    reads           module-level names the chunk may read before (or without)
                    binding them itself, in any scope that runs now or through
                    functions it defines and uses (a lambda or generator
                    expression not bound to a name counts as run now; names in
                    the text of df.query/df.eval/pd.eval/numexpr.evaluate
                    strings count too); includes a builtin's name when an
                    earlier chunk of the document binds that name
    reads_builtins  builtins read and not shadowed by an earlier chunk
    writes          names the chunk may bind at module level (also through
                    `global x` in functions it defines, and except-as names)
    deletes         names removed with `del x` at module level
    maybe_mutates   names not bound by the chunk whose object it may change in
                    place: x.attr = / x[i] = / del x[i], x += ..., method
                    calls on x, x passed to a call other than print/len...
                    (a hint: the run-time record is the truth)
    functions       {name: [global names]}: for every name the chunk binds to
                    code (def, class, lambda, generator, or a value built from
                    code of this chunk or of an earlier one, e.g.
                    functools.partial(f), [lambda: k], make_adder(1), C()),
                    the global names that code reads when called later (for a
                    class: all its methods).  Code reading no global has an
                    empty list.  The lists may name other functions; the
                    planner closes them transitively over the writers of those
                    names.  Entries of names defined in this chunk are already
                    closed over this chunk.
    function_writes {name: [global names]}: globals that code assigns through
                    `global`, only for names that have some
    calls           global names the chunk calls while it runs
    dynamic         true when static analysis cannot be trusted (eval, exec,
                    globals(), locals(), vars(), dir(), __import__, star imports,
                    setattr/delattr on a module, import __main__ / builtins,
                    sys._getframe ...): treat the chunk conservatively
    statements      document lines where top-level statements start
    suppressed      true when the last statement is an expression followed by
                    ';' (its value is not displayed); part of `normalized` too,
                    since the output differs
    defines_code    true when the chunk creates code objects (def, class,
                    lambda, generator expression): they carry document line
                    numbers and the source text counts, so the planner keys
                    such a chunk on its raw text and position
    syntax_error, line
                    only when the code does not parse: the message and the
                    document line; `normalized` is then a digest of the raw
                    text (the chunk still runs and reports the error) and the
                    chunk is marked dynamic.

The analysis is deliberately conservative where Python's control flow is not
static: a name bound only in an `if` branch, a loop, a `try` body or the body
of a `with` whose context manager might swallow exceptions (anything but
open(), np.errstate() and similar) does not count as bound afterwards, so a
later read of it is still reported.  Scoping follows the compiler (class
bodies, comprehensions, nonlocal, global); tests compare function reads with
the symtable module over the standard library.
"""

# The node classes without ast.py's imports (enum, contextlib): the worker
# must stay quick to start. Parsing goes through compile().
import _ast as ast
import builtins
from _blake2 import blake2b

from weft_source import dedent_chunk

# Bumped whenever the digest's input format changes, so old keys stop matching.
_DIGEST_VERSION = b"weft-ast-1\0"

_BUILTINS = frozenset(dir(builtins))

# Names whose mere use makes the namespace effects unknowable.
_DYNAMIC_NAMES = frozenset({"eval", "exec", "globals", "locals", "__import__", "__builtins__"})
# Modules whose import hands the chunk the namespace itself.
_DYNAMIC_MODULES = frozenset({"__main__", "builtins", "inspect", "ctypes"})
# Calls that never mutate their arguments: passing a name to them is no mutation.
_PURE_CALLS = frozenset({
    "abs", "all", "any", "ascii", "bin", "bool", "bytes", "callable", "chr", "complex",
    "dict", "dir", "divmod", "enumerate", "filter", "float", "format", "frozenset",
    "getattr", "hasattr", "hash", "hex", "id", "int", "isinstance", "issubclass", "iter",
    "len", "list", "map", "max", "min", "oct", "ord", "pow", "print", "range", "repr",
    "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "type", "zip",
})

# Nodes with no names below them.
_SIMPLE_LEAVES = frozenset({ast.Constant, ast.Load, ast.Store, ast.Del, ast.Pass, ast.Break,
                            ast.Continue, ast.alias})
_COMP_NODES = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _FuncInfo:
    """What deferred code (a function body, lambda or class methods) does to
    globals when it is eventually called."""

    __slots__ = ("reads", "writes", "mutates", "calls")

    def __init__(self):
        self.reads = set()
        self.writes = set()
        self.mutates = set()
        self.calls = set()

    def merge(self, other):
        """Add another info's facts to this one (aliases, containers of code)."""
        self.reads |= other.reads
        self.writes |= other.writes
        self.mutates |= other.mutates
        self.calls |= other.calls


class _Scope:
    """One Python scope while walking the AST.

    kind is "module", "class", "function" or "comp" (a comprehension).
    Module and class bodies run top to bottom, so they track `definite`, the
    names surely bound at the current point.  Function-like scopes know their
    full local set in advance (Python decides locality per scope).  `sink` is
    the _FuncInfo collecting global reads of code that runs later, or None
    when the code runs now (as part of the chunk).  `defer` is the info that
    functions defined directly in this scope report into (None: a fresh one).
    """

    __slots__ = ("kind", "parent", "locals", "globals", "nonlocals", "definite", "sink", "defer")

    def __init__(self, kind, parent, sink, defer):
        self.kind = kind
        self.parent = parent
        self.locals = set()
        self.globals = set()
        self.nonlocals = set()
        self.definite = set()
        self.sink = sink
        self.defer = defer


_AST = ast.AST
_CTX_TYPES = frozenset({ast.Load, ast.Store, ast.Del})


def _children(node):
    """The AST children of a node (ast.iter_child_nodes, without its
    generator overhead)."""
    out = []
    for f in node._fields:
        v = getattr(node, f, None)
        if isinstance(v, _AST):
            out.append(v)
        elif type(v) is list:
            out.extend(e for e in v if isinstance(e, _AST))
    return out


def _walk(node):
    """All nodes below and including `node` (ast.walk)."""
    todo = [node]
    while todo:
        n = todo.pop()
        todo.extend(_children(n))
        yield n


def _collect_function_locals(node, scope):
    """Fill scope.locals/globals/nonlocals for a function, lambda or
    comprehension node, the way the compiler decides them (any binding anywhere
    in the body makes a name local, unless declared global or nonlocal)."""
    bound = scope.locals
    if isinstance(node, _COMP_NODES):
        todo = [g.target for g in node.generators]
        comp = True
    else:
        a = node.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs:
            bound.add(arg.arg)
        if a.vararg:
            bound.add(a.vararg.arg)
        if a.kwarg:
            bound.add(a.kwarg.arg)
        todo = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
        comp = False
    # Walrus targets inside comprehensions of this function bind here; walrus
    # targets inside a comprehension itself bind in the enclosing function.
    while todo:
        n = todo.pop()
        t = type(n)
        if t is ast.Name:
            if not isinstance(n.ctx, ast.Load):
                bound.add(n.id)
            continue
        if t in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            bound.add(n.name)
            # Decorators, defaults, bases are evaluated in this scope.
            todo.extend(n.decorator_list)
            if t is ast.ClassDef:
                todo.extend(n.bases)
                todo.extend(k.value for k in n.keywords)
            else:
                todo.extend(d for d in n.args.defaults)
                todo.extend(d for d in n.args.kw_defaults if d is not None)
            continue
        if t is ast.Lambda:
            todo.extend(n.args.defaults)
            todo.extend(d for d in n.args.kw_defaults if d is not None)
            continue
        if t in _COMP_NODES:
            # Only the first iterator runs here; the rest is the comprehension's
            # own scope, except walrus targets which leak to us.
            todo.append(n.generators[0].iter)
            for sub in _walk(n):
                if type(sub) is ast.NamedExpr and isinstance(sub.target, ast.Name):
                    bound.add(sub.target.id)
            continue
        if t is ast.NamedExpr and comp:
            # A walrus in a comprehension binds in the enclosing scope.
            todo.append(n.value)
            continue
        if t is ast.Global:
            scope.globals.update(n.names)
            continue
        if t is ast.Nonlocal:
            scope.nonlocals.update(n.names)
            continue
        if t in (ast.Import, ast.ImportFrom):
            for al in n.names:
                if al.name != "*":
                    bound.add(al.asname or al.name.split(".")[0])
            continue
        if t is ast.ExceptHandler and n.name:
            bound.add(n.name)
        elif t in (ast.MatchAs, ast.MatchStar) and n.name:
            bound.add(n.name)
        elif t is ast.MatchMapping and n.rest:
            bound.add(n.rest)
        if t in _SIMPLE_LEAVES:
            continue
        todo.extend(_children(n))
    bound -= scope.globals
    bound -= scope.nonlocals


# Decorators known not to call the function they wrap at definition time.
_SAFE_DECORATORS = frozenset({
    "property", "staticmethod", "classmethod", "setter", "getter", "deleter",
    "abstractmethod", "cached_property", "dataclass", "total_ordering", "wraps",
    "lru_cache", "cache", "singledispatch", "register", "jit", "njit", "vectorize",
    "contextmanager", "asynccontextmanager", "overload", "final", "unique",
})


def _may_call(decorators):
    """True when a decorator list may call the decorated code right away."""
    for d in decorators:
        if type(d) is ast.Call:
            d = d.func
        name = d.id if type(d) is ast.Name else d.attr if type(d) is ast.Attribute else None
        if name not in _SAFE_DECORATORS:
            return True
    return False


# Methods evaluating an expression string against the caller's variables.
_STRING_EVALUATORS = frozenset({"query", "eval", "evaluate"})
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "True", "False",
                       "None", "lambda", "for"})


def _identifiers(text):
    """Python identifiers in an expression string (`quoted` parts skipped)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "`":
            j = text.find("`", i + 1)
            i = n if j < 0 else j + 1
        elif c in "'\"":
            j = text.find(c, i + 1)
            i = n if j < 0 else j + 1
        elif c.isidentifier():
            j = i + 1
            while j < n and (text[j].isidentifier() or text[j].isdigit()):
                j += 1
            word = text[i:j]
            # attribute names after a dot are not variables
            k = i - 1
            while k >= 0 and text[k] == " ":
                k -= 1
            if word not in _KEYWORDS and (k < 0 or text[k] != "."):
                out.append(word)
            i = j
        elif c.isdigit():
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "._"):
                j += 1
            i = j
        else:
            i += 1
    return out


# Context managers known to let exceptions through (never return True from
# __exit__), by the name of the function or class called.
_PASS_THROUGH_CMS = frozenset({
    "open", "errstate", "printoptions", "catch_warnings", "option_context", "no_grad",
    "inference_mode", "TemporaryDirectory", "NamedTemporaryFile", "TemporaryFile",
    "redirect_stdout", "redirect_stderr", "ZipFile", "TarFile", "File", "Pool",
    "ThreadPoolExecutor", "ProcessPoolExecutor", "style", "rc_context", "nullcontext",
})


def _never_suppresses(expr):
    """True when a with-item is a call of a context manager that lets
    exceptions through (so the with body runs to its end or raises)."""
    if type(expr) is not ast.Call:
        return False
    f = expr.func
    name = f.id if type(f) is ast.Name else f.attr if type(f) is ast.Attribute else None
    if name == "context" and type(f) is ast.Attribute:    # plt.style.context
        name = "style"
    return name in _PASS_THROUGH_CMS


def _root_name(node):
    """The Name at the root of x.a[b].c, or None."""
    while True:
        t = type(node)
        if t is ast.Attribute or t is ast.Subscript:
            node = node.value
        elif t is ast.Call:
            # f(x).append(...) mutates a result, not f; x.copy().y = 1 likewise
            return None
        elif t is ast.Name:
            return node.id
        else:
            return None


class _ChunkAnalyzer:
    """Walks one chunk's AST, keeping module-level flow for reads."""

    def __init__(self, shadowed, code_names):
        self.shadowed = shadowed          # builtin names bound by earlier chunks
        self.code_names = code_names      # names earlier chunks bound to code
        self.reads = set()
        self.writes = set()
        self.deletes = set()
        self.mutates = set()
        self.calls = set()
        self.imported = set()             # names bound by imports in this chunk
        self.dynamic = False
        self.funcs = {}                   # module name -> _FuncInfo currently bound to code
        self.functions = {}               # output: name -> _FuncInfo (merged over the chunk)
        self.stmt_code = None             # _FuncInfo of code the current top statement binds
        self.stmt_targets = set()         # names the current top statement binds or mutates
        self.module = _Scope("module", None, None, None)
        self.maybe = 0                    # > 0 inside operands that may not run

    # -- reads -------------------------------------------------------------

    def module_read(self, name):
        """A global read that happens now, at the current point of the chunk."""
        if name not in self.module.definite:
            self.reads.add(name)
        if self.stmt_code is not None and (name in self.code_names or name in self.funcs):
            # Code of an earlier chunk (or of this one) used here may end
            # up stored in what this statement binds (partial(f), [f],
            # make_adder(), C()): its readers read the code's name too, so
            # a class changed in place later (C.x = 2) is restored with it.
            self.stmt_code.reads.add(name)
        info = self.funcs.get(name)
        if info is not None:
            self.use_code(info)

    def use_code(self, info):
        """Code defined in this chunk may run now: its global reads count, and
        the current statement now holds code (functools.partial(f), [f])."""
        seen = set()
        stack = [info]
        while stack:
            fi = stack.pop()
            if id(fi) in seen:
                continue
            seen.add(id(fi))
            for r in fi.reads:
                if r not in self.module.definite:
                    self.reads.add(r)
                sub = self.funcs.get(r)
                if sub is not None:
                    stack.append(sub)
            self.mutates |= fi.mutates
            self.calls |= fi.calls
            if self.stmt_code is not None:
                self.stmt_code.merge(fi)

    def global_read(self, name, scope):
        """A name that resolved to a global, read from `scope`."""
        if scope.sink is None:
            self.module_read(name)
        else:
            scope.sink.reads.add(name)

    def load(self, name, scope):
        """Resolve a Name load in `scope` by Python's rules."""
        if name in _DYNAMIC_NAMES:
            self.dynamic = True
        s = scope
        if s.kind == "function" or s.kind == "comp":
            if name in s.globals:
                self.global_read(name, scope)
                return
            if name in s.locals or name in s.nonlocals:
                return
            s = s.parent
        elif s.kind == "class":
            if name in s.definite:
                return
            s = s.parent
        # Enclosing scopes: function locals are visible (closures); class
        # bodies are not, except to their own direct code handled above.
        while s.kind != "module":
            if s.kind != "class" and name not in s.globals and (
                    name in s.locals or name in s.nonlocals):
                return
            s = s.parent
        if scope.kind == "module":
            self.module_read(name)
        else:
            self.global_read(name, scope)

    def is_global(self, name, scope):
        """True when `name` used in `scope` refers to the module namespace."""
        s = scope
        if s.kind == "module":
            return True
        if s.kind == "class":
            if name in s.definite:
                return False
        elif name in s.globals:
            return True
        elif name in s.locals or name in s.nonlocals:
            return False
        s = s.parent
        while s.kind != "module":
            if s.kind != "class" and (name in s.locals or name in s.nonlocals):
                return False
            s = s.parent
        return True

    def mutation(self, name, scope):
        """`name`'s object may be changed in place from `scope`."""
        if name is None or not self.is_global(name, scope):
            return
        if scope.sink is None:
            # Objects the chunk made itself are of no interest to the planner.
            if name not in self.imported and name not in self.module.definite:
                self.mutates.add(name)
                self.stmt_targets.add(name)
        else:
            scope.sink.mutates.add(name)

    # -- bindings ------------------------------------------------------------

    def bind(self, name, scope, definite, code=None):
        """Bind `name` in `scope`; `definite` says it surely happens."""
        k = scope.kind
        if k == "module":
            self.writes.add(name)
            if definite:
                scope.definite.add(name)
            if code is not None:
                self.funcs[name] = code
            else:
                self.funcs.pop(name, None)
            self.stmt_targets.add(name)
        elif k == "class":
            if definite:
                scope.definite.add(name)
        elif name in scope.globals:
            sink = scope.sink
            if sink is None:
                self.bind(name, self.module, definite, code)
            else:
                sink.writes.add(name)
                self.writes.add(name)
        elif k == "comp" and name not in scope.locals:
            # Walrus inside a comprehension: binds in the enclosing scope.
            s = scope.parent
            while s.kind == "comp":
                s = s.parent
            self.bind(name, s, False, code)

    def unbind(self, name, scope):
        """`del name` in `scope`."""
        if scope.kind == "module":
            if name not in scope.definite:
                self.reads.add(name)      # deleting needs the old binding
            scope.definite.discard(name)
            self.deletes.add(name)
            self.funcs.pop(name, None)
            self.stmt_targets.add(name)
        elif scope.kind == "class":
            scope.definite.discard(name)
        elif name in scope.globals:
            if scope.sink is None:
                self.unbind(name, self.module)
            else:
                scope.sink.writes.add(name)
                self.writes.add(name)

    def target(self, node, scope, definite, code=None):
        """Bind an assignment target (Name, tuple, attribute, subscript...)."""
        t = type(node)
        if t is ast.Name:
            self.bind(node.id, scope, definite, code)
        elif t is ast.Tuple or t is ast.List:
            for e in node.elts:
                self.target(e, scope, definite)
        elif t is ast.Starred:
            self.target(node.value, scope, definite)
        elif t is ast.Attribute:
            self.expr(node.value, scope)
            self.mutation(_root_name(node), scope)
        elif t is ast.Subscript:
            self.expr(node.value, scope)
            self.expr(node.slice, scope)
            self.mutation(_root_name(node), scope)
        else:
            self.expr(node, scope)

    def delete(self, node, scope):
        """A `del` target."""
        t = type(node)
        if t is ast.Name:
            self.unbind(node.id, scope)
        elif t is ast.Tuple or t is ast.List:
            for e in node.elts:
                self.delete(e, scope)
        else:
            self.target(node, scope, False)

    # -- expressions -------------------------------------------------------

    def expr(self, node, scope):
        """Visit an expression evaluated in `scope`."""
        t = type(node)
        if t is ast.Name:
            if isinstance(node.ctx, ast.Load):
                self.load(node.id, scope)
            return
        if t is ast.Constant:
            return
        if t is ast.Call:
            self.call(node, scope)
            return
        if t is ast.Lambda:
            self.function(node, scope, None)
            return
        if t in _COMP_NODES:
            self.comprehension(node, scope)
            return
        if t is ast.NamedExpr:
            self.expr(node.value, scope)
            self.target(node.target, scope, scope.kind != "comp" and not self.maybe)
            return
        if t is ast.IfExp or t is ast.BoolOp:
            # only the first operand surely runs (a walrus after it may not)
            first = node.test if t is ast.IfExp else node.values[0]
            self.expr(first, scope)
            self.maybe += 1
            for e in ((node.body, node.orelse) if t is ast.IfExp else node.values[1:]):
                self.expr(e, scope)
            self.maybe -= 1
            return
        if t is ast.Attribute:
            if node.attr == "modules" and type(node.value) is ast.Name and node.value.id == "sys":
                self.dynamic = True       # sys.modules["__main__"]: the namespace itself
            self.expr(node.value, scope)
            return
        if t is ast.BinOp:
            self.expr(node.left, scope)
            self.expr(node.right, scope)
            return
        for child in _children(node):
            if isinstance(child, ast.expr):
                self.expr(child, scope)
            elif type(child) not in _SIMPLE_LEAVES:   # keyword, arguments, slice parts
                self.expr_parts(child, scope)

    def expr_parts(self, node, scope):
        """Visit the non-expression parts of an expression (keywords...)."""
        for child in _children(node):
            if isinstance(child, ast.expr):
                self.expr(child, scope)
            else:
                self.expr_parts(child, scope)

    def call(self, node, scope):
        """A call: the callee is read (and maybe code of this chunk runs),
        method calls may mutate their object, arguments may be mutated."""
        f = node.func
        callee = None
        if type(f) is ast.Name:
            callee = f.id
            if callee in ("setattr", "delattr") and node.args:
                obj = _root_name(node.args[0])
                if obj is not None and (obj in self.imported or obj == "sys"):
                    self.dynamic = True
                if type(node.args[0]) is ast.Subscript and _root_name(node.args[0]) == "sys":
                    self.dynamic = True
            elif callee in ("vars", "dir") and not node.args:
                self.dynamic = True       # a listing of the namespace (issue 8 class 9)
            if self.is_global(callee, scope):
                if scope.sink is None:
                    self.calls.add(callee)
                else:
                    scope.sink.calls.add(callee)
        elif type(f) is ast.Attribute:
            if f.attr in ("_getframe", "import_module") and _root_name(f) in ("sys", "importlib"):
                self.dynamic = True
            elif f.attr in _STRING_EVALUATORS:
                # pandas' query/eval and numexpr look names up in the
                # caller's frame: names in the expression text are reads.
                texts = [a for a in node.args[:1]] + [k.value for k in node.keywords
                                                      if k.arg in ("expr", "ex")]
                for a in texts:
                    if type(a) is ast.Constant and type(a.value) is str:
                        for name in _identifiers(a.value):
                            self.load(name, scope)
            self.mutation(_root_name(f.value), scope)
        self.expr(f, scope)
        pure = callee in _PURE_CALLS
        for a in node.args:
            self.expr(a, scope)
            if not pure:
                v = a.value if type(a) is ast.Starred else a
                if type(v) is ast.Name:
                    self.mutation(v.id, scope)
        for k in node.keywords:
            self.expr(k.value, scope)
            if not pure and type(k.value) is ast.Name:
                self.mutation(k.value.id, scope)

    def comprehension(self, node, scope):
        """A comprehension: its own scope, run now; the first iterator is
        evaluated in the enclosing scope."""
        gens = node.generators
        self.expr(gens[0].iter, scope)
        # A generator expression runs when consumed, maybe in a later chunk:
        # like a lambda, its reads count now and go with what holds it.
        lazy = None
        if type(node) is ast.GeneratorExp and scope.sink is None:
            lazy = _FuncInfo()
        cs = _Scope("comp", scope, lazy or scope.sink, scope.defer)
        _collect_function_locals(node, cs)
        for i, g in enumerate(gens):
            if i:
                self.expr(g.iter, cs)
            self.target(g.target, cs, True)
            for c in g.ifs:
                self.expr(c, cs)
        if type(node) is ast.DictComp:
            self.expr(node.key, cs)
            self.expr(node.value, cs)
        else:
            self.expr(node.elt, cs)
        if lazy is not None:
            self.use_code(lazy)

    def arguments_defaults(self, args, scope):
        """Defaults and annotations are evaluated where the def is."""
        for d in args.defaults:
            self.expr(d, scope)
        for d in args.kw_defaults:
            if d is not None:
                self.expr(d, scope)
        for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if a is not None and a.annotation is not None:
                self.expr(a.annotation, scope)

    def function(self, node, scope, name):
        """A def or lambda: defaults, decorators and annotations now; the body
        later, reported into a _FuncInfo.  Returns that info."""
        for d in getattr(node, "decorator_list", ()):
            self.expr(d, scope)
        self.arguments_defaults(node.args, scope)
        if getattr(node, "returns", None) is not None:
            self.expr(node.returns, scope)
        info = scope.defer if scope.defer is not None else (scope.sink or _FuncInfo())
        fs = _Scope("function", scope, info, info)
        _collect_function_locals(node, fs)
        if type(node) is ast.Lambda:
            self.expr(node.body, fs)
        else:
            self.block(node.body, fs)
        if scope.sink is None:
            if name is None or _may_call(getattr(node, "decorator_list", ())):
                # A lambda made now, or a decorated def, may be called now.
                self.use_code(info)
            elif self.stmt_code is not None:
                self.stmt_code.merge(info)
        return info

    def classdef(self, node, scope):
        """A class: bases, keywords, decorators and body run now; methods
        later, reported into one _FuncInfo for the class."""
        for d in node.decorator_list:
            self.expr(d, scope)
        for b in node.bases:
            self.expr(b, scope)
        for k in node.keywords:
            self.expr(k.value, scope)
        info = scope.defer if scope.defer is not None else (scope.sink or _FuncInfo())
        cs = _Scope("class", scope, scope.sink, info)
        self.block(node.body, cs)
        if scope.sink is None:
            if _may_call(node.decorator_list):
                self.use_code(info)
            elif self.stmt_code is not None:
                self.stmt_code.merge(info)
        return info

    # -- statements ----------------------------------------------------------

    def block(self, stmts, scope):
        """Visit statements in order."""
        for s in stmts:
            self.stmt(s, scope)

    def branch(self, stmts, scope, start):
        """Visit a block that may or may not run, starting from `start` bound
        names; return the names bound at its end."""
        saved = scope.definite
        scope.definite = set(start)
        self.block(stmts, scope)
        end = scope.definite
        scope.definite = saved
        return end

    def stmt(self, node, scope):
        """Visit one statement in `scope`."""
        t = type(node)
        if t is ast.Expr:
            self.expr(node.value, scope)
        elif t is ast.Assign:
            v = node.value
            code = None
            if type(v) is ast.Lambda:
                # f = lambda ...: a named function, runs when called
                code = self.function(v, scope, "<lambda>")
            else:
                self.expr(v, scope)
                if type(v) is ast.Name:
                    code = self.funcs.get(v.id)
            if scope.kind != "module":
                code = None
            for tg in node.targets:
                self.target(tg, scope, True, code)
        elif t is ast.AugAssign:
            tg = node.target
            if type(tg) is ast.Name:
                self.load(tg.id, scope)
                self.expr(node.value, scope)
                self.mutation(tg.id, scope)
                self.bind(tg.id, scope, True)
            else:
                self.expr(node.value, scope)
                self.target(tg, scope, True)
        elif t is ast.AnnAssign:
            if node.value is not None:
                self.expr(node.value, scope)
            if scope.kind != "function":
                self.expr(node.annotation, scope)
            if node.value is not None:
                self.target(node.target, scope, True)
            elif type(node.target) is not ast.Name:
                self.target(node.target, scope, True)
        elif t is ast.FunctionDef or t is ast.AsyncFunctionDef:
            info = self.function(node, scope, node.name)
            self.bind(node.name, scope, True, info if scope.kind == "module" else None)
        elif t is ast.ClassDef:
            info = self.classdef(node, scope)
            self.bind(node.name, scope, True, info if scope.kind == "module" else None)
        elif t is ast.Import or t is ast.ImportFrom:
            self.imports(node, scope)
        elif t is ast.Delete:
            for tg in node.targets:
                self.delete(tg, scope)
        elif t is ast.Return:
            if node.value is not None:
                self.expr(node.value, scope)
        elif t is ast.If:
            self.expr(node.test, scope)
            start = scope.definite
            a = self.branch(node.body, scope, start)
            b = self.branch(node.orelse, scope, start)
            scope.definite = a & b
        elif t is ast.For or t is ast.AsyncFor:
            self.expr(node.iter, scope)
            start = scope.definite
            saved = scope.definite
            scope.definite = set(start)
            self.target(node.target, scope, True)
            self.block(node.body, scope)
            end = scope.definite
            scope.definite = saved
            e = self.branch(node.orelse, scope, start & end)
            scope.definite = start & end & e
        elif t is ast.While:
            self.expr(node.test, scope)
            start = scope.definite
            end = self.branch(node.body, scope, start)
            e = self.branch(node.orelse, scope, start & end)
            scope.definite = start & end & e
        elif t is ast.With or t is ast.AsyncWith:
            for item in node.items:
                self.expr(item.context_expr, scope)
                if item.optional_vars is not None:
                    self.target(item.optional_vars, scope, True)
            # A context manager may swallow an exception half-way through
            # the body, so its bindings are not sure afterwards; the usual
            # ones (open, np.errstate...) never do.
            if all(_never_suppresses(item.context_expr) for item in node.items):
                self.block(node.body, scope)
            else:
                start = scope.definite
                end = self.branch(node.body, scope, start)
                scope.definite = start & end
        elif t is ast.Try or t is getattr(ast, "TryStar", None):
            start = scope.definite
            body_end = self.branch(node.body, scope, start)
            ends = [self.branch(node.orelse, scope, body_end)]
            for h in node.handlers:
                if h.type is not None:
                    self.expr(h.type, scope)
                hstart = start & body_end
                if h.name:
                    saved = scope.definite
                    scope.definite = set(hstart)
                    self.bind(h.name, scope, False)
                    scope.definite = saved
                end = self.branch(h.body, scope, hstart)
                if h.name:
                    end.discard(h.name)     # Python deletes it when the handler ends
                ends.append(end)
            after = set.intersection(*ends)
            scope.definite = self.branch(node.finalbody, scope, after)
        elif t is ast.Match:
            self.expr(node.subject, scope)
            start = scope.definite
            ends = []
            for case in node.cases:
                saved = scope.definite
                scope.definite = set(start)
                self.pattern(case.pattern, scope)
                if case.guard is not None:
                    self.expr(case.guard, scope)
                self.block(case.body, scope)
                ends.append(scope.definite)
                scope.definite = saved
            scope.definite = start.intersection(*ends)
        elif t is ast.Raise:
            if node.exc is not None:
                self.expr(node.exc, scope)
            if node.cause is not None:
                self.expr(node.cause, scope)
        elif t is ast.Assert:
            self.expr(node.test, scope)
            if node.msg is not None:
                self.expr(node.msg, scope)
        elif t is ast.Global or t is ast.Nonlocal or t is ast.Pass \
                or t is ast.Break or t is ast.Continue:
            pass
        else:                               # future statement kinds: be thorough
            for child in _children(node):
                if isinstance(child, ast.stmt):
                    self.stmt(child, scope)
                elif isinstance(child, ast.expr):
                    self.expr(child, scope)

    def imports(self, node, scope):
        """import / from-import: bind names; star imports defeat analysis."""
        if type(node) is ast.Import:
            for al in node.names:
                top = al.name.split(".")[0]
                if top in _DYNAMIC_MODULES:
                    self.dynamic = True
                name = al.asname or top
                if scope.kind == "module":
                    self.imported.add(name)
                self.bind(name, scope, True)
        else:
            if node.module and node.module.split(".")[0] in _DYNAMIC_MODULES:
                self.dynamic = True
            for al in node.names:
                if al.name == "*":
                    self.dynamic = True
                    continue
                if scope.kind == "module":
                    self.imported.add(al.asname or al.name)
                    if node.module and not node.level and self.stmt_code is not None:
                        # a module global taken by name (from helper import calls):
                        # its readers read the module's state too, which a chunk
                        # changing that module in place writes (weft_state)
                        self.stmt_code.reads.add(f"<module {node.module}>")
                self.bind(al.asname or al.name, scope, True)

    def pattern(self, p, scope):
        """Bind a match pattern's captures; value patterns read names."""
        t = type(p)
        if t is ast.MatchValue:
            self.expr(p.value, scope)
        elif t is ast.MatchAs:
            if p.pattern is not None:
                self.pattern(p.pattern, scope)
            if p.name:
                self.bind(p.name, scope, True)
        elif t is ast.MatchStar:
            if p.name:
                self.bind(p.name, scope, True)
        elif t is ast.MatchSequence or t is ast.MatchOr:
            for sub in p.patterns:
                self.pattern(sub, scope)
        elif t is ast.MatchMapping:
            for k in p.keys:
                self.expr(k, scope)
            for sub in p.patterns:
                self.pattern(sub, scope)
            if p.rest:
                self.bind(p.rest, scope, True)
        elif t is ast.MatchClass:
            self.expr(p.cls, scope)
            for sub in p.patterns + p.kwd_patterns:
                self.pattern(sub, scope)

    # -- chunk -----------------------------------------------------------------

    def run(self, tree):
        """Analyse a parsed chunk, top statement by top statement."""
        for node in tree.body:
            self.stmt_code = _FuncInfo()
            self.stmt_targets = set()
            self.stmt(node, self.module)
            code = self.stmt_code
            if code.reads or code.writes or code.mutates or code.calls:
                for name in self.stmt_targets:
                    if name in self.deletes and name not in self.writes:
                        continue
                    fi = self.functions.get(name)
                    if fi is None:
                        fi = self.functions[name] = _FuncInfo()
                    fi.merge(code)
                    cur = self.funcs.get(name)
                    if cur is None:
                        self.funcs[name] = fi
                    elif cur is not fi:
                        cur.merge(code)
            else:
                # code that reads no global still is code: list it, empty
                for name in self.stmt_targets:
                    if name in self.funcs and name not in self.functions:
                        self.functions[name] = _FuncInfo()
        self.stmt_code = None

    def record(self):
        """The JSON-able result."""
        reads_builtins = sorted(n for n in self.reads if n in _BUILTINS and n not in self.shadowed)
        rb = set(reads_builtins)
        functions = {}
        function_writes = {}
        for name, info in self.functions.items():
            # Close over this chunk's own code (f's body calls g defined here).
            reads = set(info.reads)
            writes = set(info.writes)
            stack = [r for r in info.reads if r in self.functions]
            seen = {name}
            while stack:
                r = stack.pop()
                if r in seen:
                    continue
                seen.add(r)
                sub = self.functions[r]
                reads |= sub.reads
                writes |= sub.writes
                stack.extend(x for x in sub.reads if x in self.functions)
            functions[name] = sorted(reads)
            if writes:
                function_writes[name] = sorted(writes)
        return {
            "reads": sorted(self.reads - rb),
            "reads_builtins": reads_builtins,
            "writes": sorted(self.writes),
            "deletes": sorted(self.deletes),
            "maybe_mutates": sorted(self.mutates - self.imported),
            "functions": functions,
            "function_writes": function_writes,
            "calls": sorted(self.calls),
            "dynamic": self.dynamic,
        }


def _serialize(node, out):
    """Append node types, fields and constant reprs of an AST to `out`: the
    content of ast.dump(include_attributes=False), about three times as fast.
    Load/Store/Del contexts are left out: a node's place already implies them."""
    add = out.append
    add(type(node).__name__)
    for f in node._fields:
        v = getattr(node, f, None)
        if isinstance(v, _AST):
            if type(v) not in _CTX_TYPES:
                _serialize(v, out)
        elif type(v) is list:
            add("[")
            for e in v:
                if isinstance(e, _AST):
                    _serialize(e, out)
                else:
                    add(repr(e))
            add("]")
        else:
            add(repr(v))
    add(")")


def normalized_digest(tree):
    """Digest of an AST without positions: comments and layout do not count."""
    out = []
    _serialize(tree, out)
    dump = "\x1f".join(out)
    return blake2b(_DIGEST_VERSION + dump.encode("utf-8", "surrogatepass"),
                           digest_size=32).hexdigest()


_CODE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.GeneratorExp)


def _defines_code(tree):
    """True when running the tree makes code objects that outlive it (functions,
    classes, lambdas, generators): their line numbers and source are document
    positions, seen by tracebacks, warnings and inspect.getsource."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, _CODE_NODES):
            return True
        for name in node._fields:
            v = getattr(node, name, None)
            if isinstance(v, ast.AST):
                todo.append(v)
            elif type(v) is list:
                todo.extend(e for e in v if isinstance(e, ast.AST))
    return False


def _display_suppressed(code, tree):
    """True when the chunk's last statement is an expression followed by ';'
    (Jupyter's display suppression, as weft_runtime.ends_with_semicolon)."""
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return False
    node = tree.body[-1]
    lines = code.splitlines(True)
    if node.end_lineno is None or node.end_lineno > len(lines):
        return False
    # The same slicing as the runtime's, so the key follows its decision exactly.
    rest = lines[node.end_lineno - 1][node.end_col_offset:] + "".join(lines[node.end_lineno:])
    return rest.lstrip(" \t\r\n)\\").startswith(";")


def _unanalysable(code):
    """The record of a chunk that could not be analysed: a digest of the raw
    text and no known names (dynamic makes the planner conservative)."""
    raw = blake2b(b"weft-raw-1\0" + code.encode("utf-8", "surrogatepass"),
                          digest_size=32).hexdigest()
    return {
        "normalized": raw, "reads": [], "reads_builtins": [], "writes": [], "deletes": [],
        "maybe_mutates": [], "functions": {}, "function_writes": {}, "calls": [],
        "dynamic": True, "statements": [],
    }


def analyze_chunk(code, line=1, shadowed=frozenset(), code_names=frozenset()):
    """Analyse one chunk's code whose first line is document line `line`.
    `shadowed`: builtin names that earlier chunks bind; `code_names`: names
    earlier chunks bind to code (functions, classes, lambdas...)."""
    code = dedent_chunk(code)  # an indented chunk runs dedented (weft_source)
    try:
        tree = compile(code, "<chunk>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        lineno = getattr(e, "lineno", None) or 1
        rec = _unanalysable(code)
        rec["syntax_error"] = getattr(e, "msg", None) or str(e)
        rec["line"] = line + lineno - 1
        return rec
    a = _ChunkAnalyzer(shadowed, code_names)
    try:
        a.run(tree)
        rec = a.record()
        rec["normalized"] = normalized_digest(tree)
        rec["suppressed"] = _display_suppressed(code, tree)
        if rec["suppressed"]:
            # `42` and `42;` have one AST but not one output.
            rec["normalized"] = blake2b(b"weft-suppressed-1\0" + rec["normalized"].encode(),
                                        digest_size=32).hexdigest()
        rec["defines_code"] = _defines_code(tree)
    except RecursionError:
        # Absurdly deep nesting: give up on precision, never on soundness.
        rec = _unanalysable(code)
        rec["dynamic"] = True
    stmts = []
    for node in tree.body:
        first = node.lineno
        for d in getattr(node, "decorator_list", ()):
            first = min(first, d.lineno)
        stmts.append(line + first - 1)
    rec["statements"] = stmts
    return rec


def op_analyze(req):
    """Analyse every chunk of a document, in document order."""
    out = []
    shadowed = set()
    code_names = set()
    for ch in req.get("chunks", []):
        rec = analyze_chunk(ch.get("code", ""), int(ch.get("line", 1)),
                            frozenset(shadowed), frozenset(code_names))
        out.append(rec)
        shadowed.update(n for n in rec["writes"] if n in _BUILTINS)
        code_names.update(rec["functions"])
    return {"chunks": out}
