/*
 * LaTeX renderers (tex, texminted, texpweave, texpygments) against Pweave's
 * reference outputs, rendered from Pweave's executed chunk list, plus the
 * presentation options the reference does not exercise.
 *
 * Accepted differences from the references, applied to the REFERENCE text
 * before comparing (each is a Pweave bug weft does not reproduce):
 *   1. "\label{fig:None}" lines are dropped: Pweave labels every unnamed
 *      chunk's figure "fig:None", a "multiply defined" LaTeX warning and a
 *      useless cross-reference target.
 *   2. "width= 50%" becomes "width= 0.5\linewidth": in LaTeX a raw % starts a
 *      comment, so Pweave's line lost its closing "]{file}" and broke the
 *      document.
 *   3. texpygments only: "\PY{k}{print}" becomes "\PY{n+nb}{print}": Pweave
 *      used IPython's lexer with a 2019 Pygments that tokenised print as a
 *      keyword; Pygments 2.14's Python lexer calls it a builtin.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "pweave_executed.h"
#include "render/highlight.h"
#include "render/latex.h"
#include "text_check.h"
#include "unit.h"

static char tmpdir[256];

/* Render the executed formatters_test document as `format` into out. */
static int render_fmt(const char *format, struct highlighter *hl, struct strbuf *out)
{
	struct pweave_executed px;
	struct weft_error err;
	weft_error_init(&err);
	if (pweave_executed_load(&px, pweave_compat_path("formats/formatters_test_executed.json"),
				 "formatters_test.pmd", &err) < 0) {
		printf("#   load: %s\n", weft_error_text(&err));
		weft_error_free(&err);
		return -1;
	}
	char outpath[512];
	snprintf(outpath, sizeof(outpath), "%s/formatters_test.tex", tmpdir);
	struct render_options opts = {.format = format, .output_path = outpath,
				      .figure_dir = "figures", .figure_format = "pdf",
				      .highlight = hl ? highlight_code : NULL, .highlight_ctx = hl};
	int rc = latex_render(format, &px.doc, &px.res, &opts, out, &err);
	if (rc < 0)
		printf("#   render: %s\n", weft_error_text(&err));
	pweave_executed_free(&px);
	weft_error_free(&err);
	return rc;
}

/*
 * Drop the block of packages and definitions weft puts at the top of a
 * fragment ("% weft (FORMAT): ..." to "... end of what this report uses"),
 * which Pweave's references lack (their \PY macros and environments were
 * left undefined); true when there was one.
 */
static bool drop_definitions(struct strbuf *got)
{
	static const char end[] = "end of what this report uses\n";
	if (strncmp(got->buf, "% weft (", 8))
		return false;
	const char *e = strstr(got->buf, end);
	if (!e)
		return false;
	size_t cut = (size_t)(e - got->buf) + sizeof(end) - 1;
	memmove(got->buf, got->buf + cut, got->len - cut + 1);
	got->len -= cut;
	return true;
}

/*
 * Compare a rendering with formatters_test_REF.<ext> after the accepted
 * differences, and the definitions block weft adds (all but tex need one).
 */
static void check_against_ref(const char *format, const char *ext, struct highlighter *hl)
{
	struct strbuf got, ref;
	strbuf_init(&got);
	strbuf_init(&ref);
	char rel[128];
	snprintf(rel, sizeof(rel), "formats/formatters_test_REF.%s", ext);
	CHECK(strbuf_read_file(&ref, pweave_compat_path(rel)) == 0);
	CHECK(render_fmt(format, hl, &got) == 0);
	CHECK(drop_definitions(&got) == (strcmp(format, "tex") != 0));
	replace_all(&ref, "\\label{fig:None}\n", "");                    /* difference 1 */
	replace_all(&ref, "width= 50%]", "width= 0.5\\linewidth]");      /* difference 2 */
	if (!strcmp(format, "texpygments"))
		replace_all(&ref, "\\PY{k}{print}", "\\PY{n+nb}{print}"); /* difference 3 */
	if (strcmp(got.buf, ref.buf))
		show_first_diff(got.buf, ref.buf);
	CHECK_STR(got.buf, ref.buf);
	strbuf_free(&got);
	strbuf_free(&ref);
}

TEST(tex_matches_reference) { check_against_ref("tex", "tex", NULL); }
TEST(texminted_matches_reference) { check_against_ref("texminted", "texminted", NULL); }
TEST(texpweave_matches_reference) { check_against_ref("texpweave", "texpweave", NULL); }

