/*
 * Renderer tests for the Markdown and reST families and the format table:
 * Pweave's formatters_test references reproduced from its executed chunk
 * list (pweave_executed.h), figure files and names, and every presentation
 * option on hand-built outcomes.
 *
 * Accepted differences from Pweave's references, each applied explicitly to
 * the reference text before comparing (see accept_*):
 *   - term=True (chunk 14): weft writes a console transcript (">>> " / "... "
 *     prompts, output after the statement that printed it) in one code block;
 *     Pweave 0.30 wrote the code block and then an output block.
 *   - softcover: Pweave labels figures of unnamed chunks "\label{fig:None}"
 *     (a dangling, duplicated label); weft writes no label for them.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "pweave_executed.h"
#include "render/figures.h"
#include "render/markdown.h"
#include "render/render.h"

static char tmpdir[256];

/* Replace the first occurrence of `from` by `to` in sb; returns 1 when found. */
static int replace_once(struct strbuf *sb, const char *from, const char *to)
{
	char *p = strstr(sb->buf, from);
	if (!p)
		return 0;
	struct strbuf t;
	strbuf_init(&t);
	strbuf_add(&t, sb->buf, (size_t)(p - sb->buf));
	strbuf_addstr(&t, to);
	strbuf_addstr(&t, p + strlen(from));
	strbuf_free(sb);
	*sb = t;
	return 1;
}

/* Print the first differing line of two texts, for a readable failure. */
static void show_diff(const char *want, const char *got)
{
	int line = 1;
	const char *w = want, *g = got;
	while (*w && *w == *g) {
		if (*w == '\n')
			line++;
		w++;
		g++;
	}
	const char *ws = w, *gs = g;
	while (ws > want && ws[-1] != '\n')
		ws--;
	while (gs > got && gs[-1] != '\n')
		gs--;
	printf("#   first difference at line %d\n#   want: %.*s\n#   got:  %.*s\n", line,
	       (int)strcspn(ws, "\n"), ws, (int)strcspn(gs, "\n"), gs);
}

/* Load Pweave's executed chunk list; aborts the test program when missing. */
static void load(struct pweave_executed *px)
{
	struct weft_error err;
	weft_error_init(&err);
	if (pweave_executed_load(px, pweave_compat_path("formats/formatters_test_executed.json"),
				 "formatters_test.pmd", &err) < 0) {
		printf("not ok - load executed json: %s\n", weft_error_text(&err));
		exit(1);
	}
	weft_error_free(&err);
}

