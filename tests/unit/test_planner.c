/*
 * Unit tests for the planner's walk without Python: the engine is injected
 * (planner_config.engine_ops) as a scripted fake, a real store keeps the
 * entries. Chunk code is a tiny language the fake runs, one command a line:
 *   set NAME VALUE     bind NAME (VALUE "U:..." cannot be saved: replayed)
 *   copy NAME SRC      read SRC, bind NAME to its value
 *   show NAME          read NAME, print "NAME=VALUE"
 *   untracked          the run's tracking fails (no record, as the real
 *                      engine reports a begin_tracking failure)
 *   raise              the chunk raises
 * Every engine call is logged ("start", "analyze 2", "run b", "restore x",
 * "save x", ...), so the tests check the walk's order: hit, miss, stale,
 * replay, restore.
 */
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/store.h"
#include "engine/engine.h"
#include "planner/planner.h"
#include "unit.h"
#include "reader/load.h"

static char root[] = "/tmp/weft-planner-XXXXXX";
static struct strbuf fake_log;   /* every engine call of the current render, ";"-separated */
static int fake_short_analysis;  /* reply to analyze with one analysis fewer (a protocol breach) */
static int save_counter;

struct fake {
	json_t *ns; /* name -> value */
};

static void logf_(const char *what, const char *arg)
{
	if (fake_log.len)
		strbuf_addch(&fake_log, ';');
	strbuf_addstr(&fake_log, what);
	if (arg)
		strbuf_addf(&fake_log, " %s", arg);
}

/* The fake engine's start: an empty namespace. */
static int fake_start(void **impl, const struct engine_config *cfg, struct weft_error *err)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	f->ns = json_object();
	*impl = f;
	logf_("start", NULL);
	return 0;
}

static void fake_stop(void *impl)
{
	struct fake *f = impl;
	if (!f)
		return;
	json_decref(f->ns);
	free(f);
}

static bool fake_alive(const void *impl)
{
	return impl != NULL;
}

static const char *fake_identity(void *impl)
{
	return "fake engine";
}

/* Split code into lines of up to 3 words; calls fn per line. */
struct cmd {
	char op[32], a[64], b[64];
};

static size_t parse_cmds(const char *code, struct cmd *cmds, size_t max)
{
	size_t n = 0;
	const char *p = code;
	while (*p && n < max) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[200];
		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		memset(&cmds[n], 0, sizeof(cmds[n]));
		if (sscanf(line, "%31s %63s %63s", cmds[n].op, cmds[n].a, cmds[n].b) >= 1)
			n++;
		p += len + (nl ? 1 : 0);
	}
	return n;
}

/* Analysis of a fake chunk: reads before writes, the writes, normalized = code. */
static json_t *fake_analysis(const char *code)
{
	struct cmd c[32];
	size_t n = parse_cmds(code, c, 32);
	json_t *reads = json_array(), *writes = json_array(), *bound = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *r = !strcmp(c[i].op, "copy") ? c[i].b : !strcmp(c[i].op, "show") ? c[i].a : NULL;
		if (r && !json_object_get(bound, r))
			json_array_append_new(reads, json_string(r));
		const char *wr = !strcmp(c[i].op, "set") || !strcmp(c[i].op, "copy") ? c[i].a : NULL;
		if (wr) {
			json_object_set_new(bound, wr, json_true());
			json_array_append_new(writes, json_string(wr));
		}
	}
	json_decref(bound);
	return json_pack("{s:o, s:o, s:[], s:s, s:{}, s:[]}", "reads", reads, "writes", writes, "deletes",
			 "normalized", code, "functions", "calls");
}

