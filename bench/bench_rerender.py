"""Benchmark 2: re-render, nothing changed, of a numpy + matplotlib document.

Target: `weft --cache` (after a first caching render) is at least 50x faster
than Pweave's documentation mode `pweave -d` (after a first `pweave -d` run
filled its cache). Both write Markdown; runs alternate; medians compared.
Every weft run is checked through --summary-json: all chunks cached and
Python not started.

Usage: /usr/bin/python3 bench/bench_rerender.py [--rounds N]
"""

import argparse
import json
import os
import sys

import benchlib as bl

DOC = """\
# Random walks

```python
import numpy as np
import matplotlib.pyplot as plt
```

Three walks of 2000 steps:

```python
rng = np.random.default_rng(1)
walks = rng.normal(size=(2000, 3)).cumsum(axis=0)
print(walks.mean(axis=0).round(3))
```

```python
fig, ax = plt.subplots()
ax.plot(walks)
ax.set_title("random walks")
plt.show()
```

The end.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4, help="timed runs of each (default 4)")
    args = ap.parse_args()

    weft = bl.weft_binary()
    d = bl.scratch_dir()
    doc = os.path.join(d, "walks.pmd")
    bl.write(doc, DOC)
    summary = os.path.join(d, "summary.json")
    cmds = {
        "weft": [weft, "-q", "--cache", "-f", "markdown", "-o", os.path.join(d, "weft.md"),
                 "--summary-json", summary, doc],
        "pweave": ["pweave", "-d", "-f", "markdown", "-o", os.path.join(d, "pweave.md"), doc],
    }
    first = {k: bl.run(c, cwd=d) for k, c in cmds.items()}  # fills both caches
    with open(os.path.join(d, "weft.md"), encoding="utf-8") as f:
        if ".png" not in f.read():
            sys.exit("bench: weft's report has no figure")

    def weft_cached():
        r = bl.run(cmds["weft"], cwd=d)
        with open(summary, encoding="utf-8") as f:
            s = json.load(f)
        states = [c["state"] for c in s["chunks"]]
        if s["engine_started"] or any(st != "cached" for st in states):
            sys.exit(f"bench: unchanged re-render was not fully cached: engine_started="
                     f"{s['engine_started']}, states {states}")
        return r

    runs = bl.interleave({"weft": weft_cached, "pweave": lambda: bl.run(cmds["pweave"], cwd=d)}, args.rounds)
    wall = {k: bl.median([r.wall for r in v]) for k, v in runs.items()}
    cpu = {k: bl.median([r.cpu for r in v]) for k, v in runs.items()}
    speed = wall["pweave"] / wall["weft"]
    rc = bl.result(
        "unchanged numpy+matplotlib re-render vs pweave -d",
        speed >= 50,
        f"weft --cache {bl.fmt_s(wall['weft'])}, pweave -d {bl.fmt_s(wall['pweave'])}: "
        f"{speed:.0f}x faster (target >= 50x)")
    bl.note(f"wall medians of {args.rounds} alternated runs; weft {bl.spread([r.wall for r in runs['weft']])}, "
            f"pweave -d {bl.spread([r.wall for r in runs['pweave']])}; every weft run: all chunks cached, "
            f"Python not started")
    bl.note(f"CPU (user+sys incl. children) weft {bl.fmt_s(cpu['weft'])}, pweave -d {bl.fmt_s(cpu['pweave'])}: "
            f"{cpu['pweave'] / max(cpu['weft'], 1e-4):.0f}x less")
    bl.note(f"first (filling) renders: weft --cache {bl.fmt_s(first['weft'].wall)}, "
            f"pweave -d {bl.fmt_s(first['pweave'].wall)} (one run each, not part of the target)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
