"""Cache soundness: for documents and sequences of edits, a cached render must be
byte-identical to a fresh render with an empty cache, and must run exactly the
chunks the edit can affect.

Each scenario is a list of steps. A step writes the document (noweb syntax) and
data files, renders it twice (with the scenario's persistent cache, and fresh in
a copy of the folder with an empty cache), compares the reports and exit
statuses, and checks which chunks ran (and were replayed) from --summary-json.
"""

import os
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
from weftlib import Scratch, check, finish, summary, weft  # noqa: E402


class Step:
    def __init__(self, doc, ran, files=None, replayed=(), status=0, note="", touch=(), no_python=False):
        self.doc = doc
        self.ran = set(ran)
        self.files = files or {}
        self.replayed = set(replayed)
        self.status = status
        self.note = note
        self.touch = touch
        # A render of an unchanged document must not start Python at all (an edited
        # chunk, even a comment-only edit, needs Python once to re-analyse its code).
        self.no_python = no_python


def chunks(*parts):
    """Build a noweb document from (name, code) or (header, code) pairs."""
    out = []
    for header, code in parts:
        out.append(f"Text before {header.split(',')[0]}.\n\n<<{header}>>=\n{code.strip()}\n@\n")
    return "\n".join(out)


def render(folder, cache_dir, tag):
    out = os.path.join(folder, f"report-{tag}.md")
    summ = os.path.join(folder, f"summary-{tag}.json")
    r = weft("weave", "--cache", "-q", "-f", "markdown", "--cache-dir", cache_dir, "-o", out,
             "--summary-json", summ, "doc.mdw", cwd=folder)
    text = open(out).read() if os.path.exists(out) else None
    s = summary(summ) if os.path.exists(summ) else {"chunks": []}
    return r, text, s


def run_scenario(name, steps):
    work = Scratch()
    cache = os.path.join(work.path, "cache")
    for i, st in enumerate(steps, 1):
        label = f"{name}, step {i}" + (f" ({st.note})" if st.note else "")
        doc_dir = os.path.join(work.path, "doc")
        os.makedirs(doc_dir, exist_ok=True)
        with open(os.path.join(doc_dir, "doc.mdw"), "w") as f:
            f.write(st.doc)
        for fname, content in st.files.items():
            p = os.path.join(doc_dir, fname)
            if content is None:
                os.remove(p)
            elif callable(content):
                content(p)
            else:
                with open(p, "w") as f:
                    f.write(content)
        for fname in st.touch:
            os.utime(os.path.join(doc_dir, fname), None)
        # The fresh render runs in a copy made before the cached render can change any file.
        fresh_dir = os.path.join(work.path, f"fresh{i}")
        shutil.copytree(doc_dir, fresh_dir, ignore=shutil.ignore_patterns("report-*", "summary-*", "figures"))
        r, text, s = render(doc_dir, cache, "cached")
        fr, ftext, _ = render(fresh_dir, os.path.join(work.path, f"empty-cache{i}"), "fresh")
        same = text is not None and text == ftext
        check(f"{label}: cached report identical to fresh", same,
              f"cached stderr: {r.stderr}\nfresh stderr: {fr.stderr}\n--- cached\n{text}\n--- fresh\n{ftext}")
        check(f"{label}: exit status {st.status}", r.returncode == st.status and fr.returncode == st.status,
              f"cached {r.returncode}, fresh {fr.returncode}\n{r.stderr}")
        ran = {c["name"] for c in s["chunks"] if c["state"] == "ran"}
        replayed = {c["name"] for c in s["chunks"] if c["state"] == "replayed"}
        check(f"{label}: ran exactly {sorted(st.ran)}", ran == st.ran,
              f"ran {sorted(ran)}; why: " + "; ".join(f"{c['name']}: {c.get('why')}" for c in s["chunks"]))
        if st.replayed:
            check(f"{label}: replayed {sorted(st.replayed)}", replayed == st.replayed, f"replayed {sorted(replayed)}")
        if st.no_python:
            check(f"{label}: Python not started", s.get("engine_started") is False, str(s))
    work.cleanup()


A = ("a", "x = 1")
B = ("b", "y = x * 2\nprint(y)")
C = ("c", "z = 10\nprint(z)")

