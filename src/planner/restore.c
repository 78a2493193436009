/* restore: names at the versions a fresh run would see; see restore.h. */
#include "planner/restore.h"
#include "planner/unitkeys.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/protocol.h"
#include "planner/walk.h"
#include "planner/settings.h"
#include "util/hash.h"

/*
 * Open blob `hash` (checked through the descriptor, store_blob_open) and add
 * the descriptor to `fds`, the request's list (engine.h: the worker gets the
 * files themselves, never a path that could be replaced after the check).
 * Its index in `fds`, or -1 (a miss: bad, missing or unlistable).
 */
static int add_blob_fd(struct walk *w, json_t *fds, const char *hash)
{
	int fd = hash ? store_blob_open(w->store, hash) : -1;
	if (fd < 0)
		return -1;
	if (json_array_append_new(fds, json_integer(fd)) < 0) {
		close(fd);
		return -1;
	}
	return (int)json_array_size(fds) - 1;
}

/* Close the descriptors of a request's "fds" list from index `from` on, and drop them from it. */
static void close_fds(json_t *fds, size_t from)
{
	while (json_array_size(fds) > from) {
		size_t last = json_array_size(fds) - 1;
		close((int)json_integer_value(json_array_get(fds, last)));
		json_array_remove(fds, last);
	}
}

/*
 * Turn a saved-name record into a restore item whose pickle and buffers are
 * descriptors in `fds` ("pickle_fd", "buffer_fds": indexes; "pickle" stays
 * the blob's hash). NULL (nothing added to fds) if a blob is bad.
 */
static json_t *restore_item(struct walk *w, const json_t *rec, json_t *fds)
{
	const char *pickle = json_string_value(json_object_get(rec, "pickle"));
	if (!pickle)
		return json_deep_copy(rec);
	size_t had = json_array_size(fds);
	json_t *item = json_deep_copy(rec), *bufs = json_array();
	int pi = add_blob_fd(w, fds, pickle);
	bool ok = item && bufs && pi >= 0 && json_object_set_new(item, "pickle_fd", json_integer(pi)) == 0;
	size_t k;
	json_t *b;
	json_array_foreach(json_object_get(rec, "buffers"), k, b) {
		int bi = ok ? add_blob_fd(w, fds, json_string_value(b)) : -1;
		ok = bi >= 0 && json_array_append_new(bufs, json_integer(bi)) == 0;
	}
	if (ok && json_object_set_new(item, "buffer_fds", bufs) == 0)
		return item;
	if (!ok)
		json_decref(bufs);
	json_decref(item);
	close_fds(fds, had);
	return NULL;
}

/* Does unit t's write record say it deleted `name`? */
static bool unit_deleted(const struct walk *w, size_t t, const char *name)
{
	const json_t *m = w->meta[t];
	return m && walk_names_has(json_object_get(m, "deleted"), name);
}

/* Make `name` undefined in the worker ("delete"). 0, or -1 with err. */
static int request_delete(struct walk *w, const char *name, struct weft_error *err)
{
	char what[200];
	snprintf(what, sizeof(what), "cache: deleting %s", name);
	json_t *r = walk_request(w, proto_pack(err, w->doc->path, 0, what, "{s:s, s:[s]}", "op", "delete",
					       "names", name), err);
	json_decref(r);
	return r ? 0 : -1;
}

/*
 * Make the worker hold unit `target`'s version of `name` (-1: undefined), as a
 * fresh run would at this point. Restores from the cache, or replays.
 */
