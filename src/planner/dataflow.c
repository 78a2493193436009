/* dataflow: units, writer maps and Merkle-chained keys; see dataflow.h. */
#include "planner/dataflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "planner/settings.h"

/*
 * dataflow_layout's hash fed with units [0, upto): the walk asks for the
 * layout of units in document order, so each call feeds only the units after
 * the last one asked for (a render whose every unit shows document lines
 * would otherwise hash N^2/2 units). The units' lines, code and evaluate flags
 * are fixed before the walk asks (chain.c sets evaluate at its start).
 */
struct dataflow_layout_memo {
	struct hasher h;
	size_t upto;
};

/* Version of the key recipe: bump it whenever what goes into a key changes. */
#define KEY_RECIPE "weft-key-3" /* 2: process-wide settings (settings.h); 3: chunk defaults set by
				  * code (rundefaults.h): entries made before do not record them */

static void unit_add(struct dataflow *df, size_t *alloc, struct unit u)
{
	ARRAY_GROW(df->units, df->n + 1, *alloc);
	df->units[df->n++] = u;
}

void dataflow_init(struct dataflow *df, const struct document *doc, const char *engine_identity,
		   const char *fig_format, bool cache_all)
{
	memset(df, 0, sizeof(*df));
	df->writer = json_object();
	df->setting_writers = json_object();
	/* the hasher's state is over-aligned (libsodium); without memory, layouts are hashed afresh */
	df->layout_memo = aligned_alloc(_Alignof(struct dataflow_layout_memo), sizeof(struct dataflow_layout_memo));
	if (df->layout_memo) {
		hasher_init(&df->layout_memo->h);
		hasher_update_str(&df->layout_memo->h, "layout-1");
		df->layout_memo->upto = 0;
	}
	df->fig_format = xstrdup(fig_format ? fig_format : "png");
	hash_blake2b_hex(engine_identity, strlen(engine_identity), df->identity);
	bool doc_cache = cache_all || doc->doc_cache;
	size_t alloc = 0;
	struct strbuf pending;
	strbuf_init(&pending);
	int pending_line = 0;
	for (size_t b = 0; b < doc->nblocks; b++) {
		const struct block *blk = &doc->blocks[b];
		if (blk->kind == BLOCK_TEXT) {
			for (size_t s = 0; s < blk->text.nsegs; s++) {
				const struct text_segment *seg = &blk->text.segs[s];
				if (seg->kind == SEG_TEXT)
					continue;
				struct unit u = {.kind = UNIT_INLINE, .seg = seg, .line = seg->line,
						 .evaluate = true, .cached = doc_cache};
				u.code = xstrdup(seg->text);
				struct strbuf lb;
				strbuf_init(&lb);
				strbuf_addf(&lb, "inline#%d", seg->inline_index + 1);
				u.label = strbuf_detach(&lb, NULL);
				unit_add(df, &alloc, u);
			}
			continue;
		}
		const struct chunk *c = &blk->chunk;
		if (!c->opts.complete) {
			if (!pending.len)
				pending_line = c->code_line;
			strbuf_addstr(&pending, c->code);
			continue;
		}
		struct unit u = {.kind = UNIT_CHUNK, .chunk = c, .line = c->code_line,
				 .evaluate = c->opts.evaluate};
		u.cached = dataflow_chunk_cached(doc, c, cache_all);
		if (pending.len) {
			u.line = pending_line;
			strbuf_addstr(&pending, c->code);
			u.code = strbuf_detach(&pending, NULL);
		} else {
			u.code = xstrdup(c->code);
		}
		struct strbuf lb;
		strbuf_init(&lb);
		if (c->opts.name)
			strbuf_addstr(&lb, c->opts.name);
		else
			strbuf_addf(&lb, "#%d", c->number);
		u.label = strbuf_detach(&lb, NULL);
		unit_add(df, &alloc, u);
	}
	strbuf_free(&pending);
}

void dataflow_free(struct dataflow *df)
{
	for (size_t i = 0; i < df->n; i++) {
		struct unit *u = &df->units[i];
		free(u->code);
		free(u->label);
		json_decref(u->analysis);
		json_decref(u->writes);
		json_decref(u->deps);
		json_decref(u->settings);
	}
	free(df->units);
	json_decref(df->writer);
	json_decref(df->setting_writers);
	free(df->layout_memo);
	free(df->fig_format);
	free(df->occurrence);
	json_decref(df->occ_seen);
	memset(df, 0, sizeof(*df));
}

