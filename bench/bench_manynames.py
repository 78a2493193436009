"""Benchmark: many chunks, each binding a new name, with the cache on.

Every chunk `vK = K` adds one name to the namespace; with the cache on, each
chunk is tracked (what it bound, deleted, mutated). Work proportional to the
whole namespace at every chunk makes a render quadratic in the number of
chunks; it must stay linear (tracking works on what each chunk touched:
weft_nsindex). Measured: a first render with an empty cache of N and of 2N
chunks (alternated, medians); the ratio t(2N)/t(N) must be under 2.3
(linear gives about 2, quadratic about 4). The uncached render of 2N chunks
is printed beside it. The reports of cached and uncached renders must match.

Usage: /usr/bin/python3 bench/bench_manynames.py [--rounds R] [--chunks N]
"""

import argparse
import os
import shutil
import sys

import benchlib as bl


def document(n):
    """n chunks, chunk K binding vK, the last printing a sum over them all."""
    parts = [f"<<c{k}>>=\nv{k} = {k}\n@\n" for k in range(n)]
    parts.append(f"<<last>>=\nprint(sum(globals()[f'v{{k}}'] for k in range({n})))\n@\n")
    return "\n".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="renders of each size (default 3)")
    ap.add_argument("--chunks", type=int, default=5000, help="N: the smaller size (default 5000)")
    args = ap.parse_args()

    weft = bl.weft_binary()
    d = bl.scratch_dir()
    sizes = (args.chunks, 2 * args.chunks)
    docs = {}
    for n in sizes:
        docs[n] = os.path.join(d, f"names{n}.mdw")
        bl.write(docs[n], document(n))

    def cached(n):
        """A first render with the cache on: an empty cache each time."""
        cache = os.path.join(d, f"cache{n}")
        shutil.rmtree(cache, ignore_errors=True)
        return [weft, "-q", "--cache", "--cache-dir", cache, "-f", "markdown", "-o",
                os.path.join(d, f"cached{n}.md"), docs[n]]

    fresh = [weft, "-q", "--no-cache", "-f", "markdown", "-o", os.path.join(d, "fresh.md"), docs[sizes[1]]]
    runs = bl.interleave({"small": lambda: bl.run(cached(sizes[0]), cwd=d),
                          "big": lambda: bl.run(cached(sizes[1]), cwd=d),
                          "fresh": lambda: bl.run(fresh, cwd=d)}, args.rounds)
    with open(os.path.join(d, f"cached{sizes[1]}.md")) as f, open(os.path.join(d, "fresh.md")) as g:
        if f.read() != g.read():
            sys.exit("bench: the cached report differs from the uncached one")
    small = bl.median([r.wall for r in runs["small"]])
    big = bl.median([r.wall for r in runs["big"]])
    nocache = bl.median([r.wall for r in runs["fresh"]])
    ratio = big / small if small > 0 else float("inf")
    bl.note(f"cache on, empty cache: {sizes[0]} chunks {bl.fmt_s(small)}, {sizes[1]} chunks {bl.fmt_s(big)}; "
            f"--no-cache, {sizes[1]} chunks: {bl.fmt_s(nocache)} (medians of {args.rounds})")
    return bl.result(f"many names ({sizes[0]} -> {sizes[1]} chunks, cache on)", ratio < 2.3,
                     f"t(2N)/t(N) = {ratio:.2f}, target < 2.3")


if __name__ == "__main__":
    sys.exit(main())
