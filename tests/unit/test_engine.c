/*
 * test_engine: drives the python engine (engine.h) directly: output capture
 * and ordering, rich display, figures, term mode, errors with document
 * lines, crash/timeout isolation, inline code, venvs, op dispatch, tracking.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "unit.h"

static char tmpdir[256];
static char docpath[300];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct engine *start_with(const char *python, double timeout)
{
	struct engine_config cfg = {
		.python = python, .doc_path = docpath, .workdir = tmpdir, .timeout = timeout,
	};
	struct weft_error err;
	weft_error_init(&err);
	struct engine *e = NULL;
	if (engine_start(&e, &cfg, &err) < 0)
		printf("#   engine_start: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return e;
}

static struct engine *start(void)
{
	return start_with(NULL, 0);
}

static struct run_request request(const char *code, int line)
{
	struct run_request r = {
		.code = code, .code_line = line, .complete = true, .fig = true,
		.f_size = {6, 4}, .dpi = 100, .fig_format = "png",
	};
	return r;
}

/* Run code with default options; the outcome must be freed by the caller. */
static int run(struct engine *e, const struct run_request *req, struct chunk_outcome *out)
{
	memset(out, 0, sizeof(*out));
	output_list_init(&out->outputs);
	struct weft_error err;
	weft_error_init(&err);
	int rc = engine_run_chunk(e, req, out, NULL, &err);
	if (rc < 0)
		printf("#   run: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

static int run_code(struct engine *e, const char *code, struct chunk_outcome *out)
{
	struct run_request req = request(code, 1);
	return run(e, &req, out);
}

static const char *stream_text(const struct chunk_outcome *o, size_t i, const char *name)
{
	if (i >= o->outputs.n || o->outputs.items[i].type != OUTPUT_STREAM ||
	    strcmp(o->outputs.items[i].stream_name, name))
		return NULL;
	return o->outputs.items[i].text.buf;
}

static const char *mime(const struct chunk_outcome *o, size_t i, const char *type)
{
	if (i >= o->outputs.n)
		return NULL;
	const struct mime_item *m = output_get_mime(&o->outputs.items[i], type);
	return m ? m->data : NULL;
}

static void dump(const struct chunk_outcome *o)
{
	json_t *j = output_list_to_json(&o->outputs, true);
	char *s = json_dumps(j, JSON_COMPACT);
	printf("#   outputs: %.1500s\n", s);
	free(s);
	json_decref(j);
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

TEST(start_identity_stop)
{
	int fds = count_fds();
	struct engine *e = start();
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK(engine_alive(e));
	const char *id = engine_identity(e);
	CHECK(id && !strncmp(id, "CPython 3.", 10));
	struct chunk_outcome o;
	/* sys.executable is a python of the same version (subprocesses, multiprocessing) */
	run_code(e, "import subprocess, sys\n"
		    "v = subprocess.run([sys.executable, '-c', 'import sys; print(sys.version)'],\n"
		    "                   capture_output=True, text=True).stdout.strip()\n"
		    "print(v == sys.version)\n", &o);
	CHECK_STR(stream_text(&o, 0, "stdout"), "True\n");
	chunk_outcome_free(&o);
	run_code(e, "import sys\nprint(sys.version.split()[0], sys.executable)\n", &o);
	/* the identity is what the worker itself reports */
	const char *text = stream_text(&o, 0, "stdout");
	struct strbuf line;
	strbuf_init(&line);
	strbuf_addstr(&line, text ? text : "");
	strbuf_rtrim(&line);
	CHECK(id && line.len && strstr(id, line.buf) != NULL);
	strbuf_free(&line);
	chunk_outcome_free(&o);
	engine_stop(e);
	CHECK(count_fds() == fds);                /* no leaked fds */
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD); /* no zombies */
}

TEST(start_failures)
{
	struct weft_error err;
	weft_error_init(&err);
	struct engine *e = NULL;
	struct engine_config cfg = {.python = "/nonexistent/bin/python", .doc_path = docpath};
	CHECK(engine_start(&e, &cfg, &err) == -1 && !e);
	CHECK(strstr(weft_error_text(&err), "/nonexistent/bin/python") != NULL);
	weft_error_clear(&err);
	struct engine_config cfg2 = {.doc_path = docpath, .workdir = "/nonexistent-dir"};
	CHECK(engine_start(&e, &cfg2, &err) == -1 && !e);
	CHECK(strstr(weft_error_text(&err), "folder") != NULL);
	weft_error_clear(&err);
	/* another installation's python would mix standard libraries */
	char fake[600];
	snprintf(fake, sizeof(fake), "mkdir -p %s/fake/bin && cp /bin/true %s/fake/bin/python",
		 tmpdir, tmpdir);
	CHECK(system(fake) == 0);
	snprintf(fake, sizeof(fake), "%s/fake/bin/python", tmpdir);
	struct engine_config cfg3 = {.python = fake, .doc_path = docpath};
	CHECK(engine_start(&e, &cfg3, &err) == -1 && !e);
	engine_stop(e);
	CHECK(strstr(weft_error_text(&err), "neither") != NULL);
	weft_error_free(&err);
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
}

TEST(namespace_cwd_argv)
{
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e, "x = 41\n", &o);
	chunk_outcome_free(&o);
	run_code(e, "import os, sys\nprint(x + 1)\nprint(os.getcwd())\nprint(sys.argv[0])\n"
		    "print('__file__' in globals(), __name__)\n"
		    "try:\n    input()\nexcept EOFError:\n    pass\n", &o);
	struct strbuf want;
	strbuf_init(&want);
	char real[300];
	CHECK(realpath(tmpdir, real) != NULL);
	strbuf_addf(&want, "42\n%s\n%s\nFalse __main__\n", real, docpath);
	CHECK_STR(stream_text(&o, 0, "stdout"), want.buf);
	CHECK(o.status == RUN_OK);
	strbuf_free(&want);
	chunk_outcome_free(&o);
	engine_stop(e);
}

TEST(stream_order)
{
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e,
		 "import os, sys\n"
		 "print('a')\n"
		 "os.write(1, b'b\\n')\n"
		 "print('c', file=sys.stderr)\n"
		 "os.system('echo d')\n"
		 "display('shown')\n"
		 "os.write(2, b'e\\n')\n"
		 "sys.stdout.write('f\\n')\n"
		 "_ = os.system('echo g >&2')\n",
		 &o);
	CHECK(o.outputs.n == 7);
	CHECK_STR(stream_text(&o, 0, "stdout"), "a\nb\n");
	CHECK_STR(stream_text(&o, 1, "stderr"), "c\n");
	CHECK_STR(stream_text(&o, 2, "stdout"), "d\n");
	CHECK(o.outputs.n > 3 && o.outputs.items[3].type == OUTPUT_DISPLAY_DATA);
	CHECK_STR(mime(&o, 3, "text/plain"), "'shown'");
	CHECK_STR(stream_text(&o, 4, "stderr"), "e\n");
	CHECK_STR(stream_text(&o, 5, "stdout"), "f\n");
	CHECK_STR(stream_text(&o, 6, "stderr"), "g\n"); /* a subprocess's, before the reply */
	if (o.outputs.n != 7)
		dump(&o);
	chunk_outcome_free(&o);
	run_code(e, "import os\nos.system('echo g >&2');\n", &o);
	CHECK_STR(stream_text(&o, 0, "stderr"), "g\n");
	chunk_outcome_free(&o);
	engine_stop(e);
}

