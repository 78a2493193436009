"""Random edit sequences over the inputs of issue 8 classes 7 and 8 (not run by
tests/run.sh: `WEFT_BUILD=build /usr/bin/python3 tests/cli/fuzz_inputs.py [N] [SEED]`).

One document mixes every kind of input: a glob listing, an optional file,
os.walk, an existence check, environment reads, a file written then deleted
by a later chunk, a folder made and filled, a memmap written in a later
chunk. Each step applies one to three random changes (files appear, change
or go, folders are removed, environment variables change, a chunk is edited)
and renders with the persistent cache and with --no-cache in a copy, as
soundlib does; a differing report is a stale result. Prints the counts.
"""

import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import chunks, render  # noqa: E402
from weftlib import Scratch  # noqa: E402

BASE = [
    ("ls", "import glob\nfiles = sorted(glob.glob('data/*.csv'))\nprint(files)"),
    ("opt", "import os\nextra = open('extra.txt').read() if os.path.exists('extra.txt') else 'none'\nprint(extra)"),
    ("walk", "import os\nprint(sorted((r, sorted(f)) for r, d, f in os.walk('data')))"),
    ("env", "import os\nlevel = os.environ.get('WEFT_F_LEVEL', 'low')\nprint(level, os.getenv('WEFT_F_X'))"),
    ("make", "import os\nos.makedirs('out', exist_ok=True)\nopen('out/tmp.txt', 'w').write(level * 2)"),
    ("eat", "import os\ntext = open('out/tmp.txt').read()\nos.remove('out/tmp.txt')"),
    ("mm", "import numpy as np\nmm = np.memmap('m.dat', dtype='int64', mode='w+', shape=(3,))\nmm[:] = 1\nmm.flush()"),
    ("bump", "mm[1] = len(files)"),
    ("show", "import os, numpy as np\nprint(text, os.path.exists('out/tmp.txt'), sorted(os.listdir('out')),"
             " np.fromfile('m.dat', dtype='int64').tolist(), len(files), extra)"),
]


def mutate(rng, doc_dir, code, env):
    """One random change to the folder, the environment or the document."""
    kind = rng.choice(["add_csv", "rm_csv", "extra", "rm_extra", "subdir", "rm_out", "env", "env_x",
                       "edit", "nothing"])
    if kind == "add_csv":
        os.makedirs(os.path.join(doc_dir, "data"), exist_ok=True)
        open(os.path.join(doc_dir, "data", f"f{rng.randrange(6)}.csv"), "w").write(str(rng.random()))
    elif kind == "rm_csv":
        names = [n for n in os.listdir(os.path.join(doc_dir, "data"))] if os.path.isdir(
            os.path.join(doc_dir, "data")) else []
        if names:
            p = os.path.join(doc_dir, "data", rng.choice(names))
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    elif kind == "extra":
        open(os.path.join(doc_dir, "extra.txt"), "w").write(rng.choice(["a", "b", "c"]))
    elif kind == "rm_extra":
        if os.path.exists(os.path.join(doc_dir, "extra.txt")):
            os.remove(os.path.join(doc_dir, "extra.txt"))
    elif kind == "subdir":
        d = os.path.join(doc_dir, "data", f"s{rng.randrange(3)}")
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "n.txt"), "w").write("n")
    elif kind == "rm_out":
        shutil.rmtree(os.path.join(doc_dir, "out"), ignore_errors=True)
    elif kind == "env":
        env["WEFT_F_LEVEL"] = rng.choice(["low", "mid", "high"])
    elif kind == "env_x":
        if "WEFT_F_X" in env and rng.random() < 0.5:
            del env["WEFT_F_X"]
        else:
            env["WEFT_F_X"] = rng.choice(["1", "2"])
    elif kind == "edit":
        i = rng.randrange(len(code))
        name, body = code[i]
        code[i] = (name, body + f"\n_edit_{name} = {rng.randrange(3)}")
    return kind


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    stale = renders = 0
    for seq in range(n):
        work = Scratch()
        doc_dir = os.path.join(work.path, "doc")
        os.makedirs(os.path.join(doc_dir, "data"))
        open(os.path.join(doc_dir, "data", "a.csv"), "w").write("1")
        cache = os.path.join(work.path, "cache")
        code = list(BASE)
        env = {}
        for step in range(6):
            kinds = [mutate(rng, doc_dir, code, env) for _ in range(rng.randint(1, 3))] if step else ["start"]
            with open(os.path.join(doc_dir, "doc.mdw"), "w") as f:
                f.write(chunks(*code))
            fresh = os.path.join(work.path, f"fresh{step}")
            shutil.copytree(doc_dir, fresh, ignore=shutil.ignore_patterns("report-*", "summary-*", "figures"))
            full = {k: env.get(k) for k in ("WEFT_F_LEVEL", "WEFT_F_X")}
            # unset variables: the parent's environment must not carry them
            os.environ.pop("WEFT_F_LEVEL", None)
            os.environ.pop("WEFT_F_X", None)
            e = {k: v for k, v in full.items() if v is not None}
            r, text, _ = render(doc_dir, cache, "cached", e)
            fr, ftext, _ = render(fresh, None, "fresh", e)
            renders += 1
            if text is None or ftext is None or text.replace(doc_dir, "{dir}") != ftext.replace(fresh, "{dir}"):
                stale += 1
                print(f"STALE seq {seq} step {step} after {kinds}\n{r.stderr}\n--- cached\n{text}\n--- fresh\n{ftext}")
            shutil.rmtree(fresh)
        work.cleanup()
    print(f"{n} sequences, {renders} cached renders compared, {stale} stale")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
