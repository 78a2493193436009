"""weft_reach: what names reach, for the cache's aliasing and code-state rules.

weft_state asks two things of this module:

* Reachability.  reach(obj) walks the mutable objects an object reaches
  (container items, instance attributes, closure cells and defaults, a bound
  method's __self__, an array's base chain, a figure's axes and back), bounded
  by a budget and never entering __main__'s namespace, modules or the
  immutable leaves (numbers, strings, bytes).  Two names are *linked* when
  their walks meet in one mutable object; classes and functions defined in
  __main__ (or in a module beside the document) met on the way are kept apart
  as *code nodes*: they link names for change detection (an instance changes
  when its class does) but not for saving (cloudpickle keeps a class's
  identity by its tracker id).  Objects that a library module holds at top
  level (a default dict, a singleton) do not link names.

      walk = reach(obj)   -> Reach(objs: {id: obj}, code: {id: obj}, truncated: bool)
      components(walks)   -> [[names]]: names linked through shared objects
      linked(walks, seed) -> names whose walks meet the walks of `seed`
      ReachIndex()        -> the walks of a namespace kept across chunks, with
                             the object -> names maps: .put/.drop/.get one
                             name, .closure(seed, use_code) is linked()
                             (use_code) or the components meeting seed

* Code fingerprints.  code_fingerprint(obj) for classes, functions, lru_cache
  wrappers, bound methods and modules: a digest, comparable within one
  process, that changes with a class attribute (`C.x = 2`, a registry list
  filled by __init_subclass__ or a decorator), a function's defaults, closure
  cells and __dict__, the contents of an lru_cache (size and misses, not
  hits), a singledispatch registry, or a module attribute (submodules left
  out: importing one is not a change a restore could lose).

* Saving linked names together.  dump_group(objs, main) pickles {name: obj}
  in one pickle, so restoring keeps the sharing; numpy arrays that are views
  of one base shared by the group are pickled as views of it (one copy of
  the base, rebuilt with _rebuild_view), so a write through one shows
  through the others as in a fresh run.

Limits (README): a walk stops after _BUDGET objects (a bigger structure is
linked only through what the walk saw); objects a library keeps at module
level never link names; C extension objects that hide their references from
the garbage collector link nothing.
"""

import sys
import types
from _blake2 import blake2b

# Objects visited per walk before it gives up (and says so).
_BUDGET = 50000

_LEAVES = frozenset({type(None), bool, int, float, complex, str, bytes, range,
                     type(Ellipsis), types.CodeType,
                     types.WrapperDescriptorType,
                     types.MethodDescriptorType, types.GetSetDescriptorType,
                     types.MemberDescriptorType, types.ModuleType, types.FrameType,
                     type(type.__dict__)})


class Reach:
    """One walk's result (see module docstring)."""
    __slots__ = ("objs", "code", "truncated")

    def __init__(self):
        self.objs = {}
        self.code = {}
        self.truncated = False


_local_cache = {}


def _is_local_module(mod):
    """True for a module of the document (a .py file that is not part of
    Python or an installed package): its state is the document's state."""
    if mod is None:
        return False
    name = getattr(mod, "__name__", None)
    hit = _local_cache.get(name)
    if hit is not None and hit[0] is mod:
        return hit[1]
    f = getattr(mod, "__file__", None)
    local = False
    if isinstance(name, str) and name.startswith(("weft_", "_weft")):
        pass                      # weft's own runtime, wherever it was loaded from
    elif isinstance(f, str) and f.endswith(".py"):
        import os
        real = os.path.realpath(f)
        local = "-packages" not in real and not any(
            p and p != "/" and real.startswith(os.path.realpath(p) + os.sep)
            for p in (sys.prefix, sys.base_prefix, sys.exec_prefix))
    _local_cache[name] = (mod, local)
    return local


def is_user_code(obj):
    """True for a class or function defined in __main__ or a local module."""
    modname = getattr(obj, "__module__", None)
    if modname == "__main__":
        return True
    if not isinstance(modname, str):
        return False
    return _is_local_module(sys.modules.get(modname))


