/*
 * store_gc: the store's housekeeping: `weft cache gc` (unreferenced blobs and
 * entries, old memo values, least recently used entries beyond a size) and
 * `weft cache clean`, under the store's lock (store_internal.h, store.h).
 */
#include "cache/store.h"
#include "cache/store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* housekeeping                                                        */

/* One integer from a query without parameters (0 on error, with err set). */
static int query_u64(struct store *st, const char *sql, uint64_t *out, struct weft_error *err)
{
	sqlite3_stmt *s = store_db_prepare(st, sql, err);
	if (!s)
		return -1;
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		store_db_error(st, err, "cannot count");
		sqlite3_finalize(s);
		return -1;
	}
	*out = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

#define REFERENCED_BLOBS "FROM blob WHERE hash IN (SELECT hash FROM entry_blob)"

int store_stats(struct store *st, struct store_stats *stats, struct weft_error *err)
{
	memset(stats, 0, sizeof(*stats));
	if (query_u64(st, "SELECT count(*) FROM entry", &stats->entries, err) < 0 ||
	    query_u64(st, "SELECT count(*) " REFERENCED_BLOBS, &stats->blobs, err) < 0 ||
	    query_u64(st, "SELECT coalesce(sum(size), 0) " REFERENCED_BLOBS, &stats->blob_bytes,
		      err) < 0 ||
	    query_u64(st, "SELECT count(*) FROM memo", &stats->memos, err) < 0)
		return -1;
	return 0;
}

/*
 * Remove abandoned temporary files: those named for a process that no
 * longer exists, and any untouched for STORE_TMP_MAX_AGE_SECONDS (a live
 * writer keeps touching its file). Returns how many were removed.
 */
uint64_t store_sweep_tmp(struct store *st, int dead_only)
{
	DIR *d = opendir(st->tmp_dir);
	if (!d)
		return 0;
	uint64_t removed = 0;
	time_t now = time(NULL);
	struct strbuf path;
	strbuf_init(&path);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", st->tmp_dir, de->d_name);
		struct stat sb;
		if (lstat(path.buf, &sb) < 0)
			continue;
		int stale = !dead_only && now - sb.st_mtime > STORE_TMP_MAX_AGE_SECONDS;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (!stale && end != de->d_name && *end == '-' && pid > 0 && pid != (long)getpid() &&
		    kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			stale = 1;
		if (stale && !S_ISDIR(sb.st_mode) && unlink(path.buf) == 0)
			removed++;
	}
	closedir(d);
	strbuf_free(&path);
	return removed;
}

