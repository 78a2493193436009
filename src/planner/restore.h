/*
 * restore: keep the worker's namespace at the versions a fresh run would have.
 * A name is restored from the entry of the unit that last wrote it, or rebuilt
 * by replaying that unit when it could not be saved; only when a unit that
 * runs reads it.
 */
#ifndef WEFT_RESTORE_H
#define WEFT_RESTORE_H

#include "planner/walk.h"

/*
 * Make the worker hold unit `target`'s version of `name` (-1: undefined), as a
 * fresh run would at this point. Restores from the cache, or replays.
 */
int restore_version(struct walk *w, const char *name, int target, struct weft_error *err);

/*
 * Put the random state as unit rw left it into the worker (none: rw < 0),
 * from its entry, or by replaying rw when it was not saved.
 */
int restore_rng_of(struct walk *w, int rw, struct weft_error *err);

/* Make every name in `deps` (name -> writer) live at its writer's version. */
int restore_deps(struct walk *w, const json_t *deps, struct weft_error *err);

/*
 * Re-run unit t only to rebuild names that could not be restored: its inputs
 * are put at the versions it saw, its outputs are discarded.
 */
int restore_replay(struct walk *w, size_t t, struct weft_error *err);

#endif
