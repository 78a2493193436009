/* unitkeys: keys per position and source text, tracked inline spans, replay inputs; see unitkeys.h. */
#include "planner/unitkeys.h"

#include <stdlib.h>
#include <string.h>

#include "engine/protocol.h"
#include "planner/restore.h"
#include "planner/settings.h"
#include "util/hash.h"

/* Hard cap on restore passes: each pass that moves something replayed a chunk. */
#define MAX_RESTORE_PASSES 8

/* Register the lines of evaluated units [from, ui) in the worker; see unitkeys.h. */
int unitkeys_register_lines(struct walk *w, size_t ui, struct weft_error *err)
{
	/*
	 * The units registered are always the first ones (each call covers all
	 * units before it): only those after the last registered one are
	 * looked at, so a render of N units does this in N steps, not N^2/2.
	 */
	size_t from = ui;
	while (from > 0 && !w->lines_sent[from - 1])
		from--;
	json_t *units = json_array();
	for (size_t j = from; j < ui; j++) {
		const struct unit *o = &w->df.units[j];
		/* A unit that is not valid UTF-8 never ran (it fails as a SyntaxError): no lines. */
		if (!o->evaluate || w->lines_sent[j] || proto_utf8_invalid(o->code, strlen(o->code)) >= 0)
			continue;
		/* chunk and term: how many cells a kernel's history counts for it (kernel_runtime.h) */
		bool chunk = o->kind == UNIT_CHUNK;
		json_t *one = proto_pack(err, w->doc->path, o->line, o->label, "{s:s, s:i, s:b, s:b}", "code", o->code,
					 "line", o->line, "chunk", chunk, "term", chunk && o->chunk->opts.term);
		if (!one || json_array_append_new(units, one) < 0) {
			json_decref(units);
			return -1;
		}
	}
	if (json_array_size(units)) {
		json_t *r = walk_request(w, proto_pack(err, w->doc->path, 0, "cache: document lines", "{s:s, s:o}",
						       "op", "doc_lines", "units", units), err);
		if (!r)
			return -1;
		json_decref(r);
	} else {
		json_decref(units);
	}
	/* those with no lines to register (not evaluated, not UTF-8) count as done too */
	for (size_t j = from; j < ui; j++)
		w->lines_sent[j] = true;
	return 0;
}

/* The layout hash unit ui's entry recorded, or NULL when its output showed no document line. */
static const char *meta_layout(const json_t *meta)
{
	return json_string_value(json_object_get(meta, "layout"));
}

/* See unitkeys.h. */
int unitkeys_entry_valid(struct walk *w, size_t ui, const json_t *meta, struct strbuf *why)
{
	const char *old = meta_layout(meta);
	if (!old)
		return 1;
	char cur[HASH_HEX_SIZE];
	dataflow_layout(&w->df, ui, cur);
	if (!strcmp(old, cur))
		return 1;
	strbuf_addstr(why, "its output shows document lines, which moved or changed above it");
	return 0;
}

/* See unitkeys.h. */
void unitkeys_after_run(struct walk *w, size_t ui, const json_t *rec)
{
	struct unit *u = &w->df.units[ui];
	if (!u->state_known || !json_is_true(json_object_get(rec, "source_lines")))
		return;
	char layout[HASH_HEX_SIZE];
	dataflow_layout(&w->df, ui, layout);
	dataflow_mix_state(&w->df, ui, layout);
}

/*
 * What a unit that showed document lines adds to its state key: the contents
 * of what it left (saved names' blob hashes, names deleted, the random state
 * after it), so a reader below still hits when only the lines moved and the
 * values are the same (a function's pickle holds its line numbers, so it
 * differs). The layout itself when some name could not be saved. New string.
 */
