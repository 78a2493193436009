/*
 * HTML renderers (html, md2html, pandoc2html, pandoc2latex) and the Pygments
 * highlighter, from Pweave's executed chunk list and small synthetic documents.
 *
 * Accepted differences from Pweave's references:
 *   html     "<span class=\"k\">print</span>" is "<span class=\"nb\">print</span>":
 *            Pweave's 2019 IPython lexer tokenised print as a keyword; Pygments
 *            2.14's Python lexer calls it a builtin. Everything else is byte-equal.
 *   md2html  compared by structure (the sequence of code blocks, outputs,
 *            images and captions), not bytes: Pweave's page came from
 *            python-markdown and a web-font theme loaded from the network;
 *            weft's page is its own design, self-contained by requirement.
 *   pandoc2html  pandoc is not installed here; weft must say so clearly.
 *
 * Also writes a showcase page (prose, math, tables, code, outputs, a figure,
 * an error) to $WEFT_BUILD/browser/sample_report.html for tests/cli/test_browser.sh.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "pweave_executed.h"
#include "render/highlight.h"
#include "render/html.h"
#include "text_check.h"
#include "unit.h"

static char tmpdir[256];
static bool have_pygments;

static int load_formatters(struct pweave_executed *px)
{
	struct weft_error err;
	weft_error_init(&err);
	int rc = pweave_executed_load(px, pweave_compat_path("formats/formatters_test_executed.json"),
				      "formatters_test.pmd", &err);
	if (rc < 0)
		printf("#   load: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

/* Render `px` as `format` with output file <tmpdir>/<name>. */
static int render(struct pweave_executed *px, const char *format, struct highlighter *hl,
		  bool embed, struct strbuf *out, struct weft_error *err)
{
	char outpath[512];
	snprintf(outpath, sizeof(outpath), "%s/report.html", tmpdir);
	struct render_options opts = {.format = format, .output_path = outpath,
				      .figure_dir = "figures", .figure_format = "png",
				      .embed_figures = embed, .version = "9.8.7",
				      .highlight = hl ? highlight_code : NULL, .highlight_ctx = hl};
	int rc = html_render(format, &px->doc, &px->res, &opts, out, err);
	if (rc < 0)
		printf("#   render: %s\n", weft_error_text(err));
	return rc;
}

TEST(html_matches_reference)
{
	if (!have_pygments) {
		SKIP("Pygments unavailable");
	}
	struct highlighter hl;
	highlighter_init(&hl, NULL);
	struct pweave_executed px;
	CHECK(load_formatters(&px) == 0);
	struct strbuf got, ref;
	strbuf_init(&got);
	strbuf_init(&ref);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "html", &hl, false, &got, &err) == 0);
	CHECK(strbuf_read_file(&ref, pweave_compat_path("formats/formatters_test_REF.html")) == 0);
	replace_all(&ref, "<span class=\"k\">print</span>", "<span class=\"nb\">print</span>");
	if (strcmp(got.buf, ref.buf))
		show_first_diff(got.buf, ref.buf);
	CHECK_STR(got.buf, ref.buf);
	/* the fragment links figure files, which must exist and be PNGs */
	char path[512];
	snprintf(path, sizeof(path), "%s/figures/formatters_test_figure8_5.png", tmpdir);
	struct strbuf png;
	strbuf_init(&png);
	CHECK(strbuf_read_file(&png, path) == 0 && png.len > 8 && !memcmp(png.buf, "\x89PNG", 4));
	strbuf_free(&png);
	weft_error_free(&err);
	strbuf_free(&got);
	strbuf_free(&ref);
	pweave_executed_free(&px);
	highlighter_free(&hl);
}

/* Without Pygments the fragment keeps Pweave's structure with escaped code. */
TEST(html_without_highlighter_escapes_code)
{
	struct pweave_executed px;
	CHECK(load_formatters(&px) == 0);
	struct strbuf got;
	strbuf_init(&got);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "html", NULL, false, &got, &err) == 0);
	CHECK(strstr(got.buf, "\n<div class=\"highlight\"><pre><span></span>print(&quot;Verbatim "
			      "output&quot;)\n</pre></div>\n\n<div class=\"highlight\"><pre>\nVerbatim "
			      "output\n</pre></div>\n") != NULL);
	CHECK(strstr(got.buf, "class=\"n\"") == NULL);
	weft_error_free(&err);
	strbuf_free(&got);
	pweave_executed_free(&px);
}

/*
 * The content skeleton of an HTML report: one token per code block, output
 * block (with its text), image and caption, in document order. `code_mark`
 * and `out_mark` are how each page marks those blocks.
 */