TEST(forked_children_and_threads)
{
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e, "import os, threading\n"
		    "print('start')\n"
		    "for i in range(3):\n"
		    "    pid = os.fork()\n"
		    "    if pid == 0:\n"
		    "        print('child', i)\n"
		    "        os._exit(0)\n"
		    "    os.waitpid(pid, 0)\n"
		    "t = threading.Thread(target=print, args=('thread',))\n"
		    "t.start(); t.join()\n"
		    "print('end')\n", &o);
	CHECK_STR(stream_text(&o, 0, "stdout"), "start\nchild 0\nchild 1\nchild 2\nthread\nend\n");
	CHECK(o.outputs.n == 1 && o.status == RUN_OK);
	chunk_outcome_free(&o);
	/* a child that forgets os._exit runs to the end of the chunk, then leaves */
	run_code(e, "import os\npid = os.fork()\nprint('both' if pid else 'child')\n", &o);
	chunk_outcome_free(&o);
	run_code(e, "_, status = os.waitpid(pid, 0)\nprint(status)\n", &o);
	/* the child's "child" may arrive late, with this chunk: it did not wait for it */
	const char *t = stream_text(&o, 0, "stdout");
	CHECK(t && strlen(t) >= 2 && !strcmp(t + strlen(t) - 2, "0\n"));
	chunk_outcome_free(&o);
	run_code(e, "print('still served')\n", &o);
	CHECK_STR(stream_text(&o, 0, "stdout"), "still served\n");
	chunk_outcome_free(&o);
	CHECK(engine_alive(e));
	engine_stop(e);
}

TEST(atexit_on_stop)
{
	/* a clean stop runs the document's atexit handlers (temporary directories) */
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e, "import tempfile\ntd = tempfile.TemporaryDirectory()\n"
		    "open('tmpdir.txt', 'w').write(td.name)\n", &o);
	chunk_outcome_free(&o);
	engine_stop(e);
	char path[400];
	snprintf(path, sizeof(path), "%s/tmpdir.txt", tmpdir);
	struct strbuf name;
	strbuf_init(&name);
	CHECK(strbuf_read_file(&name, path) == 0 && name.len > 0);
	CHECK(access(name.buf, F_OK) != 0);
	strbuf_free(&name);
}