run_scenario("upstream value change", [
    Step(chunks(A, B, C), {"a", "b", "c"}),
    Step(chunks(A, B, C), set(), note="nothing changed", no_python=True),
    Step(chunks(("a", "x = 2"), B, C), {"a", "b"}, note="edit a"),
    Step(chunks(("a", "x = 2  # two\n\n"), ("b", "# doubled\ny = x*2\nprint( y )"), C), set(),
         note="comment and whitespace only"),
])

run_scenario("in-place mutation", [
    Step(chunks(("make", "lst = [1, 2]"), ("grow", "lst.append(3)"), ("show", "print(lst)")),
         {"make", "grow", "show"}),
    Step(chunks(("make", "lst = [1, 2]"), ("grow", "lst.append(4)"), ("show", "print(lst)")),
         {"grow", "show"}, note="edit the mutating chunk"),
    Step(chunks(("make", "lst = [1, 2]"), ("grow", "lst.append(4)"), ("show", "print(len(lst), lst)")),
         {"show"}, note="reader restores the mutated version"),
])

run_scenario("numpy += and pandas column assignment", [
    Step(chunks(("arr", "import numpy as np\narr = np.zeros(3)"), ("inc", "arr += 1"),
                ("df", "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})"), ("addcol", "df['b'] = df['a'] * 10"),
                ("show", "print(arr)\nprint(df)")), {"arr", "inc", "df", "addcol", "show"}),
    Step(chunks(("arr", "import numpy as np\narr = np.zeros(3)"), ("inc", "arr += 1"),
                ("df", "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})"), ("addcol", "df['b'] = df['a'] * 7"),
                ("show", "print(arr)\nprint(df)")), {"addcol", "show"}, note="edit the column chunk"),
    Step(chunks(("arr", "import numpy as np\narr = np.zeros(3)"), ("inc", "arr += 1"),
                ("df", "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})"), ("addcol", "df['b'] = df['a'] * 7"),
                ("show", "print(arr.sum())\nprint(df)")), {"show"}, note="edit the reader only"),
])

# An array big enough to be saved out of band comes back as a copy-on-write
# mapping of its blob; a chunk reading it is checked for in-place change by the
# page table (a written page turns anonymous), not by hashing it.
MAKE_BIG = ("make", "import numpy as np\nbig = np.arange(400000, dtype=np.float64)")
SHOW_BIG = ("show", "print(big[118:126], big.sum(), s)")
run_scenario("restored memory-mapped array, read and mutated in place", [
    Step(chunks(MAKE_BIG, ("peek", "s = float(big[::1000].sum())"), ("bump", "big[123] = -1.0"), SHOW_BIG),
         {"make", "peek", "bump", "show"}),
    Step(chunks(MAKE_BIG, ("peek", "s = float(big[::999].sum())"), ("bump", "big[123] = -1.0"), SHOW_BIG),
         {"peek", "show"}, note="a reader of the mapped array runs and leaves it alone"),
    Step(chunks(MAKE_BIG, ("peek", "s = float(big[::999].sum())"), ("bump", "big[123] = -2.0"), SHOW_BIG),
         {"bump", "show"}, note="a chunk writing into the mapped array runs"),
    Step(chunks(MAKE_BIG, ("peek", "v = big[:4]\nv += 0.5\ns = float(big[::999].sum())"),
                ("bump", "big[123] = -2.0"), SHOW_BIG),
         {"peek", "bump", "show"}, note="the reader now writes through a view: everything after it changes"),
])

F1 = ("deff", "def f():\n    return g * 2")
run_scenario("function reading a global from another chunk", [
    Step(chunks(F1, ("setg", "g = 3"), ("use", "print(f())")), {"deff", "setg", "use"}),
    Step(chunks(F1, ("setg", "g = 4"), ("use", "print(f())")), {"setg", "use"}, note="edit the global"),
    Step(chunks(("deff", "def f():\n    return g * 3"), ("setg", "g = 4"), ("use", "print(f())")), {"deff", "use"},
         note="edit the function"),
    Step(chunks(("deff", "def h():\n    return g\n\ndef f():\n    return h() * 3"), ("setg", "g = 4"),
                ("use", "print(f())")), {"deff", "use"}, note="transitive call"),
    Step(chunks(("deff", "def h():\n    return g\n\ndef f():\n    return h() * 3"), ("setg", "g = 5"),
                ("use", "print(f())")), {"setg", "use"}, note="global read two calls deep"),
])

