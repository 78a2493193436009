/* chain: kernels weft cannot save the state of, cached by chain; see chain.h. */
#include "planner/chain.h"
#include "planner/entry.h"

#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_select.h"
#include "engine/jupyter_kernelspec.h"
#include "util/hash.h"

/* Part of every chain key; bump when what a key covers changes. */
#define CHAIN_KEY_VERSION "weft-chain-1"

/* One kernel's chain in this render. */
struct chain_slot {
	char *kernel;                     /* kernelspec name */
	char identity[HASH_HEX_SIZE];     /* hash of its kernelspec (name, language, argv, env) */
	struct engine *engine;            /* started when a unit of it first runs */
	char prev[HASH_HEX_SIZE];         /* key of the last unit of the chain walked, "" at the start */
	size_t *pending;                  /* units walked as hits, not run in `engine` yet */
	size_t npending, alloc;
};

struct chain {
	struct engine_selector sel;
	int *slot_of;                     /* per unit: slot, CHAIN_NONE (not ours), CHAIN_NO_KERNEL */
	struct chain_slot *slots;
	size_t nslots, alloc;
	bool caching;
};

enum { CHAIN_NONE = -1, CHAIN_NO_KERNEL = -2 };

/* The slot of kernel `name`, added (its identity hashed from its kernelspec) on first use. */
static int slot_for(struct chain *c, const char *name, struct weft_error *err)
{
	for (size_t i = 0; i < c->nslots; i++)
		if (!strcmp(c->slots[i].kernel, name))
			return (int)i;
	struct jupyter_kernelspec ks;
	jupyter_kernelspec_init(&ks);
	if (jupyter_kernelspec_find(&ks, name, err) < 0)
		return -1;
	ARRAY_GROW(c->slots, c->nslots + 1, c->alloc);
	struct chain_slot *s = &c->slots[c->nslots];
	memset(s, 0, sizeof(*s));
	s->kernel = xstrdup(name);
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, ks.name);
	hasher_update_str(&h, ks.language);
	for (size_t i = 0; i < ks.argc; i++)
		hasher_update_str(&h, ks.argv[i]);
	char *env = ks.env ? json_dumps(ks.env, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	hasher_update_str(&h, env);
	free(env);
	hasher_final_hex(&h, s->identity);
	jupyter_kernelspec_free(&ks);
	return (int)c->nslots++;
}

int chain_init(struct chain **out, struct walk *w, const char **python_kernel, struct weft_error *err)
{
	struct chain *c = xcalloc(1, sizeof(*c));
	*out = c;
	*python_kernel = NULL;
	c->slot_of = xcalloc(w->df.n ? w->df.n : 1, sizeof(int));
	engine_selector_init(&c->sel, w->cfg->kernel);
	if (!engine_selector_default_language(&c->sel, err))
		return -1;
	struct engine_choice def, py;
	engine_select(&c->sel, NULL, &def);
	engine_select(&c->sel, "python", &py);
	if (py.kind == ENGINE_KIND_PYKERNEL)
		*python_kernel = py.kernel;
	bool python_cached = false;
	for (size_t ui = 0; ui < w->df.n; ui++) {
		struct unit *u = &w->df.units[ui];
		c->slot_of[ui] = CHAIN_NONE;
		if (!u->evaluate)
			continue;
		struct engine_choice ch = def;
		if (u->kind == UNIT_CHUNK)
			engine_select(&c->sel, u->chunk->lang, &ch);
		if (ch.kind == ENGINE_KIND_EMBEDDED || ch.kind == ENGINE_KIND_PYKERNEL) {
			python_cached |= u->cached;
			continue;
		}
		u->evaluate = false; /* not Python: the dataflow and its name analysis leave it alone */
		if (ch.kind == ENGINE_KIND_NONE) {
			c->slot_of[ui] = CHAIN_NO_KERNEL;
			weft_warn(w->doc->path, u->chunk->header_line ? u->chunk->header_line : u->line,
				  "chunk %s: no installed Jupyter kernel runs language '%s' ('weft kernels' lists "
				  "them); it is shown, not run", u->label, u->chunk->lang);
			continue;
		}
		int si = slot_for(c, ch.kernel, err);
		if (si < 0)
			return -1;
		c->slot_of[ui] = si;
		if (u->cached && !w->cfg->no_cache)
			c->caching = true;
	}
	/* The Python walk caches only if a Python unit is cached (the chain has its own flag). */
	w->caching = python_cached;
	return 0;
}