static void skeleton(const char *html, const char *code_mark, const char *out_mark,
		     struct strbuf *sk)
{
	const char *marks[] = {code_mark, out_mark, "<img ", "<figcaption"};
	const char *p = html;
	for (;;) {
		const char *best = NULL;
		int which = -1;
		for (int k = 0; k < 4; k++) {
			const char *q = strstr(p, marks[k]);
			if (q && (!best || q < best)) {
				best = q;
				which = k;
			}
		}
		if (!best)
			break;
		p = best + strlen(marks[which]);
		if (which == 0) {
			strbuf_addstr(sk, "code\n");
		} else if (which == 1) {
			const char *s = !strncmp(p, "<pre>", 5) ? p + 5 : p;
			const char *end = strstr(s, "</pre>");
			if (!end)
				break;
			struct strbuf t;
			strbuf_init(&t);
			while (*s == '\n')
				s++;
			strbuf_add(&t, s, (size_t)(end - s));
			strbuf_rtrim(&t);
			strbuf_addf(sk, "output[%s]\n", t.buf);
			strbuf_free(&t);
			p = end;
		} else if (which == 2) {
			strbuf_addstr(sk, "img\n");
		} else {
			const char *gt = strchr(p, '>');
			const char *end = gt ? strstr(gt, "</figcaption>") : NULL;
			if (!end)
				break;
			/* weft numbers captioned figures; Pweave's reference does not */
			const char *num = strstr(gt, "<span class=\"weft-fignum\">");
			if (num == gt + 1 && strstr(num, "</span> ") && strstr(num, "</span> ") < end)
				gt = strstr(num, "</span> ") + 7;
			strbuf_addf(sk, "caption[%.*s]\n", (int)(end - gt - 1), gt + 1);
			p = end;
		}
	}
}

TEST(md2html_structure_matches_reference)
{
	struct pweave_executed px;
	CHECK(load_formatters(&px) == 0);
	struct strbuf got, ref, sk_got, sk_ref;
	strbuf_init(&got);
	strbuf_init(&ref);
	strbuf_init(&sk_got);
	strbuf_init(&sk_ref);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "md2html", NULL, true, &got, &err) == 0);
	CHECK(strbuf_read_file(&ref, pweave_compat_path("formats/formatters_test_REF.md2html")) == 0);
	/* Pweave marks code with Pygments' empty <span></span>, outputs with a bare <pre> */
	const char *ref_body = strstr(ref.buf, "<BODY>");
	CHECK(ref_body != NULL);
	skeleton(ref_body ? ref_body : "", "<div class=\"highlight\"><pre><span></span>",
		 "<div class=\"highlight\"><pre>\n", &sk_ref);
	skeleton(got.buf, "<div class=\"weft-code\">", "<div class=\"weft-output\">", &sk_got);
	CHECK(count(sk_ref.buf, "code\n") == 15 && count(sk_ref.buf, "img\n") == 16);
	if (strcmp(sk_got.buf, sk_ref.buf))
		show_first_diff(sk_got.buf, sk_ref.buf);
	CHECK_STR(sk_got.buf, sk_ref.buf);
	/* results="tex" passes raw text through in both */
	CHECK(count(got.buf, "No echo!") == 2 && count(ref.buf, "No echo!") == 2);
	weft_error_free(&err);
	strbuf_free(&got);
	strbuf_free(&ref);
	strbuf_free(&sk_got);
	strbuf_free(&sk_ref);
	pweave_executed_free(&px);
}

/* The page is standalone: embedded CSS, data: figures, unique anchors, title, footer. */
TEST(md2html_page_is_self_contained)
{
	struct pweave_executed px;
	CHECK(load_formatters(&px) == 0);
	px.doc.front_matter = xstrdup("title: \"Formatters & friends\"\nauthor:\n  - Ada\n  - Bob\n"
				      "date: 2026-11-25\nweft:\n  echo: true\n");
	struct strbuf got;
	strbuf_init(&got);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "md2html", NULL, true, &got, &err) == 0);
	CHECK(!strncmp(got.buf, "<!DOCTYPE html>\n<html lang=\"en\">", 32));
	CHECK(strstr(got.buf, "<title>Formatters &amp; friends</title>") != NULL);
	CHECK(strstr(got.buf, "<h1>Formatters &amp; friends</h1>") != NULL);
	CHECK(strstr(got.buf, "Ada, Bob &middot; 2026-11-25") != NULL);
	CHECK(strstr(got.buf, ".weft-output>pre{") != NULL);      /* page CSS compiled in */
	CHECK(strstr(got.buf, ".highlight .k,") != NULL);         /* Pygments colours */
	CHECK(strstr(got.buf, "by weft 9.8.7.</footer>") != NULL);
	CHECK(count(got.buf, "<img src=\"data:image/png;base64,iVBOR") == 16);
	CHECK(strstr(got.buf, "src=\"http") == NULL && strstr(got.buf, "href=\"http") == NULL);
	CHECK(strstr(got.buf, "url(http") == NULL && strstr(got.buf, "@import") == NULL);
	/* two chunks are named "sinc": ids stay unique */
	CHECK(count(got.buf, "id=\"fig:sinc\"") == 1 && count(got.buf, "id=\"fig:sinc-2\"") == 1);
	CHECK(strstr(got.buf, "</span> Sinc function</figcaption>") != NULL);
	CHECK(strstr(got.buf, "katex.render(") == NULL); /* no math, no KaTeX */
	CHECK(strstr(got.buf, "@font-face") == NULL);
	weft_error_free(&err);
	strbuf_free(&got);
	pweave_executed_free(&px);
}

