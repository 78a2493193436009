"""Benchmark 1: a two-chunk document with no imports, weft vs Pweave.

Target: weft renders it at least 30x faster than `pweave -f markdown`
(median wall time, runs alternated), with at most a quarter of Pweave's peak
memory. Memory is the peak RSS of the whole process tree (weft's forked
worker counts; so would a Jupyter kernel process, though Pweave 0.30.3 runs
its default python3 kernel in-process), measured in separate sampled runs so
the sampling does not slow the timed ones.

Usage: /usr/bin/python3 bench/bench_twochunk.py [--rounds N] [--mem-rounds M]
(Pweave takes 5 to 30 s a run depending on the machine's load: keep N small.)
"""

import argparse
import os
import sys

import benchlib as bl

DOC = """\
# Two chunks

Some text before.

```python
x = 6 * 7
print("x is", x)
```

Text between the chunks.

```python
y = [x + i for i in range(3)]
print(y)
```

The end.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4, help="timed runs of each (default 4)")
    ap.add_argument("--mem-rounds", type=int, default=1,
                    help="memory-sampled runs of each, the first also warming caches (default 1)")
    args = ap.parse_args()

    weft = bl.weft_binary()
    d = bl.scratch_dir()
    doc = os.path.join(d, "two.pmd")
    bl.write(doc, DOC)
    cmds = {
        "weft": [weft, "-q", "-f", "markdown", "-o", os.path.join(d, "weft.md"), doc],
        "pweave": ["pweave", "-f", "markdown", "-o", os.path.join(d, "pweave.md"), doc],
    }
    # first, an untimed run of each that warms the page cache and measures memory:
    # sampling the process tree costs CPU, so it is kept out of the timed runs
    mem = {k: [bl.run(c, cwd=d, sample_memory=True)] for k, c in cmds.items()}
    with open(os.path.join(d, "weft.md"), encoding="utf-8") as f:
        if "x is 42" not in f.read():
            sys.exit("bench: weft's report lacks the chunk output")

    if args.mem_rounds > 1:
        more = bl.interleave({k: (lambda c=c: bl.run(c, cwd=d, sample_memory=True)) for k, c in cmds.items()},
                             args.mem_rounds - 1)
        for k in mem:
            mem[k] += more[k]
    timed = bl.interleave({k: (lambda c=c: bl.run(c, cwd=d)) for k, c in cmds.items()}, args.rounds)

    wall = {k: bl.median([r.wall for r in v]) for k, v in timed.items()}
    cpu = {k: bl.median([r.cpu for r in v]) for k, v in timed.items()}
    tree = {k: max(r.tree_kb for r in v) for k, v in mem.items()}
    single = {k: max(r.ru_maxrss for r in v) for k, v in mem.items()}
    speed = wall["pweave"] / wall["weft"]
    mem_frac = tree["weft"] / tree["pweave"]
    ok = speed >= 30 and mem_frac <= 0.25
    rc = bl.result(
        "two-chunk render vs pweave",
        ok,
        f"weft {bl.fmt_s(wall['weft'])}, pweave {bl.fmt_s(wall['pweave'])}: {speed:.1f}x faster (target >= 30x); "
        f"peak RSS weft {tree['weft'] / 1024:.1f} MiB, pweave {tree['pweave'] / 1024:.1f} MiB: "
        f"{mem_frac:.3f} of it (target <= 0.25)")
    bl.note(f"wall medians of {args.rounds} alternated runs; weft {bl.spread([r.wall for r in timed['weft']])}, "
            f"pweave {bl.spread([r.wall for r in timed['pweave']])}")
    bl.note(f"CPU (user+sys incl. children) weft {bl.fmt_s(cpu['weft'])}, pweave {bl.fmt_s(cpu['pweave'])}: "
            f"{cpu['pweave'] / cpu['weft']:.1f}x less")
    bl.note(f"peak RSS = sum of per-process high-water marks over the process tree (max of {args.mem_rounds} "
            f"sampled runs); largest single process: weft {single['weft'] / 1024:.1f} MiB, "
            f"pweave {single['pweave'] / 1024:.1f} MiB")
    return rc


if __name__ == "__main__":
    sys.exit(main())
