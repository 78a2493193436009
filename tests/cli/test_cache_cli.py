"""The cache through the command line: `weft cache status|clean|gc`, --explain,
--summary-json, --frozen, the cache chunk options (cache, cache_rebuild,
--rebuild, dependson, cache_extra, front matter), store safety (damaged blobs,
a cache dir others can write, a tampered index entry) and several processes
sharing one cache directory.

Whether a cached render equals a fresh one over sequences of edits is the job
of test_cache_soundness.py, and kills of a caching render that of
test_cache_crash.py; here every render that takes something from the cache is
still compared with a fresh render of the same document, so a wrong result in
any of these paths fails a check.
"""

import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from weftlib import WEFT, Scratch, check, finish, summary, weft  # noqa: E402

work = Scratch()
counter = [0]


def chunks(*parts):
    """A noweb document from (header, code) pairs, each after a line of prose."""
    out = []
    for header, code in parts:
        out.append(f"Text before {header.split(',')[0]}.\n\n<<{header}>>=\n{code.strip()}\n@\n")
    return "\n".join(out)


def setup(name, doc, files=None, docname="doc.mdw"):
    """A folder `name` holding the document and data files; returns its path."""
    d = os.path.join(work.path, name)
    os.makedirs(d, exist_ok=True)
    write(d, docname, doc)
    for fname, text in (files or {}).items():
        write(d, fname, text)
    return d


def write(folder, fname, text):
    with open(os.path.join(folder, fname), "w") as f:
        f.write(text)


def render(folder, *args, cache_dir="cache", docname="doc.mdw", quiet=True, env=None):
    """Render docname in folder; returns (process, report text or None, summary dict)."""
    counter[0] += 1
    out = os.path.join(folder, f"report{counter[0]}.md")
    summ = os.path.join(folder, f"summary{counter[0]}.json")
    cmd = ["weave", "-f", "markdown", "-o", out, "--summary-json", summ]
    if cache_dir:
        cmd += ["--cache-dir", cache_dir]
    if quiet:
        cmd.append("-q")
    r = weft(*cmd, *args, docname, cwd=folder, env=env)
    text = open(out).read() if os.path.exists(out) else None
    s = summary(summ) if os.path.exists(summ) else {"chunks": []}
    return r, text, s


def fresh(folder, docname="doc.mdw"):
    """The report of a fresh render, with an empty cache, of a copy of folder (as it is now)."""
    counter[0] += 1
    copy = os.path.join(work.path, f"fresh{counter[0]}")
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("report*", "summary*", "cache*", ".weft-cache",
                                                                "figures"))
    r, text, _ = render(copy, "--cache", cache_dir=os.path.join(copy, "empty-cache"), docname=docname)
    return text


def states(s):
    """{chunk name: state} from a summary."""
    return {c["name"]: c["state"] for c in s["chunks"]}


def whys(s):
    return {c["name"]: c.get("why") or "" for c in s["chunks"]}


def ran(s):
    return {c["name"] for c in s["chunks"] if c["state"] == "ran"}


def status_rows(folder, *args, cache_dir="cache", docname="doc.mdw"):
    """`weft cache status`: (process, {name: (line, status, why)})."""
    r = weft("cache", "status", "--cache-dir", cache_dir, *args, docname, cwd=folder)
    rows = {}
    for line in r.stdout.splitlines()[1:]:
        parts = line.split(None, 2)
        if len(parts) < 3:
            continue
        name, lineno, rest = parts
        for st in ("not cached", "fresh", "stale", "-"):
            if rest.startswith(st):
                rows[name] = (int(lineno), st, rest[len(st):].strip())
                break
    return r, rows


def detail(r, s=None):
    return f"status {r.returncode}\nstderr: {r.stderr}\nstdout: {r.stdout}" + (
        "\nchunks: " + json.dumps(s["chunks"], indent=1) if s else "")


def index_rows(cache_dir, sql, *params):
    db = sqlite3.connect(os.path.join(cache_dir, "index.sqlite"))
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def blob_files(cache_dir):
    return [p for p in glob.glob(os.path.join(cache_dir, "blobs", "*", "*")) if os.path.isfile(p)]


# ---- status, --explain, --summary-json ----

LOAD = ("load", "with open('data.csv') as f:\n    rows = f.read().split()")
COUNT = ("count", "n = len(rows)\nprint(n)")
OTHER = ("other", "print('independent')")
NOCACHE = ("always, cache=False", "print('runs every time')")
d = setup("status", chunks(LOAD, COUNT, OTHER, NOCACHE), {"data.csv": "1\n2\n3\n"})

