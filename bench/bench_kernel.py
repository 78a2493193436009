"""Benchmark: the chunk cache through a Python Jupyter kernel (--kernel python3)
against the embedded engine, on the same document, in one run.

The document: numpy imported, a chunk that computes for a while (a 1500 x
1500 matrix product, three times), a chunk summarising it, a chunk printing
an edited value. Each side has its own folder and cache, filled by a first
render. Then, runs alternated, medians:
  unchanged   re-render, nothing edited: everything cached, no engine starts
              (neither Python nor the kernel) on either side;
  edit        the last chunk edited each round (its value changes): that chunk
              runs, reading the summary restored from the cache; the kernel
              side starts ipykernel and sends weft's runtime into it;
  no-cache    the kernel side with --no-cache, the same edit: every chunk runs
              (what --kernel cost before the cache worked with kernels).
Every cached run is checked through --summary-json (which chunks ran).
Targets: the kernel's unchanged re-render within 1.5x of the embedded
engine's (neither starts anything), and the kernel's one-chunk edit faster
than the kernel rendering everything (--no-cache): the cache pays off
through a kernel too. The kernel/embedded ratio of the edit is reported
(the kernel's start-up is the difference); no target.

Usage: /usr/bin/python3 bench/bench_kernel.py [--rounds N]
"""

import argparse
import json
import os
import subprocess
import sys

import benchlib as bl

DOC = """\
# Products

```python
import numpy as np
rng = np.random.default_rng(0)
```

```python
a = rng.random((1500, 1500))
for _ in range(3):
    b = a @ a
    b /= b.max()
```

```python
summary = {{"mean": float(b.mean()), "max": float(b.max())}}
```

```python
edit = {edit}
print(edit, round(summary["mean"], 6))
```
"""


def kernel_missing():
    """Why --kernel python3 cannot run here, or None."""
    r = subprocess.run([bl.PYTHON, "-c", "import ipykernel"], capture_output=True, check=False)
    return None if r.returncode == 0 else "ipykernel is not installed for /usr/bin/python3"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4, help="timed runs of each (default 4)")
    args = ap.parse_args()
    why = kernel_missing()
    if why:
        print(f"bench: {why}", file=sys.stderr)
        return 2
    weft = bl.weft_binary()
    root = bl.scratch_dir()
    sides = {"embedded": [], "kernel": ["--kernel", "python3"]}
    dirs = {}
    for side in list(sides) + ["nocache"]:
        dirs[side] = os.path.join(root, side)
        os.makedirs(dirs[side])
        bl.write(os.path.join(dirs[side], "doc.pmd"), DOC.format(edit=0))

    def cmd(side, extra=()):
        d = dirs[side]
        flags = sides.get(side, sides["kernel"])
        return [weft, "-q", *flags, *extra, "-f", "markdown", "-o", os.path.join(d, "out.md"),
                "--summary-json", os.path.join(d, "summary.json"), os.path.join(d, "doc.pmd")]

    def checked(side, want_ran, started):
        """A cached render of `side`, checked: the chunks that ran and whether an engine started."""
        def go():
            r = bl.run(cmd(side, ["--cache"]), cwd=dirs[side])
            with open(os.path.join(dirs[side], "summary.json"), encoding="utf-8") as f:
                s = json.load(f)
            ran = [i for i, c in enumerate(s["chunks"]) if c["state"] == "ran"]
            if ran != want_ran or bool(s["engine_started"]) != started:
                sys.exit(f"bench: {side}: ran chunks {ran} (wanted {want_ran}), "
                         f"engine started {s['engine_started']}")
            return r
        return go

    first = {side: bl.run(cmd(side, ["--cache"]), cwd=dirs[side]) for side in sides}
    unchanged = bl.interleave({side: checked(side, [], False) for side in sides}, args.rounds)

    counter = [0]

    def edit(_round):
        counter[0] += 1
        for d in dirs.values():
            bl.write(os.path.join(d, "doc.pmd"), DOC.format(edit=counter[0]))

    variants = {side: checked(side, [3], True) for side in sides}
    variants["nocache"] = lambda: bl.run(cmd("nocache", ["--no-cache"]), cwd=dirs["nocache"])
    edits = bl.interleave(variants, args.rounds, before=edit)
    for side in sides:
        with open(os.path.join(dirs[side], "out.md"), encoding="utf-8") as f:
            mine = f.read()
        with open(os.path.join(dirs["nocache"], "out.md"), encoding="utf-8") as f:
            if mine != f.read():
                sys.exit(f"bench: the {side} side's cached report differs from the kernel's --no-cache one")

    med = {k: bl.median([r.wall for r in v]) for k, v in unchanged.items()}
    emed = {k: bl.median([r.wall for r in v]) for k, v in edits.items()}
    r1 = med["kernel"] / med["embedded"]
    rc = bl.result("unchanged re-render, --kernel python3 vs embedded", r1 <= 1.5,
                   f"kernel {bl.fmt_s(med['kernel'])}, embedded {bl.fmt_s(med['embedded'])}: "
                   f"ratio {r1:.2f} (target <= 1.5)")
    r2 = emed["nocache"] / emed["kernel"]
    rc |= bl.result("one-chunk edit through the kernel, cached vs --no-cache", r2 > 1.0,
                    f"cached {bl.fmt_s(emed['kernel'])}, --no-cache {bl.fmt_s(emed['nocache'])}: "
                    f"{r2:.2f}x faster (target > 1)")
    bl.note(f"one-chunk edit, kernel / embedded: {emed['kernel'] / emed['embedded']:.2f} "
            f"(kernel {bl.fmt_s(emed['kernel'])}, embedded {bl.fmt_s(emed['embedded'])}; no target: "
            f"ipykernel's start-up and the runtime sent into it)")
    bl.note(f"wall medians of {args.rounds} alternated runs; spreads: unchanged kernel "
            f"{bl.spread([r.wall for r in unchanged['kernel']])}, embedded "
            f"{bl.spread([r.wall for r in unchanged['embedded']])}; edit kernel "
            f"{bl.spread([r.wall for r in edits['kernel']])}, embedded {bl.spread([r.wall for r in edits['embedded']])}, "
            f"no-cache {bl.spread([r.wall for r in edits['nocache']])}")
    bl.note(f"first (filling) renders: kernel {bl.fmt_s(first['kernel'].wall)}, "
            f"embedded {bl.fmt_s(first['embedded'].wall)}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
