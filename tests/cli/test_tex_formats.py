"""Issue 10 (reports people publish), the LaTeX part: the LaTeX formats define
what they use, and a pandas DataFrame is a real table built from its data.

  * texpygments carries Pygments' style definitions (\\PY...) and texpweave its
    pweavecode/pweaveout environments, before \\begin{document} of the
    document's own preamble (packages it loads already are not loaded
    again), so Pweave's .texw documents and ours compile with pdflatex,
    lualatex (and xelatex for texpygments); a fragment gets them at the top,
    its packages as a comment;
  * a DataFrame (a MultiIndex one, a long truncated one) and a Series are a
    booktabs tabular in the LaTeX formats: pdftotext -layout of the PDF shows
    a row on one line with its cells in order; a pipe table in the
    pandoc/markdown formats; a list-table in rst; never the private MIME in a
    notebook or an HTML page;
  * malformed table data (a hostile display) is an error naming the chunk;
  * a cached render of the DataFrame document equals --no-cache in every
    format this touches.
"""

import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import COMPAT, Scratch, check, compat_missing, finish, skip, weft  # noqa: E402

MIME = "application/vnd.weft.table+json"
ENGINES = [e for e in ("pdflatex", "lualatex", "xelatex") if shutil.which(e)]
PDFTOTEXT = shutil.which("pdftotext")

FRAMES = r'''\documentclass{article}
\usepackage{graphicx}
\begin{document}
\section{Tables}

<<cities>>=
import pandas as pd
import numpy as np
df = pd.DataFrame({"city": ["Oslo", "Lima & Co", "a_b"], "temp": [3.5, 18.25, -1.0],
                   "rain": [120, 7, 33], "wet": [True, False, True]})
df
@

<<multi>>=
cols = pd.MultiIndex.from_product([["North", "South"], ["min", "max"]], names=["zone", "stat"])
idx = pd.MultiIndex.from_product([["y2023", "y2024"], ["Q1", "Q2"]], names=["year", "quarter"])
pd.DataFrame(np.arange(16).reshape(4, 4) * 11, index=idx, columns=cols)
@

<<long>>=
big = pd.DataFrame({"n": range(200), "square": [i * i for i in range(200)]})
big
@

<<series>>=
pd.Series([0.5, 1.5, 2.5], index=["p", "q", "r"], name="share")
@

<<tall>>=
pd.set_option("display.max_rows", 100)
tall = pd.DataFrame({"k": range(80), "half": [i / 2 for i in range(80)]})
tall
@

Done: <%= len(big) %> rows.
\end{document}
'''


def weave(s, doc, fmt, out, *extra):
    """weft -f fmt -o out doc in scratch s; (CompletedProcess, text or None)."""
    r = weft("-q", *extra, "-f", fmt, "-o", out, doc, cwd=s.path)
    path = os.path.join(s.path, out)
    return r, (open(path, encoding="utf-8").read() if os.path.exists(path) else None)


def compile_tex(folder, tex_name, engine):
    """Compile folder/tex_name with engine in a temporary copy; (ok, log tail, pdftotext -layout text)."""
    tmp = Scratch()
    for name in os.listdir(folder):
        src = os.path.join(folder, name)
        if name.endswith(".tex") or name == "figures":
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(tmp.path, name))
    p = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", tex_name], cwd=tmp.path,
                       capture_output=True, text=True, errors="replace", timeout=300)
    pdf = os.path.join(tmp.path, tex_name[:-4] + ".pdf")
    ok = p.returncode == 0 and os.path.exists(pdf)
    text = ""
    if ok and PDFTOTEXT:
        text = subprocess.run([PDFTOTEXT, "-layout", pdf, "-"], capture_output=True, text=True,
                              errors="replace").stdout
    tmp.cleanup()
    return ok, p.stdout[-1500:], text


def has_row(text, cells):
    """True when a line of text holds exactly `cells` (whitespace-separated words), in order."""
    return any(line.split() == cells for line in text.splitlines())


ROWS = [
    ["1", "Lima", "&", "Co", "18.25", "7", "False"],      # escaped & and a number column
    ["2", "a_b", "-1.00", "33", "True"],                   # escaped _ (pdflatex: see below)
    ["y2024", "Q1", "88", "99", "110", "121"],             # MultiIndex: the level shown once
    ["Q2", "132", "143", "154", "165"],                    # ... then left blank
    ["199", "199", "39601"],                               # the tail of a truncated frame
    ["...", "...", "..."],                                 # pandas' truncation row
    ["q", "1.5"],                                          # a Series
    ["40", "40", "20.0"],                                  # a longtable, shown whole...
    ["79", "79", "39.5"],                                  # ... across pages
]


