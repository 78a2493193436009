#!/usr/bin/env python3
"""Random-edit soundness fuzzer for weft's chunk cache (issue 8).

Generates random documents from program fragments, applies random edit
sequences (edit / insert / delete / swap / duplicate chunks, edit prose with
inline code, create, change and remove data files) and checks every cached
render against a render with no cache at all (--no-cache), byte for byte,
exit status included (tests/cli/soundlib.py's render()).

Each sequence has a focus class (issue 8's classes, by name): its documents
mix "basic" fragments with that class's, so a stale render is counted against
the class. The output is the stale count per class and, per class, the
smallest failing sequence found (shrunk by dropping chunks and steps while it
still fails), written to --out (one folder per class: each step's document
and files, and both reports of the failing step).

    python3 tests/soundness_fuzz.py --sequences 1000 --seed 7
    python3 tests/soundness_fuzz.py --sequences 20 --classes namespace,fidelity

Not part of CI; tests/cli/test_soundness_fuzz_short.py runs a short fixed-seed
run of it. Exit status: 0 when no render was stale, 1 otherwise.
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "cli"))
from soundlib import render  # noqa: E402

# ---- fragments ------------------------------------------------------------------
# Each fragment is a function(r) -> code, r a random.Random. The prelude binds
# v0..v3, lst, box and K, so most fragments run whatever was edited before them.
# Nothing prints or displays an address (a cursor as a chunk's last value), a
# set of strings or an unseeded random number: output must be a function of
# the document alone.

V = ("v0", "v1", "v2", "v3")


def _v(r):
    return r.choice(V)


BASIC = [
    lambda r: f"{_v(r)} = {r.randint(0, 9)}",
    lambda r: f"{_v(r)} = {_v(r)} + {r.randint(1, 5)}",
    lambda r: f"print({_v(r)}, {_v(r)})",
    lambda r: f"lst.append({_v(r)})\nprint(len(lst))",
    lambda r: f"print(sum(lst), lst[-3:])",
    lambda r: f"box['{r.choice('abc')}'] = {_v(r)}",
    lambda r: "print(sorted(box.items()))",
    lambda r: f"def f0(x):\n    return x * {_v(r)}",
    lambda r: "print(f0(2))",
    lambda r: f"{_v(r)}",
    lambda r: f"{_v(r)} += 1",
]

FRAGMENTS = {
    "basic": [],
    "aliases": [
        lambda r: "alias = lst\nalias.append(7)",
        lambda r: "inner = [lst]\ninner[0].append(8)\nprint(len(inner[0]))",
        lambda r: "add = lst.append\nadd(9)",
        lambda r: "import numpy as np\narr = np.arange(6.0)",
        lambda r: "view = arr[:3]\nview += 1",
        lambda r: "print(arr.sum(), view.sum())",
        lambda r: "b2 = box\nb2['z'] = len(b2)",
        lambda r: "class Log:\n    def __init__(self, t):\n        self.t = t\n    def add(self, x):\n        self.t.append(x)\nlog = Log(lst)",
        lambda r: f"log.add({r.randint(0, 9)})",
        lambda r: "print(lst[-4:], len(alias) if 'alias' in dir() else None)",
    ],
    "settings": [
        lambda r: f"import numpy as np\nnp.set_printoptions(precision={r.randint(1, 6)})",
        lambda r: "import numpy as np\nprint(np.array([1/3, 2/3, 1/7]))",
        lambda r: f"import os\nos.environ['WEFT_FUZZ'] = '{r.randint(0, 9)}'",
        lambda r: "import os\nprint(os.environ.get('WEFT_FUZZ'))",
        lambda r: f"import decimal\ndecimal.getcontext().prec = {r.randint(3, 9)}",
        lambda r: "import decimal\nprint(decimal.Decimal(1) / decimal.Decimal(7))",
        lambda r: f"import sys\nsys.setrecursionlimit({r.choice([1500, 2000, 3000])})",
        lambda r: "import sys\nprint(sys.getrecursionlimit())",
        lambda r: "import warnings\nwarnings.simplefilter('ignore')",
        lambda r: "import warnings\nwarnings.warn('careful')\nprint('warned')",
    ],
    "classmut": [
        lambda r: f"K.x = {r.randint(0, 9)}",
        lambda r: "print(K.x, K().x)",
        lambda r: "def reg(fn):\n    K.reg.append(fn.__name__)\n    return fn",
        lambda r: f"@reg\ndef h{r.randint(0, 3)}():\n    pass",
        lambda r: "print(K.reg)",
        lambda r: f"def acc(x, seen=[]):\n    seen.append(x)\n    return len(seen)\nprint(acc({_v(r)}))",
        lambda r: "print(acc(0))",
        lambda r: "import functools\n@functools.lru_cache\ndef sq(n):\n    lst.append(n)\n    return n * n",
        lambda r: f"print(sq({r.randint(0, 3)}), len(lst))",
    ],
    "inline": [],      # inline spans in the prose, see _text
    "files": [
        lambda r: "data = open('data.txt').read().split()\nprint(len(data), data[:2])",
        lambda r: "import os\nprint(os.path.exists('opt.txt'))",
        lambda r: "import os\nprint(sorted(f for f in os.listdir('.') if f.endswith('.txt')))",
        lambda r: f"with open('out.txt', 'w') as fh:\n    fh.write(str({_v(r)}))",
        lambda r: "import os\nprint(open('out.txt').read() if os.path.exists('out.txt') else 'none')",
        lambda r: "import os\nif os.path.exists('out.txt'):\n    os.remove('out.txt')",
        lambda r: "try:\n    print(open('opt.txt').read().strip())\nexcept FileNotFoundError:\n    print('no opt')",
    ],
    "random": [
        lambda r: "print(random.random())",
        lambda r: f"random.seed({r.randint(0, 9)})",
        lambda r: "x = random.randint(0, 100)\nprint(x)",
        lambda r: "import numpy as np\nprint(np.random.rand(2))",
        lambda r: f"import numpy as np\nnp.random.seed({r.randint(0, 9)})",
        lambda r: "import numpy as np\nrng = np.random.default_rng(3)\nprint(rng.integers(0, 9, 3))",
        lambda r: "print(rng.integers(0, 9, 3))",
    ],
    "unsaveable": [
        lambda r: "gen = (i * i for i in range(100))",
        lambda r: "print(next(gen))",
        lambda r: "import sqlite3\ncon = sqlite3.connect(':memory:')\ncon.execute('create table t (x)').close()",
        lambda r: f"con.execute('insert into t values ({r.randint(0, 9)})').close()",
        lambda r: "print(con.execute('select count(*), sum(x) from t').fetchone())",
        lambda r: f"{_v(r)} = {_v(r)} * 2\ncounter = iter(range(10))",
        lambda r: "print(next(counter), v0)",
    ],
    "identical": [
        lambda r: "lst.append(1)",
        lambda r: "v0 = v0 + 1",
        lambda r: "print(len(lst), v0)",
        lambda r: "class Twice:\n    n = len(lst)\nprint(Twice.n)",
    ],
    "source": [
        lambda r: f"{_v(r)};",
        lambda r: f"{_v(r)}  # shown",
        lambda r: "import warnings\nwarnings.warn('here')",
        lambda r: "1 / 0 if v0 > 100 else v0",
        lambda r: "import inspect\nprint(len(inspect.getsource(K)))",
    ],
    "namespace": [
        lambda r: "print([n for n in globals() if not n.startswith('_')])",
        lambda r: "print(len(dir()), [n for n in dir() if not n.startswith('_')])",
        lambda r: "print(sorted(k for k in vars() if not k.startswith('_')))",
        lambda r: f"__version__ = '{r.randint(1, 9)}.0'",
        lambda r: "print(__version__ if '__version__' in globals() else None)",
        lambda r: "__all__ = ['v0']",
        lambda r: f"__all__.append('v{r.randint(1, 3)}')",
        lambda r: "print(globals().get('__all__'))",
        lambda r: f"del {_v(r)}\n{_v(r)} = 5",
        lambda r: f"z{r.randint(0, 3)} = {r.randint(0, 9)}",
    ],
    "fidelity": [
        lambda r: "try:\n    {}['k']\nexcept KeyError as e:\n    err = e",
        lambda r: "print(type(err).__name__, err.__traceback__ is None)",
        lambda r: f"s = set(range(40))\nfor i in range(38):\n    s.discard(i + {r.randint(0, 2)})",
        lambda r: "print(list(s))",
        lambda r: "import numpy as np\nro = np.arange(20000.0)\nro.flags.writeable = False",
        lambda r: "print(ro.flags.writeable)",
        lambda r: "calls = []\nclass Noisy:\n    def __reduce__(self):\n        calls.append(1)\n        print('reduce')\n        return (Noisy, ())\nnz = Noisy()",
        lambda r: "print(len(calls) if 'calls' in globals() else None)",
        lambda r: "nz.tag = v0",
        lambda r: "class G:\n    def __getstate__(self):\n        print('getstate')\n        return {}\ngs = [G()]",
        lambda r: "print(len(gs))",
    ],
}

CLASSES = [c for c in FRAGMENTS if c != "basic"]
NEEDS_NUMPY = {"aliases", "settings", "random", "fidelity"}


def _prelude(cls):
    """The fixed first chunk: names most fragments read, seeded generators."""
    code = ("import random\nrandom.seed(7)\nv0, v1, v2, v3 = 1, 2, 3, 4\nlst = [1]\nbox = {'a': 1}\n"
            "class K:\n    x = 1\n    reg = []")
    if cls in NEEDS_NUMPY:
        code = "import numpy as np\nnp.random.seed(7)\n" + code
    return code


def _text(r, cls):
    """A prose item: with inline code for the inline class only (so that a stale
    render is counted against the right class)."""
    if cls == "inline":
        return r.choice([
            f"The value is <%= {_v(r)} %>.",
            f"Count: <%= len(lst) %> items.",
            f"<% {_v(r)} = {_v(r)} + 1 %>Bumped.",
            "<% lst.append(5) %>Grown to <%= len(lst) %>.",
            "A draw: <%= random.randint(0, 9) %>.",
            f"<% box['i'] = {r.randint(0, 9)} %>Set.",
        ])
    return r.choice(["Some prose.", "More prose here.", "A paragraph."])


class Item:
    """A document item: a chunk (code, options) or a text paragraph; `ident` stays across edits."""

    def __init__(self, ident, kind, body, opts=""):
        self.ident, self.kind, self.body, self.opts = ident, kind, body, opts

    def copy(self):
        return Item(self.ident, self.kind, self.body, self.opts)


def _fragment(r, cls):
    pool = FRAGMENTS[cls] if FRAGMENTS[cls] and r.random() < 0.6 else BASIC
    return pool[r.randrange(len(pool))](r)


def _opts(r, cls):
    if cls == "source" and r.random() < 0.3:
        return ", term=True"
    return ""


class Gen:
    """Random documents and edits of one focus class."""

    def __init__(self, r, cls):
        self.r, self.cls, self.next_id = r, cls, 1

    def new_chunk(self):
        ident = self.next_id
        self.next_id += 1
        return Item(ident, "chunk", _fragment(self.r, self.cls), _opts(self.r, self.cls))

    def new_text(self):
        ident = self.next_id
        self.next_id += 1
        return Item(ident, "text", _text(self.r, self.cls))

    def document(self):
        items = [Item(0, "chunk", _prelude(self.cls))]
        for _ in range(self.r.randint(3, 7)):
            items.append(self.new_chunk() if self.r.random() < 0.75 else self.new_text())
        return items

    def files(self):
        f = {"data.txt": " ".join(str(self.r.randint(0, 9)) for _ in range(self.r.randint(1, 6))) + "\n"}
        if self.r.random() < 0.5:
            f["opt.txt"] = f"opt {self.r.randint(0, 9)}\n"
        return f

    def edit(self, items, files):
        """One random edit: a new item list and the file changes ({name: text or None})."""
        r = self.r
        items = [i.copy() for i in items]
        changes = {}
        body = [k for k in range(1, len(items))]
        kind = r.choice(["edit", "edit", "insert", "delete", "swap", "duplicate", "file", "none",
                         "tweak"])
        if kind == "edit" and body:
            k = r.choice(body)
            items[k] = self.new_chunk() if items[k].kind == "chunk" else self.new_text()
        elif kind == "tweak" and body:
            k = r.choice(body)
            it = items[k]
            digits = [p for p, ch in enumerate(it.body) if ch.isdigit()]
            if digits:
                p = r.choice(digits)
                it.body = it.body[:p] + str(r.randint(0, 9)) + it.body[p + 1:]
        elif kind == "insert":
            items.insert(r.randint(1, len(items)), self.new_chunk() if r.random() < 0.8 else self.new_text())
        elif kind == "delete" and len(body) > 1:
            del items[r.choice(body)]
        elif kind == "swap" and len(body) > 1:
            k = r.randint(1, len(items) - 2)
            items[k], items[k + 1] = items[k + 1], items[k]
        elif kind == "duplicate" and body:
            src = items[r.choice(body)]
            ident = self.next_id
            self.next_id += 1
            items.insert(r.randint(1, len(items)), Item(ident, src.kind, src.body, src.opts))
        elif kind == "file":
            which = r.choice(["data.txt", "opt.txt", "opt.txt"])
            if which == "opt.txt" and "opt.txt" in files and r.random() < 0.5:
                changes["opt.txt"] = None
            elif which == "data.txt":
                changes["data.txt"] = " ".join(str(r.randint(0, 9)) for _ in range(r.randint(1, 6))) + "\n"
            else:
                changes["opt.txt"] = f"opt {r.randint(0, 9)}\n"
        return items, changes, kind


def write_doc(items):
    """The noweb text of an item list."""
    out = []
    for it in items:
        if it.kind == "text":
            out.append(it.body + "\n")
        else:
            out.append(f"<<c{it.ident}{it.opts}>>=\n{it.body.strip()}\n@\n")
    return "\n".join(out)


# ---- running ------------------------------------------------------------------------


class Steps:
    """A sequence: per step, the items and the full file set."""

    def __init__(self, cls, steps):
        self.cls, self.steps = cls, steps      # [(items, files dict, edit kind)]

    def size(self):
        return sum(len(items) for items, _, _ in self.steps) + 3 * len(self.steps)


def run_sequence(seq, keep_dir=None):
    """Render every step cached and uncached. Returns (index of the first stale
    step or None, details of it)."""
    work = tempfile.mkdtemp(prefix="weft-fuzz-")
    cache = os.path.join(work, "cache")
    doc_dir = os.path.join(work, "doc")
    os.makedirs(doc_dir)
    try:
        prev_files = {}
        for i, (items, files, _kind) in enumerate(seq.steps):
            for name in prev_files:
                if name not in files and os.path.exists(os.path.join(doc_dir, name)):
                    os.remove(os.path.join(doc_dir, name))
            for name, text in files.items():
                with open(os.path.join(doc_dir, name), "w") as f:
                    f.write(text)
            prev_files = files
            with open(os.path.join(doc_dir, "doc.mdw"), "w") as f:
                f.write(write_doc(items))
            fresh = os.path.join(work, f"fresh{i}")
            shutil.copytree(doc_dir, fresh, ignore=shutil.ignore_patterns("report-*", "summary-*", "figures"))
            r, text, _ = render(doc_dir, cache, "cached")
            fr, ftext, _ = render(fresh, None, "fresh")
            a = None if text is None else text.replace(doc_dir, "{dir}")
            b = None if ftext is None else ftext.replace(fresh, "{dir}")
            if a is None or b is None or a != b or r.returncode != fr.returncode:
                detail = {"step": i, "cached_status": r.returncode, "fresh_status": fr.returncode,
                          "cached": a, "fresh": b, "cached_stderr": r.stderr, "fresh_stderr": fr.stderr}
                if keep_dir:
                    save_failure(keep_dir, seq, detail)
                return i, detail
            shutil.rmtree(fresh, ignore_errors=True)
        return None, None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def truncate(seq, upto):
    return Steps(seq.cls, seq.steps[:upto + 1])


def shrink(seq, budget):
    """Drop chunks (by identity, from every step) and steps while the sequence
    still fails; at most `budget` extra runs."""
    best = seq
    changed = True
    while changed and budget > 0:
        changed = False
        # drop a whole step (not the last one: it is where the failure shows)
        for k in range(len(best.steps) - 1):
            if budget <= 0:
                break
            cand = Steps(best.cls, best.steps[:k] + best.steps[k + 1:])
            budget -= 1
            bad, _ = run_sequence(cand)
            if bad is not None:
                best, changed = truncate(cand, bad), True
                break
        if changed:
            continue
        idents = sorted({it.ident for items, _, _ in best.steps for it in items if it.ident != 0})
        for ident in idents:
            if budget <= 0:
                break
            cand = Steps(best.cls, [([it for it in items if it.ident != ident], files, kind)
                                    for items, files, kind in best.steps])
            budget -= 1
            bad, _ = run_sequence(cand)
            if bad is not None:
                best, changed = truncate(cand, bad), True
                break
    return best


def save_failure(folder, seq, detail):
    """Write a failing sequence: step<N>/doc.mdw and its files, and the two reports."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for i, (items, files, kind) in enumerate(seq.steps):
        d = os.path.join(folder, f"step{i + 1}")
        os.makedirs(d)
        with open(os.path.join(d, "doc.mdw"), "w") as f:
            f.write(write_doc(items))
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        with open(os.path.join(d, "EDIT"), "w") as f:
            f.write(kind + "\n")
    for tag in ("cached", "fresh"):
        with open(os.path.join(folder, f"report-{tag}.md"), "w") as f:
            f.write(detail[tag] if detail[tag] is not None else f"(no report; stderr:)\n{detail[tag + '_stderr']}")
    with open(os.path.join(folder, "README"), "w") as f:
        f.write(f"class {seq.cls}: render each stepN/doc.mdw in turn with one --cache-dir, then the last\n"
                f"one with --no-cache; the reports differ (exit {detail['cached_status']} cached, "
                f"{detail['fresh_status']} uncached).\n\ncached stderr:\n{detail['cached_stderr']}\n"
                f"uncached stderr:\n{detail['fresh_stderr']}\n")