TEST(texpygments_matches_reference)
{
	struct highlighter hl;
	highlighter_init(&hl, NULL);
	struct strbuf probe;
	strbuf_init(&probe);
	bool have = highlight_code(&hl, "x = 1\n", "python", "latex", &probe) == 0;
	if (!have)
		printf("#   no Pygments (%s)\n", hl.why ? hl.why : "?");
	else {
		check_against_ref("texpygments", "texpygments", &hl);
		CHECK(hl.requests > 1);
	}
	strbuf_free(&probe);
	highlighter_free(&hl);
	if (!have)
		SKIP("Pygments unavailable");
}

/* The figures the reference names exist and are PDFs (the data came from the JSON). */
TEST(figures_written_as_pdf)
{
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_fmt("tex", NULL, &out) == 0);
	const char *names[] = {"formatters_test_figure2_1.pdf", "formatters_test_sinc_1.pdf",
			       "formatters_test_figure8_5.pdf", "formatters_test_figure9_3.pdf"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/figures/%s", tmpdir, names[i]);
		struct strbuf f;
		strbuf_init(&f);
		CHECK(strbuf_read_file(&f, path) == 0);
		CHECK(f.len > 100 && !memcmp(f.buf, "%PDF", 4));
		strbuf_free(&f);
	}
	strbuf_free(&out);
}

/* Without a highlighter, texpygments still frames escaped code in a Verbatim block. */
TEST(texpygments_falls_back_to_escaped_code)
{
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_fmt("texpygments", NULL, &out) == 0);
	CHECK(strstr(out.buf, "\\begin{Verbatim}[commandchars=\\\\\\{\\},frame=single,fontsize=\\small, "
			      "xleftmargin=0.5em]\nfrom pylab import *\n") != NULL);
	CHECK(strstr(out.buf, "print(\"pweave \" * 20)\n\\end{Verbatim}") != NULL);
	CHECK(strstr(out.buf, "\\PY{") == NULL);
	strbuf_free(&out);
}

/*
 * A synthetic document written as a Pweave executed list, so each test states
 * its chunks and outputs in a few lines of JSON.
 */
