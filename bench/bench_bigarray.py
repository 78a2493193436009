"""Benchmark 4: a chunk that makes a 1 GiB numpy array, saved and restored
through weft itself.

Each round, in a fresh cache folder:
  render 1  a document whose one chunk makes the array (float64,
            default_rng(0).random(2**27)); it runs and is cached.
            save = render wall - the chunk's recorded seconds.
  render 2  the edit: a small chunk reading the array is added below. The
            first chunk is a hit, its array is restored (memory-mapped), the
            new chunk runs. restore = render wall - the new chunk's seconds.
Both figures include process and Python start, the store and the report.
In this script, on the same filesystem, alternating with the renders:
  raw        the array's bytes written to a file + fsync
  dump       pickle.dump (protocol 5, in-band) + fsync
  load       pickle.load of that file (page cache warm, as weft's blob is),
             in a new Python process (like a render, it must import numpy)
             and, for reference, in this one
Targets: restore at least 5x faster than pickle.load; save at most 1.5x the
raw write+fsync. Medians over the rounds.
Before each measured step, weft's and the baseline's alike, this script
touches and frees 3x the array's size of memory. On a virtual machine that
hands freed memory back to its host (free page reporting, as on the machines
this was written on), the first touch of memory idle for a few seconds costs
far more than a later one (1 GiB: 1.1-3.2 s against 0.12 s, measured here),
and without this each side would pay that toll or not by the luck of the
order; the step that writes or allocates 1 GiB would measure the host.
Also measured, to say where restore's time goes: numpy's import and the
mutation check of a chunk reading the array (weft_state.mutation_probe:
a look at the page table of the restored mapping, before and after).

Usage: /usr/bin/python3 bench/bench_bigarray.py [--rounds N] [--mib M] [--dir D]
Needs about 4x the array size free under D (default: the system temp folder).
"""

import argparse
import json
import os
import pickle
import shutil
import sys
import time

import numpy as np

import benchlib as bl

sys.path.insert(0, os.path.join(bl.TOP, "src", "engine", "py"))
import weft_state  # noqa: E402  (only for its mutation check's cost)

LOAD = "import pickle, sys\nwith open(sys.argv[1], 'rb') as f:\n    pickle.load(f)\n"

MAKE = """\
import numpy as np
big = np.random.default_rng(0).random({n})
"""
USE = """\
edit = {edit}
print(big.dtype, big.size, round(float(big[:1000].sum()), 6), edit)
"""


def document(n, edit=None):
    """Make the array (cached); with `edit`, a chunk reading a little of it follows."""
    text = f"# A big array\n\n```python\n{MAKE.format(n=n)}```\n"
    if edit is not None:
        text += f"\nIts first values:\n\n```python\n{USE.format(edit=edit)}```\n"
    return text


