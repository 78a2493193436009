/*
 * planner: document walk, cache decisions and engine driving; see planner.h.
 *
 * The walk visits units (chunks and inline spans) in document order. With no
 * caching anywhere it simply runs each one. With caching, for each unit it:
 *   1. computes the key (dataflow.c) from the name analysis (memoised in the
 *      store, so an unchanged document needs no Python for it);
 *   2. looks the key up; an entry is valid while every file it read still
 *      matches and the random state it started from is the current one;
 *   3. on a hit takes the outputs and records what the unit wrote; nothing runs;
 *   4. otherwise makes sure every name the unit reads is live in the worker at
 *      the version a fresh run would have (restoring it from the entry of the
 *      unit that wrote it, or replaying that unit when it could not be saved),
 *      runs it with tracking, and stores a new entry.
 * The worker namespace is a lazily-kept copy: `live` says which unit's version
 * of each name it holds, the dataflow's writer map which one it should hold.
 */
#include "planner/planner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <patchlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/store.h"
#include "engine/engine.h"
#include "planner/dataflow.h"
#include "util/fsutil.h"
#include "util/hash.h"

/* Namespace of the name-analysis memo; bump when weft_analysis changes its output. */
#define ANALYSIS_MEMO "analysis-1"
#define META_VERSION 1

/* Everything one render keeps while walking the document. */
struct walk {
	const struct document *doc;
	const struct planner_config *cfg;
	struct weave_results *res;
	struct engine *engine;
	bool stopped;              /* a crash or timeout ended execution */
	bool caching;              /* some unit takes part in the cache */
	struct dataflow df;
	struct store *store;
	bool own_store;            /* opened here (else the caller's, from planner_config) */
	char *doc_id;              /* the document as the store knows it (absolute path) */
	char *doc_dir;             /* its folder (absolute; chunks run there), no trailing slash */
	json_t *live;              /* name -> unit index whose version the worker holds */
	int live_rng;              /* unit whose random state the worker holds, -1 fresh */
	json_t **meta;             /* per unit: its cache entry (hit or new), or NULL */
	bool *replaying;           /* per unit: replay in progress (cycle guard) */
	bool *stale;               /* --frozen: per unit, shown results may differ from a fresh run */
	char **extra;              /* per unit: value of its cache_extra this render, or NULL */
	char *identity;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The interpreter identity that goes into every key, known without starting
 * Python: weft embeds libpython, so its version is fixed at build time; a
 * --python or VIRTUAL_ENV changes which packages import.
 */
static char *engine_identity_static(const struct planner_config *cfg)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addf(&sb, "CPython %s; weft %s", PY_VERSION, WEFT_VERSION);
	const char *venv = cfg->python ? cfg->python : getenv("VIRTUAL_ENV");
	if (venv && *venv) {
		char real[PATH_MAX];
		strbuf_addf(&sb, "; env %s", realpath(venv, real) ? real : venv);
	}
	return strbuf_detach(&sb, NULL);
}

