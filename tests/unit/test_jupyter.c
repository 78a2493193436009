/*
 * test_jupyter: the Jupyter engine. The wire protocol (signing, verification,
 * tampering) is tested without a kernel; the rest drives real ipykernel
 * kernels (python3-ipykernel): outputs and their order, rich display, a
 * matplotlib PNG, errors with ANSI-free tracebacks, inline code, timeouts
 * with interrupt (signal and message modes) and with a kill, a kernel dying
 * mid-chunk, and a missing kernel name. Two kernel starts in all.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/jupyter_engine.h"
#include "engine/jupyter_kernelspec.h"
#include "unit.h"

static char tmpdir[256];
static char docpath[300];
static bool have_kernel;

/* Report one check group of a shared kernel session (RUN's output, without its call). */
static void report(const char *name)
{
	unit_report(name);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct jupyter_engine *start(const char *kernel, double timeout)
{
	struct engine_config cfg = {
		.doc_path = docpath, .workdir = tmpdir, .timeout = timeout, .kernel = kernel,
	};
	struct weft_error err;
	weft_error_init(&err);
	struct jupyter_engine *e = NULL;
	if (jupyter_engine_start(&e, &cfg, &err) < 0)
		printf("#   jupyter_engine_start: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return e;
}

/* Run `code` as a chunk starting at document line 10. Returns the engine's rc. */
static int run(struct jupyter_engine *e, const char *code, struct chunk_outcome *out)
{
	memset(out, 0, sizeof(*out));
	output_list_init(&out->outputs);
	struct run_request req = {.code = code, .code_line = 10, .name = "t", .complete = true};
	struct weft_error err;
	weft_error_init(&err);
	int rc = jupyter_engine_run_chunk(e, &req, out, NULL, &err);
	if (rc < 0)
		printf("#   run: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

/* Run `code` with figure options (as the planner passes them). */
static int run_fig(struct jupyter_engine *e, const char *code, double w, double h, int dpi,
		   const char *fmt, struct chunk_outcome *out)
{
	memset(out, 0, sizeof(*out));
	output_list_init(&out->outputs);
	struct run_request req = {.code = code, .code_line = 10, .name = "t", .complete = true,
				  .fig = true, .f_size = {w, h}, .dpi = dpi, .fig_format = fmt};
	struct weft_error err;
	weft_error_init(&err);
	int rc = jupyter_engine_run_chunk(e, &req, out, NULL, &err);
	if (rc < 0)
		printf("#   run: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

/* Width in pixels of a PNG (from its IHDR chunk), 0 if not a PNG. */
static unsigned png_width(const struct mime_item *m)
{
	if (!m || m->len < 24 || memcmp(m->data, "\x89PNG", 4))
		return 0;
	const unsigned char *p = (const unsigned char *)m->data + 16;
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

/* The first display_data output carrying `mime`, or NULL. */
static const struct mime_item *first_mime(const struct chunk_outcome *o, const char *mime)
{
	for (size_t i = 0; i < o->outputs.n; i++) {
		const struct mime_item *m = output_get_mime(&o->outputs.items[i], mime);
		if (m && o->outputs.items[i].type == OUTPUT_DISPLAY_DATA)
			return m;
	}
	return NULL;
}

/* All stream text of one stream name, concatenated. */
static void stream_text(const struct chunk_outcome *o, const char *name, struct strbuf *sb)
{
	for (size_t i = 0; i < o->outputs.n; i++)
		if (o->outputs.items[i].type == OUTPUT_STREAM &&
		    !strcmp(o->outputs.items[i].stream_name, name))
			strbuf_addstr(sb, o->outputs.items[i].text.buf);
}

/* ---- wire protocol ---- */

TEST(sign_known_vector)
{
	/* RFC 4231 test case 2, the data split across the four parts */
	struct strbuf parts[4];
	const char *pieces[4] = {"what do ", "ya want ", "", "for nothing?"};
	for (int i = 0; i < 4; i++) {
		strbuf_init(&parts[i]);
		strbuf_addstr(&parts[i], pieces[i]);
	}
	char sig[65];
	jupyter_sign("Jefe", parts, sig);
	CHECK_STR(sig, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	jupyter_sign("", parts, sig);
	CHECK_STR(sig, "");
	for (int i = 0; i < 4; i++)
		strbuf_free(&parts[i]);
}

static void sample_msg(struct jupyter_msg *m)
{
	jupyter_msg_init(m);
	m->header = json_pack("{s:s, s:s}", "msg_id", "abc", "msg_type", "stream");
	m->parent_header = json_pack("{s:s}", "msg_id", "parent1");
	m->metadata = json_object();
	m->content = json_pack("{s:s, s:s}", "name", "stdout", "text", "héllo\n");
}

/* Frames as received: one routing id, then the encoded message. */
static void encode_with_id(const struct jupyter_msg *m, const char *key, struct strbuf frames[7])
{
	for (int i = 0; i < 7; i++)
		strbuf_init(&frames[i]);
	strbuf_addstr(&frames[0], "kernel.1234.stream");
	jupyter_msg_encode(m, key, frames + 1);
}

static void free_frames(struct strbuf *frames, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strbuf_free(&frames[i]);
}

TEST(encode_decode_roundtrip)
{
	struct jupyter_msg m, back;
	sample_msg(&m);
	struct strbuf frames[7];
	encode_with_id(&m, "secret-key", frames);
	CHECK_STR(frames[1].buf, "<IDS|MSG>");
	CHECK(frames[2].len == 64);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(jupyter_msg_decode(&back, frames, 7, "secret-key", &err) == 0);
	CHECK(json_equal(back.header, m.header));
	CHECK(json_equal(back.content, m.content));
	CHECK_STR(json_string_value(json_object_get(back.parent_header, "msg_id")), "parent1");
	jupyter_msg_free(&back);
	/* the signature covers exactly the four JSON parts: recompute it by hand */
	char sig[65];
	jupyter_sign("secret-key", &frames[3], sig);
	CHECK_STR(sig, frames[2].buf);
	free_frames(frames, 7);
	jupyter_msg_free(&m);
	weft_error_free(&err);
}

TEST(tampered_message_rejected)
{
	struct jupyter_msg m, back;
	sample_msg(&m);
	struct strbuf frames[7];
	struct weft_error err;
	weft_error_init(&err);

	/* one changed byte of content */
	encode_with_id(&m, "k1", frames);
	char *p = strstr(frames[6].buf, "stdout");
	CHECK(p != NULL);
	if (p)
		p[0] = 'S';
	CHECK(jupyter_msg_decode(&back, frames, 7, "k1", &err) < 0);
	CHECK(strstr(err.msg.buf, "signature") != NULL);
	CHECK(back.header == NULL);
	free_frames(frames, 7);

	/* a swapped header and parent header (each part signed in its place) */
	encode_with_id(&m, "k1", frames);
	struct strbuf tmp = frames[3];
	frames[3] = frames[4];
	frames[4] = tmp;
	weft_error_clear(&err);
	CHECK(jupyter_msg_decode(&back, frames, 7, "k1", &err) < 0);
	free_frames(frames, 7);

	/* signed with another key; a forged empty signature */
	encode_with_id(&m, "other", frames);
	CHECK(jupyter_msg_decode(&back, frames, 7, "k1", &err) < 0);
	strbuf_reset(&frames[2]);
	CHECK(jupyter_msg_decode(&back, frames, 7, "k1", &err) < 0);
	free_frames(frames, 7);

	/* no delimiter; too few frames; non-object JSON under a valid signature */
	encode_with_id(&m, "k1", frames);
	weft_error_clear(&err);
	CHECK(jupyter_msg_decode(&back, frames + 2, 5, "k1", &err) < 0);
	CHECK(strstr(err.msg.buf, "delimiter") != NULL);
	CHECK(jupyter_msg_decode(&back, frames, 6, "k1", &err) < 0);
	strbuf_reset(&frames[6]);
	strbuf_addstr(&frames[6], "[1]");
	char sig[65];
	jupyter_sign("k1", &frames[3], sig);
	strbuf_reset(&frames[2]);
	strbuf_addstr(&frames[2], sig);
	CHECK(jupyter_msg_decode(&back, frames, 7, "k1", &err) < 0);
	/* but the same message is fine when it is an object */
	strbuf_reset(&frames[6]);
	strbuf_addstr(&frames[6], "{\"a\":1}");
	jupyter_sign("k1", &frames[3], sig);
	strbuf_reset(&frames[2]);
	strbuf_addstr(&frames[2], sig);
	CHECK(jupyter_msg_decode(&back, frames, 7, "k1", &err) == 0);
	jupyter_msg_free(&back);
	free_frames(frames, 7);
	jupyter_msg_free(&m);
	weft_error_free(&err);
}

TEST(strip_ansi)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addstr(&sb, "\x1b[0;31mZeroDivisionError\x1b[0m: x\x1b[1;32m\x1b[K!\x1b]8;;http://a\x07link\x1b]8;;\x1b\\");
	jupyter_strip_ansi(&sb);
	CHECK_STR(sb.buf, "ZeroDivisionError: x!link");
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "plain \x1b");
	jupyter_strip_ansi(&sb);
	CHECK_STR(sb.buf, "plain ");
	strbuf_free(&sb);
}

TEST(unrepr)
{
	struct strbuf sb;
	strbuf_init(&sb);
	CHECK(jupyter_unrepr("'Bob'", &sb) == 0);
	CHECK_STR(sb.buf, "Bob");
	CHECK(jupyter_unrepr("\"it's\"", &sb) == 0);
	CHECK_STR(sb.buf, "it's");
	CHECK(jupyter_unrepr("'a\\nb\\t\\\\ \\' \\x41\\u00e9\\U0001f600'", &sb) == 0);
	CHECK_STR(sb.buf, "a\nb\t\\ ' A\xc3\xa9\xf0\x9f\x98\x80");
	CHECK(jupyter_unrepr("42", &sb) < 0);
	CHECK(jupyter_unrepr("'x", &sb) < 0);
	CHECK(jupyter_unrepr("'ab\\x4'", &sb) < 0);
	CHECK(jupyter_unrepr("'ab\\x+1'", &sb) < 0);
	CHECK(sb.len == 0); /* a failed decode leaves nothing behind */
	strbuf_free(&sb);
}

TEST(missing_kernel)
{
	struct jupyter_kernelspec ks;
	jupyter_kernelspec_init(&ks);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(jupyter_kernelspec_find(&ks, "no-such-kernel-xyz", &err) < 0);
	CHECK(strstr(err.msg.buf, "no Jupyter kernel named 'no-such-kernel-xyz'") != NULL);
	CHECK(strstr(err.msg.buf, "/usr/share/jupyter/kernels") != NULL);
	if (have_kernel)
		CHECK(strstr(err.msg.buf, "python3") != NULL); /* lists what is installed */
	weft_error_clear(&err);
	CHECK(jupyter_kernelspec_find(&ks, "../python3", &err) < 0);
	/* through the engine: no process is started, the error is clean */
	struct engine_config cfg = {.doc_path = docpath, .kernel = "no-such-kernel-xyz"};
	struct jupyter_engine *e = (struct jupyter_engine *)1;
	weft_error_clear(&err);
	CHECK(jupyter_engine_start(&e, &cfg, &err) < 0);
	CHECK(e == NULL);
	CHECK(strstr(err.msg.buf, "no-such-kernel-xyz") != NULL);
	jupyter_kernelspec_free(&ks);
	weft_error_free(&err);
}

TEST(kernelspec_parse)
{
	struct jupyter_kernelspec ks;
	jupyter_kernelspec_init(&ks);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(jupyter_kernelspec_find(&ks, "weft-msgint", &err) == 0);
	CHECK(ks.interrupt_message);
	CHECK_STR(ks.language, "python");
	CHECK(ks.argc == 5);
	CHECK(ks.argv && ks.argv[ks.argc] == NULL);
	CHECK(json_is_string(json_object_get(ks.env, "WEFT_JK_TEST")));
	jupyter_kernelspec_free(&ks);
	CHECK(jupyter_kernelspec_find(&ks, "weft-broken", &err) < 0);
	CHECK(strstr(err.msg.buf, "argv") != NULL);
	jupyter_kernelspec_free(&ks);
	weft_error_free(&err);
}

TEST(kernel_that_cannot_start)
{
	struct engine_config cfg = {.doc_path = docpath, .workdir = tmpdir, .kernel = "weft-noexec"};
	struct jupyter_engine *e = NULL;
	struct weft_error err;
	weft_error_init(&err);
	double t0 = now();
	CHECK(jupyter_engine_start(&e, &cfg, &err) < 0);
	CHECK(e == NULL);
	CHECK(now() - t0 < 10);
	CHECK(strstr(err.msg.buf, "'weft-noexec' failed to start") != NULL);
	CHECK(strstr(err.msg.buf, "exited with status 127") != NULL);
	/* the kernel's own words (here the exec failure) are quoted */
	CHECK(strstr(err.msg.buf, "cannot run /nonexistent/weft-python") != NULL);
	weft_error_free(&err);
}

/* ---- with the python3 kernel (signal interrupts) ---- */

static void test_python3_kernel(void)
{
	double t0 = now();
	/* no timeout until the timeout test: a loaded machine makes imports slow */
	struct jupyter_engine *e = start("python3", 0);
	printf("# python3 kernel started in %.2f s\n", now() - t0);
	{
		unit_current_failed = 0;
		CHECK(e != NULL);
		CHECK(jupyter_engine_alive(e));
		const char *id = jupyter_engine_identity(e);
		CHECK(id && strstr(id, "jupyter kernel python3: ipython") && strstr(id, "python 3."));
		printf("#   identity: %s\n", id ? id : "(null)");
		report("python3_start");
	}
	if (!e)
		return;
	struct chunk_outcome o;

	/* stream order across stdout/stderr, and the execute_result last */
	unit_current_failed = 0;
	CHECK(run(e, "import sys\nprint('a')\nsys.stdout.flush()\nprint('b', file=sys.stderr)\n"
		     "sys.stderr.flush()\nprint('c')\n6*7", &o) == 0);
	CHECK(o.status == RUN_OK);
	CHECK(o.outputs.n == 4);
	if (o.outputs.n == 4) {
		CHECK(o.outputs.items[0].type == OUTPUT_STREAM);
		CHECK_STR(o.outputs.items[0].stream_name, "stdout");
		CHECK_STR(o.outputs.items[0].text.buf, "a\n");
		CHECK_STR(o.outputs.items[1].stream_name, "stderr");
		CHECK_STR(o.outputs.items[1].text.buf, "b\n");
		CHECK_STR(o.outputs.items[2].text.buf, "c\n");
		CHECK(o.outputs.items[3].type == OUTPUT_EXECUTE_RESULT);
		const struct mime_item *mi = output_get_mime(&o.outputs.items[3], "text/plain");
		CHECK(mi && !strcmp(mi->data, "42"));
	}
	chunk_outcome_free(&o);
	report("stream_order_and_execute_result");

	/* state persists between chunks; cwd is the document's folder */
	unit_current_failed = 0;
	CHECK(run(e, "import os\nx = 5\nprint(os.getcwd())", &o) == 0);
	chunk_outcome_free(&o);
	CHECK(run(e, "print(x + 1)", &o) == 0);
	struct strbuf sb;
	strbuf_init(&sb);
	stream_text(&o, "stdout", &sb);
	CHECK_STR(sb.buf, "6\n");
	chunk_outcome_free(&o);
	CHECK(run(e, "print(os.path.realpath(os.getcwd()))", &o) == 0);
	strbuf_reset(&sb);
	stream_text(&o, "stdout", &sb);
	char real[512];
	snprintf(real, sizeof(real), "%s\n", tmpdir);
	char *rp = realpath(tmpdir, NULL);
	if (rp) {
		snprintf(real, sizeof(real), "%s\n", rp);
		free(rp);
	}
	CHECK_STR(sb.buf, real);
	chunk_outcome_free(&o);
	report("state_and_cwd");

	/* rich display: HTML + plain, and a matplotlib PNG from the inline backend */
	unit_current_failed = 0;
	CHECK(run(e, "from IPython.display import display, HTML\ndisplay(HTML('<b>hi</b>'))\n"
		     "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()", &o) == 0);
	CHECK(o.status == RUN_OK);
	size_t ndisp = 0;
	bool html = false, png = false;
	for (size_t i = 0; i < o.outputs.n; i++) {
		const struct output *out = &o.outputs.items[i];
		if (out->type != OUTPUT_DISPLAY_DATA)
			continue;
		ndisp++;
		const struct mime_item *h = output_get_mime(out, "text/html");
		const struct mime_item *p = output_get_mime(out, "image/png");
		if (h && !strcmp(h->data, "<b>hi</b>") && ndisp == 1)
			html = true;
		if (p && p->len > 100 && !memcmp(p->data, "\x89PNG\r\n\x1a\n", 8) && ndisp == 2)
			png = true; /* decoded from base64 */
	}
	CHECK(ndisp == 2);
	CHECK(html);
	CHECK(png);
	chunk_outcome_free(&o);
	report("display_data_html_and_png");

	/* the chunk's figure options reach the inline backend: size x dpi, format */
	unit_current_failed = 0;
	const char *plot = "plt.figure()\nplt.plot([1, 2])\nplt.show()";
	CHECK(run_fig(e, plot, 6, 4, 50, "png", &o) == 0);
	unsigned small = png_width(first_mime(&o, "image/png"));
	chunk_outcome_free(&o);
	CHECK(run_fig(e, plot, 6, 4, 150, "png", &o) == 0);
	unsigned big = png_width(first_mime(&o, "image/png"));
	chunk_outcome_free(&o);
	printf("#   png widths at 50 and 150 dpi: %u, %u\n", small, big);
	CHECK(small > 150 && small <= 300);  /* 6 in x 50 dpi, less the tight bounding box */
	CHECK(big > 2 * small && big <= 900);
	CHECK(run_fig(e, plot, 6, 4, 100, "svg", &o) == 0);
	const struct mime_item *svg = first_mime(&o, "image/svg+xml");
	CHECK(svg && strstr(svg->data, "<svg"));
	CHECK(first_mime(&o, "image/png") == NULL);
	chunk_outcome_free(&o);
	report("figure_options");

	/* clear_output drops what came before */
	unit_current_failed = 0;
	CHECK(run(e, "from IPython.display import clear_output\nprint('gone')\nclear_output()\nprint('kept')",
		  &o) == 0);
	strbuf_reset(&sb);
	stream_text(&o, "stdout", &sb);
	CHECK_STR(sb.buf, "kept\n");
	chunk_outcome_free(&o);
	report("clear_output");

	/* an error: type, message, document line, traceback without ANSI codes */
	unit_current_failed = 0;
	CHECK(run(e, "print('before')\ny = 1\nz = y / 0\nprint('after')", &o) == 0);
	CHECK(o.status == RUN_ERROR);
	CHECK_STR(o.error_type, "ZeroDivisionError");
	CHECK_STR(o.error_message, "division by zero");
	CHECK(o.error_line == 12); /* code line 3 of a chunk starting at line 10 */
	const struct output *err_out = o.outputs.n ? &o.outputs.items[o.outputs.n - 1] : NULL;
	CHECK(err_out && err_out->type == OUTPUT_ERROR);
	if (err_out && err_out->type == OUTPUT_ERROR) {
		CHECK_STR(err_out->ename, "ZeroDivisionError");
		CHECK(err_out->ntraceback > 0);
		bool any_esc = false, names_line = false;
		for (size_t k = 0; k < err_out->ntraceback; k++) {
			if (strchr(err_out->traceback[k], 0x1b))
				any_esc = true;
			if (strstr(err_out->traceback[k], "z = y / 0"))
				names_line = true;
		}
		CHECK(!any_esc);
		CHECK(names_line);
	}
	strbuf_reset(&sb);
	stream_text(&o, "stdout", &sb);
	CHECK_STR(sb.buf, "before\n");
	chunk_outcome_free(&o);
	/* the kernel keeps going after an error */
	CHECK(run(e, "print('still here')", &o) == 0);
	CHECK(o.status == RUN_OK);
	chunk_outcome_free(&o);
	report("error_traceback_ansi_stripped");

	/* term mode: one transcript entry per statement (and comment), outputs tagged */
	unit_current_failed = 0;
	memset(&o, 0, sizeof(o));
	output_list_init(&o.outputs);
	{
		struct run_request treq = {.code = "a = 1\n# note\na + 1\n@staticmethod\ndef g():\n"
						   "    return 3\n1/0\nprint('on')\n",
					   .code_line = 20, .term = true, .complete = true};
		struct weft_error terr;
		weft_error_init(&terr);
		CHECK(jupyter_engine_run_chunk(e, &treq, &o, NULL, &terr) == 0);
		weft_error_free(&terr);
	}
	CHECK(o.nstatements == 6);
	if (o.nstatements == 6) {
		CHECK_STR(o.statements[0].source, "a = 1\n");
		CHECK(o.statements[0].line == 20);
		CHECK_STR(o.statements[1].source, "# note\n");
		CHECK_STR(o.statements[3].source, "@staticmethod\ndef g():\n    return 3\n");
		CHECK(o.statements[3].line == 23);
		CHECK(o.statements[4].line == 26);
	}
	CHECK(o.status == RUN_ERROR);
	CHECK_STR(o.error_type, "ZeroDivisionError");
	CHECK(o.error_line == 26);
	/* a + 1 -> "2" tagged 2; the error tagged 4; the console went on: "on" tagged 5 */
	bool two = false, err4 = false, on5 = false;
	for (size_t i = 0; i < o.outputs.n; i++) {
		const struct output *t = &o.outputs.items[i];
		const struct mime_item *m = output_get_mime(t, "text/plain");
		if (t->type == OUTPUT_EXECUTE_RESULT && m && !strcmp(m->data, "2") && t->statement == 2)
			two = true;
		if (t->type == OUTPUT_ERROR && t->statement == 4)
			err4 = true;
		if (t->type == OUTPUT_STREAM && !strcmp(t->text.buf, "on\n") && t->statement == 5)
			on5 = true;
	}
	CHECK(two && err4 && on5);
	chunk_outcome_free(&o);
	report("term_mode_statements");

	/* inline code: expressions through user_expressions, code through stdout */
	unit_current_failed = 0;
	struct inline_outcome io;
	memset(&io, 0, sizeof(io));
	strbuf_init(&io.text);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(jupyter_engine_eval_inline(e, "x * 2", true, 3, &io, &err) == 0);
	CHECK(io.status == RUN_OK);
	CHECK_STR(io.text.buf, "10");
	/* str(), not repr(), of a string, as the embedded engine inserts */
	CHECK(jupyter_engine_eval_inline(e, "'Bob' + \"'s\"", true, 3, &io, &err) == 0);
	CHECK_STR(io.text.buf, "Bob's");
	CHECK(jupyter_engine_eval_inline(e, "print(x, end='')", false, 3, &io, &err) == 0);
	CHECK(io.status == RUN_OK);
	CHECK_STR(io.text.buf, "5");
	CHECK(jupyter_engine_eval_inline(e, "undefined_name", true, 3, &io, &err) == 0);
	CHECK(io.status == RUN_ERROR);
	CHECK(io.error_message && strstr(io.error_message, "NameError"));
	strbuf_free(&io.text);
	free(io.error_message);
	report("inline_expr_and_code");

	/* cache ops are refused cleanly */
	unit_current_failed = 0;
	json_t *req = json_pack("{s:s}", "op", "analyze"), *reply = (json_t *)1;
	weft_error_clear(&err);
	CHECK(jupyter_engine_request(e, req, &reply, &err) < 0);
	CHECK(reply == NULL);
	CHECK(strstr(err.msg.buf, "not supported by the Jupyter engine") != NULL);
	json_decref(req);
	CHECK(jupyter_engine_alive(e));
	report("request_not_supported");

	/* timeout: SIGINT interrupts the chunk, the kernel survives with its state */
	unit_current_failed = 0;
	jupyter_engine_set_timeout(e, 5.0);
	t0 = now();
	CHECK(run(e, "import time\nprint('start')\ntime.sleep(60)", &o) < 0);
	double took = now() - t0;
	CHECK(o.status == RUN_TIMEOUT);
	CHECK(took >= 4.9 && took < 5.0 + 3.5); /* interrupted within the grace period */
	CHECK(o.error_message && strstr(o.error_message, "interrupted"));
	strbuf_reset(&sb);
	stream_text(&o, "stdout", &sb);
	CHECK_STR(sb.buf, "start\n");
	chunk_outcome_free(&o);
	CHECK(jupyter_engine_alive(e));
	CHECK(run(e, "print(x)", &o) == 0);
	strbuf_reset(&sb);
	stream_text(&o, "stdout", &sb);
	CHECK_STR(sb.buf, "5\n");
	chunk_outcome_free(&o);
	report("timeout_interrupt_signal");

	/* a kernel killed mid-chunk: RUN_CRASHED, output printed before is kept */
	unit_current_failed = 0;
	CHECK(run(e, "import os, signal, sys, time\nprint('last words')\nsys.stdout.flush()\n"
		     "time.sleep(0.5)\nos.kill(os.getpid(), signal.SIGKILL)", &o) < 0);
	CHECK(o.status == RUN_CRASHED);
	CHECK(o.error_message && strstr(o.error_message, "killed by signal 9"));
	strbuf_reset(&sb);
	stream_text(&o, "stdout", &sb);
	CHECK_STR(sb.buf, "last words\n");
	CHECK(!jupyter_engine_alive(e));
	chunk_outcome_free(&o);
	CHECK(run(e, "print(1)", &o) < 0);
	CHECK(o.status == RUN_CRASHED);
	chunk_outcome_free(&o);
	report("kernel_killed_mid_chunk");

	strbuf_free(&sb);
	weft_error_free(&err);
	jupyter_engine_stop(e);
}

/* ---- a kernelspec with interrupt_mode "message", env and an unkillable chunk ---- */

static void test_message_kernel(void)
{
	struct jupyter_engine *e = start("weft-msgint", 0);
	unit_current_failed = 0;
	CHECK(e != NULL);
	report("msgint_start");
	if (!e)
		return;
	struct chunk_outcome o;
	struct strbuf sb;
	strbuf_init(&sb);

	unit_current_failed = 0;
	CHECK(run(e, "import os\nprint(os.environ.get('WEFT_JK_TEST'))", &o) == 0);
	stream_text(&o, "stdout", &sb);
	CHECK_STR(sb.buf, "from-kernelspec\n");
	chunk_outcome_free(&o);
	report("kernelspec_env");

	/* figure options set before pyplot's first import apply once it loads */
	unit_current_failed = 0;
	CHECK(run_fig(e, "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()", 6, 4, 50,
		      "png", &o) == 0);
	unsigned wpx = png_width(first_mime(&o, "image/png"));
	CHECK(wpx > 150 && wpx <= 300);
	chunk_outcome_free(&o);
	report("figure_options_before_import");

	/* interrupt_request on control ends the chunk */
	unit_current_failed = 0;
	jupyter_engine_set_timeout(e, 3.0);
	CHECK(run(e, "import time\nwhile True: time.sleep(0.05)", &o) < 0);
	CHECK(o.status == RUN_TIMEOUT);
	CHECK(o.error_message && strstr(o.error_message, "interrupted"));
	CHECK(jupyter_engine_alive(e));
	chunk_outcome_free(&o);
	report("timeout_interrupt_message");

	/* a chunk that ignores interrupts: the kernel and its children are killed */
	unit_current_failed = 0;
	CHECK(run(e, "import signal, subprocess, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
		     "child = subprocess.Popen(['sleep', '300'])\nopen('child.pid', 'w').write(str(child.pid))\n"
		     "time.sleep(300)", &o) < 0);
	CHECK(o.status == RUN_TIMEOUT);
	CHECK(o.error_message && strstr(o.error_message, "killed"));
	CHECK(!jupyter_engine_alive(e));
	chunk_outcome_free(&o);
	char pidfile[400];
	snprintf(pidfile, sizeof(pidfile), "%s/child.pid", tmpdir);
	strbuf_reset(&sb);
	CHECK(strbuf_read_file(&sb, pidfile) == 0);
	pid_t child = (pid_t)atoi(sb.buf);
	CHECK(child > 0);
	/* the child was in the kernel's group: gone (or a zombie of init) soon */
	bool gone = false;
	for (int i = 0; i < 100 && child > 0 && !gone; i++) {
		char stat[64];
		snprintf(stat, sizeof(stat), "/proc/%d/stat", (int)child);
		struct strbuf st;
		strbuf_init(&st);
		gone = strbuf_read_file(&st, stat) < 0 || strstr(st.buf, ") Z ") != NULL;
		strbuf_free(&st);
		if (!gone)
			usleep(20000);
	}
	CHECK(gone);
	report("timeout_kill_group");
	strbuf_free(&sb);
	jupyter_engine_stop(e);
}

/* A JUPYTER_PATH with a message-interrupt copy of python3 and a broken spec. */
static void make_kernelspecs(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/jp/kernels/weft-msgint", tmpdir);
	char mk[1200];
	snprintf(mk, sizeof(mk), "mkdir -p '%s' '%s/jp/kernels/weft-broken'", path, tmpdir);
	if (system(mk) != 0)
		return;
	char file[600];
	snprintf(file, sizeof(file), "%s/kernel.json", path);
	FILE *f = fopen(file, "w");
	if (f) {
		fputs("{\"argv\": [\"/usr/bin/python3\", \"-m\", \"ipykernel_launcher\", \"-f\", "
		      "\"{connection_file}\"], \"display_name\": \"msgint\", \"language\": \"python\", "
		      "\"interrupt_mode\": \"message\", \"env\": {\"WEFT_JK_TEST\": \"from-kernelspec\"}}\n",
		      f);
		fclose(f);
	}
	snprintf(file, sizeof(file), "%s/jp/kernels/weft-broken/kernel.json", tmpdir);
	f = fopen(file, "w");
	if (f) {
		fputs("{\"argv\": \"python\"}\n", f);
		fclose(f);
	}
	snprintf(mk, sizeof(mk), "mkdir -p '%s/jp/kernels/weft-noexec'", tmpdir);
	if (system(mk) != 0)
		return;
	snprintf(file, sizeof(file), "%s/jp/kernels/weft-noexec/kernel.json", tmpdir);
	f = fopen(file, "w");
	if (f) {
		fputs("{\"argv\": [\"/nonexistent/weft-python\", \"-f\", \"{connection_file}\"]}\n", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/jp", tmpdir);
	setenv("JUPYTER_PATH", path, 1);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/weft-test-jupyter-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(docpath, sizeof(docpath), "%s/doc.pmd", tmpdir);
	make_kernelspecs();
	have_kernel = access("/usr/share/jupyter/kernels/python3/kernel.json", R_OK) == 0 &&
		      system("/usr/bin/python3 -c 'import ipykernel' 2>/dev/null") == 0;

	RUN(sign_known_vector);
	RUN(encode_decode_roundtrip);
	RUN(tampered_message_rejected);
	RUN(strip_ansi);
	RUN(unrepr);
	RUN(missing_kernel);
	RUN(kernelspec_parse);
	RUN(kernel_that_cannot_start);
	if (have_kernel) {
		test_python3_kernel();
		test_message_kernel();
	} else {
		unit_skip("python3_kernel", "python3-ipykernel is not installed");
		unit_skip("message_kernel", "python3-ipykernel is not installed");
	}

	char rm[300];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", tmpdir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", tmpdir);
	return unit_done();
}
