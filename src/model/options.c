/*
 * options: chunk option lists and values, and their resolution into typed
 * chunk options; see options.h. Reading options from a document's text is
 * the reader layer's (reader/option_parser.c).
 */
#include "model/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/yaml_value.h"

/* ---- option lists and values ------------------------------------------ */

void option_list_init(struct option_list *l)
{
	l->items = NULL;
	l->n = l->alloc = 0;
}

void option_list_free(struct option_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].key);
		optval_free(&l->items[i].val);
	}
	free(l->items);
	option_list_init(l);
}

const struct chunk_option *option_list_get(const struct option_list *l, const char *key)
{
	if (!l)
		return NULL;
	for (size_t i = l->n; i-- > 0;)
		if (!strcmp(l->items[i].key, key))
			return &l->items[i];
	return NULL;
}

void option_list_append(struct option_list *dst, const struct option_list *src)
{
	if (!src)
		return;
	for (size_t i = 0; i < src->n; i++) {
		ARRAY_GROW(dst->items, dst->n + 1, dst->alloc);
		struct chunk_option *o = &dst->items[dst->n++];
		o->key = xstrdup(src->items[i].key);
		optval_copy(&o->val, &src->items[i].val);
		o->line = src->items[i].line;
		o->column = src->items[i].column;
	}
}

void optval_free(struct optval *v)
{
	free(v->s);
	for (size_t i = 0; i < v->nitems; i++)
		optval_free(&v->items[i]);
	free(v->items);
	free(v->src);
	memset(v, 0, sizeof(*v));
}

void optval_copy(struct optval *dst, const struct optval *src)
{
	*dst = *src;
	dst->s = src->s ? xstrdup(src->s) : NULL;
	dst->src = src->src ? xstrdup(src->src) : NULL;
	dst->items = NULL;
	if (src->nitems) {
		dst->items = xcalloc(src->nitems, sizeof(*dst->items));
		for (size_t i = 0; i < src->nitems; i++)
			optval_copy(&dst->items[i], &src->items[i]);
	}
}

bool optval_truthy(const struct optval *v)
{
	switch (v->kind) {
	case OPTVAL_NONE:
		return false;
	case OPTVAL_BOOL:
		return v->b;
	case OPTVAL_INT:
		return v->i != 0;
	case OPTVAL_FLOAT:
		return v->f != 0.0;
	case OPTVAL_STRING:
		return v->s && v->s[0];
	case OPTVAL_LIST:
		return v->nitems > 0;
	case OPTVAL_EXPR:
		return true;
	}
	return true;
}

/* ---- resolution -------------------------------------------------------- */

void chunk_options_init_defaults(struct chunk_options *o)
{
	memset(o, 0, sizeof(*o));
	o->echo = true;
	o->evaluate = true;
	o->results = xstrdup("verbatim");
	o->term = false;
	o->include = true;
	o->fig = true;
	o->caption = NULL;
	o->wrap = xstrdup("output");
	o->f_size[0] = 6;
	o->f_size[1] = 4;
	o->f_pos = xstrdup("htpb");
	o->f_env = NULL;
	o->dpi = 200;
	o->complete = true;
	o->error = false;
	o->cache = false;
	o->cache_rebuild = false;
}

/* Free the dependson list. */
static void free_dependson(struct chunk_options *o)
{
	for (size_t i = 0; i < o->ndependson; i++)
		free(o->dependson[i]);
	free(o->dependson);
	o->dependson = NULL;
	o->ndependson = 0;
}

/* Free the depends_on_files list. */
static void free_depends_on_files(struct chunk_options *o)
{
	for (size_t i = 0; i < o->ndepends_on_files; i++)
		free(o->depends_on_files[i]);
	free(o->depends_on_files);
	o->depends_on_files = NULL;
	o->ndepends_on_files = 0;
}

void chunk_options_free(struct chunk_options *o)
{
	free(o->name);
	free(o->results);
	free(o->caption);
	free(o->wrap);
	free(o->f_pos);
	free(o->f_env);
	free(o->source);
	free(o->width);
	free(o->cache_extra);
	free_dependson(o);
	free_depends_on_files(o);
	memset(o, 0, sizeof(*o));
}

/* Options Pweave removed or keeps internally: accepted and ignored. */
static int is_tolerated(const char *key)
{
	static const char *const keys[] = { "engine", "f_spines", "option_string", "display_data",
					    "display_stream", "main" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i]))
			return 1;
	return 0;
}

