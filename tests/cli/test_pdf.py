"""PDF reports (issue 10): the md2latex and pdf formats and `weft publish -f pdf`,
compiled by the TeX engines installed (lualatex, pdflatex, xelatex), checked
through `pdftotext -layout`: the °C of the example under every engine, long
code and output lines wrapped with nothing clipped, headings, footnotes, a
figure caption "Figure 1" and a resolved \\ref (no "??": LaTeX was re-run),
nothing left beside the report or in $TMPDIR, a LaTeX error reported with
exit 1 and no PDF, every compat document compiled. Page images of the first
pages go to build/test-artifacts/pdf (pdftoppm -r 50).

Without any TeX engine or pdftotext every check is reported skipped, loudly."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from weftlib import (BUILD, COMPAT, TOP, Scratch, check, compat_missing, finish, skip,  # noqa: E402
                     weft)

ENGINES = [e for e in ("lualatex", "pdflatex", "xelatex") if shutil.which(e)]
ART = os.path.join(TOP, BUILD, "test-artifacts", "pdf")


def pdf_text(path):
    """The PDF's text as pdftotext -layout gives it."""
    r = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True)
    return r.stdout


def squeezed(text):
    """The text without white space and continuation marks: a wrapped line joined again."""
    return re.sub(r"[\s↪→]|,→", "", text)


def keep_pages(pdf, name):
    """Page images of the first two pages, kept for a look (not compared)."""
    os.makedirs(ART, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "2", pdf,
                    os.path.join(ART, name)], capture_output=True)


def is_pdf(path):
    try:
        with open(path, "rb") as f:
            return f.read(5) == b"%PDF-"
    except OSError:
        return False


def leftovers(folder, allowed):
    """Files beside the report that are not expected (LaTeX's .aux, .log, .tex ...)."""
    return sorted(set(os.listdir(folder)) - set(allowed))


if not ENGINES or not shutil.which("pdftotext"):
    why = ("no TeX engine (lualatex, pdflatex, xelatex) installed" if not ENGINES
           else "pdftotext (poppler-utils) is not installed")
    print(f"# SKIPPING every PDF check: {why}", flush=True)
    skip("PDF reports", why)
    finish()