int dataflow_writer(const struct dataflow *df, const char *name)
{
	json_t *v = json_object_get(df->writer, name);
	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

bool dataflow_chunk_cached(const struct document *doc, const struct chunk *c, bool cache_all)
{
	if (option_list_get(&c->raw, "cache"))
		return c->opts.cache;
	return cache_all || doc->doc_cache || c->opts.cache;
}

int dataflow_find_chunk(const struct dataflow *df, const char *name)
{
	for (size_t i = 0; i < df->n; i++) {
		const struct unit *u = &df->units[i];
		if (u->kind == UNIT_CHUNK && u->chunk->opts.name && !strcmp(u->chunk->opts.name, name))
			return (int)i;
	}
	return -1;
}

/* Add every string of `arr` to the set `set` (an object used as a set). */
static void set_add_all(json_t *set, const json_t *arr)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (json_is_string(v))
			json_object_set_new(set, json_string_value(v), json_true());
	}
}

/*
 * Add the globals read by the function bound to `name` (as last written before
 * this point), and recursively by the functions those read.
 */
static void add_function_reads(struct dataflow *df, json_t *set, json_t *visited, const char *name)
{
	if (json_object_get(visited, name))
		return;
	json_object_set_new(visited, name, json_true());
	int w = dataflow_writer(df, name);
	if (w < 0 || !df->units[w].analysis)
		return;
	const json_t *fn = json_object_get(json_object_get(df->units[w].analysis, "functions"), name);
	if (!json_is_array(fn))
		return;
	size_t i;
	json_t *v;
	json_array_foreach(fn, i, v) {
		if (!json_is_string(v))
			continue;
		json_object_set_new(set, json_string_value(v), json_true());
		add_function_reads(df, set, visited, json_string_value(v));
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object-as-set as a sorted JSON array. */
static json_t *set_sorted(json_t *set)
{
	size_t n = json_object_size(set), k = 0;
	const char **names = xcalloc(n ? n : 1, sizeof(char *));
	const char *key;
	json_t *v;
	json_object_foreach(set, key, v)
		names[k++] = key;
	qsort(names, n, sizeof(char *), cmp_str);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(names[i]));
	free(names);
	return arr;
}

json_t *dataflow_reads(struct dataflow *df, size_t ui)
{
	struct unit *u = &df->units[ui];
	json_t *set = json_object();
	const json_t *a = u->analysis;
	if (!a || json_is_true(json_object_get(a, "dynamic")) || json_object_get(a, "syntax_error")) {
		/* Unknown or dynamic reads: the unit may read anything defined so far. */
		const char *key;
		json_t *v;
		json_object_foreach(df->writer, key, v)
			json_object_set_new(set, key, json_true());
	} else {
		set_add_all(set, json_object_get(a, "reads"));
		set_add_all(set, json_object_get(a, "reads_builtins"));
	}
	/* Functions called (or merely read: they may be passed on and called later). */
	json_t *direct = json_deep_copy(set);
	set_add_all(direct, json_object_get(a, "calls"));
	json_t *visited = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(direct, key, v)
		add_function_reads(df, set, visited, key);
	json_decref(visited);
	/*
	 * A function it calls lists or evaluates in the namespace (globals(),
	 * vars(), dir(), eval...): like dynamic code, it may read any name.
	 */
	static const char *const listers[] = {"globals", "locals", "vars", "dir", "eval", "exec"};
	for (size_t k = 0; k < sizeof(listers) / sizeof(*listers); k++)
		if (json_object_get(set, listers[k]) && !json_object_get(direct, listers[k])) {
			json_object_foreach(df->writer, key, v)
				json_object_set_new(set, key, json_true());
			break;
		}
	json_decref(direct);
	json_object_del(set, DATAFLOW_RNG);
	/* Process-wide settings: every unit may depend on them. */
	settings_add_reads(df, set);
	json_t *arr = set_sorted(set);
	json_decref(set);
	return arr;
}

/* Feed the options that change what a unit computes (never presentational ones). */
static void hash_options(struct hasher *h, const struct dataflow *df, const struct unit *u)
{
	if (u->kind == UNIT_INLINE) {
		hasher_update_str(h, u->seg->kind == SEG_INLINE_EXPR ? "inline-expr" : "inline-code");
		return;
	}
	const struct chunk_options *o = &u->chunk->opts;
	char buf[160];
	snprintf(buf, sizeof(buf), "evaluate=%d term=%d fig=%d f_size=%.6g,%.6g dpi=%d format=%s",
		 o->evaluate, o->term, o->fig, o->f_size[0], o->f_size[1], o->dpi, df->fig_format);
	hasher_update_str(h, buf);
}

/* The code a unit's key is made of: the analysis' normalised digest, else the raw text. */
static const char *unit_norm(const struct unit *u)
{
	const char *norm = json_string_value(json_object_get(u->analysis, "normalized"));
	return norm ? norm : u->code;
}

int dataflow_occurrence(struct dataflow *df, size_t ui)
{
	/*
	 * Memoised in document order (a key is made for every unit, and each
	 * would otherwise compare its code with every unit above it: quadratic
	 * in the chunks). A unit's analysis must be known before it is counted,
	 * as it is when its key is made.
	 */
	if (!df->occurrence) {
		df->occurrence = xcalloc(df->n ? df->n : 1, sizeof(int));
		df->occ_seen = json_object();
	}
	for (; df->occ_known <= ui && df->occ_known < df->n; df->occ_known++) {
		const struct unit *o = &df->units[df->occ_known];
		struct strbuf k;
		strbuf_init(&k);
		strbuf_addf(&k, "%d:%s", (int)o->kind, unit_norm(o));
		char h[HASH_HEX_SIZE]; /* a key jansson takes whatever bytes the code holds */
		hash_blake2b_hex(k.buf, k.len, h);
		strbuf_free(&k);
		int n = (int)json_integer_value(json_object_get(df->occ_seen, h));
		df->occurrence[df->occ_known] = n;
		if (o->evaluate && json_object_set_new(df->occ_seen, h, json_integer(n + 1)) < 0)
			abort(); /* out of memory only (the key is hex), as in strbuf.h */
	}
	return ui < df->n ? df->occurrence[ui] : 0;
}

bool dataflow_source_keyed(const struct unit *u, bool *with_line)
{
	/* Dynamic code (sys._getframe, inspect, eval) may read its own lines any way. */
	bool code = json_is_true(json_object_get(u->analysis, "defines_code")) ||
		    json_is_true(json_object_get(u->analysis, "dynamic"));
	if (with_line)
		*with_line = code;
	return code || (u->kind == UNIT_CHUNK && u->chunk->opts.term);
}

/*
 * The per-position part of a key. Identical units in one render must not share
 * an entry (two `class C: ...` chunks make two classes), so the k-th repeat of
 * a normalised code gets k in its key: an unrelated chunk inserted above keeps
 * every key. Units whose output or state shows their source text (term=True
 * transcripts; functions, classes and generators, whose code carries document
 * line numbers for tracebacks, warnings and inspect.getsource) add their raw
 * text, and the code-making ones their first line.
 */
static void hash_position(struct hasher *h, struct dataflow *df, size_t ui)
{
	const struct unit *u = &df->units[ui];
	int occ = dataflow_occurrence(df, ui);
	if (occ > 0) {
		hasher_update_str(h, "occurrence");
		hasher_update_u64(h, (uint64_t)occ);
	}
	bool with_line;
	if (dataflow_source_keyed(u, &with_line)) {
		hasher_update_str(h, "raw");
		hasher_update_str(h, u->code);
		if (with_line) {
			hasher_update_str(h, "line");
			hasher_update_u64(h, (uint64_t)u->line);
		}
	}
}

/* Feed units [from, to) to the layout hash h. */
static void layout_feed(const struct dataflow *df, struct hasher *h, size_t from, size_t to)
{
	for (size_t j = from; j < to; j++) {
		const struct unit *o = &df->units[j];
		if (!o->evaluate)
			continue;
		hasher_update_u64(h, (uint64_t)o->line);
		hasher_update_str(h, o->code);
	}
}

void dataflow_layout(const struct dataflow *df, size_t ui, char out[HASH_HEX_SIZE])
{
	size_t end = ui < df->n ? ui + 1 : df->n;
	struct dataflow_layout_memo *m = df->layout_memo;
	struct hasher h;
	if (m && end >= m->upto) {
		layout_feed(df, &m->h, m->upto, end);
		m->upto = end;
		h = m->h; /* finishing a copy leaves the memo's hash open */
	} else {
		hasher_init(&h); /* an earlier unit than asked before: from the start */
		hasher_update_str(&h, "layout-1");
		layout_feed(df, &h, 0, end);
	}
	hasher_final_hex(&h, out);
}

void dataflow_mix_state(struct dataflow *df, size_t ui, const char *what)
{
	struct unit *u = &df->units[ui];
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, "mixed state");
	hasher_update_str(&h, u->state_key);
	hasher_update_str(&h, what);
	hasher_final_hex(&h, u->state_key);
}

