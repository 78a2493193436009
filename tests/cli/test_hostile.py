"""Hostile command-line input (issue 13): each case was a crash, a hang, a
silently accepted bad value or an overwritten file before it was fixed.

- ~30,000 nested ( or [ in chunk options (markdown, noweb), in a Quarto `#|`
  line and in the front matter: a clear error naming file:line, exit 2
  (was: a stack overflow in the recursive parsers; libyaml's scan is
  quadratic in flow nesting, so deep YAML hung).
- --timeout nan / inf / -inf / negative / empty: refused.
- The source document as the output under another spelling (./doc.pmd, an
  absolute path, a hard link, a symlink) for weave -o, tangle -o, convert -o
  and --summary-json: refused, the source unchanged (compared by inode).
- A symlink planted at the report's old temporary name OUT.tmp.<pid> (the pid
  is known: the shell execs weft) and at a figure's name: the victim files
  are not written through.
- A FIFO as the output (as /dev/null is a device): written in place; renaming
  over it, as root, replaced /dev/null with a regular file.
- TMPDIR honoured by the pandoc formats' temporary input.
- A cache key folder others can write: refused with a clear message.
"""

import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from weftlib import WEFT, Scratch, check, finish, weft  # noqa: E402

work = Scratch()


def folder(name):
    d = os.path.join(work.path, name)
    os.makedirs(d, exist_ok=True)
    return d


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def short(r):
    return f"rc={r.returncode}\nstderr: {r.stderr[-800:]}"


# --- nesting depth -----------------------------------------------------------------
d = folder("nest")
N = 30000
docs = {
    "paren.pmd": "Text\n\n```{python, x=" + "(" * N + "}\nx = 1\n```\n",
    "bracket.pmd": "Text\n\n```{python, x=" + "[" * N + "]" * N + "}\nx = 1\n```\n",
    "paren.mdw": "Text\n\n<<x=" + "(" * N + ")" * N + ">>=\nx = 1\n@\n",
    "bracket.mdw": "Text\n\n<<x=" + "[" * N + ">>=\nx = 1\n@\n",
    "quarto.pmd": "Text\n\n```python\n#| x: " + "[" * N + "]" * N + "\nx = 1\n```\n",
    "front.pmd": "---\ntitle: Deep\nweft:\n  x: " + "[" * N + "]" * N + "\n---\n\nText\n",
}
lines = {"paren.pmd": 3, "bracket.pmd": 3, "paren.mdw": 3, "bracket.mdw": 3, "quarto.pmd": 4,
         "front.pmd": 4}
for name, text in docs.items():
    write(os.path.join(d, name), text)
    r = weft("--no-cache", "-f", "markdown", "-o", "out.md", name, cwd=d, timeout=60)
    check(f"nesting: {name} is an error naming {name}:{lines[name]}, exit 2",
          r.returncode == 2 and f"{name}:{lines[name]}:" in r.stderr and "nested deeper than" in r.stderr
          and not os.path.exists(os.path.join(d, "out.md")), short(r))
    r = weft("tangle", "-o", "out.py", name, cwd=d, timeout=60)
    check(f"nesting: tangle {name} is the same error", r.returncode != 0 and r.returncode < 128
          and "nested deeper than" in r.stderr, short(r))

# just under the bound still parses
write(os.path.join(d, "ok.pmd"), "Text\n\n```{python, x=" + "(" * 150 + "1" + ")" * 150 + "}\nprint(2)\n```\n")
r = weft("--no-cache", "-f", "markdown", "-o", "ok.md", "ok.pmd", cwd=d, timeout=120)
check("nesting: 150 levels still accepted", r.returncode == 0 and "2" in read(os.path.join(d, "ok.md")).decode(),
      short(r))

# --- --timeout ---------------------------------------------------------------------
d = folder("timeout")
write(os.path.join(d, "doc.pmd"), "Text\n\n```python\nprint(1)\n```\n")
for bad in ["nan", "NaN", "inf", "-inf", "infinity", "-1", "-0.5", "", "1e400", "5s"]:
    r = weft("--no-cache", "--timeout", bad, "-f", "markdown", "doc.pmd", cwd=d)
    check(f"--timeout {bad!r} refused (exit 2, message)", r.returncode == 2 and "--timeout" in r.stderr
          and not os.path.exists(os.path.join(d, "doc.md")), short(r))
