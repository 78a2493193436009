/*
 * store: weft's cache directory. A SQLite index plus content-addressed blob
 * files; the planner decides what goes into an entry, the store keeps it
 * safely.
 *
 * Layout of a cache directory (0700, owned by the user):
 *
 *   index.sqlite        entries, the blobs each entry references, memo
 *                       values (WAL mode: -wal and -shm files beside it)
 *   blobs/ab/cdef...    blob files named by the XXH3-128 of their contents
 *   tmp/                temporary files; a blob is written here and renamed
 *                       into blobs/ only once its bytes are on disk
 *
 * Trust. Pickled objects are code, so an entry is only returned when its
 * MAC verifies: a keyed BLAKE2b, under a 32-byte secret private to the user
 * ($XDG_CONFIG_HOME/weft/key, else ~/.config/weft/key; created 0600 on first
 * use), over the entry key and the canonical text of its metadata. A cache
 * directory that another user owns or can write is refused at open. Blob
 * names are XXH3-128: that catches corruption, not forgery; forgery is kept
 * out by the directory permissions.
 *
 * Concurrency and crashes. Several processes may share a directory: each
 * holds <dir>/lock shared while its store is open, and gc/clean remove
 * blobs and entries only with it taken exclusively (store_gc_wait). The
 * index is in WAL mode with a busy timeout, and every index change is one
 * transaction. A blob becomes visible only by rename after fsync of the
 * file, and its directory is fsynced before any entry refers to it. A
 * process killed at any moment leaves a usable store: at worst temporary
 * files (removed by the next store_open once their process is dead) or
 * blobs no entry references yet (removed by store_gc). A damaged index is
 * moved aside to index.sqlite.corrupt and started afresh, with a warning. An
 * entry whose blob is missing or has the wrong size is a miss; a blob whose
 * contents fail their hash is a miss with a warning, and is removed. A
 * store handle must not be used across fork(): open one in each process.
 *
 * Entry metadata is opaque here; a hit checks the MAC and the presence and
 * size of the entry's blobs, not their contents: read blobs through
 * store_blob_read, or hand another process a store_blob_open descriptor (a
 * path checked by store_blob_verify could be replaced before the other
 * process opens it).
 *
 *   struct store *st;
 *   if (store_open(&st, dir, &err) < 0) ...
 *   store_blob_put_mem(st, data, len, hash, &err);
 *   store_entry_put(st, key, meta, &hash_ptr, 1, "doc.pmd", "#3", 0.2, &err);
 *   ...
 *   if (store_entry_get(st, key, &meta, &err) == 1) { ...; json_decref(meta); }
 *   store_close(st);
 *
 * Return convention: lookups return 1 (hit), 0 (miss) or -1 (error, err
 * filled); other calls return 0 or -1. Every error names the cache
 * directory or the file inside it.
 */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include <stdint.h>

#include <jansson.h>

#include "util/error.h"
#include "util/hash.h"
#include "util/strbuf.h"

/* Index schema version (PRAGMA user_version); another value is refused. */
#define STORE_SCHEMA_VERSION 1
/* Room for a blob hash: 32 hex characters plus NUL. */
#define STORE_HASH_SIZE XXH128_HEX_SIZE
/* Temporary files untouched this long are assumed abandoned by store_gc. */
#define STORE_TMP_MAX_AGE_SECONDS 3600
/* store_gc spares unreferenced blobs published or reused this recently: a
 * concurrent writer may be about to commit an entry that references them. */
#define STORE_GC_GRACE_SECONDS 600

struct store;

/* ---- opening ---- */

/*
 * Resolve the cache directory into out (replacing its contents): cli_dir
 * (--cache-dir) if given and non-empty, else $WEFT_CACHE_DIR if non-empty,
 * else ".weft-cache" in the directory of doc_path (the current directory
 * when doc_path is NULL or "-").
 */
void store_default_dir(const char *doc_path, const char *cli_dir, struct strbuf *out);

/*
 * Open (creating as needed) the cache directory `dir`: the directory and
 * missing parents are made 0700; the index gets its schema; the user's key
 * is read or created. Refuses, with an error naming the path, a directory,
 * index, blobs/ or tmp/ owned by another user or writable by group or
 * others, a key file readable or writable by anyone else, an index that is
 * not a SQLite database, and an index of an unknown schema version.
 */
int store_open(struct store **out, const char *dir, struct weft_error *err);
/* Publish waiting blobs, write last-used times, close the index, free the
 * handle. Failures here only warn. NULL is a no-op. */