r, text, s = render(d, "--cache")
check("status doc: first render runs every chunk", r.returncode == 0 and ran(s) == {"load", "count", "other", "always"},
      detail(r, s))
c0 = {c["name"]: c for c in s["chunks"]}
check("summary-json: name, line, state, why, seconds per chunk",
      all(set(c) >= {"name", "line", "state", "why", "seconds"} for c in s["chunks"]) and
      [c0[n]["line"] for n in ("load", "count", "other", "always")] == [3, 10, 17, 23] and
      all(isinstance(c["seconds"], float) and c["seconds"] >= 0 for c in s["chunks"]), json.dumps(s, indent=1))
check("summary-json: why says a first run is not in the cache",
      "not in the cache" in c0["load"]["why"] and "cache=False" in c0["always"]["why"], json.dumps(s, indent=1))

r, rows = status_rows(d, "--cache")
check("status: one row per chunk with its line", r.returncode == 0 and
      {k: v[0] for k, v in rows.items()} == {"load": 3, "count": 10, "other": 17, "always": 23}, detail(r))
check("status: unchanged document is fresh, cache=False chunk 'not cached'",
      [rows[n][1] for n in ("load", "count", "other", "always")] == ["fresh", "fresh", "fresh", "not cached"],
      detail(r))

write(d, "doc.mdw", chunks(LOAD, ("count", "n = len(rows) * 2\nprint(n)"), OTHER, NOCACHE))
r, rows = status_rows(d, "--cache")
check("status: edited chunk is stale, 'code changed'", rows.get("count", (0, "", ""))[1:] == ("stale", "code changed")
      and rows["load"][1] == "fresh" and rows["other"][1] == "fresh", detail(r))
write(d, "doc.mdw", chunks(LOAD, COUNT, OTHER, NOCACHE))

write(d, "data.csv", "1\n2\n3\n4\n")
r, rows = status_rows(d, "--cache")
check("status: chunk reading an edited file: 'data.csv changed'",
      rows.get("load", (0, "", ""))[1] == "stale" and rows["load"][2].endswith("data.csv changed"), detail(r))
check("status: its reader: 'reads rows from chunk load, which changed'",
      rows.get("count", (0, "", ""))[1:] == ("stale", "reads rows from chunk load, which changed"), detail(r))
check("status: independent chunk stays fresh", rows.get("other", (0, ""))[1] == "fresh", detail(r))
check("status ran nothing: no report written", not glob.glob(os.path.join(d, "doc.md")), os.listdir(d))

r, text, s = render(d, "--cache", "--explain")
err = r.stderr
check("--explain: prints each reason during the render",
      r.returncode == 0 and "load: " in err and "data.csv changed" in err and
      "count: reads rows from chunk load, which changed" in err and "other: cached" in err, err)
check("--explain: summary states ran / cached", states(s) == {"load": "ran", "count": "ran", "other": "cached",
                                                               "always": "ran"}, detail(r, s))
check("--explain: summary why matches", whys(s)["load"].endswith("data.csv changed") and
      whys(s)["count"] == "reads rows from chunk load, which changed", detail(r, s))
check("after data edit: report equals a fresh render", text == fresh(d), text)
r, rows = status_rows(d, "--cache")
check("status after the render: fresh again", [rows[n][1] for n in ("load", "count", "other")] == ["fresh"] * 3,
      detail(r))

# A chunk whose upstream code changed, through a name read in a function body.
write(d, "doc.mdw", chunks(("load", "with open('data.csv') as f:\n    rows = f.read().split()[:2]"), COUNT, OTHER,
                           NOCACHE))
r, text, s = render(d, "--cache", "--explain")
check("--explain: downstream of a code edit says which name and chunk",
      whys(s)["load"] == "code changed" and whys(s)["count"] == "reads rows from chunk load, which changed"
      and states(s)["other"] == "cached", detail(r, s))

# The story: an uncached setup chunk does not make the cached query after it stale.
d3 = setup("story", chunks(("setup, cache=False", "import sqlite3\nconn = sqlite3.connect(':memory:')\nc = conn.cursor()"),
                           ("query, cache=True", "c.execute('select 6 * 7')\nresults = c.fetchall()"),
                           ("report", "print(results)")))
render(d3)
r, rows = status_rows(d3)
check("status: cached query after an uncached setup chunk is fresh",
      rows.get("setup", (0, ""))[1] == "not cached" and rows.get("query", (0, ""))[1] == "fresh" and
      rows.get("report", (0, ""))[1] == "not cached", detail(r))