void chain_free(struct chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nslots; i++) {
		engine_stop(c->slots[i].engine);
		free(c->slots[i].kernel);
		free(c->slots[i].pending);
	}
	free(c->slots);
	free(c->slot_of);
	engine_selector_free(&c->sel);
	free(c);
}

bool chain_caching(const struct chain *c)
{
	return c && c->caching;
}

bool chain_owns(const struct chain *c, size_t ui)
{
	return c && c->slot_of[ui] != CHAIN_NONE;
}

/* ---- keys ---- */

/* Append `s` to a glob pattern with its wildcard characters escaped. */
static void add_literal(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (strchr("*?[]\\", *s))
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
}

/*
 * Hash of unit ui's declared inputs: for each depends_on_files pattern, the
 * files it matches (relative to the document's folder) and their contents;
 * a file appearing, disappearing or changing changes it.
 */
static void declared_inputs(const struct walk *w, const struct unit *u, char out[HASH_HEX_SIZE])
{
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, "depends_on_files");
	const struct chunk_options *o = u->kind == UNIT_CHUNK ? &u->chunk->opts : NULL;
	for (size_t i = 0; o && i < o->ndepends_on_files; i++) {
		const char *pat = o->depends_on_files[i];
		struct strbuf full;
		strbuf_init(&full);
		if (pat[0] != '/') {
			add_literal(&full, w->doc_dir);
			strbuf_addch(&full, '/');
		}
		strbuf_addstr(&full, pat);
		glob_t g;
		memset(&g, 0, sizeof(g));
		int rc = glob(full.buf, 0, NULL, &g);
		hasher_update_str(&h, pat);
		for (size_t k = 0; rc == 0 && k < g.gl_pathc; k++) {
			char xxh[XXH128_HEX_SIZE];
			uint64_t size = 0;
			hasher_update_str(&h, g.gl_pathv[k]);
			/* a folder or an unreadable file counts by its name only, as missing */
			hasher_update_str(&h, hash_xxh128_file(g.gl_pathv[k], xxh, &size, NULL) == 0 ? xxh : "-");
		}
		if (rc != 0 && rc != GLOB_NOMATCH)
			hasher_update_str(&h, "glob error");
		globfree(&g);
		strbuf_free(&full);
	}
	hasher_final_hex(&h, out);
}

/* The parts of unit ui's chain key besides its predecessor: code, options, inputs. */
static void unit_parts(const struct walk *w, const struct unit *u, char code[HASH_HEX_SIZE],
		       char opts[HASH_HEX_SIZE], char inputs[HASH_HEX_SIZE])
{
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, u->kind == UNIT_CHUNK ? "chunk"
			      : u->seg->kind == SEG_INLINE_EXPR ? "inline expression" : "inline code");
	hasher_update_str(&h, u->code);
	hasher_final_hex(&h, code);
	hasher_init(&h);
	if (u->kind == UNIT_CHUNK) {
		const struct chunk_options *o = &u->chunk->opts;
		char num[96];
		snprintf(num, sizeof(num), "term=%d fig=%d size=%.17g,%.17g dpi=%d", o->term, o->fig, o->f_size[0],
			 o->f_size[1], o->dpi);
		hasher_update_str(&h, num);
		hasher_update_str(&h, w->df.fig_format);
		hasher_update_str(&h, o->cache_extra);
	}
	hasher_final_hex(&h, opts);
	declared_inputs(w, u, inputs);
}

/* ---- entries ---- */

/* Take unit ui's outputs from chain entry `meta`. 1 used, 0 unusable (a miss). */
static int apply_hit(struct walk *w, size_t ui, const json_t *meta)
{
	const struct unit *u = &w->df.units[ui];
	if (!json_object_get(meta, "chain"))
		return 0;
	json_t *doc = entry_outputs_load(w, meta);
	if (!doc)
		return 0;
	int used = 1;
	if (u->kind == UNIT_INLINE) {
		struct inline_outcome *io = &w->res->inl[u->seg->inline_index];
		const json_t *text = json_object_get(doc, "text");
		strbuf_reset(&io->text);
		strbuf_add(&io->text, json_string_value(text) ?: "", json_string_length(text));
		io->done = true;
		io->status = RUN_OK;
	} else {
		struct chunk_outcome *o = walk_outcome(w, ui);
		chunk_outcome_reset(o);
		if (output_list_from_json(&o->outputs, json_object_get(doc, "outputs"), NULL) < 0) {
			used = 0;
		} else {
			o->seconds = json_real_value(json_object_get(meta, "seconds"));
			o->state = CHUNK_CACHED;
			o->status = RUN_OK;
		}
	}
	json_decref(doc);
	return used;
}

