#!/bin/sh
# `weft convert` (pweave-convert): Pweave's references, live pweave-convert on
# the compatibility corpus, round trips through notebooks, output names and
# error messages.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
CV="$COMPAT/convert"
PUB_DIR="$COMPAT/publish"
cd "$TMP" || exit 1

if have_compat; then
# --- script -> noweb: Pweave's reference, byte for byte, default output name ---
cp "$CV/convert_test.txt" .
if "$WEFT" convert -f noweb convert_test.txt 2>"$TMP/err" && [ -f convert_test.Pnw ]; then
	ok "convert_default_name_Pnw"
	check_same "convert_script_to_noweb_REF" "$CV/convert_test_REF.Pnw" convert_test.Pnw
else
	not_ok "convert_default_name_Pnw" "$(cat "$TMP/err")"
fi
check_contains "convert_reports_written_file" "$TMP/err" "wrote convert_test.Pnw"

# --- noweb -> notebook: Pweave's reference compared as JSON -----------------------
cp "$CV/simple.mdw" .
if "$WEFT" convert -f notebook simple.mdw 2>"$TMP/err" && [ -f simple.ipynb ]; then
	ok "convert_noweb_to_notebook"
else
	not_ok "convert_noweb_to_notebook" "$(cat "$TMP/err")"
fi
# Accepted differences, by design:
#  - nbformat 4 (what Jupyter reads today) instead of Pweave's nbformat 3: cells at
#    the top level, code under "source" not "input", no "language"/"collapsed",
#    execution_count null, kernelspec metadata instead of the notebook "name".
#  - a code cell's source has no leading empty line (Pweave's reader prefixes every
#    chunk with "\n" and its converter writes it out).
#  - markdown cells hold their prose without the blank lines around it (Jupyter's
#    convention; it keeps markdown -> notebook -> markdown stable).
#  - no empty markdown cell for the empty prose after the last chunk.
#  - chunk options are kept as "#|" lines (Pweave drops them): the second cell has
#    exactly `#| fig-cap: Bandpass FIR filter.` and `#| echo: false`.
cat >"$TMP/cmp_nb.py" <<'EOF'
import json, sys
import nbformat
ref = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
nbformat.validate(nbformat.reads(open(sys.argv[2]).read(), as_version=4))
assert got["nbformat"] == 4, got["nbformat"]
def ref_cells():
    for c in ref["worksheets"][0]["cells"]:
        if c["cell_type"] == "code":
            src = "".join(c["input"])
            yield "code", src[1:] if src.startswith("\n") else src
        else:
            src = "".join(c["source"]).strip("\n")
            if src.strip():
                yield c["cell_type"], src
want_opts = [[], ['#| fig-cap: Bandpass FIR filter.', '#| echo: false']]
got_cells, n_code = [], 0
for c in got["cells"]:
    src = "".join(c["source"])
    if c["cell_type"] == "code":
        lines = src.split("\n")
        opts = [l for l in lines if l.startswith("#| ")]
        assert opts == want_opts[n_code], (n_code, opts)
        n_code += 1
        src = "\n".join(lines[len(opts):])
        assert c["outputs"] == [] and c["execution_count"] is None
    got_cells.append((c["cell_type"], src))
want = list(ref_cells())
assert len(want) == len(got_cells), (len(want), len(got_cells))
for i, (w, g) in enumerate(zip(want, got_cells)):
    assert w == g, (i, w, g)
print("same")
EOF
if out=$($PY "$TMP/cmp_nb.py" "$CV/simple_REF.ipynb" simple.ipynb 2>&1); then
	ok "convert_noweb_to_notebook_REF"
else
	not_ok "convert_noweb_to_notebook_REF" "$out"
fi

# --- Pweave's converter on the corpus: script/markdown/noweb -> noweb ------------
# Pweave's converter runs in one Python process (what pweave-convert calls), as
# starting pweave-convert per document takes seconds. Accepted difference: for a
# header whose first option is a bare name (`<< plot, fig=True>>=`), Pweave writes
# its own rewrite, `name = " plot"` (the blank kept in the name); weft keeps the
# header as written. The sed maps `<<name = "X"` to `<<X` in both outputs.
cat >"$TMP/pweave_convert.py" <<'EOF'
import contextlib, io, os, sys
from pweave import readers
out = sys.argv[1]
for path in sys.argv[2:]:
    b = os.path.basename(path)
    fmt = "markdown" if b.endswith(".pmd") else "noweb" if b.endswith("w") else "script"
    with contextlib.redirect_stdout(io.StringIO()):
        c = readers.PwebConvert(path, fmt, "noweb")
        c.convert()
    open(os.path.join(out, b + ".pweave"), "w").write(c.converted)
    print(fmt, path)
