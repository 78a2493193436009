/* walk: one render's state, engine access and running code; see walk.h. */
#include "planner/walk.h"
#include "planner/unitkeys.h"
#include "engine/python_select.h"
#include "engine/kernel_runtime.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The interpreter identity that goes into every key, known without starting
 * Python: which interpreter (python_select.h: --python, front matter,
 * VIRTUAL_ENV, CONDA_PREFIX, built-in) and its exact version; any but the
 * built-in one by its path too, since another environment imports other
 * packages. Sets w->python, or w->python_error when none can be chosen (no
 * entry can match then: nothing was ever stored under that identity).
 * --explain says which interpreter and why, and when the python3 first on
 * PATH is another one.
 */
static char *engine_identity_static(struct walk *w)
{
	const struct planner_config *cfg = w->cfg;
	struct strbuf sb;
	strbuf_init(&sb);
	if (cfg->kernel && kernel_runtime_cacheable(cfg->kernel)) {
		/* a Python Jupyter kernel runs the Python chunks: its own interpreter,
		 * never the embedded engine's entries (another --kernel runs other
		 * languages only: Python chunks stay embedded, as below) */
		char *k = kernel_runtime_identity(cfg->kernel);
		strbuf_addf(&sb, "%s; weft %s runtime %s", k, WEFT_VERSION, engine_runtime_digest());
		free(k);
		return strbuf_detach(&sb, NULL);
	}
	/* a relative path in the front matter is the document's: from its folder */
	const char *fm = w->doc->settings.python;
	struct strbuf fm_path;
	strbuf_init(&fm_path);
	if (fm && strchr(fm, '/') && fm[0] != '/' && strrchr(w->doc->path, '/')) {
		strbuf_add(&fm_path, w->doc->path, (size_t)(strrchr(w->doc->path, '/') - w->doc->path) + 1);
		strbuf_addstr(&fm_path, fm);
		fm = fm_path.buf;
	}
	struct python_choice pc;
	struct weft_error err;
	weft_error_init(&err);
	if (python_select(cfg->python, fm, &pc, &err) == 0) {
		python_choice_identity(&pc, &sb);
		w->python = xstrdup(pc.path);
		if (cfg->explain) {
			struct strbuf line;
			strbuf_init(&line);
			python_choice_describe(&pc, &line);
			fprintf(stderr, "%s: %s\n", w->doc->path, line.buf);
			if (pc.path_note)
				fprintf(stderr, "%s: note: %s\n", w->doc->path, pc.path_note);
			strbuf_free(&line);
		} else if (pc.path_note) {
			w->python_note = xstrdup(pc.path_note);
		}
		python_choice_free(&pc);
	} else {
		w->python_error = xstrdup(weft_error_text(&err));
		strbuf_addf(&sb, "no python (%s)", w->python_error);
	}
	weft_error_free(&err);
	strbuf_free(&fm_path);
	strbuf_addf(&sb, "; weft %s runtime %s", WEFT_VERSION, engine_runtime_digest());
	return strbuf_detach(&sb, NULL);
}

