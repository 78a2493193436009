"""Cache soundness III: keys per position and source text, inline code, replay
(issue 8, classes 11, 6, 5 and 4). Every step compares a cached render with a
--no-cache render byte for byte and asserts the chunks that ran (soundlib.py).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import Scratch, check, finish, weft  # noqa: E402


def prose(text):
    """A text block (with inline code) to put between chunks."""
    return ("p", text)


def doc(*parts):
    """chunks(), with ("p", text) parts as plain prose."""
    out = []
    for header, code in parts:
        out.append(code + "\n" if header == "p" else chunks((header, code)))
    return "\n".join(out)


# ---- class 11: identical chunks get distinct keys ----

MK = ("mk", "lst = []")
run_scenario("identical appends are two positions", [
    Step(chunks(MK, ("ap1", "lst.append(1)"), ("ap2", "lst.append(1)"), ("show", "print(lst)")),
         {"mk", "ap1", "ap2", "show"}),
    Step(chunks(MK, ("ap1", "lst.append(1)"), ("ap2", "lst.append(1)"), ("show", "print(len(lst), lst)")),
         {"show"}, note="reader edited: both appends restored in order"),
    Step(chunks(MK, ("ap1", "lst.append(1)"), ("show", "print(len(lst), lst)")), {"show"},
         note="second append deleted"),
])

CLS = "class C:\n    n = 0"
run_scenario("a class defined twice is two classes", [
    Step(chunks(("c1", CLS), ("mka", "a = C()"), ("c2", CLS), ("show", "print(isinstance(a, C), C.n)")),
         {"c1", "mka", "c2", "show"}, note="first cached render: c2 must not hit c1's entry"),
    Step(chunks(("c1", CLS), ("mka", "a = C()"), ("c2", CLS), ("show", "print(isinstance(a, C), C.n, 1)")),
         {"show"}, note="reader edited"),
    Step(chunks(("c1", CLS), ("mka", "a = C()"), ("c2", CLS), ("show", "print(isinstance(a, C), C.n, 1)")),
         set(), no_python=True, note="nothing changed"),
])

SEED = ("seed", "import random\nrandom.seed(11)")
DRAW = "v = random.random()\nprint(round(v, 9))"
run_scenario("identical random draws", [
    Step(chunks(SEED, ("d1", DRAW), ("d2", DRAW), ("d3", DRAW)), {"seed", "d1", "d2", "d3"}),
    Step(chunks(SEED, ("d1", DRAW), ("d2", DRAW), ("d3", DRAW)), set(), no_python=True,
         note="nothing changed: no entry thrashing between identical chunks"),
    Step(chunks(SEED, ("d1", DRAW), ("d2", DRAW), ("d3", DRAW), ("last", "print(v, random.random())")),
         {"last"}, note="a reader after them continues the third draw"),
])

run_scenario("an unrelated chunk inserted above identical chunks", [
    Step(chunks(MK, ("ap1", "lst.append(1)"), ("ap2", "lst.append(1)"), ("show", "print(lst)")),
         {"mk", "ap1", "ap2", "show"}),
    Step(chunks(("other", "z = 5\nprint(z)"), MK, ("ap1", "lst.append(1)"), ("ap2", "lst.append(1)"),
                ("show", "print(lst)")), {"other"}, note="only the new chunk runs"),
    Step(chunks(MK, ("ap0", "lst.append(1)"), ("ap1", "lst.append(1)"), ("ap2", "lst.append(1)"),
                ("show", "print(lst)")), None, note="an identical chunk inserted above"),
])

# ---- class 6: output that depends on the source text ----

run_scenario("display suppressed by a semicolon", [
    Step(chunks(("a", "x = 41"), ("b", "x + 1")), {"a", "b"}),
    Step(chunks(("a", "x = 41"), ("b", "x + 1;")), {"b"}, note="42 -> 42;"),
    Step(chunks(("a", "x = 41"), ("b", "x + 1 ;  # quiet")), set(), note="comment after the semicolon only"),
    Step(chunks(("a", "x = 41"), ("b", "x + 1")), set(), note="semicolon removed: the first entry is valid again"),
])

run_scenario("comment added in a term=True chunk", [
    Step(chunks(("t, term=True", "x = 2\nx * 3")), {"t"}),
    Step(chunks(("t, term=True", "x = 2\n# the product\nx * 3")), {"t"}, note="comment shows in the transcript"),
    Step(chunks(("t, term=True", "x = 2\n# the product\nx * 3"), ("u", "y = 1  # plain")), {"u"},
         note="a comment in an ordinary chunk still runs nothing else"),
    Step(chunks(("t, term=True", "x = 2\n# the product\nx * 3"), ("u", "y = 1  # plain, edited")), set(),
         note="comment-only edit of an ordinary chunk runs nothing"),
    Step(doc(prose("New\nlines\nabove."), ("t, term=True", "x = 2\n# the product\nx * 3"),
             ("u", "y = 1  # plain, edited")), set(), note="prose above a term chunk: its transcript is the same"),
])

run_scenario("the same inline expression twice", [
    Step(doc(("it", "it = iter(range(10))"), prose("First <%= next(it) %>, then <%= next(it) %>."),
             ("rest", "print(next(it))")), {"it", "rest"}),
    Step(doc(("it", "it = iter(range(10))"), prose("First <%= next(it) %>, then <%= next(it) %>."),
             ("rest", "print(next(it), 'more')")), {"rest"}, note="reader continues after both spans"),
    Step(doc(("it", "it = iter(range(10))"), prose("First <%= next(it) %>, then <%= next(it) %>."),
             ("rest", "print(next(it), 'more')")), set(), no_python=True, note="nothing changed"),
])

WARN = ("w", "import warnings\nwarnings.warn('careful')\nw = 1")
run_scenario("warning line numbers move with prose inserted above", [
    Step(chunks(("a", "x = 1"), WARN, ("after", "print(w + 1)")), {"a", "w", "after"}),
    Step(chunks(("a", "x = 1"), WARN, ("after", "print(w + 1)")), set(), no_python=True, note="nothing changed"),
    # after re-runs too: the warning chunk's state includes __warningregistry__,
    # keyed by the warning's line (a later warning at that line is then not shown).
    Step(doc(prose("Inserted\nprose\nlines."), ("a", "x = 1"), WARN, ("after", "print(w + 1)")), {"w", "after"},
         note="prose above: the warning's line moved"),
    Step(doc(prose("Inserted\nprose\nlines."), ("a", "x = 1"), WARN, ("after", "print(w + 2)")), {"after"},
         note="a reader below still hits the warning chunk"),
])

BOOM = ("boom, error=True", "x = 1\nraise ValueError('bad ' + str(x))")
run_scenario("traceback line numbers and quoted lines", [
    Step(chunks(("a", "y = 0"), BOOM, ("tail", "print('tail')")), {"a", "boom", "tail"}),
    Step(doc(prose("One more\nparagraph."), ("a", "y = 0"), BOOM, ("tail", "print('tail')")), {"boom"},
         note="prose above: the traceback's line moved"),
    Step(doc(prose("One more\nparagraph."), ("a", "y = 0"),
             ("boom, error=True", "x = 1\nraise ValueError('bad ' + str(x))  # quoted"), ("tail", "print('tail')")),
         {"boom"}, note="a comment on the raising line shows in the traceback"),
    Step(doc(prose("One more\nparagraph."), ("a", "y = 0  # harmless"),
             ("boom, error=True", "x = 1\nraise ValueError('bad ' + str(x))  # quoted"), ("tail", "print('tail')")),
         {"boom"}, note="a comment in a chunk above: the traceback may quote it, re-run"),
])

DEFF = ("deff", "def f(x):\n    return 10 / x")
run_scenario("traceback through a function from a cached chunk", [
    Step(chunks(DEFF, ("call, error=True", "print(f(2))\nprint(f(0))")), {"deff", "call"}),
    Step(chunks(DEFF, ("call, error=True", "print(f(5))\nprint(f(0))")), {"call"},
         note="caller runs; the traceback quotes f's line from the cached chunk"),
    Step(doc(prose("Inserted\nabove."), DEFF, ("call, error=True", "print(f(5))\nprint(f(0))")),
         {"deff", "call"}, note="prose above the function: its line numbers moved"),
    Step(doc(prose("Inserted\nabove."), ("deff", "def f(x):\n    # divide\n    return 10 / x"),
             ("call, error=True", "print(f(5))\nprint(f(0))")), {"deff", "call"},
         note="comment inside the function: its lines changed"),
])

GETSRC = ("src", "import inspect\nprint(inspect.getsource(f))")
run_scenario("inspect.getsource of a function defined in a chunk", [
    Step(chunks(("deff", "def f():\n    return 1"), GETSRC, ("other", "z = 3")), {"deff", "src", "other"}),
    Step(chunks(("deff", "def f():\n    # one\n    return 1"), GETSRC, ("other", "z = 3")), {"deff", "src"},
         note="comment inside the function shows in its source"),
    Step(chunks(("deff", "def f():\n    # one\n    return 1"), GETSRC, ("other", "z = 3  # below")), set(),
         note="comment-only edit below it runs nothing"),
    Step(chunks(("deff", "def f():\n    # one\n    return 1"), ("src", "import inspect\nprint(inspect.getsource(f))\n"
                                                               "print(inspect.getsourcelines(f)[1])"),
                ("other", "z = 3  # below")), {"src"}, note="the reader edited: source from the cached function"),
])

run_scenario("a chunk that reads its own source", [
    Step(chunks(("me", "import inspect\ndef g():\n    pass\nprint(len(inspect.getsource(g)))")), {"me"}),
    Step(chunks(("me", "import inspect\ndef g():\n    pass  # longer now\nprint(len(inspect.getsource(g)))")),
         {"me"}, note="comment-only edit changes what it prints"),
])

FRAME = ("here", "import sys\nprint('line', sys._getframe().f_lineno)")
run_scenario("a chunk that prints its own line number", [
    Step(chunks(("a", "x = 1"), FRAME), {"a", "here"}),
    Step(doc(prose("Moved\ndown."), ("a", "x = 1"), FRAME), {"here"}, note="prose above: the frame's line moved"),
    Step(doc(prose("Moved\ndown."), ("a", "x = 1"), FRAME, ("b", "y = 2")), {"b"}, note="a chunk added below"),
])

# ---- class 5: inline code is a unit with reads and writes ----

run_scenario("inline code mutates a list", [
    Step(doc(("make", "lst = [1]"), prose("Added: <% lst.append(2) %>."), ("show", "print(lst)")),
         {"make", "show"}),
    Step(doc(("make", "lst = [1]"), prose("Added: <% lst.append(2) %>."), ("show", "print(len(lst), lst)")),
         {"show"}, note="reader edited: it sees the inline append"),
    Step(doc(("make", "lst = [1]"), prose("Added: <% lst.append(2) %>."), ("show", "print(len(lst), lst)")),
         set(), no_python=True, note="nothing changed: inline code is cached too"),
    Step(doc(("make", "lst = [1]"), prose("Added: <% lst.append(3) %>."), ("show", "print(len(lst), lst)")),
         {"show"}, note="inline code edited: its reader runs"),
])

run_scenario("inline expression draws random numbers", [
    Step(doc(("seed", "import random\nrandom.seed(4)"), prose("Draw <%= round(random.random(), 8) %>."),
             ("after", "print(random.random())")), {"seed", "after"}),
    Step(doc(("seed", "import random\nrandom.seed(4)"), prose("Draw <%= round(random.random(), 8) %>."),
             ("after", "print(random.random(), 1)")), {"after"}, note="reader continues after the inline draw"),
    Step(doc(("seed", "import random\nrandom.seed(5)"), prose("Draw <%= round(random.random(), 8) %>."),
             ("after", "print(random.random(), 1)")), {"seed", "after"}, note="reseed"),
])

run_scenario("inline code binds a name a chunk reads", [
    Step(doc(prose("Set <% k = 6 %>here."), ("use", "print(k * 7)")), {"use"}),
    Step(doc(prose("Set <% k = 6 %>here."), ("use", "print(k * 8)")), {"use"}, note="k restored from the span"),
    Step(doc(prose("Set <% k = 9 %>here."), ("use", "print(k * 8)")), {"use"}, note="span edited"),
    Step(doc(prose("Set <% k = 9 %>here, <%= k + 1 %>."), ("use", "print(k * 8)")), set(),
         note="an inline expression added: nothing else runs"),
])

run_scenario("inline expression with a side effect on a dict", [
    Step(doc(("d", "d = {}"), prose("Popped <%= d.setdefault('a', 1) %>."), ("show", "print(d)")),
         {"d", "show"}),
    Step(doc(("d", "d = {}"), prose("Popped <%= d.setdefault('a', 1) %>."), ("show", "print(sorted(d))")),
         {"show"}, note="reader sees the span's mutation"),
])

# ---- class 4: replay with the inputs the chunk saw ----

GEN_A = ("gen", "a = 1\ng = (i * 2 for i in range(3))")
run_scenario("replay does not clobber a later version", [
    Step(chunks(GEN_A, ("later", "a = 2"), ("use", "print(a, list(g))")), {"gen", "later", "use"}),
    Step(chunks(GEN_A, ("later", "a = 2"), ("use", "print(list(g), a)")), {"use"}, replayed={"gen"},
         note="g is rebuilt by replay; a keeps the later chunk's value"),
])

run_scenario("replay reads the version it saw", [
    Step(chunks(("b1", "b = 3"), ("gen", "g = (i for i in range(b))"), ("b2", "b = 10"),
                ("use", "print(list(g), b)")), {"b1", "gen", "b2", "use"}),
    Step(chunks(("b1", "b = 3"), ("gen", "g = (i for i in range(b))"), ("b2", "b = 10"),
                ("use", "print(b, list(g))")), {"use"}, replayed={"gen"},
         note="replay with b = 3, reader with b = 10"),
])

RSEED = ("seed", "import random\nrandom.seed(21)")
RGEN = ("gen", "vals = [random.random() for _ in range(3)]\ng = (round(v, 9) for v in vals)")
run_scenario("replay starts from the random state it saw", [
    Step(chunks(RSEED, RGEN, ("more", "r = random.random()"), ("use", "print(list(g), r)")),
         {"seed", "gen", "more", "use"}),
    Step(chunks(RSEED, RGEN, ("more", "r = random.random()"), ("use", "print(r, list(g), random.random())")),
         {"use"}, replayed={"gen"}, note="replayed gen draws what it drew; use continues after more"),
])

run_scenario("replay of a chunk that appends to an input", [
    Step(chunks(("log", "log = []"), ("gen", "log.append('gen')\ng = (c for c in 'ab')"),
                ("later", "log.append('later')"), ("use", "print(log, list(g))")), {"log", "gen", "later", "use"}),
    Step(chunks(("log", "log = []"), ("gen", "log.append('gen')\ng = (c for c in 'ab')"),
                ("later", "log.append('later')"), ("use", "print(list(g), log)")), {"use"}, replayed={"gen"},
         note="the replay appends to its own input version; the reader gets the later one"),
])

run_scenario("two generators, each replay rebinding the other's name", [
    Step(chunks(("one", "x = 'one'\ng1 = iter(range(2))\ng2 = (c for c in 'ab')"),
                ("two", "x = 'two'\ng2 = (c for c in 'xyz')"), ("use", "print(x, list(g1), list(g2))")),
         {"one", "two", "use"}),
    Step(chunks(("one", "x = 'one'\ng1 = iter(range(2))\ng2 = (c for c in 'ab')"),
                ("two", "x = 'two'\ng2 = (c for c in 'xyz')"), ("use", "print(list(g2), list(g1), x)")),
         {"use"}, replayed={"two"}, note="g1 pickles (a range iterator); g2 from two; x from two"),
])


def explain_reasons():
    """--explain names the new reasons: source text, moved lines, identical chunks."""
    work = Scratch()
    base = ("<<deff>>=\ndef f():\n    return 1\n@\n\n<<w>>=\nimport warnings\nwarnings.warn('x')\n@\n\n"
            "<<same1>>=\nz = [1]\n@\n\n<<same2>>=\nz = [1]\n@\n")
    work.file("doc.mdw", base)
    args = ("weave", "--cache", "--explain", "-f", "markdown", "-o", "r.md", "doc.mdw")
    weft(*args, cwd=work.path)
    work.file("doc.mdw", "New prose.\n\n" + base.replace("return 1", "return 1  # one"))
    r = weft(*args, cwd=work.path)
    check("explain: a code-making chunk's source text", "deff: source text changed" in r.stderr, r.stderr)
    check("explain: output showing moved lines", "w: its output shows document lines" in r.stderr, r.stderr)
    work.file("doc.mdw", base.replace("<<same1>>=\nz = [1]\n@\n\n", ""))
    r = weft(*args, cwd=work.path)
    check("explain: an identical chunk removed above: same2 takes same1's entry",
          "same2: cached" in r.stderr, r.stderr)
    work.file("doc.mdw", "<<only>>=\nq = [2]\n@\n")
    weft(*args, cwd=work.path)
    work.file("doc.mdw", "<<new>>=\nq = [2]\n@\n\n<<only>>=\nq = [2]\n@\n")
    r = weft(*args, cwd=work.path)
    check("explain: an identical chunk added above",
          "new: cached" in r.stderr and "only: an identical chunk was added or removed above it" in r.stderr,
          r.stderr)
    work.cleanup()


explain_reasons()
finish()