TEST(md2html_links_figures_when_not_embedding)
{
	struct pweave_executed px;
	CHECK(load_formatters(&px) == 0);
	struct strbuf got;
	strbuf_init(&got);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "md2html", NULL, false, &got, &err) == 0);
	CHECK(strstr(got.buf, "<img src=\"figures/formatters_test_sinc_1.png\" alt=\"Sinc function\"") !=
	      NULL);
	CHECK(strstr(got.buf, "data:image") == NULL);
	char path[512];
	snprintf(path, sizeof(path), "%s/figures/formatters_test_figure2_1.png", tmpdir);
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size > 100);
	weft_error_free(&err);
	strbuf_free(&got);
	pweave_executed_free(&px);
}

/* --- synthetic documents -------------------------------------------------- */

/* A chunk object for a Pweave executed list. */
static json_t *chunk_json(int number, const char *code, json_t *result)
{
	return json_pack("{s:s, s:s, s:i, s:o}", "type", "code", "content", code, "number", number,
			 "result", result);
}

static json_t *doc_json(const char *text)
{
	return json_pack("{s:s, s:s}", "type", "doc", "content", text);
}

static json_t *stream_json(const char *text)
{
	return json_pack("{s:s, s:s, s:s}", "output_type", "stream", "name", "stdout", "text", text);
}

/* Load a JSON chunk list (steals `list`) as document `name`. */
static int load_list(struct pweave_executed *px, json_t *list, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/doc.json", tmpdir);
	int rc = json_dump_file(list, path, 0);
	json_decref(list);
	if (rc < 0)
		return -1;
	struct weft_error err;
	weft_error_init(&err);
	rc = pweave_executed_load(px, path, name, &err);
	if (rc < 0)
		printf("#   load: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

static const char pandas_html[] =
	"<div>\n<style scoped>\n    .dataframe tbody tr th:only-of-type {\n        vertical-align: "
	"middle;\n    }\n\n    .dataframe tbody tr th {\n        vertical-align: top;\n    }\n\n    "
	".dataframe thead th {\n        text-align: right;\n    }\n</style>\n<table border=\"1\" "
	"class=\"dataframe\">\n  <thead>\n    <tr style=\"text-align: right;\">\n      <th></th>\n  "
	"    <th>temp_c</th>\n      <th>rain_mm</th>\n    </tr>\n    <tr>\n      <th>city</th>\n    "
	"  <th></th>\n      <th></th>\n    </tr>\n  </thead>\n  <tbody>\n    <tr>\n      "
	"<th>Oslo</th>\n      <td>4.5</td>\n      <td>61.0</td>\n    </tr>\n    <tr>\n      "
	"<th>Lima</th>\n      <td>19.2</td>\n      <td>0.4</td>\n    </tr>\n    <tr>\n      "
	"<th>Pune</th>\n      <td>27.8</td>\n      <td>2.1</td>\n    </tr>\n    <tr>\n      "
	"<th>Kyiv</th>\n      <td>9.1</td>\n      <td>35.6</td>\n    </tr>\n  </tbody>\n</table>\n"
	"</div>";

/* The PNG of the formatters document's sinc figure, base64 (for realistic figures). */
static char *sinc_png_b64(void)
{
	json_t *root = json_load_file(pweave_compat_path("formats/formatters_test_executed.json"), 0,
				      NULL);
	const char *b64 = json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(json_array_get(root, 7), "result"), 0),
				"data"),
		"image/png"));
	char *r = xstrdup(b64 ? b64 : "");
	json_decref(root);
	return r;
}

/*
 * A report with everything a reader sees: front matter title, prose with
 * math and a Markdown table, highlighted code, text output, a pandas table,
 * a captioned figure, and an error traceback.
 */
