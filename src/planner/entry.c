/* entry: storing, checking, applying and explaining cache entries; see entry.h. */
#include "planner/entry.h"
#include "planner/unitkeys.h"
#include "planner/inputs.h"
#include "planner/rundefaults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/protocol.h"
#include "planner/settings.h"
#include "util/fsutil.h"
#include "util/hash.h"

/* Version of the entry metadata layout. */
#define META_VERSION 1

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
int entry_valid(struct walk *w, const json_t *meta, struct strbuf *why)
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
	/* listings, existence checks, environment, cwd; a volatile entry never holds */
	if (!inputs_valid(w, meta, why))
		return 0;
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
	return 1;
}

/* Explain why unit ui misses, comparing with the chunk's latest entry. */
void entry_explain_miss(struct walk *w, size_t ui, struct strbuf *why)
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
	} else if (unitkeys_explain_miss(w, ui, m, why)) {
		/* position or source text: unitkeys wrote the reason */
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
			const char *value = settings_value(&w->df, wr, name);
			if (value) {
				/* A setting is keyed on its value: only a new value counts. */
				const char *oldvalue = json_string_value(json_object_get(od, "value"));
				if (oldvalue && !strcmp(oldvalue, value))
					continue;
				strbuf_addf(why, "setting %.*s (made by chunk %s) changed",
					    (int)(strlen(name) - strlen(SETTINGS_PREFIX) - 1), name + strlen(SETTINGS_PREFIX),
					    w->df.units[wr].label);
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
		if (!why->len && !entry_valid(w, m, why))
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

/* Add hash to the list of blobs an entry references. 0, or -1 (out of memory). */
static int blobs_add(json_t *blobs, const char *hash)
{
	return json_array_append_new(blobs, json_string(hash));
}

/* See entry.h. */
int entry_put_saved_file(struct store *st, const char *path, const json_t *hash, char h[STORE_HASH_SIZE],
			 struct weft_error *err)
{
	const char *known = json_string_value(hash);
	if (!known || !hash_is_hex(known, STORE_HASH_SIZE - 1))
		return store_blob_put_file(st, path, h, err);
	if (store_blob_adopt(st, path, known, err) < 0)
		return -1;
	snprintf(h, STORE_HASH_SIZE, "%s", known);
	return 0;
}

/*
 * Save the names unit ui wrote: one `save` request, then each file moved into
 * the blob store. Returns the "names" object for the entry (new reference).
 */
static json_t *save_names(struct walk *w, size_t ui, const json_t *names, json_t *blobs, struct weft_error *err)
{
	json_t *out = json_object();
	if (!json_array_size(names))
		return out;
	const struct unit *u = &w->df.units[ui];
	char what[200];
	snprintf(what, sizeof(what), "chunk %s: saving its names", u->label);
	/* "fsync": false: the store syncs the files itself when it publishes them as blobs. */
	json_t *reply = walk_request(w, proto_pack(err, w->doc->path, u->line, what, "{s:s, s:O, s:s, s:b}", "op",
						   "save", "names", names, "dir", store_tmp_dir(w->store), "fsync",
						   0), err);
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
		json_object_del(rec, "hashes");
		const char *pickle = json_string_value(json_object_get(it, "pickle"));
		if (pickle) {
			/* the worker's hashes of the files, pickle first, when it computed them */
			json_t *hashes = json_object_get(it, "hashes");
			if (json_array_size(hashes) != 1 + json_array_size(json_object_get(it, "buffers")))
				hashes = NULL;
			char h[STORE_HASH_SIZE];
			if (entry_put_saved_file(w->store, pickle, json_array_get(hashes, 0), h, err) < 0) {
				unlink(pickle);
				json_decref(rec);
				json_decref(reply);
				json_decref(out);
				return NULL;
			}
			bool ok = json_object_set_new(rec, "pickle", json_string(h)) == 0 && blobs_add(blobs, h) == 0;
			json_t *bufs = json_array();
			size_t k;
			json_t *b;
			json_array_foreach(json_object_get(it, "buffers"), k, b) {
				if (entry_put_saved_file(w->store, json_string_value(b), json_array_get(hashes, k + 1), h,
						   err) < 0) {
					json_decref(bufs);
					json_decref(rec);
					json_decref(reply);
					json_decref(out);
					return NULL;
				}
				ok = ok && json_array_append_new(bufs, json_string(h)) == 0 && blobs_add(blobs, h) == 0;
			}
			if (!ok || json_object_set_new(rec, "buffers", bufs) < 0) {
				/* an entry listing less than was saved would restore less: no entry */
				weft_error_set(err, w->doc->path, u->line, 0, "cache: cannot record how %s of chunk %s "
					       "was saved", name, u->label);
				if (!ok)
					json_decref(bufs);
				json_decref(rec);
				json_decref(reply);
				json_decref(out);
				return NULL;
			}
		}
		json_object_set_new(out, name, rec);
	}
	json_decref(reply);
	return out;
}

/*
 * Say which names of unit ui weft refused to save because saving would run
 * the document's code or a restore would not give them back as they are
 * (weft_fidelity): they are rebuilt by replaying the chunk instead.
 */
static void entry_warn_unfaithful(const struct walk *w, size_t ui, const json_t *names)
{
	const struct unit *u = &w->df.units[ui];
	const char *name;
	json_t *rec;
	json_object_foreach((json_t *)names, name, rec) {
		if (json_is_true(json_object_get(rec, "fidelity")))
			weft_warn(w->doc->path, u->line, "chunk %s: %s is not cached (%s); a chunk that needs it "
				  "replays chunk %s", u->label, name,
				  json_string_value(json_object_get(rec, "reason")) ?: "", u->label);
	}
}

/* Save the random state after unit ui into a blob; returns its hash or NULL. */
static char *save_rng(struct walk *w, size_t ui, json_t *blobs, struct weft_error *err)
{
	const struct unit *u = &w->df.units[ui];
	char what[200];
	snprintf(what, sizeof(what), "chunk %s: saving the random state", u->label);
	json_t *reply = walk_request(w, proto_pack(err, w->doc->path, u->line, what, "{s:s, s:s, s:b}", "op",
						   "rng_get", "dir", store_tmp_dir(w->store), "fsync", 0), err);
	if (!reply)
		return NULL;
	const char *path = json_string_value(json_object_get(reply, "path"));
	char h[STORE_HASH_SIZE];
	char *res = NULL;
	if (path && store_blob_put_file(w->store, path, h, err) == 0) {
		if (blobs_add(blobs, h) == 0)
			res = xstrdup(h);
		else
			weft_error_set(err, w->doc->path, u->line, 0, "cache: cannot list the random state of chunk %s",
				       u->label);
	}
	json_decref(reply);
	return res;
}

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
			/* its folder may be gone: the chunk made it, or found it, in a fresh run */
			if (inputs_make_parents(path, &err) < 0 || fs_write_atomic(path, data.buf, data.len, &err) < 0)
				weft_warn(w->doc->path, w->df.units[ui].line, "%s", weft_error_text(&err));
		}
		weft_error_free(&err);
		strbuf_free(&data);
	}
	strbuf_free(&file);
}