# Summary states: replayed and skipped.
d2 = setup("states", chunks(("gen", "g = (i * i for i in range(5))\nfirst = next(g)"),
                            ("rest", "print(first, list(g))")))
render(d2, "--cache")
write(d2, "doc.mdw", chunks(("gen", "g = (i * i for i in range(5))\nfirst = next(g)"),
                            ("rest", "print(list(g), first)")))
r, text, s = render(d2, "--cache")
check("summary-json: state 'replayed' for a chunk re-run to rebuild a generator",
      states(s) == {"gen": "replayed", "rest": "ran"} and text == fresh(d2), detail(r, s))
write(d2, "doc.mdw", chunks(("boom", "import os\nos._exit(3)"), ("after", "print('never')")))
r, text, s = render(d2, "--cache")
check("summary-json: state 'skipped' after a crash, exit status 1",
      r.returncode == 1 and states(s) == {"boom": "ran", "after": "skipped"} and
      [c["status"] for c in s["chunks"]] == ["crashed", "ok"], detail(r, s))

# A chunk's entry goes into the store while the next chunk runs: one followed by a
# crashing chunk, or by a chunk that fails, is still cached.
d3 = setup("pending", chunks(("slow", "import time\ntime.sleep(0.2)\nv = 41"),
                             ("boom", "import os\nprint(v)\nos._exit(3)")))
r, _, s = render(d3, "--cache")
check("the chunk before a crash is stored: crash render exits 1",
      r.returncode == 1 and states(s) == {"slow": "ran", "boom": "ran"}, detail(r, s))
write(d3, "doc.mdw", chunks(("slow", "import time\ntime.sleep(0.2)\nv = 41"), ("ok", "print(v + 1)")))
r, text, s = render(d3, "--cache")
check("the chunk before a crash is stored: a hit on the next render, its value restored",
      r.returncode == 0 and states(s) == {"slow": "cached", "ok": "ran"} and text == fresh(d3), detail(r, s))

# ---- clean and gc ----

DOC_A = chunks(("a1", "import numpy as np\nbig = np.arange(300000, dtype=np.float64)"),
               ("a2", "print(big.sum())"))
DOC_B = chunks(("b1", "small = list(range(10))"), ("b2", "print(sum(small))"))
d = setup("clean", DOC_A, docname="a.mdw")
write(d, "b.mdw", DOC_B)
cache = os.path.join(d, "cache")
ra, ta, _ = render(d, "--cache", docname="a.mdw")
rb, tb, _ = render(d, "--cache", docname="b.mdw")
n_a = index_rows(cache, "select count(*) from entry where doc like '%/a.mdw'")[0][0]
n_b = index_rows(cache, "select count(*) from entry where doc like '%/b.mdw'")[0][0]
check("clean setup: both documents have entries", ra.returncode == 0 and rb.returncode == 0 and n_a == 2 and n_b == 2,
      f"{n_a} {n_b}\n{ra.stderr}{rb.stderr}")
r = weft("cache", "clean", "--cache-dir", "cache", "a.mdw", cwd=d)
left_a = index_rows(cache, "select count(*) from entry where doc like '%/a.mdw'")[0][0]
left_b = index_rows(cache, "select count(*) from entry where doc like '%/b.mdw'")[0][0]
check("cache clean FILE: drops that document's entries only",
      r.returncode == 0 and "removed 2 entries" in r.stdout and left_a == 0 and left_b == 2, detail(r))
r, t, s = render(d, "--cache", docname="a.mdw")
check("after clean FILE: the document re-runs, report unchanged", ran(s) == {"a1", "a2"} and t == ta, detail(r, s))
r, t, s = render(d, "--cache", docname="b.mdw")
check("after clean FILE: the other document is still cached", ran(s) == set() and t == tb, detail(r, s))

r = weft("cache", "clean", "--cache-dir", "cache", cwd=d)
check("cache clean: drops every entry", r.returncode == 0 and "removed 4 entries" in r.stdout and
      index_rows(cache, "select count(*) from entry")[0][0] == 0, detail(r))
r = weft("cache", "gc", "--cache-dir", "cache", cwd=d)
check("gc after clean: no blob file left", r.returncode == 0 and blob_files(cache) == [] and
      index_rows(cache, "select count(*) from blob")[0][0] == 0, detail(r) + str(blob_files(cache)))
r, t, s = render(d, "--cache", docname="a.mdw")
check("after clean: re-runs, report unchanged", ran(s) == {"a1", "a2"} and t == ta, detail(r, s))