def warm_memory(nbytes):
    """Touch then free nbytes of memory, so the next step finds it backed (see above)."""
    block = np.ones(nbytes // 8)
    del block


def timed(fn):
    """Seconds one call of fn takes."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def raw_write(arr, path):
    """The floor: the array's bytes written raw, then fsync."""
    with open(path, "wb") as f:
        f.write(memoryview(arr).cast("B"))
        f.flush()
        os.fsync(f.fileno())


def pickle_dump(arr, path):
    """A plain pickle cache: pickle.dump, then fsync."""
    with open(path, "wb") as f:
        pickle.dump(arr, f, protocol=5)
        f.flush()
        os.fsync(f.fileno())


def pickle_load(path):
    """Read the array back the plain-pickle way."""
    with open(path, "rb") as f:
        return pickle.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mib", type=int, default=1024, help="array size in MiB (default 1024)")
    ap.add_argument("--dir", default=None, help="where the cache and baseline files go")
    args = ap.parse_args()

    weft = bl.weft_binary()
    top = bl.scratch_dir(under=args.dir)
    n = args.mib * (1 << 20) // 8
    arr = np.random.default_rng(0).random(n)
    doc = os.path.join(top, "big.pmd")
    summary = os.path.join(top, "summary.json")
    floor_doc = os.path.join(top, "floor.pmd")
    res = {k: [] for k in ("save", "restore", "raw", "dump", "load", "render1", "render2", "make_s",
                           "load_proc", "numpy_proc", "pagemap", "floor")}

    def render(cache):
        r = bl.run([weft, "-q", "--cache", "--cache-dir", cache, "-f", "markdown", "-o",
                    os.path.join(top, "big.md"), "--summary-json", summary, doc], cwd=top)
        with open(summary, encoding="utf-8") as f:
            chunks = json.load(f)["chunks"]
        return r, chunks

    warm = 3 * n * 8

    for i in range(args.rounds):
        cache = os.path.join(top, f"cache{i}")
        files = os.path.join(top, f"files{i}")
        os.makedirs(files)

        def weft_side():
            bl.write(doc, document(n))
            warm_memory(warm)
            r1, c1 = render(cache)
            if [c["state"] for c in c1] != ["ran"]:
                sys.exit(f"bench: first render should run the chunk: {c1}")
            res["render1"].append(r1.wall)
            res["make_s"].append(c1[0]["seconds"])
            res["save"].append(r1.wall - c1[0]["seconds"])
            # the floor of any render that starts Python (a one-chunk `pass` document, no cache)
            bl.write(floor_doc, "```python\npass\n```\n")
            res["floor"].append(bl.run([weft, "-q", "-f", "markdown", "-o", os.path.join(top, "floor.md"),
                                        floor_doc], cwd=top).wall)
            # the edit: a chunk reading the array is added below it
            bl.write(doc, document(n, i))
            warm_memory(warm)
            r2, c2 = render(cache)
            if [c["state"] for c in c2] != ["cached", "ran"]:
                sys.exit(f"bench: after editing the reader, expected cached + ran: {c2}")
            res["render2"].append(r2.wall)
            res["restore"].append(r2.wall - c2[1]["seconds"])
            with open(os.path.join(top, "big.md"), encoding="utf-8") as f:
                want = f"float64 {n} {round(float(arr[:1000].sum()), 6)} {i}"
                if want not in f.read():
                    sys.exit(f"bench: the restored array printed something else than {want!r}")

        def baseline_side():
            warm_memory(warm)
            res["raw"].append(timed(lambda: raw_write(arr, os.path.join(files, "raw.bin"))))
            warm_memory(warm)
            res["dump"].append(timed(lambda: pickle_dump(arr, os.path.join(files, "dump.pkl"))))
            loaded = []
            warm_memory(warm)
            res["load"].append(timed(lambda: loaded.append(pickle_load(os.path.join(files, "dump.pkl")))))
            if not np.array_equal(loaded[0][:1000], arr[:1000]):
                sys.exit("bench: pickle.load gave another array")
            del loaded[:]
            # like for like with a render: a new process, which must import numpy to unpickle
            warm_memory(warm)
            res["load_proc"].append(bl.run([bl.PYTHON, "-c", LOAD, os.path.join(files, "dump.pkl")]).wall)
            res["numpy_proc"].append(bl.run([bl.PYTHON, "-c", "import numpy"]).wall)
            # what a chunk reading the array adds: weft reads the page table of its
            # memory before and after the chunk runs (in-place mutation check)
            lo, hi = np.byte_bounds(arr)
            res["pagemap"].append(timed(lambda: weft_state._written_pages(lo, hi, np)))

        # alternate which side goes first, so neither always meets a fuller page cache
        for side in ((weft_side, baseline_side) if i % 2 == 0 else (baseline_side, weft_side)):
            side()
        shutil.rmtree(cache)
        shutil.rmtree(files)

    m = {k: bl.median(v) for k, v in res.items()}
    save_ratio = m["save"] / m["raw"]
    restore_speed = m["load_proc"] / m["restore"]
    rc = bl.result(
        f"{args.mib} MiB array through weft",
        save_ratio <= 1.5 and restore_speed >= 5,
        f"restore {bl.fmt_s(m['restore'])} vs pickle.load in a new process {bl.fmt_s(m['load_proc'])}: "
        f"{restore_speed:.2f}x faster (target >= 5x); save {bl.fmt_s(m['save'])} vs write+fsync "
        f"{bl.fmt_s(m['raw'])}: {save_ratio:.2f}x (target <= 1.5x)")
    bl.note(f"medians of {args.rounds} rounds under {top}. restore = render 2 (a chunk reading the array "
            f"added) minus that chunk's seconds; save = render 1 (only the making chunk) minus its seconds; "
            f"both include weft's and Python's start, the store and the report")
    bl.note(f"pickle.load in this process (numpy already imported) {bl.fmt_s(m['load'])}: "
            f"{m['load'] / m['restore']:.2f}x weft's restore; pickle.dump+fsync {bl.fmt_s(m['dump'])} "
            f"(weft save is {m['save'] / m['dump']:.2f}x of it)")
    bl.note(f"where restore's time goes: a new process importing numpy {bl.fmt_s(m['numpy_proc'])}; "
            f"the page-table look of the mutation check {bl.fmt_s(m['pagemap'])}, done twice (before and after "
            f"the reading chunk); the rest is mostly the store reading the blob through once to check its "
            f"XXH3-128 before it is mapped")
    bl.note(f"the floor of any render that starts Python (one `pass` chunk, no cache) {bl.fmt_s(m['floor'])}: "
            f"net of it, save {bl.fmt_s(m['save'] - m['floor'])} ({(m['save'] - m['floor']) / m['raw']:.2f}x "
            f"write+fsync), restore {bl.fmt_s(m['restore'] - m['floor'])}")
    bl.note(f"render 1 {bl.fmt_s(m['render1'])}, of which making the array {bl.fmt_s(m['make_s'])}; "
            f"render 2 {bl.fmt_s(m['render2'])}")
    bl.note("per round (s): " + "; ".join(
        f"save {s:.2f} raw {w:.2f} restore {r:.3f} load-proc {lp:.2f}"
        for s, w, r, lp in zip(res["save"], res["raw"], res["restore"], res["load_proc"])))
    return rc


if __name__ == "__main__":
    sys.exit(main())