static int fake_run(void *impl, const struct run_request *req, struct chunk_outcome *out, json_t **tracked,
		    struct weft_error *err)
{
	struct fake *f = impl;
	logf_("run", req->name);
	if (req->meanwhile)
		req->meanwhile(req->meanwhile_ctx);
	struct cmd c[32];
	size_t n = parse_cmds(req->code, c, 32);
	json_t *bound = json_array();
	bool untracked = false;
	out->status = RUN_OK;
	struct strbuf printed;
	strbuf_init(&printed);
	for (size_t i = 0; i < n && out->status == RUN_OK; i++) {
		if (!strcmp(c[i].op, "set")) {
			json_object_set_new(f->ns, c[i].a, json_string(c[i].b));
			json_array_append_new(bound, json_string(c[i].a));
		} else if (!strcmp(c[i].op, "copy") || !strcmp(c[i].op, "show")) {
			const char *src = !strcmp(c[i].op, "copy") ? c[i].b : c[i].a;
			json_t *v = json_object_get(f->ns, src);
			if (!v) {
				out->status = RUN_ERROR;
				out->error_type = xstrdup("NameError");
				out->error_message = xstrdup(src);
			} else if (!strcmp(c[i].op, "copy")) {
				json_object_set_new(f->ns, c[i].a, json_incref(v));
				json_array_append_new(bound, json_string(c[i].a));
			} else {
				strbuf_addf(&printed, "%s=%s\n", src, json_string_value(v));
			}
		} else if (!strcmp(c[i].op, "untracked")) {
			untracked = true;
		} else if (!strcmp(c[i].op, "raise")) {
			out->status = RUN_ERROR;
			out->error_type = xstrdup("RuntimeError");
			out->error_message = xstrdup("raised");
		}
	}
	if (printed.len) {
		struct output *o = output_list_add(&out->outputs, OUTPUT_STREAM);
		o->stream_name = xstrdup("stdout");
		o->statement = -1;
		strbuf_add(&o->text, printed.buf, printed.len);
	}
	strbuf_free(&printed);
	if (req->track && tracked) {
		if (untracked)
			out->tracking_failed = true;
		else
			*tracked = json_pack("{s:O, s:[], s:[], s:[], s:[], s:b}", "bound", bound, "deleted",
					     "mutated", "files_read", "files_written", "rng", 0);
	}
	json_decref(bound);
	return 0;
}

static int fake_inline(void *impl, const char *code, bool is_expr, int line, struct inline_outcome *out,
		       struct weft_error *err)
{
	out->done = true;
	out->status = RUN_OK;
	return 0;
}

/* Reply to the cache's ops: analyze, save, restore, delete, doc_lines. */
static int fake_request(void *impl, json_t *req, json_t **reply, struct weft_error *err)
{
	struct fake *f = impl;
	const char *op = json_string_value(json_object_get(req, "op"));
	size_t i;
	json_t *v;
	*reply = NULL;
	if (!strcmp(op, "analyze")) {
		json_t *chunks = json_object_get(req, "chunks");
		char n[32];
		snprintf(n, sizeof(n), "%zu", json_array_size(chunks));
		logf_("analyze", n);
		json_t *out = json_array();
		json_array_foreach(chunks, i, v) {
			if (fake_short_analysis && i + 1 == json_array_size(chunks))
				break;
			json_array_append_new(out, fake_analysis(json_string_value(json_object_get(v, "code"))));
		}
		*reply = json_pack("{s:b, s:o}", "ok", 1, "chunks", out);
	} else if (!strcmp(op, "save")) {
		const char *dir = json_string_value(json_object_get(req, "dir"));
		json_t *items = json_array();
		json_array_foreach(json_object_get(req, "names"), i, v) {
			const char *name = json_string_value(v);
			const char *val = json_string_value(json_object_get(f->ns, name));
			logf_("save", name);
			if (!val)
				continue;
			if (!strncmp(val, "U:", 2)) {
				json_array_append_new(items, json_pack("{s:s, s:b}", "name", name, "unsaveable", 1));
				continue;
			}
			char path[600];
			snprintf(path, sizeof(path), "%s/fake-%d", dir, save_counter++);
			FILE *fp = fopen(path, "w");
			if (!fp)
				return weft_error_errno(err, path, "fake save");
			fputs(val, fp);
			fclose(fp);
			json_array_append_new(items, json_pack("{s:s, s:s, s:[]}", "name", name, "pickle", path,
							       "buffers"));
		}
		*reply = json_pack("{s:b, s:o}", "ok", 1, "items", items);
	} else if (!strcmp(op, "restore")) {
		json_t *restored = json_array();
		json_array_foreach(json_object_get(req, "items"), i, v) {
			const char *name = json_string_value(json_object_get(v, "name"));
			struct strbuf data;
			strbuf_init(&data);
			logf_("restore", name);
			/* the planner sends each blob as an open descriptor (engine.h "fds"), read from its start */
			const json_t *fdi = json_object_get(v, "pickle_fd");
			int fd = fdi ? (int)json_integer_value(json_array_get(json_object_get(req, "fds"),
									  (size_t)json_integer_value(fdi))) : -1;
			char chunk[4096];
			ssize_t got;
			off_t off = 0;
			while (fd >= 0 && (got = pread(fd, chunk, sizeof(chunk), off)) > 0) {
				strbuf_add(&data, chunk, (size_t)got);
				off += got;
			}
			if (fd >= 0) {
				json_object_set_new(f->ns, name, json_string(data.buf));
				json_array_append_new(restored, json_string(name));
			}
			strbuf_free(&data);
		}
		*reply = json_pack("{s:b, s:o, s:{}}", "ok", 1, "restored", restored, "errors");
	} else if (!strcmp(op, "delete")) {
		json_array_foreach(json_object_get(req, "names"), i, v) {
			logf_("delete", json_string_value(v));
			json_object_del(f->ns, json_string_value(v));
		}
		*reply = json_pack("{s:b}", "ok", 1);
	} else if (!strcmp(op, "doc_lines")) {
		/* lines of cached chunks, for tracebacks: nothing to keep in a fake */
		*reply = json_pack("{s:b}", "ok", 1);
	} else {
		logf_("unexpected", op);
		return weft_error_set(err, NULL, 0, 0, "fake engine: no op %s", op);
	}
	return 0;
}