def _excluded_ids():
    """Namespaces a walk must not enter: they would link everything."""
    out = {id(sys.modules), id(sys.__dict__)}
    main = sys.modules.get("__main__")
    if main is not None:
        out.add(id(main.__dict__))
    import builtins
    out.add(id(builtins.__dict__))
    return out


def reach(obj, skip=None, budget=_BUDGET, lv=None):
    """Walk what obj reaches (see module docstring). `skip`: ids not to enter
    (namespaces); `lv`: local_values(), whose modules become code nodes of a
    walk meeting one of their values."""
    r = Reach()
    skip = skip if skip is not None else _excluded_ids()
    lv = lv if lv is not None else {}
    np = sys.modules.get("numpy")
    nd = np.ndarray if np is not None else None
    lru = _lru_type()
    stack = [obj]
    seen = r.objs
    code = r.code
    left = budget
    import gc
    while stack:
        o = stack.pop()
        t = type(o)
        if t in _LEAVES:
            continue
        i = id(o)
        if i in seen or i in code or i in skip:
            continue
        left -= 1
        if left < 0:
            r.truncated = True
            break
        if isinstance(o, type):
            if is_user_code(o):
                code[i] = o
            continue
        if i in lv:
            mod = lv[i][1]
            code[id(mod)] = mod
        if t is types.FunctionType:
            if is_user_code(o):
                code[i] = o
                mod = sys.modules.get(o.__module__)
                if o.__module__ != "__main__" and mod is not None:
                    code[id(mod)] = mod
            # defaults, closure cells, attributes; never the globals
            stack.extend(o.__defaults__ or ())
            stack.extend((o.__kwdefaults__ or {}).values())
            for c in o.__closure__ or ():
                try:
                    stack.append(c.cell_contents)
                except ValueError:
                    pass
            d = getattr(o, "__dict__", None)
            if d:
                stack.extend(d.values())
            continue
        if lru is not None and t is lru:
            if is_user_code(o):
                code[i] = o
            stack.append(getattr(o, "__wrapped__", None))
            continue
        if t is types.MethodType:
            stack.append(o.__func__)
            stack.append(o.__self__)
            continue
        if t is types.BuiltinMethodType or t is types.MethodWrapperType:
            stack.append(o.__self__)          # log.append reaches log (a module is a leaf)
            continue
        if t is tuple or t is frozenset:
            stack.extend(o)
            continue
        seen[i] = o
        if nd is not None and isinstance(o, nd):
            # an array's elements are data, not references: only its base
            # chain (views share it) and, for object arrays, the items
            b = o.base
            if b is not None:
                stack.append(b)
            if o.dtype.hasobject:
                # leaves (a column of strings) cost no budget: they share nothing
                items = [x for x in o.ravel(order="K").tolist() if type(x) not in _LEAVES]
                if len(items) > left:
                    r.truncated = True
                    break
                stack.extend(items)
            continue
        try:
            refs = gc.get_referents(o)
        except Exception:
            continue
        # leaves filtered first, in one pass (a list of 10^5 floats is common):
        # only what can be shared counts against the budget
        refs = [x for x in refs if type(x) not in _LEAVES]
        if len(refs) > left:
            r.truncated = True
            break
        stack.extend(refs)
    return r


def _lru_type():
    """functools._lru_cache_wrapper, if functools is loaded."""
    ft = sys.modules.get("functools")
    return getattr(ft, "_lru_cache_wrapper", None) if ft is not None else None


_lib_ids = None
_lib_mods = -1


def _library_globals():
    """ids of the objects library modules hold at top level (recomputed when
    modules were imported since): shared by everything, they link nothing."""
    global _lib_ids, _lib_mods
    mods = list(sys.modules.values())
    if _lib_ids is not None and len(mods) == _lib_mods:
        return _lib_ids
    ids = set()
    for m in mods:
        if m is None or getattr(m, "__name__", None) == "__main__" or _is_local_module(m):
            continue
        d = getattr(m, "__dict__", None)
        if isinstance(d, dict):
            ids.update(map(id, d.values()))
    _lib_ids, _lib_mods = ids, len(mods)
    return ids


