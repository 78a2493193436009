"""md2html at render time (issue 10): math checked by KaTeX (through Node
when it is installed, else by macro name), local images embedded or named
when missing, PDF figures refused for a browser page."""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from weftlib import Scratch, check, finish, skip, weft  # noqa: E402

KATEX = "/usr/share/javascript/katex/katex.min.js"
s = Scratch()
try:
    s.file("m.pmd", "Good $\\alpha + \\frac{1}{2}$ and bad $\\foo x$.\n\n"
           "Defined $\\newcommand{\\RR}{\\mathbb{R}} \\RR$ then $\\RR^2$.\n\nBroken $x^{$ here.\n")
    if not os.path.exists(KATEX):
        skip("math is checked at render time", "libjs-katex is not installed")
    else:
        node = shutil.which("node") or shutil.which("nodejs")
        if node:
            r = weft("-q", "m.pmd", cwd=s.path)
            check("KaTeX through Node: an undefined macro is a warning with file:line",
                  r.returncode == 0 and "m.pmd:1: math `\\foo x`: KaTeX parse error: Undefined control sequence"
                  in r.stderr, r.stderr)
            check("KaTeX through Node: a syntax error too, at its block's line",
                  "m.pmd:5: math `x^{`" in r.stderr, r.stderr)
            check("a macro the document defines is not reported", "\\RR" not in r.stderr, r.stderr)
        else:
            skip("KaTeX through Node", "node is not installed")
        r = weft("-q", "m.pmd", cwd=s.path, env={"PATH": "/nonexistent"})
        check("without Node: unknown macros by name, with file:line",
              r.returncode == 0 and "m.pmd:1: math `\\foo x`: \\foo is not a KaTeX macro" in r.stderr
              and "\\RR" not in r.stderr and "\\frac" not in r.stderr, r.stderr)
    s.file("ok.pmd", "Just $x^2$ and $\\sum_i i$.\n")
    r = weft("-q", "ok.pmd", cwd=s.path)
    check("correct math: no warning", r.returncode == 0 and r.stderr == "", r.stderr)

    s.file("img.pmd", "![gone](nothere.png)\n")
    r = weft("-q", "img.pmd", cwd=s.path)
    check("a local image that cannot be read: a warning naming it",
          r.returncode == 0 and "nothere.png cannot be read" in r.stderr, r.stderr)

    s.file("fig.pmd", "```python\nprint(1)\n```\n")
    r = weft("-g", "pdf", "fig.pmd", cwd=s.path)
    check("-g pdf for an HTML page is refused with the fix",
          r.returncode == 2 and "-g svg" in r.stderr, r.stderr)
    r = weft("-g", "pdf", "-f", "tex", "fig.pmd", cwd=s.path)
    check("-g pdf for LaTeX is fine", r.returncode == 0, r.stderr)
finally:
    s.cleanup()
finish()