static int load_showcase(struct pweave_executed *px)
{
	char *png = sinc_png_b64();
	json_t *l = json_array();
	json_array_append_new(
		l, doc_json("\nThis report looks at **monthly rainfall** in four cities. The model is "
			    "$r_t = \\alpha + \\beta t + \\varepsilon_t$, fitted by least squares:\n\n"
			    "$$\\hat\\beta = \\frac{\\sum_t (t-\\bar t)(r_t-\\bar r)}{\\sum_t "
			    "(t-\\bar t)^2}$$\n\n## Data\n\n| city | climate |\n|---|---|\n| Oslo | "
			    "temperate |\n| Lima | arid |\n\n"));
	json_array_append_new(
		l, chunk_json(1, "import pandas as pd\n# read the measurements\ndf = "
				 "pd.read_csv(\"rain.csv\", index_col=\"city\")\nprint(f\"{len(df)} "
				 "cities, mean rain {df.rain_mm.mean():.1f} mm\")\ndf",
			      json_pack("[o, {s:s, s:i, s:{}, s:{s:s, s:s}}]",
					stream_json("4 cities, mean rain 24.8 mm\n"), "output_type",
					"execute_result", "execution_count", 1, "metadata", "data",
					"text/plain", "      temp_c  rain_mm\ncity ...", "text/html",
					pandas_html)));
	json_array_append_new(l, doc_json("\n## Trend\n\nThe sinc curve below stands in for the "
					  "fitted trend (see Figure 1).\n\n"));
	json_t *c2 = chunk_json(2, "import matplotlib.pyplot as plt\nplt.plot(x, "
				   "np.sinc(x))\nplt.title(\"Fitted trend\")",
				json_pack("[{s:s, s:{}, s:{s:s, s:s}}]", "output_type",
					  "display_data", "metadata", "data", "image/png", png,
					  "text/plain", "<Figure size 600x400>"));
	json_object_set_new(c2, "caption", json_string("Fitted trend of *rainfall* over time"));
	json_object_set_new(c2, "name", json_string("trend"));
	json_object_set_new(c2, "width", json_string("80%"));
	json_array_append_new(l, c2);
	json_array_append_new(l, doc_json("\nAn expected failure, kept in the report:\n"));
	json_array_append_new(
		l, chunk_json(3, "df.loc[\"Paris\"]",
			      json_pack("[{s:s, s:s, s:s, s:[s, s, s]}]", "output_type", "error",
					"ename", "KeyError", "evalue", "'Paris'", "traceback",
					"\x1b[0;31mKeyError\x1b[0m  Traceback (most recent call last)",
					"  File \"analysis.pmd\", line 31, in <module>",
					"KeyError: 'Paris'")));
	free(png);
	if (load_list(px, l, "analysis.pmd") < 0)
		return -1;
	px->doc.front_matter = xstrdup("title: Rainfall in four cities\nauthor: weft test suite\n");
	return 0;
}

TEST(md2html_showcase_page)
{
	struct pweave_executed px;
	CHECK(load_showcase(&px) == 0);
	struct highlighter hl;
	highlighter_init(&hl, NULL);
	struct strbuf got;
	strbuf_init(&got);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "md2html", have_pygments ? &hl : NULL, true, &got, &err) == 0);
	/* prose through md4c: emphasis, headings, a real table, math spans */
	CHECK(strstr(got.buf, "<strong>monthly rainfall</strong>") != NULL);
	CHECK(strstr(got.buf, "<h2>Data</h2>") != NULL);
	CHECK(strstr(got.buf, "<th>city</th>") != NULL && strstr(got.buf, "<td>arid</td>") != NULL);
	CHECK(strstr(got.buf, "<x-equation>r_t = \\alpha") != NULL);
	CHECK(strstr(got.buf, "<x-equation type=\"display\">\\hat\\beta") != NULL);
	/* math present: KaTeX inlined, fonts as data: URIs, nothing fetched */
	struct stat st;
	if (stat("/usr/share/javascript/katex/katex.min.js", &st) == 0) {
		CHECK(strstr(got.buf, "katex.render(") != NULL);
		CHECK(strstr(got.buf, "src:url(data:font/woff2;base64,") != NULL);
		CHECK(strstr(got.buf, "url(fonts/") == NULL);
		CHECK(strstr(got.buf, "</script") == strstr(got.buf, "</script>\n<script>\n(function"));
	} else {
		printf("#   note: libjs-katex missing, KaTeX checks skipped\n");
	}
	/* pandas table as HTML, text output escaped and distinct from code */
	CHECK(strstr(got.buf, "<div class=\"weft-output weft-rich\">\n<div>\n<style scoped>") != NULL);
	CHECK(strstr(got.buf, "<div class=\"weft-output\"><pre>4 cities, mean rain 24.8 mm</pre></div>") !=
	      NULL);
	CHECK(strstr(got.buf, "city ...") == NULL); /* text/html wins over text/plain */
	/* figure with Markdown caption and anchor */
	CHECK(strstr(got.buf, "<figure class=\"weft-figure\" id=\"fig:trend\">") != NULL);
	CHECK(strstr(got.buf, "<figcaption><span class=\"weft-fignum\">Figure 1.</span> Fitted trend of <em>rainfall</em> over time</figcaption>") !=
	      NULL);
	CHECK(strstr(got.buf, "style=\"width:80%\"") != NULL);
	/* traceback: escaped, no ANSI, marked as an error */
	CHECK(strstr(got.buf, "<div class=\"weft-output weft-error\"><pre>KeyError  Traceback (most "
			      "recent call last)\n  File &quot;analysis.pmd&quot;, line 31, in &lt;module&gt;"
			      "\nKeyError: &#39;Paris&#39;</pre></div>") != NULL);
	CHECK(strchr(got.buf, 0x1b) == NULL);
	if (have_pygments)
		CHECK(strstr(got.buf, "<span class=\"c1\"># read the measurements</span>") != NULL);

	/* keep the page for the browser test */
	const char *b = getenv("WEFT_BUILD");
	char dir[512], path[600];
	snprintf(dir, sizeof(dir), "%s/browser", b && *b ? b : "build");
	mkdir(b && *b ? b : "build", 0777);
	mkdir(dir, 0777);
	snprintf(path, sizeof(path), "%s/sample_report.html", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fwrite(got.buf, 1, got.len, f);
		fclose(f);
	}
	weft_error_free(&err);
	strbuf_free(&got);
	highlighter_free(&hl);
	pweave_executed_free(&px);
}

