/* rundefaults: chunk option defaults set by the document's code; see rundefaults.h. */
#include "planner/rundefaults.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/optval_json.h"
#include "planner/walk.h"

/* Options code may not default: they decide which units exist or how they are cached. */
static bool structural(const char *key)
{
	static const char *const keys[] = {"name", "label", "evaluate", "complete", "source", "cache",
					   "cache_rebuild", "dependson", "cache_extra", "depends_on_files"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

/* The index of the document block holding unit ui (its chunk, or its inline span). */
static size_t unit_block(const struct walk *w, size_t ui)
{
	const struct unit *u = &w->df.units[ui];
	for (size_t b = 0; b < w->doc->nblocks; b++) {
		const struct block *blk = &w->doc->blocks[b];
		if (u->kind == UNIT_CHUNK && blk->kind == BLOCK_CHUNK && &blk->chunk == u->chunk)
			return b;
		if (u->kind == UNIT_INLINE && blk->kind == BLOCK_TEXT && blk->text.nsegs &&
		    u->seg >= blk->text.segs && u->seg < blk->text.segs + blk->text.nsegs)
			return b;
	}
	return w->doc->nblocks;
}

/*
 * Default `key` = `value` (JSON data from the worker) as a one-item option
 * list in `one`, checked the way the front matter's defaults are. Returns 0,
 * or -1 with err (not an option value weft reads).
 */
static int parse_default(const char *key, const json_t *value, const char *path, int line,
			 struct option_list *one, struct weft_error *err)
{
	struct optval val;
	if (optval_from_json(value, &val) < 0)
		return weft_error_set(err, path, line, 0, "not an option value");
	ARRAY_GROW(one->items, one->n + 1, one->alloc);
	one->items[one->n++] = (struct chunk_option){.key = xstrdup(key), .val = val, .line = line};
	struct chunk_options check;
	int rc = chunk_options_resolve(&check, one, NULL, path, err);
	chunk_options_free(&check);
	return rc;
}

/* The value as the document would write it, for messages: Python source, or the worker's repr. */
static char *value_text(const json_t *value)
{
	const char *r = json_string_value(json_object_get(value, "repr"));
	if (r)
		return xstrdup(r);
	struct optval val;
	if (optval_from_json(value, &val) < 0)
		return xstrdup("?");
	char *s = xstrdup(val.src ? val.src : "?");
	optval_free(&val);
	return s;
}

/*
 * The defaults list for the chunks after unit ui: the front matter's, then
 * every reported default weft applies. A default that is new at ui (not in
 * force before) and is ignored gets a warning naming it.
 */
static void build_defaults(struct walk *w, size_t ui, const json_t *defs, struct option_list *out)
{
	const char *path = w->doc->path;
	int line = w->df.units[ui].line;
	option_list_append(out, &w->doc->doc_defaults);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)defs, key, v) {
		bool is_new = !w->run_defaults || !json_equal(v, json_object_get(w->run_defaults, key));
		struct option_list one;
		option_list_init(&one);
		struct weft_error err;
		weft_error_init(&err);
		const char *why = NULL;
		if (structural(key))
			why = "weft takes it from the document only";
		else if (parse_default(key, v, path, line, &one, &err) == 0)
			option_list_append(out, &one);
		else
			why = err.msg.buf;
		if (why && is_new) {
			char *text = value_text(v);
			weft_warn(path, line, "pweave.rcParams chunk default %s=%s is not applied: %s", key, text,
				  why);
			free(text);
		}
		weft_error_free(&err);
		option_list_free(&one);
	}
}

/*
 * Make `defs` ({option: Python literal}) the defaults in force after unit ui:
 * re-resolve the options of every chunk after it. The chunk's own options
 * go last in one list, resolved as defaults are (their unknown keys were
 * warned about when the document was read, not again here).
 */
static void set_defaults(struct walk *w, size_t ui, const json_t *defs)
{
	if (!json_is_object(defs))
		return;
	if (w->run_defaults ? json_equal(defs, w->run_defaults) : !json_object_size(defs))
		return;
	struct option_list base;
	option_list_init(&base);
	build_defaults(w, ui, defs, &base);
	/* planner_weave's document, not const there: chunks' options are re-resolved in place (planner.h) */
	struct document *doc = (struct document *)w->doc;
	for (size_t b = unit_block(w, ui) + 1; b < doc->nblocks; b++) {
		if (doc->blocks[b].kind != BLOCK_CHUNK)
			continue;
		struct chunk *c = &doc->blocks[b].chunk;
		struct option_list all;
		option_list_init(&all);
		option_list_append(&all, &base);
		option_list_append(&all, &c->raw);
		struct chunk_options opts;
		struct weft_error err;
		weft_error_init(&err);
		if (chunk_options_resolve(&opts, &all, NULL, doc->path, &err) == 0) {
			chunk_options_free(&c->opts);
			c->opts = opts;
		} else {
			/* not expected: each default was checked, the chunk's own when read */
			chunk_options_free(&opts);
			weft_warn(doc->path, c->code_line, "chunk options not re-resolved: %s", err.msg.buf);
		}
		weft_error_free(&err);
		option_list_free(&all);
	}
	option_list_free(&base);
	json_decref(w->run_defaults);
	w->run_defaults = json_deep_copy(defs);
}

/* The defaults unit ui's run reported (JSON text), or NULL. */
static const char *unit_report(struct walk *w, size_t ui)
{
	const struct unit *u = &w->df.units[ui];
	if (u->kind == UNIT_INLINE)
		return w->res->inl[u->seg->inline_index].chunk_defaults;
	const struct chunk_outcome *o = walk_outcome(w, ui);
	return o ? o->chunk_defaults : NULL;
}

void rundefaults_after_run(struct walk *w, size_t ui)
{
	const char *text = unit_report(w, ui);
	if (!text)
		return;
	json_t *defs = json_loads(text, 0, NULL);
	if (!defs)
		weft_warn(w->doc->path, w->df.units[ui].line, "pweave.rcParams chunk defaults unreadable");
	set_defaults(w, ui, defs);
	json_decref(defs);
}

int rundefaults_to_meta(struct walk *w, size_t ui, json_t *meta, struct weft_error *err)
{
	const char *text = unit_report(w, ui);
	if (!text)
		return 0;
	json_t *defs = json_loads(text, 0, NULL);
	if (!defs || json_object_set_new(meta, "chunk_defaults", defs) < 0)
		return weft_error_set(err, w->doc->path, w->df.units[ui].line, 0,
				      "cache: cannot record the pweave.rcParams chunk defaults of chunk %s",
				      w->df.units[ui].label);
	return 0;
}

void rundefaults_apply_hit(struct walk *w, size_t ui, const json_t *meta)
{
	set_defaults(w, ui, json_object_get(meta, "chunk_defaults"));
}