/* Store unit ui's fresh results under its key; a failure costs the entry only (a warning). */
static void store_entry(struct walk *w, size_t ui, const char *kernel, const char *code, const char *prev,
			const char *inputs, double seconds)
{
	const struct unit *u = &w->df.units[ui];
	json_t *doc;
	if (u->kind == UNIT_INLINE) {
		const struct strbuf *t = &w->res->inl[u->seg->inline_index].text;
		json_t *text = json_stringn(t->buf, t->len);
		doc = text ? json_pack("{s:o}", "text", text) : NULL;
	} else {
		json_t *outs = output_list_to_json(&walk_outcome(w, ui)->outputs, true);
		doc = outs ? json_pack("{s:o, s:[]}", "outputs", outs, "statements") : NULL;
	}
	char *data = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	struct weft_error err;
	weft_error_init(&err);
	char hash[STORE_HASH_SIZE];
	json_t *meta = NULL;
	if (!data) {
		weft_error_set(&err, w->doc->path, u->line, 0, "its outputs could not be encoded");
	} else if (store_blob_put_mem(w->store, data, strlen(data), hash, &err) == 0) {
		meta = json_pack("{s:s, s:s, s:f, s:s, s:s, s:s}", "chain", kernel, "outputs", hash, "seconds",
				 seconds, "code", code, "prev", prev, "inputs", inputs);
		const char *blobs[1] = {hash};
		if (!meta)
			weft_error_set(&err, w->doc->path, u->line, 0, "its entry could not be built");
		else
			store_entry_put(w->store, u->key, meta, blobs, 1, w->doc_id, u->label, seconds, &err);
	}
	if (weft_error_isset(&err))
		weft_warn(w->doc->path, u->line, "%s %s was not cached: %s", u->kind == UNIT_CHUNK ? "chunk" : "inline code",
			  u->label, err.msg.buf);
	weft_error_free(&err);
	json_decref(meta);
	free(data);
}

/* Why unit ui misses: compared with the latest entry this document has for it. */
static void explain_miss(struct walk *w, size_t ui, const char *kernel, const char *code, const char *prev,
			 const char *inputs, struct strbuf *why)
{
	const struct unit *u = &w->df.units[ui];
	struct store_entry_info last;
	store_entry_info_init(&last);
	if (store_entry_latest_for_chunk(w->store, w->doc_id, u->label, &last, NULL) == 1 && last.meta &&
	    json_object_get(last.meta, "chain")) {
		const json_t *m = last.meta;
		if (strcmp(json_string_value(json_object_get(m, "code")) ?: "", code))
			strbuf_addstr(why, "code changed");
		else if (strcmp(json_string_value(json_object_get(m, "inputs")) ?: "", inputs))
			strbuf_addstr(why, "a declared input file (depends_on_files) changed");
		else if (strcmp(json_string_value(json_object_get(m, "prev")) ?: "", prev))
			strbuf_addf(why, "a unit before it in kernel %s's chain changed", kernel);
		else
			strbuf_addf(why, "options or kernel %s changed", kernel);
	} else {
		strbuf_addstr(why, "not in the cache");
	}
	store_entry_info_free(&last);
}

/* ---- running ---- */

/* Execution ended at unit ui (its kernel died or timed out): every engine stops, later units skip. */
static void stop_all(struct chain *c, struct walk *w, size_t ui)
{
	const struct unit *u = &w->df.units[ui];
	walk_stop(w, u->kind == UNIT_CHUNK ? u->chunk->index : -1);
	for (size_t i = 0; i < c->nslots; i++) {
		engine_stop(c->slots[i].engine);
		c->slots[i].engine = NULL;
		c->slots[i].npending = 0;
	}
}

/* Does an evaluated Python unit come after unit ui (it may need the embedded engine)? */
static bool python_follows(const struct chain *c, const struct walk *w, size_t ui)
{
	for (size_t k = ui + 1; k < w->df.n; k++)
		if (w->df.units[k].evaluate && c->slot_of[k] == CHAIN_NONE)
			return true;
	return false;
}

