"""Benchmark 3: edit one chunk in the middle of a chain of expensive chunks.

Six chunks each sleep 0.3 s and compute a little, each passing a value to the
next. Chunk 4 is edited (a new constant every round, so every round is a real
miss). Checked: only chunks 4, 5 and 6 run (--summary-json). Target: the
render's wall time is the recorded seconds of the chunks that ran plus less
than 50 ms; that difference (weft's overhead: process and Python start,
restoring chunk 4's inputs, saving the new values, the store, the report) is
reported in ms. Also reported: the same edited document rendered without the
cache, as a ratio, and the floor of any render that starts Python (runs
alternated, medians).

Usage: /usr/bin/python3 bench/bench_chain.py [--rounds N] [--sleep S]
"""

import argparse
import json
import os
import sys

import benchlib as bl

CHUNKS = [
    "import time\ntime.sleep({sleep})\na = sum(i * i for i in range(20000))",
    "time.sleep({sleep})\nb = [a % (i + 7) for i in range(2000)]",
    "time.sleep({sleep})\nc = sorted(b, reverse=True)",
    "time.sleep({sleep})\nd = {{i: v * {k} for i, v in enumerate(c)}}",
    "time.sleep({sleep})\ne = sum(d.values())",
    "time.sleep({sleep})\nprint(a, len(b), c[0], e)",
]
EDITED = 3  # chunk 4, counted from 0


def document(k, sleep):
    """The chain, with chunk 4's constant set to k."""
    parts = ["# A chain of expensive chunks\n"]
    for i, code in enumerate(CHUNKS):
        parts.append(f"Step {i + 1}.\n\n```python\n{code.format(k=k, sleep=sleep)}\n```\n")
    return "\n".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="edits measured (default 5)")
    ap.add_argument("--sleep", type=float, default=0.3, help="seconds each chunk sleeps (default 0.3)")
    args = ap.parse_args()

    weft = bl.weft_binary()
    d = bl.scratch_dir()
    doc = os.path.join(d, "chain.pmd")
    summary = os.path.join(d, "summary.json")
    cached = [weft, "-q", "--cache", "-f", "markdown", "-o", os.path.join(d, "cached.md"),
              "--summary-json", summary, doc]
    fresh = [weft, "-q", "-f", "markdown", "-o", os.path.join(d, "fresh.md"), doc]

    bl.write(doc, document(1, args.sleep))
    bl.run(cached, cwd=d)  # fills the cache: everything runs once

    overheads, ran_secs = [], []

    def edit(i):
        """A new constant in chunk 4 each round: a real edit every time."""
        bl.write(doc, document(2 + i, args.sleep))

    def cached_run():
        r = bl.run(cached, cwd=d)
        with open(summary, encoding="utf-8") as f:
            chunks = json.load(f)["chunks"]
        ran = [c["number"] for c in chunks if c["state"] == "ran"]
        want = list(range(EDITED + 1, len(CHUNKS) + 1))
        if ran != want:
            sys.exit(f"bench: after editing chunk {EDITED + 1} expected chunks {want} to run, ran {ran}")
        secs = sum(c["seconds"] for c in chunks if c["state"] == "ran")
        ran_secs.append(secs)
        overheads.append(r.wall - secs)
        return r

    # the floor of any render that starts Python: one chunk that does nothing, no cache
    floor_doc = os.path.join(d, "floor.pmd")
    bl.write(floor_doc, "# Floor\n\n```python\npass\n```\n")
    floor = [weft, "-q", "-f", "markdown", "-o", os.path.join(d, "floor.md"), floor_doc]
    runs = bl.interleave({"cached": cached_run, "fresh": lambda: bl.run(fresh, cwd=d),
                          "floor": lambda: bl.run(floor, cwd=d)}, args.rounds, before=edit)
    with open(os.path.join(d, "cached.md"), encoding="utf-8") as f1, \
            open(os.path.join(d, "fresh.md"), encoding="utf-8") as f2:
        if f1.read() != f2.read():
            sys.exit("bench: the cached render differs from the fresh one")

    over = bl.median(overheads)
    wall = {k: bl.median([r.wall for r in v]) for k, v in runs.items()}
    rc = bl.result(
        "edit mid-chain, cached re-render",
        over < 0.050,
        f"ran chunks 4-6 only; wall {bl.fmt_s(wall['cached'])} = their recorded {bl.fmt_s(bl.median(ran_secs))} "
        f"+ {over * 1000:.0f} ms overhead (target < 50 ms); uncached render {bl.fmt_s(wall['fresh'])}: "
        f"{wall['fresh'] / wall['cached']:.2f}x slower")
    cpu = bl.median([r.cpu for r in runs["cached"]])
    bl.note(f"overhead per round (ms): {', '.join(f'{o * 1000:.0f}' for o in overheads)}; medians of "
            f"{args.rounds} alternated cached/uncached/floor runs; cached report identical to the uncached one")
    bl.note(f"of the overhead, {wall['floor'] * 1000:.0f} ms is the floor of any render that starts Python "
            f"(a one-chunk `pass` document, no cache); CPU time of the whole cached render (weft + worker, "
            f"chunks included) {cpu * 1000:.0f} ms")
    return rc


if __name__ == "__main__":
    sys.exit(main())