def _union_find(walks, use_code=False):
    """Map each object id met by two or more names to the list of those names."""
    owners = {}
    for n, w in walks.items():
        for i in w.objs:
            owners.setdefault(i, []).append(n)
        if use_code:
            for i in w.code:
                owners.setdefault(i, []).append(n)
    shared = {i: ns for i, ns in owners.items() if len(ns) > 1}
    if shared:
        lib = _library_globals()
        shared = {i: ns for i, ns in shared.items() if i not in lib}
    return shared


def components(walks):
    """Names linked through shared mutable objects (code nodes do not link):
    a list of sorted name lists of two or more names."""
    parent = {n: n for n in walks}

    def find(n):
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n
    for names in _union_find(walks).values():
        root = find(names[0])
        for m in names[1:]:
            r2 = find(m)
            if r2 != root:
                parent[r2] = root
    groups = {}
    for n in walks:
        groups.setdefault(find(n), []).append(n)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def linked(walks, seed):
    """Names whose walks meet (objects or code nodes) the walk of any name in
    `seed`, transitively: the names a chunk reading `seed` may change
    (ReachIndex.closure over these walks; tracking keeps its index instead)."""
    ix = ReachIndex()
    for n, w in walks.items():
        ix.put(n, None, w)
    return ix.closure(seed, True)


class ReachIndex:
    """The walks of a namespace's names, kept from chunk to chunk, with the
    maps from each object met to the names whose walks met it: what
    components() and linked() compute from scratch, kept up to date name by
    name. A walk is replaced only when its name is walked again (bound,
    changed or read: weft_state decides); queries cost what the names they
    return reach, not the whole namespace. An object met by one name maps to
    that name (a str), by several to a set of them: most objects are met by
    one, and a set each would cost a walk's size in sets."""
    __slots__ = ("walks", "objs", "code")

    def __init__(self):
        self.walks = {}      # name -> (object walked, Reach)
        self.objs = {}       # id of a mutable object -> name or {names} whose walks met it
        self.code = {}       # id of a code node -> name or {names} whose walks met it

    def get(self, name, obj):
        """name's kept walk when it is still bound to obj, else None."""
        e = self.walks.get(name)
        return e[1] if e is not None and e[0] is obj else None

    def put(self, name, obj, walk):
        """Make `walk` (of obj) name's walk, replacing the one it had."""
        self.drop(name)
        self.walks[name] = (obj, walk)
        for ids, owners in ((walk.objs, self.objs), (walk.code, self.code)):
            for i in ids:
                cur = owners.get(i)
                if cur is None:
                    owners[i] = name
                elif type(cur) is str:
                    if cur != name:
                        owners[i] = {cur, name}
                else:
                    cur.add(name)

    def drop(self, name):
        """Forget name's walk (and the objects it holds, at once)."""
        e = self.walks.pop(name, None)
        if e is None:
            return
        for ids, owners in ((e[1].objs, self.objs), (e[1].code, self.code)):
            for i in ids:
                cur = owners.get(i)
                if cur is None:
                    continue
                if type(cur) is str:
                    if cur == name:
                        del owners[i]
                    continue
                cur.discard(name)
                if len(cur) == 1:
                    owners[i] = next(iter(cur))

    def clear(self):
        """Forget every walk."""
        self.walks.clear()
        self.objs.clear()
        self.code.clear()

    def _owners(self, i, use_code):
        """The names whose walks met object id i (a set), None when fewer than two."""
        o = self.objs.get(i)
        if use_code:
            c = self.code.get(i)
            if c is not None:
                if o is None:
                    o = c
                else:
                    o = ({o} if type(o) is str else o) | ({c} if type(c) is str else c)
        return None if o is None or type(o) is str or len(o) < 2 else o

    def closure(self, seed, use_code):
        """The names of `seed` and those whose walks meet theirs, transitively,
        through mutable objects (and code nodes with use_code) that no library
        module holds at top level: linked() (use_code) and the union of the
        components() meeting seed (not use_code) over the kept walks."""
        out = set(seed)
        todo = list(out)
        lib = None
        while todo:
            e = self.walks.get(todo.pop())
            if e is None:
                continue
            w = e[1]
            for ids in ((w.objs, w.code) if use_code else (w.objs,)):
                for i in ids:
                    others = self._owners(i, use_code)
                    if others is None or others <= out:
                        continue
                    if lib is None:
                        lib = _library_globals()
                    if i in lib:
                        continue
                    for m in others:
                        if m not in out:
                            out.add(m)
                            todo.append(m)
        return out


