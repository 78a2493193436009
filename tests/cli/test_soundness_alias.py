"""Cache soundness, aliasing and code state (issue 8, classes 2 and 3): names
that share objects (b = a, an item of a container, a numpy view, a bound
method, an object holding another, a figure and its axes) and in-place
changes to classes, functions and modules (class attributes, registries,
closure cells, mutable defaults, lru_cache, singledispatch, a local module's
globals, a library module's attribute). Every cached render is compared byte
for byte with a --no-cache render (soundlib.py), and the chunks that ran
(and were replayed) are asserted.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import finish  # noqa: E402


def three(name, make, change, changed, show="", reader=None):
    """A scenario make / change / show: render, edit the changing chunk (it and
    the reader run), then edit the reader only (only it runs; the changing
    chunk's effect comes from the cache, restored or replayed)."""
    reader = reader or ("show", show)
    s1 = [("make", make), ("change", change), reader]
    s2 = [("make", make), ("change", changed), reader]
    s3 = [("make", make), ("change", changed), (reader[0], reader[1] + "\nprint('edited')")]
    return s1, s2, s3


def scenario(name, make, change, changed, show, replayed3=(), ran2=("change", "show")):
    s1, s2, s3 = three(name, make, change, changed, show)
    run_scenario(name, [
        Step(chunks(*s1), {"make", "change", "show"}),
        Step(chunks(*s1), set(), note="nothing changed", no_python=True),
        Step(chunks(*s2), set(ran2), note="edit the changing chunk"),
        Step(chunks(*s3), {"show"}, replayed=replayed3, note="edit the reader only"),
    ])


# -- class 3: aliasing ------------------------------------------------------------------

scenario("b = a, then b.append in a later chunk",
         "a = [1]\nb = a", "b.append(2)", "b.append(3)", "print(a)")

run_scenario("b = a in its own chunk, mutated through b later", [
    Step(chunks(("make", "a = [1]"), ("alias", "b = a"), ("grow", "b.append(2)"), ("show", "print(a)")),
         {"make", "alias", "grow", "show"}),
    Step(chunks(("make", "a = [1]"), ("alias", "b = a"), ("grow", "b.append(3)"), ("show", "print(a)")),
         {"grow", "show"}, note="edit the mutation through the alias"),
    Step(chunks(("make", "a = [1]"), ("alias", "b = list(a)"), ("grow", "b.append(3)"), ("show", "print(a)")),
         {"alias", "grow", "show"}, note="the alias becomes a copy"),
])

scenario("inner = outer[0], then inner.append",
         "outer = [[0], [5]]\ninner = outer[0]", "inner.append(1)", "inner.append(2)", "print(outer)")

run_scenario("an item taken in a later chunk", [
    Step(chunks(("make", "outer = {'k': [0]}"), ("take", "inner = outer['k']"), ("grow", "inner.append(1)"),
                ("show", "print(outer)")), {"make", "take", "grow", "show"}),
    Step(chunks(("make", "outer = {'k': [0]}"), ("take", "inner = outer['k']"), ("grow", "inner.append(7)"),
                ("show", "print(outer)")), {"grow", "show"}, note="edit the mutation"),
])

NP = "import numpy as np\n"
scenario("numpy view, then v += 1",
         NP + "arr = np.zeros(6)\nv = arr[:3]", "v += 1", "v += 2", "print(arr)")

scenario("numpy reversed strided view of a reshaped array",
         NP + "m = np.arange(12.0).reshape(3, 4)\nrow = m[1, ::-2]\ncol = m[:, 0]",
         "row *= 10", "row *= 100", "print(m)\nprint(col)")

scenario("bound method add = log.append",
         "log = []\nadd = log.append", "add(3)", "add(4)", "print(log)")

scenario("an object whose method changes another name's object",
         "class Box:\n    pass\nbox = Box()\nbox.value = 0\n"
         "class Poker:\n    def __init__(self, t):\n        self.t = t\n"
         "    def poke(self, v):\n        self.t.value = v\npk = Poker(box)",
         "pk.poke(5)", "pk.poke(6)", "print(box.value)")

MPL = "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
scenario("fig, ax = plt.subplots(), then ax.plot in the next chunk",
         MPL + "fig, ax = plt.subplots()", "lines = ax.plot([1, 2, 3])",
         "lines = ax.plot([1, 2, 3])\nlines += ax.plot([3, 2, 1])",
         "print(len(fig.axes[0].lines))\nfig")

scenario("a dict holding another name's dict",
         "opts = {'k': 1}\ncfg = {'opts': opts}", "opts['k'] = 2", "opts['k'] = 3", "print(cfg)")

scenario("an attribute holding another name's list",
         "class Holder:\n    pass\nitems = [0]\nholder = Holder()\nholder.items = items",
         "items.append(1)", "items.append(2)", "print(holder.items)")

scenario("numpy reshape view written through",
         NP + "arr = np.arange(6)\nv = arr.reshape(2, 3)", "v[0, 0] = 50", "v[1, 2] = 70", "print(arr)")

scenario("a user object's bound method",
         "class Stack:\n    def __init__(self):\n        self.items = []\n"
         "    def push(self, v):\n        self.items.append(v)\nst = Stack()\npush = st.push",
         "push(1)", "push(2)", "print(st.items)")

scenario("two closures sharing a cell",
         "def make():\n    box = []\n    def add(v):\n        box.append(v)\n"
         "    def get():\n        return list(box)\n    return add, get\nadd, get = make()",
         "add(1)", "add(2)", "print(get())")

# -- class 2: classes, functions and modules changed in place ------------------------------

scenario("class attribute C.x = 2",
         "class C:\n    x = 1\nc = C()", "C.x = 2", "C.x = 3", "print(C.x, c.x)")

scenario("class attribute read through an instance only",
         "class C:\n    x = 1\nc = C()", "C.x = 2", "C.x = 3", "print(c.x)")

scenario("registry filled by __init_subclass__",
         "class Base:\n    registry = []\n    def __init_subclass__(cls, **kw):\n"
         "        super().__init_subclass__(**kw)\n        Base.registry.append(cls.__name__)",
         "class A(Base):\n    pass", "class B(Base):\n    pass", "print(Base.registry)")

scenario("registry filled by a decorator",
         "REG = {}\ndef register(f):\n    REG[f.__name__] = f\n    return f",
         "@register\ndef foo():\n    return 1", "@register\ndef bar():\n    return 2", "print(sorted(REG))")

scenario("closure cell",
         "def make():\n    n = [0]\n    def inc():\n        n[0] += 1\n        return n[0]\n    return inc\n"
         "counter = make()", "counter()", "counter()\ncounter()", "print(counter())")

scenario("mutable default argument",
         "def f(x, acc=[]):\n    acc.append(x)\n    return acc", "f(1)", "f(7)", "print(f(2))")

scenario("functools.lru_cache contents",
         "import functools\n@functools.lru_cache(maxsize=None)\n"
         "def sq(x):\n    print('computing', x)\n    return x * x",
         "sq(2)", "sq(3)", "print(sq(2), sq(3), sq.cache_info().currsize)", replayed3=("make", "change"))

scenario("singledispatch register",
         "from functools import singledispatch\n@singledispatch\ndef kind(x):\n    return 'object'",
         "@kind.register(int)\ndef _(x):\n    return 'int'", "@kind.register(int)\ndef _(x):\n    return 'INT'",
         "print(kind(1), kind('s'))")

scenario("a function attribute",
         "def f():\n    return 1\nf.calls = 0", "f.calls += 1", "f.calls += 5", "print(f.calls)")

scenario("keyword-only mutable default",
         "def seen(x, *, acc=set()):\n    acc.add(x)\n    return sorted(acc)", "seen(1)", "seen(9)",
         "print(seen(2))")

HELPER = {"helper.py": "calls = []\ncount = 0\ndef record(x):\n    global count\n    calls.append(x)\n"
                       "    count += 1\n"}
run_scenario("a global of a local module changed through its function", [
    Step(chunks(("make", "import helper"), ("change", "helper.record(1)"),
                ("show", "print(helper.calls, helper.count)")), {"make", "change", "show"}, files=HELPER),
    Step(chunks(("make", "import helper"), ("change", "helper.record(2)"),
                ("show", "print(helper.calls, helper.count)")), {"change", "show"}, note="edit the change"),
    Step(chunks(("make", "import helper"), ("change", "helper.record(2)"),
                ("show", "print(helper.calls, helper.count, 'x')")), {"show"}, replayed={"change"},
         note="edit the reader: the module's change is replayed"),
])

run_scenario("a local module's function and list imported by name", [
    Step(chunks(("make", "from helper import record, calls"), ("change", "record(1)"),
                ("show", "print(calls)")), {"make", "change", "show"}, files=HELPER),
    Step(chunks(("make", "from helper import record, calls"), ("change", "record(5)"),
                ("show", "print(calls)")), {"change", "show"}, note="edit the change"),
    Step(chunks(("make", "from helper import record, calls"), ("change", "record(5)"),
                ("show", "print(calls, 'x')")), {"show"}, replayed={"make", "change"},
         note="edit the reader: the module's change is replayed"),
    Step(chunks(("make", "from helper import record, calls"), ("change", "record(5)"),
                ("other", "y = 1"), ("show", "print(calls, 'x')")), {"other"},
         note="an unrelated chunk inserted"),
])

scenario("somemodule.attr = ... on a library module",
         "import json", "json.weft_marker = 5", "json.weft_marker = 6", "print(json.weft_marker)",
         replayed3=("change",))

# precision: a library's own lazy state (pyplot picks its backend on first use) is no change
PLOTS = MPL + "import numpy as np"
run_scenario("plotting does not make pyplot a written name", [
    Step(chunks(("imp", PLOTS), ("p1", "plt.plot([1, 2])\nprint(1)"), ("p2", "plt.plot([2, 1])\nprint(2)")),
         {"imp", "p1", "p2"}),
    Step(chunks(("imp", PLOTS), ("p1", "plt.plot([1, 3])\nprint(1)"), ("p2", "plt.plot([2, 1])\nprint(2)")),
         {"p1"}, note="edit the first plot only"),
])

finish()
