"""Benchmark 8: what the cache's state tracking costs, against an older weft.

The same three cache workloads, rendered by the weft under test ($WEFT or
$WEFT_BUILD/weft) and by a baseline binary ($WEFT_BASELINE, e.g. a build of
the commit before a tracking change), alternated round by round, each with
its own cache folder:

  chain    edit chunk 4 of a 6-chunk chain (bench_chain's document, shorter
           sleeps): wall minus the seconds the re-run chunks recorded, i.e.
           what starting, analysing, restoring, tracking and saving add;
  cached50 re-render an unchanged 50-chunk document (no Python starts);
  restore  an edited chunk reads a cached array of --mib MiB (restored from
           the cache by a memory mapping and checked for mutation).

Every cached report is checked against an uncached render of the same
document by the same binary. Reported: each side's median and the ratio
new/baseline. Target: the tracking costs at most 1.5x the baseline's
overhead on each workload, or under 10 ms more (small absolute numbers are
noisy).

Usage: WEFT_BASELINE=path/to/old/weft /usr/bin/python3 bench/bench_tracking.py [--rounds N] [--mib M]
"""

import argparse
import json
import os
import sys

import benchlib as bl
import bench_cached50
import bench_chain


def summary_ran(path):
    with open(path, encoding="utf-8") as f:
        chunks = json.load(f)["chunks"]
    return chunks, sum(c["seconds"] for c in chunks if c["state"] == "ran")


class Side:
    """One binary's folder, documents and commands."""

    def __init__(self, label, weft, args):
        self.label, self.weft = label, weft
        self.d = bl.scratch_dir(prefix=f"weft-bench-{label}-")
        self.args = args

    def cmd(self, doc, tag, cache=True):
        out = os.path.join(self.d, f"{tag}.md")
        c = [self.weft, "-q", "-f", "markdown", "-o", out, "--summary-json", os.path.join(self.d, f"{tag}.json")]
        return c + (["--cache", "--cache-dir", os.path.join(self.d, "cache")] if cache else ["--no-cache"]) + [doc]

    def same_as_uncached(self, doc, tag):
        bl.run(self.cmd(doc, tag + "-fresh", cache=False), cwd=self.d)
        with open(os.path.join(self.d, f"{tag}.md"), encoding="utf-8") as a, \
                open(os.path.join(self.d, f"{tag}-fresh.md"), encoding="utf-8") as b:
            if a.read() != b.read():
                sys.exit(f"bench: {self.label}: the cached {tag} report differs from the uncached one")


def restore_doc(mib, k):
    n = mib * (1 << 20) // 8
    return ("# Restore\n\n```python\nimport numpy as np\nbig = np.arange(%d, dtype=np.float64)\n```\n\n"
            "Reader.\n\n```python\nprint(float(big[::4096].sum()) * %d)\n```\n" % (n, k))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mib", type=int, default=256, help="array size of the restore workload (default 256)")
    ap.add_argument("--sleep", type=float, default=0.05, help="seconds each chain chunk sleeps")
    args = ap.parse_args()
    base = os.environ.get("WEFT_BASELINE")
    if not base or not os.access(base, os.X_OK):
        sys.exit("bench: set WEFT_BASELINE to an older weft binary to compare against")
    sides = [Side("new", bl.weft_binary(), args), Side("baseline", os.path.abspath(base), args)]
    for s in sides:
        s.chain = os.path.join(s.d, "chain.pmd")
        s.fifty = os.path.join(s.d, "fifty.pmd")
        s.big = os.path.join(s.d, "big.pmd")
        bl.write(s.chain, bench_chain.document(1, args.sleep))
        bl.write(s.fifty, bench_cached50.document(50))
        bl.write(s.big, restore_doc(args.mib, 1))
        for doc, tag in ((s.chain, "chain"), (s.fifty, "fifty"), (s.big, "big")):
            bl.run(s.cmd(doc, tag), cwd=s.d)  # fills the cache

    over = {(s.label, w): [] for s in sides for w in ("chain", "cached50", "restore")}

    def timed(s, doc, tag, work, want_ran):
        r = bl.run(s.cmd(doc, tag), cwd=s.d)
        chunks, secs = summary_ran(os.path.join(s.d, f"{tag}.json"))
        ran = [c["number"] for c in chunks if c["state"] == "ran"]
        if ran != want_ran:
            sys.exit(f"bench: {s.label} {work}: expected chunks {want_ran} to run, ran {ran}")
        over[(s.label, work)].append(r.wall - secs)
        return r

    def edit(i):
        for s in sides:
            bl.write(s.chain, bench_chain.document(2 + i, args.sleep))
            bl.write(s.big, restore_doc(args.mib, 2 + i))

    variants = {}
    for s in sides:
        variants[f"{s.label} chain"] = (lambda s=s: timed(s, s.chain, "chain", "chain", [4, 5, 6]))
        variants[f"{s.label} cached50"] = (lambda s=s: timed(s, s.fifty, "fifty", "cached50", []))
        variants[f"{s.label} restore"] = (lambda s=s: timed(s, s.big, "big", "restore", [2]))
    bl.interleave(variants, args.rounds, before=edit)
    for s in sides:
        for doc, tag in ((s.chain, "chain"), (s.fifty, "fifty"), (s.big, "big")):
            s.same_as_uncached(doc, tag)

    rc = 0
    for work in ("chain", "cached50", "restore"):
        new, old = bl.median(over[("new", work)]), bl.median(over[("baseline", work)])
        ok = new <= 1.5 * old or new - old < 0.010
        rc |= bl.result(f"tracking cost, {work}",
                        ok, f"new {bl.fmt_s(new)}, baseline {bl.fmt_s(old)}: {new / old:.2f}x "
                        f"(target <= 1.5x or < 10 ms more)")
        bl.note(f"medians of {args.rounds} alternated rounds of wall minus the re-run chunks' own seconds; "
                f"spreads new {bl.spread(over[('new', work)])}, baseline {bl.spread(over[('baseline', work)])}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
