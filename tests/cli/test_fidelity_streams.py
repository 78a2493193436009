"""Issue 9 (fidelity with Pweave and Jupyter): printed text as Jupyter shows it,
output wrapping that keeps tracebacks and paths whole, indented chunks.

  * \\r, \\b and \\r\\n follow Jupyter's rules (src/model/stream_text.h) in every
    output format; NUL, ESC and other control bytes are kept visibly (text
    formats) or raw (notebook), never the cause of lost output; LaTeX and HTML
    hold no raw control byte (the LaTeX report is compiled when pdflatex is
    installed);
  * wrap="output" breaks long lines at spaces only: tracebacks (raised or
    printed) and hyphenated paths stay whole; Pweave's output is matched
    where it is right (prose without hyphens, wrapped the same);
  * a chunk whose first line is indented runs (IPython's leading_indent) with
    tracebacks on document lines;
  * a cached render of such chunks is byte-identical to --no-cache (soundlib).
"""

import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, run_scenario  # noqa: E402
from weftlib import Scratch, check, finish, skip, weft  # noqa: E402

STREAMS = r'''Streams.

```python progress, echo=False
import sys, time
for i in range(5):
    print(f"\r{i}", end="", flush=True)
    time.sleep(0.002)
print()
```

```python controls, echo=False
print("crlf-a\r\ncrlf-b")
print("bs:abc\b\bX")
print("bs-utf8:n\u00e9\bz")
print("nul:<\x00>")
print("esc:\x1b[1;31mred\x1b[0m|\x1b]8;;http://example.org\x1b\\link\x1b]8;;\x1b\\|lone\x1b|bell\x07|del\x7f|")
sys.stderr.write("err:10%\r50%\r100%\n")
sys.stderr.write("errnul:<\x00>\n")
sys.stderr.flush()
```

```python bar, echo=False
for i in range(1, 4):
    sys.stdout.write("\r[" + "#" * i + " " * (3 - i) + "] " + str(i))
    sys.stdout.flush()
sys.stdout.write("\n")
```
'''

# What every text format must show, and what it must not.
SHOWN = ["4", "crlf-a", "crlf-b", "bs:aX", "bs-utf8:nz", r"nul:<\x00>", "esc:red|link|lone\\x1b|bell\\x07|del\\x7f|",
         "100%", r"errnul:<\x00>", "[###] 3"]
GONE = ["\r", "\x00", "\x1b", "\x07", "\x08", "\x7f", "0123", "[#  ] 1", "err:1", "err:5", "50%"]
TEXT_FORMATS = ["markdown", "pandoc", "leanpub", "html", "md2html", "tex", "texminted", "texpygments",
                "texpweave", "rst", "sphinx"]
EXT = {"html": "html", "md2html": "html", "rst": "rst", "sphinx": "rst"}


def html_unescape(text):
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&#39;", "'") \
        .replace("&amp;", "&")


def latex_plain(text):
    """The visible text of texpygments/texminted output (commandchars escapes undone)."""
    return re.sub(r"\\PY\{[a-z]+\}\{([^{}]*)\}", r"\1", text).replace(r"\PYZbs{}", "\\") \
        .replace(r"\PYZlt{}", "<").replace(r"\PYZgt{}", ">").replace(r"\PYZhy{}", "-") \
        .replace(r"\PYZsh{}", "#").replace(r"\PYZpc{}", "%").replace(r"\PYZlb{}", "[") \
        .replace(r"\PYZrb{}", "]").replace(r"\PYZob{}", "{").replace(r"\PYZcb{}", "}") \
        .replace(r"\PYZbar{}", "|") \
        .replace(r"\textbackslash{}", "\\").replace(r"\{", "{").replace(r"\}", "}")


def test_streams_every_format():
    s = Scratch()
    s.file("s.pmd", STREAMS)
    for fmt in TEXT_FORMATS:
        out = f"s-{fmt}.{EXT.get(fmt, 'txt')}"
        r = weft("-q", "--no-cache", "-f", fmt, "-o", out, "s.pmd", cwd=s.path)
        if not check(f"{fmt}: renders", r.returncode == 0, r.stderr):
            continue
        raw = s.read(out)
        body = raw  # echo=False: the report shows outputs only
        seen = latex_plain(html_unescape(body))
        missing = [w for w in SHOWN if w not in seen]
        check(f"{fmt}: \\r, \\b, \\r\\n as Jupyter shows them; NUL and ESC visible", not missing,
              f"missing {missing!r} in:\n{body[:3000]}")
        left = [g for g in GONE if g in body]
        check(f"{fmt}: no raw control byte, no overwritten progress state", not left,
              f"found {left!r} in:\n{body[:3000]}")
        bad = [hex(ord(c)) for c in raw if ord(c) < 32 and c not in "\n\t"]
        check(f"{fmt}: whole report free of control bytes (valid XML / pdflatex input)", not bad, bad[:10])
    s.cleanup()