TEST(embedded_modules)
{
	struct engine *e = start();
	struct chunk_outcome o;
	/* weft_*.py files are imported from the copies inside the binary */
	run_code(e, "import importlib, weft_runtime as r\n"
		    "names = r.embedded_module_names()\n"
		    "mods = [importlib.import_module(n) for n in names]\n"
		    "print(all(m.__file__ == '<weft>/' + n + '.py' for m, n in zip(mods, names)))\n"
		    "print(r.find_module('weft_no_such_module'))\n", &o);
	CHECK_STR(stream_text(&o, 0, "stdout"), "True\nNone\n");
	if (o.status != RUN_OK)
		dump(&o);
	chunk_outcome_free(&o);
	engine_stop(e);
}

TEST(large_output)
{
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e,
		 "import os\nfor i in range(100000):\n    print(i)\n"
		 "os.system('seq 1 200000 >/dev/null; seq 1 100000');\n",
		 &o);
	CHECK(o.outputs.n == 1);
	const char *t = stream_text(&o, 0, "stdout");
	CHECK(t && strlen(t) == 588890 + 588895);
	CHECK(t && !strncmp(t, "0\n1\n2\n", 6));
	chunk_outcome_free(&o);
	/* a UTF-8 sequence split across writes (the sleep lets the pump read the halves apart) */
	run_code(e, "print('\\u00e9\\u4e2d', end='')\nimport os, time\nos.write(1, 'x\\u00e9'.encode()[:2])\n"
		    "time.sleep(0.05)\nos.write(1, 'x\\u00e9'.encode()[2:])\nos.write(1, b'\\xff!');\n", &o);
	CHECK_STR(stream_text(&o, 0, "stdout"), "\xc3\xa9\xe4\xb8\xad" "x\xc3\xa9\xef\xbf\xbd!");
	chunk_outcome_free(&o);
	engine_stop(e);
}

TEST(last_expression)
{
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e, "x = 20\nx + 22\n", &o);
	CHECK(o.outputs.n == 1 && o.outputs.items[0].type == OUTPUT_EXECUTE_RESULT);
	CHECK_STR(mime(&o, 0, "text/plain"), "42");
	chunk_outcome_free(&o);
	run_code(e, "x + 22;  # no output\n", &o);
	CHECK(o.outputs.n == 0);
	chunk_outcome_free(&o);
	run_code(e, "print('p')\nNone\n", &o);
	CHECK(o.outputs.n == 1);
	chunk_outcome_free(&o);
	run_code(e, "y = [1,\n  2]\n(y\n)\n", &o);
	CHECK_STR(mime(&o, 0, "text/plain"), "[1, 2]");
	chunk_outcome_free(&o);
	run_code(e, "'a;b'\n", &o);
	CHECK_STR(mime(&o, 0, "text/plain"), "'a;b'");
	chunk_outcome_free(&o);
	engine_stop(e);
}

TEST(rich_display)
{
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e,
		 "class R:\n"
		 "    def _repr_html_(self): return '<b>h</b>'\n"
		 "    def _repr_markdown_(self): return '**m**'\n"
		 "    def _repr_latex_(self): return '$l$'\n"
		 "    def _repr_svg_(self): return '<svg></svg>'\n"
		 "    def _repr_png_(self): return b'\\x89PNG\\x00data'\n"
		 "    def _repr_jpeg_(self): return (b'\\xff\\xd8jpg', {'width': 3})\n"
		 "    def __repr__(self): return 'R()'\n"
		 "class B:\n"
		 "    def _repr_mimebundle_(self, include=None, exclude=None):\n"
		 "        return {'text/html': '<i>b</i>', 'text/plain': 'plain B'}\n"
		 "display(R(), B())\n"
		 "R()\n",
		 &o);
	CHECK(o.outputs.n == 3);
	CHECK(o.outputs.items[0].type == OUTPUT_DISPLAY_DATA);
	CHECK_STR(mime(&o, 0, "text/html"), "<b>h</b>");
	CHECK_STR(mime(&o, 0, "text/markdown"), "**m**");
	CHECK_STR(mime(&o, 0, "text/latex"), "$l$");
	CHECK_STR(mime(&o, 0, "image/svg+xml"), "<svg></svg>");
	CHECK_STR(mime(&o, 0, "text/plain"), "R()");
	const struct mime_item *png = output_get_mime(&o.outputs.items[0], "image/png");
	CHECK(png && png->len == 9 && !memcmp(png->data, "\x89PNG\0data", 9));
	const struct mime_item *jpg = output_get_mime(&o.outputs.items[0], "image/jpeg");
	CHECK(jpg && jpg->len == 5);
	CHECK_STR(mime(&o, 1, "text/html"), "<i>b</i>");
	CHECK_STR(mime(&o, 1, "text/plain"), "plain B");
	CHECK(o.outputs.n == 3 && o.outputs.items[2].type == OUTPUT_EXECUTE_RESULT);
	CHECK_STR(mime(&o, 2, "text/html"), "<b>h</b>");
	chunk_outcome_free(&o);
	engine_stop(e);
}

