/* settings: process-wide settings as pseudo-names; see settings.h. */
#include "planner/settings.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/protocol.h"
#include "planner/entry.h"
#include "planner/restore.h"
#include "planner/walk.h"

/* Memo namespace of what cache=False units wrote (for --frozen). */
#define SETTINGS_MEMO "settings-1"

bool settings_is_pseudo(const char *name)
{
	return name && !strncmp(name, SETTINGS_PREFIX, sizeof(SETTINGS_PREFIX) - 1);
}

void settings_add_reads(const struct dataflow *df, json_t *set)
{
	const char *name;
	json_t *v;
	json_object_foreach(df->setting_writers, name, v)
		json_object_set_new(set, name, json_true());
}

const char *settings_value(const struct dataflow *df, int writer, const char *name)
{
	if (writer < 0 || !settings_is_pseudo(name))
		return NULL;
	return json_string_value(json_object_get(df->units[writer].settings, name));
}

bool settings_hash_dep(const struct dataflow *df, int writer, const char *name, struct hasher *h)
{
	const char *value = settings_value(df, writer, name);
	if (!value)
		return false;
	hasher_update_str(h, "setting value");
	hasher_update_str(h, value);
	return true;
}

/* Set unit ui's settings from {name: hash|null} and append the names to writes. */
static void take_settings(struct unit *u, const json_t *values, json_t *writes)
{
	json_decref(u->settings);
	u->settings = json_object();
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)values, name, v) {
		if (!settings_is_pseudo(name))
			continue;
		json_object_set_new(u->settings, name, json_is_string(v) ? json_incref(v) : json_null());
		if (writes)
			json_array_append_new(writes, json_string(name));
	}
}

void settings_record_run(struct walk *w, size_t ui, const json_t *record, json_t *writes)
{
	struct unit *u = &w->df.units[ui];
	const json_t *values = json_object_get(record, "settings");
	if (!json_is_object(values))
		return;
	take_settings(u, values, writes);
	if (!u->cached && u->key_known && w->store && json_object_size(u->settings))
		store_memo_put(w->store, SETTINGS_MEMO, u->key, u->settings, NULL);
}

void settings_frozen_writes(struct walk *w, size_t ui, json_t *writes)
{
	struct unit *u = &w->df.units[ui];
	json_t *memo = NULL;
	if (!u->key_known || !w->store || store_memo_get(w->store, SETTINGS_MEMO, u->key, &memo, NULL) != 1)
		return;
	take_settings(u, memo, writes);
	json_decref(memo);
}

json_t *settings_save(struct walk *w, size_t ui, json_t *blobs)
{
	struct unit *u = &w->df.units[ui];
	if (!json_object_size(u->settings))
		return NULL;
	json_t *names = json_array();
	const char *name;
	json_t *v;
	json_object_foreach(u->settings, name, v)
		json_array_append_new(names, json_string(name));
	struct weft_error err;
	weft_error_init(&err);
	char what[200];
	snprintf(what, sizeof(what), "chunk %s: saving its settings", u->label);
	json_t *reply = walk_request(w, proto_pack(&err, w->doc->path, u->line, what, "{s:s, s:o, s:s, s:b}", "op",
						   "settings_save", "names", names, "dir", store_tmp_dir(w->store),
						   "fsync", 0), &err);
	const json_t *items = reply ? json_object_get(reply, "items") : NULL;
	json_t *out = json_object();
	json_object_foreach(u->settings, name, v) {
		const json_t *it = json_object_get(items, name);
		const char *path = json_string_value(json_object_get(it, "path"));
		json_t *rec = json_pack("{s:O}", "hash", v);
		char h[STORE_HASH_SIZE];
		if (json_is_true(json_object_get(it, "pristine"))) {
			json_object_set_new(rec, "pristine", json_true());
		} else if (path && entry_put_saved_file(w->store, path, json_object_get(it, "hash"), h, &err) == 0) {
			json_object_set_new(rec, "blob", json_string(h));
			json_array_append_new(blobs, json_string(h));
		} else {
			const char *why = json_string_value(json_object_get(it, "unsaveable"));
			/* err's text may name a path that is not UTF-8: the mark itself is never dropped */
			if (json_object_set_new(rec, "unsaveable", json_string(why ? why : err.msg.len ? err.msg.buf
											  : "not saved")) < 0)
				json_object_set_new(rec, "unsaveable", json_string("not saved"));
			weft_error_clear(&err);
		}
		json_object_set_new(out, name, rec);
	}
	json_decref(reply);
	weft_error_free(&err);
	return out;
}

void settings_apply_hit(struct walk *w, size_t ui, const json_t *meta)
{
	struct unit *u = &w->df.units[ui];
	json_t *values = json_object();
	const char *name;
	json_t *rec;
	json_object_foreach((json_t *)json_object_get(meta, "settings"), name, rec)
		json_object_set(values, name, json_object_get(rec, "hash") ?: json_null());
	/* A setting in the entry's writes with no record: no value hash (state key). */
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(meta, "writes"), i, v)
		if (settings_is_pseudo(json_string_value(v)) && !json_object_get(values, json_string_value(v)))
			json_object_set_new(values, json_string_value(v), json_null());
	take_settings(u, values, NULL);
	json_decref(values);
}

