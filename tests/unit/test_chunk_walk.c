/*
 * chunk_walk: the shared walk over a chunk, seen through a recording
 * callback table: every callback appends one line to a log, so each test
 * states the exact sequence of calls the walk makes for some outputs and
 * options (order, stream merging, figure groups, gating, term mode, notes).
 */
#include <stdlib.h>

#include "render/chunk_walk.h"
#include "render/figures.h"
#include "unit.h"
#include "reader/load.h"

/* The log of callback calls. */
static struct strbuf log_;

/* Append one log line "tag[text]". */
static void rec(const char *tag, const char *text, size_t len)
{
	strbuf_addf(&log_, "%s[", tag);
	strbuf_add(&log_, text, len);
	strbuf_addstr(&log_, "]\n");
}

static void r_code(void *ctx, const struct chunk *ch, const char *code)
{
	rec("code", code, strlen(code));
}

static void r_verbatim(void *ctx, const struct chunk *ch, const char *text, size_t len, bool error)
{
	rec(error ? "error" : "text", text, len);
}

static void r_raw(void *ctx, const struct chunk *ch, const char *results, const char *text,
		  size_t len)
{
	strbuf_addf(&log_, "raw(%s)", results);
	rec("", text, len);
}

/* Claims text/html outputs, declines the rest (the walk then shows text/plain). */
static bool r_rich(void *ctx, const struct chunk *ch, const struct output *o)
{
	const struct mime_item *m = output_get_mime(o, "text/html");
	if (m)
		rec("rich", m->data, m->len);
	return m != NULL;
}

/* Calls of r_src, shown or not. */
static int src_calls;

/* A figure's src is its number and MIME type; figure 99 fails, to test errors. */
static int r_src(void *ctx, const struct chunk *ch, int index, const struct mime_item *img,
		 struct strbuf *src)
{
	src_calls++;
	strbuf_addf(src, "%d:%s", index, img->mime);
	return index == 99 ? -1 : 0;
}

static void r_group(void *ctx, const struct chunk *ch, const struct strbuf *srcs, size_t n,
		    bool first)
{
	strbuf_addstr(&log_, first ? "group*[" : "group[");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&log_, "%s%s", i ? " " : "", srcs[i].buf);
	strbuf_addstr(&log_, "]\n");
}

static void r_skipped(void *ctx, const struct chunk *ch)
{
	rec("skipped", "", 0);
}

static void r_frozen(void *ctx, const struct chunk *ch, const struct chunk_outcome *oc)
{
	rec("frozen", oc->why ? oc->why : "", oc->why ? strlen(oc->why) : 0);
}

static void r_stop(void *ctx, const struct chunk *ch, const char *note, size_t len)
{
	rec("stop", note, len);
}

static const struct chunk_walk_ops rec_ops = {
	.figure_mimes = figures_for_html,
	.code_block = r_code,
	.verbatim = r_verbatim,
	.raw = r_raw,
	.rich_output = r_rich,
	.figure_src = r_src,
	.figure_group = r_group,
	.skipped_note = r_skipped,
	.frozen_note = r_frozen,
	.stop_note = r_stop,
};

/* A one-chunk document whose chunk carries `options` (noweb header text) and `code`. */
struct fixture {
	struct document doc;
	struct weave_results res;
};

static void fixture_init(struct fixture *f, const char *options, const char *code)
{
	struct strbuf src;
	strbuf_init(&src);
	if (*options)
		strbuf_addf(&src, "Text.\n\n```{python, %s}\n%s```\n", options, code);
	else
		strbuf_addf(&src, "Text.\n\n```python\n%s```\n", code);
	struct weft_error err;
	weft_error_init(&err);
	document_init(&f->doc);
	if (document_read_buffer(&f->doc, "walk.pmd", "markdown", src.buf, src.len, &err) < 0)
		printf("#   fixture: %s\n", err.msg.buf);
	weave_results_init(&f->res, f->doc.nchunks, 0);
	f->res.chunks[0].state = CHUNK_RAN;
	weft_error_free(&err);
	strbuf_free(&src);
}

static void fixture_free(struct fixture *f)
{
	weave_results_free(&f->res);
	document_free(&f->doc);
}

static const struct chunk *fixture_chunk(struct fixture *f)
{
	return document_chunk_const(&f->doc, 0);
}

