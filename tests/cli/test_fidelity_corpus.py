#!/usr/bin/python3
"""Differences from Pweave found by rendering real Pweave documents (issue 9's survey).

Each document here is a small one of our own that reproduces what a real
document showed. Where Pweave is right, weft's report is compared with
Pweave's (`pweave` on PATH; without it those comparisons SKIP and the checks
on weft's own report still run).
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weftlib as wl  # noqa: E402

PWEAVE = shutil.which("pweave")


def render(s, doc, fmt="markdown"):
    """weft's report of doc (no cache), or None after reporting why it failed."""
    out = os.path.splitext(doc)[0] + ".weft.out"
    r = wl.weft("--no-cache", "-q", "-f", fmt, "-o", out, doc, cwd=s.path)
    if not os.path.exists(os.path.join(s.path, out)):
        wl.not_ok(f"weft renders {doc}", r.stderr)
        return None
    return s.read(out)


def pweave_render(s, doc, fmt="markdown"):
    """Pweave's report of doc, or None when pweave is not installed or failed."""
    if not PWEAVE:
        return None
    out = os.path.splitext(doc)[0] + ".pweave.out"
    subprocess.run([PWEAVE, "-f", fmt, "-o", out, doc], cwd=s.path, capture_output=True,
                   text=True, timeout=600)
    p = os.path.join(s.path, out)
    return s.read(out) if os.path.exists(p) else None


class Doc:
    """A scratch folder with documents, and weft's report of one of them."""

    def __init__(self, scratch, doc, fmt):
        self.scratch, self.doc, self.fmt = scratch, doc, fmt
        self.weft = render(scratch, doc, fmt)

    def pweave(self, what):
        """Pweave's report of the document, or None after reporting `what` skipped."""
        p = pweave_render(self.scratch, self.doc, self.fmt)
        if p is None:
            wl.skip(what, "pweave not installed or failed")
        return p


@contextlib.contextmanager
def document(files, doc, fmt="markdown"):
    """Write `files` ({name: text}) to a scratch folder and render `doc` with weft."""
    s = wl.Scratch()
    try:
        for name, text in files.items():
            s.file(name, text)
        yield Doc(s, doc, fmt)
    finally:
        s.cleanup()


def block_after(text, marker):
    """The lines of the output block holding `marker` (up to its closing fence)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if marker in line:
            j = i
            while j < len(lines) and not lines[j].startswith(("```", "\\end{verbatim}")):
                j += 1
            return lines[i:j]
    return []


def syntax_error_lines():
    """A SyntaxError in a chunk that does not start on line 1: CPython filled the
    error's text (and caret column) from line N of the document file for chunk
    line N, so weft showed a fence or a blank line. Python and Pweave show the
    chunk's own line, with the caret under the error."""
    with document({"se.pmd": "# Title\n\nSome prose.\n\n```python\nx = 1\ny = = 2\n```\n\n"
                             "```python\nprint('next')\nz = (1,\n```\n"}, "se.pmd") as d:
        w = d.weft
        if w is None:
            return
        first = block_after(w, 'File "se.pmd", line 7')
        wl.check("SyntaxError: the chunk's line and the caret under the second '='",
                 first[1:3] == ["    y = = 2", "        ^"], "\n".join(first) or w)
        second = block_after(w, 'File "se.pmd", line 12')
        wl.check("SyntaxError at a chunk's last line: that line, not the document's",
                 len(second) > 1 and second[1] == "    z = (1,", "\n".join(second) or w)
        p = d.pweave("SyntaxError lines as Pweave shows them")
        if p is None:
            return
        # Pweave (IPython) names the cell where weft names the document line (kept:
        # README, Differences from Pweave); the source line and the caret are the same
        pb = block_after(p, "Cell In")
        wl.check("SyntaxError source line and caret as in Pweave's report",
                 pb[1:3] == first[1:3], f"pweave: {pb}\nweft: {first}")