/* Error for a known option whose value has the wrong type. */
static int bad_type(const struct chunk_option *o, const char *file, struct weft_error *err,
		    const char *want)
{
	return weft_error_set(err, file, o->line, o->column,
			      "chunk option '%s' must be %s, not %s", o->key, want,
			      o->val.src ? o->val.src : "?");
}

static int set_bool(bool *dst, const struct chunk_option *o, const char *file, struct weft_error *err)
{
	const struct optval *v = &o->val;
	if (v->kind != OPTVAL_BOOL && v->kind != OPTVAL_INT && v->kind != OPTVAL_NONE)
		return bad_type(o, file, err, "True or False");
	*dst = optval_truthy(v);
	return 0;
}

/* A string option; `nullable` lets False/None clear it. */
static int set_str(char **dst, const struct chunk_option *o, const char *file, struct weft_error *err,
		   int nullable)
{
	const struct optval *v = &o->val;
	if (v->kind == OPTVAL_STRING) {
		free(*dst);
		*dst = xstrdup(v->s);
		return 0;
	}
	if (nullable && (v->kind == OPTVAL_NONE || (v->kind == OPTVAL_BOOL && !v->b))) {
		free(*dst);
		*dst = NULL;
		return 0;
	}
	return bad_type(o, file, err, nullable ? "a string, False or None" : "a string");
}

static int is_number(const struct optval *v)
{
	return v->kind == OPTVAL_INT || v->kind == OPTVAL_FLOAT;
}

static double number_of(const struct optval *v)
{
	return v->kind == OPTVAL_INT ? (double)v->i : v->f;
}