def test_dataframes_compile():
    """Each LaTeX format of the DataFrame document compiles; rows read on one line."""
    s = Scratch()
    s.file("frames.texw", FRAMES)
    for fmt in ("texpygments", "texpweave", "tex"):
        r, tex = weave(s, "frames.texw", fmt, f"{fmt}.tex", "--no-cache")
        if not check(f"{fmt}: DataFrame document renders", r.returncode == 0 and tex is not None, r.stderr):
            continue
        check(f"{fmt}: booktabs tables (a longtable past 30 rows), booktabs and longtable loaded in the preamble",
              tex.count("\\toprule") == 5 and tex.count("\\bottomrule") == 5 and
              tex.count("\\begin{longtable}") == 1 and "\\endhead\n" in tex and
              tex.index("\\usepackage{booktabs}") < tex.index("\\begin{document}") and
              tex.index("\\usepackage{longtable}") < tex.index("\\begin{document}"), tex[:3000])
        check(f"{fmt}: cells escaped, number columns right-aligned, index bold",
              "Lima \\& Co" in tex and "a\\_b" in tex and "\\begin{tabular}{llrrl}" in tex and
              "\\textbf{y2024}" in tex and "\\multicolumn{2}{c}{North}" in tex, tex[-4000:])
        check(f"{fmt}: no raw HTML, no text dump of the frame", "<table" not in tex and "<td" not in tex and
              "[200 rows x 2 columns]" not in tex)
        for engine in ENGINES if fmt == "texpygments" else ENGINES[:2]:
            ok, log, text = compile_tex(s.path, f"{fmt}.tex", engine)
            if not check(f"{fmt}: {engine} compiles the DataFrame report", ok, log):
                continue
            if not PDFTOTEXT:
                skip(f"{fmt}/{engine}: rows on one line", "pdftotext is not installed")
                continue
            # pdflatex's default OT1 fonts draw \_ as a rule, which pdftotext does not extract
            rows = ROWS if engine != "pdflatex" else [[c.replace("a_b", "ab") for c in r] for r in ROWS]
            missing = [row for row in rows if not has_row(text, row)]
            check(f"{fmt}/{engine}: pdftotext shows each DataFrame row on one line, cells in order",
                  not missing, f"missing {missing}\n{text}")
            check(f"{fmt}/{engine}: the truncated frame's size and the inline value", "200 rows" in text and
                  "Done: 200 rows." in text, text[-1500:])
    if len(ENGINES) < 2:
        skip("DataFrame report compiles with pdflatex and lualatex", f"only {ENGINES} installed")
    s.cleanup()


def test_text_formats():
    """pandoc/markdown: a pipe table; rst: a list-table; notebook and HTML: no private MIME."""
    s = Scratch()
    s.file("frames.texw", FRAMES)
    for fmt in ("pandoc", "markdown"):
        r, md = weave(s, "frames.texw", fmt, f"{fmt}.md", "--no-cache")
        if not check(f"{fmt}: renders", r.returncode == 0 and md is not None, r.stderr):
            continue
        check(f"{fmt}: a pipe table instead of raw HTML",
              "| 1 | Lima & Co | 18.25 | 7 | False |" in md and "|:----|:----|----:|----:|:----|" in md and
              "| 2 | a\\_b | -1.00 | 33 | True |" in md and "<table" not in md, md)
        check(f"{fmt}: column levels joined, truncation kept",
              "| year | quarter | North / min | North / max | South / min | South / max |" in md and
              "| ... | ... | ... |" in md and "\n200 rows × 2 columns\n" in md, md)
    r, rst = weave(s, "frames.texw", "rst", "frames.rst", "--no-cache")
    check("rst: a list-table with its header rows",
          r.returncode == 0 and rst is not None and ".. list-table::\n   :header-rows: 3" in rst and
          "   * - 1\n     - Lima & Co\n     - 18.25\n" in rst, rst)
    r, nb = weave(s, "frames.texw", "notebook", "frames.ipynb", "--no-cache")
    ok = r.returncode == 0 and nb is not None and "vnd.weft" not in nb
    if ok:
        outs = [o for c in json.loads(nb)["cells"] for o in c.get("outputs", [])]
        ok = sum("text/html" in o.get("data", {}) for o in outs) == 4
    check("notebook: no private MIME, text/html kept", ok, (nb or "")[:3000])
    for fmt in ("html", "md2html"):
        r, page = weave(s, "frames.texw", fmt, f"frames-{fmt}.html", "--no-cache")
        check(f"{fmt}: no private MIME, the DataFrame's own HTML",
              r.returncode == 0 and page is not None and "vnd.weft" not in page and
              'class="dataframe"' in page and "version&quot;" not in page, r.stderr)
    s.cleanup()