# gc drops unreferenced data: stray temporary files and blobs no entry refers to.
os.makedirs(os.path.join(cache, "tmp"), exist_ok=True)
write(os.path.join(cache, "tmp"), "stray.tmp", "half-written")
orphan_dir = os.path.join(cache, "blobs", "ff")
os.makedirs(orphan_dir, exist_ok=True)
write(orphan_dir, "0" * 30, "an orphan blob")
# Older than gc's grace periods (a concurrent writer may still be about to use fresh ones).
old = os.path.getmtime(orphan_dir) - 7200
os.utime(os.path.join(cache, "tmp", "stray.tmp"), (old, old))
os.utime(os.path.join(orphan_dir, "0" * 30), (old, old))
write(d, "a.mdw", DOC_A.replace("300000", "300001"))  # a1's old entry stays, a new one is made
render(d, "--cache", docname="a.mdw")
before = len(blob_files(cache))
r = weft("cache", "gc", "--cache-dir", "cache", cwd=d)
check("gc: removes stray temporary files and unreferenced blobs",
      r.returncode == 0 and not os.path.exists(os.path.join(cache, "tmp", "stray.tmp")) and
      not os.path.exists(os.path.join(orphan_dir, "0" * 30)) and len(blob_files(cache)) == before - 1, detail(r))
r, t, s = render(d, "--cache", docname="a.mdw")
check("gc without a size keeps every entry", ran(s) == set(), detail(r, s))

# gc --max-size: least recently used entries go first. a.mdw's entries (two versions of
# a1 with a 2.4 MB array each) were used before b.mdw's, so a size that holds b's
# entries drops a1's, oldest first, until the rest fits.
render(d, "--cache", docname="b.mdw")
r = weft("cache", "gc", "--cache-dir", "cache", "--max-size", "100K", cwd=d)
n_a1 = index_rows(cache, "select count(*) from entry where chunk = 'a1'")[0][0]
n_b = index_rows(cache, "select count(*) from entry where doc like '%/b.mdw'")[0][0]
size = sum(os.path.getsize(p) for p in blob_files(cache))
check("gc --max-size: least recently used entries dropped, recent kept, blobs under the size",
      r.returncode == 0 and n_a1 == 0 and n_b == 2 and 0 < size <= 100 * 1024,
      detail(r) + f"\na1={n_a1} b={n_b} size={size}")
r, t, s = render(d, "--cache", docname="b.mdw")
check("after gc --max-size: kept document still cached", ran(s) == set() and t == tb, detail(r, s))
r, t, s = render(d, "--cache", docname="a.mdw")
check("after gc --max-size: the dropped chunk re-runs, the result is correct",
      "a1" in ran(s) and t == fresh(d, "a.mdw"), detail(r, s))
r = weft("cache", "gc", "--cache-dir", "cache", "--max-size", "lots", cwd=d)
check("gc --max-size with a bad size: usage error", r.returncode == 2 and "max-size" in r.stderr, detail(r))
r = weft("cache", "gc", "--cache-dir", "cache", "--max-size", "0", cwd=d)
check("gc --max-size 0: empties the cache", r.returncode == 0 and
      index_rows(cache, "select count(*) from entry")[0][0] == 0 and blob_files(cache) == [], detail(r))

# ---- --frozen ----

d = setup("frozen", chunks(("make", "vals = [1, 2, 3]\nprint('made')"), ("total", "t = sum(vals)\nprint(t)"),
                           ("double", "print(t * 2)"), ("side", "print('side')")))
r, t0, s = render(d, "--cache")
write(d, "doc.mdw", chunks(("make", "vals = [1, 2, 3, 4]\nprint('made')"), ("total", "t = sum(vals)\nprint(t)"),
                           ("double", "print(t * 2)"), ("side", "print('side')")))
r, t, s = render(d, "--frozen")
st = states(s)
check("--frozen: exit status 0, Python not started", r.returncode == 0 and s.get("engine_started") is False,
      detail(r, s))
check("--frozen: edited chunk is 'stale', its readers too, the rest 'cached'",
      st == {"make": "stale", "total": "stale", "double": "stale", "side": "cached"}, detail(r, s))
check("--frozen: the stale chunks are listed on stderr, even with -q",
      all(f"chunk '{n}' is stale" in r.stderr for n in ("make", "total", "double")) and "side" not in r.stderr and
      "doc.mdw:10: chunk 'total' is stale (--frozen): reads vals from chunk make, which changed" in r.stderr, r.stderr)
check("--frozen: shows the last results (report as before the edit, new code)",
      t is not None and "\n6\n" in t and "\n12\n" in t and "[1, 2, 3, 4]" in t, t)