/*
 * Run unit ui in its kernel. `silent`: a replay, outputs discarded (the
 * cached ones stay). Returns 0 when it finished (maybe with an error), -1
 * when the kernel died or timed out (execution stops) or could not start.
 */
static int run_in_kernel(struct chain *c, struct walk *w, struct chain_slot *s, size_t ui, bool silent,
			 struct weft_error *err)
{
	const struct unit *u = &w->df.units[ui];
	if (!s->engine) {
		/* A kernel client runs ZeroMQ threads, after which weft cannot fork the
		 * embedded Python worker safely: start that first when Python units follow. */
		if (!w->python_kernel && !w->engine && python_follows(c, w, ui) && walk_engine(w, err) < 0)
			return -1;
		char *dir = xstrdup(w->doc_dir);
		struct engine_config ec = {
			.doc_path = w->doc->path, .workdir = dir, .timeout = w->cfg->timeout, .kernel = s->kernel,
		};
		int rc = engine_start(&s->engine, &ec, err);
		free(dir);
		if (rc < 0)
			return -1;
		w->res->engine_started = true;
	}
	struct weft_error run_err;
	weft_error_init(&run_err);
	int rc;
	if (u->kind == UNIT_INLINE) {
		struct inline_outcome scratch = {0};
		strbuf_init(&scratch.text);
		struct inline_outcome *io = silent ? &scratch : &w->res->inl[u->seg->inline_index];
		rc = engine_eval_inline(s->engine, u->code, u->seg->kind == SEG_INLINE_EXPR, u->line, io, &run_err);
		io->done = true;
		if (rc < 0 && !silent) {
			if (io->status == RUN_OK)
				io->status = RUN_CRASHED;
			if (!io->error_message)
				io->error_message = xstrdup(run_err.msg.len ? run_err.msg.buf : "the kernel died");
		}
		strbuf_free(&scratch.text);
		free(scratch.error_message);
	} else {
		const struct chunk_options *o = &u->chunk->opts;
		struct run_request req = {
			.code = u->code, .code_line = u->line, .name = o->name, .term = o->term, .complete = true,
			.fig = o->fig, .f_size = {o->f_size[0], o->f_size[1]}, .dpi = o->dpi,
			.fig_format = w->df.fig_format,
		};
		struct chunk_outcome scratch;
		memset(&scratch, 0, sizeof(scratch));
		output_list_init(&scratch.outputs);
		struct chunk_outcome *out = silent ? &scratch : walk_outcome(w, ui);
		if (!silent)
			chunk_outcome_reset(out);
		rc = engine_run_chunk(s->engine, &req, out, NULL, &run_err);
		if (!silent) {
			out->state = CHUNK_RAN;
			if (rc < 0) {
				if (out->status == RUN_OK)
					out->status = RUN_CRASHED;
				if (!out->error_message)
					out->error_message = xstrdup(run_err.msg.len ? run_err.msg.buf : "the kernel died");
				if (!out->error_line)
					out->error_line = u->line;
			}
		}
		chunk_outcome_free(&scratch);
	}
	weft_error_free(&run_err);
	return rc < 0 ? 1 : 0;
}

/* The kernel died while replaying unit pi for unit ui: ui is reported crashed. */
static void replay_failed(struct chain *c, struct walk *w, size_t pi, size_t ui)
{
	const struct unit *u = &w->df.units[ui], *p = &w->df.units[pi];
	char msg[320];
	snprintf(msg, sizeof(msg), "the kernel died or timed out while replaying %s (run again to rebuild "
		 "the kernel's state)", p->label);
	struct chunk_outcome *o = walk_outcome(w, ui);
	if (o) {
		chunk_outcome_reset(o);
		o->state = CHUNK_RAN;
		o->status = RUN_CRASHED;
		o->error_message = xstrdup(msg);
		o->error_line = u->line;
	} else {
		struct inline_outcome *io = &w->res->inl[u->seg->inline_index];
		io->done = true;
		io->status = RUN_CRASHED;
		free(io->error_message);
		io->error_message = xstrdup(msg);
	}
	stop_all(c, w, ui);
}