# -- code fingerprints ----------------------------------------------------------

def is_code(obj):
    """Objects whose state code_fingerprint covers."""
    if isinstance(obj, (type, types.FunctionType, types.ModuleType, types.MethodType)):
        return True
    lru = _lru_type()
    return lru is not None and type(obj) is lru


def _value_fp(v, content, depth):
    """Digest piece for one attribute / default / cell value."""
    if isinstance(v, (types.FunctionType, type)) or (_lru_type() is not None and type(v) is _lru_type()):
        if depth > 0 and is_user_code(v):
            return b"f%d:" % id(v) + (code_fingerprint(v, depth - 1) or b"?")
        return b"f%d" % id(v)
    if isinstance(v, types.MappingProxyType):
        return b"m" + repr([(k, id(x)) for k, x in v.items()]).encode()
    if isinstance(v, types.ModuleType):
        return b"M%d" % id(v)
    piece = b"i%d" % id(v)
    if content and not hasattr(type(v), "__get__"):     # descriptors: identity only
        import weft_state
        if weft_state.fingerprint_kind(v) == "content":
            fp = weft_state.fingerprint(v)
            piece += fp if fp is not None else b"?"
    return piece


def code_fingerprint(obj, depth=2):
    """Digest of a class's, function's or module's in-place state (see the
    module docstring); None when obj is none of those."""
    h = blake2b(digest_size=32)
    lru = _lru_type()
    if isinstance(obj, types.MethodType):
        return b"meth" + (code_fingerprint(obj.__func__, depth) or b"")
    if isinstance(obj, type):
        local = is_user_code(obj)
        h.update(b"class%d" % id(obj))
        for k, v in list(vars(obj).items()):
            if k == "__slotnames__":
                continue          # copyreg's cache, filled by pickling (ours too)
            h.update(k.encode() if isinstance(k, str) else repr(k).encode())
            h.update(_value_fp(v, local, depth))
        return h.digest()
    if isinstance(obj, types.FunctionType):
        local = is_user_code(obj)
        h.update(b"fn%d" % id(obj.__code__))
        for v in obj.__defaults__ or ():
            h.update(_value_fp(v, True, depth))
        for k, v in sorted((obj.__kwdefaults__ or {}).items()):
            h.update(k.encode() + _value_fp(v, True, depth))
        for c in obj.__closure__ or ():
            try:
                v = c.cell_contents
            except ValueError:
                h.update(b"empty")
                continue
            h.update(_value_fp(v, local, depth))
        for k, v in list(getattr(obj, "__dict__", {}).items()):
            h.update(str(k).encode() + _value_fp(v, local, depth))
        return h.digest()
    if lru is not None and type(obj) is lru:
        info = obj.cache_info()
        h.update(b"lru%d,%d" % (info.currsize, info.misses))
        w = getattr(obj, "__wrapped__", None)
        if w is not None:
            h.update(code_fingerprint(w, depth) or b"")
        return h.digest()
    if isinstance(obj, types.ModuleType):
        local = _is_local_module(obj)
        h.update(b"mod%d" % id(obj))
        for k, v in list(vars(obj).items()):
            if type(v) is types.ModuleType and getattr(v, "__name__", "").startswith(obj.__name__ + "."):
                continue          # a submodule: importing it is reproducible
            if isinstance(k, str) and (k.startswith("__") and k.endswith("__")
                                       or (not local and k.startswith("_"))):
                continue      # a library's private globals are its own lazy state
            h.update(str(k).encode() + _value_fp(v, local, depth if local else 0))
        return h.digest()
    return None


# -- saving linked names together --------------------------------------------------

def _root(a, nd):
    """The array at the end of a's base chain (the one owning or wrapping the memory)."""
    while isinstance(a.base, nd):
        a = a.base
    return a


def _rebuild_view(root, offset, shape, strides, dtype):
    """Unpickle an array that was a view of `root` as a view of it again."""
    import numpy as np
    return np.ndarray(shape, dtype, buffer=root, offset=offset, strides=strides)


