"""The README's tour cannot drift: its document is examples/tour/report.pmd,
and its commands, run in a copy of examples/tour with this build's weft first
on PATH, print every line the README shows, in that order (times, which differ
from run to run, are compared as numbers of the same shape)."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from weftlib import TOP, WEFT, Scratch, check, finish, skip  # noqa: E402


def tour_section():
    text = open(os.path.join(TOP, "README.md"), encoding="utf-8").read()
    start = text.index("## A 30-second tour")
    return text[start:text.index("\n## ", start + 1)]


def indented_blocks(section):
    """The README's code blocks: runs of lines indented four spaces (blank lines inside kept)."""
    blocks, cur = [], []
    for line in section.split("\n"):
        if line.startswith("    ") or (cur and line == ""):
            cur.append(line[4:])
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return [b[:len(b) - next(i for i, x in enumerate(reversed(b)) if x)] for b in blocks]


def shape(line):
    """A printed line with its times replaced, so 1.14s and 0.98s compare equal."""
    return re.sub(r"\d+\.\d+s", "T", line.rstrip())


section = tour_section()
blocks = indented_blocks(section)
doc_block = blocks[0]
tour_doc = open(os.path.join(TOP, "examples", "tour", "report.pmd"), encoding="utf-8").read()
check("the README shows examples/tour/report.pmd as it is",
      "\n".join(doc_block).strip() == tour_doc.strip(),
      "\n".join(doc_block))

session = next((b for b in blocks if b and b[0].startswith("$ ")), None)
check("the README tour has a command session", session is not None, section)

try:
    import pandas  # noqa: F401
    import matplotlib  # noqa: F401
    have_libs = True
except ImportError:
    have_libs = False

if session is None:
    finish()
if not have_libs:
    skip("the README tour's commands print what it shows", "pandas or matplotlib is not installed")
    finish()

s = Scratch()
try:
    work = os.path.join(s.path, "tour")
    shutil.copytree(os.path.join(TOP, "examples", "tour"), work)
    env = dict(os.environ)
    env.pop("WEFT_CACHE_DIR", None)
    env["PATH"] = os.path.dirname(WEFT) + os.pathsep + env.get("PATH", "")
    # pairs of (command, lines the README shows for it)
    steps = []
    for line in session:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    for cmd, shown in steps:
        r = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True, text=True,
                           timeout=600)
        printed = [shape(ln) for ln in (r.stdout + r.stderr).splitlines()]
        missing, pos = [], 0
        for want in map(shape, shown):
            try:
                pos = printed.index(want, pos) + 1
            except ValueError:
                missing.append(want)
        check(f"README tour: `{cmd}` prints the lines shown, in order",
              r.returncode == 0 and not missing,
              f"rc={r.returncode}; missing: {missing}\nprinted:\n" + "\n".join(printed))
    report = open(os.path.join(work, "report.html"), encoding="utf-8").read()
    check("README tour: the report has the total after the data changed", "Total: 19 units" in report,
          report[-2000:])
finally:
    s.cleanup()
finish()