def test_streams_notebook():
    """The notebook keeps what Jupyter saves after nbconvert: \\r and \\b applied, bytes raw."""
    s = Scratch()
    s.file("s.pmd", STREAMS)
    r = weft("-q", "--no-cache", "-f", "notebook", "-o", "s.ipynb", "s.pmd", cwd=s.path)
    if not check("notebook: renders", r.returncode == 0, r.stderr):
        return
    nb = json.loads(s.read("s.ipynb"))
    texts = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for o in cell["outputs"]:
            if o["output_type"] == "stream":
                texts.setdefault(o["name"], []).append("".join(o["text"]))
    out = "".join(texts.get("stdout", []))
    err = "".join(texts.get("stderr", []))
    check("notebook: progress shows its last state", out.startswith("4\n") and "[###] 3\n" in out, repr(out))
    check("notebook: \\r\\n and \\b applied", "crlf-a\ncrlf-b\n" in out and "bs:aX\n" in out
          and "bs-utf8:nz\n" in out, repr(out))
    check("notebook: NUL and colour codes kept as Jupyter keeps them",
          "nul:<\x00>" in out and "\x1b[1;31mred\x1b[0m" in out and "errnul:<\x00>" in err, repr(out + err))
    check("notebook: stderr stream processed too", err.startswith("100%\n"), repr(err))
    check("notebook: no \\r left in any stream", "\r" not in out + err, repr(out + err))
    s.cleanup()


def test_kernel_streams():
    """Through a Jupyter kernel (--kernel python3) the same rules hold, and a NUL
    no longer drops the kernel's stream message (and all text in it)."""
    has = subprocess.run(["/usr/bin/python3", "-c", "import ipykernel"], capture_output=True).returncode == 0
    if not has:
        skip("kernel: streams as Jupyter shows them", "ipykernel not installed for /usr/bin/python3")
        return
    s = Scratch()
    s.file("s.pmd", STREAMS)
    r = weft("-q", "--kernel", "python3", "-f", "markdown", "-o", "s.md", "s.pmd", cwd=s.path, timeout=180)
    body = s.read("s.md") if os.path.exists(os.path.join(s.path, "s.md")) else ""
    missing = [w for w in SHOWN if w not in body]
    check("kernel: streams as Jupyter shows them, NUL kept", r.returncode == 0 and not missing,
          f"missing {missing!r}; stderr {r.stderr}\n{body}")
    check("kernel: no message dropped", "dropped a message" not in r.stderr, r.stderr)
    s.cleanup()


def test_latex_compiles():
    """The tex report of control bytes compiles with pdflatex."""
    if not shutil.which("pdflatex"):
        skip("tex report compiles", "pdflatex not installed")
        return
    s = Scratch()
    s.file("s.pmd", STREAMS)
    r = weft("-q", "--no-cache", "-f", "tex", "-o", "body.tex", "s.pmd", cwd=s.path)
    if not check("tex: renders for pdflatex", r.returncode == 0, r.stderr):
        return
    s.file("main.tex", "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\begin{document}\n"
           "\\input{body.tex}\n\\end{document}\n")
    p = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex"], cwd=s.path,
                       capture_output=True, text=True, errors="replace", timeout=120)
    check("tex: pdflatex compiles the report", p.returncode == 0 and os.path.exists(os.path.join(s.path, "main.pdf")),
          p.stdout[-1500:])
    s.cleanup()


LONG_PATH = "/tmp/weft-no-such-dir/a-long-hyphenated-folder-name/with-more-parts/data-file-2026.csv"
WRAP = f'''Wrapping.

```python prose
print("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma")
```

```python path
print("reading {LONG_PATH} now")
```

```python raised, error=True
open("{LONG_PATH}")
```

```python printed
import sys, traceback
def load(path):
    return open(path)
try:
    load("{LONG_PATH}")
except OSError:
    traceback.print_exc(file=sys.stdout)
print("after the traceback, this long line of ordinary words is wrapped at seventy columns")
```

```python nowrap, wrap=False
print("omega beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma")
```
'''


def block_after(text, marker):
    """The first output block (``` fenced) after the code block containing `marker`."""
    i = text.index(marker)
    i = text.index("```\n", text.index("```\n", i) + 4)  # end of the code block, then the output's fence
    j = text.index("```", i + 4)
    return text[i + 4:j]