/* Replay unit t to rebuild its value of setting `name` (one that could not be saved). */
static int replay_for(struct walk *w, const char *name, int target, struct weft_error *err)
{
	if (restore_replay(w, (size_t)target, err) < 0)
		return -1;
	json_object_set_new(w->live, name, json_integer(target));
	return 0;
}

/*
 * The file holding unit target's saved value of `name`: 1 with it open in
 * *fd (verified, store_blob_open; the caller closes it), 0 for a fresh
 * worker's value (target -1, or saved as "pristine"), -1 when there is none
 * (not saved, uncached unit, bad blob).
 */
static int saved_value(struct walk *w, const char *name, int target, int *fd)
{
	if (target < 0)
		return 0;
	const json_t *rec = w->meta[target] ? json_object_get(json_object_get(w->meta[target], "settings"), name)
					    : NULL;
	if (json_is_true(json_object_get(rec, "pristine")))
		return 0;
	const char *blob = json_string_value(json_object_get(rec, "blob"));
	/* the verified file itself goes to the worker, never a path that could be replaced meanwhile */
	*fd = blob ? store_blob_open(w->store, blob) : -1;
	return *fd >= 0 ? 1 : -1;
}

/*
 * One pass of settings_sync; sets *changed when some setting was not in
 * place. Values that must be rebuilt are replayed first; the rest go in one
 * request, which the worker applies in its registry order (the working
 * directory and sys.path before the modules that may need them).
 */
static int sync_pass(struct walk *w, const json_t *deps, bool *changed, struct weft_error *err)
{
	json_t *todo = json_object();
	const char *name;
	json_t *v;
	/*
	 * Settings live now that the unit does not read go back to the fresh
	 * worker's value. A setting is live at a unit's value only after some
	 * unit wrote it (dataflow_record_writes), so the settings written so far
	 * are all there is to look at, not every live name.
	 */
	json_object_foreach(w->df.setting_writers, name, v) {
		const json_t *cur = json_object_get(w->live, name);
		if (cur && json_integer_value(cur) >= 0 && !json_object_get(deps, name))
			json_object_set_new(todo, name, json_integer(-1));
	}
	json_object_foreach((json_t *)deps, name, v)
		if (settings_is_pseudo(name))
			json_object_set(todo, name, v);
	json_t *items = json_array(), *targets = json_object(), *fds = json_array();
	int rc = 0;
	json_object_foreach(todo, name, v) {
		int target = (int)json_integer_value(v);
		const json_t *cur = json_object_get(w->live, name);
		if (target < 0 ? !cur || json_integer_value(cur) < 0 : cur && json_integer_value(cur) == target)
			continue;
		*changed = true;
		int fd = -1;
		int saved = saved_value(w, name, target, &fd);
		if (saved < 0) {
			if ((rc = replay_for(w, name, target, err)) < 0)
				break;
			continue;
		}
		if (saved && json_array_append_new(fds, json_integer(fd)) < 0) {
			close(fd);
			rc = weft_error_set(err, w->doc->path, 0, 0, "%s: cannot list its saved value", name);
			break;
		}
		json_t *it = saved ? proto_pack(err, w->doc->path, 0, name, "{s:s, s:I}", "name", name, "fd",
						(json_int_t)json_array_size(fds) - 1)
				   : proto_pack(err, w->doc->path, 0, name, "{s:s}", "name", name);
		if (!it || json_array_append_new(items, it) < 0) {
			rc = -1; /* never a setting silently left out */
			break;
		}
		json_object_set(targets, name, v);
	}
	if (rc == 0 && json_array_size(items)) {
		json_t *r = walk_request(w, proto_pack(err, w->doc->path, 0, "cache: putting settings back",
						       "{s:s, s:O, s:O}", "op", "settings_apply", "items", items,
						       "fds", fds), err);
		if (!r) {
			rc = -1;
		} else {
			const json_t *errors = json_object_get(r, "errors");
			json_object_foreach(targets, name, v) {
				int target = (int)json_integer_value(v);
				const char *why = json_string_value(json_object_get(errors, name));
				if (!why) {
					if (target < 0)
						json_object_del(w->live, name);
					else
						json_object_set_new(w->live, name, json_integer(target));
					continue;
				}
				int line = target >= 0 ? w->df.units[target].line : 0;
				weft_warn(w->doc->path, line, "could not put setting %s back (%s)%s", name, why,
					  target >= 0 ? "; replaying the chunk that made it" : "");
				if (target >= 0 && (rc = replay_for(w, name, target, err)) < 0)
					break;
				if (target < 0)
					json_object_del(w->live, name);
			}
			json_decref(r);
		}
	}
	json_decref(items);
	json_decref(targets);
	for (size_t i = 0; i < json_array_size(fds); i++)
		close((int)json_integer_value(json_array_get(fds, i)));
	json_decref(fds);
	json_decref(todo);
	return rc;
}

int settings_sync(struct walk *w, const json_t *deps, struct weft_error *err)
{
	/* A replay made for one setting may change another set before it: pass again. */
	for (int pass = 0; pass < 4; pass++) {
		bool changed = false;
		if (sync_pass(w, deps, &changed, err) < 0)
			return -1;
		if (!changed)
			return 0;
	}
	return 0;
}