static const struct engine_ops fake_ops = {
	"fake", fake_start, fake_stop, fake_alive, fake_run, fake_inline, fake_request, fake_identity,
};

/* ---- harness ---- */

struct render {
	struct document doc;
	struct weave_results res;
	int rc;
	struct weft_error err;
};

static char cache_dir[300], doc_path[300];

/* Fresh cache for a test. */
static void new_cache(const char *name)
{
	snprintf(cache_dir, sizeof(cache_dir), "%s/cache-%s", root, name);
	snprintf(doc_path, sizeof(doc_path), "%s/doc-%s.mdw", root, name);
}

/* Render `text` (noweb) with --cache through the fake engine; the log starts empty. */
static void render(struct render *r, const char *text)
{
	strbuf_reset(&fake_log);
	weft_error_init(&r->err);
	document_init(&r->doc);
	FILE *fp = fopen(doc_path, "w");
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
	if (document_read_buffer(&r->doc, doc_path, "noweb", text, strlen(text), &r->err) < 0) {
		printf("# read failed: %s\n", weft_error_text(&r->err));
		r->rc = -1;
		return;
	}
	weave_results_init(&r->res, r->doc.nchunks, r->doc.ninline);
	struct planner_config cfg = {
		.fig_format = "png",
		.cache_all = true,
		.cache_dir = cache_dir,
		.engine_ops = &fake_ops,
	};
	r->rc = planner_weave(&r->doc, &cfg, &r->res, &r->err);
	if (r->rc < 0)
		printf("# render: %s\n", weft_error_text(&r->err));
}

static void render_free(struct render *r)
{
	weave_results_free(&r->res);
	document_free(&r->doc);
	weft_error_free(&r->err);
}

/* "ran,cached,..." for the chunks of a render. */
static const char *states(const struct render *r)
{
	static char buf[256];
	buf[0] = '\0';
	for (size_t i = 0; i < r->res.nchunks; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "," : "",
			 chunk_state_name(r->res.chunks[i].state));
	return buf;
}

/* The stdout text chunk i showed (first stream output), or "". */
static const char *shown(const struct render *r, size_t i)
{
	const struct output_list *l = &r->res.chunks[i].outputs;
	for (size_t k = 0; k < l->n; k++)
		if (l->items[k].type == OUTPUT_STREAM)
			return l->items[k].text.buf;
	return "";
}

#define NW(name, code) "<<" name ">>=\n" code "\n@\n"

/* ---- tests ---- */

/* A miss runs and stores; the same document again is all hits, the engine never starts. */
TEST(miss_then_hit)
{
	new_cache("hit");
	const char *doc = NW("a", "set x 1") NW("b", "show x");
	struct render r;
	render(&r, doc);
	CHECK(r.rc == 0);
	CHECK_STR(states(&r), "ran,ran");
	CHECK_STR(fake_log.buf, "start;analyze 2;run a;save x;run b");
	CHECK_STR(shown(&r, 1), "x=1\n");
	render_free(&r);
	render(&r, doc);
	CHECK(r.rc == 0);
	CHECK_STR(states(&r), "cached,cached");
	CHECK_STR(fake_log.buf, ""); /* nothing started: the analyses are memoised too */
	CHECK_STR(shown(&r, 1), "x=1\n");
	CHECK(!r.res.engine_started);
	render_free(&r);
}

/* An edit upstream makes its readers stale: both run, in order, nothing restored. */
TEST(stale_reader_runs_after_edit)
{
	new_cache("stale");
	struct render r;
	render(&r, NW("a", "set x 1") NW("b", "show x") NW("c", "set z 9"));
	render_free(&r);
	render(&r, NW("a", "set x 2") NW("b", "show x") NW("c", "set z 9"));
	CHECK_STR(states(&r), "ran,ran,cached");
	CHECK_STR(fake_log.buf, "start;analyze 1;run a;save x;run b");
	CHECK_STR(shown(&r, 1), "x=2\n");
	CHECK(strstr(r.res.chunks[1].why, "reads x from chunk a") != NULL);
	render_free(&r);
}