/* Start the engine on first need, so renders with nothing to run never start Python. */
static int walk_engine(struct walk *w, struct weft_error *err)
{
	if (w->engine)
		return 0;
	/* Chunks run in the document's folder, so relative data paths work from anywhere. */
	char *dir = xstrdup(w->doc->path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	struct engine_config ec = {
		.python = w->cfg->python,
		.doc_path = w->doc->path,
		.workdir = slash ? dir : NULL,
		.timeout = w->cfg->timeout,
		.kernel = w->cfg->kernel,
	};
	int rc = engine_start(&w->engine, &ec, err);
	free(dir);
	if (rc < 0)
		return -1;
	w->res->engine_started = true;
	/* A fresh worker holds nothing this render produced. */
	json_object_clear(w->live);
	w->live_rng = -1;
	return 0;
}

/* Ask the engine for an op; the reply is returned or NULL with err set. */
static json_t *walk_request(struct walk *w, json_t *req, struct weft_error *err)
{
	json_t *reply = NULL;
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

static struct chunk_outcome *unit_outcome(struct walk *w, size_t ui)
{
	const struct unit *u = &w->df.units[ui];
	return u->kind == UNIT_CHUNK ? &w->res->chunks[u->chunk->index] : NULL;
}

static void set_why(struct walk *w, size_t ui, const char *why)
{
	struct chunk_outcome *o = unit_outcome(w, ui);
	if (!o)
		return;
	free(o->why);
	o->why = why ? xstrdup(why) : NULL;
}

static void progress(struct walk *w, enum planner_event ev, size_t ui)
{
	const struct unit *u = &w->df.units[ui];
	if (u->kind == UNIT_CHUNK && w->cfg->progress)
		w->cfg->progress(w->cfg->progress_ctx, ev, w->doc, u->chunk, unit_outcome(w, ui));
}

/* Mark that execution ended at chunk `index`; later units are skipped. */
static void walk_stop(struct walk *w, int index)
{
	w->stopped = true;
	w->res->stopped_at = index;
	engine_stop(w->engine);
	w->engine = NULL;
}

/* ---- name analysis ---- */

/* Fill every unit's analysis: from the memo, else one batched `analyze` request. */
static int load_analyses(struct walk *w, struct weft_error *err)
{
	json_t *todo = json_array(), *todo_units = json_array();
	for (size_t i = 0; i < w->df.n; i++) {
		struct unit *u = &w->df.units[i];
		if (!u->evaluate)
			continue;
		char h[HASH_HEX_SIZE];
		hash_blake2b_hex(u->code, strlen(u->code), h);
		json_t *memo = NULL;
		if (w->store && store_memo_get(w->store, ANALYSIS_MEMO, h, &memo, err) == 1) {
			u->analysis = memo;
			continue;
		}
		json_array_append_new(todo, json_pack("{s:s, s:i}", "code", u->code, "line", u->line));
		json_array_append_new(todo_units, json_integer((json_int_t)i));
	}
	int rc = 0;
	/*
	 * --frozen (and `cache status`) must not start Python: an edited unit keeps
	 * no analysis, so its key cannot match and it reads as "code changed".
	 */
	if (json_array_size(todo) && !w->cfg->frozen) {
		json_t *reply = walk_request(w, json_pack("{s:s, s:O}", "op", "analyze", "chunks", todo), err);
		const json_t *chunks = reply ? json_object_get(reply, "chunks") : NULL;
		if (!json_is_array(chunks) || json_array_size(chunks) != json_array_size(todo)) {
			if (reply)
				weft_error_set(err, w->doc->path, 0, 0, "name analysis gave a malformed reply");
			rc = -1;
		} else {
			for (size_t k = 0; k < json_array_size(chunks); k++) {
				size_t ui = (size_t)json_integer_value(json_array_get(todo_units, k));
				struct unit *u = &w->df.units[ui];
				u->analysis = json_incref(json_array_get(chunks, k));
				char h[HASH_HEX_SIZE];
				hash_blake2b_hex(u->code, strlen(u->code), h);
				if (w->store)
					store_memo_put(w->store, ANALYSIS_MEMO, h, u->analysis, NULL);
			}
		}
		json_decref(reply);
	}
	json_decref(todo);
	json_decref(todo_units);
	return rc;
}

/* ---- entries ---- */

/* The options text that goes into keys, kept in entries to explain misses. */
static char *unit_options_text(const struct walk *w, const struct unit *u)
{
	struct strbuf sb;
	strbuf_init(&sb);
	if (u->kind == UNIT_INLINE) {
		strbuf_addstr(&sb, "inline");
	} else {
		const struct chunk_options *o = &u->chunk->opts;
		strbuf_addf(&sb, "term=%d fig=%d f_size=%.6g,%.6g dpi=%d format=%s", o->term, o->fig,
			    o->f_size[0], o->f_size[1], o->dpi, w->df.fig_format);
	}
	return strbuf_detach(&sb, NULL);
}

/*
 * Entries name the files a chunk read or wrote relative to the document's
 * folder when they lie inside it. Keys do not depend on where a document is,
 * so two copies of one document (or a moved folder) share entries, and an
 * absolute path would restore or check the other copy's file.
 */
static const char *path_for_entry(const struct walk *w, const char *path)
{
	size_t n = strlen(w->doc_dir);
	if (n && !strncmp(path, w->doc_dir, n) && path[n] == '/' && path[n + 1])
		return path + n + 1;
	return path;
}

/* The file an entry's path names for this document (absolute ones as they are). */
static void path_from_entry(const struct walk *w, const char *path, struct strbuf *out)
{
	strbuf_reset(out);
	if (path[0] != '/')
		strbuf_addf(out, "%s/", w->doc_dir);
	strbuf_addstr(out, path);
}

/* Is entry `meta` still valid for unit ui? 1 yes; 0 no, with the reason in why. */
static int entry_valid(struct walk *w, size_t ui, const json_t *meta, struct strbuf *why)
{
	const char *path;
	json_t *fp;
	struct strbuf file;
	strbuf_init(&file);
	json_object_foreach((json_t *)json_object_get(meta, "files_read"), path, fp) {
		struct fingerprint f;
		path_from_entry(w, path, &file);
		if (!json_is_string(fp) || fingerprint_from_text(&f, json_string_value(fp)) < 0 ||
		    !fingerprint_matches(&f, file.buf)) {
			strbuf_addf(why, "%s changed", path);
			strbuf_free(&file);
			return 0;
		}
	}
	strbuf_free(&file);
	const char *rng_in = json_string_value(json_object_get(meta, "rng_in"));
	if (rng_in) {
		int rw = dataflow_writer(&w->df, DATAFLOW_RNG);
		const char *cur = rw < 0 ? "initial" : w->df.units[rw].state_key;
		if (rw >= 0 && !w->df.units[rw].state_known)
			cur = "";
		if (strcmp(cur, rng_in)) {
			strbuf_addstr(why, "the random state it starts from changed");
			return 0;
		}
	}
	(void)ui;
	return 1;
}

/* Explain why unit ui misses, comparing with the chunk's latest entry. */
static void explain_miss(struct walk *w, size_t ui, struct strbuf *why)
{
	const struct unit *u = &w->df.units[ui];
	struct store_entry_info info;
	store_entry_info_init(&info);
	if (!w->store || store_entry_latest_for_chunk(w->store, w->doc_id, u->label, &info, NULL) != 1 ||
	    !info.meta) {
		strbuf_addstr(why, "not in the cache");
		store_entry_info_free(&info);
		return;
	}
	const json_t *m = info.meta;
	const char *norm = json_string_value(json_object_get(u->analysis, "normalized"));
	char *opts = unit_options_text(w, u);
	if (strcmp(json_string_value(json_object_get(m, "identity")) ?: "", w->identity)) {
		strbuf_addstr(why, "the Python interpreter changed");
	} else if (!norm || strcmp(json_string_value(json_object_get(m, "code")) ?: "", norm)) {
		strbuf_addstr(why, "code changed");
	} else if (strcmp(json_string_value(json_object_get(m, "options")) ?: "", opts)) {
		strbuf_addstr(why, "options changed");
	} else {
		/* Same code and options: an input changed. Find the first that did. */
		const json_t *old = json_object_get(m, "deps");
		const char *name;
		json_t *wi;
		json_object_foreach(u->deps, name, wi) {
			int wr = (int)json_integer_value(wi);
			const json_t *od = json_object_get(old, name);
			const char *oldstate = json_string_value(json_object_get(od, "state"));
			const char *cur = wr >= 0 && w->df.units[wr].state_known ? w->df.units[wr].state_key : "";
			if (!od) {
				strbuf_addf(why, "now reads %s", name);
				break;
			}
			if (wr < 0 && oldstate) {
				strbuf_addf(why, "%s is no longer defined by an earlier chunk", name);
				break;
			}
			if (wr >= 0 && (!oldstate || strcmp(oldstate, cur))) {
				strbuf_addf(why, "reads %s from chunk %s, which changed", name,
					    w->df.units[wr].label);
				break;
			}
		}
		if (!why->len) {
			json_object_foreach((json_t *)old, name, wi) {
				if (!json_object_get(u->deps, name)) {
					strbuf_addf(why, "no longer reads %s", name);
					break;
				}
			}
		}
		if (!why->len && !entry_valid(w, ui, m, why))
			{ /* entry_valid wrote the reason */ }
		const char *old_extra = json_string_value(json_object_get(m, "extra"));
		if (!why->len && w->extra[ui] && old_extra && strcmp(old_extra, w->extra[ui]))
			strbuf_addstr(why, "the value of cache_extra changed");
		if (!why->len)
			strbuf_addstr(why, "an input changed (cache_extra or dependson)");
	}
	free(opts);
	store_entry_info_free(&info);
}

/* Copy a file into a blob (files a chunk wrote are restored on a hit). */
static int blob_from_file(struct walk *w, const char *path, char hash[STORE_HASH_SIZE],
			  struct weft_error *err)
{
	struct strbuf sb;
	strbuf_init(&sb);
	int rc = -1;
	if (strbuf_read_file(&sb, path) < 0)
		weft_error_errno(err, path, "cannot read file written by a chunk");
	else
		rc = store_blob_put_mem(w->store, sb.buf, sb.len, hash, err);
	strbuf_free(&sb);
	return rc;
}

/* Add hash to the list of blobs an entry references. */
static void blobs_add(json_t *blobs, const char *hash)
{
	json_array_append_new(blobs, json_string(hash));
}

/*
 * Save the names unit ui wrote: one `save` request, then each file moved into
 * the blob store. Returns the "names" object for the entry (new reference).
 */
static json_t *save_names(struct walk *w, const json_t *names, json_t *blobs, struct weft_error *err)
{
	json_t *out = json_object();
	if (!json_array_size(names))
		return out;
	/* "fsync": false: the store syncs the files itself when it publishes them as blobs. */
	json_t *reply = walk_request(w, json_pack("{s:s, s:O, s:s, s:b}", "op", "save", "names", names, "dir",
						  store_tmp_dir(w->store), "fsync", 0), err);
	if (!reply) {
		json_decref(out);
		return NULL;
	}
	json_t *items = json_object_get(reply, "items");
	if (!json_is_array(items))
		items = json_object_get(reply, "names");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		const char *name = json_string_value(json_object_get(it, "name"));
		if (!name)
			continue;
		json_t *rec = json_deep_copy(it);
		const char *pickle = json_string_value(json_object_get(it, "pickle"));
		if (pickle) {
			char h[STORE_HASH_SIZE];
			if (store_blob_put_file(w->store, pickle, h, err) < 0) {
				unlink(pickle);
				json_decref(rec);
				json_decref(reply);
				json_decref(out);
				return NULL;
			}
			json_object_set_new(rec, "pickle", json_string(h));
			blobs_add(blobs, h);
			json_t *bufs = json_array();
			size_t k;
			json_t *b;
			json_array_foreach(json_object_get(it, "buffers"), k, b) {
				if (store_blob_put_file(w->store, json_string_value(b), h, err) < 0) {
					json_decref(bufs);
					json_decref(rec);
					json_decref(reply);
					json_decref(out);
					return NULL;
				}
				json_array_append_new(bufs, json_string(h));
				blobs_add(blobs, h);
			}
			json_object_set_new(rec, "buffers", bufs);
		}
		json_object_set_new(out, name, rec);
	}
	json_decref(reply);
	return out;
}

/* Save the random state after unit ui into a blob; returns its hash or NULL. */
static char *save_rng(struct walk *w, json_t *blobs, struct weft_error *err)
{
	json_t *reply = walk_request(w, json_pack("{s:s, s:s, s:b}", "op", "rng_get", "dir", store_tmp_dir(w->store),
						  "fsync", 0), err);
	if (!reply)
		return NULL;
	const char *path = json_string_value(json_object_get(reply, "path"));
	char h[STORE_HASH_SIZE];
	char *res = NULL;
	if (path && store_blob_put_file(w->store, path, h, err) == 0) {
		res = xstrdup(h);
		blobs_add(blobs, h);
	}
	json_decref(reply);
	return res;
}

/* ---- restoring names ---- */

static int replay_unit(struct walk *w, size_t t, struct weft_error *err);

/* Turn a saved-name record into a restore item with blob paths. NULL if a blob is bad. */
static json_t *restore_item(struct walk *w, const json_t *rec)
{
	json_t *item = json_deep_copy(rec);
	const char *pickle = json_string_value(json_object_get(rec, "pickle"));
	if (!pickle)
		return item;
	struct strbuf p;
	strbuf_init(&p);
	if (store_blob_verify(w->store, pickle) != 1 || store_blob_path(w->store, pickle, &p) < 0)
		goto bad;
	json_object_set_new(item, "pickle", json_string(p.buf));
	json_t *bufs = json_array();
	size_t k;
	json_t *b;
	json_array_foreach(json_object_get(rec, "buffers"), k, b) {
		strbuf_reset(&p);
		if (store_blob_verify(w->store, json_string_value(b)) != 1 ||
		    store_blob_path(w->store, json_string_value(b), &p) < 0) {
			json_decref(bufs);
			goto bad;
		}
		json_array_append_new(bufs, json_string(p.buf));
	}
	json_object_set_new(item, "buffers", bufs);
	strbuf_free(&p);
	return item;
bad:
	strbuf_free(&p);
	json_decref(item);
	return NULL;
}

/* Does unit t's write record say it deleted `name`? */
static bool unit_deleted(const struct walk *w, size_t t, const char *name)
{
	const json_t *m = w->meta[t];
	const json_t *del = m ? json_object_get(m, "deleted") : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(del, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), name))
			return true;
	return false;
}