check("--frozen: why says what changed", whys(s)["make"] == "stale: code changed" and
      whys(s)["total"] == "stale: reads vals from chunk make, which changed", detail(r, s))
r, t, s = render(d, "--cache")
check("render after --frozen: runs the stale chunks, correct", ran(s) == {"make", "total", "double"} and t == fresh(d),
      detail(r, s))
# a cache=False chunk that reads a file and changes a name in place: its readers
# chain on what its last run did, so --frozen still finds them
d = setup("frozen-uncached", chunks(("base", "vals = [1]"),
                                    ("grow, cache=False", "vals.append(len(open('data.txt').read()))"),
                                    ("show", "print(vals)")), files={"data.txt": "abc"})
render(d, "--cache")
r1, t1, s1 = render(d, "--cache")
r, t, s = render(d, "--frozen")
check("--frozen after a cache=False chunk that changed a name in place: its reader 'cached', report as last",
      r.returncode == 0 and states(s).get("show") == "cached" and t == t1 and t == fresh(d), detail(r, s))
d = setup("frozen-empty", chunks(("x", "print(1)"), ("y, cache=False", "print(2)")))
r, t, s = render(d, "--frozen")
check("--frozen with an empty cache: nothing runs, chunks 'skipped', listed, exit status 0",
      r.returncode == 0 and s.get("engine_started") is False and set(states(s).values()) == {"skipped"} and
      t is not None and "\n1\n" not in t and "chunk 'x' has no results" in r.stderr and
      "chunk 'y' has no results (--frozen): not cached (cache=False)" in r.stderr, detail(r, s))

# ---- chunk options ----

# Default: no cache at all (no folder made, every chunk runs each time).
d = setup("nocache", chunks(("p", "print('p')"), ("q", "print('q')")))
render(d, cache_dir=None)
r, t, s = render(d, cache_dir=None)
check("cache defaults to False: every chunk runs, no cache folder",
      ran(s) == {"p", "q"} and not os.path.exists(os.path.join(d, ".weft-cache")), detail(r, s))

# One chunk with cache=True: only it is taken from the cache.
d = setup("onechunk", chunks(("p, cache=True", "v = 5\nprint('p')"), ("q", "print(v + 1)")))
render(d, cache_dir=None)
r, t, s = render(d, cache_dir=None)
check("cache=True on one chunk: it is cached (default folder .weft-cache), the other runs",
      states(s) == {"p": "cached", "q": "ran"} and os.path.isdir(os.path.join(d, ".weft-cache")) and t == fresh(d),
      detail(r, s))

# --cache with an explicit cache=False: that chunk still runs.
d = setup("cacheflag", chunks(("p", "v = 5"), ("q, cache=False", "print(v + 1)"), ("w", "print(v * 3)")))
render(d, "--cache")
r, t, s = render(d, "--cache")
check("--cache: explicit cache=False wins", states(s) == {"p": "cached", "q": "ran", "w": "cached"} and t == fresh(d),
      detail(r, s))

# Front matter `weft: cache: true` in a Pweave markdown document.
PMD = """---
title: Front
weft:
  cache: true
---

```python fm1
x = 21
```

```python fm2, cache=False
print(x * 2)
```

```python fm3
print(x + 1)
```
"""
d = setup("front", PMD, docname="doc.pmd")
render(d, cache_dir=None, docname="doc.pmd")
r, t, s = render(d, cache_dir=None, docname="doc.pmd")
check("front matter weft: cache: true caches every chunk, cache=False still runs",
      states(s) == {"fm1": "cached", "fm2": "ran", "fm3": "cached"} and t == fresh(d, "doc.pmd"), detail(r, s))

# cache_rebuild=True and --rebuild NAME.
d = setup("rebuild", chunks(("r1", "import random\nv = 7\nprint(v)"), ("r2, cache_rebuild=True", "print('again')"),
                            ("r3", "print(v + 1)")))
render(d, "--cache")
r, t, s = render(d, "--cache")
check("cache_rebuild=True: that chunk re-runs every render, the rest cached",
      states(s) == {"r1": "cached", "r2": "ran", "r3": "cached"} and whys(s)["r2"] == "rebuild requested", detail(r, s))
r, t, s = render(d, "--cache", "--rebuild", "r1")
check("--rebuild NAME: re-runs NAME (same result: its reader stays cached)",
      states(s) == {"r1": "ran", "r2": "ran", "r3": "cached"} and whys(s)["r1"] == "rebuild requested" and
      t == fresh(d), detail(r, s))