/* Render `doc`/`res` as `format` into out, figures under tmpdir. Returns render_document's rc. */
static int render_as(const char *format, const struct document *doc, const struct weave_results *res,
		     const char *figure_format, struct strbuf *out)
{
	char outpath[512];
	snprintf(outpath, sizeof(outpath), "%s/%s.%s", tmpdir, "report", render_extension(format));
	struct render_options opts = {.format = format, .output_path = outpath,
				      .figure_dir = "figures", .figure_format = figure_format};
	struct weft_error err;
	weft_error_init(&err);
	int rc = render_document(doc, res, &opts, out, &err);
	if (rc < 0)
		printf("#   render %s: %s\n", format, weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

/* The term-mode difference, applied to a Markdown-family reference. */
static int accept_term_md(struct strbuf *ref, const char *cs, const char *ce, const char *os,
			  const char *oe)
{
	struct strbuf from, to;
	strbuf_init(&from);
	strbuf_init(&to);
	strbuf_addf(&from, "%s\nfor i in range(10):\n  print(i)\n%s%s\n", cs, ce, os);
	strbuf_addf(&to, "%s\n>>> for i in range(10):\n...   print(i)\n", cs);
	for (int i = 0; i < 10; i++)
		strbuf_addf(&to, "%d\n", i);
	strbuf_addstr(&to, ce);
	int ok = replace_once(ref, from.buf, to.buf);
	/* drop Pweave's output block body and end that followed */
	struct strbuf rest;
	strbuf_init(&rest);
	for (int i = 0; i < 10; i++)
		strbuf_addf(&rest, "%d\n", i);
	strbuf_addstr(&rest, oe);
	ok = ok && replace_once(ref, rest.buf, "");
	strbuf_free(&rest);
	strbuf_free(&from);
	strbuf_free(&to);
	return ok;
}

/* Compare a format's rendering with Pweave's reference after the named differences. */
static void check_reference(const char *format)
{
	struct pweave_executed px;
	load(&px);
	struct strbuf out, ref;
	strbuf_init(&out);
	strbuf_init(&ref);
	char name[128];
	snprintf(name, sizeof(name), "formats/formatters_test_REF.%s", format);
	CHECK(strbuf_read_file(&ref, pweave_compat_path(name)) == 0);
	CHECK(render_as(format, &px.doc, &px.res, "png", &out) == 0);

	if (!strcmp(format, "markdown") || !strcmp(format, "pandoc"))
		CHECK(accept_term_md(&ref, "```python", "```\n\n", "```", "```\n\n"));
	else if (!strcmp(format, "leanpub"))
		CHECK(accept_term_md(&ref, "{line-numbers=off}\n~~~~~~~~", "~~~~~~~~\n\n",
				     "{line-numbers=off}\n~~~~~~~~", "~~~~~~~~\n\n"));
	else if (!strcmp(format, "softcover")) {
		CHECK(accept_term_md(&ref, "\n```python", "```\n\n", "```\n", "```\n\n"));
		while (replace_once(&ref, " \\label{fig:None}", ""))
			;
	} else if (!strcmp(format, "rst") || !strcmp(format, "sphinx")) {
		const char *cs = !strcmp(format, "rst") ? ".. code:: python\n" : ".. code-block:: python\n";
		const char *os = !strcmp(format, "rst") ? ".. code::\n" : "::\n";
		struct strbuf from, to;
		strbuf_init(&from);
		strbuf_init(&to);
		strbuf_addf(&from, "%s\n    for i in range(10):\n      print(i)\n\n\n%s\n", cs, os);
		for (int i = 0; i < 10; i++)
			strbuf_addf(&from, "    %d\n", i);
		strbuf_addstr(&from, "    \n\n");
		strbuf_addf(&to, "%s\n    >>> for i in range(10):\n    ...   print(i)\n", cs);
		for (int i = 0; i < 10; i++)
			strbuf_addf(&to, "    %d\n", i);
		strbuf_addstr(&to, "\n\n");
		CHECK(replace_once(&ref, from.buf, to.buf));
		strbuf_free(&from);
		strbuf_free(&to);
	}
	if (strcmp(out.buf, ref.buf)) {
		CHECK(!"rendering equals the reference");
		show_diff(ref.buf, out.buf);
	}
	strbuf_free(&out);
	strbuf_free(&ref);
	pweave_executed_free(&px);
}

TEST(ref_markdown) { check_reference("markdown"); }
TEST(ref_pandoc) { check_reference("pandoc"); }
TEST(ref_leanpub) { check_reference("leanpub"); }
TEST(ref_softcover) { check_reference("softcover"); }
TEST(ref_rst) { check_reference("rst"); }
TEST(ref_sphinx) { check_reference("sphinx"); }

/* True when file `rel` under tmpdir holds exactly `len` bytes equal to data. */
static int file_equals(const char *rel, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	struct strbuf sb;
	strbuf_init(&sb);
	int ok = strbuf_read_file(&sb, path) == 0 && sb.len == len && !memcmp(sb.buf, data, len);
	strbuf_free(&sb);
	return ok;
}

TEST(figure_files)
{
	struct pweave_executed px;
	load(&px);
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_as("pandoc", &px.doc, &px.res, "png", &out) == 0);
	/* chunk 2 (unnamed, number 2): its PNG bytes, decoded from the notebook JSON */
	const struct mime_item *png = output_get_mime(&px.res.chunks[1].outputs.items[0], "image/png");
	CHECK(png && png->len > 1000);
	CHECK(png && file_equals("figures/formatters_test_figure2_1.png", png->data, png->len));
	/* chunk 9: five figures numbered in the order they were drawn */
	for (int i = 0; i < 5; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "figures/formatters_test_figure9_%d.png", i + 1);
		const struct mime_item *m =
			output_get_mime(&px.res.chunks[8].outputs.items[i], "image/png");
		CHECK(m && file_equals(rel, m->data, m->len));
	}
	/* chunk 8 has a caption: all five written, only the first shown */
	CHECK(strstr(out.buf, "formatters_test_figure8_1.png") != NULL);
	CHECK(strstr(out.buf, "formatters_test_figure8_2.png") == NULL);
	const struct mime_item *m5 = output_get_mime(&px.res.chunks[7].outputs.items[4], "image/png");
	CHECK(m5 && file_equals("figures/formatters_test_figure8_5.png", m5->data, m5->len));
	/* named chunk 5 "sinc" overwrote chunk 4's file, as in Pweave */
	const struct mime_item *s = output_get_mime(&px.res.chunks[4].outputs.items[0], "image/png");
	CHECK(s && file_equals("figures/formatters_test_sinc_1.png", s->data, s->len));
	strbuf_free(&out);
	pweave_executed_free(&px);
}

