/*
 * settings: process-wide settings (numpy print options, pandas options,
 * rcParams, warnings filters, os.environ, the working directory, sys.path,
 * modules put in sys.modules, the decimal context, ...) as cache state.
 *
 * The worker's registry (src/engine/py/weft_settings.py) snapshots every
 * setting around each tracked chunk; a chunk that changed one reports it as
 * a pseudo-name "<setting:NAME>" with a hash of the new value (or null when
 * the value has no stable text). The planner treats that pseudo-name as a
 * name the chunk wrote:
 *   - every later unit reads every setting that has a writer (conservative:
 *     which settings code depends on cannot be seen in it);
 *   - a reader's key hashes the setting's VALUE hash, not its writer's state
 *     key, so an edit to a setup chunk that leaves the value alone re-runs
 *     nothing downstream (null hash: the writer's state key, as for names);
 *   - the value is saved with the writer's entry (a blob) and put in force in
 *     the worker before a later unit runs, at the version a fresh run would
 *     have (back to a fresh worker's value where no unit wrote it yet);
 *     a value that could not be saved is rebuilt by replaying its writer.
 * Per unit, `unit.settings` holds {pseudo-name: value hash or null} for the
 * settings it wrote (from its run, or from its entry on a hit).
 */
#ifndef WEFT_SETTINGS_H
#define WEFT_SETTINGS_H

#include <stdbool.h>

#include <jansson.h>

#include "planner/dataflow.h"
#include "util/hash.h"

#define SETTINGS_PREFIX "<setting:"

struct walk;

/* Is `name` a setting's pseudo-name? */
bool settings_is_pseudo(const char *name);

/* The value hash of setting `name` as unit `writer` left it, or NULL (none, or no setting). */
const char *settings_value(const struct dataflow *df, int writer, const char *name);

/* Add every setting that has a writer in the current writer map to `set` (an object used as a set). */
void settings_add_reads(const struct dataflow *df, json_t *set);

/*
 * Feed the dependency on setting `name` written by unit `writer` to h by its
 * value hash. Returns false (nothing fed) when `name` is no setting or its
 * value has no hash: the caller then uses the writer's state key.
 */
bool settings_hash_dep(const struct dataflow *df, int writer, const char *name, struct hasher *h);

/*
 * After unit ui ran with tracking: append the settings its record says it
 * changed to `writes` and remember their value hashes on the unit. For a
 * unit outside the cache (cache=False) they are also memoised under its key,
 * so --frozen (which runs nothing) still knows what it writes.
 */
void settings_record_run(struct walk *w, size_t ui, const json_t *record, json_t *writes);

/* --frozen, cache=False unit ui: append the settings its last run wrote (memo) to `writes`. */
void settings_frozen_writes(struct walk *w, size_t ui, json_t *writes);

/*
 * Save the values of the settings unit ui wrote (right after it ran) into
 * blobs, adding their hashes to `blobs`. Returns the entry's "settings"
 * object {name: {"hash": h|null, "blob": hash} | {"hash", "pristine": true} |
 * {"hash", "unsaveable": why}} ("pristine": a fresh worker's value),
 * or NULL when the unit wrote none. Never fails the entry: a value that
 * cannot be saved is marked so, and rebuilt by replay when needed.
 */
json_t *settings_save(struct walk *w, size_t ui, json_t *blobs);

/* A hit: take the value hashes of the settings unit ui wrote from its entry. */
void settings_apply_hit(struct walk *w, size_t ui, const json_t *meta);

/*
 * Before a unit runs (or is replayed) with dependencies `deps`: every setting
 * at the version in deps, and every setting the worker holds a changed value
 * of but deps do not name back to a fresh worker's value; from the writers'
 * entries in one request, else by replaying the writer. restore_deps leaves
 * settings to this (restore_version does nothing for them): call it after.
 */
int settings_sync(struct walk *w, const json_t *deps, struct weft_error *err);

#endif
