"""Benchmark 5: the cost of a cached render where nothing changed.

A 50-chunk document (a chain of small computations, some printing), rendered
once with --cache; then re-rendered unchanged. Checked every time through
--summary-json: all 50 chunks cached and Python not started
(engine_started false). Reported: time per render and per chunk, against
two baselines measured alternately in the same run: `weft tangle` of the
same document (the floor: start, read the document, write a file) and an
uncached render (all 50 chunks run). Target: Python not started and the
cached render faster than the uncached one.

Usage: /usr/bin/python3 bench/bench_cached50.py [--rounds N] [--chunks C]
"""

import argparse
import json
import os
import sys

import benchlib as bl


def document(n):
    """n chunks, each using the previous one's value; every fifth prints."""
    parts = ["# Fifty small chunks\n", "```python\nv0 = 1\n```\n"]
    for i in range(1, n):
        code = f"v{i} = (v{i - 1} * 31 + {i}) % 1000003"
        if i % 5 == 0:
            code += f"\nprint('step {i}:', v{i})"
        parts.append(f"Step {i}.\n\n```python\n{code}\n```\n")
    return "\n".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9, help="runs of each (default 9)")
    ap.add_argument("--chunks", type=int, default=50)
    args = ap.parse_args()

    weft = bl.weft_binary()
    d = bl.scratch_dir()
    doc = os.path.join(d, "fifty.pmd")
    bl.write(doc, document(args.chunks))
    summary = os.path.join(d, "summary.json")
    cmds = {
        "cached": [weft, "-q", "--cache", "-f", "markdown", "-o", os.path.join(d, "cached.md"),
                   "--summary-json", summary, doc],
        "uncached": [weft, "-q", "-f", "markdown", "-o", os.path.join(d, "fresh.md"), doc],
        "tangle": [weft, "tangle", "-o", os.path.join(d, "fifty.py"), doc],
    }
    bl.run(cmds["cached"], cwd=d)  # fills the cache

    def cached():
        r = bl.run(cmds["cached"], cwd=d)
        with open(summary, encoding="utf-8") as f:
            s = json.load(f)
        states = {c["state"] for c in s["chunks"]}
        if s["engine_started"] or states != {"cached"} or len(s["chunks"]) != args.chunks:
            sys.exit(f"bench: unchanged render not fully cached: engine_started={s['engine_started']}, "
                     f"states {sorted(states)}, {len(s['chunks'])} chunks")
        return r

    runs = bl.interleave({"cached": cached,
                          "uncached": lambda: bl.run(cmds["uncached"], cwd=d),
                          "tangle": lambda: bl.run(cmds["tangle"], cwd=d)}, args.rounds)
    with open(os.path.join(d, "cached.md"), encoding="utf-8") as f1, \
            open(os.path.join(d, "fresh.md"), encoding="utf-8") as f2:
        if f1.read() != f2.read():
            sys.exit("bench: the cached report differs from the uncached one")
    wall = {k: bl.median([r.wall for r in v]) for k, v in runs.items()}
    cpu = {k: bl.median([r.cpu for r in v]) for k, v in runs.items()}
    rc = bl.result(
        f"{args.chunks}-chunk document, all cached",
        wall["cached"] < wall["uncached"],
        f"{bl.fmt_s(wall['cached'])} per render ({(wall['cached'] - wall['tangle']) / args.chunks * 1000:.2f} ms "
        f"per chunk above the tangle floor of {bl.fmt_s(wall['tangle'])}), Python not started; uncached render "
        f"{bl.fmt_s(wall['uncached'])}: {wall['uncached'] / wall['cached']:.1f}x slower "
        f"(target: no Python, faster than uncached)")
    bl.note(f"medians of {args.rounds} alternated runs; CPU (user+sys) cached {bl.fmt_s(cpu['cached'])}, "
            f"uncached {bl.fmt_s(cpu['uncached'])}, tangle {bl.fmt_s(cpu['tangle'])}; spreads: cached "
            f"{bl.spread([r.wall for r in runs['cached']])}, uncached {bl.spread([r.wall for r in runs['uncached']])}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