void dataflow_mix_unique(struct dataflow *df, size_t ui)
{
	static uint64_t counter;
	struct unit *u = &df->units[ui];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, "unique state");
	hasher_update_str(&h, u->state_key);
	hasher_update_u64(&h, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	hasher_update_u64(&h, (uint64_t)getpid());
	hasher_update_u64(&h, ++counter);
	hasher_final_hex(&h, u->state_key);
}

int dataflow_compute_key(struct dataflow *df, size_t ui, const json_t *reads, const char *extra,
			 const char **missing)
{
	struct unit *u = &df->units[ui];
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, KEY_RECIPE);
	hasher_update_str(&h, df->identity);
	const char *norm = json_string_value(json_object_get(u->analysis, "normalized"));
	hasher_update_str(&h, norm ? norm : u->code);
	hash_options(&h, df, u);
	hasher_update_str(&h, extra);
	hash_position(&h, df, ui);

	json_decref(u->deps);
	u->deps = json_object();
	int rc = 0;
	size_t i;
	json_t *v;
	json_array_foreach(reads, i, v) {
		const char *name = json_string_value(v);
		int w = dataflow_writer(df, name);
		json_object_set_new(u->deps, name, json_integer(w));
		hasher_update_str(&h, name);
		if (w < 0) {
			hasher_update_str(&h, NULL);
		} else if (settings_hash_dep(df, w, name, &h)) {
			/* a setting: keyed on its value, whichever chunk wrote it */
		} else if (!df->units[w].state_known) {
			if (rc == 0 && missing)
				*missing = name;
			rc = -1;
		} else {
			hasher_update_str(&h, df->units[w].state_key);
		}
	}
	/* dependson: extra dependencies on whole chunks the analysis cannot see. */
	if (u->kind == UNIT_CHUNK) {
		const struct chunk_options *o = &u->chunk->opts;
		for (size_t d = 0; d < o->ndependson; d++) {
			int w = dataflow_find_chunk(df, o->dependson[d]);
			hasher_update_str(&h, "dependson");
			hasher_update_str(&h, o->dependson[d]);
			if (w >= 0 && (size_t)w < ui) {
				if (!df->units[w].state_known) {
					if (rc == 0 && missing)
						*missing = o->dependson[d];
					rc = -1;
				} else {
					hasher_update_str(&h, df->units[w].state_key);
				}
			}
		}
	}
	hasher_final_hex(&h, u->key);
	u->key_known = rc == 0;
	u->state_known = false;
	return rc;
}

