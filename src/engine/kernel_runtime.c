/* kernel_runtime: weft's runtime inside a Python Jupyter kernel; see kernel_runtime.h. */
#include "engine/kernel_runtime.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine/embedded.h"
#include "engine/jupyter_engine.h"
#include "engine/jupyter_kernelspec.h"
#include "engine/protocol.h"
#include "util/strbuf.h"

#define REPLY_MIME "application/vnd.weft.reply+json"

struct kernel_engine {
	struct jupyter_engine *j;
	bool python;            /* the kernel runs Python: weft's runtime can run inside it */
	int booted;             /* 0 not yet, 1 installed, -1 failed (boot_error says why) */
	struct strbuf boot_error;
	char *doc_path;
};

int kernel_engine_start(struct kernel_engine **out, const struct engine_config *cfg,
			struct weft_error *err)
{
	*out = NULL;
	struct jupyter_engine *j = NULL;
	if (jupyter_engine_start(&j, cfg, err) < 0)
		return -1;
	struct kernel_engine *k = xcalloc(1, sizeof(*k));
	k->j = j;
	k->python = !strcasecmp(jupyter_engine_language(j), "python");
	strbuf_init(&k->boot_error);
	k->doc_path = xstrdup(cfg->doc_path ? cfg->doc_path : "");
	*out = k;
	return 0;
}

void kernel_engine_stop(struct kernel_engine *k)
{
	if (!k)
		return;
	jupyter_engine_stop(k->j);
	strbuf_free(&k->boot_error);
	free(k->doc_path);
	free(k);
}

bool kernel_engine_alive(const struct kernel_engine *k)
{
	return k && jupyter_engine_alive(k->j);
}

const char *kernel_engine_identity(struct kernel_engine *k)
{
	return k ? jupyter_engine_identity(k->j) : NULL;
}

int kernel_engine_eval_inline(struct kernel_engine *k, const char *code, bool is_expr, int line,
			      struct inline_outcome *out, struct weft_error *err)
{
	/* a tracked inline span is bracketed by the planner's track_begin / track_end requests */
	return jupyter_engine_eval_inline(k->j, code, is_expr, line, out, err);
}