/*
 * Make the worker hold unit `target`'s version of `name` (-1: undefined), as a
 * fresh run would at this point. Restores from the cache, or replays.
 */
static int ensure_version(struct walk *w, const char *name, int target, struct weft_error *err)
{
	json_t *cur = json_object_get(w->live, name);
	if (target < 0) {
		if (cur && json_integer_value(cur) >= 0) {
			json_t *r = walk_request(w, json_pack("{s:s, s:[s]}", "op", "delete", "names", name), err);
			if (!r)
				return -1;
			json_decref(r);
		}
		json_object_del(w->live, name);
		return 0;
	}
	if (cur && json_integer_value(cur) == target)
		return 0;
	if (unit_deleted(w, (size_t)target, name)) {
		json_t *r = walk_request(w, json_pack("{s:s, s:[s]}", "op", "delete", "names", name), err);
		if (!r)
			return -1;
		json_decref(r);
		json_object_set_new(w->live, name, json_integer(target));
		return 0;
	}
	const json_t *m = w->meta[target];
	const json_t *names = m ? json_object_get(m, "names") : NULL;
	const json_t *rec = json_object_get(names, name);
	if (rec && !json_is_true(json_object_get(rec, "unsaveable"))) {
		json_t *item = restore_item(w, rec);
		if (item) {
			/*
			 * Names saved as one object (aliases) come back together, so a chunk
			 * that mutates one of them changes the others, as in a fresh run.
			 */
			json_t *items = json_array(), *restored = json_array();
			json_array_append_new(items, item);
			json_array_append_new(restored, json_string(name));
			size_t gi;
			json_t *g;
			json_array_foreach(json_object_get(rec, "group"), gi, g) {
				const char *other = json_string_value(g);
				const json_t *orec = json_object_get(names, other ? other : "");
				const json_t *olive = json_object_get(w->live, other ? other : "");
				if (!orec || !strcmp(other, name) || dataflow_writer(&w->df, other) != target ||
				    (olive && json_integer_value(olive) == target))
					continue;
				json_t *oitem = restore_item(w, orec);
				if (oitem) {
					json_array_append_new(items, oitem);
					json_array_append_new(restored, json_string(other));
				}
			}
			json_t *r = walk_request(w, json_pack("{s:s, s:o}", "op", "restore", "items", items), err);
			if (!r) {
				json_decref(restored);
				return -1;
			}
			const json_t *errors = json_object_get(r, "errors");
			const char *why = json_string_value(json_object_get(errors, name));
			size_t ri;
			json_t *rn;
			json_array_foreach(restored, ri, rn) {
				if (!json_object_get(errors, json_string_value(rn)))
					json_object_set_new(w->live, json_string_value(rn), json_integer(target));
			}
			json_decref(restored);
			if (!why) {
				json_decref(r);
				return 0;
			}
			weft_warn(w->doc->path, w->df.units[target].line,
				  "could not restore %s from the cache (%s); re-running chunk %s", name, why,
				  w->df.units[target].label);
			json_decref(r);
		}
	}
	/* Not saved (unpicklable, uncached chunk, bad blob): rebuild by replaying. */
	if (replay_unit(w, (size_t)target, err) < 0)
		return -1;
	json_t *now = json_object_get(w->live, name);
	if (!now || json_integer_value(now) != target) {
		/* The replay did not bind it (nondeterministic chunk): make it undefined. */
		json_object_set_new(w->live, name, json_integer(target));
	}
	return 0;
}