/* Start the engine on first need, so renders with nothing to run never start Python. */
int walk_engine(struct walk *w, struct weft_error *err)
{
	if (w->engine)
		return 0;
	if (w->python_error && !w->cfg->kernel)
		return weft_error_set(err, w->doc->path, 0, 0, "%s", w->python_error);
	/* Chunks run in the document's folder, so relative data paths work from anywhere. */
	char *dir = xstrdup(w->doc->path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	struct engine_config ec = {
		.python = w->python,
		.doc_path = w->doc->path,
		.workdir = slash ? dir : NULL,
		.timeout = w->cfg->timeout,
		.kernel = w->python_kernel,
	};
	int rc = w->cfg->engine_ops ? engine_start_with(&w->engine, w->cfg->engine_ops, &ec, err)
				    : engine_start(&w->engine, &ec, err);
	free(dir);
	if (rc < 0)
		return -1;
	w->res->engine_started = true;
	if (w->python_note && python_note_first_time(w->python_note))
		fprintf(stderr, "weft: note: %s (said once)\n", w->python_note);
	/* A fresh worker holds nothing this render produced. */
	json_object_clear(w->live);
	w->live_rng = -1;
	return 0;
}

/* Ask the engine for an op; the reply is returned or NULL with err set. */
json_t *walk_request(struct walk *w, json_t *req, struct weft_error *err)
{
	json_t *reply = NULL;
	if (!req) {
		/* a request that failed to build (proto_pack set err; a bare json_pack did not) */
		if (err && !weft_error_isset(err))
			weft_error_set(err, w->doc->path, 0, 0, "cache: a request to Python could not be built");
		return NULL;
	}
	if (walk_engine(w, err) < 0) {
		json_decref(req);
		return NULL;
	}
	int rc = engine_request(w->engine, req, &reply, err);
	json_decref(req);
	if (rc < 0) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

struct chunk_outcome *walk_outcome(struct walk *w, size_t ui)
{
	const struct unit *u = &w->df.units[ui];
	return u->kind == UNIT_CHUNK ? &w->res->chunks[u->chunk->index] : NULL;
}

void walk_set_why(struct walk *w, size_t ui, const char *why)
{
	struct chunk_outcome *o = walk_outcome(w, ui);
	if (!o)
		return;
	free(o->why);
	o->why = why ? xstrdup(why) : NULL;
}

void walk_progress(struct walk *w, enum planner_event ev, size_t ui)
{
	const struct unit *u = &w->df.units[ui];
	if (u->kind == UNIT_CHUNK && w->cfg->progress)
		w->cfg->progress(w->cfg->progress_ctx, ev, w->doc, u->chunk, walk_outcome(w, ui));
}

/*
 * Mark that execution ended at chunk `index` (-1: in inline code, no chunk to
 * mark); the worker is gone and later units are skipped.
 */
void walk_stop(struct walk *w, int index)
{
	w->stopped = true;
	w->res->stopped_at = index;
	engine_stop(w->engine);
	w->engine = NULL;
}

/*
 * Run unit ui's code in the worker. With `track`, collect what it wrote and
 * read; `for_replay` discards the outputs (they come from the cache).
 * Fills *record (new reference) with the tracking record, or NULL.
 */
int walk_run_code(struct walk *w, size_t ui, bool track, const json_t *reads,
		    struct chunk_outcome *out, json_t **record, struct weft_error *err)
{
	const struct unit *u = &w->df.units[ui];
	*record = NULL;
	if (walk_engine(w, err) < 0)
		return -1;
	if (u->kind == UNIT_INLINE) {
		struct inline_outcome *io = &w->res->inl[u->seg->inline_index];
		strbuf_reset(&io->text);
		/* Tracked like a chunk (unitkeys.h): what it binds, mutates and draws. */
		if (track && unitkeys_track_begin(w, reads, err) < 0)
			return -1;
		struct weft_error run_err;
		weft_error_init(&run_err);
		int rc = engine_eval_inline(w->engine, u->code, u->seg->kind == SEG_INLINE_EXPR, u->line, io,
					    &run_err);
		io->done = true;
		if (rc == 0 && track) {
			*record = unitkeys_track_end(w, err);
			if (!*record)
				return -1;
		}
		if (rc < 0) {
			free(io->error_message);
			io->error_message = xstrdup(run_err.msg.len ? run_err.msg.buf : "worker died");
			if (io->status == RUN_OK)
				io->status = RUN_CRASHED;
			walk_stop(w, -1);
		}
		weft_error_free(&run_err);
		return 0;
	}
	const struct chunk_options *o = &u->chunk->opts;
	json_t *extra = NULL;
	const char *untrackable = NULL; /* why tracking cannot be asked for, or NULL */
	if (track) {
		extra = json_pack("{s:o}", "reads", reads ? json_incref((json_t *)reads) : json_array());
		json_t *dir = w->store ? json_string(store_dir(w->store)) : NULL;
		if (!extra)
			untrackable = "its tracking request could not be built";
		else if (w->store && (!dir || json_object_set_new(extra, "cache_dir", dir) < 0))
			/* never dropped silently: the worker would then track the cache's own files */
			untrackable = "the cache folder's path is not valid UTF-8";
	}
	struct run_request req = {
		.code = u->code,
		.code_line = u->line,
		.name = o->name,
		.term = o->term,
		.complete = true,
		.fig = o->fig,
		.f_size = {o->f_size[0], o->f_size[1]},
		.dpi = o->dpi,
		.fig_format = w->df.fig_format,
		.track = track,
		.extra = extra,
		.meanwhile = w->meanwhile,
		.meanwhile_ctx = w,
		.waiting = w->cfg->waiting,
		.streamed = w->cfg->streamed,
		.hook_ctx = w->cfg->progress_ctx,
	};
	struct weft_error run_err;
	weft_error_init(&run_err);
	int rc = engine_run_chunk(w->engine, &req, out, track ? record : NULL, &run_err);
	json_decref(extra);
	if (untrackable && rc == 0) {
		weft_warn(w->doc->path, u->line, "cache tracking failed: %s", untrackable);
		out->tracking_failed = true;
		json_decref(*record);
		*record = NULL;
	}
	if (rc < 0) {
		if (out->status == RUN_OK)
			out->status = RUN_CRASHED;
		if (!out->error_message)
			out->error_message = xstrdup(run_err.msg.len ? run_err.msg.buf : "worker died");
		if (!out->error_line)
			out->error_line = u->line;
		walk_stop(w, u->chunk->index);
	}
	weft_error_free(&run_err);
	return 0;
}

void walk_init(struct walk *w, const struct document *doc, const struct planner_config *cfg,
		      struct weave_results *res)
{
	memset(w, 0, sizeof(*w));
	w->doc = doc;
	w->cfg = cfg;
	w->res = res;
	w->identity = engine_identity_static(w);
	dataflow_init(&w->df, doc, w->identity, cfg->fig_format, cfg->cache_all);
	w->live = json_object();
	w->live_rng = -1;
	w->meta = xcalloc(w->df.n ? w->df.n : 1, sizeof(json_t *));
	w->replaying = xcalloc(w->df.n ? w->df.n : 1, sizeof(bool));
	w->stale = xcalloc(w->df.n ? w->df.n : 1, sizeof(bool));
	w->lines_sent = xcalloc(w->df.n ? w->df.n : 1, sizeof(bool));
	w->extra = xcalloc(w->df.n ? w->df.n : 1, sizeof(char *));
	for (size_t i = 0; i < w->df.n; i++)
		if (w->df.units[i].evaluate && w->df.units[i].cached)
			w->caching = true;
	char real[PATH_MAX];
	w->doc_id = xstrdup(realpath(doc->path, real) ? real : doc->path);
	w->doc_dir = xstrdup(w->doc_id);
	char *slash = strrchr(w->doc_dir, '/');
	if (slash)
		*slash = '\0';
}

void walk_free(struct walk *w)
{
	engine_stop(w->engine);
	if (w->own_store)
		store_close(w->store);
	for (size_t i = 0; i < w->df.n; i++) {
		json_decref(w->meta[i]);
		free(w->extra[i]);
	}
	free(w->extra);
	free(w->meta);
	free(w->replaying);
	free(w->stale);
	free(w->lines_sent);
	json_decref(w->live);
	json_decref(w->ns_tails);
	json_decref(w->run_defaults);
	dataflow_free(&w->df);
	free(w->identity);
	free(w->python);
	free(w->python_error);
	free(w->python_note);
	free(w->doc_id);
	free(w->doc_dir);
}

/* See walk.h. */
bool walk_names_has(const json_t *names, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), name))
			return true;
	return false;
}

/* See walk.h. */
bool walk_rebuild_requested(const struct walk *w, const struct unit *u)
{
	if (u->kind != UNIT_CHUNK)
		return false;
	if (u->chunk->opts.cache_rebuild)
		return true;
	for (size_t i = 0; i < w->cfg->nrebuild; i++)
		if (u->chunk->opts.name && !strcmp(w->cfg->rebuild[i], u->chunk->opts.name))
			return true;
	return false;
}
