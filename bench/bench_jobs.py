"""Benchmark: a folder of 20 documents, `weft render -j 2 DIR` against rendering
them one by one (`weft FILE` twenty times), no cache, runs alternated.

Each document imports nothing heavy and computes for a moment, so the work is
the worker start and the chunks; with two CPUs, -j 2 should approach half the
one-by-one time. Target: at least 1.5x faster (on a machine shared with other
work, both CPUs are rarely free, so the ratio is reported as measured).

Usage: /usr/bin/python3 bench/bench_jobs.py [--rounds N] [--docs N]
"""

import argparse
import os
import sys

import benchlib as bl

DOC = """\
# Report {i}

```python
total = sum(k * k for k in range(300000))
print("report {i}:", total)
```

```python
print(len(str(total)))
```
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="timed runs of each (default 3)")
    ap.add_argument("--docs", type=int, default=20, help="documents in the folder (default 20)")
    args = ap.parse_args()

    weft = bl.weft_binary()
    d = bl.scratch_dir()
    book = os.path.join(d, "book")
    os.makedirs(book)
    docs = []
    for i in range(args.docs):
        p = os.path.join(book, f"r{i:02d}.pmd")
        bl.write(p, DOC.format(i=i))
        docs.append(p)

    def one_by_one():
        runs = [bl.run([weft, "-q", "--no-cache", "-f", "markdown", p], cwd=d) for p in docs]
        total = runs[0]
        total.wall = sum(r.wall for r in runs)
        total.cpu = sum(r.cpu for r in runs)
        return total

    def parallel():
        return bl.run([weft, "render", "-q", "--no-cache", "-j", "2", "-f", "markdown", book], cwd=d)

    parallel()  # warm the page cache
    if "report 19:" not in open(os.path.join(book, "r19.md"), encoding="utf-8").read():
        sys.exit("bench: the parallel render lacks a chunk's output")
    timed = bl.interleave({"one by one": one_by_one, "-j 2": parallel}, args.rounds)
    wall = {k: bl.median([r.wall for r in v]) for k, v in timed.items()}
    speed = wall["one by one"] / wall["-j 2"]
    rc = bl.result(
        f"{args.docs} documents, render -j 2 vs one by one",
        speed >= 1.5,
        f"one by one {bl.fmt_s(wall['one by one'])}, -j 2 {bl.fmt_s(wall['-j 2'])}: {speed:.2f}x faster "
        f"(target >= 1.5x on {os.cpu_count()} CPUs)")
    bl.note(f"wall medians of {args.rounds} alternated rounds; load average {os.getloadavg()[0]:.1f}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