/* An edited reader gets its inputs restored from the writers' entries first, in name order. */
TEST(restore_before_run)
{
	new_cache("restore");
	struct render r;
	render(&r, NW("a", "set x 1") NW("b", "set y 2") NW("c", "show x\nshow y"));
	render_free(&r);
	render(&r, NW("a", "set x 1") NW("b", "set y 2") NW("c", "show y\nshow x"));
	CHECK_STR(states(&r), "cached,cached,ran");
	CHECK_STR(fake_log.buf, "start;analyze 1;restore x;restore y;run c");
	CHECK_STR(shown(&r, 2), "y=2\nx=1\n");
	render_free(&r);
}

/* A name that cannot be saved is rebuilt by replaying its chunk before the reader runs. */
TEST(unsaveable_name_is_replayed)
{
	new_cache("replay");
	struct render r;
	render(&r, NW("a", "set conn U:db") NW("b", "show conn"));
	CHECK_STR(states(&r), "ran,ran");
	render_free(&r);
	render(&r, NW("a", "set conn U:db") NW("b", "show conn\nshow conn"));
	CHECK_STR(states(&r), "replayed,ran");
	CHECK_STR(fake_log.buf, "start;analyze 1;run a;run b");
	CHECK_STR(shown(&r, 1), "conn=U:db\nconn=U:db\n");
	render_free(&r);
}

/* A chunk whose tracking failed is never cached, and whoever reads from it runs too. */
TEST(untracked_chunk_not_cached_readers_run)
{
	new_cache("untracked");
	const char *doc = NW("a", "set x 1") NW("b", "untracked\ncopy y x") NW("c", "show y") NW("d", "set q 1");
	struct render r;
	render(&r, doc);
	CHECK_STR(states(&r), "ran,ran,ran,ran");
	CHECK(strstr(fake_log.buf, "save y") == NULL); /* b's names are not saved: no entry */
	render_free(&r);
	for (int round = 0; round < 2; round++) {
		render(&r, doc);
		CHECK_STR(states(&r), "cached,ran,ran,cached");
		CHECK_STR(fake_log.buf, "start;restore x;run b;run c");
		CHECK(r.res.chunks[2].why && strstr(r.res.chunks[2].why, "which weft could not track"));
		CHECK_STR(shown(&r, 2), "y=1\n");
		render_free(&r);
	}
}

/* A chunk that raised is not cached: it runs again, its successors' entries stay. */
TEST(error_not_cached)
{
	new_cache("error");
	const char *doc = NW("a", "set x 1") NW("b", "raise") NW("c", "show x");
	struct render r;
	render(&r, doc);
	CHECK_STR(states(&r), "ran,ran,ran");
	CHECK(r.res.chunks[1].status == RUN_ERROR);
	render_free(&r);
	render(&r, doc);
	CHECK_STR(states(&r), "cached,ran,cached");
	CHECK_STR(fake_log.buf, "start;run b");
	render_free(&r);
}

/* A reply that breaks the protocol (one analysis short) fails the render, never shifts entries. */
TEST(short_analysis_is_an_error)
{
	new_cache("short");
	fake_short_analysis = 1;
	struct render r;
	render(&r, NW("a", "set x 1") NW("b", "show x"));
	fake_short_analysis = 0;
	CHECK(r.rc == -1);
	CHECK(strstr(r.err.msg.buf, "1 analyses for 2 chunks") != NULL);
	CHECK(strstr(fake_log.buf, "run") == NULL);
	render_free(&r);
	/* and nothing wrong was cached: a sane engine renders it from scratch */
	render(&r, NW("a", "set x 1") NW("b", "show x"));
	CHECK(r.rc == 0);
	CHECK_STR(states(&r), "ran,ran");
	CHECK_STR(shown(&r, 1), "x=1\n");
	render_free(&r);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	char cfg[400];
	snprintf(cfg, sizeof(cfg), "%s/config", root);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	unsetenv("WEFT_CACHE_DIR");
	strbuf_init(&fake_log);
	RUN(miss_then_hit);
	RUN(stale_reader_runs_after_edit);
	RUN(restore_before_run);
	RUN(unsaveable_name_is_replayed);
	RUN(untracked_chunk_not_cached_readers_run);
	RUN(error_not_cached);
	RUN(short_analysis_is_an_error);
	strbuf_free(&fake_log);
	nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return unit_done();
}
