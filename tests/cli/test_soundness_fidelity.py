"""Cache soundness, issue 8 classes 9 (namespace listings, dunder user names)
and 10 (restore fidelity, weft's own pickling running document code).
soundlib.py says how a scenario runs: every cached render is compared byte for
byte with a --no-cache render, and the chunks that ran are asserted.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import finish  # noqa: E402

USER = "[n for n in {fn} if not n.startswith('_')]"

# ---- class 9: namespace listings under lazy restore ---------------------------

A = ("a", "zeta = 1\nbeta = [1]")
B = ("b", "alpha = 2\nbeta.append(2)")
run_scenario("globals() listing after cached chunks", [
    Step(chunks(A, B, ("c", f"print({USER.format(fn='globals()')})")), {"a", "b", "c"}),
    Step(chunks(A, B, ("c", f"print(len({USER.format(fn='globals()')}), {USER.format(fn='globals()')})")), {"c"},
         note="the lister runs alone: every name restored, in fresh-run order"),
    Step(chunks(A, B, ("c", "g = dict(globals())\nprint([(k, g[k]) for k in g if not k.startswith('_')])")), {"c"},
         note="values too, in insertion order"),
])

run_scenario("dir() and vars() without arguments", [
    Step(chunks(A, B, ("c", f"print({USER.format(fn='dir()')})")), {"a", "b", "c"}),
    Step(chunks(A, B, ("c", f"print(len({USER.format(fn='dir()')}))")), {"c"}, note="dir() sees every name"),
    Step(chunks(A, B, ("c", f"print({USER.format(fn='vars()')})")), {"c"}, note="vars()"),
    Step(chunks(A, B, ("c", f"print({USER.format(fn='locals()')})")), {"c"}, note="locals() at module level"),
    Step(chunks(A, B, ("c", f"print(sorted({USER.format(fn='globals()')}))")), {"c"}, note="sorted(globals())"),
])

run_scenario("a name deleted and rebound moves to the end of globals()", [
    Step(chunks(("a", "p = 1\nq = 2"), ("b", "del p\np = 3"), ("c", f"print({USER.format(fn='globals()')})")),
         {"a", "b", "c"}),
    Step(chunks(("a", "p = 1\nq = 2"), ("b", "del p\np = 3"), ("c", f"print(1, {USER.format(fn='globals()')})")),
         {"c"}, note="fresh order q, p"),
    Step(chunks(("a", "p = 1\nq = 2"), ("b", "del p\np = 4"), ("c", f"print(1, {USER.format(fn='globals()')})")),
         {"b", "c"}, note="edit the rebinding chunk"),
])

run_scenario("a rebinding under lazy restore keeps its place (found by the fuzzer)", [
    Step(chunks(("a", "v0, v1, v3 = 1, 2, 3\nlst = [1]"), ("c", f"print({USER.format(fn='globals()')})")), {"a", "c"}),
    Step(chunks(("a", "v0, v1, v3 = 1, 2, 3\nlst = [1]"), ("b", "del v0\nv3 = 5"),
                ("c", f"print({USER.format(fn='globals()')})")), {"b", "c"}, note="v3 rebound where v3 was not restored"),
    Step(chunks(("a", "v0, v1, v3 = 1, 2, 3\nlst = [1]"), ("b", "del v0\nv3 = 5"),
                ("c", f"print(1, {USER.format(fn='globals()')})")), {"c"}, note="from the entry's record"),
])

VERSION = ("meta", "__version__ = '1.2'\n__author__ = 'Ann'\n__all__ = ['f']")
run_scenario("dunder user names are saved and restored", [
    Step(chunks(VERSION, ("x", "x = 1"), ("show", "print(__version__, __author__, __all__, x)")),
         {"meta", "x", "show"}),
    Step(chunks(VERSION, ("x", "x = 1"), ("show", "print(__version__, __author__, __all__, x + 1)")),
         {"show"}, note="reader runs, producer cached"),
    Step(chunks(VERSION, ("x", "x = 1"), ("grow", "__all__.append('g')"),
                ("show", "print(__version__, __author__, __all__, x + 1)")),
         {"grow", "show"}, note="__all__ mutated in place by a new chunk"),
    Step(chunks(VERSION, ("x", "x = 1"), ("grow", "__all__.append('g')"),
                ("show", "print(__version__, __all__, x + 2)")),
         {"show"}, note="the mutated __all__ restored"),
    Step(chunks(("meta", "__version__ = '2.0'\n__author__ = 'Ann'\n__all__ = ['f']"), ("x", "x = 1"),
                ("grow", "__all__.append('g')"), ("show", "print(__version__, __all__, x + 2)")),
         {"meta", "grow", "show"}, note="edit the producer"),
])

run_scenario("a module docstring chunk binds __doc__", [
    Step(chunks(("doc", "'''The report.'''\nn = 3"), ("show", "print(__doc__, n)")), {"doc", "show"}),
    Step(chunks(("doc", "'''The report.'''\nn = 3"), ("show", "print(repr(__doc__), n)")), {"show"},
         note="__doc__ restored for the reader"),
    Step(chunks(("doc", "'''Another report.'''\nn = 3"), ("show", "print(repr(__doc__), n)")), {"doc", "show"},
         note="edit the docstring"),
])

NAMES = ("names", "def names():\n    return [n for n in globals() if not n.startswith('_')]")
run_scenario("a function of an earlier chunk lists the namespace", [
    Step(chunks(NAMES, A, B, ("c", "print(names())")), {"names", "a", "b", "c"}),
    Step(chunks(NAMES, A, B, ("c", "print(names(), 1)")), {"c"}, note="the caller sees every name, in order"),
    Step(chunks(NAMES, ("a", "zeta = 5\nbeta = [1]"), B, ("c", "print(names(), 1)")), {"a", "b", "c"},
         note="edit a producer: the caller depends on every name"),
])

run_scenario("the namespace through sys.modules['__main__'] and inline code", [
    Step(chunks(A, B, ("c", "import sys\nm = sys.modules['__main__']\nprint([n for n in vars(m) if n[0] != '_'])"))
         + "\nNames: <%= [n for n in globals() if n[0] != '_'] %>.\n", {"a", "b", "c"}),
    Step(chunks(A, B, ("c", "import sys\nm = sys.modules['__main__']\nprint(1, [n for n in vars(m) if n[0] != '_'])"))
         + "\nNames: <%= [n for n in globals() if n[0] != '_'] %>.\n", {"c"}),
])

# ---- class 10: restore fidelity ----------------------------------------------

TRY = ("catch", "try:\n    {}[1]\nexcept KeyError as e:\n    err = e\nprint('caught')")
run_scenario("a saved exception keeps its traceback", [
    Step(chunks(TRY, ("show", "print(type(err).__name__, err.__traceback__ is None)")), {"catch", "show"}),
    Step(chunks(TRY, ("show", "print(type(err).__name__, err.__traceback__ is None, 1)")), {"show"},
         replayed={"catch"}, note="the exception is rebuilt by replay, not restored without its traceback"),
    Step(chunks(TRY, ("show", "import traceback\nprint(len(traceback.format_tb(err.__traceback__)))")), {"show"},
         replayed={"catch"}, note="traceback formatted"),
])

CHAIN = ("chain", "try:\n    try:\n        1/0\n    except ZeroDivisionError as z:\n"
                  "        raise ValueError('bad') from z\nexcept ValueError as v:\n    errs = [v]")
run_scenario("an exception in a list keeps its cause", [
    Step(chunks(CHAIN, ("show", "print(repr(errs[0].__cause__))")), {"chain", "show"}),
    Step(chunks(CHAIN, ("show", "print(repr(errs[0].__cause__), 2)")), {"show"}, replayed={"chain"},
         note="rebuilt by replay"),
])

run_scenario("a plain exception object without traceback is still restored", [
    Step(chunks(("mk", "e = ValueError('x', 2)"), ("show", "print(repr(e), e.__traceback__)")), {"mk", "show"}),
    Step(chunks(("mk", "e = ValueError('x', 2)"), ("show", "print(repr(e), e.__traceback__, 1)")), {"show"},
         note="restored from the cache (no replay needed)"),
])

SET = ("mk", "s = set(range(50))\nfor i in range(50):\n    if i not in (5, 40):\n        s.discard(i)")
run_scenario("a set's iteration order after removals", [
    Step(chunks(SET, ("show", "print(list(s))")), {"mk", "show"}),
    Step(chunks(SET, ("show", "print(list(s), 1)")), {"show"}, replayed={"mk"},
         note="order kept: a set whose order a rebuild changes is replayed"),
    Step(chunks(SET, ("show", "print([list(x) for x in [s]], 2)")), {"show"}, replayed={"mk"}),
])

run_scenario("a set nested in a dict, order kept", [
    Step(chunks(("mk", "d = {'s': {64, 1}}\nfs = frozenset(range(100)) - frozenset(range(2, 99))"),
                ("show", "print(list(d['s']), list(fs))")), {"mk", "show"}),
    Step(chunks(("mk", "d = {'s': {64, 1}}\nfs = frozenset(range(100)) - frozenset(range(2, 99))"),
                ("show", "print(list(d['s']), list(fs), 1)")), {"show"}, note="sets as built, order identical"),
])

RO = ("mk", "import numpy as np\nsmall = np.arange(4.0)\nsmall.flags.writeable = False\n"
            "big = np.arange(100000.0)\nbig.flags.writeable = False\nrw = np.arange(100000.0)")
run_scenario("ndarray.flags.writeable survives a restore", [
    Step(chunks(RO, ("show", "print(small.flags.writeable, big.flags.writeable, rw.flags.writeable)")),
         {"mk", "show"}),
    Step(chunks(RO, ("show", "print(small.flags.writeable, big.flags.writeable, rw.flags.writeable, 1)")),
         {"show"}, note="restored read-only arrays stay read-only"),
    Step(chunks(RO, ("show", "try:\n    big[0] = 1\nexcept ValueError as e:\n    print('read-only:', e)\n"
                             "rw[0] = 5\nprint(rw[:2])")), {"show"}, note="writing raises as in a fresh run"),
])

RO_VIEW = ("mk", "import numpy as np\nbase = np.arange(10.0)\nbase.flags.writeable = False\nev = base[::2]\n"
                "b3 = np.broadcast_to(np.arange(3.0), (2, 3))")
run_scenario("read-only views and broadcast arrays stay read-only", [
    Step(chunks(RO_VIEW, ("show", "print(ev.flags.writeable, b3.flags.writeable, ev.sum())")), {"mk", "show"}),
    Step(chunks(RO_VIEW, ("show", "print(ev.flags.writeable, b3.flags.writeable, ev.sum(), 1)")), {"show"},
         replayed={"mk"}, note="they would come back as writable copies: rebuilt by replay"),
])

COUNTER = ("mk", "calls = []\nclass Tracked:\n    def __init__(self, v):\n        self.v = v\n"
                 "    def __reduce__(self):\n        calls.append(1)\n        print('reduce ran')\n"
                 "        return (Tracked, (self.v,))\nt = Tracked(3)")
run_scenario("__reduce__ with side effects is never run by weft", [
    Step(chunks(COUNTER, ("use", "t.v += 1\nprint(t.v, len(calls))"), ("show", "print(t.v, len(calls))")),
         {"mk", "use", "show"}),
    Step(chunks(COUNTER, ("use", "t.v += 1\nprint(t.v, len(calls))"), ("show", "print(t.v, len(calls), 1)")),
         {"show"}, replayed={"mk", "use"}, note="t rebuilt by replay, calls untouched"),
])

GETSTATE = ("mk", "class Noisy:\n    n = 0\n    def __getstate__(self):\n        Noisy.n += 1\n"
                  "        print('getstate', Noisy.n)\n        return self.__dict__\n"
                  "    def __setstate__(self, st):\n        print('setstate')\n        self.__dict__.update(st)\n"
                  "box = {'k': Noisy()}\nbox['k'].x = 1")
run_scenario("__getstate__/__setstate__ with prints, inside a container", [
    Step(chunks(GETSTATE, ("show", "print(box['k'].x, Noisy.n)")), {"mk", "show"}),
    Step(chunks(GETSTATE, ("show", "print(box['k'].x, Noisy.n, 1)")), {"show"}, replayed={"mk"}),
    Step(chunks(GETSTATE, ("mut", "box['k'].x = 2"), ("show", "print(box['k'].x, Noisy.n, 1)")), {"mut", "show"},
         replayed={"mk"}, note="a mutating chunk: fingerprinting runs no document code"),
])

HASHEQ = ("mk", "class K:\n    def __init__(self, v):\n        self.v = v\n"
                "    def __hash__(self):\n        print('hash', self.v)\n        return self.v\n"
                "    def __eq__(self, o):\n        return self.v == o.v\nks = {K(1), K(2)}")
run_scenario("user __hash__ would run when a set is restored", [
    Step(chunks(HASHEQ, ("show", "print(sorted(k.v for k in ks))")), {"mk", "show"}),
    Step(chunks(HASHEQ, ("show", "print(sorted(k.v for k in ks), 1)")), {"show"}, replayed={"mk"}),
])

run_scenario("library objects and plain classes still restore from the cache", [
    Step(chunks(("mk", "import fractions, collections\nclass P:\n    def __init__(self):\n        self.a = [1]\n"
                       "p = P()\nq = fractions.Fraction(1, 3)\ncnt = collections.Counter('aab')"),
                ("show", "print(p.a, q, cnt)")), {"mk", "show"}),
    Step(chunks(("mk", "import fractions, collections\nclass P:\n    def __init__(self):\n        self.a = [1]\n"
                       "p = P()\nq = fractions.Fraction(1, 3)\ncnt = collections.Counter('aab')"),
                ("show", "print(p.a, q, cnt, 1)")), {"show"}, note="no replay"),
])

finish()