def test_cached_equals_uncached():
    """Every format touched: a cached render (all chunks cached, then one edited) equals --no-cache."""
    s = Scratch()
    s.file("frames.texw", FRAMES)
    formats = ("texpygments", "texpweave", "tex", "texminted", "pandoc", "markdown", "rst", "notebook")
    cache = os.path.join(s.path, "cache")
    for fmt in formats:
        weave(s, "frames.texw", fmt, f"warm-{fmt}", "--cache", "--cache-dir", cache)
    edited = FRAMES.replace('"square": [i * i', '"square": [i * i + 1')
    for step, text in (("all cached", FRAMES), ("long edited", edited)):
        s.file("frames.texw", text)
        for fmt in formats:
            r1, cached = weave(s, "frames.texw", fmt, f"c-{fmt}", "--cache", "--cache-dir", cache)
            r2, fresh = weave(s, "frames.texw", fmt, f"f-{fmt}", "--no-cache")
            check(f"{fmt}, {step}: cached report identical to --no-cache",
                  cached is not None and cached == fresh and r1.returncode == r2.returncode == 0,
                  f"{r1.stderr}\n{r2.stderr}")
    s.cleanup()


def test_scenario():
    """soundlib's edit sequence on a shown DataFrame (-f markdown: pipe tables): each step's cached
    report equals --no-cache, and showing a frame costs no precision (only the edited chunks run)."""
    make = ("make", "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2], 'w': ['x|y', 'z']})\ndf")
    show = ("show", "df['b'] = df['a'] * 2\ndf")
    other = ("other", "print(len(df))")
    run_scenario("a shown DataFrame, restored and shown again", [
        Step(chunks(make, show, other), {"make", "show", "other"}),
        Step(chunks(make, show, other), set(), note="nothing changed", no_python=True),
        Step(chunks(make, show, ("other", "print(len(df), 'rows')")), {"other"}, note="edit a reader"),
        Step(chunks(make, ("show", "df['b'] = df['a'] * 3\ndf"), ("other", "print(len(df), 'rows')")),
             {"show", "other"}, note="edit the mutating chunk"),
        Step(chunks(make, ("rows", "pd.set_option('display.max_rows', 1)\nprint(1)"),
                    ("show", "df['b'] = df['a'] * 3\ndf"), ("other", "print(len(df), 'rows')")),
             {"rows", "show", "other"}, note="a pandas display option before the shown frame"),
    ])


HOSTILE = '''# Hostile

```python
class T:
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": "t", "%s": {"version": 1, "columns": 3, "header": "x"}}
T()
```
''' % MIME


def test_malformed_table_is_an_error():
    """A display whose table data is malformed: LaTeX/pandoc stop with the chunk named; HTML is unaffected."""
    s = Scratch()
    s.file("bad.pmd", HOSTILE)
    for fmt in ("tex", "pandoc", "rst"):
        r, _ = weave(s, "bad.pmd", fmt, f"bad.{fmt}", "--no-cache")
        check(f"{fmt}: malformed table data is an error naming the chunk, not a crash",
              r.returncode not in (0,) and r.returncode > 0 and "bad.pmd:3" in r.stderr and
              "malformed table data" in r.stderr and "chunk 1" in r.stderr, f"{r.returncode}: {r.stderr}")
    r, page = weave(s, "bad.pmd", "html", "bad.html", "--no-cache")
    check("html: the same document renders (text/plain shown)", r.returncode == 0 and page is not None, r.stderr)
    s.cleanup()


def body(tex):
    """The text after \\begin{document} (what Pweave's reference and weft must share)."""
    return tex[tex.index("\\begin{document}"):] if tex and "\\begin{document}" in tex else tex