/* Restore the random state unit ui would start from in a fresh run. */
static int ensure_rng(struct walk *w, struct weft_error *err)
{
	int rw = dataflow_writer(&w->df, DATAFLOW_RNG);
	if (rw < 0 || rw == w->live_rng)
		return 0;
	const char *blob = w->meta[rw] ? json_string_value(json_object_get(w->meta[rw], "rng_out")) : NULL;
	struct strbuf p;
	strbuf_init(&p);
	if (blob && store_blob_verify(w->store, blob) == 1 && store_blob_path(w->store, blob, &p) == 0) {
		json_t *r = walk_request(w, json_pack("{s:s, s:s}", "op", "rng_set", "path", p.buf), err);
		strbuf_free(&p);
		if (!r)
			return -1;
		json_decref(r);
		w->live_rng = rw;
		return 0;
	}
	strbuf_free(&p);
	return replay_unit(w, (size_t)rw, err);
}

/* Make every name in `deps` (name -> writer) live at its writer's version. */
static int ensure_deps(struct walk *w, const json_t *deps, struct weft_error *err)
{
	const char *name;
	json_t *wi;
	json_object_foreach((json_t *)deps, name, wi) {
		if (ensure_version(w, name, (int)json_integer_value(wi), err) < 0)
			return -1;
	}
	return 0;
}

/* ---- running ---- */

/*
 * Run unit ui's code in the worker. With `track`, collect what it wrote and
 * read; `for_replay` discards the outputs (they come from the cache).
 * Fills *record (new reference) with the tracking record, or NULL.
 */
static int run_code(struct walk *w, size_t ui, bool track, const json_t *reads,
		    struct chunk_outcome *out, json_t **record, struct weft_error *err)
{
	const struct unit *u = &w->df.units[ui];
	*record = NULL;
	if (walk_engine(w, err) < 0)
		return -1;
	if (u->kind == UNIT_INLINE) {
		struct inline_outcome *io = &w->res->inl[u->seg->inline_index];
		strbuf_reset(&io->text);
		struct weft_error run_err;
		weft_error_init(&run_err);
		int rc = engine_eval_inline(w->engine, u->code, u->seg->kind == SEG_INLINE_EXPR, u->line, io,
					    &run_err);
		io->done = true;
		if (rc < 0) {
			free(io->error_message);
			io->error_message = xstrdup(run_err.msg.len ? run_err.msg.buf : "worker died");
			if (io->status == RUN_OK)
				io->status = RUN_CRASHED;
			w->stopped = true;
			engine_stop(w->engine);
			w->engine = NULL;
		}
		weft_error_free(&run_err);
		return 0;
	}
	const struct chunk_options *o = &u->chunk->opts;
	json_t *extra = NULL;
	if (track) {
		extra = json_pack("{s:o}", "reads", reads ? json_incref((json_t *)reads) : json_array());
		if (w->store)
			json_object_set_new(extra, "cache_dir", json_string(store_dir(w->store)));
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
	};
	struct weft_error run_err;
	weft_error_init(&run_err);
	int rc = engine_run_chunk(w->engine, &req, out, track ? record : NULL, &run_err);
	json_decref(extra);
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

/* The names a tracking record says were written: bound, deleted, mutated. */
static json_t *record_writes(const json_t *record)
{
	json_t *set = json_object();
	static const char *const fields[] = {"bound", "deleted", "mutated"};
	for (size_t f = 0; f < 3; f++) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(record, fields[f]), i, v)
			if (json_is_string(v))
				json_object_set_new(set, json_string_value(v), json_true());
	}
	json_t *arr = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(set, k, v)
		json_array_append_new(arr, json_string(k));
	json_decref(set);
	return arr;
}

/* Static write set of an inline `<% code %>` span (it runs without tracking). */
static json_t *static_writes(const struct unit *u)
{
	json_t *arr = json_array();
	static const char *const fields[] = {"writes", "deletes"};
	for (size_t f = 0; f < 2; f++) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(u->analysis, fields[f]), i, v)
			json_array_append(arr, v);
	}
	return arr;
}

/*
 * Re-run unit t only to rebuild names that could not be restored: its inputs
 * are put at the versions it saw, its outputs are discarded.
 */
static int replay_unit(struct walk *w, size_t t, struct weft_error *err)
{
	struct unit *u = &w->df.units[t];
	if (w->replaying[t])
		return weft_error_set(err, w->doc->path, u->line, 0,
				      "cache: cyclic replay of chunk %s", u->label);
	w->replaying[t] = true;
	int rc = -1;
	if (u->deps && ensure_deps(w, u->deps, err) < 0)
		goto out;
	struct chunk_outcome scratch;
	memset(&scratch, 0, sizeof(scratch));
	output_list_init(&scratch.outputs);
	json_t *record = NULL;
	if (u->kind == UNIT_INLINE) {
		/* inline spans write little; re-evaluate into a scratch outcome */
		struct inline_outcome *io = &w->res->inl[u->seg->inline_index];
		struct strbuf keep;
		strbuf_init(&keep);
		strbuf_add(&keep, io->text.buf, io->text.len);
		rc = run_code(w, t, false, NULL, &scratch, &record, err);
		strbuf_reset(&io->text);
		strbuf_add(&io->text, keep.buf, keep.len);
		strbuf_free(&keep);
	} else {
		/* Track with the names it reads, so a mutation it makes is noticed as on its first run. */
		json_t *reads = json_array();
		const char *name;
		json_t *wi;
		json_object_foreach(u->deps, name, wi)
			json_array_append_new(reads, json_string(name));
		rc = run_code(w, t, true, reads, &scratch, &record, err);
		json_decref(reads);
	}
	if (rc == 0 && w->stopped)
		rc = weft_error_set(err, w->doc->path, u->line, 0,
				    "chunk %s crashed while being replayed to rebuild its names", u->label);
	if (rc == 0) {
		size_t i;
		json_t *v;
		json_array_foreach(u->writes, i, v)
			json_object_set_new(w->live, json_string_value(v), json_integer((json_int_t)t));
		if (json_array_size(u->writes))
			for (i = 0; i < json_array_size(u->writes); i++)
				if (!strcmp(json_string_value(json_array_get(u->writes, i)), DATAFLOW_RNG))
					w->live_rng = (int)t;
		struct chunk_outcome *o = unit_outcome(w, t);
		if (o && o->state == CHUNK_CACHED)
			o->state = CHUNK_REPLAYED;
	}
	json_decref(record);
	chunk_outcome_free(&scratch);
out:
	w->replaying[t] = false;
	return rc;
}

/* ---- hits ---- */

/* Write back files a cached chunk wrote, where they are missing or differ. */
static void restore_written_files(struct walk *w, size_t ui, const json_t *meta)
{
	const char *rel;
	json_t *h;
	struct strbuf file;
	strbuf_init(&file);
	json_object_foreach((json_t *)json_object_get(meta, "files_written"), rel, h) {
		const char *hash = json_string_value(h);
		char cur[XXH128_HEX_SIZE];
		path_from_entry(w, rel, &file);
		const char *path = file.buf;
		if (hash && hash_xxh128_file(path, cur, NULL, NULL) == 0 && !strcmp(cur, hash))
			continue;
		struct strbuf data;
		strbuf_init(&data);
		struct weft_error err;
		weft_error_init(&err);
		if (hash && store_blob_read(w->store, hash, &data, &err) == 1) {
			if (fs_write_atomic(path, data.buf, data.len, &err) < 0)
				weft_warn(w->doc->path, w->df.units[ui].line, "%s", weft_error_text(&err));
		}
		weft_error_free(&err);
		strbuf_free(&data);
	}
	strbuf_free(&file);
}

