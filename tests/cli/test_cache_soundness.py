"""Cache soundness, the first suite: names bound, mutated and read across chunks,
files, random state, replay and reordering (soundlib.py says how a scenario runs:
every cached render is compared byte for byte with a --no-cache render).
"""

import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import finish  # noqa: E402


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