/* See entry.h. */
json_t *entry_outputs_load(struct walk *w, const json_t *meta)
{
	const char *ohash = json_string_value(json_object_get(meta, "outputs"));
	struct strbuf data;
	strbuf_init(&data);
	if (!ohash || store_blob_read(w->store, ohash, &data, NULL) != 1) {
		strbuf_free(&data);
		return NULL;
	}
	/* NUL bytes are data in outputs (a chunk printed one); as the fresh run kept them */
	json_t *doc = json_loadb(data.buf, data.len, JSON_ALLOW_NUL, NULL);
	strbuf_free(&data);
	return doc;
}

/* Take unit ui's results from entry `meta`. Returns 1 used, 0 unusable (a miss). */
int entry_apply_hit(struct walk *w, size_t ui, json_t *meta, enum chunk_state state)
{
	struct unit *u = &w->df.units[ui];
	json_t *doc = entry_outputs_load(w, meta);
	if (!doc)
		return 0;
	if (u->kind == UNIT_INLINE) {
		struct inline_outcome *io = &w->res->inl[u->seg->inline_index];
		const json_t *text = json_object_get(doc, "text");
		strbuf_reset(&io->text);
		strbuf_add(&io->text, json_is_string(text) ? json_string_value(text) : "",
			   json_is_string(text) ? json_string_length(text) : 0);
		io->done = true;
		io->status = RUN_OK;
	} else {
		struct chunk_outcome *o = walk_outcome(w, ui);
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
	if (!u->state_known) {
		dataflow_set_state(&w->df, ui, json_object_get(meta, "files_read"),
				   json_string_value(json_object_get(meta, "rng_in")));
		unitkeys_apply_hit(w, ui, meta);
		inputs_mix_state(w, ui, meta, false);
	}
	dataflow_record_writes(&w->df, ui, writes);
	settings_apply_hit(w, ui, meta);
	rundefaults_apply_hit(w, ui, meta);
	inputs_apply_fs_ops(w, ui, meta); /* deletions and folders made, in order, then its files */
	restore_written_files(w, ui, meta);
	json_decref(w->meta[ui]);
	w->meta[ui] = json_incref(meta);
	return 1;
}

/* Fingerprints of files read, as {entry path: text}. Unreadable files are dropped. */
json_t *entry_fingerprint_files(const struct walk *w, const json_t *paths)
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
	/* Checked builds (NULL on any failure, never a dropped field); text by length: NUL is data. */
	if (u->kind == UNIT_INLINE) {
		const struct strbuf *t = &w->res->inl[u->seg->inline_index].text;
		json_t *text = json_stringn(t->buf, t->len);
		return text ? json_pack("{s:o}", "text", text) : NULL;
	}
	const struct chunk_outcome *o = walk_outcome(w, ui);
	json_t *st = json_array();
	for (size_t i = 0; i < o->nstatements; i++) {
		json_t *src = json_string(o->statements[i].source);
		json_t *item = src ? json_pack("{s:o, s:i}", "source", src, "line", o->statements[i].line) : NULL;
		if (!item || json_array_append_new(st, item) < 0) {
			json_decref(st);
			return NULL;
		}
	}
	json_t *outs = output_list_to_json(&o->outputs, true);
	return outs ? json_pack("{s:o, s:o}", "outputs", outs, "statements", st) : (json_decref(st), NULL);
}