TEST(figure_svg_format)
{
	/* figures produced as SVG are written and referenced as .svg */
	struct pweave_executed px;
	load(&px);
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_as("pandoc", &px.doc, &px.res, "svg", &out) == 0);
	CHECK(strstr(out.buf, "![](figures/formatters_test_figure2_1.svg)\\\n") != NULL);
	const struct mime_item *svg =
		output_get_mime(&px.res.chunks[1].outputs.items[0], "image/svg+xml");
	CHECK(svg && file_equals("figures/formatters_test_figure2_1.svg", svg->data, svg->len));
	strbuf_free(&out);
	pweave_executed_free(&px);
}

TEST(figure_pdf_format)
{
	/* figures asked for as PDF are PDF files in Markdown too, not "<Figure>" text */
	struct pweave_executed px;
	load(&px);
	struct strbuf out;
	strbuf_init(&out);
	CHECK(render_as("pandoc", &px.doc, &px.res, "pdf", &out) == 0);
	CHECK(strstr(out.buf, "![](figures/formatters_test_figure2_1.pdf)\\\n") != NULL);
	CHECK(strstr(out.buf, "matplotlib.figure.Figure") == NULL);
	const struct mime_item *pdf =
		output_get_mime(&px.res.chunks[1].outputs.items[0], "application/pdf");
	CHECK(pdf && file_equals("figures/formatters_test_figure2_1.pdf", pdf->data, pdf->len));
	strbuf_free(&out);
	pweave_executed_free(&px);
}

/* ---- hand-built documents for the options the reference does not cover ---- */

struct mini {
	struct pweave_executed px; /* reuses the loader's free for the structs built here */
};

/* Start an empty document named `path`. */
static void mini_init(struct mini *m, const char *path, size_t nchunks, size_t ninline)
{
	memset(m, 0, sizeof(*m));
	m->px.doc.path = xstrdup(path);
	m->px.doc.input_format = xstrdup("markdown");
	weave_results_init(&m->px.res, nchunks, ninline);
}

/* Append a text block made of one literal segment. */
static struct text_block *mini_text(struct mini *m, const char *text)
{
	struct document *doc = &m->px.doc;
	ARRAY_GROW(doc->blocks, doc->nblocks + 1, doc->alloc);
	struct block *b = &doc->blocks[doc->nblocks++];
	memset(b, 0, sizeof(*b));
	b->kind = BLOCK_TEXT;
	ARRAY_GROW(b->text.segs, b->text.nsegs + 1, b->text.alloc);
	struct text_segment *s = &b->text.segs[b->text.nsegs++];
	memset(s, 0, sizeof(*s));
	s->kind = SEG_TEXT;
	s->text = xstrdup(text);
	return &b->text;
}

/* Append an inline segment (expression) to a text block. */
static void mini_inline(struct text_block *tb, const char *code, int index)
{
	ARRAY_GROW(tb->segs, tb->nsegs + 1, tb->alloc);
	struct text_segment *s = &tb->segs[tb->nsegs++];
	memset(s, 0, sizeof(*s));
	s->kind = SEG_INLINE_EXPR;
	s->text = xstrdup(code);
	s->inline_index = index;
}