r = weft("--no-cache", "--timeout", "30", "-f", "markdown", "doc.pmd", cwd=d)
check("--timeout 30 accepted", r.returncode == 0, short(r))

# --- outputs that alias the source -------------------------------------------------
d = folder("alias")
src = write(os.path.join(d, "doc.pmd"), "Text\n\n```python\nprint(1)\n```\n")
os.link(src, os.path.join(d, "hard.pmd"))
os.symlink("doc.pmd", os.path.join(d, "soft.pmd"))
original = read(src)
spellings = {"./doc.pmd": "./doc.pmd", "absolute": src, "hard link": "hard.pmd", "symlink": "soft.pmd",
             "dir/../doc.pmd": "sub/../doc.pmd"}
os.makedirs(os.path.join(d, "sub"), exist_ok=True)
for label, out in spellings.items():
    cases = {
        "weave -o": ["--no-cache", "-f", "markdown", "-o", out, "doc.pmd"],
        "tangle -o": ["tangle", "-o", out, "doc.pmd"],
        "convert -o": ["convert", "-f", "noweb", "-o", out, "doc.pmd"],
        "--summary-json": ["--no-cache", "-f", "markdown", "-o", "r.md", "--summary-json", out, "doc.pmd"],
    }
    for what, args in cases.items():
        r = weft(*args, cwd=d)
        check(f"alias: {what} {label} refused, source intact",
              r.returncode != 0 and "overwrite" in r.stderr and read(src) == original
              and os.path.islink(os.path.join(d, "soft.pmd")), short(r))
# the report itself as the summary
r = weft("--no-cache", "-f", "markdown", "-o", "r.md", "--summary-json", "./r.md", "doc.pmd", cwd=d)
check("alias: --summary-json onto the report refused", r.returncode == 2 and "overwrite" in r.stderr, short(r))
# a different file is fine
r = weft("--no-cache", "-f", "markdown", "-o", "r.md", "--summary-json", "s.json", "doc.pmd", cwd=d)
check("alias: distinct outputs still written", r.returncode == 0 and os.path.exists(os.path.join(d, "s.json")),
      short(r))

# a folder as the report's path is refused before any chunk runs (no chunk's side effect)
os.makedirs(os.path.join(d, "outdir"), exist_ok=True)
with open(os.path.join(d, "touch.pmd"), "w") as f:
    f.write('```python\nopen("ran.txt", "w").close()\n```\n')
r = weft("--no-cache", "-f", "markdown", "-o", "outdir", "touch.pmd", cwd=d)
check("alias: a folder as -o refused before running", r.returncode == 2 and "is a folder" in r.stderr
      and not os.path.exists(os.path.join(d, "ran.txt")) and os.listdir(os.path.join(d, "outdir")) == [],
      short(r))

# a FIFO (as /dev/null, /dev/stdout) as the output is written into, never replaced by a file
fifo = os.path.join(d, "report.fifo")
os.mkfifo(fifo)
reader = subprocess.Popen(["sh", "-c", 'cat report.fifo > got.md'], cwd=d)
r = weft("--no-cache", "-f", "markdown", "-o", "report.fifo", "doc.pmd", cwd=d)
reader.wait(timeout=60)
check("output to a FIFO written in place (device nodes are never renamed over)",
      r.returncode == 0 and stat.S_ISFIFO(os.lstat(fifo).st_mode) and b"print(1)" in read(os.path.join(d, "got.md")),
      short(r))

# --- planted links at temporary and figure names -----------------------------------
d = folder("planted")
victim = write(os.path.join(d, "victim.txt"), "precious\n")
write(os.path.join(d, "doc.pmd"), "Text\n\n```python\nprint(1)\n```\n")
# sh execs weft, so weft's pid is the shell's $$: the old name OUT.tmp.<pid> is planted.
r = subprocess.run(["sh", "-c", 'ln -s victim.txt "report.md.tmp.$$" && exec "$0" --no-cache -f markdown '
                    '-o report.md doc.pmd', WEFT], cwd=d, capture_output=True, text=True, timeout=120)
planted = [f for f in os.listdir(d) if f.startswith("report.md.tmp.")]
check("planted link at OUT.tmp.<pid>: victim not written, report written",
      r.returncode == 0 and read(victim) == b"precious\n" and b"print(1)" in read(os.path.join(d, "report.md"))
      and len(planted) == 1 and os.path.islink(os.path.join(d, planted[0])), short(r) + f"\n{planted}")
