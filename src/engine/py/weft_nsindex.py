"""weft_nsindex: the document namespace as tracking last saw it, kept up to date.

weft_state tracks every chunk with the cache on: which names it bound and
deleted, which it may have changed in place (the names it reads, those bound
to the same objects, those whose reachability walks meet theirs). Computing
that from the whole namespace at every chunk makes a render of N chunks cost
N^2. This module keeps, from one chunk to the next:

* snap: a copy of the namespace dict at the last sync (a C-level dict copy;
  it keeps the objects alive, so ids stay unique);
* by_obj: {id(object): {user names bound to it}};
* reach: a weft_reach.ReachIndex, the walks of the names bound to objects
  that can share others, with the object -> names maps.

    ix = NsIndex()
    changed, deleted, same_order = ix.sync(ns, is_user, runtime_key, walk)

sync compares the namespace with the last snapshot (diff below), updates the
three for the user names that changed (new or bound to another object) or
went, walks the changed ones with walk(name, value) (None: nothing to walk),
takes a new snapshot and returns those names (and diff's same_order);
ix.base_id is then the id of the snapshot they were found against (the one
taken at the sync before, unless the index was rebuilt: {}).
Everything else costs what the
chunk touched, not the namespace.

What remains proportional to the namespace is the comparison itself and
the snapshot (a dict copy) after a chunk changed the namespace: Python 3.11
has no dict watchers, so a name a chunk rebinds through globals(), exec or
a function's `global` statement can only be seen by looking at every
binding. diff() does it in C when weft's worker provides _weft.ns_diff (a
pointer comparison per name), else with C-level builtins (several times
slower, still no Python per name). The changes since the last chunk
(restores, deletions, untracked inline code, a thread) are looked for only
when the dict's version tag (_weft.dict_version, PEP 509) says it changed.

runtime_key: an object that changes when the set of names the runtime owns
changes (weft_state._known[0]); names that became the runtime's then leave
the index and names that stopped being its join it (a look at every name,
no walk). Another namespace dict than the last one rebuilds it from scratch.
"""

import operator
import sys
from itertools import compress

_MISSING = object()


def _py_diff(old, new):
    """diff() without the worker's native module: C-level builtins only, and
    no user code run (keys compared by identity; only exact str keys looked
    up, as the namespace's user names are)."""
    n_old = len(old)
    same_order = len(new) >= n_old and all(map(operator.is_, new, old))
    if same_order:
        vals = list(new.values())
        changed = [k for k in compress(new, map(operator.is_not, old.values(), vals)) if type(k) is str]
        if len(vals) > n_old:
            changed.extend(k for k in list(new)[n_old:] if type(k) is str)
        return changed, [], True
    str_keys = [k for k in new if type(k) is str]
    changed = [k for k in str_keys if old.get(k, _MISSING) is not new[k]]
    deleted = [k for k in old if type(k) is str and k not in new]
    return changed, deleted, False


def _native(name):
    """A function of weft's worker module (_weft), or None outside the worker."""
    mod = sys.modules.get("_weft")
    return getattr(mod, name, None) if mod is not None else None


def version(d):
    """d's PEP 509 version tag (equal: d has not changed), or None when it
    cannot be read (outside the worker, the stable-ABI build)."""
    fn = _native("dict_version")
    return fn(d) if fn is not None else None


def diff(old, new):
    """(changed, deleted, same_order) between two namespace dicts: the str
    keys of `new` that `old` lacks or binds to another object (in `new`'s
    order), the str keys of `old` that `new` lacks, and whether `old`'s keys
    are, by identity, the first keys of `new` in the same order (then the
    rest of `new` is what was inserted since, at its end)."""
    fn = _native("ns_diff")
    if fn is not None:
        return fn(old, new)
    return _py_diff(old, new)


class NsIndex:
    """See the module docstring."""

    def __init__(self):
        self.ns = None
        self.snap = {}
        self.by_obj = {}
        self.names = set()      # the user names in the indexes
        self.runtime_key = None
        self.version = None     # ns's version tag when snap was taken (None: unknown)
        self.base_id = None     # id of the snapshot the last sync compared ns with (not the
                                # snapshot: an old one must not keep deleted objects alive)
        import weft_reach
        self.reach = weft_reach.ReachIndex()

    def reset(self):
        """Forget everything: the next sync sees every name as new."""
        self.ns = None
        self.snap = {}
        self.version = None
        self.names.clear()
        self.by_obj.clear()
        self.reach.clear()

    def _unbind(self, name, obj):
        """Take name (bound to obj in the snapshot) out of the indexes."""
        self.names.discard(name)
        s = self.by_obj.get(id(obj))
        if s is not None:
            s.discard(name)
            if not s:
                del self.by_obj[id(obj)]
        self.reach.drop(name)

    def _bind(self, name, obj, walk):
        """Put name, bound to obj, in the indexes (walked)."""
        self.names.add(name)
        s = self.by_obj.get(id(obj))
        if s is None:
            self.by_obj[id(obj)] = {name}
        else:
            s.add(name)
        w = walk(name, obj)
        if w is not None:
            self.reach.put(name, obj, w)

    def _rekey(self, is_user):
        """The runtime's names changed (a Jupyter kernel registers its history
        names as it goes): names that became the runtime's leave the indexes;
        the snapshot's names that stopped being the runtime's are returned,
        to join them as names bound now (as a comparison of the user names
        before and after would have them). Costs a look at every name, no walk."""
        old = self.snap
        for k in [k for k in self.names if not is_user(k)]:
            self._unbind(k, old[k])
        return [k for k in old if type(k) is str and k not in self.names and is_user(k)]

    def sync(self, ns, is_user, runtime_key, walk):
        """See the module docstring: (changed, deleted) user names since the
        last sync and whether the old names kept their order (diff), the
        indexes brought up to date."""
        joined = []
        if ns is not self.ns:
            self.reset()
            self.ns = ns
        elif runtime_key is not self.runtime_key:
            joined = self._rekey(is_user)
        self.runtime_key = runtime_key
        old = self.snap
        self.base_id = id(old)
        ver = version(ns)
        if ver is not None and ver == self.version and not joined:
            return [], [], True          # nothing changed ns since the snapshot
        changed, deleted, same_order = diff(old, ns)
        if changed or deleted or not same_order or len(old) != len(ns):
            self.snap = ns.copy()
        self.version = ver
        changed = [k for k in changed if is_user(k)]
        deleted = [k for k in deleted if is_user(k)]
        if joined:
            seen = set(changed) | set(deleted)
            changed += [k for k in joined if k not in seen and k in ns]
        for k in deleted:
            self._unbind(k, old[k])
        for k in changed:
            prev = old.get(k, _MISSING)
            if prev is not _MISSING:
                self._unbind(k, prev)
            self._bind(k, ns[k], walk)
        return changed, deleted, same_order

    def aliases(self, names, ns):
        """The user names bound to the same objects as `names` in ns (synced)."""
        out = set()
        for n in names:
            if n in ns:
                out.update(self.by_obj.get(id(ns[n]), ()))
        return out
