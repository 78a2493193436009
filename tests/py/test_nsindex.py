"""Tests of weft_nsindex (the namespace index tracking keeps from chunk to
chunk) and weft_reach.ReachIndex (walks kept with object -> names maps).

Run with /usr/bin/python3 tests/py/test_nsindex.py; prints ok/not ok lines.
Outside weft's worker there is no _weft module: diff() is the Python one
here (the worker's C ns_diff is compared with it in
tests/cli/test_soundness_incremental.py).
"""

import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.realpath(os.path.join(HERE, "..", "..", "src", "engine", "py")))
sys.path.insert(0, HERE)

from tap import test  # noqa: E402
import tap  # noqa: E402
import weft_nsindex as nx  # noqa: E402
import weft_reach as wr  # noqa: E402
import weft_state as ws  # noqa: E402


def eq(got, want):
    assert got == want, f"got {got!r}, want {want!r}"


def slow_diff(old, new):
    """diff() by definition, name by name."""
    changed = [k for k in new if type(k) is str and (k not in old or old[k] is not new[k])]
    deleted = [k for k in old if type(k) is str and k not in new]
    n = len(old)
    same = len(new) >= n and all(a is b for a, b in zip(list(new)[:n], old))
    return changed, deleted, same


@test
def diff_cases():
    a, b = [1], [1]
    old = {"x": a, "y": 2, "z": "s", 7: "int key"}
    cases = [
        ({**old}, ([], [], True)),
        ({**old, "w": 1}, (["w"], [], True)),
        ({**old, "x": b}, (["x"], [], True)),                 # equal, another object
        ({k: v for k, v in old.items() if k != "y"}, ([], ["y"], False)),
        ({"y": 2, "x": a, "z": "s", 7: "int key"}, ([], [], False)),  # moved
        ({**old, 7: "other", 8: 1}, ([], [], True)),         # non-str keys are never names
    ]
    for new, want in cases:
        eq(nx._py_diff(old, new), want)
        eq(slow_diff(old, new), want)


@test
def diff_matches_its_definition_on_random_edits():
    rnd = random.Random(13)
    objs = [[i] for i in range(20)] + list(range(5)) + ["s", None]
    for _ in range(300):
        old = {f"n{i}": rnd.choice(objs) for i in rnd.sample(range(40), rnd.randrange(0, 30))}
        new = dict(old)
        for _ in range(rnd.randrange(0, 6)):
            op = rnd.randrange(4)
            keys = list(new)
            if op == 0:
                new[f"n{rnd.randrange(60)}"] = rnd.choice(objs)
            elif op == 1 and keys:
                del new[rnd.choice(keys)]
            elif op == 2 and keys:
                k = rnd.choice(keys)
                new[k] = new.pop(k)                          # moved to the end
            elif op == 3 and keys:
                new[rnd.choice(keys)] = [0]                  # a new object
        eq(nx._py_diff(old, new), slow_diff(old, new))


def names_of(ix):
    return {n for s in ix.by_obj.values() for n in s}


def sync(ix, ns):
    ws._known_user_names()
    return ix.sync(ns, ws.is_user_name, ws._known[0], ws._walker(ns))


@test
def sync_reports_changes_and_keeps_indexes():
    ix = nx.NsIndex()
    shared = [1]
    ns = {"__name__": "__main__", "a": shared, "b": shared, "n": 3}
    changed, deleted, same = sync(ix, ns)
    eq((sorted(changed), deleted), (["a", "b", "n"], []))
    eq(sorted(ix.aliases(["a"], ns)), ["a", "b"])
    eq(sorted(ix.reach.walks), ["a", "b"])             # 3 cannot share anything
    eq(sync(ix, ns), ([], [], True))
    ns["b"] = [1]
    del ns["n"]
    changed, deleted, _ = sync(ix, ns)
    eq((changed, deleted), (["b"], ["n"]))
    eq(sorted(ix.aliases(["a"], ns)), ["a"])
    eq(names_of(ix), {"a", "b"})
    eq(ix.reach.closure({"a"}, False), {"a"})
    ns["c"] = {"k": ns["a"]}
    sync(ix, ns)
    eq(ix.reach.closure({"a"}, False), {"a", "c"})


@test
def runtime_names_leave_and_join_the_index():
    ix = nx.NsIndex()
    ns = {"keep": [1], "hist": [2]}
    sync(ix, ns)
    eq(names_of(ix), {"keep", "hist"})
    ws.RUNTIME_NAMES.add("hist")
    try:
        changed, _, _ = sync(ix, ns)
        eq(changed, [])
        eq(names_of(ix), {"keep"})
        eq(sorted(ix.reach.walks), ["keep"])
    finally:
        ws.RUNTIME_NAMES.discard("hist")
    changed, _, _ = sync(ix, ns)
    eq(changed, ["hist"])                                # a user name again: as if bound now
    eq(names_of(ix), {"keep", "hist"})


def brute_linked(walks, seed, use_code):
    """The names whose walks share, transitively, an object (or a code node)
    not held by a library module with a name of seed: pair by pair."""
    lib = wr._library_globals()

    def ids(n):
        w = walks[n]
        return (set(w.objs) | (set(w.code) if use_code else set())) - lib
    out, grew = set(seed), True
    while grew:
        grew = False
        for n in walks:
            if n not in out and any(ids(n) & ids(m) for m in out if m in walks):
                out.add(n)
                grew = True
    return out


def walks_of(ns):
    skip = wr._excluded_ids()
    return {n: wr.reach(v, skip) for n, v in ns.items()}


@test
def reach_index_closure_is_linked_and_components():
    rnd = random.Random(8)

    class Box:
        pass

    for _ in range(60):
        pool = [[] for _ in range(12)] + [Box() for _ in range(4)]
        for o in pool:                                   # a random graph of containers
            for _ in range(rnd.randrange(0, 3)):
                t = rnd.choice(pool)
                if isinstance(o, list):
                    o.append(t)
                else:
                    setattr(o, f"a{rnd.randrange(3)}", t)
        ns = {f"v{i}": rnd.choice(pool) for i in range(10)}
        walks = walks_of(ns)
        ix = wr.ReachIndex()
        order = list(ns)
        rnd.shuffle(order)
        for n in order:                                  # put, replace, drop, put again
            ix.put(n, ns[n], walks[n])
        for n in rnd.sample(order, 3):
            ix.drop(n)
            ix.put(n, ns[n], wr.reach(ns[n], wr._excluded_ids()))
        seed = set(rnd.sample(order, 2))
        eq(ix.closure(seed, True), brute_linked(walks, seed, True))
        eq(wr.linked(walks, seed), brute_linked(walks, seed, True))
        eq(ix.closure(seed, False), brute_linked(walks, seed, False))
        comp = set(seed)
        for c in wr.components(walks):
            if seed & set(c):
                comp |= set(c)
        eq(ix.closure(seed, False), comp)
    # one name as a str, two or more as a set, never an empty or one-name set
    eq(all(type(o) is str or len(o) > 1 for o in list(ix.objs.values()) + list(ix.code.values())), True)
    for n in list(ix.walks):
        ix.drop(n)
    eq((ix.objs, ix.code), ({}, {}))


tap.finish()
