#!/bin/sh
# End to end: weave Pweave's formatters_test.pmd for real (reader, engine,
# renderer) in every Markdown and reST format and compare with Pweave's
# references; weave it as a notebook and check it with nbformat/nbconvert.
#
# Accepted differences (the unit test test_render_markdown names the same):
#   - term=True chunk: weft's console transcript (">>> for i in range(10):",
#     "...   print(i)", outputs in the same block) against Pweave's code block
#     plus output block. Only lines of that chunk may differ.
#   - softcover: no "\label{fig:None}" for unnamed chunks.
. "$(dirname "$0")/../lib.sh"
require_compat "test_compat_formats.sh: Pweave's reference outputs"

cp "$COMPAT/formats/formatters_test.pmd" "$TMP"/
cd "$TMP" || exit 1

# compare REF OURS: only the term chunk's lines may differ
compare() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import difflib, sys
ref = open(sys.argv[1], encoding="utf-8").read().replace(" \\label{fig:None}", "").split("\n")
got = open(sys.argv[2], encoding="utf-8").read().split("\n")
# the term chunk's code, Pweave's block markups around it, and its printed digits
ref_ok = {"for i in range(10):", "print(i)", "```", "~~~~~~~~", "{line-numbers=off}",
          ".. code::", "::", "", ".. code:: python", ".. code-block:: python", "```python"}
got_ok = {">>> for i in range(10):", "...   print(i)", ""}
bad = []
for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ref, b=got, autojunk=False).get_opcodes():
    if tag == "equal":
        continue
    r = [l.strip() for l in ref[i1:i2]]
    g = [l.strip() for l in got[j1:j2]]
    if not all(l in ref_ok or l.isdigit() for l in r) or not all(l in got_ok or l.isdigit() for l in g):
        bad.append("ref %d-%d %r / ours %d-%d %r" % (i1 + 1, i2, ref[i1:i2], j1 + 1, j2, got[j1:j2]))
if bad:
    print("\n".join(bad[:10]))
    sys.exit(1)
if ">>> for i in range(10):" not in "\n".join(got):
    print("no transcript")
    sys.exit(1)
PY
}

for f in markdown pandoc leanpub softcover rst sphinx; do
	if "$WEFT" weave -q --cache --cache-dir "$TMP/cache" -f "$f" -o "out.$f" formatters_test.pmd >"$f.log" 2>&1; then
		ok "$f: weave"
	else
		not_ok "$f: weave" "$(cat "$f.log")"
		continue
	fi
	check "$f: same as Pweave but the term chunk" compare "$COMPAT/formats/formatters_test_REF.$f" "out.$f"
done
for fig in formatters_test_figure2_1 formatters_test_sinc_1 formatters_test_figure9_5; do
	check "figure $fig.png written" test -s "figures/$fig.png"
done

if "$WEFT" weave -q --cache --cache-dir "$TMP/cache" -f notebook -o ft.ipynb formatters_test.pmd >nb.log 2>&1; then
	ok "notebook: weave"
else
	not_ok "notebook: weave" "$(cat nb.log)"
fi
check "notebook: nbformat-valid" /usr/bin/python3 -c \
	'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))' ft.ipynb
check "notebook: same code cells and stream text as Pweave's" /usr/bin/python3 - ft.ipynb \
	"$COMPAT/formats/formatters_test_REF.notebook" <<'PY'
import json, sys
ours, ref = (json.load(open(p)) for p in sys.argv[1:3])
def code(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]
def src(c):
    return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
def streams(c):
    return ["".join(o["text"]) for o in c["outputs"] if o["output_type"] == "stream"]
a, b = code(ours), code(ref)
assert len(a) == len(b), (len(a), len(b))
for i, (x, y) in enumerate(zip(a, b)):
    assert src(x) == src(y).lstrip(), (i, src(x), src(y))
    # chunk 11 is results="hidden": weft leaves its text out (named in test_render_notebook)
    if i != 10:
        assert streams(x) == streams(y), (i, streams(x), streams(y))
    figs = lambda c: sum("image/png" in o.get("data", {}) for o in c["outputs"])
    assert figs(x) == figs(y), (i, figs(x), figs(y))
PY
check "notebook: nbconvert accepts it" /usr/bin/jupyter-nbconvert --to markdown --output ftnb ft.ipynb