EOF
mkdir -p "$TMP/corpus"
set -- "$COMPAT"/weave/*/*.texw "$COMPAT"/weave/*/*.mdw "$COMPAT"/readers/*.pmd \
	"$COMPAT"/formats/*.pmd "$COMPAT"/publish/*.txt "$COMPAT"/convert/*.txt
if $PY "$TMP/pweave_convert.py" "$TMP/corpus" "$@" >"$TMP/corpus/list" 2>"$TMP/err"; then
	n=0; bad=""
	while read -r i f; do
		b=$(basename "$f")
		"$WEFT" convert -i "$i" -f noweb -o "$TMP/corpus/$b.weft" "$f" 2>/dev/null
		for o in pweave weft; do
			sed -E 's/^<<name = "([^"]*)"/<<\1/' "$TMP/corpus/$b.$o" >"$TMP/corpus/$o.out"
		done
		cmp -s "$TMP/corpus/pweave.out" "$TMP/corpus/weft.out" ||
			bad="$bad $b: $(diff "$TMP/corpus/pweave.out" "$TMP/corpus/weft.out" | head -6)"
		n=$((n + 1))
	done <"$TMP/corpus/list"
	if [ "$n" -ge 8 ] && [ -z "$bad" ]; then
		ok "convert_matches_pweave_converter ($n documents)"
	else
		not_ok "convert_matches_pweave_converter" "compared $n;$bad"
	fi
else
	not_ok "convert_matches_pweave_converter" "Pweave's converter failed: $(tail -5 "$TMP/err")"
fi

# --- -p: prose through pandoc, as pweave-convert -p ---------------------------------
# Compared with Pweave's converter given the same pandoc arguments, on documents
# without inline code (Pweave lets pandoc escape inline code; weft keeps it, below).
if command -v pandoc >/dev/null 2>&1; then
	cat >"$TMP/pweave_pandoc.py" <<'EOF'
import contextlib, io, os, sys
from pweave import readers
out, args = sys.argv[1], sys.argv[2]
for path in sys.argv[3:]:
    b = os.path.basename(path)
    fmt = "markdown" if b.endswith(".pmd") else "noweb" if b.endswith("w") else "script"
    with contextlib.redirect_stdout(io.StringIO()):
        c = readers.PwebConvert(path, fmt, "noweb", args)
        c.convert()
    open(os.path.join(out, b + ".pweave"), "w").write(c.converted)
    print(fmt, path)
EOF
	mkdir -p "$TMP/pandoc"
	if $PY "$TMP/pweave_pandoc.py" "$TMP/pandoc" "-f markdown -t latex" "$CV/convert_test.txt" \
		"$CV/simple.mdw" "$PUB_DIR/publish_test.txt" >"$TMP/pandoc/list" 2>"$TMP/err"; then
		n=0; bad=""
		while read -r i f; do
			b=$(basename "$f")
			"$WEFT" convert -i "$i" -f noweb -p "-f markdown -t latex" -o "$TMP/pandoc/$b.weft" "$f" 2>/dev/null
			cmp -s "$TMP/pandoc/$b.pweave" "$TMP/pandoc/$b.weft" ||
				bad="$bad $b: $(diff "$TMP/pandoc/$b.pweave" "$TMP/pandoc/$b.weft" | head -6)"
			n=$((n + 1))
		done <"$TMP/pandoc/list"
		if [ "$n" = 3 ] && [ -z "$bad" ]; then
			ok "convert_pandoc_prose_matches_pweave"
		else
			not_ok "convert_pandoc_prose_matches_pweave" "compared $n;$bad"
		fi
	else
		not_ok "convert_pandoc_prose_matches_pweave" "Pweave's converter failed: $(tail -5 "$TMP/err")"
	fi
	# inline code stays code through pandoc
	printf 'Some *text* with <%%= x + 1 %%> in it.\n\n<<>>=\nx = 1\n@\n' >inl.mdw
	"$WEFT" convert -f noweb -p "-f markdown -t latex" -o inl.texw inl.mdw 2>"$TMP/err"
	check_contains "convert_pandoc_keeps_inline_code" inl.texw 'Some \emph{text} with <%= x + 1 %> in it.'
	"$WEFT" convert -f noweb -p "--no-such-pandoc-option" -o inl2.texw inl.mdw 2>"$TMP/err"; rc=$?
	[ $rc = 1 ] && ok "convert_pandoc_failure_status" || not_ok "convert_pandoc_failure_status" "rc=$rc"
	check_contains "convert_pandoc_failure_file_line" "$TMP/err" "inl.mdw:1:"
fi

else
	skip "convert: comparisons with Pweave's references and converter" "$COMPAT_WHY"
fi

# --- round trips ------------------------------------------------------------------
cat >rt.pmd <<'EOF'
---
title: Round trip
weft:
  echo: false
---
# Title

Text with <%= 1 + 1 %> inline and <% print("hi") %> code.

```{python, setup, echo=True, caption='It\'s "quoted"', dpi=72}
x = 1
print(x)
```

More prose.

```python
#| label: second
#| fig-cap: A figure
#| cache_extra: os.path.getmtime("data.csv")
y = x + 1
```

```{python, results="hidden", wrap=None, term=True, f_pos="h", evaluate=False}
z = [1, 2]
```

End.
EOF
"$WEFT" convert -f notebook rt.pmd 2>/dev/null
"$WEFT" convert -f markdown -o rt2.pmd rt.ipynb 2>/dev/null
"$WEFT" convert -f notebook -o rt2.ipynb rt2.pmd 2>/dev/null
"$WEFT" convert -f markdown -o rt3.pmd rt2.ipynb 2>/dev/null
# the notebook trip is stable: the second markdown and notebook equal the first
check_same "convert_notebook_markdown_notebook_stable" rt.ipynb rt2.ipynb
check_same "convert_markdown_notebook_markdown_stable" rt2.pmd rt3.pmd
# and against the original: same text, code, options; options in canonical syntax
cat >"$TMP/cmp_doc.py" <<'EOF'
import re, sys
a, b = open(sys.argv[1]).read(), open(sys.argv[2]).read()
def parts(t):
    fences = re.findall(r"^```(.*)\n((?:(?!```).*\n)*?)```$", t, re.M)
    prose = re.sub(r"^```.*?^```$", "\x00", t, flags=re.M | re.S)
    return fences, [p.strip() for p in prose.split("\x00")]
fa, pa = parts(a)
fb, pb = parts(b)
assert pa == pb, (pa, pb)
assert len(fa) == len(fb) == 3
# chunk 2's #| lines are header options now; code otherwise equal
assert fb[1][1] == "y = x + 1\n", fb[1]
assert fb[1][0] == '{python, second, caption="A figure", cache_extra=os.path.getmtime("data.csv")}', fb[1][0]
assert fa[0][1] == fb[0][1] and fa[2][1] == fb[2][1]
assert fb[0][0] == '{python, setup, echo=True, caption="It\'s \\"quoted\\"", dpi=72}', fb[0][0]
assert fb[2][0] == fa[2][0], (fa[2][0], fb[2][0])
print("same")
EOF
if out=$($PY "$TMP/cmp_doc.py" rt.pmd rt2.pmd 2>&1); then
	ok "convert_markdown_notebook_markdown_keeps_content"
else
	not_ok "convert_markdown_notebook_markdown_keeps_content" "$out$(cat rt2.pmd)"
fi
# the notebook is valid nbformat 4 and opens with nbconvert's reader
check "convert_notebook_valid" $PY -c "import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))" rt.ipynb
# the same chunks and options whichever way the document goes: compare weft's own
# reading (tangle gives the code; a markdown conversion the options) of each form
for f in noweb script; do
	"$WEFT" convert -f $f -o "rt.$f" rt.pmd 2>/dev/null
	"$WEFT" convert -i $f -f markdown -o "rt_from_$f.pmd" "rt.$f" 2>/dev/null
done
"$WEFT" tangle -o t0.py rt.pmd 2>/dev/null
ok_all=1
for f in rt.ipynb rt.noweb rt.script; do
	case $f in *noweb) i=noweb ;; *script) i=script ;; *) i=notebook ;; esac
	"$WEFT" tangle -i $i -o t1.py "$f" 2>/dev/null
	cmp -s t0.py t1.py || { ok_all=0; not_ok "convert_code_kept_via_$i" "$(diff t0.py t1.py)"; }
done
[ $ok_all = 1 ] && ok "convert_code_kept_via_notebook_noweb_script"
# options (and prose, code) survive noweb and script too: the notebook made from
# each form equals the one made from the markdown (script: code cells only, as a
# script has no front matter and its prose is regrouped)
"$WEFT" convert -i noweb -f notebook -o rt_noweb.ipynb rt.noweb 2>/dev/null
check_same "convert_same_notebook_via_noweb" rt.ipynb rt_noweb.ipynb
"$WEFT" convert -i script -f notebook -o rt_script.ipynb rt.script 2>/dev/null
check "convert_same_code_cells_via_script" $PY -c '
import json, sys
code = lambda f: [c["source"] for c in json.load(open(f))["cells"] if c["cell_type"] == "code"]
a, b = code(sys.argv[1]), code(sys.argv[2])
assert a == b and len(a) == 3, (a, b)' rt.ipynb rt_script.ipynb

# a notebook in Pweave's own nbformat 3 reads too: same code as the noweb source
if have_compat; then
cp "$CV/simple_REF.ipynb" .
"$WEFT" tangle -o s0.py simple.mdw 2>/dev/null
if "$WEFT" convert -f noweb -o simple_v3.Pnw simple_REF.ipynb 2>"$TMP/err" &&
	"$WEFT" tangle -o s1.py simple_v3.Pnw 2>/dev/null && diff -B s0.py s1.py >/dev/null; then
	ok "convert_reads_nbformat3"
else
	not_ok "convert_reads_nbformat3" "$(cat "$TMP/err")"
fi

else
	skip "convert_reads_nbformat3" "$COMPAT_WHY"
fi

# --- output names, stdout, formats ------------------------------------------------
printf 'Prose.\n\n<<>>=\nx = 1\n@\n' >same.Pnw
"$WEFT" convert -f noweb same.Pnw 2>/dev/null
check "convert_same_format_gets_converted_suffix" test -f same_converted.Pnw
printf "#' Prose.\n\n#+ term=True\nx = 1\nx\n" >term.txt
"$WEFT" convert -f script -o - term.txt >stdout.py 2>"$TMP/err"
check_contains "convert_stdout" stdout.py "#+ term=True"
check_not_contains "convert_stdout_no_message" "$TMP/err" "wrote"
"$WEFT" convert -l >formats.txt
check_contains "convert_list_formats" formats.txt "notebook"

# --- errors name the file (and line) ---------------------------------------------
"$WEFT" convert -f noweb missing.txt 2>"$TMP/err"; rc=$?
[ $rc = 1 ] && ok "convert_missing_file_status" || not_ok "convert_missing_file_status" "rc=$rc"
check_contains "convert_missing_file_named" "$TMP/err" "missing.txt"
"$WEFT" convert -f html convert_test.txt 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && ok "convert_unknown_format_usage" || not_ok "convert_unknown_format_usage" "rc=$rc"
check_contains "convert_unknown_format_named" "$TMP/err" "'html'"
"$WEFT" convert convert_test.txt 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && ok "convert_needs_format" || not_ok "convert_needs_format" "rc=$rc"
printf 'Text\n\n<<echo=Flase(>>=\nx = 1\n@\n' >bad.Pnw
"$WEFT" convert -f markdown bad.Pnw 2>"$TMP/err"
check_contains "convert_bad_options_file_line" "$TMP/err" "bad.Pnw:3:"
printf '```python\nx = 1\n@\n```\n' >at.pmd
"$WEFT" convert -f noweb at.pmd 2>"$TMP/err"; rc=$?
[ $rc = 1 ] && ok "convert_unrepresentable_fails" || not_ok "convert_unrepresentable_fails" "rc=$rc"
check_contains "convert_unrepresentable_file_line" "$TMP/err" "at.pmd:3:"
check "convert_unrepresentable_writes_nothing" test ! -e at.Pnw
printf '{"cells": [' >broken.ipynb
"$WEFT" convert -f markdown broken.ipynb 2>"$TMP/err"
check_contains "convert_malformed_notebook_named" "$TMP/err" "broken.ipynb:"
printf 'Prose\n```python\n<<x>>=\n```\n' >warn.pmd
printf 'Line\n<<x>>=\n@\n' >warn.pmd
"$WEFT" convert -i markdown -f noweb -o warn.out warn.pmd 2>"$TMP/err"
check_contains "convert_prose_header_warning" "$TMP/err" "warn.pmd:2:"
"$WEFT" convert -f noweb -o convert_test.txt convert_test.txt 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && ok "convert_refuses_overwrite" || not_ok "convert_refuses_overwrite" "rc=$rc"
