/*
 * entry: a unit's cache entry: stored after it runs (outputs, saved names,
 * files read and written, random state), checked before it is reused, applied
 * on a hit, and compared with the current unit to explain a miss.
 */
#ifndef WEFT_ENTRY_H
#define WEFT_ENTRY_H

#include "planner/walk.h"

/*
 * Is entry `meta` still valid now: every file it read unchanged, and the random
 * state it started from the current one? 1 yes; 0 no, with the reason in why.
 */
int entry_valid(struct walk *w, const json_t *meta, struct strbuf *why);

/* Explain why unit ui misses, comparing with the chunk's latest entry. */
void entry_explain_miss(struct walk *w, size_t ui, struct strbuf *why);

/* Take unit ui's results from entry `meta`. Returns 1 used, 0 unusable (a miss). */
int entry_apply_hit(struct walk *w, size_t ui, json_t *meta, enum chunk_state state);

/* The outputs document entry `meta` names, read from its blob; new reference, or NULL (a miss). */
json_t *entry_outputs_load(struct walk *w, const json_t *meta);

/*
 * Hand a file the worker saved (in the store's tmp folder) to the store as a
 * blob, adopting the XXH3-128 the worker computed as it wrote it (`hash`, a
 * JSON string, or NULL: the store hashes the file). h gets the blob's hash.
 * 0, or -1 with err.
 */
int entry_put_saved_file(struct store *st, const char *path, const json_t *hash, char h[STORE_HASH_SIZE],
			 struct weft_error *err);

/* Fingerprints of files read, as {entry path: text}. Unreadable files are dropped. */
json_t *entry_fingerprint_files(const struct walk *w, const json_t *paths);

/*
 * Make the entry of unit ui, which just ran with tracking record `rec`: its
 * names, files and outputs go to the store's blobs now; the entry becomes
 * the walk's pending one (written by entry_write_pending), after the one
 * pending before it is written. A failure is a warning naming the chunk,
 * which then is not cached: a chunk that ran fine never fails the render.
 */
void entry_store(struct walk *w, size_t ui, const json_t *rec, const json_t *files_read,
		 const char *rng_in, bool rng_changed, double seconds);

/*
 * Write the walk's pending entry, if any, into the store; a failure is a
 * warning naming the chunk, which then is not cached. Takes the walk as
 * void * to serve as a run_request's `meanwhile` work.
 */
void entry_write_pending(void *walk);

#endif
