/*
 * inputs: what a chunk reads besides the files it opens, and the file-system
 * changes it makes besides the files it writes (issue 8, classes 7 and 8).
 *
 * The worker records them while a tracked chunk runs (weft_inputs.py):
 * typed inputs (an existence check or stat of a path, a folder's listing, an
 * environment variable, the whole environment, the working directory's
 * path), the subprocesses it started, and its deletions and folders made, in
 * order. They travel with the chunk's entry ("inputs", "fs_ops", "volatile")
 * and are checked here in C, without Python, every time the entry would be
 * reused: an entry is valid only while each input still gives what the chunk
 * saw. They also go into the chunk's state key, so chunks reading its names
 * re-run when it re-ran because of them.
 *
 * A chunk that starts a subprocess (or os.system, exec, fork) reads what weft
 * cannot see: it re-runs every render ("volatile"), unless it declares its
 * inputs with depends_on_files=[paths or globs] (fingerprinted like files it
 * opened, plus each pattern's match list) or takes responsibility with
 * cache_extra=.
 *
 * Entry paths are relative to the document's folder when inside it (as for
 * files read and written), so a copied or moved folder keeps its entries.
 */
#ifndef WEFT_INPUTS_H
#define WEFT_INPUTS_H

#include <stdbool.h>

#include <jansson.h>

#include "planner/walk.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/strbuf.h"

/*
 * After unit ui ran with tracking record `rec` (may be NULL: inline code),
 * before its state key is set: rewrites rec's "inputs" and "fs_ops" with
 * entry paths, adds the declared depends_on_files inputs (each matching
 * file's fingerprint into files_read, each pattern's match list as an input)
 * and sets rec["volatile"] to the reason when the chunk started a subprocess
 * without declaring its inputs (with a warning naming the chunk).
 */
void inputs_after_run(struct walk *w, size_t ui, json_t *rec, json_t *files_read);

/*
 * Mix the inputs of `holder` (a run's record, or an entry's meta on a hit)
 * into unit ui's state key, which dataflow_set_state has just set; nothing
 * when none were recorded. A volatile chunk that `ran` gets a state key
 * unique to this run instead: its results may differ every time.
 */
void inputs_mix_state(struct walk *w, size_t ui, const json_t *holder, bool ran);

/* Copy rec's "inputs", "fs_ops" and "volatile" into entry `meta`. */
void inputs_to_meta(const json_t *rec, json_t *meta);

/*
 * Is every input of entry `meta` unchanged (and the entry not volatile)?
 * 1 yes; 0 no, with the reason appended to why ("folder data/ listing
 * changed", "environment variable X changed", ...).
 */
int inputs_valid(const struct walk *w, const json_t *meta, struct strbuf *why);

/*
 * On a hit: apply the entry's deletions and folders made, in order (before
 * its written files are restored). Failures are warnings naming the chunk.
 */
void inputs_apply_fs_ops(struct walk *w, size_t ui, const json_t *meta);

/* Make the folders leading to `path` (a written file restored on a hit). */
int inputs_make_parents(const char *path, struct weft_error *err);

/*
 * The digest of a folder's listing, as weft_inputs.listing_digest computes
 * it (exposed for the unit tests): BLAKE2b-256 hex of the sorted entries.
 */
void inputs_listing_digest(const char *path, char out[HASH_HEX_SIZE]);

#endif
