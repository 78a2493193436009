#!/bin/sh
# Browser test of the md2html page: headless Chromium opens the report, with
# every host name mapped to nowhere, and a checking script injected into a
# copy of the page reports what loaded. Checks: figures decoded
# (naturalWidth > 0), tables and math rendered (KaTeX, no error boxes, its
# fonts from data: URIs), and no resource outside the page was requested.
# Screenshots are kept in $WEFT_BUILD/browser/ (report.png, report-narrow.png).
#
# The report is examples/analysis.pmd woven by the weft binary when both
# exist; otherwise the showcase page test_render_html writes
# ($WEFT_BUILD/browser/sample_report.html).
. "$(dirname "$0")/../lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUTDIR="$TOP/$WEFT_BUILD/browser"
mkdir -p "$OUTDIR"

if [ ! -x "$CHROMIUM" ]; then
	skip "browser checks" "$CHROMIUM not installed"
	exit 0
fi

# --- the report under test ---------------------------------------------------
REPORT=""
if [ -x "$WEFT" ] && [ -f "$TOP/examples/analysis.pmd" ]; then
	cp -r "$TOP/examples/." "$TMP/ex/" 2>/dev/null || { mkdir -p "$TMP/ex" && cp -r "$TOP/examples/." "$TMP/ex/"; }
	if (cd "$TMP/ex" && "$WEFT" -f md2html -o "$TMP/ex/analysis.html" analysis.pmd) >"$TMP/weave.log" 2>&1 &&
		[ -s "$TMP/ex/analysis.html" ]; then
		REPORT="$TMP/ex/analysis.html"
		ok "browser_weave_example"
	else
		not_ok "browser_weave_example" "$(cat "$TMP/weave.log")"
	fi
fi
if [ -z "$REPORT" ]; then
	SAMPLE="$OUTDIR/sample_report.html"
	if [ ! -s "$SAMPLE" ] && [ -x "$TOP/$WEFT_BUILD/tests/test_render_html" ]; then
		(cd "$TOP" && WEFT_BUILD="$WEFT_BUILD" "$TOP/$WEFT_BUILD/tests/test_render_html" >"$TMP/unit.log" 2>&1)
	fi
	if [ -s "$SAMPLE" ]; then
		REPORT="$SAMPLE"
		echo "# using the showcase page $SAMPLE"
	else
		not_ok "browser_report_exists" "no report: build weft or test_render_html first"
		exit 1
	fi
fi
cp "$REPORT" "$OUTDIR/report.html"

# --- static check: nothing in the page points outside it ----------------------
if grep -Eio '(src|href)="(https?:)?//[^"]*"|url\((["'"'"'])?(https?:)?//[^)]*\)|@import' "$REPORT" >"$TMP/ext.txt"; then
	not_ok "page_has_no_external_references" "$(head -5 "$TMP/ext.txt")"
else
	ok "page_has_no_external_references"
fi

# --- the checking copy ----------------------------------------------------------
# The verdict is written into the DOM after load; --dump-dom prints it.
cat >"$TMP/check.js" <<'EOF'
<script>
window.addEventListener("load", function () {
  function verdict() {
    var v = {};
    var imgs = Array.prototype.slice.call(document.images);
    v.images = imgs.length;
    v.images_ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
    v.tables = document.querySelectorAll("table").length;
    v.table_cells = document.querySelectorAll("table td").length;
    v.equations = document.querySelectorAll("x-equation").length;
    v.katex = document.querySelectorAll("x-equation .katex").length;
    v.katex_errors = document.querySelectorAll(".katex-error").length;
    v.katex_fonts = 0;
    if (document.fonts) document.fonts.forEach(function (f) {
      if (/KaTeX/.test(f.family) && f.status === "loaded") v.katex_fonts++;
    });
    v.code_blocks = document.querySelectorAll(".weft-code .highlight").length;
    v.outputs = document.querySelectorAll(".weft-output").length;
    v.footer = (document.querySelector("footer.weft-footer") || {}).textContent || "";
    v.requests = performance.getEntriesByType("resource")
      .map(function (r) { return r.name; })
      .filter(function (n) { return !/^(data|blob|about):/.test(n); });
    var pre = document.createElement("pre");
    pre.textContent = "WEFT-VERDICT " + JSON.stringify(v);
    document.body.appendChild(pre);
  }
  (document.fonts ? document.fonts.ready : Promise.resolve()).then(function () { setTimeout(verdict, 200); });
});
</script>
EOF
# inject SCRIPT PAGE OUT: a copy of PAGE with SCRIPT before its last </body>
inject() {
	awk -v f="$1" '
		{ lines[NR] = $0 }
		/<\/body>/ { last = NR }
		END {
			for (i = 1; i <= NR; i++) {
				if (i == last) { while ((getline l < f) > 0) print l }
				print lines[i]
			}
		}' "$2" >"$3"
}
inject "$TMP/check.js" "$REPORT" "$TMP/checked.html"