def shared_roots(objs):
    """Roots (see _root) of arrays of the group that two or more arrays view."""
    np = sys.modules.get("numpy")
    if np is None:
        return {}
    count, keep = {}, {}
    for w in objs:
        for o in w.objs.values():
            if type(o) is np.ndarray:
                root = _root(o, np.ndarray)
                count.setdefault(id(root), set()).add(id(o))
                keep[id(root)] = root
    return {i: keep[i] for i, s in count.items() if len(s) > 1}


def _view_reduce(obj, roots, np):
    """The reduction of an array viewing a shared root, else NotImplemented."""
    if type(obj) is not np.ndarray or obj.base is None:
        return NotImplemented
    root = _root(obj, np.ndarray)
    if root is obj or id(root) not in roots:
        return NotImplemented
    if obj.dtype.hasobject or not (root.flags.c_contiguous or root.flags.f_contiguous):
        raise TypeError("a view of an object array (or of a non-contiguous base) "
                        "cannot be saved sharing its base")
    offset = obj.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return (_rebuild_view, (root, offset, obj.shape, obj.strides, obj.dtype))


def dump_group(group, main, roots):
    """Pickle the dict `group` ({name: obj}) in one pickle: (data, [PickleBuffer]).
    `roots`: shared_roots() of its members (views of them stay views)."""
    import io
    import _pickle
    import weft_state
    np = sys.modules.get("numpy")
    bufs = []

    def out_of_band(b):
        with memoryview(b) as m:
            if m.nbytes < weft_state._OOB_MIN:
                return True
        bufs.append(b)
        return False

    def reducer(obj):
        if not roots or np is None:
            return NotImplemented
        return _view_reduce(obj, roots, np)

    class _Plain(_pickle.Pickler):
        def reducer_override(self, obj):
            return reducer(obj)
    f = io.BytesIO()
    try:
        _Plain(f, protocol=5, buffer_callback=out_of_band).dump(group)
        data = f.getvalue()
        if b"__main__" not in data:
            return data, bufs
    except Exception:
        pass
    for b in bufs:
        b.release()
    bufs.clear()
    if weft_state._pickler_class is None:
        weft_state._pickler_class = weft_state._make_pickler_class()
    base = weft_state._pickler_class

    class _Cloud(base):
        def reducer_override(self, obj):
            r = reducer(obj)
            if r is not NotImplemented:
                return r
            return super().reducer_override(obj)
    f = io.BytesIO()
    _Cloud(f, main, out_of_band).dump(group)
    return f.getbuffer(), bufs


_local_mods = ([], -1)


def _local_modules():
    """The document's own modules loaded so far (rescanned when sys.modules grows)."""
    global _local_mods
    mods, n = _local_mods
    if n != len(sys.modules):
        mods = [m for m in list(sys.modules.values())
                if m is not None and getattr(m, "__name__", None) != "__main__" and _is_local_module(m)]
        _local_mods = (mods, len(sys.modules))
    return mods


def local_values():
    """{id: (value, module)} for the top-level mutable values of the
    document's own modules (a .py beside it): a copy of one restored apart
    from its module would split them."""
    out = {}
    for m in _local_modules():
        for k, v in list(vars(m).items()):
            if type(v) in _LEAVES or (isinstance(k, str) and k.startswith("__")):
                continue
            out[id(v)] = (v, m)
    return out


def unsaveable_reason(obj, changed):
    """Why obj cannot be saved faithfully as code state, else None. `changed`:
    ids of classes, functions and modules a tracked chunk changed in place."""
    lru = _lru_type()
    if lru is not None and type(obj) is lru and obj.cache_info().currsize:
        return "functools.lru_cache contents are not saved"
    if id(obj) in changed:
        if isinstance(obj, types.ModuleType):
            return f"module {obj.__name__} was changed in place; a restore would re-import it"
        if getattr(obj, "__module__", None) != "__main__":
            return "changed in place, and saved by reference to its module"
    hit = local_values().get(id(obj)) if not isinstance(obj, types.ModuleType) else None
    if hit is not None and hit[0] is obj and not isinstance(obj, (type, types.FunctionType)):
        return f"a global of module {hit[1].__name__}: a restored copy would not be the module's"
    return None