r, t, s = render(d, "--cache", "--rebuild", "r1", "--rebuild", "r3")
check("--rebuild is repeatable", ran(s) == {"r1", "r2", "r3"}, detail(r, s))

# A chunk that runs on every render though its key is unchanged (cache=False,
# cache_rebuild, --rebuild) may make other values each time (the clock here):
# its cached readers must show what it made in this render, never an older run's.
# The clock is read in the chunk and printed by it and by its reader: equal
# numbers in one report, or the reader is stale.
CLOCK = "import time\nt = time.time_ns()\nk = 3\nprint('made', t)"


def clock_pair(text):
    """The two printed clock values of a report: (made in the chunk, shown by its reader)."""
    import re
    made = re.findall(r"made (\d+)", text or "")
    shown = re.findall(r"shown (\d+)", text or "")
    return (made[0] if made else None, shown[0] if shown else None)


for label, header, args in (("cache=False", "clock, cache=False", ()),
                            ("cache_rebuild=True", "clock, cache_rebuild=True", ()),
                            ("--rebuild NAME", "clock", ("--rebuild", "clock"))):
    d = setup("clock" + str(counter[0]), chunks((header, CLOCK), ("shown", "print('shown', t)"),
                                                ("fixed", "print('fixed', k)")))
    render(d, "--cache")
    for attempt in range(2):
        r, t, s = render(d, "--cache", *args)
        made, shown = clock_pair(t)
        check(f"{label} (render {attempt + 2}): its reader shows the value made in this render, not a cached one",
              r.returncode == 0 and made is not None and made == shown and states(s).get("shown") == "ran",
              f"made {made}, shown {shown}; " + detail(r, s))

# The clock carried other ways than a plain name: a class attribute, a module
# of the document's changed in place, a function's default, a list's item.
CARRIERS = {
    "class attribute": ("class Box:\n    pass", "Box.t = time.time_ns()", "Box.t"),
    "module attribute": ("import clockmod", "clockmod.t = time.time_ns()", "clockmod.t"),
    "function default": ("pass", "def when(t=time.time_ns()):\n    return t", "when()"),
    "list item": ("box = [0]", "box[0] = time.time_ns()", "box[0]"),
}
for label, (first, made, shown) in CARRIERS.items():
    d = setup("carrier" + str(counter[0]),
              chunks(("first", first), ("clock, cache=False", f"import time\n{made}\nprint('made', {shown})"),
                     ("shown", f"print('shown', {shown})")), files={"clockmod.py": "t = 0\n"})
    render(d, "--cache")
    r, t, s = render(d, "--cache")
    made_v, shown_v = clock_pair(t)
    check(f"cache=False, clock kept in a {label}: its reader shows this render's value",
          r.returncode == 0 and made_v is not None and made_v == shown_v, f"made {made_v}, shown {shown_v}; "
          + detail(r, s))

# ... and a reader of what it made alike each time still hits: a setup chunk
# whose values are equal (or cannot be compared: a connection) does not make
# its readers run.
for label, header, args in (("cache=False", "setup, cache=False", ()),
                            ("--rebuild NAME", "setup", ("--rebuild", "setup"))):
    d = setup("steady" + str(counter[0]), chunks((header, "import sqlite3\ncon = sqlite3.connect(':memory:')\n"
                                                           "rows = [1, 2, 3]" if "False" in label else "rows = [1, 2, 3]"),
                                                 ("total", "print(sum(rows))")))
    render(d, "--cache")
    render(d, "--cache", *args)
    r, t, s = render(d, "--cache", *args)
    check(f"{label}: a reader of values equal to last render's stays cached",
          r.returncode == 0 and states(s).get("total") == "cached" and t == fresh(d), detail(r, s))
# a connection made by one cache=False chunk and queried by another: the query's
# result is digested, the connection counts as made by its code
d = setup("steady-query", chunks(("connect, cache=False", "import sqlite3\ncon = sqlite3.connect(':memory:')"),
                                 ("query, cache=False", "rows = con.execute('select 1 union select 2').fetchall()"),
                                 ("total", "print(sum(r[0] for r in rows))"), ("again", "print(con is not None)")))
render(d, "--cache")
r, t, s = render(d, "--cache")
check("a query through an uncached connection, same rows: its readers stay cached",
      r.returncode == 0 and states(s).get("total") == "cached" and states(s).get("again") == "cached"
      and t == fresh(d), detail(r, s))