chrome() {
	profile=$(mktemp -d "$TMP/profile.XXXXXX")
	timeout 150 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
		--host-resolver-rules="MAP * ~NOTFOUND" --hide-scrollbars --virtual-time-budget=10000 \
		"$@" 2>>"$TMP/chrome.log"
}

chrome --dump-dom "file://$TMP/checked.html" >"$TMP/dom.html"
VERDICT=$(grep -o 'WEFT-VERDICT {.*}' "$TMP/dom.html" | head -1 | sed 's/^WEFT-VERDICT //')
if [ -z "$VERDICT" ]; then
	not_ok "browser_page_loads" "no verdict in the DOM dump; chromium said: $(tail -5 "$TMP/chrome.log")"
	exit 1
fi
ok "browser_page_loads"
echo "# verdict: $VERDICT" | cut -c1-400

# The verdict's fields as shell assignments (v_images=1 ...), read in one go.
read_verdict() {
	eval "$(printf '%s' "$1" | /usr/bin/python3 -c '
import json, shlex, sys
for k, v in json.load(sys.stdin).items():
    print("v_%s=%s" % (k, shlex.quote(json.dumps(v) if isinstance(v, (list, dict)) else str(v))))
')"
}
read_verdict "$VERDICT"
field() { eval "printf '%s' \"\$v_$1\""; }
expect() { # NAME CONDITION-TEXT (sh test expression already evaluated by caller)
	if [ "$2" = yes ]; then ok "$1"; else not_ok "$1" "$3 (verdict: $VERDICT)"; fi
}

images=$(field images); images_ok=$(field images_ok)
expect browser_figures_loaded "$([ "$images" -gt 0 ] && [ "$images_ok" -eq "$images" ] && echo yes)" \
	"$images_ok of $images images decoded"
tables=$(field tables); cells=$(field table_cells)
expect browser_table_rendered "$([ "$tables" -gt 0 ] && [ "$cells" -gt 0 ] && echo yes)" \
	"$tables tables, $cells cells"
eqs=$(field equations); katex=$(field katex); kerr=$(field katex_errors); kfonts=$(field katex_fonts)
if [ "$eqs" -gt 0 ]; then
	expect browser_math_rendered "$([ "$katex" -eq "$eqs" ] && [ "$kerr" -eq 0 ] && echo yes)" \
		"$katex of $eqs equations rendered by KaTeX, $kerr errors"
	expect browser_math_fonts_inline "$([ "$kfonts" -gt 0 ] && echo yes)" "no KaTeX font loaded"
else
	echo "# the report has no math: KaTeX checks not applicable"
fi
code=$(field code_blocks); outs=$(field outputs)
expect browser_code_and_outputs "$([ "$code" -gt 0 ] && [ "$outs" -gt 0 ] && echo yes)" \
	"$code highlighted code blocks, $outs outputs"
case "$(field footer)" in *weft*) ok browser_footer_names_weft ;; *) not_ok browser_footer_names_weft "$(field footer)" ;; esac
reqs=$(field requests)
expect browser_no_network_requests "$([ "$reqs" = "[]" ] && echo yes)" "requested: $reqs"

