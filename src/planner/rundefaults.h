/*
 * rundefaults: chunk option defaults that the document's own code sets while
 * it runs, applied to the chunks after it. In Pweave a chunk can write
 *
 *   import pweave
 *   pweave.rcParams["chunk"]["defaultoptions"].update({"echo": False})
 *
 * and every later chunk resolves its options from these defaults (Pweave
 * resolves each chunk's options when it reaches the chunk).
 *
 * The worker reports the defaults that differ from Pweave's own whenever a
 * unit's code changed them (src/engine/py/weft_pweave.py; the outcome's
 * chunk_defaults field). The walk keeps the defaults in force
 * (walk.run_defaults) and re-resolves, in place, the options of every chunk
 * after the unit: built-in defaults, then the front matter's, then these,
 * then the chunk's own (model/options.h). So the document's chunks carry,
 * after planner_weave, the options in force when each was reached, which is
 * what the renderers show. Options that decide which units exist or how they
 * are cached (name, evaluate, complete, source, cache, cache_rebuild,
 * dependson, cache_extra, depends_on_files) are not taken from code: a
 * warning names the one ignored.
 *
 * Cache soundness: a unit's entry records the defaults it left
 * ("chunk_defaults" in its meta), and a hit applies them again, so a cached
 * render resolves every chunk's options as the fresh run did. In the worker
 * the dict is a process setting (weft_settings "pweave.chunk_defaults"): a
 * chunk after a cached writer sees its value, and later keys depend on the
 * value; options that change what a chunk computes (term, fig, f_size, dpi)
 * reach its key through the re-resolved options.
 */
#ifndef WEFT_RUNDEFAULTS_H
#define WEFT_RUNDEFAULTS_H

#include <stddef.h>

#include <jansson.h>

#include "util/error.h"

struct walk;

/* Unit ui just ran (not a replay): apply the defaults its code changed, if any. */
void rundefaults_after_run(struct walk *w, size_t ui);

/*
 * Record in unit ui's new entry `meta` the defaults its run left, if it
 * changed them. Returns 0, or -1 with err when they cannot be recorded (the
 * entry must then not be stored: a hit would lose them).
 */
int rundefaults_to_meta(struct walk *w, size_t ui, json_t *meta, struct weft_error *err);

/* Unit ui is taken from entry `meta`: apply the defaults its run left, if any. */
void rundefaults_apply_hit(struct walk *w, size_t ui, const json_t *meta);

#endif