run_scenario("deleted chunk whose variable is still used", [
    Step(chunks(("one", "x = 5"), ("two", "print(x + 1)")), {"one", "two"}),
    Step(chunks(("two", "print(x + 1)")), {"two"}, status=1, note="now a NameError, as in a fresh run"),
])

run_scenario("generator (unsaveable) rebuilt by replay", [
    Step(chunks(("gen", "g = (i * i for i in range(5))\nfirst = next(g)"), ("rest", "print(first, list(g))")),
         {"gen", "rest"}),
    Step(chunks(("gen", "g = (i * i for i in range(5))\nfirst = next(g)"), ("rest", "print(list(g), first)")),
         {"rest"}, replayed={"gen"}, note="reader needs the generator"),
])


def make_db(path):
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.execute("create table sales (amount real)")
    db.executemany("insert into sales values (?)", [(1.5,), (2.5,), (4.0,)])
    db.commit()
    db.close()


SETUP = ("setup, cache=False", "import sqlite3\nconn = sqlite3.connect('sales.db'); c = conn.cursor()")
QUERY = ("expensive_query, cache=True", "c.execute('SELECT amount FROM sales ORDER BY amount'); results = c.fetchall()")
run_scenario("setup / expensive query / report (the issue's story)", [
    Step(chunks(SETUP, QUERY, ("report", "print(len(results))")), {"setup", "expensive_query", "report"},
         files={"sales.db": make_db}),
    Step(chunks(SETUP, QUERY, ("report", "print(len(results))")), {"setup"},
         note="query cached, setup re-runs, connection not clobbered"),
    Step(chunks(SETUP, QUERY, ("report", "print(len(results), results[-1])\nprint(conn.total_changes)")),
         {"setup", "report"}, note="report runs with restored results and the live connection"),
])

run_scenario("random numbers continue after a cached chunk", [
    Step(chunks(("seed", "import random\nimport numpy as np\nrandom.seed(42)\nnp.random.seed(1)"),
                ("r1", "a = random.random()\nna = np.random.rand()"),
                ("r2", "b = random.random()\nnb = np.random.rand()\nprint(a, b, na, nb)")), {"seed", "r1", "r2"}),
    Step(chunks(("seed", "import random\nimport numpy as np\nrandom.seed(42)\nnp.random.seed(1)"),
                ("r1", "a = random.random()\nna = np.random.rand()"),
                ("r2", "b = random.random()\nnb = np.random.rand()\nprint(b, a, nb, na)")), {"r2"},
         note="only r2 runs; its draws continue r1's"),
    Step(chunks(("seed", "import random\nimport numpy as np\nrandom.seed(7)\nnp.random.seed(1)"),
                ("r1", "a = random.random()\nna = np.random.rand()"),
                ("r2", "b = random.random()\nnb = np.random.rand()\nprint(b, a, nb, na)")), {"seed", "r1", "r2"},
         note="reseed re-runs every consumer"),
])

LOAD = ("load", "with open('data.csv') as f:\n    rows = f.read().split()")
run_scenario("data file edit", [
    Step(chunks(LOAD, ("count", "print(len(rows))"), ("other", "print('independent')")),
         {"load", "count", "other"}, files={"data.csv": "1\n2\n3\n"}),
    Step(chunks(LOAD, ("count", "print(len(rows))"), ("other", "print('independent')")),
         {"load", "count"}, files={"data.csv": "1\n2\n3\n4\n"}, note="data.csv edited"),
    Step(chunks(LOAD, ("count", "print(len(rows))"), ("other", "print('independent')")),
         set(), touch=("data.csv",), note="touched, same contents", no_python=True),
])

run_scenario("files a chunk wrote are restored on a hit", [
    Step(chunks(("write", "open('out.txt', 'w').write('made by a chunk')"),
                ("read", "print(open('out.txt').read())")), {"write", "read"}),
    Step(chunks(("write", "open('out.txt', 'w').write('made by a chunk')"),
                ("read", "print(open('out.txt').read())")), set(), files={"out.txt": None},
         note="out.txt deleted: restored from the cache"),
])

run_scenario("insert, delete and reorder chunks", [
    Step(chunks(A, B, C), {"a", "b", "c"}),
    Step(chunks(A, ("mid", "x = 100"), B, C), {"mid", "b"}, note="insert a chunk that rebinds x"),
    Step(chunks(A, ("mid", "x = 100"), C, B), set(), note="swap independent chunks"),
    Step(chunks(A, C, B), set(), note="delete the inserted chunk: b's first entry is valid again"),
])

finish()