/* Without KaTeX the page still renders, showing TeX source, and says why. */
TEST(md2html_math_without_katex)
{
	struct pweave_executed px;
	CHECK(load_showcase(&px) == 0);
	setenv("WEFT_KATEX_DIR", "/nonexistent/katex", 1);
	struct strbuf got;
	strbuf_init(&got);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "md2html", NULL, true, &got, &err) == 0);
	unsetenv("WEFT_KATEX_DIR");
	CHECK(strstr(got.buf, "<x-equation>r_t") != NULL);
	CHECK(strstr(got.buf, "katex.render(") == NULL);
	weft_error_free(&err);
	strbuf_free(&got);
	pweave_executed_free(&px);
}

/* Skipped chunks and the stop note, on the page and in the fragment. */
TEST(stopped_execution_marker)
{
	json_t *l = json_array();
	json_array_append_new(l, chunk_json(1, "crash()", json_pack("[o]", stream_json("partial <ok>\n"))));
	json_array_append_new(l, chunk_json(2, "later()", json_array()));
	struct pweave_executed px;
	CHECK(load_list(&px, l, "doc.pmd") == 0);
	px.res.stopped_at = 0;
	px.res.chunks[0].status = RUN_TIMEOUT;
	px.res.chunks[0].error_message = xstrdup("timed out after 2 s");
	px.res.chunks[1].state = CHUNK_SKIPPED;
	struct strbuf got;
	strbuf_init(&got);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "md2html", NULL, true, &got, &err) == 0);
	const char *partial = strstr(got.buf, "partial &lt;ok&gt;");
	const char *note = strstr(got.buf, "<div class=\"weft-stopped\" role=\"alert\">");
	const char *skipped = strstr(got.buf, "<div class=\"weft-chunk weft-skipped\">");
	CHECK(partial && note && skipped && partial < note && note < skipped);
	CHECK(strstr(got.buf, "Not run: execution stopped before chunk 2.") != NULL);
	strbuf_reset(&got);
	CHECK(render(&px, "html", NULL, true, &got, &err) == 0);
	CHECK(strstr(got.buf, "execution stopped") != NULL);
	CHECK(strstr(got.buf, "<!-- weft: chunk 2 was not run") != NULL);
	weft_error_free(&err);
	strbuf_free(&got);
	pweave_executed_free(&px);
}

/* results="html" passes HTML through; "markdown" is converted on the page; hidden hides. */
TEST(raw_results_and_hidden)
{
	json_t *l = json_array();
	json_t *c1 = chunk_json(1, "print('<b>bold</b>')", json_pack("[o]", stream_json("<b>bold</b>\n")));
	json_object_set_new(c1, "results", json_string("html"));
	json_array_append_new(l, c1);
	json_t *c2 = chunk_json(2, "print('*em*')", json_pack("[o]", stream_json("*em*\n")));
	json_object_set_new(c2, "results", json_string("markdown"));
	json_object_set_new(c2, "echo", json_false());
	json_array_append_new(l, c2);
	json_t *c3 = chunk_json(3, "print('hush')", json_pack("[o]", stream_json("hush\n")));
	json_object_set_new(c3, "results", json_string("hidden"));
	json_array_append_new(l, c3);
	struct pweave_executed px;
	CHECK(load_list(&px, l, "doc.pmd") == 0);
	struct strbuf got;
	strbuf_init(&got);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "md2html", NULL, true, &got, &err) == 0);
	CHECK(strstr(got.buf, "\n<b>bold</b>\n") != NULL);
	CHECK(strstr(got.buf, "<p><em>em</em></p>") != NULL);
	CHECK(strstr(got.buf, "print(&#39;*em*&#39;)") == NULL);
	CHECK(strstr(got.buf, "print(&#39;hush&#39;)") != NULL);
	CHECK(strstr(got.buf, "<pre>hush") == NULL);
	weft_error_free(&err);
	strbuf_free(&got);
	pweave_executed_free(&px);
}

