"""Issue 11: chunks in other languages than Python run in a Jupyter kernel picked
by the chunk's language, cached by chain (src/planner/chain.h): an edit of chunk k
re-runs k..n of that kernel's chain, the cached prefix is replayed silently when a
later chunk must run, declared inputs (depends_on_files) are fingerprinted; every
cached render equals a --no-cache one (soundlib). Also: a mixed Python + R markdown
document, inline R code, `weft kernels`, notebook metadata, the --kernel output cap.
Needs Debian's r-cran-irkernel (kernelspec "ir"); skipped without it.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import Scratch, check, finish, skip, summary, weft  # noqa: E402

kernels = weft("kernels")
check("weft kernels exits 0", kernels.returncode == 0, kernels.stderr)
check("weft kernels has a header", kernels.stdout.startswith("KERNEL"), kernels.stdout)
# weft convert keeps a chunk's language (no kernel needed)
cw = Scratch()
cw.file("c.pmd", "```{r, echo=False}\nx <- 1\n```\n\n```python\ny = 2\n```\n")
cv = weft("convert", "-f", "noweb", "-o", "c.Pnw", "c.pmd", cwd=cw.path)
pnw = cw.read("c.Pnw") if cv.returncode == 0 else cv.stderr
check("convert to noweb: R chunk gets engine='r'", "<<echo=False, engine='r'>>=" in pnw, pnw)
check("convert to noweb: Python chunk unchanged", "<<>>=\ny = 2" in pnw, pnw)
cv = weft("convert", "-f", "markdown", "-o", "back.pmd", "c.Pnw", cwd=cw.path)
back = cw.read("back.pmd") if cv.returncode == 0 else cv.stderr
check("convert back to markdown: an r fence", "```{r, echo=False, engine='r'}\nx <- 1" in back, back)
cw.cleanup()

have_ir = any(line.split()[:2] == ["ir", "R"] for line in kernels.stdout.splitlines())
if not have_ir:
    skip("R kernel scenarios", "IRkernel (kernelspec 'ir') is not installed")
    finish()

check("weft kernels lists ir with language R", have_ir, kernels.stdout)


def r(name, code, extra=""):
    """A noweb chunk in R (engine='r')."""
    return (f"{name}, engine='r'{extra}", code)


A = r("a", 'x <- c(1, 2, 3)\ncat("a", sum(x), "\\n")')
B = r("b", "y <- x * 2\nprint(y)")
C = r("c", 'z <- y + 1\ncat("c", z, "\\n")')
D = r("d", "print(mean(z))")

run_scenario("R chain: edit chunk k re-runs k..n, replays 1..k-1", [
    Step(chunks(A, B, C, D), {"a", "b", "c", "d"}),
    Step(chunks(A, B, C, D), set(), note="nothing changed: no kernel started", no_python=True),
    Step(chunks(A, B, r("c", 'z <- y + 10\ncat("c", z, "\\n")'), D), {"c", "d"}, replayed={"a", "b"},
         note="edit c"),
    Step(chunks(A, B, r("c", 'z <- y + 10\ncat("c", z, "\\n")'), r("d", "print(max(z))")), {"d"},
         replayed={"a", "b", "c"}, note="edit the last chunk"),
    Step(chunks(r("a", 'x <- c(5, 6)\ncat("a", sum(x), "\\n")'), B, r("c", 'z <- y + 10\ncat("c", z, "\\n")'),
                r("d", "print(max(z))")), {"a", "b", "c", "d"}, note="edit the first chunk"),
])

run_scenario("R chain: declared input files", [
    Step(chunks(A, r("load", 'v <- as.numeric(readLines("data.txt"))\nprint(v)', ", depends_on_files=['data.txt']"),
                r("use", "print(sum(v) + sum(x))")),
         {"a", "load", "use"}, files={"data.txt": "1\n2\n"}),
    Step(chunks(A, r("load", 'v <- as.numeric(readLines("data.txt"))\nprint(v)', ", depends_on_files=['data.txt']"),
                r("use", "print(sum(v) + sum(x))")),
         {"load", "use"}, replayed={"a"}, files={"data.txt": "1\n2\n40\n"}, note="data.txt changed"),
    Step(chunks(A, r("load", 'v <- as.numeric(readLines("data.txt"))\nprint(v)', ", depends_on_files=['data.txt']"),
                r("use", "print(sum(v) + sum(x))")),
         set(), touch=("data.txt",), note="data.txt touched, same content", no_python=True),
])

run_scenario("R chain: cache=False chunk and an error", [
    Step(chunks(A, r("always", 'cat("always", sum(x), "\\n")', ", cache=False"), B),
         {"a", "always", "b"}),
    Step(chunks(A, r("always", 'cat("always", sum(x), "\\n")', ", cache=False"), B),
         {"always"}, replayed={"a"}, note="cache=False runs again, its prefix replayed"),
    Step(chunks(A, r("boom", 'stop("boom")', ", error=True"), B), {"boom", "b"}, replayed={"a"},
         note="an R error shown in the report"),
])

PY1 = ("p1", "n = 3\nprint('py', n)")
PY2 = ("p2", "print('py', n * 2)")
run_scenario("Python and R in one document, each in its own engine", [
    Step(chunks(PY1, A, PY2, B), {"p1", "a", "p2", "b"}),
    Step(chunks(PY1, A, PY2, B), set(), note="nothing changed", no_python=True),
    Step(chunks(PY1, A, PY2, r("b", "y <- x * 5\nprint(y)")), {"b"}, replayed={"a"},
         note="edit the R chunk: Python stays cached"),
    Step(chunks(PY1, A, ("p2", "print('py', n * 7)"), r("b", "y <- x * 5\nprint(y)")), {"p2"},
         note="edit a Python chunk: R stays cached"),
])

# A markdown document mixing ```python and ```{r} fences, with inline R code
# under --kernel ir (the document's default language is then R).
w = Scratch()
w.file("mixed.pmd", """---
weft:
  cache: true
