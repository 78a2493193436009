"""Cache soundness with the incremental namespace index (issue 13, "Unbounded").

Tracking keeps, from chunk to chunk, a copy of the namespace, the names bound
to each object and every name's reachability walk (weft_nsindex,
weft_reach.ReachIndex), and updates them only for the names a chunk or the
planner changed. These scenarios bind many names in many chunks, so that
what an early chunk bound sits in the index untouched for a long stretch,
then change it late in every way tracking must still see: through an alias
made early, through a dict of a module, through a class attribute, through
globals() and a function's `global` statement, by deleting an early name or
rebinding it to an equal value of another type, by a name restored from the
cache between two chunks, with a chunk that lists the namespace (its order),
and with a setting made early. Every cached render is compared byte for byte
with a --no-cache render (soundlib.py), and the chunks that ran are asserted.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import Scratch, check, finish, weft  # noqa: E402

# Chunks binding names between the early chunk and the late one: enough that
# the early names' index entries live through many tracked chunks.
FILL = 30


def filler(tag):
    """FILL chunks, each binding a new name (an int, a list, a dict in turn)."""
    kinds = ("{i}", "[{i}]", "{{'k': {i}}}")
    return [(f"{tag}{i}", f"{tag}{i} = " + kinds[i % 3].format(i=i)) for i in range(FILL)]


def doc(early, late, show, extra_before_show=()):
    """early, FILL fillers, late, (extra chunks), show."""
    return chunks(early, *filler("f"), late, *extra_before_show, show)


def fill_names():
    return {f"f{i}" for i in range(FILL)}


def late_edits(name, early, late, late2, show, ran_edit_show=("show",), replayed=(), files=None):
    """Render all; render again (nothing runs); edit the late chunk (it and
    show run); edit show only (only show runs: what the early and late
    chunks left comes from the cache)."""
    everything = {early[0], late[0], show[0]} | fill_names()
    run_scenario(name, [
        Step(doc(early, late, show), everything, files=files),
        Step(doc(early, late, show), set(), note="nothing changed", no_python=True),
        Step(doc(early, late2, show), {late[0], show[0]}, note="edit the late chunk"),
        Step(doc(early, late2, (show[0], show[1] + "\nprint('edited')")), set(ran_edit_show),
             replayed=replayed, note="edit the reader only"),
    ])


# -- a late chunk changes what an early chunk bound ----------------------------------

late_edits("an early alias, mutated late through it",
           ("early", "data = [1, 2]\nview = data"),
           ("late", "view.append(3)"), ("late", "view.append(4)"),
           ("show", "print(data, view is data)"))

late_edits("an early alias made in its own chunk, far from the mutation",
           ("early", "table = {'a': [1]}\nrow = table['a']"),
           ("late", "row.append(2)"), ("late", "row.extend([5, 6])"),
           ("show", "print(table)"))

HELPER = {"helper.py": "SETTINGS = {'mode': 'plain'}\nHISTORY = []\n"}
late_edits("a dict of a local module, changed late through the module",
           ("early", "import helper"),
           ("late", "helper.SETTINGS['mode'] = 'fancy'"), ("late", "helper.SETTINGS['mode'] = 'bold'"),
           ("show", "print(helper.SETTINGS)"), replayed=("late",), files=HELPER)

late_edits("a dict of a local module bound early to a name, changed late through the name",
           ("early", "from helper import SETTINGS as conf"),
           ("late", "conf['mode'] = 'fancy'"), ("late", "conf['mode'] = 'bold'"),
           ("show", "import helper\nprint(helper.SETTINGS, conf)"), replayed=("early", "late"), files=HELPER)

late_edits("a dict held by a library module's namespace object, changed late",
           ("early", "import types\nbag = types.SimpleNamespace(opts={'n': 1})\nopts = bag.opts"),
           ("late", "bag.opts['n'] = 2"), ("late", "bag.opts['n'] = 3"),
           ("show", "print(opts)"))

late_edits("a class attribute changed late, read through an early instance",
           ("early", "class Counter:\n    hits = 0\nc = Counter()"),
           ("late", "Counter.hits += 5"), ("late", "Counter.hits += 7"),
           ("show", "print(c.hits)"))

late_edits("a class attribute changed late through an instance held in a list",
           ("early", "class Flag:\n    on = False\nflags = [Flag()]"),
           ("late", "type(flags[0]).on = 'yes'"), ("late", "type(flags[0]).on = 'very'"),
           ("show", "print(Flag.on, flags[0].on)"))

late_edits("an early name rebound late through globals()",
           ("early", "level = 1"),
           ("late", "globals()['level'] = 2"), ("late", "globals()['level'] = 3"),
           ("show", "print(level)"))

late_edits("an early name rebound late by an early function's global statement",
           ("early", "level = 1\ndef bump(v):\n    global level\n    level = v"),
           ("late", "bump(10)"), ("late", "bump(20)"),
           ("show", "print(level)"))

late_edits("an early name deleted late",
           ("early", "old = [1]\nkept = 2"),
           ("late", "del old"), ("late", "del old\nkept = 3"),
           ("show", "print('old' in globals(), kept)"))

late_edits("an early name rebound late to an equal value of another type",
           ("early", "x = 1"),
           ("late", "x = 1.0"), ("late", "x = True"),
           ("show", "print(type(x).__name__, x, x == 1)"))

late_edits("an early list rebound late to an equal list (another object)",
           ("early", "items = [1, 2]\nsame = items"),
           ("late", "items = [1, 2]\nitems.append(3)"), ("late", "items = list(same)\nitems.append(4)"),
           ("show", "print(items, same, items is same)"))


# -- names restored between chunks, and the order of the namespace ------------------

run_scenario("an early name restored from the cache, then mutated late", [
    Step(doc(("early", "acc = [0]"), ("late", "acc.append(1)"), ("show", "print(acc)")),
         {"early", "late", "show"} | fill_names()),
    Step(doc(("early", "acc = [0]"), ("late", "acc.append(2)\nacc.append(3)"), ("show", "print(acc)")),
         {"late", "show"}, note="edit the late chunk: acc is restored before it runs"),
    Step(doc(("early", "acc = [0]"), ("late", "acc.append(2)\nacc.append(3)"), ("show", "print(acc, len(acc))")),
         {"show"}, note="edit the reader"),
    Step(doc(("early", "acc = [5]"), ("late", "acc.append(2)\nacc.append(3)"), ("show", "print(acc, len(acc))")),
         {"early", "late", "show"}, note="edit the early chunk"),
])

LIST = ("listing", "print([k for k in globals() if k[:1] in 'fgm'])")
run_scenario("a chunk listing the namespace after many names, one moved and one deleted", [
    Step(doc(("early", "g0 = 'first'"), ("mover", "del f3\nf3 = 'moved'\ndel f4"), LIST),
         {"early", "mover", "listing"} | fill_names()),
    Step(doc(("early", "g0 = 'first'"), ("mover", "del f3\nf3 = 'moved again'\ndel f4"), LIST),
         {"mover", "listing"}, note="edit the chunk that moves a name"),
    Step(doc(("early", "g0 = 'first'"), ("mover", "del f3\nf3 = 'moved again'\ndel f4"),
             (LIST[0], LIST[1] + "\nprint(len(globals()) > 30)")),
         {"listing"}, note="edit the listing only: every name restored, in fresh-run order"),
    Step(doc(("early", "g0 = 'first'\nm1 = 1"), ("mover", "del f3\nf3 = 'moved again'\ndel f4"),
             (LIST[0], LIST[1] + "\nprint(len(globals()) > 30)")),
         {"early", "listing"}, note="the early chunk binds one more name"),
])

NP = "import numpy as np\n"
run_scenario("a setting made early, changed late, read after many chunks", [
    Step(doc(("early", NP + "np.set_printoptions(precision=3)"), ("late", "np.set_printoptions(precision=5)"),
             ("show", "print(np.array([1 / 3]))")), {"early", "late", "show"} | fill_names()),
    Step(doc(("early", NP + "np.set_printoptions(precision=3)"), ("late", "np.set_printoptions(precision=6)"),
             ("show", "print(np.array([1 / 3]))")), {"late", "show"}, note="edit the late setting"),
    Step(doc(("early", NP + "np.set_printoptions(precision=3)"), ("late", "np.set_printoptions(precision=6)"),
             ("show", "print(np.array([2 / 3]))")), {"show"}, note="edit the reader: the setting comes back"),
    Step(doc(("early", NP + "np.set_printoptions(precision=3)"), ("late", "x = 1"),
             ("show", "print(np.array([2 / 3]))")), {"late", "show"}, note="the late chunk no longer sets it"),
])

run_scenario("untracked inline code mutating an early object between chunks", [
    Step(chunks(("early", "box = [1]"), *filler("f"), ("show", "print(box)"))
         .replace("Text before show.", "Text <% box.append(2) %> before show."),
         {"early", "show"} | fill_names()),
    Step(chunks(("early", "box = [1]"), *filler("f"), ("show", "print(box, len(box))"))
         .replace("Text before show.", "Text <% box.append(2) %> before show."),
         {"show"}, note="edit the reader"),
    Step(chunks(("early", "box = [1]"), *filler("f"), ("show", "print(box, len(box))"))
         .replace("Text before show.", "Text <% box.append(3) %> before show."),
         None, note="edit the inline code"),
])

# -- the worker's C comparison agrees with its definition ---------------------------

# Random pairs of namespaces (names added, deleted, moved to the end, rebound
# to equal objects; int keys too): _weft.ns_diff (C) and weft_nsindex's
# Python diff, which tests/py/test_nsindex.py checks against the definition.
NATIVE = """import random, _weft, weft_nsindex
rnd = random.Random(5)
objs = [[i] for i in range(9)] + [1, 2, 's', None]
bad = 0
for t in range(3000):
    old = {f'n{i}': rnd.choice(objs) for i in rnd.sample(range(30), rnd.randrange(0, 20))}
    if rnd.random() < 0.2:
        old[rnd.randrange(5)] = 'int key'
    new = dict(old)
    for _ in range(rnd.randrange(0, 5)):
        op, keys = rnd.randrange(4), list(new)
        if op == 0:
            new[f'n{rnd.randrange(40)}'] = rnd.choice(objs)
        elif op == 1 and keys:
            del new[rnd.choice(keys)]
        elif op == 2 and keys:
            k = rnd.choice(keys)
            new[k] = new.pop(k)
        elif op == 3 and keys:
            new[rnd.choice(keys)] = [0]
    bad += _weft.ns_diff(old, new) != weft_nsindex._py_diff(old, new)
v = _weft.dict_version(new)
same = _weft.dict_version(new) == v
new['zz'] = 1
print('disagreements', bad, 'version kept', same, 'version moves', _weft.dict_version(new) != v)
"""
w = Scratch()
w.file("doc.mdw", chunks(("native", NATIVE)))
r = weft("weave", "--no-cache", "-q", "-f", "markdown", "-o", "out.md", "doc.mdw", cwd=w.path)
out = w.read("out.md") if r.returncode == 0 else r.stderr
check("_weft.ns_diff agrees with the Python diff on 3,000 random pairs; dict_version follows changes",
      "disagreements 0 version kept True version moves True" in out, out[-2000:])
w.cleanup()

finish()