int chain_unit(struct chain *c, struct walk *w, size_t ui, struct weft_error *err)
{
	struct unit *u = &w->df.units[ui];
	struct chunk_outcome *o = walk_outcome(w, ui);
	int si = c->slot_of[ui];
	if (w->stopped || si == CHAIN_NO_KERNEL) {
		if (o) {
			o->state = w->stopped ? CHUNK_SKIPPED : CHUNK_NOT_EVALUATED;
			if (!w->stopped) {
				char why[160];
				snprintf(why, sizeof(why), "no installed kernel runs language '%s'", u->chunk->lang);
				walk_set_why(w, ui, why);
			}
		}
		walk_progress(w, PLANNER_UNIT_DONE, ui);
		return 0;
	}
	struct chain_slot *s = &c->slots[si];
	char code[HASH_HEX_SIZE], opts[HASH_HEX_SIZE], inputs[HASH_HEX_SIZE], prev[HASH_HEX_SIZE];
	unit_parts(w, u, code, opts, inputs);
	memcpy(prev, s->prev, sizeof(prev));
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, CHAIN_KEY_VERSION);
	hasher_update_str(&h, s->identity);
	hasher_update_str(&h, prev);
	hasher_update_str(&h, code);
	hasher_update_str(&h, opts);
	hasher_update_str(&h, inputs);
	hasher_final_hex(&h, u->key);
	u->key_known = true;
	memcpy(s->prev, u->key, sizeof(s->prev));

	bool use_cache = c->caching && u->cached && w->store;
	bool rebuild = walk_rebuild_requested(w, u);
	struct strbuf why;
	strbuf_init(&why);
	if (use_cache && !rebuild) {
		json_t *meta = NULL;
		if (store_entry_get(w->store, u->key, &meta, err) == 1 && apply_hit(w, ui, meta)) {
			json_decref(meta);
			walk_set_why(w, ui, "cached: its code, inputs and the chunks before it in its kernel are unchanged");
			ARRAY_GROW(s->pending, s->npending + 1, s->alloc);
			s->pending[s->npending++] = ui;
			walk_progress(w, PLANNER_UNIT_DONE, ui);
			strbuf_free(&why);
			return 0;
		}
		json_decref(meta);
		weft_error_clear(err);
		explain_miss(w, ui, s->kernel, code, prev, inputs, &why);
	} else if (!u->cached) {
		strbuf_addstr(&why, "not cached (cache=False)");
	} else if (rebuild) {
		strbuf_addstr(&why, "rebuild requested");
	}
	if (w->cfg->frozen) {
		if (o)
			o->state = CHUNK_SKIPPED;
		strbuf_addstr(&why, "; --frozen runs nothing");
		walk_set_why(w, ui, why.buf);
		walk_progress(w, PLANNER_UNIT_DONE, ui);
		strbuf_free(&why);
		return 0;
	}
	/* The kernel must hold what the chain's earlier units left: replay the hits not run yet. */
	for (size_t k = 0; k < s->npending; k++) {
		size_t pi = s->pending[k];
		int rc = run_in_kernel(c, w, s, pi, true, err);
		if (rc < 0) {
			strbuf_free(&why);
			return -1;
		}
		if (rc > 0) {
			replay_failed(c, w, pi, ui);
			walk_progress(w, PLANNER_UNIT_DONE, ui);
			strbuf_free(&why);
			return 0;
		}
		struct chunk_outcome *po = walk_outcome(w, pi);
		if (po) {
			po->state = CHUNK_REPLAYED;
			char pwhy[200];
			snprintf(pwhy, sizeof(pwhy), "cached; replayed silently to rebuild kernel %s's state for %s",
				 s->kernel, u->label);
			walk_set_why(w, pi, pwhy);
		}
	}
	s->npending = 0;
	walk_progress(w, PLANNER_UNIT_START, ui);
	int rc = run_in_kernel(c, w, s, ui, false, err);
	if (rc < 0) {
		strbuf_free(&why);
		return -1;
	}
	walk_set_why(w, ui, why.buf);
	if (rc > 0) {
		stop_all(c, w, ui);
	} else {
		bool ok = o ? o->status == RUN_OK : w->res->inl[u->seg->inline_index].status == RUN_OK;
		double seconds = o ? o->seconds : 0;
		if (use_cache && ok)
			store_entry(w, ui, s->kernel, code, prev, inputs, seconds);
	}
	walk_progress(w, PLANNER_UNIT_DONE, ui);
	strbuf_free(&why);
	return 0;
}