static int load_json(struct pweave_executed *px, const char *json)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/doc.json", tmpdir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(json, f);
	fclose(f);
	struct weft_error err;
	weft_error_init(&err);
	int rc = pweave_executed_load(px, path, "doc.texw", &err);
	if (rc < 0)
		printf("#   load: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

static int render_px(struct pweave_executed *px, const char *format, struct strbuf *out)
{
	char outpath[512];
	snprintf(outpath, sizeof(outpath), "%s/doc.tex", tmpdir);
	struct render_options opts = {.format = format, .output_path = outpath,
				      .figure_dir = "figs", .figure_format = "pdf"};
	struct weft_error err;
	weft_error_init(&err);
	int rc = latex_render(format, &px->doc, &px->res, &opts, out, &err);
	if (rc < 0)
		printf("#   render: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

#define PNG_B64 "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

/* Text and figures keep the order they were produced in. */
TEST(figures_interleave_with_text)
{
	struct pweave_executed px;
	CHECK(load_json(&px, "[{\"type\":\"code\",\"content\":\"a()\",\"number\":1,\"caption\":\"Cap\","
			     "\"name\":\"pl\",\"result\":["
			     "{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"before\\n\"},"
			     "{\"output_type\":\"display_data\",\"metadata\":{},\"data\":{\"image/png\":\"" PNG_B64 "\"}},"
			     "{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"after\\n\"},"
			     "{\"output_type\":\"display_data\",\"metadata\":{},\"data\":{\"image/png\":\"" PNG_B64 "\"}}"
			     "]}]") == 0);
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_px(&px, "tex", &out) == 0);
	const char *b = strstr(out.buf, "before");
	const char *f1 = strstr(out.buf, "figs/doc_pl_1.png");
	const char *a = strstr(out.buf, "after");
	const char *f2 = strstr(out.buf, "figs/doc_pl_2.png");
	CHECK(b && f1 && a && f2 && b < f1 && f1 < a && a < f2);
	/* both groups get the caption, only the first the label (labels must be unique) */
	CHECK(count(out.buf, "\\label{fig:pl}") == 1);
	CHECK(count(out.buf, "\\caption{Cap}") == 2);
	strbuf_free(&out);
	pweave_executed_free(&px);
}

/* echo, results=hidden, include=False, fig=False and raw tex results. */
TEST(presentation_options)
{
	struct pweave_executed px;
	CHECK(load_json(&px,
			"[{\"type\":\"code\",\"content\":\"secret_code()\",\"number\":1,\"echo\":false,"
			"\"result\":[{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"shown\\n\"}]},"
			"{\"type\":\"doc\",\"content\":\"\\nSome \\\\LaTeX{} prose.\\n\"},"
			"{\"type\":\"code\",\"content\":\"hidden_out()\",\"number\":2,\"results\":\"hidden\","
			"\"result\":[{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"invisible\\n\"},"
			"{\"output_type\":\"display_data\",\"metadata\":{},\"data\":{\"image/png\":\"" PNG_B64 "\"}}]},"
			"{\"type\":\"code\",\"content\":\"noinc()\",\"number\":3,\"include\":false,"
			"\"result\":[{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"still text\\n\"},"
			"{\"output_type\":\"display_data\",\"metadata\":{},\"data\":{\"image/png\":\"" PNG_B64 "\"}}]},"
			"{\"type\":\"code\",\"content\":\"raw()\",\"number\":4,\"results\":\"tex\","
			"\"result\":[{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"\\\\textbf{raw}\"}]},"
			"{\"type\":\"code\",\"content\":\"df\",\"number\":5,"
			"\"result\":[{\"output_type\":\"execute_result\",\"execution_count\":1,\"metadata\":{},"
			"\"data\":{\"text/plain\":\"plain table\",\"text/latex\":\"\\\\begin{tabular}{l}x\\\\end{tabular}\"}}]}"
			"]") == 0);
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_px(&px, "texpweave", &out) == 0);
	CHECK(strstr(out.buf, "secret_code") == NULL);
	CHECK(strstr(out.buf, "\\begin{pweaveout}\nshown\n\\end{pweaveout}\n") != NULL);
	CHECK(strstr(out.buf, "Some \\LaTeX{} prose.") != NULL);
	CHECK(strstr(out.buf, "\\begin{pweavecode}\nhidden_out()\n\\end{pweavecode}\n") != NULL);
	CHECK(strstr(out.buf, "invisible") == NULL);
	CHECK(strstr(out.buf, "figs/doc_figure2_1.png") != NULL); /* hidden results keep figures */
	CHECK(strstr(out.buf, "still text") != NULL);
	CHECK(strstr(out.buf, "doc_figure3_1") == NULL);            /* include=False drops figures */
	CHECK(strstr(out.buf, "\n\\textbf{raw}\n") != NULL);
	CHECK(strstr(out.buf, "\\begin{pweaveout}\n\\textbf") == NULL);
	CHECK(strstr(out.buf, "\n\\begin{tabular}{l}x\\end{tabular}") != NULL);
	CHECK(strstr(out.buf, "plain table") == NULL);
	strbuf_free(&out);
	pweave_executed_free(&px);
}

/* Term mode: each statement with output is followed by it; ANSI colours are stripped from tracebacks. */
TEST(term_transcript_and_traceback)
{
	struct pweave_executed px;
	CHECK(load_json(&px,
			"[{\"type\":\"code\",\"content\":\"a = 1\\nprint(a)\\nb = 2\\nprint(b)\\nc = 3\","
			"\"number\":1,\"term\":true,\"result\":["
			"{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"1\\n\"},"
			"{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"2\\n\"}]},"
			"{\"type\":\"code\",\"content\":\"1/0\",\"number\":2,\"result\":["
			"{\"output_type\":\"error\",\"ename\":\"ZeroDivisionError\",\"evalue\":\"division by zero\","
			"\"traceback\":[\"\\u001b[0;31mTraceback (most recent call last)\\u001b[0m\","
			"\"  File \\\"doc.texw\\\", line 9\",\"ZeroDivisionError: division by zero\"]}]}]") == 0);
	/* pweave_executed gives a term chunk one statement; make it five, outputs on 2 and 4 */
	struct chunk_outcome *oc = &px.res.chunks[0];
	free(oc->statements[0].source);
	free(oc->statements);
	const char *src[] = {"a = 1\n", "print(a)\n", "b = 2\n", "print(b)\n", "c = 3\n"};
	oc->statements = xcalloc(5, sizeof(*oc->statements));
	oc->nstatements = 5;
	for (int i = 0; i < 5; i++) {
		oc->statements[i].source = xstrdup(src[i]);
		oc->statements[i].line = i + 1;
	}
	oc->outputs.items[0].statement = 1;
	oc->outputs.items[1].statement = 3;
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_px(&px, "tex", &out) == 0);
	/* a blank line before each statement after the first, as Pweave's term_test reference */
	CHECK(strstr(out.buf, "\\begin{verbatim}\na = 1\nprint(a)\n\\end{verbatim}\n"
			      "\\begin{verbatim}\n1\n\\end{verbatim}\n\n"
			      "\\begin{verbatim}\nb = 2\nprint(b)\n\\end{verbatim}\n"
			      "\\begin{verbatim}\n2\n\\end{verbatim}\n\n"
			      "\\begin{verbatim}\nc = 3\n\\end{verbatim}\n") != NULL);
	CHECK(strstr(out.buf, "\\begin{verbatim}\nTraceback (most recent call last)\n  File \"doc.texw\", "
			      "line 9\nZeroDivisionError: division by zero\n\\end{verbatim}\n") != NULL);
	CHECK(strchr(out.buf, 0x1b) == NULL);
	strbuf_free(&out);
	pweave_executed_free(&px);
}