# dependson: `use` reads gen.txt through a subprocess, which neither the name analysis
# nor the file-open hook sees; only dependson ties it to `gen`.
GEN = "open('gen.txt', 'w').write('{v}')"
USE = "import subprocess\nprint(subprocess.run(['cat', 'gen.txt'], capture_output=True, text=True).stdout)"
for dep in (False, True):
    header = "use, dependson=['gen']" if dep else "use"
    d = setup(f"dependson{int(dep)}", chunks(("gen", GEN.format(v="first")), (header, USE)))
    render(d, "--cache")
    write(d, "doc.mdw", chunks(("gen", GEN.format(v="second")), (header, USE)))
    r, t, s = render(d, "--cache", "--explain")
    if dep:
        check("dependson=[gen]: editing gen re-runs the chunk that reads its file",
              ran(s) == {"gen", "use"} and t == fresh(d) and "second" in t, detail(r, s))
    else:
        # A subprocess's reads are unknown: without declared inputs (depends_on_files=,
        # cache_extra=) the chunk re-runs every render rather than show a stale result.
        check("without dependson, the subprocess chunk re-runs (its inputs are unknown)",
              ran(s) == {"gen", "use"} and t == fresh(d) and "second" in t and
              "starts a subprocess (cat gen.txt)" in whys(s)["use"], detail(r, s))

# cache_extra=EXPR: the value of an expression (here a file it reads) is part of the key.
d = setup("extra", chunks(("stamp, cache_extra=open('version.txt').read()",
                           "import subprocess\nprint(subprocess.run(['cat', 'version.txt'], capture_output=True, "
                           "text=True).stdout)"),
                          ("plain", "print('plain')")), {"version.txt": "v1"})
render(d, "--cache")
r, t, s = render(d, "--cache")
check("cache_extra: unchanged value, chunk cached", states(s) == {"stamp": "cached", "plain": "cached"}, detail(r, s))
r, t, s = render(d, "--frozen")
check("cache_extra under --frozen: not evaluated (no Python), the entry's last value is used",
      states(s) == {"stamp": "cached", "plain": "cached"} and s.get("engine_started") is False, detail(r, s))
write(d, "version.txt", "v2")
r, t, s = render(d, "--cache", "--explain")
check("cache_extra: editing the file the expression reads re-runs the chunk",
      ran(s) == {"stamp"} and t == fresh(d) and "v2" in t and
      "stamp: the value of cache_extra changed" in r.stderr, detail(r, s))
write(d, "doc.mdw", chunks(("stamp, cache_extra=1/0", "print(1)"), ("plain", "print('plain')")))
r, t, s = render(d, "--cache")
check("cache_extra that raises: an error naming the document and line",
      r.returncode != 0 and "doc.mdw:3" in r.stderr and "cache_extra" in r.stderr, detail(r, s))

# ---- store safety ----

SAFE = chunks(("arr", "import numpy as np\narr = np.arange(50000, dtype=np.int64)\nprint(arr[:3])"),
              ("show", "print(int(arr.sum()))"))
d = setup("safety", SAFE)
cache = os.path.join(d, "cache")
r, t_ok, s = render(d, "--cache")
want = fresh(d)