void store_close(struct store *st);
/* The directory this store lives in. */
const char *store_dir(const struct store *st);
/*
 * The directory for temporary files (same filesystem as the blobs, so a
 * finished file can be renamed in). Writers should name files
 * "<pid>-<anything>": store_gc removes those of dead processes at once, and
 * any other file there once it is STORE_TMP_MAX_AGE_SECONDS old.
 */
const char *store_tmp_dir(const struct store *st);
/* A fresh, unused path in the tmp dir for this process, appended to out. */
void store_tmp_path(struct store *st, struct strbuf *out);

/* ---- blobs ----
 *
 * A put returns the blob's hash at once but publishes it lazily: the file
 * waits, complete, in tmp/ until store_blob_flush, which fdatasyncs every
 * waiting file, renames each into blobs/, then fsyncs the directories, so
 * a blob becomes visible only by rename after its bytes are on disk. The
 * syncs of one flush run in parallel, which lets the filesystem fold them
 * into one journal commit (several times faster than one by one).
 * store_entry_put, store_blob_read/verify of a waiting blob, store_gc,
 * store_clean and store_close flush first, so callers need not.
 */

/*
 * Add a finished file, written inside store_tmp_dir, to the blob store.
 * Its XXH3-128 is computed here and written to hash_out; from then on the
 * store owns the file (it is renamed into blobs/ or, if an equal blob
 * exists already, removed). On error the file is left for the caller.
 */
int store_blob_put_file(struct store *st, const char *tmp_path, char hash_out[STORE_HASH_SIZE],
			struct weft_error *err);
/*
 * The same for a file whose XXH3-128 its writer computed while writing it
 * (the worker hashes a 1 GiB buffer from memory as it writes, which spares
 * reading it back). The hash is checked again whenever the blob is read or
 * verified, so a wrong one costs a cache miss, never a wrong result.
 */
int store_blob_adopt(struct store *st, const char *tmp_path, const char *hash, struct weft_error *err);
/* Store a buffer as a blob (written to a temp file now, published at flush). */
int store_blob_put_mem(struct store *st, const void *data, size_t len,
		       char hash_out[STORE_HASH_SIZE], struct weft_error *err);
/* Publish every waiting blob (see above). On failure the waiting blobs are
 * dropped (their temp files removed) and an error names the failing file. */
int store_blob_flush(struct store *st, struct weft_error *err);
/*
 * Append the path of blob `hash` to out, for readers that mmap it. Returns
 * 0, or -1 when hash is not a well-formed blob hash (never a path built
 * from unchecked text). The file may not exist (or may still be waiting
 * to be published): call store_blob_verify first, or treat a failure to
 * open it as a miss.
 */
int store_blob_path(const struct store *st, const char *hash, struct strbuf *out);
/*
 * Read a blob into out (appending) and check its hash. 1: read; 0: missing
 * or corrupt (a warning is printed and a corrupt blob removed); -1: I/O
 * error other than absence.
 */
int store_blob_read(struct store *st, const char *hash, struct strbuf *out,
		    struct weft_error *err);
/* Re-hash a blob. 1 good, 0 missing or corrupt (warned and removed). */
int store_blob_verify(struct store *st, const char *hash);
/*
 * Open a blob for another process to read (the Python worker unpickles it):
 * the checks of store_blob_verify, done on the open descriptor, so what was
 * verified is what is read even if the path is replaced afterwards. The
 * descriptor (O_CLOEXEC; offset at the end: read with pread or seek to 0;
 * the caller closes it), or -1 for a miss (warned, as store_blob_verify).
 */
int store_blob_open(struct store *st, const char *hash);

/* ---- entries ---- */

/* What the index knows about an entry besides its metadata. */
struct store_entry_info {
	char *key;
	char *doc;          /* document path as the planner gave it */
	char *chunk;        /* chunk identity as the planner gave it (name or "#index") */
	double seconds;     /* run time of the chunk */
	double created;     /* Unix time */
	double last_used;   /* Unix time */
	json_t *meta;       /* the metadata when asked for and its MAC verified, else NULL */
};
void store_entry_info_init(struct store_entry_info *info);
void store_entry_info_free(struct store_entry_info *info);