TEST(pandas_table)
{
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e, "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2], 'b': [3.5, 4]})\ndf\n", &o);
	CHECK(o.status == RUN_OK);
	CHECK(o.outputs.n == 1 && o.outputs.items[0].type == OUTPUT_EXECUTE_RESULT);
	const char *html = mime(&o, 0, "text/html");
	CHECK(html && strstr(html, "<table") && strstr(html, "3.5"));
	const char *plain = mime(&o, 0, "text/plain");
	CHECK(plain && strstr(plain, "a    b") != NULL);
	if (o.outputs.n != 1)
		dump(&o);
	chunk_outcome_free(&o);
	engine_stop(e);
}

/* Width and height from a PNG's IHDR chunk. */
static int png_size(const struct mime_item *m, unsigned *w, unsigned *h)
{
	const unsigned char *p = (const unsigned char *)m->data;
	if (m->len < 24 || memcmp(p, "\x89PNG", 4))
		return -1;
	*w = (unsigned)p[16] << 24 | p[17] << 16 | p[18] << 8 | p[19];
	*h = (unsigned)p[20] << 24 | p[21] << 16 | p[22] << 8 | p[23];
	return 0;
}

/*
 * Figures are saved cropped to what is drawn (bbox_inches="tight", as
 * IPython's inline backend does): the image is near the canvas, not equal
 * to it (labels may even stick out of a small canvas).
 */
static bool near_canvas(unsigned w, unsigned h, unsigned cw, unsigned ch)
{
	return 2 * w >= cw && 2 * w <= 3 * cw && 2 * h >= ch && 2 * h <= 3 * ch && (w != cw || h != ch);
}

TEST(figures)
{
	struct engine *e = start();
	struct chunk_outcome o;
	/* the chunk imports matplotlib itself: size and dpi still apply */
	struct run_request req = request("import matplotlib.pyplot as plt\n"
					 "print('before')\n"
					 "plt.plot([1, 2, 3])\n"
					 "plt.figure()\n"
					 "plt.bar([1, 2], [3, 4])\n"
					 "print('after')\n", 1);
	req.f_size[0] = 3;
	req.f_size[1] = 2;
	req.dpi = 50;
	run(e, &req, &o);
	CHECK(o.status == RUN_OK);
	CHECK(o.outputs.n == 3);
	CHECK_STR(stream_text(&o, 0, "stdout"), "before\nafter\n");
	for (size_t i = 1; i < 3 && i < o.outputs.n; i++) {
		const struct mime_item *m = output_get_mime(&o.outputs.items[i], "image/png");
		unsigned w = 0, h = 0;
		CHECK(m && png_size(m, &w, &h) == 0 && near_canvas(w, h, 150, 100));
		const char *plain = mime(&o, i, "text/plain");
		CHECK(plain && strstr(plain, "<Figure size 150x100") != NULL);
	}
	if (o.outputs.n != 3)
		dump(&o);
	chunk_outcome_free(&o);

	/* already imported: the new chunk's size applies; plt.show keeps the order */
	req = request("plt.plot([1, 2])\nprint('a')\nplt.show()\nprint('b')\n", 10);
	req.f_size[0] = 4;
	req.f_size[1] = 1;
	req.dpi = 25;
	run(e, &req, &o);
	CHECK(o.outputs.n == 3);
	CHECK_STR(stream_text(&o, 0, "stdout"), "a\n");
	CHECK(o.outputs.n > 1 && o.outputs.items[1].type == OUTPUT_DISPLAY_DATA);
	const struct mime_item *m = o.outputs.n > 1 ? output_get_mime(&o.outputs.items[1], "image/png") : NULL;
	unsigned w = 0, h = 0;
	CHECK(m && png_size(m, &w, &h) == 0 && near_canvas(w, h, 100, 25));
	const char *plain1 = mime(&o, 1, "text/plain");
	CHECK(plain1 && strstr(plain1, "<Figure size 100x25") != NULL);
	CHECK_STR(stream_text(&o, 2, "stdout"), "b\n");
	chunk_outcome_free(&o);

	req = request("plt.plot([1, 2]);\n", 20);
	req.fig_format = "svg";
	run(e, &req, &o);
	const char *svg = mime(&o, 0, "image/svg+xml");
	CHECK(o.outputs.n == 1 && svg && strstr(svg, "<svg"));
	chunk_outcome_free(&o);

	req = request("plt.plot([1, 2]);\n", 30);
	req.fig_format = "pdf";
	run(e, &req, &o);
	m = o.outputs.n ? output_get_mime(&o.outputs.items[0], "application/pdf") : NULL;
	CHECK(o.outputs.n == 1 && m && !strncmp(m->data, "%PDF", 4));
	chunk_outcome_free(&o);

	req = request("plt.plot([1, 2])\nplt.show()\nplt.figure();\n", 40);
	req.fig = false;
	run(e, &req, &o);
	CHECK(o.outputs.n == 0);
	chunk_outcome_free(&o);
	run_code(e, "print(len(plt.get_fignums()))\n", &o);
	CHECK_STR(stream_text(&o, 0, "stdout"), "0\n");
	chunk_outcome_free(&o);
	engine_stop(e);
}

