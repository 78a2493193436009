"""Benchmark: saving and restoring a big numpy array through weft_state.

Compares, for one float64 array (1 GiB by default):
  save     weft_state.op_save (pickle protocol 5, raw out-of-band buffer, fsync)
           vs plain write + fsync of the array's bytes        target <= 1.5x
           and vs pickle.dump + fsync
  restore  weft_state.op_restore (buffer memory-mapped copy-on-write)
           vs pickle.load of the pickle.dump file              target >= 5x faster
           (also reported: restore followed by reading every element, i.e.
           the cost once the data is actually used)

Usage: /usr/bin/python3 bench/state_bigarray.py [--mib N] [--repeat R] [--dir D]
Each timing is the median of R runs (default 3). Needs about 4x the array
size of free disk space under D (default: the system temp directory).
"""

import argparse
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src", "engine", "py"))

import numpy as np  # noqa: E402

import weft_state as ws  # noqa: E402


def timed(fn):
    """Seconds one call of fn takes, and its result."""
    t = time.perf_counter()
    r = fn()
    return time.perf_counter() - t, r


def sum_time(arr):
    """Seconds to read every element (what using the data costs), and the sum."""
    return timed(lambda: float(arr.sum()))


def plain_write(arr, path):
    """The floor: the array's bytes written raw and fsynced."""
    with open(path, "wb") as f:
        mv = memoryview(arr).cast("B")
        f.write(mv)
        f.flush()
        os.fsync(f.fileno())


def pickle_dump(arr, path):
    """What a naive cache does: pickle.dump (in-band), fsynced."""
    with open(path, "wb") as f:
        pickle.dump(arr, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())


def pickle_load(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def private_dirty_pages(arr):
    """Pages of arr's memory that were written since it was mapped: in a
    private file mapping a written page turns anonymous, which
    /proc/self/pagemap shows (bit 63 present, bit 61 file-backed clear)."""
    page = os.sysconf("SC_PAGE_SIZE")
    addr = arr.__array_interface__["data"][0]
    first, last = addr // page, (addr + arr.nbytes - 1) // page
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(first * 8)
        ents = np.frombuffer(f.read((last - first + 1) * 8), dtype=np.uint64)
    present = (ents >> np.uint64(63)) & np.uint64(1)
    filepage = (ents >> np.uint64(61)) & np.uint64(1)
    return int(np.count_nonzero(present & (filepage ^ np.uint64(1))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=1024, help="array size in MiB (default 1024)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()

    import __main__
    n = args.mib * (1 << 20) // 8
    big = np.random.default_rng(0).random(n)
    __main__.__dict__["weft_bench_big"] = big
    top = tempfile.mkdtemp(prefix="weft-bench-", dir=args.dir)
    res = {k: [] for k in ("write", "save", "dump", "load", "restore", "restore_sum", "load_sum",
                           "fingerprint", "pagemap")}
    try:
        for i in range(args.repeat):
            d = os.path.join(top, str(i))
            os.makedirs(d)
            # alternate the order so neither side always meets a fuller page cache
            for which in (("write", "save") if i % 2 == 0 else ("save", "write")):
                if which == "write":
                    t, _ = timed(lambda: plain_write(big, os.path.join(d, "plain.bin")))
                    res["write"].append(t)
                else:
                    t, rep = timed(lambda: ws.op_save({"names": ["weft_bench_big"], "dir": d}))
                    res["save"].append(t)
            item = rep["items"][0]
            assert item["kind"] == "pickle" and len(item["buffers"]) == 1, item
            t, _ = timed(lambda: pickle_dump(big, os.path.join(d, "dump.pkl")))
            res["dump"].append(t)

            t, loaded = timed(lambda: pickle_load(os.path.join(d, "dump.pkl")))
            res["load"].append(t)
            t, _ = sum_time(loaded)
            res["load_sum"].append(res["load"][-1] + t)
            del loaded

            del __main__.__dict__["weft_bench_big"]
            t, r = timed(lambda: ws.op_restore({"items": [item]}))
            assert r["errors"] == {}, r
            res["restore"].append(t)
            restored = __main__.__dict__["weft_bench_big"]
            t, s = sum_time(restored)
            res["restore_sum"].append(res["restore"][-1] + t)
            assert restored.shape == big.shape and s == float(big.sum())
            # What a chunk reading the restored array costs on top: weft fingerprints
            # it before and after (in-place mutation check). For comparison, the
            # kernel already knows which pages of the private file mapping were
            # written: a check through /proc/self/pagemap.
            t0 = time.perf_counter()
            ws.fingerprint(restored)
            t1 = time.perf_counter()
            dirty = private_dirty_pages(restored)
            res["fingerprint"].append(t1 - t0)
            res["pagemap"].append(time.perf_counter() - t1)
            restored[12345] = -1.0
            assert dirty == 0 and private_dirty_pages(restored) == 1, dirty
            del restored
            __main__.__dict__["weft_bench_big"] = big
            shutil.rmtree(d)
    finally:
        shutil.rmtree(top, ignore_errors=True)

    m = {k: statistics.median(v) for k, v in res.items()}
    print(f"array: {args.mib} MiB float64, median of {args.repeat} runs")
    print(f"  write+fsync raw bytes   {m['write']:8.3f} s")
    print(f"  weft save               {m['save']:8.3f} s")
    print(f"  pickle.dump+fsync       {m['dump']:8.3f} s")
    print(f"  pickle.load             {m['load']:8.4f} s   (+ sum: {m['load_sum']:.3f} s)")
    print(f"  weft restore (mmap)     {m['restore']:8.4f} s   (+ sum: {m['restore_sum']:.3f} s)")
    save_ratio = m["save"] / m["write"]
    restore_speedup = m["load"] / m["restore"]
    print(f"save / write+fsync       = {save_ratio:.2f}x   (target <= 1.5x) "
          f"{'PASS' if save_ratio <= 1.5 else 'MISS'}")
    print(f"save / pickle.dump+fsync = {m['save'] / m['dump']:.2f}x")
    print(f"pickle.load / restore    = {restore_speedup:.0f}x faster (target >= 5x) "
          f"{'PASS' if restore_speedup >= 5 else 'MISS'}")
    print(f"load+sum / restore+sum   = {m['load_sum'] / m['restore_sum']:.2f}x")
    print(f"  a reading chunk's mutation check: weft_state.fingerprint {m['fingerprint']:.3f} s (done before "
          f"and after the chunk); written-page check via /proc/self/pagemap {m['pagemap'] * 1000:.1f} ms")
    ok = save_ratio <= 1.5 and restore_speedup >= 5
    # the one-line summary bench/run.sh collects
    print(f"RESULT {args.mib} MiB array, weft_state in-process: restore {m['restore'] * 1000:.1f} ms vs "
          f"pickle.load {m['load']:.3f} s: {restore_speedup:.0f}x faster (target >= 5x); save {m['save']:.3f} s "
          f"vs write+fsync {m['write']:.3f} s: {save_ratio:.2f}x (target <= 1.5x) -> {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