/* A chunk that ran fine must not fail the render because it could not be cached: a warning. */
static void warn_not_cached(const struct walk *w, size_t ui, const struct weft_error *err)
{
	const struct unit *u = &w->df.units[ui];
	weft_warn(w->doc->path, u->line, "chunk %s not cached: %s", u->label, err->msg.buf);
}

/* See entry.h. */
void entry_write_pending(void *walk)
{
	struct walk *w = walk;
	struct pending_entry *p = &w->pending;
	if (!p->meta)
		return;
	const struct unit *u = &w->df.units[p->ui];
	size_t nb = json_array_size(p->blobs);
	const char **bl = xcalloc(nb ? nb : 1, sizeof(char *));
	for (size_t k = 0; k < nb; k++)
		bl[k] = json_string_value(json_array_get(p->blobs, k));
	struct weft_error err;
	weft_error_init(&err);
	if (store_entry_put(w->store, u->key, p->meta, bl, nb, w->doc_id, u->label, p->seconds, &err) < 0) {
		warn_not_cached(w, p->ui, &err);
		json_decref(w->meta[p->ui]);
		w->meta[p->ui] = NULL;
	}
	weft_error_free(&err);
	free(bl);
	json_decref(p->meta);
	json_decref(p->blobs);
	*p = (struct pending_entry){0};
}