TEST(term_mode)
{
	struct engine *e = start();
	struct chunk_outcome o;
	struct run_request req = request("x = 1\nx + 1\nprint('hi')\n"
					 "def f(a):\n    return a * 2\n"
					 "f(4)\n1/0\nx\n", 7);
	req.term = true;
	run(e, &req, &o);
	CHECK(o.nstatements == 7);
	if (o.nstatements == 7) {
		CHECK_STR(o.statements[0].source, "x = 1\n");
		CHECK(o.statements[0].line == 7);
		CHECK_STR(o.statements[3].source, "def f(a):\n    return a * 2\n");
		CHECK(o.statements[3].line == 10);
		CHECK(o.statements[6].line == 14);
	}
	/* outputs: 2 (st 1), hi (st 2), 8 (st 4), error (st 5), 1 (st 6): a console goes on */
	CHECK(o.outputs.n == 5);
	CHECK_STR(mime(&o, 0, "text/plain"), "2");
	CHECK(o.outputs.n > 0 && o.outputs.items[0].statement == 1);
	CHECK_STR(stream_text(&o, 1, "stdout"), "hi\n");
	CHECK(o.outputs.n > 1 && o.outputs.items[1].statement == 2);
	CHECK(o.outputs.n > 2 && o.outputs.items[2].statement == 4);
	CHECK(o.outputs.n > 3 && o.outputs.items[3].type == OUTPUT_ERROR &&
	      o.outputs.items[3].statement == 5);
	CHECK(o.outputs.n > 4 && o.outputs.items[4].statement == 6);
	CHECK(o.status == RUN_ERROR && o.error_line == 13);
	if (o.outputs.n != 5)
		dump(&o);
	chunk_outcome_free(&o);
	engine_stop(e);
}

static bool traceback_has(const struct output *o, const char *text)
{
	for (size_t i = 0; i < o->ntraceback; i++)
		if (strstr(o->traceback[i], text))
			return true;
	return false;
}

TEST(errors_point_at_document)
{
	struct engine *e = start();
	struct chunk_outcome o;
	struct run_request req = request("def f(x):\n    return 1 / x\n", 5);
	run(e, &req, &o);
	chunk_outcome_free(&o);
	req = request("print('ok')\ny = f(0)\nprint('not reached')\n", 20);
	run(e, &req, &o);
	CHECK(o.status == RUN_ERROR);
	CHECK_STR(o.error_type, "ZeroDivisionError");
	CHECK_STR(o.error_message, "division by zero");
	CHECK(o.error_line == 6); /* the deepest document frame: inside f */
	CHECK(o.outputs.n == 2 && o.outputs.items[1].type == OUTPUT_ERROR);
	if (o.outputs.n == 2) {
		struct output *err = &o.outputs.items[1];
		struct strbuf want;
		strbuf_init(&want);
		strbuf_addf(&want, "File \"%s\", line 21, in <module>", docpath);
		CHECK(traceback_has(err, want.buf));
		strbuf_reset(&want);
		strbuf_addf(&want, "File \"%s\", line 6, in f", docpath);
		CHECK(traceback_has(err, want.buf));
		CHECK(traceback_has(err, "return 1 / x")); /* the source line is quoted */
		CHECK(!traceback_has(err, "weft_runtime")); /* runtime frames hidden */
		CHECK_STR(err->ename, "ZeroDivisionError");
		strbuf_free(&want);
	}
	chunk_outcome_free(&o);

	req = request("a = 1\nb = = 2\n", 40);
	run(e, &req, &o);
	CHECK(o.status == RUN_ERROR);
	CHECK_STR(o.error_type, "SyntaxError");
	CHECK(o.error_line == 41);
	CHECK(o.outputs.n == 1);
	if (o.outputs.n == 1) {
		struct strbuf want;
		strbuf_init(&want);
		strbuf_addf(&want, "File \"%s\", line 41", docpath);
		CHECK(traceback_has(&o.outputs.items[0], want.buf));
		strbuf_free(&want);
	}
	chunk_outcome_free(&o);
	/* warnings quote the document line (doc.pmd does not even exist on disk) */
	req = request("import warnings\nwarnings.warn('careful')\n", 50);
	run(e, &req, &o);
	const char *w = stream_text(&o, 0, "stderr");
	CHECK(w && strstr(w, "doc.pmd:51: UserWarning: careful") && strstr(w, "warnings.warn('careful')"));
	chunk_outcome_free(&o);
	/* the engine goes on after errors */
	run_code(e, "print(a if 'a' in dir() else 'no a')\n", &o);
	CHECK_STR(stream_text(&o, 0, "stdout"), "no a\n");
	chunk_outcome_free(&o);
	engine_stop(e);
}