/* Append a chunk with default options; returns its outcome (state RAN). */
static struct chunk_outcome *mini_chunk(struct mini *m, const char *code, struct chunk **out_ch)
{
	struct document *doc = &m->px.doc;
	ARRAY_GROW(doc->blocks, doc->nblocks + 1, doc->alloc);
	struct block *b = &doc->blocks[doc->nblocks++];
	memset(b, 0, sizeof(*b));
	b->kind = BLOCK_CHUNK;
	struct chunk *ch = &b->chunk;
	ch->index = (int)doc->nchunks++;
	ch->number = ch->index + 1;
	ch->code = xstrdup(code);
	ch->lang = xstrdup("python");
	ch->code_line = 10 * ch->number;
	ch->header_line = ch->code_line - 1;
	json_t *empty = json_object();
	pweave_executed_options(&ch->opts, empty);
	json_decref(empty);
	if (out_ch)
		*out_ch = ch;
	struct chunk_outcome *oc = &m->px.res.chunks[ch->index];
	oc->state = CHUNK_RAN;
	return oc;
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

static void add_stream(struct chunk_outcome *oc, const char *text, int statement)
{
	struct output *o = output_list_add(&oc->outputs, OUTPUT_STREAM);
	o->stream_name = xstrdup("stdout");
	strbuf_addstr(&o->text, text);
	o->statement = statement;
}

static void add_png(struct chunk_outcome *oc, const char *bytes, int statement)
{
	struct output *o = output_list_add(&oc->outputs, OUTPUT_DISPLAY_DATA);
	output_add_mime(o, "text/plain", "<Figure>", 8);
	output_add_mime(o, "image/png", bytes, strlen(bytes));
	o->statement = statement;
}

static void add_result(struct chunk_outcome *oc, enum output_type t, const char *mime,
		       const char *data, int statement)
{
	struct output *o = output_list_add(&oc->outputs, t);
	output_add_mime(o, "text/plain", "<plain>", 7);
	if (mime)
		output_add_mime(o, mime, data, strlen(data));
	o->statement = statement;
}

static char *mini_render(struct mini *m, const char *format)
{
	struct strbuf out;
	strbuf_init(&out);
	if (render_as(format, &m->px.doc, &m->px.res, "png", &out) < 0)
		CHECK(!"render failed");
	return strbuf_detach(&out, NULL);
}

TEST(interleaved_order)
{
	/* a figure drawn between two prints sits between their output blocks */
	struct mini m;
	mini_init(&m, "doc.pmd", 1, 0);
	struct chunk_outcome *oc = mini_chunk(&m, "print(1)\nplot()\nprint(2)\n", NULL);
	add_stream(oc, "one\n", -1);
	add_png(oc, "PNGDATA", -1);
	add_stream(oc, "two\n", -1);
	char *md = mini_render(&m, "pandoc");
	CHECK_STR(md, "```python\nprint(1)\nplot()\nprint(2)\n```\n\n"
		      "```\none\n```\n\n"
		      "![](figures/doc_figure1_1.png)\\\n\n"
		      "```\ntwo\n```\n\n");
	CHECK(file_equals("figures/doc_figure1_1.png", "PNGDATA", 7));
	free(md);
	char *rst = mini_render(&m, "rst");
	CHECK(strstr(rst, ".. code::\n\n    one\n    \n\n.. image:: figures/doc_figure1_1.png\n"
			  "   :width: 15 cm\n\n.. code::\n\n    two\n") != NULL);
	free(rst);
	pweave_executed_free(&m.px);
}

TEST(term_transcript)
{
	/* each statement with prompts, followed by what it printed; a figure splits the block */
	struct mini m;
	mini_init(&m, "t.pmd", 1, 0);
	struct chunk *ch;
	struct chunk_outcome *oc =
		mini_chunk(&m, "x = 1\nfor i in range(2):\n    print(i)\nx\nplot()\nx + 1\n", &ch);
	ch->opts.term = true;
	const char *stmts[] = {"x = 1\n", "for i in range(2):\n    print(i)\n", "x\n", "plot()\n",
			       "x + 1\n"};
	oc->statements = xcalloc(5, sizeof(*oc->statements));
	for (int i = 0; i < 5; i++) {
		oc->statements[i].source = xstrdup(stmts[i]);
		oc->statements[i].line = 10 + i;
	}
	oc->nstatements = 5;
	add_stream(oc, "0\n1\n", 1);
	add_result(oc, OUTPUT_EXECUTE_RESULT, NULL, NULL, 2);
	add_png(oc, "P", 3);
	add_result(oc, OUTPUT_EXECUTE_RESULT, NULL, NULL, 4);
	char *md = mini_render(&m, "pandoc");
	CHECK_STR(md, "```python\n>>> x = 1\n>>> for i in range(2):\n...     print(i)\n0\n1\n"
		      ">>> x\n<plain>\n>>> plot()\n```\n\n"
		      "![](figures/t_figure1_1.png)\\\n\n"
		      "```python\n>>> x + 1\n<plain>\n```\n\n");
	free(md);
	pweave_executed_free(&m.px);
}

TEST(results_and_include)
{
	struct mini m;
	mini_init(&m, "r.pmd", 5, 0);
	struct chunk *c1, *c2, *c3, *c4, *c5;
	struct chunk_outcome *o1 = mini_chunk(&m, "print('a')\nplot()\n", &c1);
	add_stream(o1, "hidden text\n", -1);
	add_png(o1, "P1", -1);
	set_str(&c1->opts.results, "hidden");
	struct chunk_outcome *o2 = mini_chunk(&m, "print('*b*')\n", &c2);
	add_stream(o2, "*raw markdown*", -1);
	set_str(&c2->opts.results, "markdown");
	c2->opts.echo = false;
	struct chunk_outcome *o3 = mini_chunk(&m, "print('c')\nplot()\n", &c3);
	add_stream(o3, "not included\n", -1);
	add_png(o3, "P3", -1);
	c3->opts.include = false;
	struct chunk_outcome *o4 = mini_chunk(&m, "never run\n", &c4);
	c4->opts.evaluate = false;
	o4->state = CHUNK_NOT_EVALUATED;
	struct chunk_outcome *o5 = mini_chunk(&m, "plot()\n", &c5);
	add_png(o5, "P5", -1);
	c5->opts.fig = false;
	char *md = mini_render(&m, "pandoc");
	/* hidden results: no text, but the figure (as in Pweave) */
	CHECK(strstr(md, "hidden text") == NULL);
	CHECK(strstr(md, "![](figures/r_figure1_1.png)\\\n") != NULL);
	/* raw results: passed through between newlines, no fences */
	CHECK(strstr(md, "\n*raw markdown*\n") != NULL);
	CHECK(strstr(md, "print('*b*')") == NULL);
	/* include=False: code only */
	CHECK(strstr(md, "print('c')") != NULL);
	CHECK(strstr(md, "not included") == NULL && strstr(md, "r_figure3_1") == NULL);
	/* evaluate=False: code shown */
	CHECK(strstr(md, "```python\nnever run\n```\n\n") != NULL);
	/* fig=False: no figure */
	CHECK(strstr(md, "r_figure5_1") == NULL);
	free(md);
	pweave_executed_free(&m.px);
}

TEST(rich_displays)
{
	/* pandoc Markdown passes text/markdown and HTML (pandas tables) through; leanpub only Markdown */
	struct mini m;
	mini_init(&m, "d.pmd", 1, 0);
	struct chunk_outcome *oc = mini_chunk(&m, "df\n", NULL);
	add_result(oc, OUTPUT_EXECUTE_RESULT, "text/html", "<table><tr><td>1</td></tr></table>", -1);
	add_result(oc, OUTPUT_DISPLAY_DATA, "text/markdown", "**bold**", -1);
	char *md = mini_render(&m, "pandoc");
	CHECK_STR(md, "```python\ndf\n```\n\n\n<table><tr><td>1</td></tr></table>\n\n**bold**\n");
	free(md);
	char *lp = mini_render(&m, "leanpub");
	CHECK(strstr(lp, "{line-numbers=off}\n~~~~~~~~\n<plain>\n~~~~~~~~\n\n\n**bold**\n") != NULL);
	pweave_executed_free(&m.px);
	/* a raw HTML block is ended by a blank line before a following output block */
	mini_init(&m, "d.pmd", 1, 0);
	oc = mini_chunk(&m, "show()\n", NULL);
	add_result(oc, OUTPUT_DISPLAY_DATA, "text/html", "<div>x</div>", -1);
	add_stream(oc, "printed\n", -1);
	md = mini_render(&m, "pandoc");
	CHECK(strstr(md, "\n<div>x</div>\n\n```\nprinted\n```\n") != NULL);
	free(md);
	free(lp);
	pweave_executed_free(&m.px);
}

TEST(error_traceback)
{
	struct mini m;
	mini_init(&m, "e.pmd", 1, 0);
	struct chunk_outcome *oc = mini_chunk(&m, "1/0\n", NULL);
	struct output *o = output_list_add(&oc->outputs, OUTPUT_ERROR);
	o->ename = xstrdup("ZeroDivisionError");
	o->evalue = xstrdup("division by zero");
	o->ntraceback = 2;
	o->traceback = xcalloc(2, sizeof(char *));
	o->traceback[0] = xstrdup("Traceback (most recent call last):\n  File \"e.pmd\", line 10");
	o->traceback[1] = xstrdup("\033[0;31mZeroDivisionError\033[0m: division by zero");
	oc->status = RUN_ERROR;
	char *md = mini_render(&m, "markdown");
	CHECK(strstr(md, "```\nTraceback (most recent call last):\n  File \"e.pmd\", line 10\n"
			 "ZeroDivisionError: division by zero\n```\n\n") != NULL);
	free(md);
	pweave_executed_free(&m.px);
}

TEST(stopped_and_skipped)
{
	struct mini m;
	mini_init(&m, "s.pmd", 3, 0);
	struct chunk *c2;
	mini_chunk(&m, "a = 1\n", NULL);
	struct chunk_outcome *o2 = mini_chunk(&m, "print('x')\nimport os; os._exit(1)\n", &c2);
	set_str(&c2->opts.name, "boom");
	add_stream(o2, "x\n", -1);
	o2->status = RUN_CRASHED;
	o2->error_message = xstrdup("the interpreter exited");
	o2->error_line = 21;
	struct chunk_outcome *o3 = mini_chunk(&m, "print('later')\n", NULL);
	o3->state = CHUNK_SKIPPED;
	add_stream(o3, "stale output\n", -1);
	m.px.res.stopped_at = 1;
	char *md = mini_render(&m, "pandoc");
	CHECK(strstr(md, "```\nx\n```\n\n> **weft: execution stopped here: chunk 2 (boom) at "
			 "s.pmd:21 crashed: the interpreter exited; later chunks were not run**\n\n") !=
	      NULL);
	CHECK(strstr(md, "```python\nprint('later')\n```\n\n") != NULL);
	CHECK(strstr(md, "stale output") == NULL);
	free(md);
	char *rst = mini_render(&m, "rst");
	CHECK(strstr(rst, ".. warning::\n\n   weft: execution stopped here: chunk 2") != NULL);
	free(rst);
	pweave_executed_free(&m.px);
}

TEST(frozen_comment)
{
	/* results --frozen took from an earlier version are flagged in a comment */
	struct mini m;
	mini_init(&m, "z.pmd", 1, 0);
	struct chunk_outcome *oc = mini_chunk(&m, "print(2)\n", NULL);
	add_stream(oc, "1\n", -1);
	oc->state = CHUNK_STALE;
	oc->why = xstrdup("code changed -- x");
	char *md = mini_render(&m, "pandoc");
	CHECK_STR(md, "```python\nprint(2)\n```\n\n```\n1\n```\n\n"
		      "<!-- weft: frozen, results of chunk 1 are from an earlier version: code "
		      "changed - - x -->\n\n");
	free(md);
	char *rst = mini_render(&m, "rst");
	CHECK(strstr(rst, "\n..\n   weft: frozen, results of chunk 1 are from an earlier version") !=
	      NULL);
	free(rst);
	pweave_executed_free(&m.px);
}

TEST(front_matter_and_inline)
{
	struct mini m;
	mini_init(&m, "f.pmd", 0, 2);
	m.px.doc.front_matter = xstrdup("title: Report\nauthor: me\n");
	struct text_block *tb = mini_text(&m, "Two plus two is ");
	mini_inline(tb, "2+2", 0);
	ARRAY_GROW(tb->segs, tb->nsegs + 1, tb->alloc);
	memset(&tb->segs[tb->nsegs], 0, sizeof(tb->segs[0]));
	tb->segs[tb->nsegs].kind = SEG_TEXT;
	tb->segs[tb->nsegs++].text = xstrdup(" and bad is ");
	mini_inline(tb, "1/0", 1);
	m.px.res.inl[0].done = true;
	strbuf_addstr(&m.px.res.inl[0].text, " 4\n");
	m.px.res.inl[1].done = true;
	m.px.res.inl[1].status = RUN_ERROR;
	m.px.res.inl[1].error_message = xstrdup("ZeroDivisionError: division by zero");
	char *md = mini_render(&m, "markdown");
	CHECK_STR(md, "---\ntitle: Report\nauthor: me\n---\nTwo plus two is 4 and bad is "
		      "ZeroDivisionError: division by zero");
	free(md);
	char *rst = mini_render(&m, "rst");
	CHECK(!strncmp(rst, "..\n   title: Report\n   author: me\n\nTwo plus two is 4", 49));
	free(rst);
	pweave_executed_free(&m.px);
}

TEST(pandoc_figure_attributes)
{
	struct mini m;
	mini_init(&m, "dir/p.texw", 1, 0);
	struct chunk *ch;
	struct chunk_outcome *oc = mini_chunk(&m, "plot()\n", &ch);
	set_str(&ch->opts.name, "a/b:c");
	set_str(&ch->opts.caption, "Cap");
	set_str(&ch->opts.width, "15cm");
	add_png(oc, "X", -1);
	char *md = mini_render(&m, "pandoc");
	/* Pweave sanitises the name for the file, keeps it for the id */
	CHECK(strstr(md, "![Cap](figures/p_abc_1.png){#a/b:c width=15cm}\n") != NULL);
	free(md);
	char *sc = mini_render(&m, "softcover");
	CHECK(strstr(sc, "![Cap \\label{fig:a/b:c}](figures/p_abc_1.png)\n") != NULL);
	free(sc);
	pweave_executed_free(&m.px);
}

TEST(fence_widening)
{
	/* code or output holding a ``` fence gets a longer fence, so it cannot end the block */
	struct mini m;
	mini_init(&m, "w.pmd", 1, 0);
	struct chunk_outcome *oc = mini_chunk(&m, "print('```')\n", NULL);
	add_stream(oc, "````\n", -1);
	char *md = mini_render(&m, "pandoc");
	CHECK_STR(md, "```python\nprint('```')\n```\n\n`````\n````\n`````\n\n");
	free(md);
	pweave_executed_free(&m.px);
}

/* ---- wrapping against Python's textwrap, the behaviour Pweave relies on ---- */

/* textwrap.TextWrapper(break_long_words=False).fill per line, computed by Python itself. */
static int python_wrap(const char *text, struct strbuf *out)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/wrap_in.txt", tmpdir);
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return -1;
	fputs(text, fp);
	fclose(fp);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c 'import sys, textwrap; "
		 "w = textwrap.TextWrapper(subsequent_indent=\"\", break_long_words=False); "
		 "t = open(sys.argv[1], encoding=\"utf-8\", newline=\"\").read(); "
		 "sys.stdout.write(\"\".join(w.fill(l) + \"\\n\" for l in t.split(\"\\n\")))' %s",
		 path);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		strbuf_add(out, buf, n);
	return pclose(p) == 0 ? 0 : -1;
}