/* Take unit ui's results from entry `meta`. Returns 1 used, 0 unusable (a miss). */
static int apply_hit(struct walk *w, size_t ui, json_t *meta, enum chunk_state state)
{
	struct unit *u = &w->df.units[ui];
	const char *ohash = json_string_value(json_object_get(meta, "outputs"));
	struct strbuf data;
	strbuf_init(&data);
	if (!ohash || store_blob_read(w->store, ohash, &data, NULL) != 1) {
		strbuf_free(&data);
		return 0;
	}
	json_t *doc = json_loadb(data.buf, data.len, 0, NULL);
	strbuf_free(&data);
	if (!doc)
		return 0;
	if (u->kind == UNIT_INLINE) {
		struct inline_outcome *io = &w->res->inl[u->seg->inline_index];
		const char *text = json_string_value(json_object_get(doc, "text"));
		strbuf_reset(&io->text);
		strbuf_addstr(&io->text, text ? text : "");
		io->done = true;
		io->status = RUN_OK;
	} else {
		struct chunk_outcome *o = unit_outcome(w, ui);
		chunk_outcome_reset(o);
		if (output_list_from_json(&o->outputs, json_object_get(doc, "outputs"), NULL) < 0) {
			json_decref(doc);
			return 0;
		}
		const json_t *st = json_object_get(doc, "statements");
		if (json_array_size(st)) {
			o->nstatements = json_array_size(st);
			o->statements = xcalloc(o->nstatements, sizeof(*o->statements));
			for (size_t i = 0; i < o->nstatements; i++) {
				const json_t *s = json_array_get(st, i);
				o->statements[i].source = xstrdup(json_string_value(json_object_get(s, "source")) ?: "");
				o->statements[i].line = (int)json_integer_value(json_object_get(s, "line"));
			}
		}
		o->seconds = json_real_value(json_object_get(meta, "seconds"));
		o->state = state;
		o->status = RUN_OK;
	}
	json_decref(doc);
	json_t *writes = json_deep_copy(json_object_get(meta, "writes"));
	if (!json_is_array(writes)) {
		json_decref(writes);
		writes = json_array();
	}
	if (!u->state_known)
		dataflow_set_state(&w->df, ui, json_object_get(meta, "files_read"),
				   json_string_value(json_object_get(meta, "rng_in")));
	dataflow_record_writes(&w->df, ui, writes);
	restore_written_files(w, ui, meta);
	json_decref(w->meta[ui]);
	w->meta[ui] = json_incref(meta);
	return 1;
}

/* ---- misses: run and store ---- */

/* Fingerprints of files read, as {entry path: text}. Unreadable files are dropped. */
static json_t *fingerprint_files(const struct walk *w, const json_t *paths)
{
	json_t *obj = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(paths, i, v) {
		struct fingerprint fp;
		if (!json_is_string(v) || fingerprint_file(&fp, json_string_value(v), NULL) < 0)
			continue;
		struct strbuf t;
		strbuf_init(&t);
		fingerprint_to_text(&fp, &t);
		json_object_set_new(obj, path_for_entry(w, json_string_value(v)), json_string(t.buf));
		strbuf_free(&t);
	}
	return obj;
}

/* Serialise unit ui's results for its entry's outputs blob. */
static json_t *outputs_doc(struct walk *w, size_t ui)
{
	const struct unit *u = &w->df.units[ui];
	if (u->kind == UNIT_INLINE)
		return json_pack("{s:s}", "text", w->res->inl[u->seg->inline_index].text.buf);
	const struct chunk_outcome *o = unit_outcome(w, ui);
	json_t *st = json_array();
	for (size_t i = 0; i < o->nstatements; i++)
		json_array_append_new(st, json_pack("{s:s, s:i}", "source", o->statements[i].source, "line",
						    o->statements[i].line));
	return json_pack("{s:o, s:o}", "outputs", output_list_to_json(&o->outputs, true), "statements", st);
}

/* Store a new entry for unit ui, which just ran with tracking record `rec`. */
static int store_entry(struct walk *w, size_t ui, const json_t *rec, const json_t *files_read,
		       const char *rng_in, bool rng_changed, double seconds, struct weft_error *err)
{
	struct unit *u = &w->df.units[ui];
	json_t *blobs = json_array();
	json_t *meta = NULL;
	int rc = -1;

	json_t *to_save = json_array();
	static const char *const fields[] = {"bound", "mutated"};
	for (size_t f = 0; f < 2; f++) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(rec, fields[f]), i, v)
			json_array_append(to_save, v);
	}
	json_t *names = save_names(w, to_save, blobs, err);
	json_decref(to_save);
	if (!names)
		goto out;

	json_t *written = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(rec, "files_written"), i, v) {
		char h[STORE_HASH_SIZE];
		if (blob_from_file(w, json_string_value(v), h, err) == 0) {
			json_object_set_new(written, path_for_entry(w, json_string_value(v)), json_string(h));
			blobs_add(blobs, h);
		} else {
			weft_error_clear(err);
		}
	}
	char *rng_out = rng_changed ? save_rng(w, blobs, err) : NULL;
	if (rng_changed && !rng_out) {
		json_decref(written);
		json_decref(names);
		goto out;
	}
	json_t *odoc = outputs_doc(w, ui);
	char *otext = json_dumps(odoc, JSON_COMPACT);
	json_decref(odoc);
	char oh[STORE_HASH_SIZE];
	int orc = store_blob_put_mem(w->store, otext, strlen(otext), oh, err);
	free(otext);
	if (orc < 0) {
		free(rng_out);
		json_decref(written);
		json_decref(names);
		goto out;
	}
	blobs_add(blobs, oh);

	/* What the key was made of, to explain a later miss. */
	json_t *deps = json_object();
	const char *name;
	json_t *wi;
	json_object_foreach(u->deps, name, wi) {
		int wr = (int)json_integer_value(wi);
		json_object_set_new(deps, name,
				    wr < 0 ? json_object()
					   : json_pack("{s:s, s:s}", "from", w->df.units[wr].label, "state",
						       w->df.units[wr].state_key));
	}
	char *opts = unit_options_text(w, u);
	const char *norm = json_string_value(json_object_get(u->analysis, "normalized"));
	meta = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:O, s:o, s:O, s:o, s:s?, s:s?, s:s, s:f}",
			 "v", META_VERSION, "key", u->key, "state_key", u->state_key, "identity", w->identity,
			 "code", norm ? norm : "", "options", opts, "deps", deps, "writes", u->writes,
			 "deleted", json_object_get(rec, "deleted") ?: json_array(), "names", names,
			 "files_read", files_read, "files_written", written, "rng_in", rng_in,
			 "rng_out", rng_out, "outputs", oh, "seconds", seconds);
	free(opts);
	free(rng_out);
	if (meta && w->extra[ui])
		/* Kept so --frozen, which evaluates nothing, can rebuild the key. */
		json_object_set_new(meta, "extra", json_string(w->extra[ui]));
	if (!meta) {
		weft_error_set(err, w->doc->path, u->line, 0, "cache: cannot build the entry of chunk %s", u->label);
		goto out;
	}
	size_t nb = json_array_size(blobs);
	const char **bl = xcalloc(nb ? nb : 1, sizeof(char *));
	for (size_t k = 0; k < nb; k++)
		bl[k] = json_string_value(json_array_get(blobs, k));
	rc = store_entry_put(w->store, u->key, meta, bl, nb, w->doc_id, u->label, seconds, err);
	free(bl);
	if (rc == 0) {
		json_decref(w->meta[ui]);
		w->meta[ui] = json_incref(meta);
	}
