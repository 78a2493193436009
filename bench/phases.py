"""Where a weft render's wall time goes, phase by phase (a profiling aid, no target).

Runs one weft command under strace (following forks, timestamps) and reads
the conversation between weft and its Python worker from the system calls:
each request weft sends ({"op": ...}) and the reply that answers it. Prints a
timeline: process start, worker fork, worker ready (Python started), every
op with its duration, the gaps between ops (weft's own work: the store,
hashing, fsyncs), the fsyncs, and the end.

Usage: /usr/bin/python3 bench/phases.py [--min-ms X] -- WEFT-ARGS...
  e.g. /usr/bin/python3 bench/phases.py -- build/weft --cache doc.pmd
strace slows system calls down: read the figures as proportions.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

LINE = re.compile(r"^(\d+)\s+(\d+):(\d+):(\d+\.\d+) (.*)$")
OP = re.compile(r'"\{\\"op\\":\\"(\w+)\\"')
# lines strace splits around a blocking call: keep the start, join on "resumed"
UNFINISHED = re.compile(r"^(\w+)\((.*) <unfinished \.\.\.>$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")


def parse(path):
    """[(t seconds, pid, call text)] with unfinished/resumed pairs joined."""
    events, pending = [], {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if not m:
                continue
            pid = int(m.group(1))
            t = int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4))
            text = m.group(5)
            u = UNFINISHED.match(text)
            if u:
                pending[(pid, u.group(1))] = (t, u.group(1) + "(" + u.group(2))
                continue
            r = RESUMED.match(text)
            if r and (pid, r.group(1)) in pending:
                t0, head = pending.pop((pid, r.group(1)))
                events.append((t0, pid, head + r.group(2)))
                continue
            events.append((t, pid, text))
    events.sort(key=lambda e: e[0])
    return events


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-ms", type=float, default=5.0, help="hide gaps and fsyncs shorter than this")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("give the weft command after --")
    with tempfile.TemporaryDirectory() as d:
        trace = os.path.join(d, "trace")
        rc = subprocess.call(["strace", "-f", "-tt", "-T", "-s", "48", "-o", trace,
                              "-e", "trace=execve,clone,clone3,fork,vfork,sendto,write,recvfrom,read,"
                                    "fsync,fdatasync,exit_group"] + cmd,
                             stdout=subprocess.DEVNULL)
        events = parse(trace)
    if not events:
        sys.exit("phases: no trace (is strace installed?)")
    t0 = events[0][0]
    main_pid = events[0][1]
    worker = None
    rows = []
    pending = None          # (op, t sent)
    last = t0               # end of the last thing we accounted for (in weft's process)

    def row(t, what):
        rows.append((t, len(rows), f"{(t - t0) * 1000:9.1f} ms  {what}"))

    row(t0, "weft starts")
    for t, pid, text in events:
        if pid == main_pid and text.startswith("clone(") and worker is None:
            m = re.search(r"= (\d+)", text)
            worker = int(m.group(1)) if m else None
            row(t, f"worker forked (pid {worker})")
            last = t
        elif pid == main_pid and (text.startswith("recvfrom(") or text.startswith("read(")) and '"{' in text:
            if pending is None and "hello" in text:
                row(t, "worker ready: Python started")
                last = t
            elif pending is not None and '\\"ev\\"' not in text:
                op, ts = pending
                row(t, f"  op {op:12s} {(t - ts) * 1000:8.1f} ms in the worker")
                pending, last = None, t
        elif pid == main_pid and (text.startswith("sendto(") or text.startswith("write(")):
            m = OP.search(text)
            if m:
                gap = (t - last) * 1000
                if gap >= args.min_ms:
                    row(last, f"  weft's own work  {gap:8.1f} ms (store, hashing, planning)")
                pending, last = (m.group(1), t), t
        elif text.startswith(("fsync(", "fdatasync(")):
            m = re.search(r"<(\d+\.\d+)>", text)
            if m and float(m.group(1)) * 1000 >= args.min_ms:
                who = "worker" if pid == worker else "weft" if pid == main_pid else f"pid {pid}"
                row(t, f"    {text.split('(')[0]} by {who}: {float(m.group(1)) * 1000:.1f} ms")
        elif pid == main_pid and text.startswith("exit_group"):
            gap = (t - last) * 1000
            if gap >= args.min_ms:
                row(last, f"  weft's own work  {gap:8.1f} ms (store, report)")
            row(t, f"weft exits (status {rc})")
    print("\n".join(text for _, _, text in sorted(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
