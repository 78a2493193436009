/* nsorder: fresh-run order of the namespace's names; see nsorder.h. */
#include "planner/nsorder.h"

#include <stdio.h>
#include <string.h>

#include "engine/protocol.h"
#include "planner/walk.h"
#include "util/strbuf.h"

/* Remember what unit ui, which just ran with tracking record `record`, inserted and deleted. */
void nsorder_note(struct walk *w, size_t ui, const json_t *record)
{
	const json_t *tail = json_object_get(record, "ns_tail");
	if (!json_is_array(tail))
		return;
	if (!w->ns_tails)
		w->ns_tails = json_object();
	char key[32];
	snprintf(key, sizeof(key), "%zu", ui);
	const json_t *del = json_object_get(record, "deleted");
	const json_t *moved = json_object_get(record, "ns_moved");
	json_object_set_new(w->ns_tails, key,
			    json_pack("{s:O, s:o, s:o}", "ns_tail", tail, "deleted",
				      json_is_array(del) ? json_incref((json_t *)del) : json_array(), "ns_moved",
				      json_is_array(moved) ? json_incref((json_t *)moved) : json_array()));
}

/*
 * The names in fresh-run order while the units' records are replayed: a map
 * name -> position, positions growing as names go to the end. Finding,
 * removing and moving a name cost one lookup, so replaying a document's
 * units costs what their records hold, not that times the names so far.
 */
struct order {
	json_t *pos;        /* name -> position (integer) */
	json_int_t next;    /* the position of the next name put at the end */
};

/* Remove `name` from the order, if there. */
static void order_remove(struct order *o, const char *name)
{
	json_object_del(o->pos, name);
}

/* Is `name` in the order? */
static bool order_has(const struct order *o, const char *name)
{
	return json_object_get(o->pos, name) != NULL;
}

/* Put `name` at the end (moving it there if it is in already). */
static void order_append(struct order *o, const char *name)
{
	json_object_set_new(o->pos, name, json_integer(o->next++));
}


/* One name and its position, for sorting the order into an array. */
struct placed {
	const char *name;
	json_int_t pos;
};

static int cmp_placed(const void *a, const void *b)
{
	json_int_t x = ((const struct placed *)a)->pos, y = ((const struct placed *)b)->pos;
	return (x > y) - (x < y);
}

/* The names of the order as a new JSON array, first to last. */
static json_t *order_names(const struct order *o)
{
	size_t n = json_object_size(o->pos), k = 0;
	struct placed *all = xcalloc(n ? n : 1, sizeof(*all));
	const char *name;
	json_t *v;
	json_object_foreach(o->pos, name, v)
		all[k++] = (struct placed){name, json_integer_value(v)};
	qsort(all, n, sizeof(*all), cmp_placed);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(all[i].name));
	free(all);
	return arr;
}

/*
 * Apply unit t's effect on the order: from this render's run record, else
 * from its cache entry, else (an entry made before records had the tail, an
 * untracked inline span) its static analysis: names it binds that are new
 * go to the end, sorted as the analysis lists them (the closest guess).
 */
static void order_apply_unit(struct walk *w, size_t t, struct order *order)
{
	char key[32];
	snprintf(key, sizeof(key), "%zu", t);
	const json_t *src = w->ns_tails ? json_object_get(w->ns_tails, key) : NULL;
	if (!src && w->meta[t] && json_is_array(json_object_get(w->meta[t], "ns_tail")))
		src = w->meta[t];
	size_t i;
	json_t *v;
	const json_t *a = w->df.units[t].analysis;
	if (src) {
		const json_t *deleted = json_object_get(src, "deleted");
		json_array_foreach(deleted, i, v)
			if (json_is_string(v))
				order_remove(order, json_string_value(v));
		/*
		 * `del x` then `x = ...` in one chunk moves x to the end, which the
		 * record cannot see when x happened to be last already where it ran:
		 * the analysis' deletes still bound afterwards go to the end first.
		 */
		json_array_foreach(json_object_get(a, "deletes"), i, v) {
			if (!json_is_string(v) || walk_names_has(deleted, json_string_value(v)) ||
			    !order_has(order, json_string_value(v)))
				continue;
			order_append(order, json_string_value(v));
		}
		/*
		 * A tail name the worker had bound before the unit was deleted and
		 * bound again: it moves. One it had not bound is new there, but under
		 * lazy restore it may be bound in a fresh run already (then a
		 * rebinding, which keeps its place): it goes to the end only if new.
		 */
		const json_t *moved = json_object_get(src, "ns_moved");
		json_array_foreach(json_object_get(src, "ns_tail"), i, v) {
			if (!json_is_string(v))
				continue;
			const char *n = json_string_value(v);
			if (order_has(order, n) && !walk_names_has(moved, n))
				continue;
			order_append(order, n);
		}
		return;
	}
	json_array_foreach(json_object_get(a, "deletes"), i, v)
		if (json_is_string(v))
			order_remove(order, json_string_value(v));
	json_array_foreach(json_object_get(a, "writes"), i, v)
		if (json_is_string(v) && !order_has(order, json_string_value(v)))
			order_append(order, json_string_value(v));
}

/* See nsorder.h. */
int nsorder_apply(struct walk *w, size_t ui, struct weft_error *err)
{
	const json_t *a = w->df.units[ui].analysis;
	static const char *const listers[] = {"globals", "locals", "vars", "dir", "eval", "exec"};
	bool lists = !a || json_is_true(json_object_get(a, "dynamic")) || json_object_get(a, "syntax_error");
	for (size_t k = 0; !lists && k < sizeof(listers) / sizeof(*listers); k++)
		lists = json_object_get(w->df.units[ui].deps, listers[k]) != NULL;
	if (!lists)
		return 0;
	struct order o = {json_object(), 0};
	for (size_t t = 0; t < ui; t++)
		if (w->df.units[t].evaluate)
			order_apply_unit(w, t, &o);
	json_t *order = order_names(&o);
	json_decref(o.pos);
	if (!json_array_size(order)) {
		json_decref(order);
		return 0;
	}
	json_t *r = walk_request(w, proto_pack(err, w->doc->path, w->df.units[ui].line, w->df.units[ui].label,
					       "{s:s, s:o}", "op", "ns_order", "names", order), err);
	if (!r)
		return -1;
	json_decref(r);
	return 0;
}