static char *content_mix(struct walk *w, size_t ui, const json_t *meta)
{
	char out[HASH_HEX_SIZE];
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, "content-1");
	const json_t *names = json_object_get(meta, "names");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(meta, "writes"), i, v) {
		const char *name = json_string_value(v);
		if (!name)
			continue;
		hasher_update_str(&h, name);
		if (!strcmp(name, DATAFLOW_RNG)) {
			const char *rng = json_string_value(json_object_get(meta, "rng_out"));
			if (!rng)
				goto layout;
			hasher_update_str(&h, rng);
			continue;
		}
		const json_t *rec = json_object_get(names, name);
		if (!rec) {
			hasher_update_str(&h, "deleted"); /* not saved: deleted (else entry_store would have it) */
			bool deleted = false;
			size_t k;
			json_t *d;
			json_array_foreach(json_object_get(meta, "deleted"), k, d)
				if (json_is_string(d) && !strcmp(json_string_value(d), name))
					deleted = true;
			if (!deleted)
				goto layout;
			continue;
		}
		const char *pickle = json_string_value(json_object_get(rec, "pickle"));
		if (json_is_true(json_object_get(rec, "unsaveable")))
			goto layout;
		if (!pickle) {
			/* Saved by description (a module by its name): the record is the value. */
			char *text = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT);
			if (!text)
				goto layout;
			hasher_update_str(&h, text);
			free(text);
			continue;
		}
		hasher_update_str(&h, pickle);
		size_t k;
		json_t *b;
		json_array_foreach(json_object_get(rec, "buffers"), k, b)
			hasher_update_str(&h, json_string_value(b));
	}
	hasher_final_hex(&h, out);
	return xstrdup(out);
layout:
	hasher_final_hex(&h, out); /* finish the hasher; the layout is the mix */
	dataflow_layout(&w->df, ui, out);
	return xstrdup(out);
}

/* See unitkeys.h. */
void unitkeys_annotate(struct walk *w, size_t ui, const json_t *rec, json_t *meta)
{
	struct unit *u = &w->df.units[ui];
	if (json_is_true(json_object_get(rec, "source_lines"))) {
		char layout[HASH_HEX_SIZE];
		dataflow_layout(&w->df, ui, layout);
		json_object_set_new(meta, "layout", json_string(layout));
		/* The state key again, with the contents instead of the layout mixed in. */
		char *mix = content_mix(w, ui, meta);
		dataflow_set_state(&w->df, ui, json_object_get(meta, "files_read"),
				   json_string_value(json_object_get(meta, "rng_in")));
		dataflow_mix_state(&w->df, ui, mix);
		json_object_set_new(meta, "state_mix", json_string(mix));
		json_object_set_new(meta, "state_key", json_string(u->state_key));
		free(mix);
	}
	json_object_set_new(meta, "occurrence", json_integer(dataflow_occurrence(&w->df, ui)));
	bool with_line;
	if (dataflow_source_keyed(u, &with_line)) {
		char raw[HASH_HEX_SIZE];
		hash_blake2b_hex(u->code, strlen(u->code), raw);
		json_object_set_new(meta, "raw", json_string(raw));
		if (with_line)
			json_object_set_new(meta, "line", json_integer(u->line));
	}
}

/* See unitkeys.h. */
void unitkeys_apply_hit(struct walk *w, size_t ui, const json_t *meta)
{
	if (!meta_layout(meta))
		return;
	const char *mix = json_string_value(json_object_get(meta, "state_mix"));
	dataflow_mix_state(&w->df, ui, mix ? mix : meta_layout(meta));
}

/* See unitkeys.h. */
int unitkeys_explain_miss(struct walk *w, size_t ui, const json_t *meta, struct strbuf *why)
{
	const struct unit *u = &w->df.units[ui];
	bool with_line;
	if (dataflow_source_keyed(u, &with_line)) {
		char raw[HASH_HEX_SIZE];
		hash_blake2b_hex(u->code, strlen(u->code), raw);
		const char *old = json_string_value(json_object_get(meta, "raw"));
		if (!old || strcmp(old, raw)) {
			strbuf_addstr(why, u->kind == UNIT_CHUNK && u->chunk->opts.term
						   ? "source text changed (term=True shows it)"
						   : "source text changed (it defines code, whose source and lines show)");
			return 1;
		}
		const json_t *line = json_object_get(meta, "line");
		if (with_line && (!line || json_integer_value(line) != u->line)) {
			strbuf_addf(why, "moved to line %d (it defines code, whose line numbers show)", u->line);
			return 1;
		}
	}
	const json_t *occ = json_object_get(meta, "occurrence");
	if (occ && json_integer_value(occ) != dataflow_occurrence(&w->df, ui)) {
		strbuf_addstr(why, "an identical chunk was added or removed above it");
		return 1;
	}
	return 0;
}