static void add_stream(struct fixture *f, const char *text, int stmt)
{
	struct output *o = output_list_add(&f->res.chunks[0].outputs, OUTPUT_STREAM);
	o->stream_name = xstrdup("stdout");
	strbuf_addstr(&o->text, text);
	o->statement = stmt;
}

static void add_figure(struct fixture *f, int stmt)
{
	struct output *o = output_list_add(&f->res.chunks[0].outputs, OUTPUT_DISPLAY_DATA);
	output_add_mime(o, "image/png", "PNG", 3);
	output_add_mime(o, "text/plain", "<Figure>", 8);
	o->statement = stmt;
}

static void add_rich(struct fixture *f, const char *mime, const char *data)
{
	struct output *o = output_list_add(&f->res.chunks[0].outputs, OUTPUT_EXECUTE_RESULT);
	output_add_mime(o, mime, data, strlen(data));
	o->statement = -1;
}

/* Run the walk on the fixture's chunk; returns its status, the log in log_. */
static int walk(struct fixture *f)
{
	struct render_options opts = {.format = "html"};
	strbuf_reset(&log_);
	return chunk_walk(&rec_ops, NULL, &f->doc, &f->res, &opts, fixture_chunk(f));
}

/* Streams merge until another output; figures in a row form one group, the first labelled. */
TEST(order_streams_and_figure_groups)
{
	struct fixture f;
	fixture_init(&f, "", "\n\nx = 1   \n");
	add_stream(&f, "a\n", -1);
	add_stream(&f, "b\n", -1);
	add_figure(&f, -1);
	add_figure(&f, -1);
	add_stream(&f, "\033[31mc\033[0m\n", -1);
	add_figure(&f, -1);
	add_rich(&f, "text/html", "<b>t</b>");
	add_rich(&f, "text/plain", "42");
	CHECK(walk(&f) == 0);
	CHECK_STR(log_.buf, "code[x = 1]\ntext[a\nb]\ngroup*[1:image/png 2:image/png]\n"
			    "text[c]\ngroup[3:image/png]\nrich[<b>t</b>]\ntext[42]\n");
	fixture_free(&f);
}

/* Errors show their traceback (or ename: evalue); blank text shows nothing. */
TEST(errors_and_blank_text)
{
	struct fixture f;
	fixture_init(&f, "", "1/0\n");
	add_stream(&f, "  \n\n", -1);
	struct output *o = output_list_add(&f.res.chunks[0].outputs, OUTPUT_ERROR);
	o->ename = xstrdup("ZeroDivisionError");
	o->evalue = xstrdup("division by zero");
	o->statement = -1;
	CHECK(walk(&f) == 0);
	CHECK_STR(log_.buf, "code[1/0]\nerror[ZeroDivisionError: division by zero]\n");
	fixture_free(&f);
}

/* echo=False hides code; results="hidden" hides text but figures stay; include=False hides figures. */
TEST(option_gating)
{
	struct fixture f;
	fixture_init(&f, "echo=False, results='hidden'", "plot()\n");
	add_stream(&f, "x\n", -1);
	add_figure(&f, -1);
	CHECK(walk(&f) == 0);
	CHECK_STR(log_.buf, "group*[1:image/png]\n");
	fixture_free(&f);

	fixture_init(&f, "include=False", "plot()\n");
	add_figure(&f, -1);
	add_stream(&f, "x\n", -1);
	add_figure(&f, -1);
	CHECK(walk(&f) == 0);
	CHECK_STR(log_.buf, "code[plot()]\ntext[x]\n");
	fixture_free(&f);
}

/* A raw results format passes text through as printed (ANSI codes removed). */
TEST(raw_results)
{
	struct fixture f;
	fixture_init(&f, "results='tex'", "print(1)\n");
	add_stream(&f, "\\textbf{\033[1mx\033[0m}", -1);
	CHECK(walk(&f) == 0);
	CHECK_STR(log_.buf, "code[print(1)]\nraw(tex)[\\textbf{x}]\n");
	fixture_free(&f);
}

