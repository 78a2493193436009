/*
 * store_internal: what the store's source files share and nothing else sees:
 * the store's struct and the helpers of store.c that store_gc.c uses (the
 * index's statements and transactions, the lock, the clock). See store.h for
 * the store's API.
 */
#ifndef WEFT_STORE_INTERNAL_H
#define WEFT_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "cache/store.h"
#include "util/error.h"

/* How long a process waits for another one's write transaction. */
#define STORE_BUSY_TIMEOUT_MS 30000
/* Memo values unused this long are dropped by store_gc. */
#define STORE_MEMO_MAX_AGE_SECONDS (30.0 * 24 * 3600)

/* An entry or memo row read during this run, whose last_used is written at close. */
struct used_row {
	char *ns;   /* NULL for an entry */
	char *key;
};

/* A blob written to tmp/ and hashed, waiting to be published. */
struct pending_blob {
	char *tmp;
	char hash[STORE_HASH_SIZE];
};

struct store {
	char *dir;
	char *index_path;
	char *blobs_dir;
	char *tmp_dir;
	sqlite3 *db;
	unsigned char key[HASH_KEY_BYTES];
	struct used_row *used;
	size_t nused, used_alloc;
	unsigned tmp_counter;
	struct pending_blob *pending;   /* see store_blob_flush */
	size_t npending, pending_alloc;
	int lock_fd;                    /* <dir>/lock, held shared while open (see store_gc) */
	int damaged;                    /* SQLite found the index corrupt: rebuilt at close */
};

/* Wall-clock time as Unix seconds, for created/last_used columns. */
double store_now_seconds(void);

/* Prepare a statement; NULL on failure with err set. */
sqlite3_stmt *store_db_prepare(struct store *st, const char *sql, struct weft_error *err);

/* Bind a possibly NULL C string as TEXT (copied by SQLite). */
void store_bind_text(sqlite3_stmt *stmt, int i, const char *s);

/* Back from exclusive to shared. */
void store_lock_share(struct store *st);

/* Step a statement that returns no rows; finalizes it. */
int store_db_step_done(struct store *st, sqlite3_stmt *stmt, const char *what,
			struct weft_error *err);

/* Record an SQLite failure on the index, with what we were doing. */
int store_db_error(struct store *st, struct weft_error *err, const char *what);

/*
 * Remove abandoned temporary files: those named for a process that no
 * longer exists, and any untouched for STORE_TMP_MAX_AGE_SECONDS (a live
 * writer keeps touching its file). Returns how many were removed.
 */
uint64_t store_sweep_tmp(struct store *st, int dead_only);

/*
 * Take the lock exclusively: 1 taken, 0 other processes hold it (only with
 * !wait; the shared hold is given back). flock converts by dropping the
 * shared lock first, so two converters cannot deadlock. Release with
 * store_lock_share.
 */
int store_lock_exclusive(struct store *st, int wait);

/* Roll back, keeping the error that made us give up. */
void store_tx_rollback(struct store *st);

/* Commit the transaction; -1 with err when SQLite refuses. */
int store_tx_commit(struct store *st, struct weft_error *err);

/* Take the write lock now (not at the first write), so a transaction never
 * has to upgrade a read lock and fail with SQLITE_BUSY mid-way. */
int store_tx_begin(struct store *st, struct weft_error *err);

/* Write the last_used times of rows read during this run, in one transaction. */
void store_flush_used(struct store *st);

/* Run SQL without results. */
int store_db_exec(struct store *st, const char *sql, struct weft_error *err);

#endif