def test_wrapping():
    s = Scratch()
    s.file("w.pmd", WRAP)
    r = weft("-q", "--no-cache", "-f", "markdown", "-o", "w.md", "w.pmd", cwd=s.path)
    if not check("wrap: renders", r.returncode == 0, r.stderr):
        return
    md = s.read("w.md")
    prose = block_after(md, 'print("alpha')
    check("wrap: prose wrapped at spaces within 70 columns",
          prose.split("\n")[0] == "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu"
          and max(len(x) for x in prose.splitlines()) <= 70, prose)
    path = block_after(md, 'print("reading')
    check("wrap: a hyphenated path is never broken", LONG_PATH in path, path)
    raised = block_after(md, f'open("{LONG_PATH}")')
    lines = raised.splitlines()
    check("wrap: a raised traceback keeps every line whole",
          any(ln.strip() == f'open("{LONG_PATH}")' for ln in lines)
          and any(ln.startswith("FileNotFoundError:") and ln.endswith(f"'{LONG_PATH}'") for ln in lines)
          and any(re.match(r'  File "w\.pmd", line 12, in <module>$', ln) for ln in lines), raised)
    printed = block_after(md, "import sys, traceback")
    plines = printed.splitlines()
    check("wrap: a printed traceback keeps every line whole",
          plines[0] == "Traceback (most recent call last):"
          and any(ln.strip() == f'load("{LONG_PATH}")' for ln in plines)
          and any(ln.endswith(f"'{LONG_PATH}'") and ln.startswith("FileNotFoundError") for ln in plines), printed)
    check("wrap: text after a printed traceback is wrapped again",
          "after the traceback, this long line of ordinary words is wrapped at\nseventy columns" in printed,
          printed)
    nowrap = block_after(md, 'print("omega')
    check("wrap: wrap=False keeps the long line", "lambda mu nu xi omicron pi rho sigma" in nowrap
          and len(nowrap.strip().splitlines()) == 1, nowrap)
    s.cleanup()


PWEAVE_DOC = '''Where Pweave is right.

```python
print("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau")
print("short line")
x = [1, 2, 3]
x
```
'''