/* Fenced code in prose is highlighted like chunks; a frozen chunk says its results are old. */
TEST(prose_code_and_frozen_note)
{
	json_t *l = json_array();
	json_array_append_new(l, doc_json("\nText.\n\n```python\nif a < b: pass  # cmp\n```\n\n"
					  "```\nplain <text>\n```\n"));
	json_array_append_new(l, chunk_json(1, "x = 1", json_pack("[o]", stream_json("old\n"))));
	struct pweave_executed px;
	CHECK(load_list(&px, l, "doc.pmd") == 0);
	px.res.chunks[0].state = CHUNK_STALE;
	px.res.chunks[0].why = xstrdup("code changed");
	struct highlighter hl;
	highlighter_init(&hl, NULL);
	struct strbuf got;
	strbuf_init(&got);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render(&px, "md2html", have_pygments ? &hl : NULL, true, &got, &err) == 0);
	if (have_pygments) {
		CHECK(strstr(got.buf, "<span class=\"k\">if</span> <span class=\"n\">a</span> "
				      "<span class=\"o\">&lt;</span>") != NULL);
		CHECK(strstr(got.buf, "language-python") == NULL);
	} else {
		CHECK(strstr(got.buf, "<pre><code class=\"language-python\">if a &lt; b") != NULL);
	}
	CHECK(strstr(got.buf, "<pre><code>plain &lt;text&gt;\n</code></pre>") != NULL);
	CHECK(strstr(got.buf, "Frozen: these results are from an earlier version of this chunk "
			      "(code changed).") != NULL);
	weft_error_free(&err);
	strbuf_free(&got);
	highlighter_free(&hl);
	pweave_executed_free(&px);
}

/* Text and figures keep the order they happened in, in both HTML formats. */
TEST(figures_interleave_with_text)
{
	char *png = sinc_png_b64();
	json_t *fig = json_pack("{s:s, s:{}, s:{s:s}}", "output_type", "display_data", "metadata",
				"data", "image/png", png);
	json_t *l = json_array();
	json_t *c = chunk_json(1, "show()", json_pack("[o, O, o, o]", stream_json("before\n"), fig,
						      stream_json("after\n"), fig));
	json_object_set_new(c, "name", json_string("ord"));
	json_object_set_new(c, "caption", json_string("Cap"));
	json_array_append_new(l, c);
	free(png);
	struct pweave_executed px;
	CHECK(load_list(&px, l, "doc.pmd") == 0);
	const char *fmts[] = {"md2html", "html"};
	for (int i = 0; i < 2; i++) {
		struct strbuf got;
		strbuf_init(&got);
		struct weft_error err;
		weft_error_init(&err);
		CHECK(render(&px, fmts[i], NULL, true, &got, &err) == 0);
		const char *b = strstr(got.buf, "before");
		const char *f1 = b ? strstr(b, "<img") : NULL;
		const char *a = f1 ? strstr(f1, "after") : NULL;
		const char *f2 = a ? strstr(a, "<img") : NULL;
		CHECK(b && f1 && a && f2);
		CHECK(count(got.buf, "<figcaption") == 2);
		/* the anchor goes to the first group only */
		CHECK(count(got.buf, i == 0 ? "id=\"fig:ord\"" : "data-label = \"fig:ord\"") == 1);
		weft_error_free(&err);
		strbuf_free(&got);
	}
	pweave_executed_free(&px);
}