static void check_crash(const char *code, const char *want_msg, int want_line)
{
	int fds = count_fds();
	struct engine *e = start();
	struct chunk_outcome o;
	struct run_request req = request(code, 30);
	memset(&o, 0, sizeof(o));
	output_list_init(&o.outputs);
	struct weft_error err;
	weft_error_init(&err);
	int rc = engine_run_chunk(e, &req, &o, NULL, &err);
	CHECK(rc == -1);
	CHECK(o.status == RUN_CRASHED);
	CHECK(o.error_message && strstr(o.error_message, want_msg));
	if (o.error_message && !strstr(o.error_message, want_msg))
		printf("#   message: %s\n", o.error_message);
	CHECK(o.error_line == want_line);
	CHECK(err.line == want_line && err.file && !strcmp(err.file, docpath));
	CHECK_STR(stream_text(&o, 0, "stdout"), "before\n"); /* output before the crash is kept */
	for (size_t i = 0; i < o.outputs.n; i++) /* faulthandler's dump shows no runtime frames */
		CHECK(!strstr(o.outputs.items[i].text.buf, "<weft>"));
	if (strstr(want_msg, "signal 11")) {
		const char *dump = stream_text(&o, 1, "stderr");
		CHECK(dump && strstr(dump, "Segmentation fault") && strstr(dump, "doc.pmd\", line 32"));
	}
	CHECK(!engine_alive(e));
	weft_error_free(&err);
	chunk_outcome_free(&o);
	/* a dead engine refuses work; a new one starts fine */
	memset(&o, 0, sizeof(o));
	output_list_init(&o.outputs);
	weft_error_init(&err);
	CHECK(engine_run_chunk(e, &req, &o, NULL, &err) == -1 && o.status == RUN_CRASHED);
	CHECK(strstr(weft_error_text(&err), "not running") != NULL);
	weft_error_free(&err);
	chunk_outcome_free(&o);
	engine_stop(e);
	e = start();
	CHECK(e && run_code(e, "print(6 * 7)\n", &o) == 0);
	CHECK_STR(stream_text(&o, 0, "stdout"), "42\n");
	chunk_outcome_free(&o);
	engine_stop(e);
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	CHECK(count_fds() == fds);
}

TEST(segfault)
{
	check_crash("import ctypes\nprint('before')\nctypes.string_at(0)\n", "signal 11", 32);
}

TEST(os_exit)
{
	check_crash("import os\nprint('before')\nos._exit(3)\n", "exited with status 3", 32);
}

TEST(timeout_kills_group)
{
	int fds = count_fds();
	struct engine *e = start_with(NULL, 1.0);
	struct chunk_outcome o;
	struct run_request req = request("import subprocess, time\n"
					 "p = subprocess.Popen(['sleep', '60'])\n"
					 "open('child.pid', 'w').write(str(p.pid))\n"
					 "print('before')\n"
					 "time.sleep(30)\n", 3);
	double t0 = now();
	memset(&o, 0, sizeof(o));
	output_list_init(&o.outputs);
	struct weft_error err;
	weft_error_init(&err);
	int rc = engine_run_chunk(e, &req, &o, NULL, &err);
	double took = now() - t0;
	CHECK(rc == -1 && o.status == RUN_TIMEOUT);
	CHECK(took >= 0.9 && took < 3.0);
	CHECK(o.error_message && strstr(o.error_message, "timed out"));
	CHECK(o.error_line == 7); /* where it was stuck, from faulthandler's dump */
	CHECK(err.line == 7);
	CHECK_STR(stream_text(&o, 0, "stdout"), "before\n");
	CHECK(!engine_alive(e));
	weft_error_free(&err);
	chunk_outcome_free(&o);
	engine_stop(e);
	CHECK(count_fds() == fds);
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	/* the chunk's subprocess died with the worker */
	char pidfile[400];
	snprintf(pidfile, sizeof(pidfile), "%s/child.pid", tmpdir);
	struct strbuf sb;
	strbuf_init(&sb);
	CHECK(strbuf_read_file(&sb, pidfile) == 0);
	pid_t child = (pid_t)atoi(sb.buf);
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		struct strbuf stat;
		strbuf_init(&stat);
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)child);
		/* gone, or a zombie waiting for init to reap it */
		gone = strbuf_read_file(&stat, path) < 0 || strstr(stat.buf, ") Z ") != NULL;
		strbuf_free(&stat);
		if (!gone)
			usleep(10000);
	}
	CHECK(child > 0 && gone);
	strbuf_free(&sb);
}