def test_compat_documents():
    """Pweave's .texw documents: the tex-family formats compile; the bodies match Pweave's reference."""
    why = compat_missing()
    if why:
        skip("Pweave's .texw documents compile in every LaTeX format", why)
        return
    s = Scratch()
    src = open(os.path.join(COMPAT, "weave/tex/FIR_design_verb.texw"), encoding="utf-8").read()
    # palatino's fonts (texlive-fonts-recommended) are not a dependency: the compiled copy goes without
    s.file("FIR_design_verb.texw", src.replace('window = "hanning"', 'window = "hann"')
           .replace("\\usepackage{palatino}\n", ""))
    ref = open(os.path.join(COMPAT, "weave/tex/FIR_design_verb_REF.tex"), encoding="utf-8").read()
    ref = re.sub(r"\n\\label\{fig:None\}(?=\n)", "", ref.replace('window = "hanning"', 'window = "hann"')
                 .replace("\\usepackage{palatino}\n", ""))
    r = weft("-q", "FIR_design_verb.texw", cwd=s.path)  # .texw: texpygments by default
    tex = open(os.path.join(s.path, "FIR_design_verb.tex"), encoding="utf-8").read() if r.returncode == 0 else ""
    pre = tex[:tex.index("\\begin{document}")] if "\\begin{document}" in tex else ""
    check("FIR (default texpygments): Pygments' style definitions in the preamble, fancyvrb and color "
          "not loaded twice", "\\def\\PY@reset" in pre and "\\usepackage{fancyvrb}" not in pre and
          "\\usepackage{color}" not in pre and "\\PY{" in body(tex), r.stderr + tex[:2000])
    for fmt in ("texpweave", "tex"):
        r, out = weave(s, "FIR_design_verb.texw", fmt, f"fir-{fmt}.tex")
        check(f"FIR ({fmt}): renders", r.returncode == 0 and out is not None, r.stderr)
    fir_tex = open(os.path.join(s.path, "fir-tex.tex"), encoding="utf-8").read()
    check("FIR (tex): nothing added, the report equals Pweave's reference", fir_tex == ref)
    pweave = open(os.path.join(s.path, "fir-texpweave.tex"), encoding="utf-8").read()
    check("FIR (texpweave): both environments defined before \\begin{document}, body as the tex body",
          "\\DefineVerbatimEnvironment{pweavecode}" in pweave.split("\\begin{document}")[0] and
          body(pweave).replace("pweavecode", "verbatim").replace("pweaveout", "verbatim") == body(ref),
          pweave[:1500])
    # (xelatex is left out here: hyperref under xelatex needs the pzdr font of texlive-fonts-recommended)
    for fmt, engines in (("FIR_design_verb.tex", ENGINES[:2]), ("fir-texpweave.tex", ENGINES[:2])):
        for engine in engines:
            ok, log, text = compile_tex(s.path, fmt, engine)
            check(f"{fmt}: {engine} compiles Pweave's FIR document", ok and (not PDFTOTEXT or
                  "FIR filter design" in text), log)

    wrap = open(os.path.join(COMPAT, "weave/texminted/wrap_test.texw"), encoding="utf-8").read()
    s.file("wrap.texw", wrap)
    r, out = weave(s, "wrap.texw", "texminted", "wrap.tex")
    loads = "\\usepackage{minted}" in wrap or "\\usepackage[" in wrap and "]{minted}" in wrap
    check("wrap_test (texminted): minted added only when the document lacks it",
          r.returncode == 0 and out is not None and ("% weft (texminted)" in out) != loads, r.stderr)
    s.cleanup()


def test_fragment():
    """A document without \\begin{document}: definitions at the top, packages as a comment; it compiles
    when \\input by a master document that loads them."""
    s = Scratch()
    s.file("frag.pmd", "Some text.\n\n```python\nprint('hi {there}')\nx = 1\n```\n")
    r, tex = weave(s, "frag.pmd", "texpygments", "frag.tex", "--no-cache")
    ok = r.returncode == 0 and tex is not None
    check("fragment: a commented package list and the style definitions at the top",
          ok and tex.startswith("% weft (texpygments): this fragment needs") and
          "%   \\usepackage{fancyvrb}\n%   \\usepackage{color}\n" in tex and "\\def\\PY@reset" in tex, tex)
    s.file("main.tex", "\\documentclass{article}\n\\usepackage{fancyvrb}\n\\usepackage{color}\n"
           "\\begin{document}\n\\input{frag.tex}\n\\end{document}\n")
    for engine in ENGINES[:2]:
        okc, log, text = compile_tex(s.path, "main.tex", engine)
        check(f"fragment: {engine} compiles a master document that inputs it",
              okc and (not PDFTOTEXT or "hi {there}" in text), log + text)
    # a long frame in a fragment whose master loads booktabs but not longtable: one tabular
    s.file("long.pmd", "```python\nimport pandas as pd\npd.DataFrame({'v': range(40)})\n```\n")
    r, tex = weave(s, "long.pmd", "tex", "long.tex", "--no-cache")
    check("fragment: a long frame is a longtable, both packages named for the master",
          r.returncode == 0 and tex is not None and "\\begin{longtable}" in tex and
          "%   \\usepackage{booktabs}\n%   \\usepackage{longtable}\n" in tex, r.stderr + (tex or "")[:500])
    s.file("main2.tex", "\\documentclass{article}\n\\usepackage{booktabs}\n"
           "\\begin{document}\n\\input{long.tex}\n\\end{document}\n")
    okc, log, text = compile_tex(s.path, "main2.tex", ENGINES[0]) if ENGINES else (False, "no TeX", "")
    check("fragment: without the longtable package the long frame is one tabular and compiles",
          okc and (not PDFTOTEXT or has_row(text, ["39", "39"])), log + text)
    s.cleanup()


test_dataframes_compile()
test_text_formats()
test_cached_equals_uncached()
test_scenario()
test_malformed_table_is_an_error()
test_compat_documents()
test_fragment()
finish()