TEST(wrap_matches_textwrap)
{
	const char *cases[] = {
		"pweave pweave pweave pweave pweave pweave pweave pweave pweave pweave pweave "
		"pweave pweave pweave pweave pweave pweave pweave pweave pweave \n",
		"short\n\n   indented line that is long enough to be wrapped somewhere after the "
		"seventieth column of text\n",
		"a_very_long_word_without_any_spaces_that_cannot_be_broken_anywhere_at_all_really "
		"tail\n",
		"tabs\there\tand\tthere and a long line with many words to push it beyond the "
		"limit of seventy\n",
		"   \ntrailing spaces    \n",
		"well-known hyphenated-words appear in this line so that breaking-on-hyphens "
		"matters-a-lot\n",
		"aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa matters-a-lot x-y "
		"snake_case-word ab-c de-f-g\n",
		"aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaa ab-c de\n",
		"aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaa 12-34 ab-cd\n",
		"aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa a-b-c-d\n",
		"aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaa foo--bar, x--\n",
		"aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaa x.--y ---\n",
		"x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, "
		"22, 23]",
		"ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé wörds ünïcödé "
		"wörds\n",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf want, got;
		strbuf_init(&want);
		strbuf_init(&got);
		CHECK(python_wrap(cases[i], &want) == 0);
		figures_wrap(&got, cases[i], strlen(cases[i]));
		if (strcmp(want.buf, got.buf)) {
			printf("#   case %zu differs\n", i);
			show_diff(want.buf, got.buf);
			CHECK(!"wrap equals textwrap");
		}
		strbuf_free(&want);
		strbuf_free(&got);
	}
}