out:
	json_decref(meta);
	json_decref(blobs);
	return rc;
}

/* Run unit ui (a miss, or not cached), with its inputs made live first. */
static int run_unit(struct walk *w, size_t ui, const json_t *reads, struct weft_error *err)
{
	struct unit *u = &w->df.units[ui];
	struct chunk_outcome *out = unit_outcome(w, ui);
	struct chunk_outcome scratch;
	if (!out) {
		memset(&scratch, 0, sizeof(scratch));
		output_list_init(&scratch.outputs);
	}
	json_t *record = NULL;
	bool track = w->caching && u->kind == UNIT_CHUNK;
	int rc = 0;

	if (w->caching) {
		if (walk_engine(w, err) < 0 || ensure_deps(w, u->deps, err) < 0 || ensure_rng(w, err) < 0)
			return -1;
	}
	if (out)
		chunk_outcome_reset(out);
	progress(w, PLANNER_UNIT_START, ui);
	double t0 = now_seconds();
	rc = run_code(w, ui, track, reads, out ? out : &scratch, &record, err);
	double seconds = now_seconds() - t0;
	if (out) {
		out->state = CHUNK_RAN;
		if (out->seconds <= 0)
			out->seconds = seconds;
	} else {
		chunk_outcome_free(&scratch);
	}
	if (rc < 0 || w->stopped || !w->caching)
		goto done;

	/* What it did: names written, files read, random state consumed. */
	json_t *writes;
	if (record)
		writes = record_writes(record);
	else
		writes = static_writes(u);
	/* A chunk that advanced the global random state consumed it: it depends on it. */
	bool rng_changed = record && json_is_true(json_object_get(record, "rng"));
	const char *rng_in = NULL;
	if (rng_changed) {
		int rw = dataflow_writer(&w->df, DATAFLOW_RNG);
		rng_in = rw < 0 ? "initial" : w->df.units[rw].state_key;
		json_array_append_new(writes, json_string(DATAFLOW_RNG));
	}
	json_t *files_read = fingerprint_files(w, record ? json_object_get(record, "files_read") : NULL);
	if (u->key_known)
		dataflow_set_state(&w->df, ui, files_read, rng_in);
	char *rng_in_copy = rng_in ? xstrdup(rng_in) : NULL;
	dataflow_record_writes(&w->df, ui, writes);
	size_t i;
	json_t *v;
	json_array_foreach(writes, i, v)
		json_object_set_new(w->live, json_string_value(v), json_integer((json_int_t)ui));
	if (rng_changed)
		w->live_rng = (int)ui;

	bool ok = out ? out->status == RUN_OK : w->res->inl[u->seg->inline_index].status == RUN_OK;
	if (u->cached && u->key_known && ok) {
		/* Inline expressions run untracked and write nothing: an empty record. */
		json_t *empty = record ? NULL : json_object();
		int src = store_entry(w, ui, record ? record : empty, files_read, rng_in_copy, rng_changed,
				      seconds, err);
		json_decref(empty);
		if (src < 0) {
			/* A chunk that ran fine must not fail the render because it could not be cached. */
			weft_warn(w->doc->path, u->line, "chunk %s not cached: %s", u->label, err->msg.buf);
			weft_error_clear(err);
		}
	}
	free(rng_in_copy);
	json_decref(files_read);
done:
	json_decref(record);
	return rc;
}

/* ---- the walk ---- */

/* Is this unit's chunk named in --rebuild, or has cache_rebuild=True? */
static bool rebuild_requested(const struct walk *w, const struct unit *u)
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

/* Evaluate the chunk's cache_extra expression; the value's repr, or NULL with err. */
static char *eval_cache_extra(struct walk *w, size_t ui, struct weft_error *err)
{
	const struct unit *u = &w->df.units[ui];
	const char *expr = u->kind == UNIT_CHUNK ? u->chunk->opts.cache_extra : NULL;
	if (!expr)
		return xstrdup("");
	/* The expression may read names; make those the document's versions first. */
	json_t *an = walk_request(w, json_pack("{s:s, s:[{s:s, s:i}]}", "op", "analyze", "chunks", "code", expr,
					       "line", u->chunk->header_line), err);
	if (!an)
		return NULL;
	const json_t *reads = json_object_get(json_array_get(json_object_get(an, "chunks"), 0), "reads");
	size_t i;
	json_t *v;
	json_array_foreach(reads, i, v) {
		const char *name = json_string_value(v);
		if (ensure_version(w, name, dataflow_writer(&w->df, name), err) < 0) {
			json_decref(an);
			return NULL;
		}
	}
	json_decref(an);
	json_t *r = walk_request(w, json_pack("{s:s, s:s, s:s}", "op", "eval_extra", "expr", expr, "filename",
					      w->doc->path), err);
	if (!r) {
		weft_error_set(err, w->doc->path, u->chunk->header_line, 0,
			       "chunk %s: cache_extra=%s failed: %s", u->label, expr, err->msg.buf);
		return NULL;
	}
	char *val = xstrdup(json_string_value(json_object_get(r, "value")) ?: "");
	json_decref(r);
	return val;
}

int planner_open_store(const struct document *doc, const struct planner_config *cfg,
		       struct store **out, struct weft_error *err)
{
	struct strbuf dir;
	strbuf_init(&dir);
	store_default_dir(doc->path, cfg->cache_dir, &dir);
	if (dir.buf[0] != '/') {
		/* The worker runs in the document's folder: hand it absolute paths. */
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd))) {
			strbuf_free(&dir);
			return weft_error_errno(err, NULL, "cannot find the current directory");
		}
		struct strbuf abs;
		strbuf_init(&abs);
		strbuf_addf(&abs, "%s/%s", cwd, dir.buf);
		strbuf_free(&dir);
		dir = abs;
	}
	int rc = store_open(out, dir.buf, err);
	strbuf_free(&dir);
	return rc;
}

bool planner_uses_cache(const struct document *doc, const struct planner_config *cfg)
{
	if (cfg->frozen || cfg->cache_all || doc->doc_cache)
		return true;
	for (size_t i = 0; i < doc->nchunks; i++)
		if (document_chunk_const(doc, i)->opts.cache)
			return true;
	return false;
}

