#!/bin/sh
# Pweave's LaTeX weave references, woven for real (code runs):
#   weave/tex/FIR_design_verb.texw -> FIR_design_verb_REF.tex  (-f tex: verbatim code and results, figures)
#   weave/texminted/wrap_test.texw -> wrap_test_REF.tex        (-f texminted: the wrap option)
# Accepted differences, each made explicit below:
#   1. SciPy 1.10 (Debian 12) no longer knows the window name "hanning" (it is "hann"): the
#      document's third chunk raises where Pweave's SciPy drew a figure. Both the document and
#      the reference get the current name, so the chunk runs and is compared like the rest.
#   2. weft writes no \label{fig:None} for unnamed chunks (Pweave labels every unnamed
#      figure fig:None, a LaTeX "multiply defined" warning); dropped from the reference.
. "$(dirname "$0")/../lib.sh"
require_compat "test_compat_tex.sh: Pweave's reference outputs"

cp "$COMPAT/weave/tex/FIR_design_verb.texw" "$TMP/FIR_design_verb.texw"
sed -i 's/window = "hanning"/window = "hann"/' "$TMP/FIR_design_verb.texw"
sed -e 's/window = "hanning"/window = "hann"/' -e '/^\\label{fig:None}$/d' \
	"$COMPAT/weave/tex/FIR_design_verb_REF.tex" >"$TMP/FIR_expected.tex"
if (cd "$TMP" && "$WEFT" -q -f tex FIR_design_verb.texw) >"$TMP/fir.err" 2>&1; then
	ok "FIR_design_verb weaves without errors"
else
	not_ok "FIR_design_verb weaves without errors" "$(cat "$TMP/fir.err")"
fi
check_same "FIR_design_verb.tex equals Pweave's reference" "$TMP/FIR_expected.tex" "$TMP/FIR_design_verb.tex"
for i in 1 2; do
	f="$TMP/figures/FIR_design_verb_figure2_$i.pdf"
	if [ -s "$f" ] && head -c 5 "$f" | grep -q '%PDF-'; then ok "figure 2.$i is a PDF"; else not_ok "figure 2.$i is a PDF"; fi
done

cp "$COMPAT/weave/texminted/wrap_test.texw" "$TMP/wrap_test.texw"
check "wrap_test weaves" sh -c "cd '$TMP' && '$WEFT' -q -f texminted wrap_test.texw"
check_same "wrap_test.tex equals Pweave's reference" "$COMPAT/weave/texminted/wrap_test_REF.tex" "$TMP/wrap_test.tex"