/*
 * A rebuild ran unit ui although downstream entries may chain on its state key
 * (the clock, the network: it may have made other values than last time).
 * Keep the state key when the names it saved are the ones its previous entry
 * holds, so readers of unchanged values still hit; else mix what it saved in.
 * A name it could not save may have changed unseen: the state key is then new.
 */
static void settle_rebuilt_state(struct walk *w, size_t ui, const json_t *names)
{
	struct unit *u = &w->df.units[ui];
	const char *name;
	json_t *rec;
	json_object_foreach((json_t *)names, name, rec)
		if (json_is_true(json_object_get(rec, "unsaveable"))) {
			dataflow_mix_unique(&w->df, ui);
			return;
		}
	json_t *old = NULL;
	bool same = store_entry_get(w->store, u->key, &old, NULL) == 1 &&
		    !strcmp(json_string_value(json_object_get(old, "state_key")) ?: "", u->state_key) &&
		    json_equal(json_object_get(old, "names"), (json_t *)names);
	json_decref(old);
	if (same)
		return;
	char *text = json_dumps(names, JSON_COMPACT | JSON_SORT_KEYS);
	if (text)
		dataflow_mix_state(&w->df, ui, text);
	else
		dataflow_mix_unique(&w->df, ui);
	free(text);
}