/* See unitkeys.h. */
int unitkeys_track_begin(struct walk *w, const json_t *reads, struct weft_error *err)
{
	struct proto_req pr;
	proto_req_init(&pr, "track_begin");
	proto_req_json(&pr, "reads", reads ? json_copy((json_t *)reads) : json_array());
	if (w->store)
		proto_req_str(&pr, "cache_dir", store_dir(w->store));
	json_t *req = proto_req_finish(&pr, w->doc->path, 0, "inline tracking", err);
	if (!req)
		return -1;
	json_t *r = walk_request(w, req, err);
	if (!r)
		return -1;
	json_decref(r);
	return 0;
}

/* See unitkeys.h. */
json_t *unitkeys_track_end(struct walk *w, struct weft_error *err)
{
	json_t *r = walk_request(w, proto_pack(err, w->doc->path, 0, "cache: tracking", "{s:s}", "op", "track_end"),
				 err);
	if (!r)
		return NULL;
	json_t *rec = json_incref(json_object_get(r, "tracked"));
	json_decref(r);
	if (!json_is_object(rec)) {
		json_decref(rec);
		weft_error_set(err, w->doc->path, 0, 0, "inline tracking gave no record");
		return NULL;
	}
	if (proto_check_track(rec, err) < 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/* Does unit t's write set include the random state? */
static bool writes_rng(const struct unit *u)
{
	size_t i;
	json_t *v;
	json_array_foreach(u->writes, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), DATAFLOW_RNG))
			return true;
	return false;
}

/*
 * The unit whose random state must be live: for a unit about to run, the
 * current writer; for a replay of t that drew numbers, the last unit before t
 * that changed the state. -1: none to put (initial state, or no draws).
 */
static int rng_target(const struct walk *w, int replay_of)
{
	if (replay_of < 0)
		return dataflow_writer(&w->df, DATAFLOW_RNG);
	if (!writes_rng(&w->df.units[replay_of]))
		return -1; /* it drew no random number: any state will do */
	int before = -1;
	for (int j = 0; j < replay_of; j++)
		if (w->df.units[j].evaluate && writes_rng(&w->df.units[j]))
			before = j;
	return before;
}

/* Does `deps` (name -> writer) hold in the worker now? Names out of place go to `moved`. */
static bool inputs_hold(const struct walk *w, const json_t *deps, int replay_of, struct strbuf *moved)
{
	bool ok = true;
	const char *name;
	json_t *wi;
	json_object_foreach((json_t *)deps, name, wi) {
		json_int_t target = json_integer_value(wi);
		const json_t *cur = json_object_get(w->live, name);
		bool holds = target < 0 ? (!cur || json_integer_value(cur) < 0)
					: (cur && json_integer_value(cur) == target);
		if (!holds) {
			if (moved)
				strbuf_addf(moved, "%s%s", ok ? "" : ", ", name);
			ok = false;
		}
	}
	int rw = rng_target(w, replay_of);
	if (rw >= 0 && rw != w->live_rng) {
		if (moved)
			strbuf_addf(moved, "%s%s", ok ? "" : ", ", "the random state");
		ok = false;
	}
	return ok;
}

/* See unitkeys.h. */
int unitkeys_restore_inputs(struct walk *w, const json_t *deps, int replay_of, struct weft_error *err)
{
	for (int pass = 0; pass < MAX_RESTORE_PASSES; pass++) {
		if (deps && restore_deps(w, deps, err) < 0)
			return -1;
		/* process-wide settings after the names (a replay for a name may change them) */
		if (settings_sync(w, deps, err) < 0)
			return -1;
		if (restore_rng_of(w, rng_target(w, replay_of), err) < 0)
			return -1;
		if (inputs_hold(w, deps, replay_of, NULL))
			return 0;
	}
	struct strbuf moved;
	strbuf_init(&moved);
	inputs_hold(w, deps, replay_of, &moved);
	weft_error_set(err, w->doc->path, 0, 0,
		       "cache: cannot rebuild %s together (replaying one chunk undoes another); "
		       "run with --no-cache or --rebuild", moved.buf);
	strbuf_free(&moved);
	return -1;
}