/* A JSON text of v, which is also a Python literal (strings, objects of strings); NULL if v has none. */
static char *py_literal(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/*
 * The code that installs the runtime: weft_kernel.py's module from its
 * source, then its boot() with every embedded .py file and the document's
 * path (the traceback and analysis file name, as the worker's sys.argv[0]).
 */
static char *boot_code(const char *doc_path)
{
	json_t *sources = json_object();
	for (unsigned i = 0; i < embedded_file_count; i++) {
		const struct embedded_file *f = &embedded_files[i];
		size_t n = strlen(f->name);
		if (n > 3 && !strcmp(f->name + n - 3, ".py"))
			json_object_set_new(sources, f->name, json_stringn(f->data, f->len));
	}
	json_t *doc = json_string(doc_path);
	char *src = py_literal(sources);
	char *path = doc ? py_literal(doc) : NULL;
	json_decref(sources);
	json_decref(doc);
	char *code = NULL;
	if (src && path) {
		struct strbuf sb;
		strbuf_init(&sb);
		strbuf_addf(&sb,
			    "def _weft_boot(sources, doc_path):\n"
			    "    import sys, types\n"
			    "    mod = types.ModuleType('weft_kernel')\n"
			    "    mod.__file__ = '<weft>/weft_kernel.py'\n"
			    "    sys.modules['weft_kernel'] = mod\n"
			    "    exec(compile(sources['weft_kernel.py'], mod.__file__, 'exec', dont_inherit=True),\n"
			    "         mod.__dict__)\n"
			    "    mod.boot(sources, doc_path)\n"
			    "try:\n"
			    "    _weft_boot(%s, %s)\n"
			    "finally:\n"
			    "    del _weft_boot\n",
			    src, path);
		code = strbuf_detach(&sb, NULL);
	}
	free(src);
	free(path);
	return code;
}

/* Install the runtime in the kernel once; 0, or -1 with err (kept: later calls fail alike). */
static int boot(struct kernel_engine *k, struct weft_error *err)
{
	if (k->booted > 0)
		return 0;
	if (k->booted < 0)
		return weft_error_set(err, k->doc_path, 0, 0, "%s", k->boot_error.buf);
	char *code = boot_code(k->doc_path);
	if (!code)
		return weft_error_set(err, k->doc_path, 0, 0,
				      "weft's runtime could not be sent to the kernel: the document's path is not UTF-8");
	json_t *reply = NULL;
	int rc = jupyter_engine_eval_silent(k->j, code, NULL, &reply, err);
	free(code);
	json_decref(reply);
	if (rc < 0) {
		k->booted = -1;
		strbuf_addf(&k->boot_error, "installing weft's runtime in the kernel failed: %s", err->msg.buf);
		weft_error_set(err, k->doc_path, 0, 0, "%s", k->boot_error.buf);
		return -1;
	}
	k->booted = 1;
	return 0;
}

int kernel_engine_request(struct kernel_engine *k, json_t *request, json_t **reply,
			  struct weft_error *err)
{
	*reply = NULL;
	const char *op = json_string_value(json_object_get(request, "op"));
	if (!k->python)
		return weft_error_set(err, NULL, 0, 0, "op %s: not supported by a %s kernel", op ? op : "?",
				      jupyter_engine_language(k->j));
	if (!json_is_object(request))
		return weft_error_set(err, k->doc_path, 0, 0, "a request to the kernel could not be built");
	if (boot(k, err) < 0)
		return -1;
	/*
	 * Blobs the planner verified come as open descriptors ("fds", engine.h),
	 * which cannot travel to a kernel: the kernel opens the same files
	 * through /proc/<weft>/fd/N (the open file itself, not a path that could
	 * have been replaced since the check), told weft's pid as "fd_pid".
	 */
	json_t *sent = json_incref(request);
	if (json_array_size(json_object_get(request, "fds"))) {
		json_decref(sent);
		sent = json_copy(request);
		if (!sent || json_object_set_new(sent, "fd_pid", json_integer((json_int_t)getpid())) < 0) {
			json_decref(sent);
			return weft_error_set(err, k->doc_path, 0, 0, "op %s: the request could not be built",
					      op ? op : "?");
		}
	}
	char *text = json_dumps(sent, JSON_COMPACT);
	json_decref(sent);
	json_t *str = text ? json_string(text) : NULL;
	char *lit = str ? py_literal(str) : NULL;
	free(text);
	json_decref(str);
	if (!lit)
		return weft_error_set(err, k->doc_path, 0, 0, "op %s: the request is not valid UTF-8", op ? op : "?");
	struct strbuf expr;
	strbuf_init(&expr);
	strbuf_addf(&expr, "__import__('sys').modules['weft_kernel'].call(%s)", lit);
	free(lit);
	json_t *res = NULL;
	int rc = jupyter_engine_eval_silent(k->j, "", expr.buf, &res, err);
	strbuf_free(&expr);
	if (rc < 0)
		return -1;
	const json_t *data = json_object_get(json_object_get(res, "data"), REPLY_MIME);
	if (json_is_string(data)) {
		json_error_t je;
		*reply = json_loadb(json_string_value(data), json_string_length(data), PROTO_LOAD_FLAGS, &je);
	}
	json_decref(res);
	if (!json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		return weft_error_set(err, k->doc_path, 0, 0, "op %s: the kernel's reply is not a JSON object",
				      op ? op : "?");
	}
	if (json_is_true(json_object_get(*reply, "ok")))
		return op ? proto_check(PROTO_REP, op, *reply, err) : 0;
	const json_t *m = json_object_get(*reply, "error");
	char *msg = json_is_string(m) ? proto_dup_text(json_string_value(m), json_string_length(m)) : NULL;
	weft_error_set(err, NULL, 0, 0, "op %s: %s", op ? op : "?", msg ? msg : "failed");
	free(msg);
	return -1;
}

/* Ask the kernel-side runtime for op track_begin / track_end; the reply or NULL with err. */
static json_t *track_op(struct kernel_engine *k, json_t *req, struct weft_error *err)
{
	json_t *reply = NULL;
	if (!req) {
		weft_error_set(err, k->doc_path, 0, 0, "the tracking request could not be built");
		return NULL;
	}
	int rc = kernel_engine_request(k, req, &reply, err);
	json_decref(req);
	if (rc < 0) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

int kernel_engine_run_chunk(struct kernel_engine *k, const struct run_request *req,
			    struct chunk_outcome *out, json_t **tracked, struct weft_error *err)
{
	if (tracked)
		*tracked = NULL;
	if (!req->track || !k->python)
		return jupyter_engine_run_chunk(k->j, req, out, tracked, err);
	/* The figure set-up comes before tracking starts (its rcParams are not the chunk's). */
	struct run_request r = *req;
	if (r.fig && jupyter_engine_alive(k->j)) {
		struct weft_error ferr;
		weft_error_init(&ferr);
		(void)jupyter_engine_figures(k->j, req, &ferr); /* a dead kernel is reported by the run */
		weft_error_free(&ferr);
		r.fig = false;
	}
	struct weft_error terr;
	weft_error_init(&terr);
	json_t *begin = json_is_object(req->extra) ? json_deep_copy(req->extra) : json_object();
	if (begin && (json_object_set_new(begin, "op", json_string("track_begin")) < 0 ||
		      (!json_object_get(begin, "reads") && json_object_set_new(begin, "reads", json_array()) < 0) ||
		      json_object_set_new(begin, "code", json_string(req->code ? req->code : "")) < 0 ||
		      json_object_set_new(begin, "line", json_integer(req->code_line)) < 0 ||
		      json_object_set_new(begin, "term", json_boolean(req->term)) < 0)) {
		json_decref(begin);
		begin = NULL;
	}
	bool tracking = false;
	if (jupyter_engine_alive(k->j)) {
		json_t *breply = track_op(k, begin, &terr);
		tracking = breply != NULL;
		json_decref(breply);
	} else {
		json_decref(begin);
	}
	int rc = jupyter_engine_run_chunk(k->j, &r, out, NULL, err);
	if (rc < 0) {
		weft_error_free(&terr);
		return rc;
	}
	json_t *rec = NULL;
	if (tracking) {
		json_t *end = json_pack("{s:s, s:b}", "op", "track_end", "failed", out->status != RUN_OK);
		json_t *ereply = track_op(k, end, &terr);
		rec = json_object_get(ereply, "tracked");
		if (rec && proto_check_track(rec, &terr) == 0)
			json_incref(rec);
		else
			rec = NULL;
		json_decref(ereply);
	}
	if (!rec) {
		weft_warn(k->doc_path, req->code_line, "cache tracking failed: %s",
			  terr.msg.len ? terr.msg.buf : "no tracking record");
		out->tracking_failed = true;
	} else if (tracked) {
		*tracked = rec;
	} else {
		json_decref(rec);
	}
	weft_error_free(&terr);
	return 0;
}

/* The real path of kernel.json's executable (searched on PATH when it names no folder), or NULL. */
static char *resolve_executable(const char *exe)
{
	char real[PATH_MAX];
	if (strchr(exe, '/'))
		return realpath(exe, real) ? xstrdup(real) : NULL;
	const char *path = getenv("PATH");
	for (const char *p = path ? path : ""; *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		struct strbuf cand;
		strbuf_init(&cand);
		strbuf_add(&cand, n ? p : ".", n ? n : 1);
		strbuf_addf(&cand, "/%s", exe);
		char *found = access(cand.buf, X_OK) == 0 && realpath(cand.buf, real) ? xstrdup(real) : NULL;
		strbuf_free(&cand);
		if (found)
			return found;
		p += n + (colon ? 1 : 0);
	}
	return NULL;
}

bool kernel_runtime_cacheable(const char *name)
{
	struct jupyter_kernelspec ks;
	jupyter_kernelspec_init(&ks);
	struct weft_error err;
	weft_error_init(&err);
	bool ok = jupyter_kernelspec_find(&ks, name, &err) == 0 && ks.language &&
		  !strcasecmp(ks.language, "python");
	weft_error_free(&err);
	jupyter_kernelspec_free(&ks);
	return ok;
}

char *kernel_runtime_identity(const char *name)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addf(&sb, "jupyter kernel %s", name);
	struct jupyter_kernelspec ks;
	jupyter_kernelspec_init(&ks);
	struct weft_error err;
	weft_error_init(&err);
	if (jupyter_kernelspec_find(&ks, name, &err) == 0 && ks.argc > 0) {
		char *exe = resolve_executable(ks.argv[0]);
		strbuf_addf(&sb, ": %s, %s", ks.language ? ks.language : "", exe ? exe : ks.argv[0]);
		free(exe);
		for (size_t i = 1; i < ks.argc; i++)
			strbuf_addf(&sb, " %s", ks.argv[i]);
	}
	weft_error_free(&err);
	jupyter_kernelspec_free(&ks);
	return strbuf_detach(&sb, NULL);
}

/* Is `name` one of IPython's history names (the fixed ones, _iN, _N)? */
static bool history_name(const char *name)
{
	static const char *const fixed[] = {"_", "__", "___", "_i", "_ii", "_iii", "In", "Out", "_oh", "_ih", "_dh"};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		if (!strcmp(name, fixed[i]))
			return true;
	const char *digits = !strncmp(name, "_i", 2) ? name + 2 : name[0] == '_' ? name + 1 : NULL;
	if (!digits || !*digits)
		return false;
	for (const char *p = digits; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

/* The first history name or lister in the reads/reads_builtins/calls arrays of v (nested too), or NULL. */
static const char *history_in(const json_t *v)
{
	static const char *const listers[] = {"eval", "exec", "globals", "locals", "vars", "dir"};
	const char *key;
	const json_t *sub;
	json_object_foreach((json_t *)v, key, sub) {
		if (json_is_object(sub)) {
			const char *got = history_in(sub);
			if (got)
				return got;
			continue;
		}
		if (!json_is_array(sub) || (strcmp(key, "reads") && strcmp(key, "reads_builtins") && strcmp(key, "calls")))
			continue;
		size_t i;
		const json_t *it;
		json_array_foreach(sub, i, it) {
			const char *name = json_string_value(it);
			if (!name)
				continue;
			if (history_name(name))
				return name;
			for (size_t k = 0; k < sizeof(listers) / sizeof(*listers); k++)
				if (!strcmp(name, listers[k]))
					return listers[k];
		}
	}
	return NULL;
}

const char *kernel_runtime_history_read(const json_t *analysis)
{
	if (!json_is_object(analysis))
		return NULL; /* no analysis: the unit fails to compile, it reads nothing */
	if (json_is_true(json_object_get(analysis, "dynamic")))
		return "dynamic code";
	return history_in(analysis);
}
