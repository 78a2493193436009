"""Display of values and figures as Pweave shows them (issues 9 and 10).

Runs `pweave` and `weft` on the same small documents and compares: the
value-display lines (IPython's text/plain: 79-column breaking, sorted sets,
`<__main__.C at 0x..>`; addresses normalised), the figure files' sizes (saved
with bbox_inches="tight") in PNG and in PDF for LaTeX, and an empty figure
shown as `<Figure size ... with 0 Axes>`.  Without `pweave` those are
reported as skipped.  Weft-only checks: SVG and PDF figures are the same
bytes on every render (a cached render equals an uncached one), the
notebook's figure metadata gives the size nbconvert shows (CSS pixels) and
keeps the chunk's caption, and a set's display is the same in cached and
uncached renders.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import Scratch, check, finish, skip, weft  # noqa: E402

VALUES = '''\
# Values

```python
class C:
    pass
C()
```

```python
list(range(40))
```

```python
{i: "v%d" % i for i in range(20)}
```

```python
{"banana", "apple", "cherry", "date"}
```

```python
frozenset([5, 3, 9]), {3, 1, 2, "a"}
```

```python
[("a" * 30, "b" * 30), ("c" * 30,)]
```

```python
def f(x, y=2):
    return x
f, C, len, ValueError("bad")
```

```python
import collections
collections.OrderedDict((i, "x" * i) for i in range(8))
```
'''

FIGURES = '''\
# Figures

```python myplot, caption="A line"
import matplotlib.pyplot as plt
plt.plot([1, 2, 3])
```

```python empty
fig = plt.figure()
```
'''


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def normalised(text):
    """A report with object addresses replaced (they differ from run to run)."""
    return re.sub(r"0x[0-9a-f]+", "0x?", text)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def pdf_box(path):
    with open(path, "rb") as f:
        m = re.search(rb"/MediaBox\s*\[\s*([-\d.\s]+)\]", f.read())
    return tuple(round(float(v)) for v in m.group(1).split()) if m else None


def figures(folder):
    d = os.path.join(folder, "figures")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


work = Scratch()
PWEAVE = shutil.which("pweave")

# ---- weft against Pweave -------------------------------------------------------

for name, doc in (("values", VALUES), ("figures", FIGURES)):
    for tool in ("weft", "pweave"):
        os.makedirs(os.path.join(work.path, tool, name), exist_ok=True)
        with open(os.path.join(work.path, tool, name, "d.pmd"), "w") as f:
            f.write(doc)

w = weft("-q", "--no-cache", "-f", "markdown", "-o", "d.md", "d.pmd", cwd=os.path.join(work.path, "weft", "values"))
check("values: weft renders", w.returncode == 0, w.stderr)
wtext = open(os.path.join(work.path, "weft", "values", "d.md")).read() if w.returncode == 0 else ""
check("values: a long list one item per line, sets sorted, <__main__.C at 0x..>",
      "[0,\n 1,\n 2," in wtext and "{'apple', 'banana', 'cherry', 'date'}" in wtext
      and re.search(r"<__main__\.C at 0x[0-9a-f]+>", wtext) is not None
      and "(frozenset({3, 5, 9}), {1, 2, 3, 'a'})" in wtext, wtext)

if PWEAVE is None:
    skip("values: same display lines as pweave -f markdown", "pweave is not installed")
else:
    p = run([PWEAVE, "-f", "markdown", "-o", "d.md", "d.pmd"], os.path.join(work.path, "pweave", "values"))
    ptext = open(os.path.join(work.path, "pweave", "values", "d.md")).read() if p.returncode == 0 else None
    check("values: same display lines as pweave -f markdown",
          ptext is not None and normalised(ptext) == normalised(wtext),
          f"pweave: {p.stderr[-2000:]}\n--- pweave\n{ptext}\n--- weft\n{wtext}")

wdir = os.path.join(work.path, "weft", "figures")
w = weft("-q", "--no-cache", "-f", "markdown", "-o", "d.md", "d.pmd", cwd=wdir)
wtext = open(os.path.join(wdir, "d.md")).read() if w.returncode == 0 else ""
check("figures: an empty figure shows as text, no image",
      "<Figure size 1200x800 with 0 Axes>" in wtext and figures(wdir) == ["d_myplot_1.png"],
      f"{w.stderr}\n{wtext}\nfigures: {figures(wdir)}")
wsize = png_size(os.path.join(wdir, "figures", "d_myplot_1.png")) if figures(wdir) else None
check("figures: PNG cropped to what is drawn (bbox_inches=tight)",
      wsize is not None and wsize[0] < 1200 and wsize[1] < 800, str(wsize))

if PWEAVE is None:
    skip("figures: same report and PNG size as pweave", "pweave is not installed")
    skip("figures: same PDF page size as pweave -f tex", "pweave is not installed")
else:
    pdir = os.path.join(work.path, "pweave", "figures")
    p = run([PWEAVE, "-f", "markdown", "-o", "d.md", "d.pmd"], pdir)
    ptext = open(os.path.join(pdir, "d.md")).read() if p.returncode == 0 else ""
    psize = png_size(os.path.join(pdir, "figures", "d_myplot_1.png")) if p.returncode == 0 else None
    check("figures: same report and PNG size as pweave",
          normalised(ptext) == normalised(wtext) and psize == wsize,
          f"sizes pweave {psize} weft {wsize}\n--- pweave\n{ptext}\n--- weft\n{wtext}")
    p = run([PWEAVE, "-f", "tex", "-o", "d.tex", "d.pmd"], pdir)
    w = weft("-q", "--no-cache", "-f", "tex", "-o", "d.tex", "d.pmd", cwd=wdir)
    pbox = pdf_box(os.path.join(pdir, "figures", "d_myplot_1.pdf")) if p.returncode == 0 else None
    wbox = pdf_box(os.path.join(wdir, "figures", "d_myplot_1.pdf")) if w.returncode == 0 else None
    check("figures: same PDF page size as pweave -f tex", pbox is not None and pbox == wbox,
          f"pweave {pbox} weft {wbox}\n{p.stderr[-2000:]}\n{w.stderr}")

# ---- weft only -------------------------------------------------------------------

for fmt, out_fmt in (("svg", "markdown"), ("pdf", "tex")):
    blobs = []
    for i in (1, 2):
        d = os.path.join(work.path, f"repro-{fmt}{i}")
        os.makedirs(d)
        with open(os.path.join(d, "d.pmd"), "w") as f:
            f.write(FIGURES)
        w = weft("-q", "--no-cache", "-f", out_fmt, "--figure-format", fmt, "-o", "out", "d.pmd", cwd=d)
        path = os.path.join(d, "figures", f"d_myplot_1.{fmt}")
        blobs.append(open(path, "rb").read() if os.path.exists(path) else w.stderr)
    check(f"figures: {fmt.upper()} bytes the same on every render", blobs[0] == blobs[1] and
          isinstance(blobs[0], bytes), str(blobs[0])[:300])

d = os.path.join(work.path, "nb")
os.makedirs(d)
with open(os.path.join(d, "d.pmd"), "w") as f:
    f.write(FIGURES)
w = weft("-q", "--no-cache", "-f", "notebook", "-o", "d.ipynb", "d.pmd", cwd=d)
nb = json.load(open(os.path.join(d, "d.ipynb"))) if w.returncode == 0 else {"cells": []}
figs = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
md = figs[0]["metadata"] if figs else {}
check("notebook: PNG size in CSS pixels (half the pixels at 200 dpi) and the caption kept",
      len(figs) == 1 and wsize is not None and md.get("image/png") == {"width": wsize[0] // 2, "height": wsize[1] // 2}
      and md.get("caption") == "A line", f"{w.stderr}\n{md}")
nbconvert = shutil.which("jupyter-nbconvert")
if nbconvert is None:
    skip("notebook: nbconvert shows the figure at its CSS width", "jupyter-nbconvert is not installed")
else:
    c = run([nbconvert, "--to", "html", "--output", "d", "d.ipynb"], d)
    html = open(os.path.join(d, "d.html")).read() if c.returncode == 0 else ""
    widths = re.findall(r'<img src="data:image/png;base64,[^"]*"\s*width=(\d+)', html)
    check("notebook: nbconvert shows the figure at its CSS width",
          wsize is not None and widths == [str(wsize[0] // 2)], f"{c.stderr[-2000:]}\nwidths {widths}")

# ---- cache: a set's display is the same cached and uncached ----------------------

S = ("s", "s = {'pear', 'apple', 'fig', 'kiwi', 'plum', 'lime'}\ns")
run_scenario("set display, cached and uncached", [
    Step(chunks(S, ("t", "t = frozenset(s)\nt")), {"s", "t"}),
    Step(chunks(S, ("t", "t = frozenset(s) | {'date'}\nt")), {"t"}, note="s's display from the cache"),
])

work.cleanup()
finish()
