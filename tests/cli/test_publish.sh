#!/bin/sh
# `weft publish` (pypublish): a #' script to an HTML report, compared with
# Pweave's reference by content; PDF through LaTeX (a stand-in TeX engine when
# none is installed, and the error that names the missing one); errors.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
PUB="$COMPAT/publish"
cd "$TMP" || exit 1

# Content of an HTML report as a list of (kind, text): headings, paragraphs
# (math as $...$), code blocks, output blocks, figures. Pweave's theme and weft's
# md2html page differ by design (styles, scripts, wrappers, footer: the reference's
# last 400 bytes hold a date), so only this content is compared.
cat >"$TMP/content.py" <<'EOF'
import html.parser, json, re, sys

class Content(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.items, self.stack, self.buf, self.kind, self.done = [], [], [], None, False
        self.math = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if self.done:
            return
        if tag == "footer" or "footer" in cls.split():
            self.done = True
            return
        if tag == "img":
            self.items.append(("figure", ""))
        if self.kind is None:
            if re.fullmatch(r"h[1-6]", tag) or tag == "p":
                self.kind, self.depth = ("heading" if tag != "p" else "p"), tag
                self.buf = []
            elif tag == "pre":
                self.kind, self.depth, self.buf = "pre", tag, []
                self.pre_spans = 0
                self.pre_class = " ".join(c for _, c in self.stack)
        elif self.kind == "pre" and tag == "span" and cls:
            self.pre_spans += 1
        if tag in ("x-equation",) or (tag == "span" and "math" in cls.split()):
            self.buf.append("$")
            self.math += 1
        self.stack.append((tag, cls))
    def handle_endtag(self, tag):
        if self.done:
            return
        while self.stack:
            t, c = self.stack.pop()
            if t in ("x-equation",) or (t == "span" and "math" in c.split()):
                self.buf.append("$")
            if t == tag:
                break
        if self.kind and tag == self.depth:
            text = "".join(self.buf)
            if self.kind == "pre":
                # weft marks its blocks; Pweave's code is Pygments markup, its output plain
                if "weft-output" in self.pre_class or "weft-code" in self.pre_class:
                    kind = "code" if "weft-code" in self.pre_class else "output"
                else:
                    kind = "code" if self.pre_spans else "output"
                self.items.append((kind, text.strip("\n")))
            else:
                text = re.sub(r"\\[()\[\]]", "", text)  # Pweave's MathJax delimiters
                text = re.sub(r"\$\s+", "$", re.sub(r"\s+\$", "$", re.sub(r"\s+", " ", text)))
                self.items.append((self.kind, text.strip()))
            self.kind = None
    def handle_data(self, data):
        if self.kind and not self.done:
            self.buf.append(data)

def content(path):
    p = Content()
    p.feed(open(path, encoding="utf-8").read())
    return p.items

if __name__ == "__main__":
    a, b = content(sys.argv[1]), content(sys.argv[2])
    if a != b:
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x != y:
                print("first difference at item", i, "\n  ref:", x, "\n  got:", y)
                break
        sys.exit(1)
    print(json.dumps([k for k, _ in a]))
EOF

if have_compat; then
# --- HTML: Pweave's reference by content --------------------------------------------
cp "$PUB/publish_test.txt" .
if "$WEFT" publish -q publish_test.txt 2>"$TMP/err" && [ -s publish_test.html ]; then
	ok "publish_html_default_name"
else
	not_ok "publish_html_default_name" "$(cat "$TMP/err")"
fi
if out=$($PY "$TMP/content.py" "$PUB/publish_test_ref.html" publish_test.html 2>&1); then
	ok "publish_html_content_matches_REF"
	# the comparison covered every kind of content the reference has
	case "$out" in
	*'"heading"'*) case "$out" in
		*'"code"'*) case "$out" in
			*'"output"'*) case "$out" in
				*'"p"'*) ok "publish_html_REF_has_code_output_text" ;;
				*) not_ok "publish_html_REF_has_code_output_text" "$out" ;; esac ;;
			*) not_ok "publish_html_REF_has_code_output_text" "$out" ;; esac ;;
		*) not_ok "publish_html_REF_has_code_output_text" "$out" ;; esac ;;
	*) not_ok "publish_html_REF_has_code_output_text" "$out" ;;
	esac
	# and it can tell a different report apart (one output changed)
	sed 's,<pre>22</pre>,<pre>23</pre>,' publish_test.html >"$TMP/other.html"
	if $PY "$TMP/content.py" "$PUB/publish_test_ref.html" "$PUB/publish_test_ref.html" >/dev/null &&
		! $PY "$TMP/content.py" "$PUB/publish_test_ref.html" "$TMP/other.html" >/dev/null 2>&1; then
		ok "publish_content_comparison_discriminates"
	else
		not_ok "publish_content_comparison_discriminates"
	fi