def error_without_document_frame():
    """matplotlib failing to draw a figure when weft saves it after the chunk: no
    frame of document code is in the traceback. weft showed a bare last line
    ("ValueError: ...", no "Traceback" line); Python and Pweave show the frames
    the error passed through. weft's own runtime frames stay hidden."""
    with document({"fig.pmd": "```python\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
                              "plt.xlabel(r'$\\notacommand{x}$')\n```\n\n```python\nprint('after')\n```\n"},
                  "fig.pmd") as d:
        w = d.weft
        if w is None:
            return
        tail = w[w.find("The above exception was the direct cause"):]
        wl.check("error while saving a figure: a Traceback line after the chained cause",
                 "Traceback (most recent call last):" in tail, w)
        wl.check("error while saving a figure: matplotlib's frames are shown",
                 re.search(r'File "[^"]*matplotlib/[^"]*", line', tail.replace("-\n", "-")) is not None, w)
        wl.check("error while saving a figure: no frame of weft's runtime", "<weft>/" not in w, w)
        wl.check("error while saving a figure: ends with the ValueError and the next chunk runs",
                 "ValueError:" in tail and "after" in w, w)
        p = d.pweave("error while saving a figure: Pweave shows matplotlib's frames too")
        if p is None:
            return
        wl.check("error while saving a figure: Pweave shows matplotlib's frames too",
                 "matplotlib" in p[p.find("The above exception"):], p)


def document_frames_unchanged():
    """An error in document code still starts at the document's frame."""
    with document({"e.pmd": "Prose.\n\n```python\ndef f():\n    return 1 / 0\n\nf()\n```\n"},
                  "e.pmd") as d:
        w = d.weft
        if w is None:
            return
        block = block_after(w, "Traceback (most recent call last):")
        wl.check("error in document code: the first frame is the document's",
                 len(block) > 1 and block[1].startswith('  File "e.pmd", line 7'), "\n".join(block) or w)
        wl.check("error in document code: no frame of weft's runtime", "<weft>/" not in w, w)


def latex_term_statements():
    """A term=True chunk in LaTeX: Pweave weaves each statement that printed as a
    chunk of its own (code, then output) and joins them with a newline, so a
    blank line stands between one statement's output and the next statement's
    code (Pweave's own term_test reference, and its FIR example, show it); weft
    ran them together."""
    with document({"t.texw": "\\documentclass{article}\n\\begin{document}\n\nA console session:\n\n"
                             "<<term=True>>=\nx = 6\nprint(x * 7)\ny = [x, x]\ny\nz = 1\n@\n\nAfter it.\n\n"
                             "<<term=True, echo=False>>=\nprint('a')\nprint('b')\n@\n\n\\end{document}\n"},
                  "t.texw", "tex") as d:
        w = d.weft
        if w is None:
            return
        wl.check("LaTeX term chunk: a blank line before the next statement's code",
                 "\\begin{verbatim}\n42\n\\end{verbatim}\n\n\\begin{verbatim}\ny = [x, x]\n" in w, w)
        wl.check("LaTeX term chunk: a blank line before the silent statements after the last output",
                 "[6, 6]\n\\end{verbatim}\n\n\\begin{verbatim}\nz = 1\n" in w, w)
        wl.check("LaTeX term chunk, echo=False: a blank line between the outputs",
                 "\\begin{verbatim}\na\n\\end{verbatim}\n\n\\begin{verbatim}\nb\n" in w, w)
        p = d.pweave("LaTeX term chunks: the report equals Pweave's")
        if p is None:
            return
        wl.check("LaTeX term chunks: the report equals Pweave's", p == w, f"pweave:\n{p}\nweft:\n{w}")


def front_matter_closing_line():
    """YAML front matter closed with "..." (YAML's end-of-document line, which pandoc
    reads): Pweave passes the block through as written; weft wrote "---"."""
    with document({"dots.pmd": "---\ntitle: \"Dots\"\ntitlepage: true\n...\n\nText.\n\n"
                               "```python\nprint(6 * 7)\n```\n",
                   "dashes.pmd": "---\ntitle: Dashes\n---\n\nText.\n"}, "dots.pmd") as doc:
        w, d = doc.weft, render(doc.scratch, "dashes.pmd")
        if w is None or d is None:
            return
        wl.check("front matter closed with '...' keeps it", w.startswith(
            "---\ntitle: \"Dots\"\ntitlepage: true\n...\n"), w)
        wl.check("front matter closed with '---' keeps it", d.startswith("---\ntitle: Dashes\n---\n"), d)
        p = doc.pweave("front matter closed with '...': the report equals Pweave's")
        if p is None:
            return
        wl.check("front matter closed with '...': the report equals Pweave's", p == w,
                 f"pweave:\n{p}\nweft:\n{w}")


syntax_error_lines()
error_without_document_frame()
document_frames_unchanged()
latex_term_statements()
front_matter_closing_line()
wl.finish()
