"""Fidelity with Pweave, issue 9: inline code (<%= %>, <% %>), Pweave's
rcParams chunk defaults set from a chunk, and small items (LaTeX raw results,
failure messages). Each small document is rendered by weft and, where Pweave
0.30.3 gets it right, by Pweave (`pweave`, SKIP when it is not installed), and
compared byte for byte. The rcParams soundness scenarios (soundlib.py) compare
every cached render with a --no-cache render.
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import Scratch, check, finish, skip, weft  # noqa: E402

PWEAVE = shutil.which("pweave")
PDFLATEX = shutil.which("pdflatex")
# A Python 3.11 without Pweave installed: weft's worker then imports its stand-in.
STANDIN_PY = os.path.expanduser("~/.pyenv/versions/3.11.7")
STANDIN_ENV = {"VIRTUAL_ENV": STANDIN_PY}
HAVE_STANDIN = os.path.isfile(os.path.join(STANDIN_PY, "bin", "python")) and \
    subprocess.run([os.path.join(STANDIN_PY, "bin", "python"), "-c", "import pweave"],
                   capture_output=True).returncode != 0

work = Scratch()


def weave(name, text, fmt, env=None, extra=()):
    """Render `text` saved as `name` with weft --no-cache; (result, report text or None)."""
    path = work.file(name, text)
    out = path + ".weft." + fmt
    r = weft("weave", "--no-cache", "-q", "-f", fmt, "-o", out, *extra, path, cwd=work.path, env=env)
    return r, (open(out).read() if os.path.exists(out) else None)


def pweave(name, text, fmt):
    """Render `text` saved as `name` (in a folder of its own) with Pweave; its report or None."""
    folder = os.path.join(work.path, "pweave-" + name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    out = path + ".out"
    subprocess.run([PWEAVE, "-f", fmt, "-o", out, path], cwd=folder, capture_output=True, text=True,
                   timeout=300)
    return open(out).read() if os.path.exists(out) else None


def same_as_pweave(label, name, text, wfmt, pfmt):
    """weft's report of `text` equals Pweave's, byte for byte (SKIP without Pweave)."""
    if not PWEAVE:
        skip(label, "pweave is not installed")
        return
    r, mine = weave(name, text, wfmt)
    theirs = pweave(name, text, pfmt)
    check(label, mine is not None and mine == theirs,
          f"weft stderr: {r.stderr}\n--- weft\n{mine}\n--- pweave\n{theirs}")


# ---- inline code ----------------------------------------------------------------------

INLINE_MD = '''# Inline

```python
x = 3
```

Lengths: <%= len("""a
 b
	c""") %> and <%= len("""p
  q""") %>.

Printed: <%= print("hi") %> end.

Both: <%= print("said") or 5 %> end.

Code: <% print("yo") %> end.

Value: <%= x + 1 %>.
'''
same_as_pweave("inline markdown: continuation lines, print() in <%= %>, <% %> as Pweave",
               "inline.pmd", INLINE_MD, "markdown", "markdown")

r, md = weave("inline2.pmd", INLINE_MD, "markdown")
check("inline markdown: a continuation line keeps its leading space and tab",
      md is not None and "Lengths: 7 and 5." in md, md)
check("inline markdown: <%= print('hi') %> inserts hi, not None",
      md is not None and "Printed: hi end." in md and "None" not in md, md)
check("inline markdown: what an expression prints comes before its value",
      md is not None and "Both: said\n5 end." in md, md)

INLINE_TEX = r'''\documentclass{article}
\begin{document}
E <% print("x") %> F and <%= 1+1 %> G and <%= print("p") %> H.

<<>>=
y = 2
@

<<results='tex'>>=
z = 1
@

After.

<<results='tex', echo=False>>=
pass
@

<<results='tex', echo=False>>=
print(r"\textbf{bold}")
@

End.
\end{document}
'''
same_as_pweave("inline tex: no newline after <% print() %>; raw results of a silent chunk keep Pweave's "
               "blank line", "inline.texw", INLINE_TEX, "tex", "tex")
r, tex = weave("inline2.texw", INLINE_TEX, "tex")
check("inline tex: 'E <% print(\"x\") %> F' is 'E x F'", tex is not None and "E x F and 2 G and p H." in tex, tex)

INLINE_HTML = '''# Inline

Printed: <%= print("hi") %> end. Code: <% print("yo") %> end. Multi: <%= len("""a
 b""") %> end.
'''
r, html = weave("inline.pmd", INLINE_HTML, "html")
check("inline html: printed text inserted, stripped, continuation lines kept",
      html is not None and "Printed: hi end. Code: yo end. Multi: 4 end." in html and "None" not in html,
      html)

# A span whose code starts on a line of its own may be indented as a block;
# string literals inside keep their text.
BLOCK_MD = '''# Block

<%
    s = """k
  m"""
    if len(s) > 1:
        print(len(s))
%>
'''
r, md = weave("block.pmd", BLOCK_MD, "markdown")
check("inline block: indentation removed outside strings only", md is not None and "\n5\n" in md,
      f"{r.stderr}\n{md}")

# ---- inline errors ----------------------------------------------------------------------

ERR_TEX = r'''\documentclass{article}
\begin{document}
Value: <%= mod_u %> and <%= {"a_b": 1}["c&d"] %>.

Fine: <%= 2 %>.
\end{document}
'''
r, tex = weave("err.texw", ERR_TEX, "tex")
check("inline error in tex: the message is LaTeX-escaped",
      tex is not None and "\\texttt{[NameError: name 'mod\\_u' is not defined]}" in tex and
      "\\texttt{[KeyError: 'c\\&d']}" in tex, tex)
check("inline error: the summary says file:line", "err.texw:3: inline code failed: NameError: name 'mod_u' "
      "is not defined" in r.stderr and "inline code 1" not in r.stderr and r.returncode == 1, r.stderr)
if not PDFLATEX:
    skip("inline error in tex: pdflatex compiles the report", "pdflatex is not installed")
elif tex is not None:
    tdir = os.path.join(work.path, "pdf")
    os.makedirs(tdir, exist_ok=True)
    with open(os.path.join(tdir, "err.tex"), "w") as f:
        f.write(tex)
    p = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "err.tex"], cwd=tdir,
                       capture_output=True, text=True, timeout=120)
    check("inline error in tex: pdflatex compiles the report",
          p.returncode == 0 and os.path.exists(os.path.join(tdir, "err.pdf")), p.stdout[-2000:])

ERR_MD = '''# E

Line three: <%= (1 +
 undefined_name) %>.
'''
r, md = weave("err.pmd", ERR_MD, "markdown")
check("inline error: a multi-line span names the line of its error",
      "err.pmd:4: inline code failed: NameError: name 'undefined_name' is not defined" in r.stderr, r.stderr)

# ---- failure messages name chunks once ---------------------------------------------------

FAIL = '''<<>>=
1 / 0
@

<<named>>=
undefined_thing
@
'''
r, _ = weave("fail.mdw", FAIL, "markdown")
check("failure summary: 'chunk 1' for an unnamed chunk, never 'chunk chunk 1'",
      "fail.mdw:2: chunk 1 raised ZeroDivisionError" in r.stderr and "chunk chunk" not in r.stderr, r.stderr)
check("failure summary: 'chunk 'named'' for a named chunk",
      "fail.mdw:6: chunk 'named' raised NameError" in r.stderr, r.stderr)

# ---- pweave.rcParams["chunk"]["defaultoptions"] -------------------------------------------

RC_MD = '''# R

```python
x = 1
print("first")
```

```python
import pweave
pweave.rcParams["chunk"]["defaultoptions"].update({'echo': False, 'results': 'hidden'})
print("setter")
```

```python
print("hidden code", x)
```

```python, echo=True, results='verbatim'
print("shown")
```
'''
same_as_pweave("rcParams: chunk defaults set by a chunk apply to later chunks, as in Pweave",
               "rc.pmd", RC_MD, "markdown", "markdown")
r, md = weave("rc2.pmd", RC_MD, "markdown")
check("rcParams (real pweave): later chunk's code and output hidden, explicit options win",
      md is not None and "hidden code" not in md and "print(\"shown\")" in md and "\nshown\n" in md, md)
if HAVE_STANDIN:
    r, md2 = weave("rc3.pmd", RC_MD, "markdown", env=STANDIN_ENV)
    check("rcParams without Pweave installed: the stand-in module gives the same report",
          md2 is not None and md2 == md, f"{r.stderr}\n--- stand-in\n{md2}\n--- real\n{md}")
    r, out = weave("standin.pmd", "```python\nimport pweave\nprint(pweave.__weft_stand_in__, "
                   "pweave.rcParams['chunk']['defaultoptions']['f_size'])\n```\n", "markdown", env=STANDIN_ENV)
    check("stand-in pweave: imported where Pweave is not installed", out is not None and "True (6, 4)" in out,
          f"{r.stderr}\n{out}")
else:
    skip("rcParams without Pweave installed: the stand-in module gives the same report",
         f"no Python 3.11 without Pweave at {STANDIN_PY}")
    skip("stand-in pweave: imported where Pweave is not installed", f"no Python 3.11 at {STANDIN_PY}")

RC_TEX = r'''\documentclass{article}
\begin{document}
<<>>=
import pweave
pweave.rcParams["chunk"]["defaultoptions"].update({"echo": False})
@

<<>>=
print("only the output")
@
\end{document}
'''
same_as_pweave("rcParams in tex: code hidden from the next chunk on, as in Pweave", "rc.texw", RC_TEX, "tex", "tex")
r, html = weave("rc.pmd", RC_MD, "html", env=STANDIN_ENV if HAVE_STANDIN else None)
check("rcParams in html: the later chunk's code and output are hidden, the explicit chunk shown",
      html is not None and "hidden code" not in html and "shown" in html and "setter" in html, f"{r.stderr}")

RC_TERM = '''```python
import pweave
pweave.rcParams["chunk"]["defaultoptions"].update({"term": True, "f_size": (3, 2), "unknown_key": 1,
                                                   "evaluate": False, "caption": len})
```

```python
a = 1
a + 1
```
'''
r, md = weave("rcterm.pmd", RC_TERM, "markdown")
check("rcParams: term=True from code makes a later chunk a transcript",
      md is not None and ">>> a + 1\n2" in md, f"{r.stderr}\n{md}")
check("rcParams: evaluate from code is ignored, with a warning naming it",
      "chunk default evaluate=False is not applied" in r.stderr and "unknown_key" not in r.stderr, r.stderr)
check("rcParams: a default that is no option value is ignored, with a warning naming it",
      "chunk default caption=<built-in function len> is not applied" in r.stderr, r.stderr)


# ---- rcParams soundness: cached render == --no-cache render ---------------------------------

def setter(opts):
    return ("set", "import pweave\npweave.rcParams['chunk']['defaultoptions'].update(%s)" % opts)


P = ("p", "x = 2\nprint('p', x)")
Q = ("q", "print('q', x + 1)")
R = ("r", "print('r')")
IMPORT_ONLY = ("set", "import pweave")


def rc_scenarios(env, tag):
    """The edits of issue 9 (edit the update() call, remove it, move it), under `env`."""
    run_scenario(f"rcParams defaults ({tag}): edit, remove, move the update() call", [
        Step(chunks(P, setter("{'echo': False}"), Q, R), {"p", "set", "q", "r"}, env=env),
        Step(chunks(P, setter("{'echo': False}"), Q, R), set(), no_python=True, note="nothing changed", env=env),
        Step(chunks(P, setter("{'echo': True, 'results': 'hidden'}"), Q, R), {"set", "q", "r"}, note="edit update()",
             env=env),
        Step(chunks(P, IMPORT_ONLY, Q, R), {"set", "q", "r"}, note="remove update()", env=env),
        Step(chunks(P, setter("{'echo': False}"), Q, R), set(), note="put it back: cached again", env=env),
        Step(chunks(P, IMPORT_ONLY, Q, ("r", "import pweave\npweave.rcParams['chunk']['defaultoptions']"
                                         ".update({'echo': False})\nprint('r')"), ("s", "print('s')")), {"r", "s"},
             note="move update() to a later chunk", env=env),
        Step(chunks(P, Q, R), {"q", "r"}, note="no pweave at all", env=env),
    ])

    adder = ("r", "import pweave\npweave.rcParams['chunk']['defaultoptions'].update({'results': 'hidden'})\n"
                  "print('r')")
    run_scenario(f"rcParams defaults ({tag}): a later chunk adds to the defaults of a cached one", [
        Step(chunks(P, setter("{'echo': False}"), Q, adder, ("s", "print('s')")), {"p", "set", "q", "r", "s"},
             env=env),
        Step(chunks(P, setter("{'echo': False}"), Q, (adder[0], adder[1] + " # edited\nprint(1)"),
                    ("s", "print('s')")), {"r"}, note="edit the adder: it sees the cached setter's defaults",
             env=env),
    ])

    run_scenario(f"rcParams defaults ({tag}): computational options (term, f_size) key later chunks", [
        Step(chunks(setter("{'term': True}"), ("t", "a = 1\na + 1")), {"set", "t"}, env=env),
        Step(chunks(setter("{'term': False}"), ("t", "a = 1\na + 1")), {"set", "t"}, note="term off", env=env),
        Step(chunks(setter("{'term': True}"), ("t", "a = 1\na + 1")), set(), note="term on: cached", env=env),
    ])

    inline_doc = ("Intro <% import pweave; pweave.rcParams['chunk']['defaultoptions'].update({opts}) %> "
                  "done.\n\n<<c1>>=\nprint('c1')\n@\n\nMid <%= 1 + 1 %>.\n\n<<c2, echo=True>>=\nprint('c2')\n@\n")
    run_scenario(f"rcParams defaults ({tag}): set from inline code", [
        Step(inline_doc.replace("{opts}", "{'echo': False}"), {"c1", "c2"}, env=env),
        Step(inline_doc.replace("{opts}", "{'echo': False}"), set(), no_python=True, note="unchanged", env=env),
        Step(inline_doc.replace("{opts}", "{'results': 'hidden'}"), {"c1", "c2"}, note="edit the span", env=env),
    ])


if HAVE_STANDIN:
    rc_scenarios(STANDIN_ENV, "stand-in")
else:
    skip("rcParams soundness scenarios with the stand-in", f"no Python 3.11 without Pweave at {STANDIN_PY}")

# The real package (slow to import: a few steps only).
if PWEAVE:
    run_scenario("rcParams defaults (real pweave): edit and remove the update() call", [
        Step(chunks(P, setter("{'echo': False}"), Q), {"p", "set", "q"}),
        Step(chunks(P, setter("{'results': 'hidden'}"), Q), {"set", "q"}, note="edit update()"),
        Step(chunks(P, Q), {"q"}, note="remove the chunk"),
    ])
else:
    skip("rcParams soundness with the real pweave", "pweave is not installed")

work.cleanup()
finish()