/*
 * Record (or replace) entry `key`: its metadata (opaque here, stored as
 * canonical JSON), the blob hashes it references (each must already be in
 * the store; a missing one fails the put, e.g. when a concurrent gc removed
 * it), the document and chunk it belongs to, and the chunk's run time. One
 * transaction.
 */
int store_entry_put(struct store *st, const char *key, json_t *meta, const char *const *blobs,
		    size_t nblobs, const char *doc, const char *chunk, double seconds,
		    struct weft_error *err);
/*
 * Look up entry `key`. 1: hit, *meta gets a new reference. 0: miss; also
 * for an entry whose MAC fails or whose blobs are missing or truncated
 * (warned, and the entry dropped). Marks the entry used (written at
 * store_close, in one transaction).
 */
int store_entry_get(struct store *st, const char *key, json_t **meta, struct weft_error *err);
/*
 * The most recently created entry for (doc, chunk) whose MAC verifies,
 * stale or not (for --frozen and for explaining why a chunk misses). 1
 * found (info filled, info->meta set), 0 none.
 */
int store_entry_latest_for_chunk(struct store *st, const char *doc, const char *chunk,
				 struct store_entry_info *info, struct weft_error *err);
/*
 * Call fn for every entry of doc (oldest first), info->meta set when its
 * MAC verifies. The info is only valid during the call. A non-zero return
 * from fn stops the walk and is returned.
 */
typedef int (*store_entry_fn)(const struct store_entry_info *info, void *data);
int store_entry_list_doc(struct store *st, const char *doc, store_entry_fn fn, void *data,
			 struct weft_error *err);
/* Remove one entry (its blobs stay until store_gc). 1 removed, 0 absent. */
int store_entry_remove(struct store *st, const char *key, struct weft_error *err);

/* ---- memo: small derived values (name analysis, highlighted code) ---- */

/* 1: hit, *value gets a new reference; 0: miss (also on a bad MAC, warned). */
int store_memo_get(struct store *st, const char *ns, const char *key, json_t **value,
		   struct weft_error *err);
/* Store any JSON value under (ns, key), replacing an old one. */
int store_memo_put(struct store *st, const char *ns, const char *key, json_t *value,
		   struct weft_error *err);

/* ---- housekeeping ---- */

struct store_stats {
	uint64_t entries, blobs, blob_bytes, memos;
};
/* Counts from the index (blobs: those entries reference). */
int store_stats(struct store *st, struct store_stats *stats, struct weft_error *err);

/*
 * Drop the entries of one document (doc non-NULL), then the blobs no entry
 * references any more; or (doc NULL) everything: entries, memo, blobs and
 * temporary files. *removed (if not NULL) gets the number of entries dropped.
 */
int store_clean(struct store *st, const char *doc, uint64_t *removed, struct weft_error *err);

#define STORE_GC_NO_LIMIT UINT64_MAX
struct store_gc_report {
	uint64_t tmp_removed;       /* abandoned temporary files */
	uint64_t blobs_removed;     /* unreferenced, corrupt-named or evicted blob files */
	uint64_t bytes_removed;
	uint64_t entries_removed;   /* evicted least-recently-used, or missing a blob */
	uint64_t blobs_kept, bytes_kept, entries_kept;
	int renders_running;        /* other processes had the store open: nothing
				       they may use was removed (see store_gc) */
};
/*
 * Collect garbage: abandoned temporary files, blob files no entry
 * references (older than STORE_GC_GRACE_SECONDS), entries whose blob files
 * are gone; then the least recently used entries (and the blobs only they
 * referenced) until the referenced blobs total at most max_bytes
 * (STORE_GC_NO_LIMIT: no limit). Holds the index's write lock while
 * deleting, so a concurrent store_entry_put either sees its blobs or fails
 * cleanly (which the grace period makes unlikely).
 */
int store_gc(struct store *st, uint64_t max_bytes, struct store_gc_report *report,
	     struct weft_error *err);
/*
 * store_gc beside running renders. Every process holds the cache's lock
 * file (<dir>/lock) shared while its store is open; blobs and entries are
 * removed only with the lock taken exclusively, so nothing a running
 * render found (and may still read) can disappear under it. When other
 * processes hold it, store_gc (wait 0) removes only temporary files of
 * dead processes and entries whose blob files are already gone, and sets
 * report->renders_running; wait 1 blocks until they have closed the store.
 * store_clean always waits (with a warning saying so).
 */
int store_gc_wait(struct store *st, uint64_t max_bytes, int wait, struct store_gc_report *report,
		  struct weft_error *err);

#endif