def test_pweave_agrees():
    """Output without control bytes or hyphens: weft's Markdown is Pweave's, wrap included."""
    pweave = shutil.which("pweave")
    if not pweave:
        skip("Pweave agrees on plain output and prose wrapping", "pweave not installed")
        return
    s = Scratch()
    s.file("p.pmd", PWEAVE_DOC)
    os.makedirs(os.path.join(s.path, "pw"))
    s.file("pw/p.pmd", PWEAVE_DOC)
    p = subprocess.run([pweave, "-f", "markdown", "p.pmd"], cwd=os.path.join(s.path, "pw"),
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0 or not os.path.exists(os.path.join(s.path, "pw", "p.md")):
        skip("Pweave agrees on plain output and prose wrapping", "pweave could not run: " + p.stderr[-200:])
        return
    r = weft("-q", "--no-cache", "-f", "markdown", "-o", "p.md", "p.pmd", cwd=s.path)
    mine, theirs = s.read("p.md"), s.read("pw/p.md")
    check("Pweave agrees on plain output and prose wrapping", r.returncode == 0 and mine == theirs,
          f"weft:\n{mine}\npweave:\n{theirs}")
    s.cleanup()


INDENTED = '''Pasted from inside a class.

```python pasted
    # a method's body
    def area(w=2, h=3):
        return w * h

    total = area()
    print("total", total)
```

```python comment_above
  # an indented comment above unindented code: the code is what counts
if True:
  print("kept as written")
```

```python raises, error=True
    a = 1
    b = a / 0
```

```python term, term=True
    c = total + 1
    print("\\r1\\r2")
    c
```
'''


def test_indented_first_line():
    s = Scratch()
    s.file("i.pmd", INDENTED)
    r = weft("-q", "--no-cache", "-f", "markdown", "-o", "i.md", "i.pmd", cwd=s.path)
    md = s.read("i.md") if os.path.exists(os.path.join(s.path, "i.md")) else ""
    check("indented: renders, exit 0", r.returncode == 0, r.stderr)
    check("indented: the dedented chunk runs", "total 6" in md and "IndentationError" not in md, md)
    check("indented: the code is shown as written", "    def area(w=2, h=3):\n        return w * h" in md, md)
    check("indented: an indented comment does not break unindented code", "kept as written" in md, md)
    check("indented: traceback on document lines",
          re.search(r'File "i\.pmd", line 20, in <module>\n    b = a / 0\n', md) is not None, md)
    check("indented: term mode, its stream under the console rules",
          '>>> c = total + 1\n>>> print("\\r1\\r2")\n2\n>>> c\n7' in md, md)
    s.cleanup()


def test_syntax_error_quotes_its_line():
    """A SyntaxError quotes the chunk's line with the caret where Python puts it
    (CPython used to read the line of the document file at the chunk-relative number)."""
    s = Scratch()
    s.file("e.pmd", "Title line\n\n```python error=True\nx = 1\ny = = 2\n```\n\n"
           "```python error=True\n    a = 1\n  b = 2\n```\n")
    weft("-q", "--no-cache", "-f", "markdown", "-o", "e.md", "e.pmd", cwd=s.path)
    md = s.read("e.md") if os.path.exists(os.path.join(s.path, "e.md")) else ""
    check("syntax error: its own line and caret",
          '  File "e.pmd", line 5\n    y = = 2\n        ^\nSyntaxError: invalid syntax' in md, md)
    check("indentation error in a dedented chunk: its own line",
          '  File "e.pmd", line 10\n    b = 2\nIndentationError: unexpected indent' in md, md)
    s.cleanup()


def noweb(*parts):
    """A noweb document whose chunks keep their code exactly (indentation included)."""
    return "\n".join(f"Text before {name}.\n\n<<{name}>>=\n{code}@\n" for name, code in parts)


PROGRESS = ("progress", 'import sys\nfor i in range(4):\n    print(f"\\r{i}", end="", flush=True)\n'
            'print("\\nnul:\\x00 esc:\\x1b[32mgreen\\x1b[0m")\nsys.stderr.write("50%\\r100%\\n")\n')
PASTED = ("pasted", "    def twice(v):\n        return 2 * v\n    base = twice(21)\n    print(base)\n")
PASTED2 = ("pasted", "    def twice(v):\n        return 2 * v\n    base = twice(22)\n    print(base)\n")
RAISES = ("raises, error=True", "    import os\n    os.stat('/no/such-dir/with-a-long-hyphenated-name/x.csv')\n")


def test_cache_soundness():
    run_scenario("streams and an indented chunk: cached == --no-cache", [
        Step(noweb(PROGRESS, PASTED, ("use", "print(base + 1)\n")), {"progress", "pasted", "use"}),
        Step(noweb(PROGRESS, PASTED, ("use", "print(base + 2)\n")), {"use"},
             note="the reader re-runs, progress output and the dedented chunk from the cache"),
        Step(noweb(PROGRESS, PASTED2, ("use", "print(base + 2)\n")), {"pasted", "use"},
             note="edit inside the indented chunk"),
        Step(noweb(("top", "x = 0\n"), PROGRESS, PASTED2, ("use", "print(base + 2)\n")), None,
             note="a chunk inserted above shifts every line"),
        Step(noweb(("top", "x = 0\n"), PROGRESS, PASTED2, RAISES, ("use", "print(base + 2)\n")), None,
             note="an indented chunk that raises: traceback lines match"),
        Step(noweb(("top", "x = 0\n"), PROGRESS, PASTED2, RAISES, ("use", "print(base + 2)\n")), {"raises"},
             note="nothing changed: only the chunk that raised runs (it has no entry)"),
        Step(noweb(("top", "x = 0\n"), PROGRESS, PASTED2, ("use", "print(base + 2)\n")), set(),
             note="the raising chunk removed: nothing runs, Python not started", no_python=True),
    ])


def test_inline_control_bytes():
    """An inline value holding NUL or a colour code: kept visibly in every format, never cut off."""
    s = Scratch()
    try:
        s.file("nul.pmd", 'Inline <%= "a\\x00b\\x1b[31mred" %> done.\n')
        for fmt, ext in (("markdown", "md"), ("md2html", "html"), ("tex", "tex"), ("rst", "rst"),
                         ("notebook", "ipynb")):
            r = weft("-q", "-f", fmt, "-o", f"nul.{ext}", "nul.pmd", cwd=s.path)
            out = s.read(f"nul.{ext}") if r.returncode == 0 else ""
            check(f"inline value with NUL and ESC ({fmt}): whole, no raw control byte",
                  r.returncode == 0 and "\\x00bred done" in out.replace("\\\\", "\\")
                  and "\x00" not in out and "\x1b" not in out, r.stderr + repr(out[-300:]))
    finally:
        s.cleanup()


test_streams_every_format()
test_streams_notebook()
test_kernel_streams()
test_latex_compiles()
test_wrapping()
test_pweave_agrees()
test_indented_first_line()
test_syntax_error_quotes_its_line()
test_cache_soundness()
test_inline_control_bytes()
finish()