r = subprocess.run(["sh", "-c", 'ln -s victim.txt "doc.py.tmp.$$" && exec "$0" tangle -o doc.py doc.pmd', WEFT],
                   cwd=d, capture_output=True, text=True, timeout=60)
check("planted link at tangle's OUT.tmp.<pid>: victim not written",
      r.returncode == 0 and read(victim) == b"precious\n", short(r))

fig = "Text\n\n```python, name='plot'\nimport matplotlib\nmatplotlib.use('Agg')\n" \
      "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\n```\n"
write(os.path.join(d, "fig.pmd"), fig)
r = weft("--no-cache", "-f", "markdown", "-o", "fig.md", "fig.pmd", cwd=d, timeout=120)
figs = sorted(os.listdir(os.path.join(d, "figures"))) if os.path.isdir(os.path.join(d, "figures")) else []
if r.returncode == 0 and figs:
    target = os.path.join(d, "figures", figs[0])
    os.unlink(target)
    os.symlink(victim, target)
    r = weft("--no-cache", "-f", "markdown", "-o", "fig.md", "fig.pmd", cwd=d, timeout=120)
    check("planted link at a figure's name: victim not written, figure is a new regular file",
          r.returncode == 0 and read(victim) == b"precious\n" and not os.path.islink(target)
          and read(target)[:4] == b"\x89PNG", short(r))
else:
    check("figure render for the planted-link check", False, short(r))

# --- TMPDIR ------------------------------------------------------------------------
d = folder("tmpdir")
write(os.path.join(d, "doc.pmd"), "Text\n\n```python\nprint(1)\n```\n")
# A stand-in pandoc (weft finds it on PATH) reports where its input file lives.
fakebin = folder("tmpdir/bin")
write(os.path.join(fakebin, "pandoc"), "#!/bin/sh\nreadlink /proc/self/fd/0\ncat >/dev/null\n")
os.chmod(os.path.join(fakebin, "pandoc"), 0o755)
path = fakebin + os.pathsep + os.environ.get("PATH", "")
mine = folder("tmpdir/mytmp")
r = weft("--no-cache", "-f", "pandoc2html", "-o", "doc.html", "doc.pmd", cwd=d, env={"TMPDIR": mine, "PATH": path})
out = read(os.path.join(d, "doc.html")).decode() if os.path.exists(os.path.join(d, "doc.html")) else ""
check("TMPDIR: pandoc's temporary input is made in $TMPDIR and removed after",
      r.returncode == 0 and os.path.join(mine, "weft-pandoc-") in out and os.listdir(mine) == [],
      short(r) + "\n" + out[:300])
missing = os.path.join(d, "no-such-tmp")
r = weft("--no-cache", "-f", "pandoc2html", "-o", "doc2.html", "doc.pmd", cwd=d, env={"TMPDIR": missing, "PATH": path})
check("TMPDIR: a missing $TMPDIR is named in the error", r.returncode != 0 and "no-such-tmp/weft-pandoc-" in r.stderr,
      short(r))

# --- the cache key folder ----------------------------------------------------------
d = folder("keydir")
write(os.path.join(d, "doc.pmd"), "Text\n\n```python\nprint(1)\n```\n")
cfg = folder("keydir/cfg")
os.makedirs(os.path.join(cfg, "weft"))
os.chmod(os.path.join(cfg, "weft"), 0o777)
r = weft("--cache", "-f", "markdown", "-o", "doc.md", "doc.pmd", cwd=d, env={"XDG_CONFIG_HOME": cfg})
check("key folder at mode 0777 refused with a clear message, no key made",
      r.returncode != 0 and "cache key folder" in r.stderr and "0777" in r.stderr and "chmod go-w" in r.stderr
      and not os.path.exists(os.path.join(cfg, "weft", "key")), short(r))
os.chmod(os.path.join(cfg, "weft"), 0o700)
r = weft("--cache", "-f", "markdown", "-o", "doc.md", "doc.pmd", cwd=d, env={"XDG_CONFIG_HOME": cfg})
st = os.stat(os.path.join(cfg, "weft", "key")) if os.path.exists(os.path.join(cfg, "weft", "key")) else None
check("key folder at mode 0700 accepted, key private", r.returncode == 0 and st is not None
      and stat.S_IMODE(st.st_mode) & 0o077 == 0, short(r))

work.cleanup()
finish()