/* Sorted list of hash strings, for membership tests during a directory walk. */
struct hash_set {
	char **v;
	size_t n, alloc;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int hash_set_has(const struct hash_set *hs, const char *h)
{
	return hs->n && bsearch(&h, hs->v, hs->n, sizeof(char *), cmp_str) != NULL;
}

static void hash_set_free(struct hash_set *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		free(hs->v[i]);
	free(hs->v);
	memset(hs, 0, sizeof(*hs));
}

/* Fill hs from a one-column query of hashes; sorted. */
static int hash_set_load(struct store *st, struct hash_set *hs, const char *sql,
			 struct weft_error *err)
{
	sqlite3_stmt *s = store_db_prepare(st, sql, err);
	if (!s)
		return -1;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(s, 0);
		ARRAY_GROW(hs->v, hs->n + 1, hs->alloc);
		hs->v[hs->n++] = xstrdup(h ? h : "");
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_db_error(st, err, "cannot list blobs");
	if (hs->n)
		qsort(hs->v, hs->n, sizeof(char *), cmp_str);
	return 0;
}

/* Run a one-parameter statement (text). */
static int exec_with(struct store *st, const char *sql, const char *arg, struct weft_error *err)
{
	sqlite3_stmt *s = store_db_prepare(st, sql, err);
	if (!s)
		return -1;
	store_bind_text(s, 1, arg);
	return store_db_step_done(st, s, sql, err);
}

/*
 * Walk blobs/: delete files that are not referenced, unless younger than
 * STORE_GC_GRACE_SECONDS (keep_none: delete every file), and collect the
 * referenced ones present into `present`. Runs inside a write transaction.
 */
static int sweep_blob_files(struct store *st, const struct hash_set *referenced, int keep_none,
			    struct hash_set *present, struct store_gc_report *rep,
			    struct weft_error *err)
{
	DIR *top = opendir(st->blobs_dir);
	if (!top)
		return weft_error_errno(err, st->blobs_dir, "cannot list cache blobs");
	struct strbuf sub, path;
	strbuf_init(&sub);
	strbuf_init(&path);
	struct dirent *de;
	int rc = 0;
	time_t young = time(NULL) - STORE_GC_GRACE_SECONDS;
	while (rc == 0 && (de = readdir(top))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		strbuf_reset(&sub);
		strbuf_addf(&sub, "%s/%s", st->blobs_dir, de->d_name);
		struct stat sb;
		if (lstat(sub.buf, &sb) < 0)
			continue;
		if (!S_ISDIR(sb.st_mode) || !hash_is_hex(de->d_name, 2)) {
			/* Not ours: nothing but blob directories belongs here. */
			if (!S_ISDIR(sb.st_mode) && unlink(sub.buf) == 0)
				rep->blobs_removed++;
			continue;
		}
		DIR *d = opendir(sub.buf);
		if (!d)
			continue;
		struct dirent *fe;
		while ((fe = readdir(d))) {
			if (!strcmp(fe->d_name, ".") || !strcmp(fe->d_name, ".."))
				continue;
			/* A blob's name is its hash: 2 characters of directory, 30 of file. */
			char name[STORE_HASH_SIZE] = "";
			if (strlen(fe->d_name) == 30) {
				memcpy(name, de->d_name, 2);
				memcpy(name + 2, fe->d_name, 31);
			}
			strbuf_reset(&path);
			strbuf_addf(&path, "%s/%s", sub.buf, fe->d_name);
			struct stat fb;
			if (lstat(path.buf, &fb) < 0)
				continue;
			int valid = hash_is_hex(name, 32) && S_ISREG(fb.st_mode);
			if (valid && !keep_none && hash_set_has(referenced, name)) {
				ARRAY_GROW(present->v, present->n + 1, present->alloc);
				present->v[present->n++] = xstrdup(name);
				continue;
			}
			if (valid && !keep_none && fb.st_mtime > young)
				continue; /* perhaps about to be referenced */
			if (S_ISDIR(fb.st_mode) || unlink(path.buf) < 0)
				continue;
			rep->blobs_removed++;
			rep->bytes_removed += (uint64_t)fb.st_size;
			if (valid && exec_with(st, "DELETE FROM blob WHERE hash=?1", name, err) < 0) {
				rc = -1;
				break;
			}
		}
		closedir(d);
	}
	closedir(top);
	strbuf_free(&sub);
	strbuf_free(&path);
	if (rc == 0 && present->n)
		qsort(present->v, present->n, sizeof(char *), cmp_str);
	return rc;
}

/*
 * Delete blob rows (and files) no entry references any more; with grace,
 * spare those younger than STORE_GC_GRACE_SECONDS. Runs inside a write
 * transaction.
 */
static int drop_unreferenced(struct store *st, int grace, struct store_gc_report *rep,
			     struct weft_error *err)
{
	time_t young = time(NULL) - STORE_GC_GRACE_SECONDS;
	struct hash_set gone = { 0 };
	if (hash_set_load(st, &gone,
			  "SELECT hash FROM blob WHERE hash NOT IN (SELECT hash FROM entry_blob)",
			  err) < 0)
		return -1;
	struct strbuf path;
	strbuf_init(&path);
	int rc = 0;
	for (size_t i = 0; i < gone.n && rc == 0; i++) {
		strbuf_reset(&path);
		struct stat sb;
		if (store_blob_path(st, gone.v[i], &path) < 0)
			continue;
		int exists = lstat(path.buf, &sb) == 0;
		if (grace && exists && sb.st_mtime > young)
			continue; /* perhaps about to be referenced: keep row and file */
		if (exists && unlink(path.buf) == 0) {
			rep->blobs_removed++;
			rep->bytes_removed += (uint64_t)sb.st_size;
		}
		rc = exec_with(st, "DELETE FROM blob WHERE hash=?1", gone.v[i], err);
	}
	strbuf_free(&path);
	hash_set_free(&gone);
	return rc;
}

/* Evict least recently used entries until referenced blobs fit in
 * max_bytes. Per entry, only its own blobs are checked for other users,
 * so a large eviction stays linear. */
static int evict_lru(struct store *st, uint64_t max_bytes, struct store_gc_report *rep,
		     struct weft_error *err)
{
	uint64_t total;
	if (query_u64(st, "SELECT coalesce(sum(size), 0) FROM blob", &total, err) < 0)
		return -1;
	if (total <= max_bytes)
		return 0;
	struct hash_set keys = { 0 }, mine = { 0 };
	/* Order matters here, so keep the query's order (no hash_set sort). */
	sqlite3_stmt *s = store_db_prepare(st, "SELECT key FROM entry ORDER BY last_used, created", err);
	if (!s)
		return -1;
	while (sqlite3_step(s) == SQLITE_ROW) {
		ARRAY_GROW(keys.v, keys.n + 1, keys.alloc);
		keys.v[keys.n++] = xstrdup((const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	sqlite3_stmt *list = store_db_prepare(st, "SELECT hash FROM entry_blob WHERE key=?1", err);
	sqlite3_stmt *del = store_db_prepare(st, "DELETE FROM entry WHERE key=?1", err);
	sqlite3_stmt *orphan = store_db_prepare(st,
					  "DELETE FROM blob WHERE hash=?1 AND NOT EXISTS"
					  " (SELECT 1 FROM entry_blob WHERE hash=?1) RETURNING size",
					  err);
	int rc = list && del && orphan ? 0 : -1;
	struct strbuf path;
	strbuf_init(&path);
	for (size_t i = 0; i < keys.n && total > max_bytes && rc == 0; i++) {
		hash_set_free(&mine);
		sqlite3_reset(list);
		store_bind_text(list, 1, keys.v[i]);
		while (sqlite3_step(list) == SQLITE_ROW) {
			ARRAY_GROW(mine.v, mine.n + 1, mine.alloc);
			mine.v[mine.n++] = xstrdup((const char *)sqlite3_column_text(list, 0));
		}
		sqlite3_reset(list);
		sqlite3_reset(del);
		store_bind_text(del, 1, keys.v[i]);
		if (sqlite3_step(del) != SQLITE_DONE) {
			rc = store_db_error(st, err, "cannot evict entry");
			break;
		}
		rep->entries_removed++;
		for (size_t k = 0; k < mine.n && rc == 0; k++) {
			sqlite3_reset(orphan);
			store_bind_text(orphan, 1, mine.v[k]);
			int src = sqlite3_step(orphan);
			if (src == SQLITE_ROW) {
				uint64_t size = (uint64_t)sqlite3_column_int64(orphan, 0);
				strbuf_reset(&path);
				store_blob_path(st, mine.v[k], &path);
				if (unlink(path.buf) == 0) {
					rep->blobs_removed++;
					rep->bytes_removed += size;
				}
				total = size > total ? 0 : total - size;
				src = sqlite3_step(orphan);
			}
			if (src != SQLITE_DONE)
				rc = store_db_error(st, err, "cannot drop evicted blob");
		}
	}
	sqlite3_finalize(list);
	sqlite3_finalize(del);
	sqlite3_finalize(orphan);
	strbuf_free(&path);
	hash_set_free(&mine);
	hash_set_free(&keys);
	return rc;
}

/* The referenced blobs whose files exist (a stat each, nothing removed), sorted. */
static int blob_files_present(struct store *st, const struct hash_set *referenced,
			      struct hash_set *present)
{
	struct strbuf path;
	strbuf_init(&path);
	for (size_t i = 0; i < referenced->n; i++) {
		struct stat sb;
		strbuf_reset(&path);
		if (store_blob_path(st, referenced->v[i], &path) < 0)
			continue;
		if (lstat(path.buf, &sb) < 0 && errno == ENOENT)
			continue; /* gone: its entries are dead */
		ARRAY_GROW(present->v, present->n + 1, present->alloc);
		present->v[present->n++] = xstrdup(referenced->v[i]);
	}
	strbuf_free(&path);
	if (present->n)
		qsort(present->v, present->n, sizeof(char *), cmp_str);
	return 0;
}

int store_gc(struct store *st, uint64_t max_bytes, struct store_gc_report *report,
	     struct weft_error *err)
{
	return store_gc_wait(st, max_bytes, 0, report, err);
}

int store_gc_wait(struct store *st, uint64_t max_bytes, int wait, struct store_gc_report *report,
		  struct weft_error *err)
{
	struct store_gc_report rep;
	memset(&rep, 0, sizeof(rep));
	store_flush_used(st); /* so LRU order includes this run's hits */
	if (store_blob_flush(st, err) < 0)
		return -1;
	/*
	 * A running render holds the lock shared and may still read any blob
	 * it found an entry for (its hits are only marked used at its end, so
	 * LRU order cannot protect them), or one whose entry another render
	 * just replaced. So blobs and entries are removed only under the
	 * exclusive lock; beside a render only what no render can use goes:
	 * temporary files of dead processes and entries whose blobs are gone.
	 */
	int exclusive = store_lock_exclusive(st, wait);
	rep.renders_running = !exclusive;
	rep.tmp_removed = store_sweep_tmp(st, !exclusive);

	struct hash_set referenced = { 0 }, present = { 0 };
	if (store_tx_begin(st, err) < 0)
		goto fail_notx;
	if (hash_set_load(st, &referenced, "SELECT DISTINCT hash FROM entry_blob", err) < 0)
		goto fail;
	if (exclusive) {
		if (sweep_blob_files(st, &referenced, 0, &present, &rep, err) < 0)
			goto fail;
	} else if (blob_files_present(st, &referenced, &present) < 0) {
		goto fail;
	}
	/* Referenced blobs whose file is gone: their entries are dead. */
	for (size_t i = 0; i < referenced.n; i++) {
		if (hash_set_has(&present, referenced.v[i]))
			continue;
		sqlite3_stmt *s = store_db_prepare(st,
					     "DELETE FROM entry WHERE key IN"
					     " (SELECT key FROM entry_blob WHERE hash=?1)",
					     err);
		if (!s)
			goto fail;
		store_bind_text(s, 1, referenced.v[i]);
		if (store_db_step_done(st, s, "cannot drop entries with missing blobs", err) < 0)
			goto fail;
		rep.entries_removed += (uint64_t)sqlite3_changes(st->db);
		if (exec_with(st, "DELETE FROM blob WHERE hash=?1", referenced.v[i], err) < 0)
			goto fail;
	}
	/* Blobs that only the entries dropped above referenced. */
	if (exclusive && drop_unreferenced(st, 1, &rep, err) < 0)
		goto fail;
	if (exclusive && max_bytes != STORE_GC_NO_LIMIT && evict_lru(st, max_bytes, &rep, err) < 0)
		goto fail;
	sqlite3_stmt *s = store_db_prepare(st, "DELETE FROM memo WHERE last_used < ?1", err);
	if (!s)
		goto fail;
	sqlite3_bind_double(s, 1, store_now_seconds() - STORE_MEMO_MAX_AGE_SECONDS);
	if (store_db_step_done(st, s, "cannot drop old memo values", err) < 0)
		goto fail;
	if (store_tx_commit(st, err) < 0)
		goto fail;
	if (exclusive)
		store_lock_share(st);
	hash_set_free(&referenced);
	hash_set_free(&present);
	struct store_stats stats;
	if (store_stats(st, &stats, err) < 0)
		return -1;
	rep.entries_kept = stats.entries;
	rep.blobs_kept = stats.blobs;
	rep.bytes_kept = stats.blob_bytes;
	if (report)
		*report = rep;
	return 0;
fail:
	store_tx_rollback(st);
fail_notx:
	if (exclusive)
		store_lock_share(st);
	hash_set_free(&referenced);
	hash_set_free(&present);
	return -1;
}

int store_clean(struct store *st, const char *doc, uint64_t *removed, struct weft_error *err)
{
	struct store_gc_report rep;
	memset(&rep, 0, sizeof(rep));
	uint64_t n = 0;
	if (store_blob_flush(st, err) < 0)
		return -1;
	/* What a running render uses must stay until it ends (see store_gc). */
	if (!store_lock_exclusive(st, 0)) {
		weft_warn(st->dir, 0, "waiting for the renders using this cache to finish");
		store_lock_exclusive(st, 1);
	}
	if (!doc)
		store_sweep_tmp(st, 0);
	if (store_tx_begin(st, err) < 0) {
		store_lock_share(st);
		return -1;
	}
	sqlite3_stmt *s = store_db_prepare(st, doc ? "DELETE FROM entry WHERE doc=?1" : "DELETE FROM entry",
				     err);
	if (!s)
		goto fail;
	if (doc)
		store_bind_text(s, 1, doc);
	if (store_db_step_done(st, s, "cannot remove entries", err) < 0)
		goto fail;
	n = (uint64_t)sqlite3_changes(st->db);
	if (doc) {
		if (drop_unreferenced(st, 0, &rep, err) < 0)
			goto fail;
	} else {
		struct hash_set none = { 0 }, present = { 0 };
		int rc = store_db_exec(st, "DELETE FROM blob; DELETE FROM memo", err);
		if (rc == 0)
			rc = sweep_blob_files(st, &none, 1, &present, &rep, err);
		hash_set_free(&present);
		if (rc < 0)
			goto fail;
	}
	if (store_tx_commit(st, err) < 0)
		goto fail;
	/* Forget pending use marks for rows that are gone (harmless, but tidy). */
	if (!doc) {
		for (size_t i = 0; i < st->nused; i++) {
			free(st->used[i].ns);
			free(st->used[i].key);
		}
		st->nused = 0;
	}
	store_lock_share(st);
	if (removed)
		*removed = n;
	return 0;
fail:
	store_tx_rollback(st);
	store_lock_share(st);
	return -1;
}