static void walk_init(struct walk *w, const struct document *doc, const struct planner_config *cfg,
		      struct weave_results *res)
{
	memset(w, 0, sizeof(*w));
	w->doc = doc;
	w->cfg = cfg;
	w->res = res;
	w->identity = engine_identity_static(cfg);
	dataflow_init(&w->df, doc, w->identity, cfg->fig_format, cfg->cache_all);
	w->live = json_object();
	w->live_rng = -1;
	w->meta = xcalloc(w->df.n ? w->df.n : 1, sizeof(json_t *));
	w->replaying = xcalloc(w->df.n ? w->df.n : 1, sizeof(bool));
	w->stale = xcalloc(w->df.n ? w->df.n : 1, sizeof(bool));
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

static void walk_free(struct walk *w)
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
	json_decref(w->live);
	dataflow_free(&w->df);
	free(w->identity);
	free(w->doc_id);
	free(w->doc_dir);
}

/* Set the outcomes of chunks that are not units of their own or not evaluated. */
static void mark_passive_chunks(struct walk *w)
{
	for (size_t i = 0; i < w->doc->nchunks; i++) {
		const struct chunk *c = document_chunk_const(w->doc, i);
		struct chunk_outcome *o = &w->res->chunks[i];
		if (!c->opts.complete) {
			o->state = CHUNK_RAN;
			o->why = xstrdup("runs with the next chunk (complete=False)");
		} else if (!c->opts.evaluate) {
			o->state = CHUNK_NOT_EVALUATED;
		}
	}
}

/* Resolve one evaluated unit: key, hit or run. */
static int walk_unit(struct walk *w, size_t ui, struct weft_error *err)
{
	struct unit *u = &w->df.units[ui];
	json_t *reads = NULL;
	int rc = 0;
	if (!w->caching)
		return run_unit(w, ui, NULL, err);

	reads = dataflow_reads(&w->df, ui);
	bool cacheable = u->cached && !(u->kind == UNIT_INLINE && u->seg->kind == SEG_INLINE_CODE);
	char *extra = cacheable ? eval_cache_extra(w, ui, err) : xstrdup("");
	if (!extra) {
		json_decref(reads);
		return -1;
	}
	const char *missing = NULL;
	dataflow_compute_key(&w->df, ui, reads, extra, &missing);
	if (u->kind == UNIT_CHUNK && u->chunk->opts.cache_extra) {
		free(w->extra[ui]);
		w->extra[ui] = extra;
	} else {
		free(extra);
	}
	struct strbuf why;
	strbuf_init(&why);
	if (!cacheable) {
		strbuf_addstr(&why, u->kind == UNIT_CHUNK ? "not cached (cache=False)" : "inline code always runs");
	} else if (rebuild_requested(w, u)) {
		strbuf_addstr(&why, "rebuild requested");
	} else if (u->key_known) {
		json_t *meta = NULL;
		if (store_entry_get(w->store, u->key, &meta, err) == 1) {
			struct strbuf invalid;
			strbuf_init(&invalid);
			if (entry_valid(w, ui, meta, &invalid) && apply_hit(w, ui, meta, CHUNK_CACHED)) {
				json_decref(meta);
				strbuf_free(&invalid);
				set_why(w, ui, "cached: key and inputs unchanged");
				progress(w, PLANNER_UNIT_DONE, ui);
				strbuf_free(&why);
				json_decref(reads);
				return 0;
			}
			strbuf_add(&why, invalid.buf, invalid.len);
			strbuf_free(&invalid);
		}
		json_decref(meta);
		weft_error_clear(err);
		if (!why.len)
			explain_miss(w, ui, &why);
	}
	if (!u->key_known && !why.len)
		strbuf_addf(&why, "reads %s from a chunk that could not run", missing ? missing : "a name");
	rc = run_unit(w, ui, reads, err);
	set_why(w, ui, why.buf);
	if (u->kind == UNIT_CHUNK)
		progress(w, PLANNER_UNIT_DONE, ui);
	strbuf_free(&why);
	json_decref(reads);
	return rc;
}

/*
 * --frozen: does unit ui, whose own entry is valid, read from a unit shown
 * stale? Its entry chains on the stale unit's old state, so it hits, yet a
 * fresh run could differ: it is stale too, with the reason in why.
 */
static bool frozen_upstream_stale(struct walk *w, size_t ui, const json_t *meta, struct strbuf *why)
{
	const struct unit *u = &w->df.units[ui];
	const char *name;
	json_t *wi;
	json_object_foreach(u->deps, name, wi) {
		int wr = (int)json_integer_value(wi);
		if (wr >= 0 && w->stale[wr]) {
			strbuf_addf(why, "reads %s from chunk %s, which changed", name, w->df.units[wr].label);
			return true;
		}
	}
	if (u->kind == UNIT_CHUNK) {
		for (size_t d = 0; d < u->chunk->opts.ndependson; d++) {
			int wr = dataflow_find_chunk(&w->df, u->chunk->opts.dependson[d]);
			if (wr >= 0 && (size_t)wr < ui && w->stale[wr]) {
				strbuf_addf(why, "depends on chunk %s, which changed", w->df.units[wr].label);
				return true;
			}
		}
	}
	int rw = dataflow_writer(&w->df, DATAFLOW_RNG);
	if (json_object_get(meta, "rng_in") && rw >= 0 && w->stale[rw]) {
		strbuf_addstr(why, "the random state it starts from changed");
		return true;
	}
	return false;
}