s = Scratch()
tmpdir = os.path.join(s.path, "tmp")  # LaTeX's private folders are made here: checked empty
os.makedirs(tmpdir)
ENV = {"TMPDIR": tmpdir}
try:
    # --- the shipped example under every engine ------------------------------------------
    ex = os.path.join(s.path, "examples")
    shutil.copytree(os.path.join(TOP, "examples"), ex)
    for engine in ENGINES:
        out = f"analysis-{engine}.pdf"
        r = weft("-q", "-f", "pdf", "--latex-engine", engine, "-o", out, "analysis.pmd", cwd=ex,
                 env=ENV)
        if not check(f"{engine}: analysis.pmd compiles to a PDF",
                     r.returncode == 0 and is_pdf(os.path.join(ex, out)), r.stderr):
            continue
        keep_pages(os.path.join(ex, out), f"analysis-{engine}")
        text = pdf_text(os.path.join(ex, out))
        check(f"{engine}: the °C of the example (UTF-8 in prose, code and output)",
              text.count("°C") >= 5, text[:2000])
        check(f"{engine}: headings", "Fitting the annual cycle" in text and "The cycles" in text,
              text[:2000])
        check(f"{engine}: the figure caption is numbered",
              "Figure 1: Monthly normals (dots)" in text, text)
        check(f"{engine}: the long code line's tail is there (wrapped, not clipped)",
              '"residualsd(°C)":round(resid.std(),2)})' in squeezed(text), text)
        check(f"{engine}: no visible-space marks", "␣" not in text, text[:2000])
    check("nothing left beside the reports (no .aux, .log, .tex)",
          not [f for f in os.listdir(ex) if re.search(r"\.(aux|log|tex|out)$", f)], os.listdir(ex))

    # --- wrapping: code, output, a token longer than a line --------------------------------
    long_code = "value = compute(" + " ".join(f"'argument_{i}'," for i in range(20)) + " 'TAILCODE')"
    s.file("wrap/w.pmd", "# Wrapping\n\n```python\ndef compute(*a):\n    return len(a)\n"
           f"{long_code}\nprint('x' * 150 + 'TAILOUT')\n"
           "token = '" + "y" * 140 + "TAILTOKEN'\nprint(token)\n```\n")
    wrap = os.path.join(s.path, "wrap")
    for engine in ENGINES:
        out = f"w-{engine}.pdf"
        r = weft("-q", "-f", "pdf", "--latex-engine", engine, "-o", out, "w.pmd", cwd=wrap, env=ENV)
        if not check(f"{engine}: a document of long lines compiles",
                     r.returncode == 0 and is_pdf(os.path.join(wrap, out)), r.stderr):
            continue
        text = pdf_text(os.path.join(wrap, out))
        flat = squeezed(text)
        check(f"{engine}: a long code line is all there", squeezed(long_code) in flat, text)
        check(f"{engine}: a long output line without spaces is all there",
              "x" * 150 + "TAILOUT" in flat, text)
        check(f"{engine}: a string token longer than a line is all there, in code and output",
              "token='" + "y" * 140 + "TAILTOKEN'" in flat and
              flat.count("y" * 140 + "TAILTOKEN") == 2, text)
        check(f"{engine}: the continued lines carry the mark", "→" in text or "↪" in text, text)
        widths = [len(line.rstrip()) for line in text.splitlines()]
        check(f"{engine}: no line runs past the page (pdftotext columns)", max(widths) < 130,
              max(widths))
        if engine == ENGINES[0]:
            keep_pages(os.path.join(wrap, out), "wrap")

    # --- DataFrames: booktabs tables built from their data, a long one over pages ------------
    s.file("frames/f.pmd", "# Frames\n\n```python\nimport pandas as pd\n"
           "df = pd.DataFrame({'city': ['Oslo', 'Lima', 'Perth'], 'temp': [-3.25, 18.5, 24.75],"
           " 'unit': ['°C', '°C', '°C']})\ndf\n```\n\n"
           "```python\nlong = pd.DataFrame({'n': range(45), 'sq': [i * i for i in range(45)]})\n"
           "long\n```\n")
    frames = os.path.join(s.path, "frames")
    for engine in ENGINES:
        out = f"f-{engine}.pdf"
        r = weft("-q", "-f", "pdf", "--latex-engine", engine, "-o", out, "f.pmd", cwd=frames,
                 env=ENV)
        if not check(f"{engine}: a document of DataFrames compiles",
                     r.returncode == 0 and is_pdf(os.path.join(frames, out)), r.stderr):
            continue
        text = pdf_text(os.path.join(frames, out))
        rows = [line.split() for line in text.splitlines()]
        check(f"{engine}: a DataFrame row is one line, its cells in order",
              ["1", "Lima", "18.50", "°C"] in rows and ["city", "temp", "unit"] in rows, text)
        check(f"{engine}: a 45-row DataFrame is all there, over pages (longtable)",
              ["0", "0", "0"] in rows and ["44", "44", "1936"] in rows and
              text.count("\f") >= 1, text)
        if engine == ENGINES[0]:
            keep_pages(os.path.join(frames, out), "frames")

    # --- prose: footnotes, tables, figure references, images, raw LaTeX, raw HTML ----------
    md = os.path.join(ex, "markdown.pmd")
    r = weft("-q", "-f", "pdf", "--keep-tex", "markdown.pmd", cwd=ex, env=ENV)
    if check("markdown.pmd compiles (--keep-tex)", r.returncode == 0 and
             is_pdf(os.path.join(ex, "markdown.pdf")), r.stderr):
        keep_pages(os.path.join(ex, "markdown.pdf"), "markdown")
        text = pdf_text(os.path.join(ex, "markdown.pdf"))
        check("@fig-growth became \\ref, resolved by a rerun (no ??)",
              "Figure 1 shows the doubling" in text and "??" not in text, text)
        check("the caption reads Figure 1 with its math", re.search(r"Figure 1: Growth of 2\s*n", text),
              text)
        check("footnotes are footnotes", "pandoc’s rule: an opening $ needs" in text and
              re.search(r"^\s*1\s*$", text, re.M), text)
        check("dollars that are prices stay dollars, math is math",
              "costs $3 and" in text and "sandwich $7" in text and "$HOME" in text, text)
        check("the GFM table row on one line", re.search(r"coast\s+12\s+14\.2", text), text)
        tex = open(os.path.join(ex, "markdown.tex"), encoding="utf-8").read()
        check("--keep-tex writes the LaTeX beside the report", "\\documentclass" in tex, tex[:300])
        check("table columns keep their alignment (booktabs)",
              "\\begin{tabular}{@{}lcr@{}}" in tex and "\\toprule" in tex, tex)
        check("the local image is included", "\\includegraphics[width=\\weftmaxwidth]{data/swatch.png}"
              in tex, tex)
        check("pdflatex, xelatex, lualatex preamble: fontspec or inputenc+T1+lmodern+textcomp",
              all(p in tex for p in ("\\usepackage{fontspec}", "\\usepackage[utf8]{inputenc}",
                                      "\\usepackage[T1]{fontenc}", "\\usepackage{lmodern}",
                                      "\\usepackage{textcomp}", "\\usepackage{booktabs}")), tex[:1500])
        texdir = os.path.join(s.path, "kept")
        os.makedirs(texdir)
        shutil.copy(os.path.join(ex, "markdown.tex"), texdir)
        shutil.copytree(os.path.join(ex, "figures"), os.path.join(texdir, "figures"))
        shutil.copytree(os.path.join(ex, "data"), os.path.join(texdir, "data"))
        c = subprocess.run([ENGINES[0], "-interaction=nonstopmode", "-halt-on-error", "markdown.tex"],
                           cwd=texdir, capture_output=True, text=True)
        check("the kept LaTeX compiles on its own", c.returncode == 0, c.stdout[-1500:])

    s.file("prose/p.pmd", "---\ntitle: Prose & more\nauthor: A. Writer\ndate: 2024-05-01\n---\n\n"
           "Some <span>inline</span> HTML.\n\n<div class=\"x\">\nblock html\n</div>\n\n"
           "A link to [weft](https://example.org/a_b#c%20d) and `code_with_$_and_\\`.\n\n"
           "\\begin{tabular}{ll}\nraw & centred \\\\ here & too\n\\end{tabular}\n\n"
           "Raw \\textbf{bold} command and 50% of 5_000 #1 items.\n\n"
           "- one\n- two\n\n3. three\n4. four\n\n> quoted\n\n"
           "$$\nx =\n  \\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}\n$$\n=\n\n"
           "Twice[^n] noted[^n].\n\n[^n]: The note.\n")
    pdir = os.path.join(s.path, "prose")
    r = weft("-q", "-f", "pdf", "--keep-tex", "p.pmd", cwd=pdir, env=ENV)
    if check("prose features compile", r.returncode == 0 and is_pdf(os.path.join(pdir, "p.pdf")),
             r.stderr):
        keep_pages(os.path.join(pdir, "p.pdf"), "prose")
        text = pdf_text(os.path.join(pdir, "p.pdf"))
        check("raw HTML is dropped with a warning naming file:line",
              "p.pmd:7: raw HTML dropped" in r.stderr and "p.pmd:9: raw HTML dropped" in r.stderr
              and "<span>" not in text and "block html" not in text, r.stderr + text)
        check("title, author and date from the front matter",
              "Prose & more" in text and "A. Writer" in text and "2024-05-01" in text, text[:500])
        check("special characters are text", "50% of 5_000 #1 items" in text and
              "code_with_$_and_\\" in text, text)
        check("raw LaTeX passes through (environment and command)",
              re.search(r"raw\s+centred", text) and "raw & centred" not in text and "bold" in text and
              "\\textbf" not in text, text)
        check("lists, quote and multi-line display math", "one" in text and "three" in text and
              "quoted" in text, text)
        tex = open(os.path.join(pdir, "p.tex"), encoding="utf-8").read()
        check("a link is \\href with its URL escaped",
              "\\href{https://example.org/a_b\\#c\\%20d}{weft}" in tex, tex)
        check("a numbered list keeps its start", "\\setcounter{enumi}{2}" in tex, tex)
        check("a footnote referred to twice: \\footnote then \\footnotemark",
              "\\footnote{The note.}" in tex and "\\footnotemark[1]" in tex, tex)

    # --- the tour, and publish -------------------------------------------------------------
    tour = os.path.join(ex, "tour")
    r = weft("publish", "-q", "-f", "pdf", "report.pmd", cwd=tour, env=ENV)
    if check("publish -f pdf: the tour", r.returncode == 0 and is_pdf(os.path.join(tour, "report.pdf")),
             r.stderr):
        keep_pages(os.path.join(tour, "report.pdf"), "tour")
        text = pdf_text(os.path.join(tour, "report.pdf"))
        check("the tour's caption and inline total", "Figure 1: Monthly totals" in text and
              "Total: 12 units." in text, text)
        check("publish leaves only the PDF and its figures",
              leftovers(tour, ["report.pmd", "sales.csv", "report.pdf", "figures", ".weft-cache"]) == [],
              os.listdir(tour))


    # a notebook: its markdown cells are the prose
    r = weft("convert", "-f", "notebook", "-o", "nb.ipynb", "report.pmd", cwd=tour)
    r2 = weft("-q", "-f", "pdf", "nb.ipynb", cwd=tour, env=ENV)
    if check("a notebook compiles to a PDF", r.returncode == 0 and r2.returncode == 0 and
             is_pdf(os.path.join(tour, "nb.pdf")), r.stderr + r2.stderr):
        text = pdf_text(os.path.join(tour, "nb.pdf"))
        check("the notebook's markdown and figure caption", "Total: 12 units." in text and
              "Figure 1: Monthly totals" in text, text)

    # --- the cache's contract holds for PDFs -----------------------------------------------
    a, b = os.path.join(s.path, "ca"), os.path.join(s.path, "cb")
    shutil.copytree(os.path.join(TOP, "examples", "tour"), a)
    shutil.copytree(os.path.join(TOP, "examples", "tour"), b)
    weft("-q", "-f", "pdf", "report.pmd", cwd=a, env=ENV)
    r1 = weft("-f", "pdf", "report.pmd", cwd=a, env=ENV)
    r2 = weft("-q", "--no-cache", "-f", "pdf", "report.pmd", cwd=b, env=ENV)
    with open(os.path.join(a, "report.pdf"), "rb") as f1, open(os.path.join(b, "report.pdf"), "rb") as f2:
        same = f1.read() == f2.read()
    check("a cached PDF render is byte-identical to a --no-cache one",
          r1.returncode == 0 and r2.returncode == 0 and "2 cached" in r1.stderr and same,
          r1.stderr + r2.stderr)

    # --- the engine from the front matter ------------------------------------------------------
    if "pdflatex" in ENGINES:
        s.file("eng/e.pmd", "---\nweft:\n  latex_engine: pdflatex\n---\n\nHello °C.\n")
        r = weft("-q", "-f", "pdf", "e.pmd", cwd=os.path.join(s.path, "eng"), env=ENV)
        with open(os.path.join(s.path, "eng", "e.pdf"), "rb") as f:
            data = f.read()
        check("latex_engine: in the front matter chooses the engine", r.returncode == 0 and
              b"pdfTeX" in data, r.stderr)

    # --- LaTeX errors ------------------------------------------------------------------------
    s.file("bad/bad.pmd", "# Bad\n\nThis \\undefinedmacro fails.\n\n```python\nprint(1)\n```\n")
    bad = os.path.join(s.path, "bad")
    r = weft("-q", "-f", "pdf", "bad.pmd", cwd=bad, env=ENV)
    check("a LaTeX error: exit 1, 'doc: LaTeX failed:' with the first error and its context",
          r.returncode == 1 and "bad.pmd: LaTeX failed: " in r.stderr and
          "Undefined control sequence" in r.stderr and "\\undefinedmacro" in r.stderr, r.stderr)
    check("a LaTeX error leaves no PDF and nothing else beside the document",
          leftovers(bad, ["bad.pmd", ".weft-cache", "figures"]) == [], os.listdir(bad))
    r = weft("-q", "-f", "pdf", "--latex-engine", "no-such-tex", "bad.pmd", cwd=bad, env=ENV)
    check("a missing engine: exit 2 naming it", r.returncode == 2 and "'no-such-tex'" in r.stderr,
          r.stderr)
    r = weft("-q", "-f", "pdf", "-g", "svg", "bad.pmd", cwd=bad, env=ENV)
    check("-g svg for a PDF is refused up front with the fix", r.returncode == 2 and "-g pdf" in r.stderr,
          r.stderr)
    check("no private LaTeX folder is left in $TMPDIR (also after failures)",
          not [f for f in os.listdir(tmpdir) if f.startswith("weft-pdf-")], os.listdir(tmpdir))

    # --- every compat document -----------------------------------------------------------
    why = compat_missing()
    if why:
        skip("compat documents compile to PDF", why)
    else:
        docs = []
        for root, _, files in os.walk(COMPAT):
            for f in files:
                if f.endswith((".pmd", ".mdw", ".Pnw", ".texw")) and "REF" not in f:
                    docs.append(os.path.relpath(os.path.join(root, f), COMPAT))
        corpus = os.path.join(s.path, "compat")
        shutil.copytree(COMPAT, corpus)
        for rel in sorted(docs):
            folder, name = os.path.split(os.path.join(corpus, rel))
            pdf = os.path.splitext(name)[0] + ".pdf"
            r = weft("-q", "--no-cache", "-f", "pdf", name, cwd=folder, env=ENV, timeout=600)
            made = is_pdf(os.path.join(folder, pdf))
            if "minted" in open(os.path.join(folder, name), encoding="utf-8").read():
                # minted runs Pygments through \write18, which weft never allows
                check(f"{rel}: uses minted: a clear LaTeX error, no PDF",
                      r.returncode == 1 and "LaTeX failed" in r.stderr and "minted" in r.stderr
                      and not made, r.stderr)
                continue
            # some compat documents raise on purpose (exit 1): the PDF is still made
            check(f"{rel}: compiles to a PDF", made and "LaTeX failed" not in r.stderr and
                  r.returncode in (0, 1), r.stderr)
            if made:
                keep_pages(os.path.join(folder, pdf), "compat-" + rel.replace("/", "-"))
                text = pdf_text(os.path.join(folder, pdf))
                check(f"{rel}: has text and no unresolved reference", len(text) > 100 and "??" not in
                      text, text[:500])
finally:
    s.cleanup()
finish()