TEST(inline_code)
{
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e, "x = 6\n", &o);
	chunk_outcome_free(&o);
	struct inline_outcome in;
	memset(&in, 0, sizeof(in));
	strbuf_init(&in.text);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(engine_eval_inline(e, " x * 7 ", true, 3, &in, &err) == 0);
	CHECK(in.done && in.status == RUN_OK);
	CHECK_STR(in.text.buf, "42");
	CHECK(engine_eval_inline(e, "print('hi', x)", false, 4, &in, &err) == 0);
	CHECK_STR(in.text.buf, "hi 6\n");
	CHECK(engine_eval_inline(e, "x / 0", true, 5, &in, &err) == 0);
	CHECK(in.status == RUN_ERROR);
	CHECK(in.error_message && strstr(in.error_message, "ZeroDivisionError"));
	CHECK(engine_eval_inline(e, "y = x + 1", false, 6, &in, &err) == 0);
	CHECK(in.status == RUN_OK);
	CHECK_STR(in.text.buf, "");
	CHECK(engine_eval_inline(e, "y", true, 7, &in, &err) == 0);
	CHECK_STR(in.text.buf, "7");
	strbuf_free(&in.text);
	free(in.error_message);
	weft_error_free(&err);
	engine_stop(e);
}

TEST(ops)
{
	struct engine *e = start();
	struct weft_error err;
	weft_error_init(&err);
	json_t *reply = NULL;
	json_t *req = json_pack("{s:s}", "op", "no_such_op");
	CHECK(engine_request(e, req, &reply, &err) == -1);
	CHECK(strstr(weft_error_text(&err), "unknown op") != NULL);
	json_decref(req);
	json_decref(reply);
	CHECK(engine_alive(e));

	/* any loaded weft_* module can serve ops */
	struct chunk_outcome o;
	run_code(e, "import sys, types\n"
		    "m = types.ModuleType('weft_testops')\n"
		    "m.op_double = lambda req: {'value': req['x'] * 2}\n"
		    "def op_fail(req):\n    raise ValueError('bad input')\n"
		    "m.op_fail = op_fail\n"
		    "sys.modules['weft_testops'] = m\n", &o);
	chunk_outcome_free(&o);
	req = json_pack("{s:s, s:i}", "op", "double", "x", 21);
	CHECK(engine_request(e, req, &reply, &err) == 0);
	CHECK(json_integer_value(json_object_get(reply, "value")) == 42);
	json_decref(req);
	json_decref(reply);
	req = json_pack("{s:s}", "op", "fail");
	CHECK(engine_request(e, req, &reply, &err) == -1);
	CHECK(strstr(weft_error_text(&err), "ValueError: bad input") != NULL);
	json_decref(req);
	json_decref(reply);
	req = json_pack("{s:s}", "op", "ping");
	CHECK(engine_request(e, req, &reply, &err) == 0);
	json_decref(req);
	json_decref(reply);
	weft_error_free(&err);
	engine_stop(e);
}