else
	not_ok "publish_html_content_matches_REF" "$out"
fi
check_contains "publish_html_standalone_page" publish_test.html "<!DOCTYPE html>"
check_contains "publish_html_highlighted" publish_test.html '<span class="kn">import</span>'

# the cell-marker variant of the same script (# %% lines) gives the same content
cp "$PUB/publish_test_cell.txt" .
"$WEFT" publish -q -o cell.html publish_test_cell.txt 2>"$TMP/err"
if out=$($PY "$TMP/content.py" "$PUB/publish_test_ref.html" cell.html 2>&1); then
	ok "publish_html_cell_markers_match_REF"
else
	not_ok "publish_html_cell_markers_match_REF" "$out $(cat "$TMP/err")"
fi

else
	skip "publish: HTML compared with Pweave's reference" "$COMPAT_WHY"
fi

# a figure is embedded in the page
cat >fig.py <<'EOF'
#' # A figure
#'
#' A sine wave:

#+ caption="Sine"
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.plot([0, 1, 2], [0, 1, 0])
plt.show()
EOF
if "$WEFT" publish -q fig.py 2>"$TMP/err" && [ -s fig.html ]; then
	check_contains "publish_html_figure_embedded" fig.html '<img src="data:image/png;base64,'
	check_contains "publish_html_figure_caption" fig.html "Sine"
else
	not_ok "publish_html_figure" "$(cat "$TMP/err")"
fi

# weave options pass through: linked figures in another folder
if "$WEFT" publish -q --no-embed -F figs -g svg -o linked.html fig.py 2>"$TMP/err"; then
	check_contains "publish_passes_figure_options" linked.html 'src="figs/'
	check "publish_figure_file_written" sh -c 'ls figs/*.svg >/dev/null 2>&1'
else
	not_ok "publish_passes_figure_options" "$(cat "$TMP/err")"
fi

# --- PDF ------------------------------------------------------------------------------
cat >pdf.py <<'EOF'
#' # Report
#'
#' Some *markdown* prose.

open("ran.marker", "w").write("x")
print(6 * 7)
EOF
# Without any TeX engine: a clear error naming the engines, before anything runs.
mkdir -p "$TMP/bin-empty"
PATH="$TMP/bin-empty" "$WEFT" publish -f pdf pdf.py 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && ok "publish_pdf_no_tex_status" || not_ok "publish_pdf_no_tex_status" "rc=$rc"
check_contains "publish_pdf_no_tex_names_engines" "$TMP/err" "none of lualatex, xelatex or pdflatex is installed"
check_contains "publish_pdf_no_tex_names_file" "$TMP/err" "pdf.py"
check "publish_pdf_no_tex_runs_nothing" test ! -e ran.marker
PATH="$TMP/bin-empty" "$WEFT" publish -f pdf -e xelatex pdf.py 2>"$TMP/err"
check_contains "publish_pdf_missing_named_engine" "$TMP/err" "TeX engine 'xelatex', which is not installed"

if command -v pdflatex >/dev/null 2>&1 || command -v xelatex >/dev/null 2>&1 ||
	command -v lualatex >/dev/null 2>&1; then
	# a real TeX engine is installed: make a real PDF (no pandoc needed: weft writes the LaTeX)
	if "$WEFT" publish -q -f pdf pdf.py 2>"$TMP/err" && head -c 5 pdf.pdf | grep -q '%PDF-'; then
		ok "publish_pdf_real_engine"
	else
		not_ok "publish_pdf_real_engine" "$(cat "$TMP/err")"
	fi
	rm -f ran.marker