void dataflow_set_state(struct dataflow *df, size_t ui, const json_t *files_read, const char *rng_in)
{
	struct unit *u = &df->units[ui];
	struct hasher h;
	hasher_init(&h);
	hasher_update_str(&h, "state");
	hasher_update_str(&h, u->key);
	if (json_is_object(files_read)) {
		json_t *sorted = set_sorted((json_t *)files_read);
		size_t i;
		json_t *v;
		json_array_foreach(sorted, i, v) {
			const char *path = json_string_value(v);
			const json_t *fp = json_object_get(files_read, path);
			struct fingerprint f;
			hasher_update_str(&h, path);
			/* Contents only: the mtime is a look-up shortcut and may be recorded later. */
			if (json_is_string(fp) && fingerprint_from_text(&f, json_string_value(fp)) == 0) {
				hasher_update_str(&h, f.xxh);
				hasher_update_u64(&h, f.size);
			} else {
				hasher_update_str(&h, NULL);
			}
		}
		json_decref(sorted);
	}
	hasher_update_str(&h, rng_in);
	hasher_final_hex(&h, u->state_key);
	u->state_known = true;
}

void dataflow_record_writes(struct dataflow *df, size_t ui, json_t *names)
{
	struct unit *u = &df->units[ui];
	json_decref(u->writes);
	u->writes = names;
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v) {
		if (!json_is_string(v))
			continue;
		json_object_set_new(df->writer, json_string_value(v), json_integer((json_int_t)ui));
		if (settings_is_pseudo(json_string_value(v)))
			json_object_set_new(df->setting_writers, json_string_value(v), json_integer((json_int_t)ui));
	}
}