int restore_version(struct walk *w, const char *name, int target, struct weft_error *err)
{
	if (settings_is_pseudo(name))
		return 0; /* put in force together, in order, by settings_sync */
	json_t *cur = json_object_get(w->live, name);
	if (target < 0) {
		if (cur && json_integer_value(cur) >= 0) {
			if (request_delete(w, name, err) < 0)
				return -1;
		}
		json_object_del(w->live, name);
		return 0;
	}
	if (cur && json_integer_value(cur) == target)
		return 0;
	if (unit_deleted(w, (size_t)target, name)) {
		if (request_delete(w, name, err) < 0)
			return -1;
		json_object_set_new(w->live, name, json_integer(target));
		return 0;
	}
	const json_t *m = w->meta[target];
	const json_t *names = m ? json_object_get(m, "names") : NULL;
	const json_t *rec = json_object_get(names, name);
	json_t *fds = json_array();
	if (rec && fds && !json_is_true(json_object_get(rec, "unsaveable"))) {
		json_t *item = restore_item(w, rec, fds);
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
				json_t *oitem = restore_item(w, orec, fds);
				if (oitem) {
					json_array_append_new(items, oitem);
					json_array_append_new(restored, json_string(other));
				}
			}
			char what[200];
			snprintf(what, sizeof(what), "chunk %s: restoring %s", w->df.units[target].label, name);
			json_t *r = walk_request(w, proto_pack(err, w->doc->path, w->df.units[target].line, what,
							       "{s:s, s:o, s:O}", "op", "restore", "items", items,
							       "fds", fds), err);
			close_fds(fds, 0);
			if (!r) {
				json_decref(fds);
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
				json_decref(fds);
				json_decref(r);
				return 0;
			}
			weft_warn(w->doc->path, w->df.units[target].line,
				  "could not restore %s from the cache (%s); re-running chunk %s", name, why,
				  w->df.units[target].label);
			json_decref(r);
		}
	}
	json_decref(fds);
	/* Not saved (unpicklable, uncached chunk, bad blob): rebuild by replaying. */
	if (restore_replay(w, (size_t)target, err) < 0)
		return -1;
	json_t *now = json_object_get(w->live, name);
	if (!now || json_integer_value(now) != target) {
		/* The replay did not bind it (nondeterministic chunk): make it undefined. */
		json_object_set_new(w->live, name, json_integer(target));
	}
	return 0;
}

/* See restore.h. */
int restore_rng_of(struct walk *w, int rw, struct weft_error *err)
{
	if (rw < 0 || rw == w->live_rng)
		return 0;
	const char *blob = w->meta[rw] ? json_string_value(json_object_get(w->meta[rw], "rng_out")) : NULL;
	int fd = blob ? store_blob_open(w->store, blob) : -1;
	if (fd >= 0) {
		char what[200];
		snprintf(what, sizeof(what), "chunk %s: restoring the random state", w->df.units[rw].label);
		json_t *r = walk_request(w, proto_pack(err, w->doc->path, w->df.units[rw].line, what,
						       "{s:s, s:[i], s:i}", "op", "rng_set", "fds", fd, "fd", 0),
					 err);
		close(fd);
		if (!r)
			return -1;
		json_decref(r);
		w->live_rng = rw;
		return 0;
	}
	return restore_replay(w, (size_t)rw, err);
}

/* Make every name in `deps` (name -> writer) live at its writer's version. */
int restore_deps(struct walk *w, const json_t *deps, struct weft_error *err)
{
	const char *name;
	json_t *wi;
	json_object_foreach((json_t *)deps, name, wi) {
		if (restore_version(w, name, (int)json_integer_value(wi), err) < 0)
			return -1;
	}
	return 0;
}

/*
 * Re-run unit t only to rebuild names that could not be restored: its inputs
 * are put at the versions it saw, its outputs are discarded.
 */
int restore_replay(struct walk *w, size_t t, struct weft_error *err)
{
	struct unit *u = &w->df.units[t];
	if (w->replaying[t])
		return weft_error_set(err, w->doc->path, u->line, 0,
				      "cache: cyclic replay of chunk %s", u->label);
	w->replaying[t] = true;
	int rc = -1;
	/* The inputs it saw, all at once, and the random state it started from. */
	if (unitkeys_restore_inputs(w, u->deps, (int)t, err) < 0)
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
		rc = walk_run_code(w, t, false, NULL, &scratch, &record, err);
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
		rc = walk_run_code(w, t, true, reads, &scratch, &record, err);
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
		struct chunk_outcome *o = walk_outcome(w, t);
		if (o && o->state == CHUNK_CACHED)
			o->state = CHUNK_REPLAYED;
	}
	json_decref(record);
	chunk_outcome_free(&scratch);
out:
	w->replaying[t] = false;
	return rc;
}