TEST(tracking_hook)
{
	struct engine *e = start();
	struct chunk_outcome o;
	/* a stand-in weft_state, loaded before the embedded one would be */
	run_code(e, "import sys, types\n"
		    "st = types.ModuleType('weft_state')\n"
		    "def begin_tracking(ns, req):\n    return (set(ns), req.get('reads'))\n"
		    "def end_tracking(token, ns):\n"
		    "    if token[1] == ['bad']:\n"
		    "        return {'new': []}\n"
		    "    return {'bound': sorted(set(ns) - token[0]), 'deleted': [], 'mutated': [],\n"
		    "            'files_read': [], 'files_written': [], 'reads': token[1]}\n"
		    "st.begin_tracking, st.end_tracking = begin_tracking, end_tracking\n"
		    "sys.modules['weft_state'] = st\n", &o);
	chunk_outcome_free(&o);
	struct run_request req = request("zz = 1\nqq = 2\n1/0\n", 1);
	req.track = true;
	json_t *extra = json_pack("{s:[s]}", "reads", "x");
	req.extra = extra;
	memset(&o, 0, sizeof(o));
	output_list_init(&o.outputs);
	json_t *tracked = NULL;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(engine_run_chunk(e, &req, &o, &tracked, &err) == 0);
	CHECK(o.status == RUN_ERROR); /* tracked although the chunk raised */
	char *s = tracked ? json_dumps(tracked, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	/* source_lines: the traceback shows document lines, so the cache keys it on them. */
	CHECK_STR(s, "{\"bound\":[\"qq\",\"zz\"],\"deleted\":[],\"files_read\":[],\"files_written\":[],"
		     "\"mutated\":[],\"reads\":[\"x\"],\"source_lines\":true}");
	CHECK(!o.tracking_failed);
	free(s);
	json_decref(tracked);
	json_decref(extra);
	/* a record that breaks the protocol: no record, and the chunk is marked untracked */
	chunk_outcome_free(&o);
	extra = json_pack("{s:[s]}", "reads", "bad");
	req.extra = extra;
	tracked = NULL;
	CHECK(engine_run_chunk(e, &req, &o, &tracked, &err) == 0);
	CHECK(tracked == NULL);
	CHECK(o.tracking_failed);
	json_decref(tracked);
	json_decref(extra);
	weft_error_free(&err);
	chunk_outcome_free(&o);
	engine_stop(e);
}

TEST(virtualenv)
{
	char cmd[1200], venv[300], py[320];
	snprintf(venv, sizeof(venv), "%s/venv", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -m venv --without-pip --system-site-packages %s && "
		 "echo 'WHERE = \"venv\"' > %s/lib/python3.11/site-packages/weft_venv_probe.py",
		 venv, venv);
	CHECK(system(cmd) == 0);
	snprintf(py, sizeof(py), "%s/bin/python", venv);
	const char *code = "import sys, weft_venv_probe\nimport numpy\n"
			   "print(sys.executable)\nprint(sys.prefix)\nprint(weft_venv_probe.WHERE)\n";
	struct strbuf want;
	strbuf_init(&want);
	strbuf_addf(&want, "%s\n%s\nvenv\n", py, venv);

	struct engine *e = start_with(py, 0);
	struct chunk_outcome o;
	CHECK(e && run_code(e, code, &o) == 0);
	CHECK_STR(stream_text(&o, 0, "stdout"), want.buf);
	if (o.status != RUN_OK)
		dump(&o);
	CHECK(e && strstr(engine_identity(e), py) != NULL);
	chunk_outcome_free(&o);
	engine_stop(e);

	setenv("VIRTUAL_ENV", venv, 1);
	e = start();
	unsetenv("VIRTUAL_ENV");
	CHECK(e && run_code(e, code, &o) == 0);
	CHECK_STR(stream_text(&o, 0, "stdout"), want.buf);
	chunk_outcome_free(&o);
	engine_stop(e);
	strbuf_free(&want);

	/* a venv of another Python version is refused with a clear message */
	snprintf(cmd, sizeof(cmd), "sed -i 's/^version.*/version = 2.7.18/' %s/pyvenv.cfg", venv);
	CHECK(system(cmd) == 0);
	struct engine_config cfg = {.python = py, .doc_path = docpath, .workdir = tmpdir};
	struct weft_error err;
	weft_error_init(&err);
	e = NULL;
	CHECK(engine_start(&e, &cfg, &err) == -1 && !e);
	CHECK(strstr(weft_error_text(&err), "2.7") != NULL);
	weft_error_free(&err);
}

TEST(startup_is_lean)
{
	/*
	 * Start-up cost is measured in bench/ (bench_twochunk.py, as a ratio to
	 * Pweave), never asserted as time here. What keeps it low is checkable:
	 * a fresh worker that ran two tiny chunks has imported none of the heavy
	 * modules the runtime could have pulled in eagerly.
	 */
	struct engine *e = start();
	struct chunk_outcome o;
	run_code(e, "x = 1\nprint(x)\n", &o);
	chunk_outcome_free(&o);
	run_code(e, "import sys\nsorted(m for m in ('json', 're', 'enum', 'pickle', 'cloudpickle', 'tempfile',"
		    " 'numpy', 'matplotlib', 'pandas', 'ast') if m in sys.modules)\n", &o);
	CHECK_STR(mime(&o, 0, "text/plain"), "[]");
	chunk_outcome_free(&o);
	engine_stop(e);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/weft-engine-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(docpath, sizeof(docpath), "%s/doc.pmd", tmpdir);
	RUN(start_identity_stop);
	RUN(start_failures);
	RUN(namespace_cwd_argv);
	RUN(stream_order);
	RUN(forked_children_and_threads);
	RUN(atexit_on_stop);
	RUN(embedded_modules);
	RUN(large_output);
	RUN(last_expression);
	RUN(rich_display);
	RUN(pandas_table);
	RUN(figures);
	RUN(term_mode);
	RUN(errors_point_at_document);
	RUN(segfault);
	RUN(os_exit);
	RUN(timeout_kills_group);
	RUN(inline_code);
	RUN(ops);
	RUN(tracking_hook);
	RUN(virtualenv);
	RUN(startup_is_lean);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return 1;
	return unit_done();
}