---
# Mixed

```python
total = sum(range(5))
print("python total", total)
```

```{r}
v <- c(2, 4, 6)
print(mean(v))
```

```r
cat("r again", length(v), "\\n")
```

```{r, echo=False}
cat("hidden code\\n")
```
""")
res = weft("weave", "-f", "markdown", "-o", "mixed.md", "--summary-json", "s1.json", "mixed.pmd", cwd=w.path)
check("mixed document renders", res.returncode == 0, res.stderr)
md = w.read("mixed.md")
check("python chunk ran in the embedded engine", "python total 10" in md, md)
check("```{r} chunk ran in R", "[1] 4" in md, md)
check("```r chunk ran in the same R kernel", "r again 3" in md, md)
check("R code fenced as r (highlighting follows the language)", "```r\nv <- c(2, 4, 6)" in md, md)
check("echo=False for an R chunk", "cat(\"hidden code" not in md and "hidden code" in md, md)
res2 = weft("weave", "-f", "markdown", "-o", "mixed2.md", "--summary-json", "s2.json", "mixed.pmd", cwd=w.path)
s2 = summary(os.path.join(w.path, "s2.json"))
check("mixed document: second render all cached", {c["state"] for c in s2["chunks"]} == {"cached"},
      json.dumps(s2))
check("mixed document: no engine started", s2["engine_started"] is False, json.dumps(s2))
check("mixed document: cached report identical", w.read("mixed2.md") == md)
res3 = weft("weave", "--no-cache", "-f", "markdown", "-o", "mixed3.md", "mixed.pmd", cwd=w.path)
check("mixed document: --no-cache report identical", w.read("mixed3.md") == md)
h = weft("weave", "-f", "html", "-o", "mixed.html", "mixed.pmd", cwd=w.path)
# the R lexer reads `<-` as one operator (Python's would split it into `<` and `-`)
check("html: R code highlighted by the R lexer", h.returncode == 0 and
      '<span class="o">&lt;-</span>' in w.read("mixed.html"), h.stderr)

w.file("inl.texw", """Before: <%= undefined_thing %>.

<<>>=
z <- 1:4
print(z)
@

After: <%= length(z) %> and <%= sum(z) / 3 %>.
""")
res = weft("weave", "--kernel", "ir", "--cache", "-f", "tex", "-o", "inl.tex", "inl.texw", cwd=w.path)
tex = w.read("inl.tex")
check("inline R: failing expression exits 1", res.returncode == 1, res.stderr)
check("inline R: value inserted", "After: 4 and 3.333333." in tex, tex)
check("inline R: no bare word 'error' in the prose",
      "[error]" not in tex and "object 'undefined\\_thing' not found" in tex,
      tex)
check("inline R: error reported with file:line", "inl.texw:1: inline code failed" in res.stderr, res.stderr)
res = weft("weave", "--kernel", "ir", "--cache", "-f", "tex", "-o", "inl2.tex", "inl.texw", cwd=w.path)
check("inline R: cached render identical", w.read("inl2.tex") == tex)
res = weft("weave", "--kernel", "ir", "-f", "notebook", "-o", "inl.ipynb", "inl.texw", cwd=w.path)
meta = json.load(open(os.path.join(w.path, "inl.ipynb")))["metadata"]
check("notebook with --kernel ir: kernelspec ir, language R",
      meta["kernelspec"]["name"] == "ir" and meta["kernelspec"]["language"] == "R"
      and meta["language_info"]["name"] == "R", json.dumps(meta))

# --kernel output is capped as the embedded engine caps it (issue 13)
w.file("big.texw", """<<>>=
cat(strrep("x", 40 * 1024 * 1024))
cat("\\nend\\n")
@
""")
res = weft("weave", "--kernel", "ir", "-f", "markdown", "-o", "big.md", "big.texw", cwd=w.path, timeout=600)
big = w.read("big.md")
check("kernel output capped at 32 MiB", "[weft: output truncated after 32 MiB;" in big and len(big) < 34 << 20,
      res.stderr[-2000:])
check("kernel output cap warned with file:line", "big.texw:2:" in res.stderr, res.stderr[-2000:])
w.cleanup()
finish()