def damage_all(how):
    """Overwrite or truncate every blob file of the cache."""
    for p in blob_files(cache):
        os.chmod(p, 0o600)
        size = os.path.getsize(p)
        with open(p, "r+b") as f:
            if how == "truncate":
                f.truncate(max(size // 2, 1))
            else:
                f.seek(size // 2)
                f.write(b"\xde\xad\xbe\xef")


for how in ("overwrite", "truncate"):
    damage_all(how)
    # `show` is edited so arr must be restored from its (damaged) pickle.
    write(d, "doc.mdw", SAFE.replace("print(int(arr.sum()))", f"print(int(arr.sum()), '{how}')"))
    r, t, s = render(d, "--cache")
    check(f"{how} blobs: a miss, render still correct", r.returncode == 0 and t == fresh(d), detail(r, s))
    check(f"{how} blobs: a warning, arr re-made", "arr" in ran(s) | {c["name"] for c in s["chunks"]
                                                                    if c["state"] == "replayed"}
          and "warning" in r.stderr.lower(), detail(r, s))
    r, t, s = render(d, "--cache")
    check(f"{how} blobs: the next render is fully cached again", ran(s) == set() and r.returncode == 0, detail(r, s))

# A cache directory writable by group or others is refused, naming it.
for mode in (0o770, 0o707):
    os.chmod(cache, mode)
    r, t, s = render(d, "--cache")
    check(f"cache dir mode {mode:o}: refused with an error naming it",
          r.returncode != 0 and cache in r.stderr and "refus" in r.stderr, detail(r))
    r2 = weft("cache", "status", "--cache", "--cache-dir", "cache", "doc.mdw", cwd=d)
    check(f"cache dir mode {mode:o}: cache status refuses too", r2.returncode != 0 and cache in r2.stderr, detail(r2))
os.chmod(cache, 0o700)

# A tampered index entry (meta edited in the SQLite index) fails its MAC: a miss.
write(d, "doc.mdw", SAFE)
render(d, "--cache")
db = sqlite3.connect(os.path.join(cache, "index.sqlite"))
rows = db.execute("select key, meta from entry where chunk = 'show'").fetchall()
for key, meta in rows:
    m = json.loads(meta)
    m["seconds"] = 123.0
    db.execute("update entry set meta = ? where key = ?", (json.dumps(m), key))
db.commit()
db.close()
r, t, s = render(d, "--cache")
check("tampered index entry: a miss (MAC), chunk re-runs, output correct",
      len(rows) >= 1 and states(s)["show"] == "ran" and states(s)["arr"] == "cached" and t == fresh(d), detail(r, s))
check("tampered index entry: a warning", "warning" in r.stderr.lower(), r.stderr)

# ---- two copies of a document sharing one cache directory ----

# Keys do not depend on the folder, so the copies share entries; the files an
# entry read or wrote must be those of the copy being rendered.
TWIN = chunks(("load", "rows = open('data.csv').read().split()\nopen('made.txt', 'w').write(str(len(rows)))"),
              ("count", "print(len(rows), open('made.txt').read())"))
twin_cache = os.path.join(work.path, "twin-cache")
ta_dir = setup("twin-a", TWIN, {"data.csv": "1 2 3\n"})
tb_dir = setup("twin-b", TWIN, {"data.csv": "1 2\n"})
r, t, s = render(ta_dir, "--cache", cache_dir=twin_cache)
r, t, s = render(tb_dir, "--cache", cache_dir=twin_cache)
check("copies sharing a cache: a copy with other data does not take the other's entry",
      ran(s) == {"load", "count"} and t == fresh(tb_dir), detail(r, s))
write(tb_dir, "data.csv", "1 2 3\n")
r, t, s = render(tb_dir, "--cache", cache_dir=twin_cache)
check("copies sharing a cache: same data again, correct", r.returncode == 0 and t == fresh(tb_dir), detail(r, s))
os.remove(os.path.join(ta_dir, "made.txt"))
r, t, s = render(ta_dir, "--cache", cache_dir=twin_cache)
check("copies sharing a cache: the other copy's entry is used, the written file restored in this copy",
      ran(s) == set() and t == fresh(ta_dir) and os.path.exists(os.path.join(ta_dir, "made.txt")), detail(r, s))

# ---- several processes sharing one cache directory ----

PAR = """<<p1>>=
import numpy as np
base = np.arange(20000, dtype=np.float64) * {k}
print(base.sum())
@

<<p2>>=
table = np.stack([base[:200], base[:200] % 7], axis=1)
np.savetxt("out{i}.csv", table, delimiter=",")
print(table.mean(axis=0))
@

<<p3>>=
print(len(open("out{i}.csv").read()), table[:, 1].sum() + {i})
@
"""
shared = os.path.join(work.path, "shared-cache")
expected = {}
good = True
why = ""
for rnd in range(3):
    k = rnd % 2 + 1  # rounds repeat a version, so entries are both made and reused concurrently
    procs = []
    for i in range(4):
        pd_dir = setup(f"par{i}", PAR.format(k=k, i=i % 2))
        out = os.path.join(pd_dir, f"round{rnd}.md")
        procs.append((i, pd_dir, out, subprocess.Popen(
            [WEFT, "weave", "--cache", "-q", "-f", "markdown", "--cache-dir", shared, "-o", out, "doc.mdw"],
            cwd=pd_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for i, pd_dir, out, p in procs:
        _, errtext = p.communicate(timeout=300)
        want_key = (k, i % 2)
        if want_key not in expected:
            expected[want_key] = fresh(pd_dir)
        got = open(out).read() if os.path.exists(out) else None
        if p.returncode != 0 or got != expected[want_key]:
            good = False
            why += f"round {rnd} process {i}: status {p.returncode}\n{errtext}\n{got}\n"
check("4 processes x 3 rounds into one cache dir: every render correct", good, why)
r = weft("cache", "gc", "--cache-dir", shared)
n = index_rows(shared, "select count(*) from entry")[0][0]
check("shared cache dir: coherent afterwards (gc works, entries present)", r.returncode == 0 and n >= 6, detail(r))

work.cleanup()
finish()