TEST(wrap_random_vs_textwrap)
{
	/* 1000 random lines over an alphabet that hits every rule, checked in one Python run */
	static const char *const parts[] = {
		"a", "bb", "word", "-", "--", "---", " ", "  ", "\t", "_", ".", ",", "7", "!", "'",
		"\"", "?", "&", "(", ")", "\r", "\f", "x-y", "well-known",
		"\xc3\xa9" /* é */, "\xe2\x80\x94" /* em dash */, "\xc2\xb7" /* middle dot */,
		"\xe4\xb8\xad" /* CJK */};
	unsigned seed = 12345;
	struct strbuf text, want, got;
	strbuf_init(&text);
	strbuf_init(&want);
	strbuf_init(&got);
	for (int line = 0; line < 1000; line++) {
		int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 80;
		for (int k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			strbuf_addstr(&text, parts[(seed >> 16) % (sizeof(parts) / sizeof(parts[0]))]);
		}
		strbuf_addch(&text, '\n');
	}
	CHECK(python_wrap(text.buf, &want) == 0);
	figures_wrap(&got, text.buf, text.len);
	if (strcmp(want.buf, got.buf)) {
		show_diff(want.buf, got.buf);
		CHECK(!"random wrap equals textwrap");
	}
	strbuf_free(&text);
	strbuf_free(&want);
	strbuf_free(&got);
}

