/*
 * nsorder: the order of the names in the worker's namespace, as a fresh run
 * would have it (issue 8 class 9). Lazy restore binds names in the order
 * readers need them, so globals(), vars() and locals() list them in another
 * order than a fresh run, whose dict holds them in the order chunks first
 * bound them. Each tracked run records the names it (re)inserted at the end
 * of the namespace ("ns_tail", in order) and those it deleted; a cache entry
 * keeps them. Before a unit that lists the namespace (a dynamic one: it
 * reads every name, so all are restored) runs, the walk replays those
 * records over the units before it and has the worker move its names into
 * that order.
 */
#ifndef WEFT_NSORDER_H
#define WEFT_NSORDER_H

#include "planner/walk.h"

/* Remember what unit ui, which just ran with tracking record `record`, inserted and deleted. */
void nsorder_note(struct walk *w, size_t ui, const json_t *record);

/*
 * Before unit ui runs, its inputs live: when it may list the namespace (its
 * analysis says dynamic, or it reads globals, locals, vars, dir, eval or
 * exec, itself or through a function it calls), put the worker's names in
 * fresh-run order.
 * 0, or -1 with err when the worker failed.
 */
int nsorder_apply(struct walk *w, size_t ui, struct weft_error *err);

#endif