/* See entry.h. */
void entry_store(struct walk *w, size_t ui, const json_t *rec, const json_t *files_read,
		 const char *rng_in, bool rng_changed, double seconds)
{
	struct weft_error error;
	weft_error_init(&error);
	struct weft_error *err = &error;
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
	json_t *names = save_names(w, ui, to_save, blobs, err);
	json_decref(to_save);
	if (!names)
		goto out;
	entry_warn_unfaithful(w, ui, names);
	if (walk_rebuild_requested(w, u))
		settle_rebuilt_state(w, ui, names);

	json_t *written = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(rec, "files_written"), i, v) {
		char h[STORE_HASH_SIZE];
		if (blob_from_file(w, json_string_value(v), h, err) == 0) {
			if (json_object_set_new(written, path_for_entry(w, json_string_value(v)), json_string(h)) < 0 ||
			    blobs_add(blobs, h) < 0) {
				/* a written file the entry does not list would not be put back: no entry */
				weft_error_set(err, w->doc->path, u->line, 0, "cache: cannot record file %s written "
					       "by chunk %s", json_string_value(v), u->label);
				json_decref(written);
				json_decref(names);
				goto out;
			}
		} else {
			weft_error_clear(err);
		}
	}
	char *rng_out = rng_changed ? save_rng(w, ui, blobs, err) : NULL;
	if (rng_changed && !rng_out) {
		json_decref(written);
		json_decref(names);
		goto out;
	}
	json_t *odoc = outputs_doc(w, ui);
	char *otext = odoc ? json_dumps(odoc, JSON_COMPACT) : NULL;
	json_decref(odoc);
	if (!otext) {
		weft_error_set(err, w->doc->path, u->line, 0, "cannot encode the outputs of chunk %s", u->label);
		free(rng_out);
		json_decref(written);
		json_decref(names);
		goto out;
	}
	char oh[STORE_HASH_SIZE];
	int orc = store_blob_put_mem(w->store, otext, strlen(otext), oh, err);
	free(otext);
	if (orc < 0) {
		free(rng_out);
		json_decref(written);
		json_decref(names);
		goto out;
	}
	if (blobs_add(blobs, oh) < 0) {
		weft_error_set(err, w->doc->path, u->line, 0, "cache: cannot list the outputs of chunk %s", u->label);
		free(rng_out);
		json_decref(written);
		json_decref(names);
		goto out;
	}

	/* What the key was made of, to explain a later miss. */
	json_t *deps = json_object();
	const char *name;
	json_t *wi;
	json_object_foreach(u->deps, name, wi) {
		int wr = (int)json_integer_value(wi);
		const char *value = settings_value(&w->df, wr, name);
		json_t *dep = proto_pack(err, w->doc->path, u->line, u->label, "{s:s*, s:s*, s:s*}", "from",
					 wr < 0 ? NULL : w->df.units[wr].label, "state",
					 wr < 0 ? NULL : w->df.units[wr].state_key, "value", value);
		if (!dep || json_object_set_new(deps, name, dep) < 0) {
			weft_error_set(err, w->doc->path, u->line, 0, "cache: cannot record input %s of chunk %s",
				       name, u->label);
			json_decref(deps);
			free(rng_out);
			json_decref(written);
			json_decref(names);
			goto out;
		}
	}
	char *opts = unit_options_text(w, u);
	const char *norm = json_string_value(json_object_get(u->analysis, "normalized"));
	/* A new reference either way, consumed by json_pack's "o". */
	json_t *deleted = json_object_get(rec, "deleted") ? json_incref(json_object_get(rec, "deleted")) : json_array();
	char what[200];
	snprintf(what, sizeof(what), "cache: the entry of chunk %s", u->label);
	meta = proto_pack(err, w->doc->path, u->line, what,
			 "{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:o, s:o, s:O, s:o, s:s?, s:s?, s:s, s:f}",
			 "v", META_VERSION, "key", u->key, "state_key", u->state_key, "identity", w->identity,
			 "code", norm ? norm : "", "options", opts, "deps", deps, "writes", u->writes,
			 "deleted", deleted, "names", names,
			 "files_read", files_read, "files_written", written, "rng_in", rng_in,
			 "rng_out", rng_out, "outputs", oh, "seconds", seconds);
	free(opts);
	free(rng_out);
	if (meta)
		inputs_to_meta(rec, meta);
	/* The order the chunk put its names in (nsorder.h). */
	if (meta && json_is_array(json_object_get(rec, "ns_tail"))) {
		json_object_set(meta, "ns_tail", json_object_get(rec, "ns_tail"));
		if (json_is_array(json_object_get(rec, "ns_moved")))
			json_object_set(meta, "ns_moved", json_object_get(rec, "ns_moved"));
	}
	if (meta && w->extra[ui] && json_object_set_new(meta, "extra", json_string(w->extra[ui])) < 0) {
		/* Kept so --frozen, which evaluates nothing, can rebuild the key: never dropped. */
		json_decref(meta);
		meta = NULL;
	}
	if (!meta) {
		if (!weft_error_isset(err))
			weft_error_set(err, w->doc->path, u->line, 0, "cache: cannot build the entry of chunk %s",
				       u->label);
		goto out;
	}
	unitkeys_annotate(w, ui, rec, meta);
	if (rundefaults_to_meta(w, ui, meta, err) < 0)
		goto out;
	json_t *settings = settings_save(w, ui, blobs);
	if (settings)
		json_object_set_new(meta, "settings", settings);
	/* Its blobs are queued in the store already (readable, so later chunks of this
	 * render can restore from them); the entry itself goes in while the next chunk runs. */
	entry_write_pending(w);
	w->pending = (struct pending_entry){.meta = json_incref(meta), .blobs = json_incref(blobs), .ui = ui,
					    .seconds = seconds};
	json_decref(w->meta[ui]);
	w->meta[ui] = json_incref(meta);
	rc = 0;
out:
	json_decref(meta);
	json_decref(blobs);
	if (rc < 0 && walk_rebuild_requested(w, u))
		dataflow_mix_unique(&w->df, ui); /* as when a rebuild is not stored at all */
	if (rc < 0)
		warn_not_cached(w, ui, err);
	weft_error_free(err);
}