/* A crash stops execution: the note follows the chunk, later chunks show code only. */
TEST(stopped_execution_and_skipped_chunks)
{
	struct pweave_executed px;
	CHECK(load_json(&px,
			"[{\"type\":\"code\",\"content\":\"import os; os._exit(1)\",\"number\":1,\"result\":["
			"{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"partial\\n\"}]},"
			"{\"type\":\"code\",\"content\":\"after()\",\"number\":2,\"result\":["
			"{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":\"never\\n\"}]}]") == 0);
	px.res.stopped_at = 0;
	px.res.chunks[0].status = RUN_CRASHED;
	px.res.chunks[0].error_message = xstrdup("the interpreter died (exit status 1)");
	px.res.chunks[1].state = CHUNK_SKIPPED;
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_px(&px, "texminted", &out) == 0);
	const char *partial = strstr(out.buf, "partial");
	const char *note = strstr(out.buf, "execution stopped");
	const char *after = strstr(out.buf, "after()");
	CHECK(partial && note && after && partial < note && note < after);
	CHECK(strstr(out.buf, "never") == NULL);
	CHECK(strstr(out.buf, "% weft: chunk 2 was not run") != NULL);
	/* --frozen: stale results are shown, with a comment saying so */
	px.res.stopped_at = -1;
	px.res.chunks[0].state = CHUNK_STALE;
	px.res.chunks[0].why = xstrdup("code changed");
	strbuf_reset(&out);
	CHECK(render_px(&px, "tex", &out) == 0);
	CHECK(strstr(out.buf, "partial\n\\end{verbatim}\n% weft: frozen, results of chunk 1 are from "
			      "an earlier version: code changed\n") != NULL);
	strbuf_free(&out);
	pweave_executed_free(&px);
}

/* Append a segment (the model's own text_block_add lives with the reader). */
static void add_seg(struct text_block *tb, enum segment_kind kind, const char *text, int idx)
{
	ARRAY_GROW(tb->segs, tb->nsegs + 1, tb->alloc);
	struct text_segment *sg = &tb->segs[tb->nsegs++];
	memset(sg, 0, sizeof(*sg));
	sg->kind = kind;
	sg->text = xstrdup(text);
	sg->inline_index = idx;
}

/* Inline results are spliced into the prose. */
TEST(inline_results)
{
	struct pweave_executed px;
	CHECK(load_json(&px, "[{\"type\":\"doc\",\"content\":\"x\"}]") == 0);
	struct text_block *tb = &px.doc.blocks[0].text;
	add_seg(tb, SEG_INLINE_EXPR, "1+1", 0);
	add_seg(tb, SEG_TEXT, " and ", -1);
	add_seg(tb, SEG_INLINE_EXPR, "1/0", 1);
	weave_results_free(&px.res);
	weave_results_init(&px.res, 0, 2);
	px.res.inl[0].done = true;
	strbuf_addstr(&px.res.inl[0].text, "2");
	px.res.inl[1].done = true;
	px.res.inl[1].status = RUN_ERROR;
	px.res.inl[1].error_message = xstrdup("ZeroDivisionError");
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_px(&px, "tex", &out) == 0);
	CHECK_STR(out.buf, "x2 and \\texttt{[ZeroDivisionError]}");
	strbuf_free(&out);
	pweave_executed_free(&px);
}

TEST(unknown_format_is_an_error)
{
	struct pweave_executed px;
	CHECK(load_json(&px, "[]") == 0);
	struct strbuf out;
	strbuf_init(&out);
	struct render_options opts = {.format = "texnope"};
	struct weft_error err;
	weft_error_init(&err);
	CHECK(latex_render("texnope", &px.doc, &px.res, &opts, &out, &err) < 0);
	CHECK(strstr(weft_error_text(&err), "texnope") != NULL);
	CHECK(latex_format_known("texminted") && !latex_format_known("html"));
	weft_error_free(&err);
	strbuf_free(&out);
	pweave_executed_free(&px);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/weft-latex-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN_COMPAT(tex_matches_reference);
	RUN_COMPAT(texminted_matches_reference);
	RUN_COMPAT(texpweave_matches_reference);
	RUN_COMPAT(texpygments_matches_reference);
	RUN_COMPAT(figures_written_as_pdf);
	RUN_COMPAT(texpygments_falls_back_to_escaped_code);
	RUN(figures_interleave_with_text);
	RUN(presentation_options);
	RUN(term_transcript_and_traceback);
	RUN(stopped_execution_and_skipped_chunks);
	RUN(inline_results);
	RUN(unknown_format_is_an_error);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("#   could not remove %s\n", tmpdir);
	return unit_done();
}