/* pandoc2html / pandoc2latex name the format and pandoc when pandoc is missing. */
TEST(pandoc_formats_need_pandoc)
{
	struct pweave_executed px;
	CHECK(load_formatters(&px) == 0);
	char *old = getenv("PATH") ? xstrdup(getenv("PATH")) : NULL;
	setenv("PATH", tmpdir, 1); /* no pandoc there, whatever the machine has */
	const char *fmts[] = {"pandoc2html", "pandoc2latex"};
	for (int i = 0; i < 2; i++) {
		struct strbuf got;
		strbuf_init(&got);
		struct weft_error err;
		weft_error_init(&err);
		char outpath[512];
		snprintf(outpath, sizeof(outpath), "%s/report.x", tmpdir);
		struct render_options opts = {.format = fmts[i], .output_path = outpath};
		CHECK(html_render(fmts[i], &px.doc, &px.res, &opts, &got, &err) < 0);
		const char *msg = weft_error_text(&err);
		CHECK(strstr(msg, fmts[i]) != NULL);
		CHECK(strstr(msg, "requires pandoc") != NULL);
		CHECK(strstr(msg, "formatters_test.pmd") == msg);
		weft_error_free(&err);
		strbuf_free(&got);
	}

	/* with a (fake) pandoc on PATH: weft's Pandoc Markdown goes in, pandoc's output comes out */
	char fake[512];
	snprintf(fake, sizeof(fake), "%s/pandoc", tmpdir);
	FILE *f = fopen(fake, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("#!/bin/sh\necho \"PANDOC $*\"\n/bin/cat\n[ -z \"$FAIL_PANDOC\" ]\n", f);
		fclose(f);
		chmod(fake, 0755);
	}
	for (int i = 0; i < 2; i++) {
		struct strbuf got;
		strbuf_init(&got);
		struct weft_error err;
		weft_error_init(&err);
		char outpath[512];
		snprintf(outpath, sizeof(outpath), "%s/report.x", tmpdir);
		struct render_options opts = {.format = fmts[i], .output_path = outpath,
					      .figure_format = "png"};
		CHECK(html_render(fmts[i], &px.doc, &px.res, &opts, &got, &err) == 0);
		CHECK(strstr(got.buf, i == 0 ? "PANDOC -f markdown -t html5 --standalone"
					     : "PANDOC -f markdown -t latex --standalone") != NULL);
		CHECK(strstr(got.buf, "Verbatim output") != NULL);
		setenv("FAIL_PANDOC", "1", 1);
		weft_error_clear(&err);
		strbuf_reset(&got);
		CHECK(html_render(fmts[i], &px.doc, &px.res, &opts, &got, &err) < 0);
		CHECK(strstr(weft_error_text(&err), "pandoc failed") != NULL);
		unsetenv("FAIL_PANDOC");
		weft_error_free(&err);
		strbuf_free(&got);
	}
	if (old)
		setenv("PATH", old, 1);
	free(old);
	CHECK(html_format_known("md2html") && html_format_known("pandoc2latex") &&
	      !html_format_known("tex"));
	pweave_executed_free(&px);
}

/* --- highlighter ------------------------------------------------------------ */

/* An in-memory memo table standing in for the cache store's. */
struct memo {
	char *keys[64];
	struct strbuf vals[64];
	int n, gets, puts;
};

static int memo_get(void *ctx, const char *key, struct strbuf *out)
{
	struct memo *m = ctx;
	m->gets++;
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->keys[i], key)) {
			strbuf_add(out, m->vals[i].buf, m->vals[i].len);
			return 0;
		}
	return -1;
}

static void memo_put(void *ctx, const char *key, const char *value, size_t len)
{
	struct memo *m = ctx;
	m->puts++;
	if (m->n == 64)
		return;
	m->keys[m->n] = xstrdup(key);
	strbuf_init(&m->vals[m->n]);
	strbuf_add(&m->vals[m->n], value, len);
	m->n++;
}

/* An unchanged document re-renders from the memo without starting Python. */
TEST(highlight_memo_avoids_python)
{
	if (!have_pygments) {
		SKIP("Pygments unavailable");
	}
	struct memo m = {.n = 0};
	struct pweave_executed px;
	CHECK(load_formatters(&px) == 0);
	struct strbuf first, second;
	strbuf_init(&first);
	strbuf_init(&second);
	struct weft_error err;
	weft_error_init(&err);

	struct highlighter hl;
	highlighter_init(&hl, NULL);
	highlighter_set_memo(&hl, memo_get, memo_put, &m);
	CHECK(render(&px, "md2html", &hl, true, &first, &err) == 0);
	CHECK(hl.state == HL_RUNNING && hl.requests > 0 && m.puts > 0);
	unsigned long computed = hl.requests + hl.memo_hits; /* equal chunks share a key */
	highlighter_free(&hl);

	highlighter_init(&hl, NULL);
	highlighter_set_memo(&hl, memo_get, memo_put, &m);
	CHECK(render(&px, "md2html", &hl, true, &second, &err) == 0);
	CHECK(hl.state == HL_IDLE && hl.pid == 0); /* Python never started */
	CHECK(hl.requests == 0 && hl.memo_hits == computed);
	CHECK_STR(first.buf, second.buf);
	highlighter_free(&hl);

	/* a different style or code is a different key */
	struct strbuf k1, k2, k3;
	strbuf_init(&k1);
	strbuf_init(&k2);
	strbuf_init(&k3);
	highlight_memo_key(&k1, "x = 1\n", "python", "html");
	highlight_memo_key(&k2, "x = 1\n", "python", "latex");
	highlight_memo_key(&k3, "x = 2\n", "python", "html");
	CHECK(strcmp(k1.buf, k2.buf) && strcmp(k1.buf, k3.buf) && !strncmp(k1.buf, "pygments:html:python:", 21));
	strbuf_free(&k1);
	strbuf_free(&k2);
	strbuf_free(&k3);

	for (int i = 0; i < m.n; i++) {
		free(m.keys[i]);
		strbuf_free(&m.vals[i]);
	}
	weft_error_free(&err);
	strbuf_free(&first);
	strbuf_free(&second);
	pweave_executed_free(&px);
}