# --- screenshots (of the page as shipped, not the checking copy) ---------------
rm -f "$OUTDIR/report.png" "$OUTDIR/report-narrow.png"
# the two run side by side: each is mostly browser start-up
chrome --window-size=1280,2600 --screenshot="$OUTDIR/report.png" "file://$OUTDIR/report.html" >/dev/null &
chrome --window-size=420,2400 --screenshot="$OUTDIR/report-narrow.png" "file://$OUTDIR/report.html" >/dev/null &
wait
# A real page is not one flat colour: count distinct greys in a sample of pixels.
shot_ok() {
	/usr/bin/python3 - "$1" <<'EOF'
import sys
import matplotlib.image as mpimg
img = mpimg.imread(sys.argv[1])
h, w = img.shape[0], img.shape[1]
sample = img[::max(1, h // 200), ::max(1, w // 200), :3]
levels = {tuple((px * 255).astype(int) // 16) for row in sample for px in row}
sys.exit(0 if h > 100 and w > 100 and len(levels) > 8 else 1)
EOF
}
for s in report report-narrow; do
	if [ -s "$OUTDIR/$s.png" ] && shot_ok "$OUTDIR/$s.png"; then
		ok "browser_screenshot_$s"
	else
		not_ok "browser_screenshot_$s" "$OUTDIR/$s.png missing or blank; $(tail -3 "$TMP/chrome.log")"
	fi
done

# --- pandoc's Markdown in the prose (examples/markdown.pmd) ---------------------
# Dollar signs that are prices, footnotes, a fenced div, a table's own column
# alignment, a local image embedded, a numbered figure and a reference to it.
if [ -x "$WEFT" ] && [ -f "$TOP/examples/markdown.pmd" ]; then
	mkdir -p "$TMP/md" && cp -r "$TOP/examples/." "$TMP/md/"
	if (cd "$TMP/md" && "$WEFT" -q -f md2html -o prose.html markdown.pmd) >"$TMP/md.log" 2>&1; then
		ok "browser_weave_markdown_example"
	else
		not_ok "browser_weave_markdown_example" "$(cat "$TMP/md.log")"
	fi
	cp "$TMP/md/prose.html" "$OUTDIR/prose.html"
	cat >"$TMP/check2.js" <<'EOF'
<script>
window.addEventListener("load", function () {
  function verdict() {
    var v = {};
    var text = document.querySelector(".weft-text").textContent;
    v.prices = /costs \$3 and a sandwich \$7/.test(text) ? 1 : 0;
    v.code_dollar = Array.prototype.some.call(document.querySelectorAll(".weft-text code"),
      function (c) { return c.textContent === "$HOME"; }) ? 1 : 0;
    v.katex = document.querySelectorAll(".weft-text x-equation .katex").length;
    v.katex_errors = document.querySelectorAll(".katex-error").length;
    v.footnotes = document.querySelectorAll("section.footnotes li").length;
    v.footnote_refs = document.querySelectorAll("sup.footnote-ref a").length;
    v.note_div = document.querySelectorAll("div.note").length;
    var right = document.querySelector(".weft-text td[align=right]");
    v.align_right = right ? getComputedStyle(right).textAlign : "none";
    var center = document.querySelector(".weft-text td[align=center]");
    v.align_center = center ? getComputedStyle(center).textAlign : "none";
    var img = document.querySelector(".weft-text img");
    v.prose_image = img && img.src.indexOf("data:image/png") === 0 && img.naturalWidth === 24 ? 1 : 0;
    var xref = document.querySelector("a.weft-xref");
    v.xref_text = xref ? xref.textContent : "";
    v.xref_target = xref && document.getElementById(xref.getAttribute("href").slice(1)) ? 1 : 0;
    var cap = document.querySelector("figure figcaption");
    v.caption = cap ? cap.textContent.slice(0, 9) : "";
    var pre = document.createElement("pre");
    pre.textContent = "WEFT-VERDICT " + JSON.stringify(v);
    document.body.appendChild(pre);
  }
  (document.fonts ? document.fonts.ready : Promise.resolve()).then(function () { setTimeout(verdict, 200); });
});
</script>
EOF
	inject "$TMP/check2.js" "$TMP/md/prose.html" "$TMP/md/checked.html"
	chrome --dump-dom "file://$TMP/md/checked.html" >"$TMP/dom2.html"
	VERDICT=$(grep -o 'WEFT-VERDICT {.*}' "$TMP/dom2.html" | head -1 | sed 's/^WEFT-VERDICT //')
	if [ -z "$VERDICT" ]; then
		not_ok "browser_markdown_page_loads" "no verdict; chromium said: $(tail -5 "$TMP/chrome.log")"
	else
		echo "# verdict: $VERDICT" | cut -c1-400
		read_verdict "$VERDICT"
		expect browser_md_prices_are_text "$([ "$(field prices)" = 1 ] && echo yes)" "\$3 and \$7 became math"
		expect browser_md_code_span_wins "$([ "$(field code_dollar)" = 1 ] && echo yes)" "\$HOME lost from code"
		expect browser_md_math_only_math "$([ "$(field katex)" = 1 ] && [ "$(field katex_errors)" = 0 ] && echo yes)" \
			"$(field katex) formulas in the prose, $(field katex_errors) errors (want 1, 0)"
		expect browser_md_footnotes "$([ "$(field footnotes)" = 2 ] && [ "$(field footnote_refs)" = 2 ] && echo yes)" \
			"$(field footnotes) notes, $(field footnote_refs) references"
		expect browser_md_fenced_div "$([ "$(field note_div)" = 1 ] && echo yes)" "no div.note"
		expect browser_md_table_alignment "$([ "$(field align_right)" = right ] && [ "$(field align_center)" = center ] && echo yes)" \
			"right column: $(field align_right), centre column: $(field align_center)"
		expect browser_md_local_image_embedded "$([ "$(field prose_image)" = 1 ] && echo yes)" "data/swatch.png not embedded"
		expect browser_md_figure_reference "$([ "$(field xref_text)" = "Figure 1" ] && [ "$(field xref_target)" = 1 ] && [ "$(field caption)" = "Figure 1." ] && echo yes)" \
			"link '$(field xref_text)', target $(field xref_target), caption '$(field caption)'"
	fi
	rm -f "$OUTDIR/prose.png"
	chrome --window-size=1100,1800 --screenshot="$OUTDIR/prose.png" "file://$OUTDIR/prose.html" >/dev/null
	if [ -s "$OUTDIR/prose.png" ] && shot_ok "$OUTDIR/prose.png"; then
		ok "browser_screenshot_prose"
	else
		not_ok "browser_screenshot_prose" "$OUTDIR/prose.png missing or blank"
	fi
fi
