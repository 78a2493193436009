"""Benchmark: re-render, nothing changed, of an R document (issue 11).

weft runs R chunks in IRkernel, cached by chain; knitr caches with cache=TRUE.
Both render the same four R chunks to Markdown after a first render filled
their caches; runs alternate; medians compared. Every weft run is checked
through --summary-json: all chunks cached, no kernel started. No target: the
ratio is reported (knitr pays R's start-up on every render, weft starts nothing).

Usage: /usr/bin/python3 bench/bench_rchain.py [--rounds N]
"""

import argparse
import json
import os
import shutil
import sys

import benchlib as bl

CHUNKS = [
    "x <- rnorm(1e5)\nset.seed(1)",
    "m <- matrix(runif(250000), 500)\ns <- solve(m + diag(500))",
    "print(summary(x))",
    "cat(sum(diag(s)), \"\\n\")",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4, help="timed runs of each (default 4)")
    args = ap.parse_args()
    if not shutil.which("Rscript"):
        print("bench: Rscript not found (r-base-core)")
        return 2
    probe = bl.run(["Rscript", "-e", "quit(status = !requireNamespace('knitr', quietly = TRUE))"], check=False)
    if probe.rc != 0:
        print("bench: R package knitr is not installed (r-cran-knitr)")
        return 2
    weft = bl.weft_binary()
    d = bl.scratch_dir()
    fences = "\n\n".join(f"```{{r c{i}}}\n{c}\n```" for i, c in enumerate(CHUNKS))
    bl.write(os.path.join(d, "w.pmd"), "---\nweft:\n  cache: true\n---\n# R\n\n" + fences + "\n")
    knit = "\n\n".join(f"```{{r c{i}, cache=TRUE}}\n{c}\n```" for i, c in enumerate(CHUNKS))
    bl.write(os.path.join(d, "k.Rmd"), "# R\n\n" + knit + "\n")
    summary = os.path.join(d, "summary.json")
    cmds = {
        "weft": [weft, "-q", "-f", "markdown", "-o", os.path.join(d, "w.md"), "--summary-json", summary,
                 os.path.join(d, "w.pmd")],
        "knitr": ["Rscript", "-e", "invisible(knitr::knit('k.Rmd', 'k.md', quiet = TRUE))"],
    }
    first = {k: bl.run(c, cwd=d) for k, c in cmds.items()}  # fills both caches

    def weft_cached():
        r = bl.run(cmds["weft"], cwd=d)
        with open(summary, encoding="utf-8") as f:
            s = json.load(f)
        states = [c["state"] for c in s["chunks"]]
        if s["engine_started"] or any(st != "cached" for st in states):
            sys.exit(f"bench: unchanged re-render was not fully cached: {states}")
        return r

    runs = bl.interleave({"weft": weft_cached, "knitr": lambda: bl.run(cmds["knitr"], cwd=d)}, args.rounds)
    wall = {k: bl.median([r.wall for r in v]) for k, v in runs.items()}
    rc = bl.result("unchanged R document re-render vs knitr cache=TRUE", True,
                   f"weft {bl.fmt_s(wall['weft'])}, knitr {bl.fmt_s(wall['knitr'])}: "
                   f"{wall['knitr'] / wall['weft']:.0f}x faster (no target)")
    bl.note(f"wall medians of {args.rounds} alternated runs; first (filling) renders: weft "
            f"{bl.fmt_s(first['weft'].wall)}, knitr {bl.fmt_s(first['knitr'].wall)}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