/* A missing interpreter (or Pygments) is a clean -1, remembered, never a crash. */
TEST(highlight_unavailable_is_clean)
{
	struct highlighter hl;
	highlighter_init(&hl, "/nonexistent/bin/python3");
	struct strbuf out;
	strbuf_init(&out);
	CHECK(highlight_code(&hl, "x = 1\n", "python", "html", &out) == -1);
	CHECK(out.len == 0 && hl.state == HL_UNAVAILABLE && hl.why != NULL);
	CHECK(highlight_code(&hl, "y = 2\n", "python", "html", &out) == -1);
	highlighter_free(&hl);

	/* an interpreter that is not Python: the ready line never comes */
	highlighter_init(&hl, "/bin/true");
	CHECK(highlight_code(&hl, "x = 1\n", "python", "latex", &out) == -1);
	CHECK(hl.state == HL_UNAVAILABLE);
	highlighter_free(&hl);

	/* Python without Pygments: a wrapper that starts it without site-packages */
	char fake[512];
	snprintf(fake, sizeof(fake), "%s/python-no-pygments", tmpdir);
	FILE *f = fopen(fake, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n", f);
		fclose(f);
		chmod(fake, 0755);
	}
	highlighter_init(&hl, fake);
	CHECK(highlight_code(&hl, "x = 1\n", "python", "html", &out) == -1);
	CHECK(hl.state == HL_UNAVAILABLE && hl.why && strstr(hl.why, "Pygments unavailable"));
	CHECK(hl.pid == 0 && hl.fd == -1);
	highlighter_free(&hl);

	highlighter_init(&hl, NULL);
	CHECK(highlight_code(&hl, "x = 1\n", "python", "rtf", &out) == -1); /* unknown style */
	CHECK(hl.state == HL_IDLE);
	highlighter_free(&hl);
	strbuf_free(&out);
}

/* One subprocess serves many requests; unknown languages fall back to plain text. */
TEST(highlight_languages_and_reuse)
{
	if (!have_pygments) {
		SKIP("Pygments unavailable");
	}
	struct highlighter hl;
	highlighter_init(&hl, NULL);
	struct strbuf out;
	strbuf_init(&out);
	CHECK(highlight_code(&hl, "def f(x):\n    return x  # ok\n", "python", "html", &out) == 0);
	CHECK(strstr(out.buf, "<span class=\"k\">def</span>") != NULL);
	CHECK(strstr(out.buf, "<span class=\"c1\"># ok</span>") != NULL);
	pid_t pid = hl.pid;
	strbuf_reset(&out);
	CHECK(highlight_code(&hl, "SELECT 1;\n", "sql", "latex", &out) == 0);
	CHECK(strstr(out.buf, "\\PY{k}{SELECT}") != NULL);
	strbuf_reset(&out);
	CHECK(highlight_code(&hl, "a <b> & c\n", "no-such-language", "html", &out) == 0);
	CHECK(strstr(out.buf, "a &lt;b&gt; &amp; c") != NULL);
	strbuf_reset(&out);
	CHECK(highlight_code(&hl, "s = \"caf\xc3\xa9\"\n", "python", "html", &out) == 0);
	CHECK(strstr(out.buf, "caf\xc3\xa9") != NULL); /* UTF-8 survives the JSON channel */
	CHECK(hl.pid == pid && hl.requests == 4);
	strbuf_free(&out);
	highlighter_free(&hl);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/weft-html-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return 1;
	struct highlighter probe;
	highlighter_init(&probe, NULL);
	struct strbuf sb;
	strbuf_init(&sb);
	have_pygments = highlight_code(&probe, "x\n", "python", "html", &sb) == 0;
	strbuf_free(&sb);
	highlighter_free(&probe);

	RUN_COMPAT(html_matches_reference);
	RUN_COMPAT(html_without_highlighter_escapes_code);
	RUN_COMPAT(md2html_structure_matches_reference);
	RUN_COMPAT(md2html_page_is_self_contained);
	RUN_COMPAT(md2html_links_figures_when_not_embedding);
	RUN(md2html_showcase_page);
	RUN(md2html_math_without_katex);
	RUN(stopped_execution_marker);
	RUN(raw_results_and_hidden);
	RUN(prose_code_and_frozen_note);
	RUN(figures_interleave_with_text);
	RUN_COMPAT(pandoc_formats_need_pandoc);
	RUN_COMPAT(highlight_memo_avoids_python);
	RUN(highlight_unavailable_is_clean);
	RUN(highlight_languages_and_reuse);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("#   could not remove %s\n", tmpdir);
	return unit_done();
}
