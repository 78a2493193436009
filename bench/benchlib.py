"""Shared helpers for weft's benchmarks (bench/bench_*.py).

The machine the benchmarks run on is shared and noisy, so no benchmark trusts
an absolute time: each one measures weft and a baseline in the same
invocation, alternates their runs, takes medians, and reports a ratio.

What lives here:
  weft_binary()        the weft under test ($WEFT, else $WEFT_BUILD/weft)
  run(cmd, ...)        one timed run: wall seconds, CPU seconds and peak RSS of
                       the whole process tree (see Run), optional memory sampling
  interleave(...)      alternate several commands for R rounds, collect Runs
  median(), result()   the one result line every benchmark prints
  scratch_dir()        a temporary folder removed at exit
"""

import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"  # Debian's Python: numpy, matplotlib, Pweave live there


def weft_binary():
    """Absolute path of the weft binary under test: $WEFT, else $WEFT_BUILD/weft."""
    path = os.environ.get("WEFT") or os.path.join(TOP, os.environ.get("WEFT_BUILD", "build"), "weft")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        sys.exit(f"bench: no weft binary at {path} (build it: make BUILD=... all; set WEFT_BUILD)")
    return path


def scratch_dir(prefix="weft-bench-", under=None):
    """A fresh temporary folder, removed when the benchmark exits."""
    d = tempfile.mkdtemp(prefix=prefix, dir=under)
    atexit.register(shutil.rmtree, d, True)
    return d


def bench_env(extra=None):
    """Environment for measured commands: no user cache dir leaks in, quiet Python warnings."""
    env = dict(os.environ)
    env.pop("WEFT_CACHE_DIR", None)
    # ipykernel's debugger warns about frozen modules on every start; that is noise, not work
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if extra:
        env.update(extra)
    return env


class Run:
    """What one run of a command cost.

    wall      seconds from spawn to exit (as seen by the driver)
    cpu       user+system seconds of the command and every descendant it reaped
    ru_maxrss largest peak RSS of any single process in the tree (kB), from wait4
    tree_kb   peak RSS of the whole tree (kB), only with sampling: the sum over
              every process ever seen of its own high-water mark (VmHWM), a
              slight over-estimate that cannot miss a short spike; at least ru_maxrss
    rc, out, err  exit status and captured output
    """

    def __init__(self):
        self.wall = self.cpu = 0.0
        self.ru_maxrss = self.tree_kb = 0
        self.rc = 0
        self.peaks = {}  # pid -> VmHWM kB, with sampling
        self.out = self.err = ""


def _children_map():
    """ppid -> [pid] for every process now in /proc."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(b")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def _hwm_kb(pid):
    """A process's peak resident set (VmHWM) in kB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _sample_tree(root, peaks):
    """Record the high-water mark of root and each of its live descendants."""
    kids = _children_map()
    todo = [root]
    while todo:
        pid = todo.pop()
        hwm = _hwm_kb(pid)
        if hwm is not None and hwm > peaks.get(pid, 0):
            peaks[pid] = hwm
        todo.extend(kids.get(pid, ()))


def run(cmd, cwd=None, env=None, sample_memory=False, interval=0.004, check=True, stdin=None):
    """Run cmd once and measure it (see Run). Output is captured to temp files so
    a chatty command pays no pipe back-pressure. With sample_memory the process
    tree is polled every `interval` s: use separate runs for memory and time,
    since the polling costs CPU on a small machine."""
    r = Run()
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=env or bench_env(), stdout=fo, stderr=fe,
                             stdin=stdin if stdin is not None else subprocess.DEVNULL)
        peaks = {}
        if sample_memory:
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                _sample_tree(p.pid, peaks)
                # dense at first (short runs), sparser later: a scan of /proc
                # costs milliseconds of CPU the measured command then lacks
                time.sleep(min(interval + (time.perf_counter() - t0) / 50, 0.05))
        else:
            pid, status, ru = os.wait4(p.pid, 0)
        r.wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
        r.rc = p.returncode
        r.cpu = ru.ru_utime + ru.ru_stime
        r.ru_maxrss = ru.ru_maxrss
        r.tree_kb = max(sum(peaks.values()), r.ru_maxrss)
        r.peaks = peaks
        fo.seek(0)
        fe.seek(0)
        r.out = fo.read().decode(errors="replace")
        r.err = fe.read().decode(errors="replace")
    if check and r.rc != 0:
        sys.stderr.write(f"bench: command failed ({r.rc}): {' '.join(cmd)}\n{r.out[-2000:]}{r.err[-4000:]}\n")
        sys.exit(2)
    return r


def interleave(variants, rounds, before=None):
    """Run each of variants {label: thunk returning a Run} once per round, the
    order rotating every round so no side always goes first (warmer caches, a
    quieter moment). before(round), if given, runs untimed at the start of
    each round (e.g. to edit the document all variants of that round render).
    Returns {label: [Run, ...]}."""
    labels = list(variants)
    runs = {k: [] for k in labels}
    for i in range(rounds):
        if before:
            before(i)
        order = labels[i % len(labels):] + labels[:i % len(labels)]
        for k in order:
            runs[k].append(variants[k]())
    return runs


def median(xs):
    """Median of a non-empty list of numbers."""
    return statistics.median(xs)


def fmt_s(seconds):
    """Seconds for a result line: ms below one second."""
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


def result(name, passed, text):
    """Print the benchmark's result line and return its exit status (0 PASS, 1 MISS)."""
    print(f"RESULT {name}: {text} -> {'PASS' if passed else 'MISS'}", flush=True)
    return 0 if passed else 1


def note(text):
    """A detail line under a result (medians, spreads, how it was measured)."""
    print(f"  {text}", flush=True)


def spread(xs):
    """min..max of a list, for showing how noisy a median was."""
    return f"{fmt_s(min(xs))}..{fmt_s(max(xs))}"


def write(path, text):
    """Write a text file (documents, edits)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