/* Term mode: code up to each statement with output, its outputs, the rest, then untied outputs. */
TEST(term_transcript)
{
	struct fixture f;
	fixture_init(&f, "term=True", "a = 1\nprint(a)\nb = 2\nc = 3\n");
	struct chunk_outcome *oc = &f.res.chunks[0];
	const char *src[] = {"a = 1\n", "print(a)\n", "b = 2\n", "c = 3\n"};
	oc->statements = xcalloc(4, sizeof(*oc->statements));
	oc->nstatements = 4;
	for (int i = 0; i < 4; i++)
		oc->statements[i].source = xstrdup(src[i]);
	add_stream(&f, "at exit\n", -1);
	add_stream(&f, "1\n", 1);
	add_figure(&f, 2);
	CHECK(walk(&f) == 0);
	CHECK_STR(log_.buf, "code[a = 1\nprint(a)]\ntext[1]\ncode[b = 2]\ngroup*[1:image/png]\n"
			    "code[c = 3]\ntext[at exit]\n");
	fixture_free(&f);
}

/* Notes: a skipped chunk, a frozen one with its reason, the chunk where execution stopped. */
TEST(notes)
{
	struct fixture f;
	fixture_init(&f, "", "x\n");
	f.res.chunks[0].state = CHUNK_SKIPPED;
	CHECK(walk(&f) == 0);
	CHECK_STR(log_.buf, "code[x]\nskipped[]\n");
	f.res.chunks[0].state = CHUNK_STALE;
	f.res.chunks[0].why = xstrdup("code changed");
	f.res.stopped_at = 0;
	f.res.chunks[0].status = RUN_CRASHED;
	f.res.chunks[0].error_message = xstrdup("Segmentation fault");
	CHECK(walk(&f) == 0);
	CHECK(!strncmp(log_.buf, "code[x]\nfrozen[code changed]\nstop[weft: execution stopped here: "
				 "chunk 1 at walk.pmd:",
		       strlen("code[x]\nfrozen[code changed]\nstop[weft: execution stopped here: "
			      "chunk 1 at walk.pmd:")));
	CHECK(strstr(log_.buf, "crashed") != NULL);
	fixture_free(&f);
}

/* A figure that cannot be written stops the walk with -1, before anything after it. */
TEST(figure_error_stops)
{
	struct fixture f;
	fixture_init(&f, "", "x\n");
	for (int i = 0; i < 99; i++)
		add_figure(&f, -1);
	add_stream(&f, "after\n", -1);
	CHECK(walk(&f) == -1);
	CHECK(strstr(log_.buf, "after") == NULL);
	fixture_free(&f);
}

/* The text formats' rules: include=False hides text but still writes figures; raw text once; own term. */
TEST(text_format_flags)
{
	struct chunk_walk_ops ops = rec_ops;
	ops.source_code = ops.include_hides_text = ops.write_unshown_figures = true;
	ops.raw_without_stream = ops.own_term = true;
	struct render_options opts = {.format = "markdown"};
	struct fixture f;
	fixture_init(&f, "include=False, term=True", "\n\nplot()\n");
	add_figure(&f, -1);
	add_stream(&f, "x\n", -1);
	f.res.chunks[0].statements = xcalloc(1, sizeof(*f.res.chunks[0].statements));
	f.res.chunks[0].statements[0].source = xstrdup("plot()\n");
	f.res.chunks[0].nstatements = 1;
	strbuf_reset(&log_);
	src_calls = 0;
	CHECK(chunk_walk(&ops, NULL, &f.doc, &f.res, &opts, fixture_chunk(&f)) == 0);
	CHECK_STR(log_.buf, "code[\n\nplot()\n]\n");
	CHECK(src_calls == 1); /* the unshown figure was still written */
	src_calls = 0;
	CHECK(walk(&f) == 0); /* the block formats neither show nor write it */
	CHECK(src_calls == 0);
	fixture_free(&f);

	fixture_init(&f, "results='markdown'", "x = 1\n");
	add_rich(&f, "text/plain", "1");
	strbuf_reset(&log_);
	CHECK(chunk_walk(&ops, NULL, &f.doc, &f.res, &opts, fixture_chunk(&f)) == 0);
	CHECK_STR(log_.buf, "code[x = 1\n]\nraw(markdown)[1]\nraw(markdown)[]\n");
	fixture_free(&f);
}

int main(void)
{
	strbuf_init(&log_);
	RUN(order_streams_and_figure_groups);
	RUN(errors_and_blank_text);
	RUN(option_gating);
	RUN(raw_results);
	RUN(term_transcript);
	RUN(notes);
	RUN(figure_error_stops);
	RUN(text_format_flags);
	strbuf_free(&log_);
	return unit_done();
}
