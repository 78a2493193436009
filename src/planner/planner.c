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
#include "planner/chain.h"
#include "engine/kernel_runtime.h"
#include "planner/entry.h"
#include "planner/inputs.h"
#include "planner/nsorder.h"
#include "planner/restore.h"
#include "planner/rundefaults.h"
#include "planner/unitkeys.h"
#include "planner/settings.h"
#include "planner/walk.h"

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
#include "engine/protocol.h"
#include "planner/dataflow.h"
#include "util/fsutil.h"
#include "util/hash.h"

/* Namespace of the name-analysis memo; bump when weft_analysis changes its output. */
#define ANALYSIS_MEMO "analysis-5"

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
		/*
		 * Checked: code Python cannot be given (not UTF-8) is left out, with no
		 * analysis (it reads anything; it fails as it runs); a silently failed
		 * item would shift every later analysis onto the wrong chunk.
		 */
		json_t *code = proto_string(u->code, strlen(u->code), NULL);
		json_t *item = code ? json_pack("{s:o, s:i}", "code", code, "line", u->line) : NULL;
		if (!item || json_array_append_new(todo, item) < 0)
			continue;
		json_array_append_new(todo_units, json_integer((json_int_t)i));
	}
	int rc = 0;
	/*
	 * --frozen (and `cache status`) must not start Python: an edited unit keeps
	 * no analysis, so its key cannot match and it reads as "code changed".
	 */
	if (json_array_size(todo) && !w->cfg->frozen) {
		json_t *reply = walk_request(w, proto_pack(err, w->doc->path, 0, "name analysis", "{s:s, s:O}",
							   "op", "analyze", "chunks", todo), err);
		const json_t *chunks = reply ? proto_decode_analysis(reply, json_array_size(todo), err) : NULL;
		if (!chunks) {
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

/* ---- restoring names ---- */

/* ---- running ---- */

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
 * What a chunk whose tracking failed may have written: what it binds or
 * deletes by its analysis, and everything it may read (it could have mutated
 * any of it). Its state stays unknown, so readers never take an entry.
 */
static json_t *untracked_writes(struct walk *w, size_t ui)
{
	json_t *arr = static_writes(&w->df.units[ui]);
	json_t *reads = dataflow_reads(&w->df, ui);
	size_t i;
	json_t *v;
	json_array_foreach(reads, i, v)
		json_array_append(arr, v);
	json_decref(reads);
	return arr;
}

/*
 * A limit of the cache's contract (README) that weft saw happen while unit ui
 * ran is said at render time: names whose reachability walk stopped at its
 * budget, so sharing deeper inside them is not seen.
 */
static void warn_seen_limits(const struct walk *w, size_t ui, const json_t *record)
{
	const struct unit *u = &w->df.units[ui];
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(record, "walk_truncated"), i, v)
		if (json_is_string(v))
			weft_warn(w->doc->path, u->line,
				  "chunk %s: %s reaches too many objects to check them all for sharing with other "
				  "names; a change through a name sharing objects deep inside it may not be seen "
				  "by the cache (README: named limits)", u->label, json_string_value(v));
}

/* ---- hits ---- */

/* ---- misses: run and store ---- */

/* Memo namespace: the state key and the writes a cache=False unit last ran to,
 * by its key, for --frozen, which runs nothing yet must chain its readers' keys alike. */
#define UNCACHED_RUN_MEMO "uncached-run-1"

/* The worker's pseudo-name for the state of a module of the document's, "<module NAME>"
 * (weft_state.py): in a record's writes when a chunk changed that module in place. */
#define MODULE_STATE_PREFIX "<module "

/*
 * A cache=False unit runs on every render with the key cached readers chain
 * on, and may have computed other values than last time: the clock, a
 * database, the network. Mix a digest of the values it wrote into its state
 * key, so readers of a changed value run again and readers of an equal one
 * still hit. A value bound that cannot be digested (a connection, a module,
 * a class) stands for itself by name: the code that made it is in the key.
 * Code changed in place (a module's or class's attributes) has no digest that
 * holds across processes: the state key is then a new one. (A rebuild of a
 * cached unit is settled on what it saved: entry.c.)
 */
static int mix_written_values(struct walk *w, size_t ui, const json_t *record, const json_t *writes,
			      struct weft_error *err)
{
	struct unit *u = &w->df.units[ui];
	const json_t *mutated = json_object_get(record, "mutated");
	bool code_changed = false;
	json_t *names = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(writes, i, v) {
		const char *name = json_string_value(v);
		if (!name || !strncmp(name, MODULE_STATE_PREFIX, sizeof(MODULE_STATE_PREFIX) - 1))
			code_changed = true; /* a module of the document's, changed in place (or no name) */
		else if (name[0] != '<') /* other pseudo-names: settings and the random state, keyed apart */
			json_array_append_new(names, json_string(name));
	}
	if (code_changed || !json_array_size(names)) {
		json_decref(names);
		if (code_changed)
			dataflow_mix_unique(&w->df, ui);
		return 0;
	}
	char what[160];
	snprintf(what, sizeof(what), "chunk %s: digest of the values it wrote", u->label);
	json_t *reply = walk_request(w, proto_pack(err, w->doc->path, u->line, what, "{s:s, s:O, s:b}", "op",
						   "fingerprint", "names", names, "values", 1), err);
	if (!reply) {
		json_decref(names);
		return -1;
	}
	const json_t *fps = json_object_get(reply, "fingerprints");
	json_t *digests = json_object();
	json_array_foreach(names, i, v) {
		const char *name = json_string_value(v);
		const json_t *fp = json_object_get(fps, name);
		const char *d = !fp ? "<unbound>" : json_is_string(fp) ? json_string_value(fp) : "<no digest>";
		if (!strcmp(d, "code") && walk_names_has(mutated, name))
			code_changed = true;
		json_object_set_new(digests, name, json_string(d));
	}
	char *text = json_dumps(digests, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(digests);
	json_decref(names);
	json_decref(reply);
	if (!text)
		return weft_error_set(err, w->doc->path, u->line, 0, "chunk %s: cannot encode the digest of its values",
				      u->label);
	dataflow_mix_state(&w->df, ui, text);
	free(text);
	if (code_changed)
		dataflow_mix_unique(&w->df, ui);
	return 0;
}

/*
 * Remember what cache=False unit ui's run gave (see UNCACHED_RUN_MEMO); best
 * effort. Written only when it changed: most runs give what the last one did.
 */
static void memo_uncached_run(struct walk *w, size_t ui, const json_t *writes)
{
	const struct unit *u = &w->df.units[ui];
	if (!w->store)
		return;
	json_t *memo = json_pack("{s:s, s:O}", "state_key", u->state_key, "writes", writes);
	json_t *last = NULL;
	if (memo && !(store_memo_get(w->store, UNCACHED_RUN_MEMO, u->key, &last, NULL) == 1 &&
		      json_equal(last, memo)))
		store_memo_put(w->store, UNCACHED_RUN_MEMO, u->key, memo, NULL);
	json_decref(last);
	json_decref(memo);
}

/*
 * --frozen, cache=False unit ui: take the state key and writes of its last
 * run, so its cached readers chain on what they did then; with no memo, its
 * code-based state and the writes the analysis predicts. Writes go to `writes`.
 */
static void frozen_uncached_state(struct walk *w, size_t ui, json_t *writes)
{
	struct unit *u = &w->df.units[ui];
	json_t *memo = NULL;
	const char *last = NULL;
	const json_t *last_writes = NULL;
	if (u->key_known) {
		dataflow_set_state(&w->df, ui, NULL, NULL);
		if (store_memo_get(w->store, UNCACHED_RUN_MEMO, u->key, &memo, NULL) != 1)
			memo = NULL;
	}
	if (memo) {
		last = json_string_value(json_object_get(memo, "state_key"));
		last_writes = json_object_get(memo, "writes");
	}
	if (last && strlen(last) < sizeof(u->state_key) && json_is_array(last_writes)) {
		snprintf(u->state_key, sizeof(u->state_key), "%s", last);
		size_t i;
		json_t *v;
		json_array_foreach(last_writes, i, v)
			if (json_is_string(v) && !settings_is_pseudo(json_string_value(v)))
				json_array_append(writes, v);
	} else {
		json_t *predicted = static_writes(u);
		json_array_extend(writes, predicted);
		json_decref(predicted);
	}
	json_decref(memo);
}

/* Run unit ui (a miss, or not cached), with its inputs made live first. */
static int run_unit(struct walk *w, size_t ui, const json_t *reads, struct weft_error *err)
{
	struct unit *u = &w->df.units[ui];
	struct chunk_outcome *out = walk_outcome(w, ui);
	struct chunk_outcome scratch;
	if (!out) {
		memset(&scratch, 0, sizeof(scratch));
		output_list_init(&scratch.outputs);
	}
	json_t *record = NULL;
	bool track = w->caching;
	int rc = 0;

	if (w->caching) {
		if (walk_engine(w, err) < 0 || unitkeys_restore_inputs(w, u->deps, -1, err) < 0 ||
		    unitkeys_register_lines(w, ui, err) < 0 || nsorder_apply(w, ui, err) < 0)
			return -1;
	}
	if (out)
		chunk_outcome_reset(out);
	walk_progress(w, PLANNER_UNIT_START, ui);
	double t0 = now_seconds();
	rc = walk_run_code(w, ui, track, reads, out ? out : &scratch, &record, err);
	double seconds = now_seconds() - t0;
	if (rc == 0)
		rundefaults_after_run(w, ui); /* pweave.rcParams defaults for the chunks after it */
	if (record)
		nsorder_note(w, ui, record);
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
	/* Tracking asked for but failed (a chunk's outcome says so; an inline span gives no record). */
	bool untracked = out ? out->tracking_failed : track && !record;
	json_t *writes;
	if (untracked)
		writes = untracked_writes(w, ui);
	else if (record)
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
	settings_record_run(w, ui, record, writes);
	json_t *files_read = entry_fingerprint_files(w, record ? json_object_get(record, "files_read") : NULL);
	inputs_after_run(w, ui, record, files_read);
	warn_seen_limits(w, ui, record);
	if (u->key_known && !untracked) { /* untracked: state unknown, readers are never cached */
		dataflow_set_state(&w->df, ui, files_read, rng_in);
		unitkeys_after_run(w, ui, record);
		inputs_mix_state(w, ui, record, true);
		if (!u->cached) {
			if (mix_written_values(w, ui, record, writes, err) < 0) {
				json_decref(files_read);
				json_decref(writes);
				rc = -1;
				goto done;
			}
			memo_uncached_run(w, ui, writes);
		}
	}
	char *rng_in_copy = rng_in ? xstrdup(rng_in) : NULL;
	dataflow_record_writes(&w->df, ui, writes);
	size_t i;
	json_t *v;
	json_array_foreach(writes, i, v)
		json_object_set_new(w->live, json_string_value(v), json_integer((json_int_t)ui));
	if (rng_changed)
		w->live_rng = (int)ui;

	bool ok = out ? out->status == RUN_OK : w->res->inl[u->seg->inline_index].status == RUN_OK;
	if (u->cached && u->key_known && ok && !untracked && (record || !track)) {
		/* Inline expressions run untracked and write nothing: an empty record. */
		json_t *empty = record ? NULL : json_object();
		entry_store(w, ui, record ? record : empty, files_read, rng_in_copy, rng_changed, seconds);
		json_decref(empty);
	} else if (u->key_known && !untracked && walk_rebuild_requested(w, u)) {
		dataflow_mix_unique(&w->df, ui); /* rebuilt, not stored: what it made is known to no entry */
	}
	free(rng_in_copy);
	json_decref(files_read);
done:
	json_decref(record);
	return rc;
}

/* ---- the walk ---- */

/* Evaluate the chunk's cache_extra expression; the value's repr, or NULL with err. */
static char *eval_cache_extra(struct walk *w, size_t ui, struct weft_error *err)
{
	const struct unit *u = &w->df.units[ui];
	const char *expr = u->kind == UNIT_CHUNK ? u->chunk->opts.cache_extra : NULL;
	if (!expr)
		return xstrdup("");
	/* The expression may read names; make those the document's versions first. */
	char what[160];
	snprintf(what, sizeof(what), "chunk %s: cache_extra", u->label);
	json_t *an = walk_request(w, proto_pack(err, w->doc->path, u->chunk->header_line, what,
						"{s:s, s:[{s:s, s:i}]}", "op", "analyze", "chunks", "code", expr,
						"line", u->chunk->header_line), err);
	if (!an)
		return NULL;
	if (!proto_decode_analysis(an, 1, err)) {
		json_decref(an);
		return NULL;
	}
	const json_t *reads = json_object_get(json_array_get(json_object_get(an, "chunks"), 0), "reads");
	size_t i;
	json_t *v;
	json_array_foreach(reads, i, v) {
		const char *name = json_string_value(v);
		if (restore_version(w, name, dataflow_writer(&w->df, name), err) < 0) {
			json_decref(an);
			return NULL;
		}
	}
	json_decref(an);
	json_t *r = walk_request(w, proto_pack(err, w->doc->path, u->chunk->header_line, what, "{s:s, s:s, s:s}",
						"op", "eval_extra", "expr", expr, "filename", w->doc->path), err);
	if (!r) {
		/* the reason is err's own message: copy it before err is rewritten */
		char *reason = xstrdup(err->msg.buf);
		weft_error_set(err, w->doc->path, u->chunk->header_line, 0,
			       "chunk %s: cache_extra=%s failed: %s", u->label, expr, reason);
		free(reason);
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
	if (cfg->no_cache)
		return false;
	if (cfg->frozen || cfg->cache_all || doc->doc_cache)
		return true;
	for (size_t i = 0; i < doc->nchunks; i++)
		if (document_chunk_const(doc, i)->opts.cache)
			return true;
	return false;
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
	bool cacheable = u->cached;
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
		strbuf_addstr(&why, "not cached (cache=False)");
	} else if (walk_rebuild_requested(w, u)) {
		strbuf_addstr(&why, "rebuild requested");
	} else if (u->key_known) {
		json_t *meta = NULL;
		if (store_entry_get(w->store, u->key, &meta, err) == 1) {
			struct strbuf invalid;
			strbuf_init(&invalid);
			if (entry_valid(w, meta, &invalid) && unitkeys_entry_valid(w, ui, meta, &invalid) &&
			    entry_apply_hit(w, ui, meta, CHUNK_CACHED)) {
				json_decref(meta);
				strbuf_free(&invalid);
				walk_set_why(w, ui, "cached: key and inputs unchanged");
				walk_progress(w, PLANNER_UNIT_DONE, ui);
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
			entry_explain_miss(w, ui, &why);
	}
	if (!u->key_known && !why.len) {
		int mw = missing ? dataflow_writer(&w->df, missing) : -1;
		const struct chunk_outcome *mo = mw >= 0 ? walk_outcome(w, (size_t)mw) : NULL;
		if (mo && mo->tracking_failed)
			strbuf_addf(&why, "reads %s from chunk %s, which weft could not track", missing,
				    w->df.units[mw].label);
		else
			strbuf_addf(&why, "reads %s from a chunk that could not run", missing ? missing : "a name");
	}
	rc = run_unit(w, ui, reads, err);
	walk_set_why(w, ui, why.buf);
	if (u->kind == UNIT_CHUNK)
		walk_progress(w, PLANNER_UNIT_DONE, ui);
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
		struct chunk_outcome *o = walk_outcome(w, ui);
		if (o)
			o->state = CHUNK_SKIPPED;
		walk_set_why(w, ui, "not cached (cache=False); --frozen runs nothing");
		json_t *fw = json_array();
		frozen_uncached_state(w, ui, fw);
		settings_frozen_writes(w, ui, fw);
		dataflow_record_writes(&w->df, ui, fw);
	} else if (u->key_known && store_entry_get(w->store, u->key, &meta, err) == 1 &&
		   entry_valid(w, meta, &why) && unitkeys_entry_valid(w, ui, meta, &why) &&
		   !frozen_upstream_stale(w, ui, meta, &why) &&
		   entry_apply_hit(w, ui, meta, CHUNK_CACHED)) {
		walk_set_why(w, ui, u->kind == UNIT_CHUNK && u->chunk->opts.cache_extra
				       ? "cached (cache_extra not evaluated: --frozen keeps its last value)"
				       : "cached");
	} else if (why.len && meta && entry_apply_hit(w, ui, meta, CHUNK_STALE)) {
		/* Upstream stale: its own entry holds the results that go with upstream's. */
		w->stale[ui] = true;
		struct strbuf s;
		strbuf_init(&s);
		strbuf_addf(&s, "stale: %s", why.buf);
		walk_set_why(w, ui, s.buf);
		strbuf_free(&s);
	} else {
		if (!why.len)
			entry_explain_miss(w, ui, &why);
		struct store_entry_info info;
		store_entry_info_init(&info);
		if (store_entry_latest_for_chunk(w->store, w->doc_id, u->label, &info, NULL) == 1 && info.meta &&
		    entry_apply_hit(w, ui, info.meta, CHUNK_STALE)) {
			/* Downstream keys chain on what the cache holds, so they can still hit
			 * (and are then marked stale by frozen_upstream_stale). */
			w->stale[ui] = true;
			json_decref(meta);
			meta = NULL;
			struct strbuf s;
			strbuf_init(&s);
			strbuf_addf(&s, "stale: %s", why.buf);
			walk_set_why(w, ui, s.buf);
			strbuf_free(&s);
			if (u->kind == UNIT_CHUNK)
				snprintf(u->state_key, sizeof(u->state_key), "%s",
					 json_string_value(json_object_get(info.meta, "state_key")) ?: u->state_key);
		} else {
			struct chunk_outcome *o = walk_outcome(w, ui);
			if (o) {
				o->state = CHUNK_SKIPPED;
			}
			struct strbuf s;
			strbuf_init(&s);
			strbuf_addf(&s, "not in the cache (%s); --frozen runs nothing", why.buf);
			walk_set_why(w, ui, s.buf);
			strbuf_free(&s);
			/* Its writes are unknown: predict them from the analysis. */
			dataflow_record_writes(&w->df, ui, static_writes(u));
		}
		store_entry_info_free(&info);
	}
	json_decref(meta);
	weft_error_clear(err);
	strbuf_free(&why);
	walk_progress(w, PLANNER_UNIT_DONE, ui);
	return 0;
}

int planner_weave(struct document *doc, const struct planner_config *cfg,
		  struct weave_results *res, struct weft_error *err)
{
	struct walk w;
	walk_init(&w, doc, cfg, res);
	int rc = 0;
	mark_passive_chunks(&w);
	/* Each chunk's engine by its language: other languages' kernels are cached by chain. */
	struct chain *chain = NULL;
	if (chain_init(&chain, &w, &w.python_kernel, err) < 0)
		rc = -1;
	if (cfg->frozen)
		w.caching = true;
	if (w.python_kernel && !kernel_runtime_cacheable(w.python_kernel))
		w.caching = false; /* the cache needs weft's runtime in a Python kernel (cmd_weave warns) */
	if (cfg->no_cache)
		w.caching = false; /* --no-cache: the reference render a cached one must equal */
	if (rc == 0 && (w.caching || chain_caching(chain))) {
		bool own = !cfg->store;
		w.store = cfg->store;
		w.own_store = own;
		if (own && planner_open_store(doc, cfg, &w.store, err) < 0)
			rc = -1;
	}
	if (rc == 0 && w.caching) {
		if (load_analyses(&w, err) < 0)
			rc = -1;
		for (size_t ui = 0; rc == 0 && cfg->kernel && ui < w.df.n && w.caching; ui++) {
			const char *hist = w.df.units[ui].evaluate ? kernel_runtime_history_read(w.df.units[ui].analysis)
								   : NULL;
			if (hist) { /* the kernel's history differs when cached chunks did not run in it */
				weft_warn(doc->path, w.df.units[ui].line, "--kernel %s: %s reads IPython's history (%s), "
					  "which a cached render changes; caching is off for this render (every chunk runs)",
					  cfg->kernel, w.df.units[ui].label, hist);
				w.caching = false;
			}
		}
		w.meanwhile = entry_write_pending;
	}
	for (size_t ui = 0; ui < w.df.n && rc == 0; ui++) {
		struct unit *u = &w.df.units[ui];
		if (chain_owns(chain, ui)) {
			rc = chain_unit(chain, &w, ui, err);
			continue;
		}
		if (!u->evaluate) {
			walk_progress(&w, PLANNER_UNIT_DONE, ui);
			continue;
		}
		if (w.stopped) {
			if (u->kind == UNIT_CHUNK) {
				walk_outcome(&w, ui)->state = CHUNK_SKIPPED;
				walk_progress(&w, PLANNER_UNIT_DONE, ui);
			}
			continue;
		}
		rc = cfg->frozen ? walk_frozen_unit(&w, ui, err) : walk_unit(&w, ui, err);
		if (!w.caching && u->kind == UNIT_CHUNK)
			walk_progress(&w, PLANNER_UNIT_DONE, ui);
		/* --frozen: an inline value shown from an out-of-date entry is marked in the report */
		if (u->kind == UNIT_INLINE && w.stale && w.stale[ui] && u->seg->inline_index >= 0 &&
		    (size_t)u->seg->inline_index < res->ninline)
			res->inl[u->seg->inline_index].stale = true;
	}
	chain_free(chain);
	entry_write_pending(&w);
	walk_free(&w);
	return rc;
}

/* ---- reports ---- */

int planner_status(struct document *doc, const struct planner_config *cfg, FILE *fp,
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
			bool cached = dataflow_chunk_cached(doc, ch, cfg->cache_all);
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

/* A summary string field: checked, so a name that is not UTF-8 is an error, not a missing field. */
static json_t *summary_str(const char *s, const char *what, const char *path, struct weft_error *err)
{
	if (!s)
		return json_null();
	long bad;
	json_t *v = proto_string(s, strlen(s), &bad);
	if (!v)
		weft_error_set(err, path, 0, 0,
			       "--summary-json: %s is not valid UTF-8 (byte 0x%02x at offset %ld); JSON holds text only",
			       what, (unsigned char)s[bad], bad);
	return v;
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
		json_t *name = summary_str(c->opts.name, "a chunk name", path, err);
		json_t *why = name ? summary_str(o->why, "a chunk's reason", path, err) : NULL;
		json_t *item = why ? json_pack("{s:o, s:i, s:i, s:s, s:s, s:o, s:f}", "name", name, "number",
					       c->number, "line", c->header_line ? c->header_line : c->code_line,
					       "state", chunk_state_name(o->state), "status", status, "why", why,
					       "seconds", o->seconds)
				   : NULL;
		if (!why)
			json_decref(name);
		if (!item || json_array_append_new(chunks, item) < 0) {
			if (why && !weft_error_isset(err))
				weft_error_set(err, path, 0, 0, "--summary-json: cannot build chunk %zu's record", i);
			json_decref(chunks);
			return -1;
		}
	}
	json_t *docname = summary_str(doc->path, "the document's file name", path, err);
	json_t *doc_json = docname ? json_pack("{s:o, s:b, s:o}", "document", docname, "engine_started",
					       res->engine_started, "chunks", chunks)
				   : NULL;
	if (!docname)
		json_decref(chunks);
	char *text = doc_json ? json_dumps(doc_json, JSON_INDENT(2)) : NULL;
	json_decref(doc_json);
	if (!text) {
		if (docname)
			weft_error_set(err, path, 0, 0, "--summary-json: cannot build the record");
		return -1;
	}
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addstr(&sb, text);
	strbuf_addch(&sb, '\n');
	free(text);
	int rc = fs_write_atomic(path, sb.buf, sb.len, err);
	strbuf_free(&sb);
	return rc;
}