/* Apply one option to the resolved set. */
static int apply_option(struct chunk_options *r, const struct chunk_option *o, const char *file,
			int warn, struct weft_error *err)
{
	const char *k = o->key;
	const struct optval *v = &o->val;

	if (!strcmp(k, "echo"))
		return set_bool(&r->echo, o, file, err);
	if (!strcmp(k, "evaluate"))
		return set_bool(&r->evaluate, o, file, err);
	if (!strcmp(k, "term"))
		return set_bool(&r->term, o, file, err);
	if (!strcmp(k, "include"))
		return set_bool(&r->include, o, file, err);
	if (!strcmp(k, "fig"))
		return set_bool(&r->fig, o, file, err);
	if (!strcmp(k, "complete"))
		return set_bool(&r->complete, o, file, err);
	if (!strcmp(k, "error"))
		return set_bool(&r->error, o, file, err);
	if (!strcmp(k, "cache"))
		return set_bool(&r->cache, o, file, err);
	if (!strcmp(k, "cache_rebuild"))
		return set_bool(&r->cache_rebuild, o, file, err);
	if (!strcmp(k, "results")) {
		/* Quarto's output: true / false / asis arrive here as results */
		const char *q = v->kind == OPTVAL_BOOL ? (v->b ? "verbatim" : "hidden")
			      : v->kind == OPTVAL_STRING && !strcmp(v->s, "asis") ? "markdown"
			      : NULL;
		if (q) {
			free(r->results);
			r->results = xstrdup(q);
			return 0;
		}
		return set_str(&r->results, o, file, err, 0);
	}
	if (!strcmp(k, "caption"))
		return set_str(&r->caption, o, file, err, 1);
	if (!strcmp(k, "f_pos"))
		return set_str(&r->f_pos, o, file, err, 0);
	if (!strcmp(k, "f_env"))
		return set_str(&r->f_env, o, file, err, 1);
	if (!strcmp(k, "source"))
		return set_str(&r->source, o, file, err, 1);
	if (!strcmp(k, "name") || !strcmp(k, "label")) {
		if (v->kind == OPTVAL_INT || v->kind == OPTVAL_FLOAT) {
			free(r->name);
			r->name = xstrdup(v->src);
			return 0;
		}
		return set_str(&r->name, o, file, err, 1);
	}
	if (!strcmp(k, "wrap")) {
		if (v->kind == OPTVAL_BOOL && v->b) {
			/* True wraps code and output, unlike the default "output" */
			free(r->wrap);
			r->wrap = xstrdup("all");
			return 0;
		}
		return set_str(&r->wrap, o, file, err, 1);
	}
	if (!strcmp(k, "width")) {
		if (is_number(v)) {
			free(r->width);
			r->width = xstrdup(v->src);
			return 0;
		}
		return set_str(&r->width, o, file, err, 1);
	}
	if (!strcmp(k, "dpi")) {
		if (!is_number(v) || number_of(v) <= 0 || number_of(v) > 1e5)
			return bad_type(o, file, err, "a positive number");
		r->dpi = (int)number_of(v);
		return 0;
	}
	if (!strcmp(k, "f_size")) {
		if (v->kind != OPTVAL_LIST || v->nitems != 2 || !is_number(&v->items[0]) ||
		    !is_number(&v->items[1]))
			return bad_type(o, file, err, "a (width, height) pair of numbers");
		r->f_size[0] = number_of(&v->items[0]);
		r->f_size[1] = number_of(&v->items[1]);
		return 0;
	}
	if (!strcmp(k, "fig_width") || !strcmp(k, "fig_height")) {
		if (!is_number(v))
			return bad_type(o, file, err, "a number");
		r->f_size[k[4] == 'w' ? 0 : 1] = number_of(v);
		return 0;
	}
	if (!strcmp(k, "dependson")) {
		free_dependson(r);
		if (v->kind == OPTVAL_NONE)
			return 0;
		if (v->kind == OPTVAL_STRING) {
			r->dependson = xmalloc(sizeof(char *));
			r->dependson[0] = xstrdup(v->s);
			r->ndependson = 1;
			return 0;
		}
		if (v->kind != OPTVAL_LIST)
			return bad_type(o, file, err, "a chunk name or a list of chunk names");
		for (size_t i = 0; i < v->nitems; i++)
			if (v->items[i].kind != OPTVAL_STRING)
				return bad_type(o, file, err, "a chunk name or a list of chunk names");
		r->dependson = xcalloc(v->nitems ? v->nitems : 1, sizeof(char *));
		for (size_t i = 0; i < v->nitems; i++)
			r->dependson[i] = xstrdup(v->items[i].s);
		r->ndependson = v->nitems;
		return 0;
	}
	if (!strcmp(k, "depends_on_files")) {
		/* A path or pattern, or a list of them (issue 8: inputs weft cannot see). */
		free_depends_on_files(r);
		if (v->kind == OPTVAL_NONE)
			return 0;
		if (v->kind == OPTVAL_STRING) {
			r->depends_on_files = xmalloc(sizeof(char *));
			r->depends_on_files[0] = xstrdup(v->s);
			r->ndepends_on_files = 1;
			return 0;
		}
		if (v->kind != OPTVAL_LIST)
			return bad_type(o, file, err, "a file name or pattern, or a list of them");
		for (size_t i = 0; i < v->nitems; i++)
			if (v->items[i].kind != OPTVAL_STRING)
				return bad_type(o, file, err, "a file name or pattern, or a list of them");
		r->depends_on_files = xcalloc(v->nitems ? v->nitems : 1, sizeof(char *));
		for (size_t i = 0; i < v->nitems; i++)
			r->depends_on_files[i] = xstrdup(v->items[i].s);
		r->ndepends_on_files = v->nitems;
		return 0;
	}
	if (!strcmp(k, "cache_extra")) {
		free(r->cache_extra);
		r->cache_extra = v->kind == OPTVAL_NONE ? NULL : xstrdup(v->src ? v->src : "");
		return 0;
	}
	if (is_tolerated(k))
		return 0;
	if (warn)
		weft_warn(file, o->line, "unknown chunk option '%s' (ignored)", k);
	return 0;
}

int chunk_options_resolve(struct chunk_options *out, const struct option_list *doc_defaults,
			  const struct option_list *chunk, const char *file,
			  struct weft_error *err)
{
	chunk_options_init_defaults(out);
	const struct option_list *lists[2] = { doc_defaults, chunk };
	for (int l = 0; l < 2; l++) {
		if (!lists[l])
			continue;
		for (size_t i = 0; i < lists[l]->n; i++)
			if (apply_option(out, &lists[l]->items[i], file, l == 1, err) < 0)
				return -1;
		/* Pweave: a `label` replaces the name, wherever it was written. */
		const struct chunk_option *label = option_list_get(lists[l], "label");
		if (label && apply_option(out, label, file, 0, err) < 0)
			return -1;
	}
	return 0;
}