/* ---- format table ---- */

TEST(format_table)
{
	CHECK(render_format_known("pandoc") && render_format_known("sphinx") &&
	      render_format_known("notebook") && render_format_known("texminted") &&
	      render_format_known("md2html"));
	CHECK(!render_format_known("docx") && !render_format_known(NULL));
	CHECK_STR(render_extension("pandoc"), "md");
	CHECK_STR(render_extension("rst"), "rst");
	CHECK_STR(render_extension("notebook"), "ipynb");
	CHECK_STR(render_extension("tex"), "tex");
	CHECK_STR(render_extension("md2html"), "html");
	CHECK_STR(render_default_figure_format("tex"), "pdf");
	CHECK_STR(render_default_figure_format("pandoc2latex"), "pdf");
	CHECK_STR(render_default_figure_format("pandoc"), "png");
	/* Pweave's guess by extension substring */
	CHECK_STR(render_default_format("a/report.pmd"), "md2html");
	CHECK_STR(render_default_format("script.py"), "md2html");
	CHECK_STR(render_default_format("x.mdw"), "markdown");
	CHECK_STR(render_default_format("x.texw"), "texpygments");
	CHECK_STR(render_default_format("X.RSTW"), "rst");
	CHECK_STR(render_default_format("x.htmlw"), "html");
	CHECK_STR(render_default_format("x.Pnw"), "markdown");
	CHECK_STR(render_default_format("noext"), "markdown");
	/* listing: every format once, with Pweave's description */
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	render_list_formats(fp);
	fclose(fp);
	CHECK(strstr(buf, "pandoc        pandoc Markdown: figures with attributes and captions\n") != NULL);
	CHECK(strstr(buf, "sphinx        reStructuredText with Sphinx directives\n") != NULL);
	int lines = 0;
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	CHECK(strstr(buf, "pdf           PDF through LaTeX") != NULL);
	CHECK(lines == 17); /* Pweave's 15, md2latex and pdf */
	free(buf);
	/* unknown format: an error naming it */
	struct document doc;
	memset(&doc, 0, sizeof(doc));
	doc.path = "d.pmd";
	struct weave_results res;
	weave_results_init(&res, 0, 0);
	struct render_options opts = {.format = "docx"};
	struct strbuf out;
	strbuf_init(&out);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render_document(&doc, &res, &opts, &out, &err) < 0);
	CHECK(strstr(weft_error_text(&err), "docx") != NULL);
	weft_error_free(&err);
	weave_results_free(&res);
	strbuf_free(&out);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/weft-render-md.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		printf("not ok - mkdtemp\n");
		return 1;
	}
	RUN_COMPAT(ref_markdown);
	RUN_COMPAT(ref_pandoc);
	RUN_COMPAT(ref_leanpub);
	RUN_COMPAT(ref_softcover);
	RUN_COMPAT(ref_rst);
	RUN_COMPAT(ref_sphinx);
	RUN_COMPAT(figure_files);
	RUN_COMPAT(figure_svg_format);
	RUN_COMPAT(figure_pdf_format);
	RUN(interleaved_order);
	RUN(term_transcript);
	RUN(results_and_include);
	RUN(rich_displays);
	RUN(error_traceback);
	RUN(stopped_and_skipped);
	RUN(frozen_comment);
	RUN(front_matter_and_inline);
	RUN(pandoc_figure_attributes);
	RUN(fence_widening);
	RUN(wrap_matches_textwrap);
	RUN(wrap_random_vs_textwrap);
	RUN(format_table);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return unit_done();
}