fi
# A stand-in engine (TeX is not a weft dependency) checks how weft drives it: in a private
# folder (not the report's), non-interactively, without shell escape, on job.tex, a
# standalone LaTeX file weft wrote, with TEXINPUTS naming the report's folder, and again
# while the log asks for a rerun.
mkdir -p "$TMP/bin-tex" out
cat >"$TMP/bin-tex/pdflatex" <<'EOF'
#!/bin/sh
echo "$PWD $*" >>"$ENGINE_ARGS"
echo "TEXINPUTS=$TEXINPUTS" >>"$ENGINE_ARGS"
grep -q 'documentclass' job.tex && grep -q 'emph{markdown}' job.tex || exit 1
printf '%%PDF-1.4 stand-in\n' >job.pdf
echo "LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right." >job.log
EOF
chmod +x "$TMP/bin-tex/pdflatex"
export ENGINE_ARGS="$TMP/engine.args"
if PATH="$TMP/bin-tex:$PATH" "$WEFT" publish -f pdf -e pdflatex -o out/report.pdf pdf.py 2>"$TMP/err" &&
	[ -s out/report.pdf ]; then
	ok "publish_pdf_through_engine"
	check "publish_pdf_engine_in_private_folder" sh -c "! grep -q '^$TMP/out ' '$ENGINE_ARGS'"
	check_contains "publish_pdf_engine_options" "$ENGINE_ARGS" "-interaction=nonstopmode -halt-on-error -file-line-error -no-shell-escape -jobname=job"
	check_contains "publish_pdf_engine_gets_job" "$ENGINE_ARGS" "input{job.tex}"
	check_contains "publish_pdf_texinputs_report_folder" "$ENGINE_ARGS" "TEXINPUTS=$TMP/out:"
	runs=$(grep -c -- '-jobname=job' "$ENGINE_ARGS")
	[ "$runs" = 4 ] && ok "publish_pdf_reruns_bounded" || not_ok "publish_pdf_reruns_bounded" "runs=$runs"
	check "publish_pdf_nothing_beside" sh -c "! ls out | grep -q -e '\.tex$' -e '\.aux$' -e '\.log$'"
	check_contains "publish_pdf_wrote_message" "$TMP/err" "wrote out/report.pdf"
else
	not_ok "publish_pdf_through_engine" "$(cat "$TMP/err")"
fi
# pypublish's convention, -o NAME.tex, also works: the PDF beside it, the LaTeX kept there
PATH="$TMP/bin-tex:$PATH" "$WEFT" publish -q -f pdf -e pdflatex -o other.tex pdf.py 2>"$TMP/err"
check "publish_pdf_tex_output_name" test -s other.pdf -a -s other.tex
# a failing engine: status 1, the message names the document and LaTeX's first error
cat >"$TMP/bin-tex/pdflatex" <<'EOF'
#!/bin/sh
printf './job.tex:3: Undefined control sequence.\n<recently read> \\oops\n\nl.3 \\oops\n' >job.log
exit 3
EOF
rm -f pdf.pdf
PATH="$TMP/bin-tex:$PATH" "$WEFT" publish -q -f pdf -e pdflatex pdf.py 2>"$TMP/err"; rc=$?
[ $rc = 1 ] && ok "publish_pdf_engine_failure_status" || not_ok "publish_pdf_engine_failure_status" "rc=$rc"
check_contains "publish_pdf_engine_failure_message" "$TMP/err" 'pdf.py: LaTeX failed: pdf.tex:3: Undefined control sequence. (at l.3 \oops)'
check "publish_pdf_engine_failure_no_pdf" test ! -e pdf.pdf

# --- errors ---------------------------------------------------------------------------
"$WEFT" publish -f docx pdf.py 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && ok "publish_unknown_format" || not_ok "publish_unknown_format" "rc=$rc"
check_contains "publish_unknown_format_named" "$TMP/err" "'docx'"
"$WEFT" publish nothere.py 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && ok "publish_missing_file_status" || not_ok "publish_missing_file_status" "rc=$rc"
check_contains "publish_missing_file_named" "$TMP/err" "nothere.py"
printf "#' Text\n\nx = 1\n1 / 0\n" >boom.py
"$WEFT" publish -q boom.py 2>"$TMP/err"; rc=$?
[ $rc = 1 ] && ok "publish_chunk_error_status" || not_ok "publish_chunk_error_status" "rc=$rc"
check_contains "publish_chunk_error_file_line" "$TMP/err" "boom.py:4:"
check "publish_chunk_error_still_writes_report" test -s boom.html