/* --frozen: take every chunk from the cache, current or stale; run nothing. */
static int walk_frozen_unit(struct walk *w, size_t ui, struct weft_error *err)
{
	struct unit *u = &w->df.units[ui];
	json_t *reads = dataflow_reads(&w->df, ui);
	const char *missing = NULL;
	/* cache_extra is not evaluated (that needs Python): take the value the
	 * chunk's latest entry was made with, so an unchanged chunk still hits. */
	char *extra = NULL;
	if (u->kind == UNIT_CHUNK && u->chunk->opts.cache_extra) {
		struct store_entry_info last;
		store_entry_info_init(&last);
		if (store_entry_latest_for_chunk(w->store, w->doc_id, u->label, &last, NULL) == 1 && last.meta)
			extra = xstrdup(json_string_value(json_object_get(last.meta, "extra")) ?: "");
		store_entry_info_free(&last);
	}
	dataflow_compute_key(&w->df, ui, reads, extra ? extra : "", &missing);
	free(extra);
	json_decref(reads);
	json_t *meta = NULL;
	struct strbuf why;
	strbuf_init(&why);
	if (u->kind == UNIT_CHUNK && option_list_get(&u->chunk->raw, "cache") && !u->chunk->opts.cache) {
		/* cache=False: it would run; its key stays code-based (as in walk_unit), so
		 * cached readers of what it makes still hit, unless it read files. Other
		 * chunks are looked up even without --cache: --frozen means the cache. */
		struct chunk_outcome *o = unit_outcome(w, ui);
		if (o)
			o->state = CHUNK_SKIPPED;
		set_why(w, ui, "not cached (cache=False); --frozen runs nothing");
		dataflow_record_writes(&w->df, ui, static_writes(u));
		if (u->key_known)
			dataflow_set_state(&w->df, ui, NULL, NULL);
	} else if (u->key_known && store_entry_get(w->store, u->key, &meta, err) == 1 &&
		   entry_valid(w, ui, meta, &why) && !frozen_upstream_stale(w, ui, meta, &why) &&
		   apply_hit(w, ui, meta, CHUNK_CACHED)) {
		set_why(w, ui, u->kind == UNIT_CHUNK && u->chunk->opts.cache_extra
				       ? "cached (cache_extra not evaluated: --frozen keeps its last value)"
				       : "cached");
	} else if (why.len && meta && apply_hit(w, ui, meta, CHUNK_STALE)) {
		/* Upstream stale: its own entry holds the results that go with upstream's. */
		w->stale[ui] = true;
		struct strbuf s;
		strbuf_init(&s);
		strbuf_addf(&s, "stale: %s", why.buf);
		set_why(w, ui, s.buf);
		strbuf_free(&s);
	} else {
		if (!why.len)
			explain_miss(w, ui, &why);
		struct store_entry_info info;
		store_entry_info_init(&info);
		if (store_entry_latest_for_chunk(w->store, w->doc_id, u->label, &info, NULL) == 1 && info.meta &&
		    apply_hit(w, ui, info.meta, CHUNK_STALE)) {
			/* Downstream keys chain on what the cache holds, so they can still hit
			 * (and are then marked stale by frozen_upstream_stale). */
			w->stale[ui] = true;
			json_decref(meta);
			meta = NULL;
			struct strbuf s;
			strbuf_init(&s);
			strbuf_addf(&s, "stale: %s", why.buf);
			set_why(w, ui, s.buf);
			strbuf_free(&s);
			if (u->kind == UNIT_CHUNK)
				snprintf(u->state_key, sizeof(u->state_key), "%s",
					 json_string_value(json_object_get(info.meta, "state_key")) ?: u->state_key);
		} else {
			struct chunk_outcome *o = unit_outcome(w, ui);
			if (o) {
				o->state = CHUNK_SKIPPED;
			}
			struct strbuf s;
			strbuf_init(&s);
			strbuf_addf(&s, "not in the cache (%s); --frozen runs nothing", why.buf);
			set_why(w, ui, s.buf);
			strbuf_free(&s);
			/* Its writes are unknown: predict them from the analysis. */
			dataflow_record_writes(&w->df, ui, static_writes(u));
		}
		store_entry_info_free(&info);
	}
	json_decref(meta);
	weft_error_clear(err);
	strbuf_free(&why);
	progress(w, PLANNER_UNIT_DONE, ui);
	return 0;
}

int planner_weave(const struct document *doc, const struct planner_config *cfg,
		  struct weave_results *res, struct weft_error *err)
{
	struct walk w;
	walk_init(&w, doc, cfg, res);
	int rc = 0;
	mark_passive_chunks(&w);
	if (cfg->frozen)
		w.caching = true;
	if (cfg->kernel)
		w.caching = false; /* the cache needs the embedded engine's ops (cmd_weave warns) */
	if (w.caching) {
		bool own = !cfg->store;
		w.store = cfg->store;
		w.own_store = own;
		if ((own && planner_open_store(doc, cfg, &w.store, err) < 0) || load_analyses(&w, err) < 0)
			rc = -1;
	}
	for (size_t ui = 0; ui < w.df.n && rc == 0; ui++) {
		struct unit *u = &w.df.units[ui];
		if (!u->evaluate) {
			progress(&w, PLANNER_UNIT_DONE, ui);
			continue;
		}
		if (w.stopped) {
			if (u->kind == UNIT_CHUNK) {
				unit_outcome(&w, ui)->state = CHUNK_SKIPPED;
				progress(&w, PLANNER_UNIT_DONE, ui);
			}
			continue;
		}
		rc = cfg->frozen ? walk_frozen_unit(&w, ui, err) : walk_unit(&w, ui, err);
		if (!w.caching && u->kind == UNIT_CHUNK)
			progress(&w, PLANNER_UNIT_DONE, ui);
	}
	walk_free(&w);
	return rc;
}

/* ---- reports ---- */

int planner_status(const struct document *doc, const struct planner_config *cfg, FILE *fp,
		   struct weft_error *err)
{
	struct weave_results res;
	weave_results_init(&res, doc->nchunks, doc->ninline);
	struct planner_config c = *cfg;
	c.frozen = true;
	c.progress = NULL;
	int rc = planner_weave(doc, &c, &res, err);
	if (rc == 0) {
		fprintf(fp, "%-24s %6s  %-10s %s\n", "CHUNK", "LINE", "STATUS", "WHY");
		for (size_t i = 0; i < doc->nchunks; i++) {
			const struct chunk *ch = document_chunk_const(doc, i);
			const struct chunk_outcome *o = &res.chunks[i];
			char name[64];
			if (ch->opts.name)
				snprintf(name, sizeof(name), "%s", ch->opts.name);
			else
				snprintf(name, sizeof(name), "#%d", ch->number);
			bool cached = option_list_get(&ch->raw, "cache") ? ch->opts.cache
									 : (cfg->cache_all || doc->doc_cache || ch->opts.cache);
			const char *status = "stale";
			const char *why = o->why ? o->why : "";
			if (!ch->opts.evaluate) {
				status = "-";
				why = "evaluate=False";
			} else if (!ch->opts.complete) {
				status = "-";
			} else if (!cached) {
				status = "not cached";
				why = "cache=False: always runs";
			} else if (o->state == CHUNK_CACHED) {
				status = "fresh";
			} else if (!strncmp(why, "stale: ", 7)) {
				why += 7;
			} else if (!strncmp(why, "not in the cache (", 18)) {
				why = "not in the cache";
			}
			fprintf(fp, "%-24s %6d  %-10s %s\n", name, ch->header_line ? ch->header_line : ch->code_line,
				status, why);
		}
	}
	weave_results_free(&res);
	return rc;
}

int planner_write_summary(const struct document *doc, const struct weave_results *res, const char *path,
			  struct weft_error *err)
{
	json_t *chunks = json_array();
	for (size_t i = 0; i < doc->nchunks; i++) {
		const struct chunk *c = document_chunk_const(doc, i);
		const struct chunk_outcome *o = &res->chunks[i];
		const char *status = o->status == RUN_OK ? "ok" : o->status == RUN_ERROR ? "error"
								: o->status == RUN_CRASHED ? "crashed" : "timeout";
		json_array_append_new(chunks, json_pack("{s:s?, s:i, s:i, s:s, s:s, s:s?, s:f}",
							"name", c->opts.name, "number", c->number,
							"line", c->header_line ? c->header_line : c->code_line,
							"state", chunk_state_name(o->state), "status", status,
							"why", o->why, "seconds", o->seconds));
	}
	json_t *doc_json = json_pack("{s:s, s:b, s:o}", "document", doc->path, "engine_started",
				     res->engine_started, "chunks", chunks);
	char *text = json_dumps(doc_json, JSON_INDENT(2));
	json_decref(doc_json);
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addstr(&sb, text);
	strbuf_addch(&sb, '\n');
	free(text);
	int rc = fs_write_atomic(path, sb.buf, sb.len, err);
	strbuf_free(&sb);
	return rc;
}
