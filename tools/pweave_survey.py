#!/usr/bin/python3
"""Render Pweave documents with Pweave and with weft, and say how far apart they are.

    tools/pweave_survey.py [--weft BIN] [--reuse-pweave] DOCS RUN [NAME...]

DOCS holds the documents (.pmd, .mdw, .py, .texw, .Pnw); a folder DOC.d beside a
document holds the files it reads (its repository: data, local modules) and is
copied in first. Each document is rendered in RUN/DOC/pweave and RUN/DOC/weft
(same format: markdown, pandoc, tex or rst by extension; weft with --no-cache),
and RUN/DOC/diff.txt and diff-notb.txt hold the differences, the latter without
traceback blocks (kept different on purpose: README, Differences from Pweave).
NAMEs (substrings) pick documents. --reuse-pweave keeps Pweave's reports from an
earlier run (Pweave takes seconds a document). Real documents from public
repositories are for this survey only: keep them out of this repository.

Per document and over all of them: line similarity (difflib ratio of the
reports' lines), the same without tracebacks and with 0x addresses masked, and
structure similarity (the same over heading, fence, figure and LaTeX
environment lines only).
"""

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys

FORMAT = {".pmd": "markdown", ".mdw": "pandoc", ".py": "markdown", ".texw": "tex",
          ".Pnw": "rst", ".ptexw": "tex"}
INPUT = {".py": "script", ".pmd": "markdown", ".mdw": "noweb"}
STRUCTURE = re.compile(r"^(#+ |```|~~~|!\[|\\begin|\\end|\\includegraphics|\.\. |<img|<pre|<div|::$|    \S)")
FENCE = ("```", "~~~", "\\begin{verbatim}", "\\end{verbatim}")


def render(tool, weft, src, d):
    """(exit status, report text) of one tool on document src, run in folder d."""
    shutil.rmtree(d, ignore_errors=True)
    if os.path.isdir(src + ".d"):
        shutil.copytree(src + ".d", d, symlinks=True)
    else:
        os.makedirs(d)
    name = os.path.basename(src)
    shutil.copy(src, os.path.join(d, name))
    ext = os.path.splitext(name)[1]
    informat = ["-i", INPUT[ext]] if ext in INPUT else []
    if tool == "pweave":
        cmd = ["pweave", *informat, "-f", FORMAT[ext], "-o", "out.txt", name]
    else:
        cmd = [weft, *informat, "--no-cache", "-q", "-f", FORMAT[ext], "-o", "out.txt", name]
    try:
        rc = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=600).returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    out = os.path.join(d, "out.txt")
    return rc, open(out, encoding="utf-8", errors="replace").read() if os.path.exists(out) else ""


def without_tracebacks(lines):
    """The lines less output blocks holding a traceback, 0x addresses masked."""
    out, block = [], None
    for line in lines:
        if block is None and line.startswith(FENCE[:3]):
            block = [line]
        elif block is not None:
            block.append(line)
            if line.startswith(FENCE):
                if not any("Traceback" in b or "Error" in b for b in block):
                    out.extend(block)
                block = None
        else:
            out.append(line)
    out.extend(block or [])
    return [re.sub(r"0x[0-9a-f]+", "0x?", line) for line in out]


def similarity(a, b):
    """difflib's ratio of two line lists (1.0 when both are empty)."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() if (a or b) else 1.0


def write_diff(path, a, b):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(difflib.unified_diff([x + "\n" for x in a], [x + "\n" for x in b], "pweave", "weft", n=1))


def compare(weft, docs, run, name, reuse):
    """One document's row: exit statuses, line counts and the three similarities."""
    src = os.path.join(docs, name)
    res = {}
    for tool in ("pweave", "weft"):
        d = os.path.join(run, name, tool)
        if tool == "pweave" and reuse and os.path.exists(os.path.join(d, "out.txt")):
            res[tool] = ("reused", open(os.path.join(d, "out.txt"), encoding="utf-8").read())
        else:
            res[tool] = render(tool, weft, src, d)
    a, b = res["pweave"][1].splitlines(), res["weft"][1].splitlines()
    ta, tb = without_tracebacks(a), without_tracebacks(b)
    write_diff(os.path.join(run, name, "diff.txt"), a, b)
    write_diff(os.path.join(run, name, "diff-notb.txt"), ta, tb)
    return dict(doc=name, rc=(res["pweave"][0], res["weft"][0]), lines=(len(a), len(b)),
                line=similarity(a, b), notb=similarity(ta, tb),
                structure=similarity([x for x in a if STRUCTURE.match(x)], [x for x in b if STRUCTURE.match(x)]),
                identical=a == b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weft", default=os.path.join(os.path.dirname(__file__), "..", "build", "weft"))
    ap.add_argument("--reuse-pweave", action="store_true")
    ap.add_argument("docs")
    ap.add_argument("run")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    if not shutil.which("pweave"):
        sys.exit("pweave_survey: no pweave on PATH")
    weft = os.path.abspath(args.weft)
    rows = []
    for name in sorted(os.listdir(args.docs)):
        if os.path.splitext(name)[1] not in FORMAT or (args.names and not any(n in name for n in args.names)):
            continue
        r = compare(weft, args.docs, args.run, name, args.reuse_pweave)
        rows.append(r)
        print(f"{name:50s} exit {r['rc'][0]}/{r['rc'][1]} lines {r['lines'][0]}/{r['lines'][1]} "
              f"line {r['line']:.3f} no-tb {r['notb']:.3f} structure {r['structure']:.3f}"
              f"{' IDENTICAL' if r['identical'] else ''}", flush=True)
    if rows:
        n = len(rows)
        print(f"{n} documents, {sum(r['identical'] for r in rows)} identical; means: line "
              f"{sum(r['line'] for r in rows) / n:.3f}, without tracebacks {sum(r['notb'] for r in rows) / n:.3f}, "
              f"structure {sum(r['structure'] for r in rows) / n:.3f}")


if __name__ == "__main__":
    main()
