"""The command line a Pweave user expects (issue 12): Pweave's flags and
command names, several documents in one command, `weft render DIR`, `-o -`,
and one-line mistakes with suggestions."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from weftlib import WEFT, Scratch, check, finish, skip, weft  # noqa: E402

DOC = "Hello\n\n```python\nx = 6 * 7\nprint(x)\n```\n"
FAILING = "Bad\n\n```python\nraise ValueError('nope')\n```\n"
FIG = ("Fig\n\n```python\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
       "plt.plot([1, 2])\nplt.show()\n```\n")

s = Scratch()
try:
    a = s.file("a.pmd", DOC)
    b = s.file("b.pmd", DOC.replace("6 * 7", "1 + 1"))

    # ---- Pweave's flags, Pweave's meanings ----
    r = weft("-l", cwd=s.path)
    check("-l lists the formats", r.returncode == 0 and "md2html" in r.stdout, r.stderr)
    r = weft("--list-formats", cwd=s.path)
    check("--list-formats lists the formats", r.returncode == 0 and "notebook" in r.stdout, r.stderr)
    r = weft("-f", "markdown", "--figure-directory", "pics", "-m", "a.pmd", cwd=s.path)
    check("--figure-directory and -m accepted", r.returncode == 0, r.stderr)
    r = weft("-f", "markdown", "--cache-directory", "cc", "-c", "a.pmd", cwd=s.path)
    check("--cache-directory and -c: the cache is made there",
          r.returncode == 0 and os.path.isdir(os.path.join(s.path, "cc")), r.stderr)
    r = weft("-f", "markdown", "--cache-directory", "cc", "-d", "a.pmd", cwd=s.path)
    check("-d (documentation mode) re-uses the cached chunk",
          r.returncode == 0 and "1 cached" in r.stderr, r.stderr)
    r = weft("-f", "markdown", "-t", "text/markdown", "-o", "t.md", "a.pmd", cwd=s.path)
    check("-t (mimetype) accepted", r.returncode == 0, r.stderr)
    r = weft("-k", "nosuchkernel", "a.pmd", cwd=s.path)
    check("-k is --kernel", r.returncode != 0 and "nosuchkernel" in r.stderr, r.stderr)

    # -m: no figures, as Pweave's "disable matplotlib"
    s.file("fig.pmd", FIG)
    r = weft("-f", "markdown", "-m", "fig.pmd", cwd=s.path)
    out = s.read("fig.md") if r.returncode == 0 else ""
    check("-m: no figure in the report", r.returncode == 0 and "![" not in out, r.stderr + out)
    r = weft("-f", "markdown", "fig.pmd", cwd=s.path)
    out = s.read("fig.md") if r.returncode == 0 else ""
    check("without -m the figure is there", r.returncode == 0 and "![" in out, r.stderr + out)

    # ---- Pweave's command names ----
    for name in ("pweave", "ptangle", "pypublish", "pweave-convert"):
        os.symlink(WEFT, os.path.join(s.path, name))
    r = subprocess.run(["./pweave", "-f", "markdown", "-o", "pw.md", "a.pmd"], cwd=s.path,
                       capture_output=True, text=True)
    check("called as pweave, weft weaves", r.returncode == 0 and "42" in s.read("pw.md"), r.stderr)
    r = subprocess.run(["./ptangle", "a.pmd"], cwd=s.path, capture_output=True, text=True)
    check("called as ptangle, weft tangles", r.returncode == 0 and "x = 6 * 7" in s.read("a.py"),
          r.stderr)
    r = subprocess.run(["./pweave-convert", "-f", "noweb", "a.pmd"], cwd=s.path,
                       capture_output=True, text=True)
    check("called as pweave-convert, weft converts",
          r.returncode == 0 and os.path.exists(os.path.join(s.path, "a.Pnw")), r.stderr)
    r = subprocess.run(["./pypublish", "--help"], cwd=s.path, capture_output=True, text=True)
    check("called as pypublish, weft publishes", r.returncode == 0 and "publish" in r.stdout, r.stderr)
    r = subprocess.run(["./pweave", "--version"], cwd=s.path, capture_output=True, text=True)
    check("pweave --version", r.returncode == 0 and r.stdout.startswith("weft "), r.stdout)

    # ---- several documents ----
    r = weft("-f", "markdown", "a.pmd", "b.pmd", cwd=s.path)
    lines = r.stderr.splitlines()
    check("two documents: both written, one line each and a total",
          r.returncode == 0 and os.path.exists(os.path.join(s.path, "b.md"))
          and any(ln.startswith("weft: ok a.pmd") for ln in lines)
          and any(ln.startswith("weft: ok b.pmd") for ln in lines)
          and any("2 documents: 2 ok, 0 failed" in ln for ln in lines), r.stderr)
    s.file("bad.pmd", FAILING)
    r = weft("-f", "markdown", "a.pmd", "bad.pmd", "b.pmd", cwd=s.path)
    check("one failing document among three: the others are written, exit 1",
          r.returncode == 1 and "FAILED bad.pmd" in r.stderr and "3 documents: 2 ok, 1 failed" in r.stderr,
          r.stderr)
    r = weft("-f", "markdown", "a.pmd", "missing.pmd", cwd=s.path)
    check("an unreadable document among several: exit 2, the other written",
          r.returncode == 2 and "FAILED missing.pmd" in r.stderr and "1 ok, 1 failed" in r.stderr, r.stderr)
    os.remove(os.path.join(s.path, "a.md"))
    r = weft("-f", "markdown", "-j", "2", "a.pmd", "bad.pmd", "b.pmd", cwd=s.path)
    check("-j 2: every document rendered, the worst status",
          r.returncode == 1 and os.path.exists(os.path.join(s.path, "a.md"))
          and "3 documents: 2 ok, 1 failed" in r.stderr, r.stderr)
    r = weft("-o", "x.md", "a.pmd", "b.pmd", cwd=s.path)
    check("-o with several documents is refused in one line",
          r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr)

    # ---- weft render DIR ----
    s.file("book/ch1.pmd", DOC)
    s.file("book/part/ch2.Pnw", "Two\n\n<<>>=\nprint(3)\n@\n")
    s.file("book/notes.txt", "not a document")
    s.file("book/.hidden/h.pmd", DOC)
    r = weft("render", "-f", "markdown", "book", cwd=s.path)
    check("render DIR: every document below it, hidden folders left out",
          r.returncode == 0 and "2 documents: 2 ok" in r.stderr
          and os.path.exists(os.path.join(s.path, "book/part/ch2.md"))
          and not os.path.exists(os.path.join(s.path, "book/.hidden/h.md")), r.stderr)
    s.file("book2/_weft.yml", "documents:\n  - second.pmd\n  - first.pmd\n")
    s.file("book2/first.pmd", DOC)
    s.file("book2/second.pmd", DOC)
    s.file("book2/unlisted.pmd", DOC)
    r = weft("render", "-f", "markdown", "book2", cwd=s.path)
    order = [ln for ln in r.stderr.splitlines() if ln.startswith("weft: ok")]
    check("render DIR with _weft.yml: its list, in its order",
          r.returncode == 0 and len(order) == 2 and "second.pmd" in order[0]
          and not os.path.exists(os.path.join(s.path, "book2/unlisted.md")), r.stderr)
    s.file("book3/_weft.yml", "documents: nope\n")
    r = weft("render", "book3", cwd=s.path)
    check("a bad _weft.yml: one line naming the file and line",
          r.returncode == 2 and "_weft.yml:1" in r.stderr, r.stderr)

    # ---- -o - ----
    r = weft("-f", "markdown", "-o", "-", "a.pmd", cwd=s.path)
    check("-o - writes the report to standard output",
          r.returncode == 0 and "42" in r.stdout and not os.path.exists(os.path.join(s.path, "-")),
          r.stderr)
    r = weft("tangle", "-o", "-", "a.pmd", cwd=s.path)
    check("tangle -o - writes the code to standard output",
          r.returncode == 0 and "x = 6 * 7" in r.stdout and not os.path.exists(os.path.join(s.path, "-")),
          r.stderr)

    # ---- mistakes: one line, with a suggestion ----
    r = weft("--formt", "html", "a.pmd", cwd=s.path)
    check("a misspelt option: one line suggesting --format",
          r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "--format" in r.stderr, r.stderr)
    r = weft("-f", "md", "a.pmd", cwd=s.path)
    check("-f md suggests markdown", r.returncode == 2 and "'markdown'" in r.stderr, r.stderr)
    r = weft("-f", "ipynb", "a.pmd", cwd=s.path)
    check("-f ipynb suggests notebook", r.returncode == 2 and "'notebook'" in r.stderr, r.stderr)
    r = weft("-f", "pdf", "a.pmd", cwd=s.path, env={"PATH": "/nonexistent"})
    check("-f pdf is a format: without a TeX engine, one line naming the engines to install",
          r.returncode == 2 and "none of lualatex, xelatex or pdflatex is installed" in r.stderr, r.stderr)
    r = weft("--rebuild", "nosuch", "a.pmd", cwd=s.path)
    check("--rebuild with an unknown chunk name is refused", r.returncode == 2 and "nosuch" in r.stderr,
          r.stderr)
    s.file("x.foo", "print('should not run')\n")
    r = weft("x.foo", cwd=s.path)
    check("a file of unknown type asks for -i instead of running it",
          r.returncode == 2 and "-i" in r.stderr and not os.path.exists(os.path.join(s.path, "x.html")),
          r.stderr)
    r = weft("-i", "script", "-f", "markdown", "x.foo", cwd=s.path)
    check("with -i script it runs", r.returncode == 0 and "should not run" in s.read("x.md"), r.stderr)
    r = weft("tangle", "--help", cwd=s.path)
    check("tangle --help", r.returncode == 0 and "usage: weft tangle" in r.stdout, r.stderr)
    r = weft("weave", "--help", cwd=s.path)
    check("weave --help does not claim caching is on by default",
          r.returncode == 0 and "cache=True by default" not in r.stdout, r.stdout)
    r = weft("--timeout", cwd=s.path)
    check("an option without its value: one line",
          r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr)
    r = weft("-j", "0", "a.pmd", cwd=s.path)
    check("-j 0 is refused", r.returncode == 2 and "--jobs" in r.stderr, r.stderr)

    # ---- document settings: front matter, _weft.yml, config.yaml ----
    home = os.path.join(s.path, "home")
    env = {"HOME": home, "XDG_CONFIG_HOME": ""}
    chunk = "```python\nprint('out')\n```\n"
    s.file("proj/_weft.yml", "format: rst\necho: false\n")
    s.file("proj/sub/p.pmd", chunk)
    r = weft("-q", "proj/sub/p.pmd", cwd=s.path, env=env)
    check("_weft.yml found upward sets the format and chunk defaults",
          r.returncode == 0 and "print('out')" not in s.read("proj/sub/p.rst"), r.stderr)
    s.file("proj/sub/fm.pmd", "---\nweft:\n  format: markdown\n  echo: true\n---\n\n" + chunk)
    r = weft("-q", "proj/sub/fm.pmd", cwd=s.path, env=env)
    check("front matter beats the project file",
          r.returncode == 0 and "print('out')" in s.read("proj/sub/fm.md"), r.stderr)
    s.file("proj/sub/ch.pmd", "---\nweft:\n  format: markdown\n  echo: true\n---\n\n"
           "```python, echo=False\nprint('hidden')\n```\n")
    r = weft("-q", "proj/sub/ch.pmd", cwd=s.path, env=env)
    check("the chunk's own option beats the front matter",
          r.returncode == 0 and "print('hidden')" not in s.read("proj/sub/ch.md"), r.stderr)
    r = weft("-q", "-f", "markdown", "proj/sub/p.pmd", cwd=s.path, env=env)
    check("the command line beats the project file for the format",
          r.returncode == 0 and os.path.exists(os.path.join(s.path, "proj/sub/p.md")), r.stderr)
    s.file("home/.config/weft/config.yaml", "format: markdown\nfigure_dir: pics\necho: true\n")
    s.file("solo/u.pmd", chunk)
    r = weft("-q", "solo/u.pmd", cwd=s.path, env=env)
    check("the user's config.yaml applies where no project file is",
          r.returncode == 0 and "print('out')" in s.read("solo/u.md"), r.stderr)
    r = weft("-q", "proj/sub/p.pmd", cwd=s.path, env=env)
    check("the project file beats the user's config",
          r.returncode == 0 and "print('out')" not in s.read("proj/sub/p.rst"), r.stderr)
    os.chmod(os.path.join(s.path, "proj/_weft.yml"), 0o666)
    r = weft("-q", "proj/sub/p.pmd", cwd=s.path, env=env)
    check("a project file others can write is refused, naming it",
          r.returncode == 2 and "_weft.yml" in r.stderr and "others can write" in r.stderr, r.stderr)
    os.chmod(os.path.join(s.path, "proj/_weft.yml"), 0o644)
    s.file("q/quarto.pmd", "---\ntitle: Q\nformat: html\nexecute:\n  echo: false\n---\n\n" + chunk)
    r = weft("-q", "q/quarto.pmd", cwd=s.path)
    out = s.read("q/quarto.html") if r.returncode == 0 else ""
    check("Quarto's format: html and execute: echo map (md2html page, code hidden)",
          r.returncode == 0 and "<!DOCTYPE html>" in out and "print(" not in out, r.stderr)
    s.file("q/kern.pmd", "---\njupyter: python3\nweft:\n  format: markdown\n---\n\n" + chunk)
    r = weft("-q", "q/kern.pmd", cwd=s.path)
    check("jupyter: python3 keeps the embedded Python engine (no kernel warning)",
          r.returncode == 0 and "kernel" not in r.stderr, r.stderr)
    s.file("q/out.pmd", "---\nweft:\n  format: markdown\n  output: built/out.md\n---\n\n" + chunk)
    r = weft("-q", "q/out.pmd", cwd=s.path)
    check("output: in front matter is relative to the document",
          r.returncode == 0 and os.path.exists(os.path.join(s.path, "q/built/out.md")), r.stderr)
    s.file("q/bad.pmd", "---\nweft:\n  format: nosuch\n---\n\n" + chunk)
    r = weft("-q", "q/bad.pmd", cwd=s.path)
    check("an unknown format in front matter is one line naming the document",
          r.returncode == 2 and "q/bad.pmd" in r.stderr and "nosuch" in r.stderr, r.stderr)
    s.file("sc/s.py", "#' ---\n#' title: S\n#' weft:\n#'   format: markdown\n#'   echo: false\n#' ---\n"
           "#' Hello\n\nprint('from script')\n")
    r = weft("-q", "sc/s.py", cwd=s.path)
    out = s.read("sc/s.md") if r.returncode == 0 else ""
    check("a #' script's front matter works as in the other syntaxes",
          r.returncode == 0 and "print('from script')" not in out and "from script" in out
          and "<hr" not in out, r.stderr + out)
    r = weft("-q", "-f", "md2html", "sc/s.py", cwd=s.path)
    out = s.read("sc/s.html") if r.returncode == 0 else ""
    check("a #' script's front matter gives the page its title",
          r.returncode == 0 and "<title>S</title>" in out and "<hr" not in out, r.stderr)

    # ---- progress, with and without a terminal ----
    s.file("slow.pmd", "```python\nimport time\nfor i in range(3):\n    print('step', i, flush=True)\n"
           "    time.sleep(0.5)\n```\n\n```python\nprint('b')\n```\n")
    r = weft("-f", "markdown", "slow.pmd", cwd=s.path)
    lines = r.stderr.splitlines()
    check("no terminal: a 'running...' line for a chunk past a second, then k/n and the time",
          r.returncode == 0 and "slow.pmd:1 chunk 1 [1/2] running..." in lines
          and any(ln.startswith("slow.pmd:1 chunk 1 [1/2] ran ") for ln in lines)
          and "\r" not in r.stderr and lines[-1].startswith("weft: wrote slow.md: 2 ran in "), r.stderr)
    r = weft("-f", "markdown", "-v", "slow.pmd", cwd=s.path)
    check("-v: the chunk's output on stderr, in order with the progress",
          r.returncode == 0 and r.stderr.index("step 0") < r.stderr.index("step 2")
          < r.stderr.index("chunk 1 [1/2] ran"), r.stderr)
    r = weft("-f", "markdown", "slow.pmd", cwd=s.path)
    check("without -v the chunk's output stays out of stderr", "step 0" not in r.stderr, r.stderr)
    if os.path.exists("/usr/bin/script"):
        t = subprocess.run(["script", "-qec", f"{WEFT} -f markdown slow.pmd", "/dev/null"], cwd=s.path,
                           capture_output=True)
        t.stdout = t.stdout.decode("utf-8", "replace")
        check("terminal: a live line with the elapsed time, rewritten in place",
              t.returncode == 0 and "\r\x1b[Kslow.pmd:1 chunk 1 [1/2] running 0." in t.stdout
              and "running 1." in t.stdout, repr(t.stdout[:400]))
    else:
        skip("terminal: a live line with the elapsed time", "script(1) is not installed")
    r = weft("-f", "markdown", "--cache", "slow.pmd", cwd=s.path)
    r = weft("-f", "markdown", "--cache", "slow.pmd", cwd=s.path)
    check("a cached chunk's time says it is from when it ran",
          "cached (ran in 1." in r.stderr and "2 cached in" in r.stderr, r.stderr)

    # ---- --frozen marks stale inline values ----
    s.file("fz/f.pmd", "```python\nx = 1\n```\n\nValue <%= x + 1 %> here.\n")
    r = weft("-q", "--cache", "-f", "markdown", "fz/f.pmd", cwd=s.path)
    s.file("fz/f.pmd", "```python\nx = 5\n```\n\nValue <%= x + 1 %> here.\n")
    r = weft("--frozen", "-f", "markdown", "fz/f.pmd", cwd=s.path)
    check("--frozen: a stale inline value is marked in the report and named with file:line",
          r.returncode == 0 and "Value 2 [stale] here." in s.read("fz/f.md")
          and "fz/f.pmd:5: inline code is stale (--frozen)" in r.stderr, r.stderr + s.read("fz/f.md"))
    r = weft("--frozen", "-f", "md2html", "fz/f.pmd", cwd=s.path)
    check("--frozen: the HTML page marks it too",
          r.returncode == 0 and 'class="weft-stale"' in s.read("fz/f.html"), r.stderr)
    r = weft("-q", "--cache", "-f", "markdown", "fz/f.pmd", cwd=s.path)
    check("a real render after --frozen: the fresh value, no mark",
          r.returncode == 0 and "Value 6 here." in s.read("fz/f.md"), s.read("fz/f.md"))

    # ---- the man page and completions ship ----
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    man = subprocess.run(["man", "-l", "-P", "cat", os.path.join(top, "doc", "weft.1")],
                         capture_output=True, text=True) if os.path.exists("/usr/bin/man") else None
    if man is None:
        skip("the man page renders", "man is not installed")
    else:
        check("the man page renders", man.returncode == 0 and "--documentation-mode" in man.stdout,
              man.stderr)
    r = subprocess.run(["bash", "-n", os.path.join(top, "tools", "completion", "weft.bash")],
                       capture_output=True, text=True)
    check("bash completion parses", r.returncode == 0, r.stderr)
finally:
    s.cleanup()
finish()