def make_sequence(r, cls, nsteps):
    g = Gen(r, cls)
    items = g.document()
    files = g.files()
    steps = [(items, dict(files), "initial")]
    for _ in range(nsteps - 1):
        items, changes, kind = g.edit(items, files)
        for name, text in changes.items():
            if text is None:
                files.pop(name, None)
            else:
                files[name] = text
        steps.append((items, dict(files), kind))
    return Steps(cls, steps)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sequences", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=4, help="renders per sequence (initial + edits)")
    ap.add_argument("--classes", default=",".join(CLASSES), help="comma-separated focus classes")
    ap.add_argument("--out", default="fuzz-failures", help="folder for the smallest failing sequences")
    ap.add_argument("--shrink", type=int, default=40, help="extra runs allowed to shrink each class's failure")
    ap.add_argument("--json", help="write the counts as JSON here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    classes = [c for c in args.classes.split(",") if c]
    for c in classes:
        if c not in FRAGMENTS:
            ap.error(f"unknown class {c} (known: {', '.join(FRAGMENTS)})")
    r = random.Random(args.seed)
    counts = {c: {"sequences": 0, "stale": 0, "renders": 0} for c in classes}
    smallest = {}
    t0 = time.time()
    for n in range(args.sequences):
        cls = classes[n % len(classes)]
        seq = make_sequence(r, cls, args.steps)
        bad, detail = run_sequence(seq)
        counts[cls]["sequences"] += 1
        counts[cls]["renders"] += len(seq.steps) if bad is None else bad + 1
        if bad is not None:
            counts[cls]["stale"] += 1
            seq = truncate(seq, bad)
            if cls not in smallest or seq.size() < smallest[cls][0].size():
                smallest[cls] = (seq, detail)
                save_failure(os.path.join(args.out, cls), seq, detail)   # kept if the run is stopped
        if args.verbose:
            print(f"sequence {n + 1} ({cls}): {'stale at step %d' % (bad + 1) if bad is not None else 'sound'}",
                  flush=True)
        if args.json:
            _write_counts(args, counts, smallest)
    for cls, (seq, detail) in sorted(smallest.items()):
        if args.shrink > 0:
            seq = shrink(seq, args.shrink)
        folder = os.path.join(args.out, cls)
        bad, detail2 = run_sequence(seq, keep_dir=folder)
        if bad is None:                       # a flaky failure: keep what was seen
            save_failure(folder, seq, detail)
        smallest[cls] = (seq, detail2 or detail)
    total = sum(c["stale"] for c in counts.values())
    seqs = sum(c["sequences"] for c in counts.values())
    print(f"{seqs} sequences, {total} stale, {time.time() - t0:.0f} s (seed {args.seed})")
    print(f"{'class':<12} {'sequences':>9} {'stale':>6}")
    for c in classes:
        print(f"{c:<12} {counts[c]['sequences']:>9} {counts[c]['stale']:>6}")
    for cls, (seq, _) in sorted(smallest.items()):
        print(f"smallest failing sequence of class {cls}: {len(seq.steps)} steps, "
              f"{max(len(i) for i, _, _ in seq.steps)} items -> {os.path.join(args.out, cls)}")
    if args.json:
        _write_counts(args, counts, smallest)
    return 1 if total else 0


def _write_counts(args, counts, smallest):
    """The counts so far as JSON (rewritten after every sequence)."""
    with open(args.json, "w") as f:
        json.dump({"seed": args.seed, "counts": counts,
                   "smallest": {c: os.path.join(args.out, c) for c in smallest}}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
