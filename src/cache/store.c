/* store: the cache directory (SQLite index + content-addressed blobs); see store.h. */
#include "cache/store.h"

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

#include <sqlite3.h>

#include "cache/store_fault.h"

#include "cache/store_internal.h"

static void pending_drop(struct store *st);

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS entry ("
	"  key TEXT PRIMARY KEY,"
	"  meta TEXT NOT NULL,"      /* canonical JSON */
	"  mac TEXT NOT NULL,"       /* keyed BLAKE2b over key and meta */
	"  doc TEXT NOT NULL,"
	"  chunk TEXT NOT NULL,"
	"  seconds REAL NOT NULL,"
	"  created REAL NOT NULL,"
	"  last_used REAL NOT NULL);"
	"CREATE INDEX IF NOT EXISTS entry_doc_chunk ON entry(doc, chunk, created);"
	"CREATE INDEX IF NOT EXISTS entry_last_used ON entry(last_used);"
	"CREATE TABLE IF NOT EXISTS entry_blob ("
	"  key TEXT NOT NULL REFERENCES entry(key) ON DELETE CASCADE,"
	"  hash TEXT NOT NULL,"
	"  PRIMARY KEY (key, hash)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS entry_blob_hash ON entry_blob(hash);"
	"CREATE TABLE IF NOT EXISTS blob ("
	"  hash TEXT PRIMARY KEY,"
	"  size INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS memo ("
	"  ns TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  mac TEXT NOT NULL,"
	"  last_used REAL NOT NULL,"
	"  PRIMARY KEY (ns, key)) WITHOUT ROWID;";

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

/* Wall-clock time as Unix seconds, for created/last_used columns. */
double store_now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "dir/name" as a new string. */
static char *path_join(const char *dir, const char *name)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addf(&sb, "%s/%s", dir, name);
	return strbuf_detach(&sb, NULL);
}

/* Write all of buf, retrying short writes and EINTR. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = store_fault(STORE_FAULT_WRITE) ? -1
			    : write(fd, p, len > (1u << 30) ? (1u << 30) : len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) { /* no progress: an error with its own errno, not a loop */
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* mkdir -p with mode 0700 for every directory created. */
static int mkdir_p(const char *path, struct weft_error *err)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST) {
				weft_error_errno(err, p, "cannot create directory");
				free(p);
				return -1;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	struct stat st;
	if (stat(path, &st) < 0)
		return weft_error_errno(err, path, "cannot create directory");
	if (!S_ISDIR(st.st_mode))
		return weft_error_set(err, path, 0, 0, "exists but is not a directory");
	return 0;
}

/* check_private (below) on what stat or fstat said about `path`. */
static int check_private_stat(const struct stat *sp, const char *path, const char *what, mode_t forbidden,
			      struct weft_error *err)
{
	const struct stat st = *sp;
	if (S_ISLNK(st.st_mode))
		return weft_error_set(err, path, 0, 0,
				      "%s is a symbolic link; refusing to use it", what);
	if (st.st_uid != geteuid())
		return weft_error_set(err, path, 0, 0,
				      "%s is owned by uid %u, not by you (uid %u); refusing to "
				      "use it, as cached pickles are code",
				      what, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & forbidden)
		return weft_error_set(err, path, 0, 0,
				      "%s is accessible by other users (mode %04o); refusing to "
				      "use it, as cached pickles are code (fix: chmod %s %s)",
				      what, (unsigned)(st.st_mode & 07777),
				      forbidden == 077 ? "go-rwx" : "go-w", path);
	return 0;
}

/*
 * Refuse a path that someone else could have planted or can change: owned
 * by another user, or writable by group/others (for the key file: any
 * access by group/others). follow: stat the target of a symlink (the
 * top directory may legitimately be one); otherwise a symlink is refused.
 */
static int check_private(const char *path, const char *what, int follow, mode_t forbidden,
			 struct weft_error *err)
{
	struct stat st;
	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
		return weft_error_errno(err, path, "cannot inspect %s", what);
	return check_private_stat(&st, path, what, forbidden, err);
}

/* Same, but a missing path is fine (it will be created privately). */
static int check_private_if_exists(const char *path, const char *what, mode_t forbidden,
				   struct weft_error *err)
{
	struct stat st;
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return 0;
	return check_private(path, what, 0, forbidden, err);
}

/* Record an SQLite failure on the index, with what we were doing. */
int store_db_error(struct store *st, struct weft_error *err, const char *what)
{
	int code = sqlite3_errcode(st->db);
	int damaged = code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
	if (damaged)
		st->damaged = 1; /* store_close moves it aside, so the next run starts afresh */
	return weft_error_set(err, st->index_path, 0, 0, "cache index: %s: %s%s", what,
			      sqlite3_errmsg(st->db),
			      damaged ? " (the index is damaged: it is moved aside and started "
					"afresh when this run ends)" : "");
}

/* Run SQL without results. */
int store_db_exec(struct store *st, const char *sql, struct weft_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		weft_error_set(err, st->index_path, 0, 0, "cache index: %s: %s", sql,
			       msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Prepare a statement; NULL on failure with err set. */
sqlite3_stmt *store_db_prepare(struct store *st, const char *sql, struct weft_error *err)
{
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		store_db_error(st, err, "prepare");
		sqlite3_finalize(stmt);
		return NULL;
	}
	return stmt;
}

/* Bind a possibly NULL C string as TEXT (copied by SQLite). */
void store_bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, i);
}

/* Step a statement that returns no rows; finalizes it. */
int store_db_step_done(struct store *st, sqlite3_stmt *stmt, const char *what,
			struct weft_error *err)
{
	int rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_db_error(st, err, what);
		sqlite3_finalize(stmt);
		return -1;
	}
	sqlite3_finalize(stmt);
	return 0;
}

/* Take the write lock now (not at the first write), so a transaction never
 * has to upgrade a read lock and fail with SQLITE_BUSY mid-way. */
int store_tx_begin(struct store *st, struct weft_error *err)
{
	return store_db_exec(st, "BEGIN IMMEDIATE", err);
}

/* See store_internal.h. */
int store_tx_commit(struct store *st, struct weft_error *err)
{
	return store_db_exec(st, "COMMIT", err);
}

/* Roll back, keeping the error that made us give up. */
void store_tx_rollback(struct store *st)
{
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Canonical text of a JSON value: what the MAC covers and what is stored. */
static char *canonical_json(const json_t *v)
{
	return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
}

/* MAC of an entry: domain tag, key, canonical metadata. */
static void entry_mac(const struct store *st, const char *key, const char *text,
		      char out[HASH_HEX_SIZE])
{
	struct hasher h;
	hasher_init_keyed(&h, st->key);
	hasher_update_str(&h, "weft-entry-v1");
	hasher_update_str(&h, key);
	hasher_update_str(&h, text);
	hasher_final_hex(&h, out);
}

/* MAC of a memo value: domain tag, namespace, key, canonical value. */
static void memo_mac(const struct store *st, const char *ns, const char *key, const char *text,
		     char out[HASH_HEX_SIZE])
{
	struct hasher h;
	hasher_init_keyed(&h, st->key);
	hasher_update_str(&h, "weft-memo-v1");
	hasher_update_str(&h, ns);
	hasher_update_str(&h, key);
	hasher_update_str(&h, text);
	hasher_final_hex(&h, out);
}

/* ------------------------------------------------------------------ */
/* the user's secret key                                               */

/* Where the key lives: $XDG_CONFIG_HOME/weft/key or ~/.config/weft/key. */
static int key_path(struct strbuf *out, struct weft_error *err)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && xdg[0] == '/') {
		strbuf_addf(out, "%s/weft/key", xdg);
		return 0;
	}
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !*home)
		return weft_error_set(err, NULL, 0, 0,
				      "cannot find a home directory for the cache key "
				      "(set HOME or XDG_CONFIG_HOME)");
	strbuf_addf(out, "%s/.config/weft/key", home);
	return 0;
}

/* Make a new key file atomically; losing a race to another process is fine. */
static int key_create(const char *path, struct weft_error *err)
{
	unsigned char raw[HASH_KEY_BYTES];
	char hex[2 * HASH_KEY_BYTES + 2];
	randombytes_buf(raw, sizeof(raw));
	hash_to_hex(raw, sizeof(raw), hex);
	sodium_memzero(raw, sizeof(raw));
	strcat(hex, "\n");

	struct strbuf tmp;
	strbuf_init(&tmp);
	strbuf_addf(&tmp, "%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		weft_error_errno(err, tmp.buf, "cannot create cache key");
		strbuf_free(&tmp);
		return -1;
	}
	int rc = 0;
	if (write_all(fd, hex, strlen(hex)) < 0 || fsync(fd) < 0)
		rc = weft_error_errno(err, tmp.buf, "cannot write cache key");
	close(fd);
	sodium_memzero(hex, sizeof(hex));
	/* link() never replaces: whoever links first wins, the others read it. */
	if (rc == 0 && link(tmp.buf, path) < 0 && errno != EEXIST)
		rc = weft_error_errno(err, path, "cannot create cache key");
	unlink(tmp.buf);
	strbuf_free(&tmp);
	return rc;
}

/* Read the user's key, creating it on first use; refuse a key others can read. */
static int key_load(struct store *st, struct weft_error *err)
{
	struct strbuf path, dir, text;
	strbuf_init(&path);
	strbuf_init(&dir);
	strbuf_init(&text);
	int rc = -1;
	if (key_path(&path, err) < 0)
		goto out;
	strbuf_add(&dir, path.buf, (size_t)(strrchr(path.buf, '/') - path.buf));
	if (mkdir_p(dir.buf, err) < 0)
		goto out;
	/* A key folder others can write lets them swap the key file for one they know. */
	if (check_private(dir.buf, "cache key folder", 1, S_IWGRP | S_IWOTH, err) < 0)
		goto out;
	int fd = open(path.buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		if (key_create(path.buf, err) < 0)
			goto out;
		fd = open(path.buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		weft_error_errno(err, path.buf, "cannot open cache key");
		goto out;
	}
	close(fd);
	if (check_private(path.buf, "cache key file", 0, 077, err) < 0)
		goto out;
	if (strbuf_read_file(&text, path.buf) < 0) {
		weft_error_errno(err, path.buf, "cannot read cache key");
		goto out;
	}
	strbuf_rtrim(&text);
	size_t n = 0;
	if (text.len != 2 * HASH_KEY_BYTES ||
	    sodium_hex2bin(st->key, sizeof(st->key), text.buf, text.len, NULL, &n, NULL) != 0 ||
	    n != HASH_KEY_BYTES) {
		weft_error_set(err, path.buf, 0, 0,
			       "malformed cache key (expected %d hex characters); remove it "
			       "to make a new one (existing caches become misses)",
			       2 * HASH_KEY_BYTES);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(text.buf, text.len);
	strbuf_free(&path);
	strbuf_free(&dir);
	strbuf_free(&text);
	return rc;
}

/* ------------------------------------------------------------------ */
/* opening                                                             */

void store_default_dir(const char *doc_path, const char *cli_dir, struct strbuf *out)
{
	strbuf_reset(out);
	if (cli_dir && *cli_dir) {
		strbuf_addstr(out, cli_dir);
		return;
	}
	const char *env = getenv("WEFT_CACHE_DIR");
	if (env && *env) {
		strbuf_addstr(out, env);
		return;
	}
	const char *slash = doc_path && strcmp(doc_path, "-") ? strrchr(doc_path, '/') : NULL;
	if (slash == doc_path && slash)
		strbuf_addstr(out, "/.weft-cache");
	else if (slash)
		strbuf_addf(out, "%.*s/.weft-cache", (int)(slash - doc_path), doc_path);
	else
		strbuf_addstr(out, ".weft-cache");
}

/* PRAGMA user_version, or -1 with err set. */
static int read_user_version(struct store *st, struct weft_error *err)
{
	sqlite3_stmt *stmt = store_db_prepare(st, "PRAGMA user_version", err);
	if (!stmt)
		return -1;
	int version = -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		version = sqlite3_column_int(stmt, 0);
	else
		store_db_error(st, err, "cannot read schema version");
	sqlite3_finalize(stmt);
	return version;
}

/* Set up journal mode and schema; safe when several processes open a new
 * directory at once (the schema is made inside one write transaction). */
static int db_setup(struct store *st, struct weft_error *err)
{
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	/* Closing would otherwise checkpoint the WAL with an fsync on every
	 * run (~30 ms here); SQLite's automatic checkpoints bound its size. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	/* The first statement reads the header: a non-database fails here. */
	sqlite3_stmt *stmt = store_db_prepare(st, "PRAGMA journal_mode=WAL", err);
	if (!stmt)
		goto corrupt;
	int rc = sqlite3_step(stmt);
	/* Switching a new index to WAL needs it to itself for a moment; when
	 * several processes create one directory at once, take turns. */
	for (int tries = 0; (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries < 200; tries++) {
		sqlite3_reset(stmt);
		usleep(10000);
		rc = sqlite3_step(stmt);
	}
	if (rc != SQLITE_ROW) {
		store_db_error(st, err, "cannot switch to WAL mode");
		sqlite3_finalize(stmt);
		goto corrupt;
	}
	sqlite3_finalize(stmt);
	/* NORMAL in WAL mode: commits survive a killed process; only a power
	 * loss can drop the last commits, never corrupt the index. Blobs are
	 * fsynced before any entry points at them. */
	if (store_db_exec(st, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", err) < 0)
		return -1;
	/* Usual case: the schema exists, so no write lock is needed to see it. */
	int version = read_user_version(st, err);
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (version < 0)
		goto corrupt;
	if (store_tx_begin(st, err) < 0)
		goto corrupt;
	/* Read again under the lock: another process may have just made it. */
	version = read_user_version(st, err);
	if (version < 0) {
		store_tx_rollback(st);
		return -1;
	}
	if (version == 0) {
		struct strbuf sql;
		strbuf_init(&sql);
		strbuf_addf(&sql, "%s PRAGMA user_version=%d;", schema_sql, STORE_SCHEMA_VERSION);
		rc = store_db_exec(st, sql.buf, err);
		strbuf_free(&sql);
		if (rc < 0) {
			store_tx_rollback(st);
			return -1;
		}
	} else if (version != STORE_SCHEMA_VERSION) {
		store_tx_rollback(st);
		return weft_error_set(err, st->dir, 0, 0,
				      "cache directory has index schema version %d, this weft "
				      "knows version %d; use another --cache-dir or remove it",
				      version, STORE_SCHEMA_VERSION);
	}
	return store_tx_commit(st, err);
corrupt:
	if (sqlite3_errcode(st->db) == SQLITE_NOTADB || sqlite3_errcode(st->db) == SQLITE_CORRUPT)
		weft_error_set(err, st->index_path, 0, 0,
			       "cache index is not a valid SQLite database (%s); remove the "
			       "cache directory %s to start afresh",
			       sqlite3_errmsg(st->db), st->dir);
	return -1;
}

/* Free everything a store owns, without flushing. */
static void store_free(struct store *st)
{
	if (!st)
		return;
	if (st->db)
		sqlite3_close_v2(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases this process's share of the lock */
	for (size_t i = 0; i < st->nused; i++) {
		free(st->used[i].ns);
		free(st->used[i].key);
	}
	free(st->used);
	pending_drop(st);
	free(st->pending);
	free(st->dir);
	free(st->index_path);
	free(st->blobs_dir);
	free(st->tmp_dir);
	sodium_memzero(st->key, sizeof(st->key));
	free(st);
}

/* flock, retrying EINTR. */
static int flock_retry(int fd, int op)
{
	int rc;
	while ((rc = flock(fd, op)) < 0 && errno == EINTR)
		;
	return rc;
}

/*
 * Open <dir>/lock and take it shared: every process with the store open
 * holds it so (a render's worker reads blobs only while its weft process,
 * holding the lock, waits for it; the worker closes its copy), and store_gc /
 * store_clean take it exclusively before removing what a running render
 * may be using. Waits only while such a removal runs.
 */
static int lock_open(struct store *st, struct weft_error *err)
{
	char *path = path_join(st->dir, "lock");
	int rc = -1;
	st->lock_fd = store_fault(STORE_FAULT_CREATE) ? -1
		      : open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat sb;
	if (st->lock_fd < 0) {
		weft_error_errno(err, path, "cannot open the cache's lock file");
	} else if (fstat(st->lock_fd, &sb) < 0) {
		weft_error_errno(err, path, "cannot inspect the cache's lock file");
	} else if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022)) {
		weft_error_set(err, path, 0, 0,
			       "cache lock file is not a private regular file of yours "
			       "(mode %04o, uid %u); refusing to use the cache",
			       (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid);
	} else if (flock_retry(st->lock_fd, LOCK_SH) < 0) {
		weft_error_errno(err, path, "cannot lock the cache");
	} else {
		rc = 0;
	}
	free(path);
	return rc;
}

/*
 * Take the lock exclusively: 1 taken, 0 other processes hold it (only with
 * !wait; the shared hold is given back). flock converts by dropping the
 * shared lock first, so two converters cannot deadlock. Release with
 * lock_share.
 */
int store_lock_exclusive(struct store *st, int wait)
{
	if (flock_retry(st->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 1;
	if (wait && flock_retry(st->lock_fd, LOCK_EX) == 0)
		return 1;
	flock_retry(st->lock_fd, LOCK_SH);
	return 0;
}

/* Back from exclusive to shared. */
void store_lock_share(struct store *st)
{
	flock_retry(st->lock_fd, LOCK_SH);
}

/* Was the last failure on the index a damaged database (not a busy or I/O one)? */
static int db_damaged(struct store *st)
{
	int code = st->db ? sqlite3_errcode(st->db) & 0xff : 0;
	return code == SQLITE_NOTADB || code == SQLITE_CORRUPT;
}

/* Open the index file and set it up; -1 with err set (st->db may be left open). */
static int db_open(struct store *st, struct weft_error *err)
{
	if (sqlite3_open_v2(st->index_path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		if (st->db)
			store_db_error(st, err, "cannot open");
		else
			weft_error_set(err, st->index_path, 0, 0, "cache index: cannot open");
		return -1;
	}
	/* SQLite creates with 0644 & ~umask; the directory is private anyway,
	 * but keep the index private too. */
	chmod(st->index_path, 0600);
	return db_setup(st, err);
}

/*
 * Move the damaged index (and its -wal/-shm, whose frames must not be
 * replayed into a new file) aside to index.sqlite.corrupt*, replacing an
 * older one, and warn, once: a damaged index must not make every later
 * render warn and run uncached. The blobs stay, unreferenced, until
 * store_gc. Caller holds the lock exclusively and has closed the index.
 */
static void index_move_aside(struct store *st, const char *why)
{
	struct strbuf from, to;
	strbuf_init(&from);
	strbuf_init(&to);
	const char *sfx[3] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		strbuf_reset(&from);
		strbuf_reset(&to);
		strbuf_addf(&from, "%s%s", st->index_path, sfx[i]);
		strbuf_addf(&to, "%s.corrupt%s", st->index_path, sfx[i]);
		if (rename(from.buf, to.buf) < 0 && errno != ENOENT)
			weft_warn(from.buf, 0, "cannot move the damaged cache index aside: %s",
				  strerror(errno));
		else if (i == 0)
			weft_warn(st->index_path, 0,
				  "cache index was damaged (%s); moved it aside to %s and started "
				  "a new one: chunks run once more", why, to.buf);
	}
	strbuf_free(&from);
	strbuf_free(&to);
}

/*
 * store_open found the index damaged (not a database, or corrupt where
 * opening reads): under the exclusive lock, so processes that find it so
 * at the same time rebuild it once, look again (another may have rebuilt
 * it just now), move it aside and open a fresh one. -1 (the caller runs
 * uncached) when other processes keep the lock for more than 2 s.
 */
static int db_rebuild(struct store *st, struct weft_error *err)
{
	sqlite3_close_v2(st->db);
	st->db = NULL;
	/* Others holding the lock may be rebuilding it too, or be long renders
	 * that opened it before it broke: look again while waiting a little,
	 * but never wait for a render to end (then this run goes uncached). */
	int exclusive = 0, rc = -1;
	for (int tries = 0; tries < 40 && !exclusive; tries++) {
		if ((exclusive = store_lock_exclusive(st, 0)))
			break;
		weft_error_clear(err);
		if (db_open(st, err) == 0)
			return 0; /* rebuilt by another process meanwhile */
		sqlite3_close_v2(st->db);
		st->db = NULL;
		usleep(50000);
	}
	if (!exclusive)
		return weft_error_set(err, st->index_path, 0, 0,
				      "cache index is damaged, and other processes are using the "
				      "cache: it is rebuilt once they are done");
	weft_error_clear(err);
	rc = db_open(st, err);
	if (rc < 0 && db_damaged(st)) {
		char *why = xstrdup(sqlite3_errmsg(st->db));
		sqlite3_close_v2(st->db);
		st->db = NULL;
		index_move_aside(st, why);
		free(why);
		weft_error_clear(err);
		rc = db_open(st, err);
	}
	st->damaged = 0;
	store_lock_share(st);
	return rc;
}

/*
 * At close, after SQLite reported the index corrupt during the run: check
 * it (PRAGMA quick_check, only in this rare case) under the exclusive lock,
 * if no other process holds the lock, and move it aside if it is indeed
 * damaged, so the next run starts afresh instead of failing on every
 * lookup. Closes st->db.
 */
static void db_close_damaged(struct store *st)
{
	sqlite3_close_v2(st->db);
	st->db = NULL;
	if (!store_lock_exclusive(st, 0))
		return; /* in use by others: the last one to find it damaged moves it */
	sqlite3 *db = NULL;
	char *why = NULL;
	if (sqlite3_open_v2(st->index_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
			    NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
		sqlite3_stmt *q = NULL;
		int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &q, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(q);
		const char *res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
		int code = sqlite3_errcode(db) & 0xff;
		if (res && strcmp(res, "ok"))
			why = xstrdup(res);
		else if (!res && (code == SQLITE_CORRUPT || code == SQLITE_NOTADB))
			why = xstrdup(sqlite3_errmsg(db));
		sqlite3_finalize(q);
	}
	sqlite3_close_v2(db);
	for (char *c = why; c && *c; c++)
		if (*c == '\n')
			*c = ' '; /* quick_check's report spans lines */
	if (why)
		index_move_aside(st, why);
	free(why);
}

int store_open(struct store **out, const char *dir, struct weft_error *err)
{
	*out = NULL;
	if (!dir || !*dir)
		return weft_error_set(err, NULL, 0, 0, "empty cache directory name");
	if (hash_global_init() < 0)
		return weft_error_set(err, dir, 0, 0, "libsodium cannot initialise");
	struct store *st = xcalloc(1, sizeof(*st));
	st->lock_fd = -1;
	st->dir = xstrdup(dir);
	/* Keep "/" alone but drop a trailing slash so paths print cleanly. */
	size_t dl = strlen(st->dir);
	while (dl > 1 && st->dir[dl - 1] == '/')
		st->dir[--dl] = '\0';
	if (mkdir_p(st->dir, err) < 0 ||
	    check_private(st->dir, "cache directory", 1, S_IWGRP | S_IWOTH, err) < 0)
		goto fail;
	/*
	 * From here on, the real path: SQLite's NOFOLLOW refuses a symbolic link
	 * anywhere in the index's path, and a cache reached through a linked
	 * folder (--cache-dir ~/link, a document in a linked folder) is fine;
	 * inside the cache, links stay refused.
	 */
	char *real = realpath(st->dir, NULL);
	if (!real) {
		weft_error_errno(err, st->dir, "cannot resolve the cache directory");
		goto fail;
	}
	free(st->dir);
	st->dir = real;
	st->index_path = path_join(st->dir, "index.sqlite");
	st->blobs_dir = path_join(st->dir, "blobs");
	st->tmp_dir = path_join(st->dir, "tmp");
	const char *subdirs[2] = { st->blobs_dir, st->tmp_dir };
	for (int i = 0; i < 2; i++) {
		if (mkdir(subdirs[i], 0700) < 0 && errno != EEXIST) {
			weft_error_errno(err, subdirs[i], "cannot create directory");
			goto fail;
		}
		if (check_private(subdirs[i], "cache directory", 0, S_IWGRP | S_IWOTH, err) < 0)
			goto fail;
	}
	struct strbuf side;
	strbuf_init(&side);
	int bad = check_private_if_exists(st->index_path, "cache index", S_IWGRP | S_IWOTH, err);
	for (int i = 0; i < 2 && !bad; i++) {
		strbuf_reset(&side);
		strbuf_addf(&side, "%s%s", st->index_path, i ? "-shm" : "-wal");
		bad = check_private_if_exists(side.buf, "cache index", S_IWGRP | S_IWOTH, err);
	}
	strbuf_free(&side);
	if (bad)
		goto fail;
	if (key_load(st, err) < 0 || lock_open(st, err) < 0)
		goto fail;
	if (db_open(st, err) < 0) {
		if (!db_damaged(st))
			goto fail;
		weft_error_clear(err);
		if (db_rebuild(st, err) < 0)
			goto fail;
	}
	/* Temporary files of killed processes would wait for a gc: remove
	 * them now (one readdir of a directory that is usually empty). */
	store_sweep_tmp(st, 1);
	*out = st;
	return 0;
fail:
	store_free(st);
	return -1;
}

const char *store_dir(const struct store *st)
{
	return st->dir;
}

const char *store_tmp_dir(const struct store *st)
{
	return st->tmp_dir;
}

void store_tmp_path(struct store *st, struct strbuf *out)
{
	/* pid first (see store_gc), then a counter and randomness, so
	 * neither threads nor a recycled pid can collide. */
	strbuf_addf(out, "%s/%ld-%u-%08x.tmp", st->tmp_dir, (long)getpid(), st->tmp_counter++,
		    (unsigned)randombytes_random());
}

/* Write the last_used times of rows read during this run, in one transaction. */
void store_flush_used(struct store *st)
{
	if (!st->nused)
		return;
	struct weft_error err;
	weft_error_init(&err);
	double now = store_now_seconds();
	sqlite3_stmt *e = NULL, *m = NULL;
	if (store_tx_begin(st, &err) < 0)
		goto out;
	e = store_db_prepare(st, "UPDATE entry SET last_used=?1 WHERE key=?2", &err);
	m = store_db_prepare(st, "UPDATE memo SET last_used=?1 WHERE ns=?2 AND key=?3", &err);
	if (!e || !m) {
		store_tx_rollback(st);
		goto out;
	}
	for (size_t i = 0; i < st->nused; i++) {
		sqlite3_stmt *s = st->used[i].ns ? m : e;
		sqlite3_reset(s);
		sqlite3_bind_double(s, 1, now);
		if (st->used[i].ns) {
			store_bind_text(s, 2, st->used[i].ns);
			store_bind_text(s, 3, st->used[i].key);
		} else {
			store_bind_text(s, 2, st->used[i].key);
		}
		sqlite3_step(s);
	}
	sqlite3_finalize(e);
	sqlite3_finalize(m);
	e = m = NULL;
	store_tx_commit(st, &err);
out:
	sqlite3_finalize(e);
	sqlite3_finalize(m);
	if (weft_error_isset(&err))
		weft_warn(st->index_path, 0, "cannot record cache use: %s", err.msg.buf);
	weft_error_free(&err);
	for (size_t i = 0; i < st->nused; i++) {
		free(st->used[i].ns);
		free(st->used[i].key);
	}
	st->nused = 0;
}

/* Remember that a row was used; written in bulk by flush_used. */
static void mark_used(struct store *st, const char *ns, const char *key)
{
	ARRAY_GROW(st->used, st->nused + 1, st->used_alloc);
	st->used[st->nused].ns = ns ? xstrdup(ns) : NULL;
	st->used[st->nused].key = xstrdup(key);
	st->nused++;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	struct weft_error err;
	weft_error_init(&err);
	if (store_blob_flush(st, &err) < 0)
		weft_warn(err.file, 0, "%s", err.msg.buf);
	weft_error_free(&err);
	store_flush_used(st);
	if (st->damaged && st->db)
		db_close_damaged(st);
	store_free(st);
}

/* ------------------------------------------------------------------ */
/* blobs                                                               */

int store_blob_path(const struct store *st, const char *hash, struct strbuf *out)
{
	if (!hash_is_hex(hash, 32))
		return -1;
	strbuf_addf(out, "%s/%.2s/%s", st->blobs_dir, hash, hash + 2);
	return 0;
}

/* ---- publishing: fsync, rename, fsync directory, in parallel batches ---- */

/* At most this many syncs in flight; the filesystem folds concurrent
 * syncs into one journal commit (measured: 8 parallel fdatasyncs cost
 * about what 1-2 sequential ones do). */
#define STORE_SYNC_THREADS 8

struct sync_job {
	char **paths;        /* files or directories to sync */
	int *errs;           /* errno per path, 0 when synced */
	size_t n;
	int dirs;            /* fsync directories rather than fdatasync files */
	atomic_size_t next;  /* next index to take */
};

/* Sync one path: the data and size of a file, or the entries of a directory. */
static int sync_one(const char *path, int dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno;
	/* A file is stamped with the time it is published (see blob_present). */
	if (!dir)
		futimens(fd, NULL);
	int rc = store_fault(STORE_FAULT_FSYNC) ? -1 : dir ? fsync(fd) : fdatasync(fd);
	int e = rc < 0 ? errno : 0;
	close(fd);
	return e;
}

/* Worker: take paths off the shared counter until none are left. */
static void *sync_worker(void *arg)
{
	struct sync_job *job = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&job->next, 1);
		if (i >= job->n)
			break;
		job->errs[i] = sync_one(job->paths[i], job->dirs);
	}
	return NULL;
}

/* Sync every path, several at a time. Returns the index of a failed path
 * (errno set), or -1 when all are synced. Threads live only inside this
 * call, so the process is single-threaded again whenever it may fork. */
static long sync_all(char **paths, size_t n, int dirs)
{
	struct sync_job job = { .paths = paths, .n = n, .dirs = dirs };
	job.errs = xcalloc(n ? n : 1, sizeof(int));
	atomic_init(&job.next, 0);
	pthread_t th[STORE_SYNC_THREADS];
	size_t nth = n < STORE_SYNC_THREADS ? n : STORE_SYNC_THREADS, started = 0;
	if (nth > 1)
		for (; started < nth - 1; started++)
			if (pthread_create(&th[started], NULL, sync_worker, &job) != 0)
				break;
	sync_worker(&job); /* this thread works too, and alone if threads fail */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	long bad = -1;
	for (size_t i = 0; i < n && bad < 0; i++)
		if (job.errs[i]) {
			bad = (long)i;
			errno = job.errs[i];
		}
	free(job.errs);
	return bad;
}

/* Is blob `hash` waiting in the queue? */
static int blob_pending(const struct store *st, const char *hash)
{
	for (size_t i = 0; i < st->npending; i++)
		if (!strcmp(st->pending[i].hash, hash))
			return 1;
	return 0;
}

/* Forget the queue, removing its temporary files (after a failure). */
static void pending_drop(struct store *st)
{
	for (size_t i = 0; i < st->npending; i++) {
		unlink(st->pending[i].tmp);
		free(st->pending[i].tmp);
	}
	st->npending = 0;
}

int store_blob_flush(struct store *st, struct weft_error *err)
{
	if (!st->npending)
		return 0;
	size_t n = st->npending;
	char **paths = xcalloc(n, sizeof(char *));
	char **dirs = xcalloc(n + 1, sizeof(char *));
	size_t ndirs = 0;
	int rc = -1, new_subdir = 0;
	struct strbuf dst;
	strbuf_init(&dst);

	/* 1. The bytes, on disk before any name promises them. */
	for (size_t i = 0; i < n; i++)
		paths[i] = st->pending[i].tmp;
	long bad = sync_all(paths, n, 0);
	if (bad >= 0) {
		weft_error_errno(err, paths[bad], "cannot sync file to cache");
		pending_drop(st);
		goto out;
	}
	/* 2. The names. */
	for (size_t i = 0; i < n; i++) {
		const char *hash = st->pending[i].hash;
		char *sub = xmalloc(strlen(st->blobs_dir) + 4);
		sprintf(sub, "%s/%.2s", st->blobs_dir, hash);
		if (mkdir(sub, 0700) == 0) {
			new_subdir = 1;
		} else if (errno != EEXIST) {
			weft_error_errno(err, sub, "cannot create cache directory");
			free(sub);
			pending_drop(st);
			goto out;
		}
		strbuf_reset(&dst);
		store_blob_path(st, hash, &dst);
		if (store_fault(STORE_FAULT_RENAME) || rename(st->pending[i].tmp, dst.buf) < 0) {
			weft_error_errno(err, dst.buf, "cannot store blob");
			free(sub);
			pending_drop(st);
			goto out;
		}
		free(st->pending[i].tmp);
		st->pending[i].tmp = xstrdup(""); /* renamed: nothing left to unlink */
		size_t k;
		for (k = 0; k < ndirs && strcmp(dirs[k], sub); k++)
			;
		if (k < ndirs)
			free(sub);
		else
			dirs[ndirs++] = sub;
	}
	/* 3. The directories holding the new names. */
	if (new_subdir)
		dirs[ndirs++] = xstrdup(st->blobs_dir);
	bad = sync_all(dirs, ndirs, 1);
	if (bad >= 0) {
		weft_error_errno(err, dirs[bad], "cannot sync cache directory");
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < st->npending; i++)
		free(st->pending[i].tmp);
	st->npending = 0;
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
	free(paths);
	strbuf_free(&dst);
	return rc;
}

/* Queue a finished temp file as blob `hash`; a duplicate is dropped at once. */
static void blob_enqueue(struct store *st, const char *tmp, const char *hash)
{
	if (blob_pending(st, hash)) {
		unlink(tmp);
		return;
	}
	ARRAY_GROW(st->pending, st->npending + 1, st->pending_alloc);
	st->pending[st->npending].tmp = xstrdup(tmp);
	memcpy(st->pending[st->npending].hash, hash, STORE_HASH_SIZE);
	st->npending++;
}

/*
 * True when blob `hash` exists with the given size (a cheap presence
 * check). A blob found is touched: its fresh mtime tells a concurrent
 * store_gc that it is about to be referenced (see STORE_GC_GRACE_SECONDS).
 */
static int blob_present(const struct store *st, const char *hash, uint64_t size)
{
	struct strbuf path;
	strbuf_init(&path);
	store_blob_path(st, hash, &path);
	struct stat sb;
	int ok = stat(path.buf, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == size;
	if (ok)
		utimensat(AT_FDCWD, path.buf, NULL, 0);
	strbuf_free(&path);
	return ok;
}

/*
 * Open a file handed to the store: a regular file on the tmp dir's
 * filesystem (rename() at flush needs one filesystem: catch a stray path
 * now). Returns the descriptor with *sb filled, or -1 with err set.
 */
static int open_handed_file(struct store *st, const char *tmp_path, struct stat *sb, struct weft_error *err)
{
	int fd = open(tmp_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return weft_error_errno(err, tmp_path, "cannot open file to cache");
	struct stat tb;
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return weft_error_set(err, tmp_path, 0, 0, "not a regular file, cannot cache it");
	}
	if (stat(st->tmp_dir, &tb) < 0 || tb.st_dev != sb->st_dev) {
		close(fd);
		return weft_error_set(err, tmp_path, 0, 0,
				      "file to cache must be written inside the cache's tmp "
				      "directory %s", st->tmp_dir);
	}
	return fd;
}

/* The store takes a handed file named by its hash: dropped if the blob exists, else queued. */
static void take_handed_file(struct store *st, const char *tmp_path, const char *hash, uint64_t size)
{
	if (blob_present(st, hash, size)) {
		unlink(tmp_path);
		return;
	}
	blob_enqueue(st, tmp_path, hash);
}

int store_blob_put_file(struct store *st, const char *tmp_path, char hash_out[STORE_HASH_SIZE],
			struct weft_error *err)
{
	struct stat sb;
	int fd = open_handed_file(st, tmp_path, &sb, err);
	if (fd < 0)
		return -1;
	uint64_t size = 0;
	if (hash_xxh128_fd(fd, hash_out, &size) < 0) {
		weft_error_errno(err, tmp_path, "cannot read file to cache");
		close(fd);
		return -1;
	}
	close(fd);
	take_handed_file(st, tmp_path, hash_out, size);
	return 0;
}

int store_blob_adopt(struct store *st, const char *tmp_path, const char *hash, struct weft_error *err)
{
	if (!hash_is_hex(hash, STORE_HASH_SIZE - 1))
		return weft_error_set(err, tmp_path, 0, 0, "malformed blob hash '%s'", hash ? hash : "");
	struct stat sb;
	int fd = open_handed_file(st, tmp_path, &sb, err);
	if (fd < 0)
		return -1;
	close(fd);
	take_handed_file(st, tmp_path, hash, (uint64_t)sb.st_size);
	return 0;
}

int store_blob_put_mem(struct store *st, const void *data, size_t len,
		       char hash_out[STORE_HASH_SIZE], struct weft_error *err)
{
	hash_xxh128_hex(data, len, hash_out);
	if (blob_present(st, hash_out, len) || blob_pending(st, hash_out))
		return 0;
	struct strbuf tmp;
	strbuf_init(&tmp);
	store_tmp_path(st, &tmp);
	int fd = store_fault(STORE_FAULT_CREATE) ? -1
		 : open(tmp.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = -1;
	if (fd < 0) {
		weft_error_errno(err, tmp.buf, "cannot create cache file");
		goto out;
	}
	if (write_all(fd, data, len) < 0) {
		weft_error_errno(err, tmp.buf, "cannot write cache file");
		close(fd);
		unlink(tmp.buf);
		goto out;
	}
	close(fd);
	blob_enqueue(st, tmp.buf, hash_out);
	rc = 0;
out:
	strbuf_free(&tmp);
	return rc;
}

/* Publish the queue if `hash` is in it, so it can be read. */
static int blob_ready(struct store *st, const char *hash, struct weft_error *err)
{
	return blob_pending(st, hash) ? store_blob_flush(st, err) : 0;
}

/* A blob failed its check: say so and remove it, so it reads as a miss. */
static void blob_reject(struct store *st, const char *hash, const char *path, const char *why)
{
	weft_warn(path, 0, "cached blob %s; removing it and treating it as a cache miss", why);
	unlink(path);
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "DELETE FROM blob WHERE hash=?1", -1, &s, NULL) ==
	    SQLITE_OK) {
		store_bind_text(s, 1, hash);
		sqlite3_step(s);
	}
	sqlite3_finalize(s);
}

int store_blob_read(struct store *st, const char *hash, struct strbuf *out,
		    struct weft_error *err)
{
	struct strbuf path;
	strbuf_init(&path);
	if (store_blob_path(st, hash, &path) < 0) {
		strbuf_free(&path);
		return weft_error_set(err, st->dir, 0, 0, "malformed blob hash \"%s\"",
				      hash ? hash : "(null)");
	}
	size_t old = out->len;
	int rc;
	if (blob_ready(st, hash, err) < 0) {
		strbuf_free(&path);
		return -1;
	}
	if (strbuf_read_file(out, path.buf) < 0) {
		strbuf_setlen(out, old);
		if (errno == ENOENT) {
			weft_warn(path.buf, 0, "cached blob is missing; treating it as a cache miss");
			rc = 0;
		} else {
			rc = weft_error_errno(err, path.buf, "cannot read cached blob");
		}
	} else {
		char got[STORE_HASH_SIZE];
		hash_xxh128_hex(out->buf + old, out->len - old, got);
		if (strcmp(got, hash)) {
			strbuf_setlen(out, old);
			blob_reject(st, hash, path.buf, "is corrupt (contents do not match its hash)");
			rc = 0;
		} else {
			rc = 1;
		}
	}
	strbuf_free(&path);
	return rc;
}

/*
 * Open blob `hash` and check it through the descriptor: its folder and the
 * file itself private (owned by us, not writable by others, not a link),
 * its contents hashing to `hash`. The open descriptor (offset at the end),
 * or -1 for a miss (warned; a corrupt blob is removed). Whoever reads the
 * returned descriptor reads the verified file, even if its path is replaced
 * meanwhile.
 */
static int blob_open_checked(struct store *st, const char *hash)
{
	struct strbuf path;
	strbuf_init(&path);
	if (store_blob_path(st, hash, &path) < 0) {
		strbuf_free(&path);
		return -1;
	}
	struct weft_error err;
	weft_error_init(&err);
	if (blob_ready(st, hash, &err) < 0)
		weft_warn(err.file, 0, "%s", err.msg.buf);
	weft_error_clear(&err);
	int fd = open(path.buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		weft_warn(path.buf, 0, "cached blob is missing or unreadable; treating it as a "
				       "cache miss");
		strbuf_free(&path);
		weft_error_free(&err);
		return -1;
	}
	/* The folder by path (the file's own checks are on the descriptor). */
	char *slash = strrchr(path.buf, '/');
	*slash = '\0';
	int mine = check_private(path.buf, "cached blob folder", 0, S_IWGRP | S_IWOTH, &err) == 0;
	*slash = '/';
	struct stat sb;
	if (mine && fstat(fd, &sb) < 0) {
		weft_error_errno(&err, path.buf, "cannot inspect cached blob");
		mine = 0;
	} else if (mine && !S_ISREG(sb.st_mode)) {
		weft_error_set(&err, path.buf, 0, 0, "cached blob is not a regular file");
		mine = 0;
	} else if (mine) {
		mine = check_private_stat(&sb, path.buf, "cached blob", S_IWGRP | S_IWOTH, &err) == 0;
	}
	if (!mine) {
		weft_warn(err.file, 0, "%s; treating it as a cache miss", err.msg.buf);
		weft_error_free(&err);
		strbuf_free(&path);
		close(fd);
		return -1;
	}
	weft_error_free(&err);
	char got[STORE_HASH_SIZE];
	if (hash_xxh128_fd(fd, got, NULL) < 0) {
		weft_warn(path.buf, 0, "cached blob is unreadable; treating it as a cache miss");
		close(fd);
		fd = -1;
	} else if (strcmp(got, hash)) {
		blob_reject(st, hash, path.buf, "is corrupt (contents do not match its hash)");
		close(fd);
		fd = -1;
	} else {
		store_fault_swap_blob(path.buf); /* a test hook: the path changes, the fd does not */
	}
	strbuf_free(&path);
	return fd;
}

int store_blob_verify(struct store *st, const char *hash)
{
	int fd = blob_open_checked(st, hash);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int store_blob_open(struct store *st, const char *hash)
{
	return blob_open_checked(st, hash);
}

/* ------------------------------------------------------------------ */
/* entries                                                             */

void store_entry_info_init(struct store_entry_info *info)
{
	memset(info, 0, sizeof(*info));
}

void store_entry_info_free(struct store_entry_info *info)
{
	free(info->key);
	free(info->doc);
	free(info->chunk);
	json_decref(info->meta);
	store_entry_info_init(info);
}

int store_entry_put(struct store *st, const char *key, json_t *meta, const char *const *blobs,
		    size_t nblobs, const char *doc, const char *chunk, double seconds,
		    struct weft_error *err)
{
	if (!key || !*key || !meta || !doc)
		return weft_error_set(err, st->dir, 0, 0,
				      "cache entry needs a key, metadata and a document");
	for (size_t i = 0; i < nblobs; i++)
		if (!hash_is_hex(blobs[i], 32))
			return weft_error_set(err, st->dir, 0, 0,
					      "cache entry %s: malformed blob hash \"%s\"", key,
					      blobs[i] ? blobs[i] : "(null)");
	char *text = canonical_json(meta);
	if (!text)
		return weft_error_set(err, st->dir, 0, 0,
				      "cache entry %s: metadata cannot be encoded as JSON", key);
	char mac[HASH_HEX_SIZE];
	entry_mac(st, key, text, mac);
	double now = store_now_seconds();
	sqlite3_stmt *s = NULL;
	struct strbuf path;
	strbuf_init(&path);

	/* Queued blobs reach the disk before an entry can point at them. */
	if (store_blob_flush(st, err) < 0 || store_tx_begin(st, err) < 0)
		goto fail_notx;
	if (!(s = store_db_prepare(st, "DELETE FROM entry WHERE key=?1", err)))
		goto fail;
	store_bind_text(s, 1, key);
	if (store_db_step_done(st, s, "cannot replace entry", err) < 0)
		goto fail;
	s = store_db_prepare(st,
		       "INSERT INTO entry(key, meta, mac, doc, chunk, seconds, created, last_used)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
		       err);
	if (!s)
		goto fail;
	store_bind_text(s, 1, key);
	store_bind_text(s, 2, text);
	store_bind_text(s, 3, mac);
	store_bind_text(s, 4, doc);
	store_bind_text(s, 5, chunk ? chunk : "");
	sqlite3_bind_double(s, 6, seconds);
	sqlite3_bind_double(s, 7, now);
	if (store_db_step_done(st, s, "cannot insert entry", err) < 0)
		goto fail;
	for (size_t i = 0; i < nblobs; i++) {
		/* Checked under the write lock: a gc cannot remove the blob
		 * between this check and the commit. */
		struct stat sb;
		strbuf_reset(&path);
		store_blob_path(st, blobs[i], &path);
		if (stat(path.buf, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			weft_error_errno(err, path.buf,
					 "cache entry %s references a blob that is not in the store",
					 key);
			goto fail;
		}
		s = store_db_prepare(st,
			       "INSERT INTO blob(hash, size) VALUES (?1, ?2)"
			       " ON CONFLICT(hash) DO UPDATE SET size=excluded.size",
			       err);
		if (!s)
			goto fail;
		store_bind_text(s, 1, blobs[i]);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)sb.st_size);
		if (store_db_step_done(st, s, "cannot record blob", err) < 0)
			goto fail;
		s = store_db_prepare(st, "INSERT OR IGNORE INTO entry_blob(key, hash) VALUES (?1, ?2)",
			       err);
		if (!s)
			goto fail;
		store_bind_text(s, 1, key);
		store_bind_text(s, 2, blobs[i]);
		if (store_db_step_done(st, s, "cannot record entry blob", err) < 0)
			goto fail;
	}
	if (store_tx_commit(st, err) < 0)
		goto fail;
	free(text);
	strbuf_free(&path);
	return 0;
fail:
	store_tx_rollback(st);
fail_notx:
	free(text);
	strbuf_free(&path);
	return -1;
}

int store_entry_remove(struct store *st, const char *key, struct weft_error *err)
{
	sqlite3_stmt *s = store_db_prepare(st, "DELETE FROM entry WHERE key=?1", err);
	if (!s)
		return -1;
	store_bind_text(s, 1, key);
	if (store_db_step_done(st, s, "cannot remove entry", err) < 0)
		return -1;
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

/* Drop an entry found unusable during a lookup; failure only costs a warning. */
static void entry_drop(struct store *st, const char *key)
{
	struct weft_error e;
	weft_error_init(&e);
	if (store_entry_remove(st, key, &e) < 0)
		weft_warn(st->index_path, 0, "%s", e.msg.buf);
	weft_error_free(&e);
}

/*
 * A blob's file has another size than the index recorded. Say why, which
 * takes reading it (rare): contents that no longer match the blob's name
 * were replaced or damaged (a shorter file that is a prefix of nothing we
 * can check is still a hash mismatch); the blob is removed either way,
 * as an entry cannot vouch for a file whose size it did not record.
 */
static void blob_wrong_size(struct store *st, const char *hash, const char *path,
			    long long size, long long want)
{
	char got[STORE_HASH_SIZE];
	struct strbuf why;
	strbuf_init(&why);
	if (hash_xxh128_file(path, got, NULL, NULL) < 0)
		strbuf_addf(&why, "is unreadable (%s)", strerror(errno));
	else if (strcmp(got, hash))
		strbuf_addf(&why, "is corrupt: its contents do not match its hash (replaced or "
				  "damaged; %lld bytes, the index recorded %lld)", size, want);
	else
		strbuf_addf(&why, "matches its hash but not the size the index recorded (%lld "
				  "bytes, recorded %lld): the index is inconsistent", size, want);
	blob_reject(st, hash, path, why.buf);
	strbuf_free(&why);
}

/*
 * Are all blobs of entry `key` present with their recorded sizes? A
 * blob of the wrong size is removed (it can never become right again).
 * 1 yes, 0 no (warned), -1 error.
 */
static int entry_blobs_present(struct store *st, const char *key, struct weft_error *err)
{
	sqlite3_stmt *s = store_db_prepare(st,
				     "SELECT eb.hash, b.size FROM entry_blob eb"
				     " LEFT JOIN blob b ON b.hash = eb.hash WHERE eb.key=?1",
				     err);
	if (!s)
		return -1;
	store_bind_text(s, 1, key);
	struct strbuf path;
	strbuf_init(&path);
	int ok = 1, rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *hash = (const char *)sqlite3_column_text(s, 0);
		strbuf_reset(&path);
		if (store_blob_path(st, hash, &path) < 0) {
			ok = 0;
			break;
		}
		struct stat sb;
		if (stat(path.buf, &sb) < 0) {
			weft_warn(path.buf, 0, "cached blob of entry %.16s is missing; treating it "
					       "as a cache miss", key);
			ok = 0;
			break;
		}
		if (sqlite3_column_type(s, 1) != SQLITE_NULL &&
		    sb.st_size != (off_t)sqlite3_column_int64(s, 1)) {
			char *h = xstrdup(hash);
			long long want = (long long)sqlite3_column_int64(s, 1);
			sqlite3_reset(s); /* release the read before writing */
			blob_wrong_size(st, h, path.buf, (long long)sb.st_size, want);
			free(h);
			ok = 0;
			rc = SQLITE_DONE;
			break;
		}
	}
	if (ok && rc != SQLITE_DONE) {
		store_db_error(st, err, "cannot read entry blobs");
		ok = -1;
	}
	sqlite3_finalize(s);
	strbuf_free(&path);
	return ok;
}

int store_entry_get(struct store *st, const char *key, json_t **meta, struct weft_error *err)
{
	*meta = NULL;
	sqlite3_stmt *s = store_db_prepare(st, "SELECT meta, mac FROM entry WHERE key=?1", err);
	if (!s)
		return -1;
	store_bind_text(s, 1, key);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(s);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		store_db_error(st, err, "cannot look up entry");
		sqlite3_finalize(s);
		return -1;
	}
	const char *text = (const char *)sqlite3_column_text(s, 0);
	const char *mac = (const char *)sqlite3_column_text(s, 1);
	char want[HASH_HEX_SIZE];
	entry_mac(st, key, text ? text : "", want);
	if (!text || !hash_hex_equal(want, mac)) {
		sqlite3_finalize(s);
		weft_warn(st->index_path, 0,
			  "cache entry %.16s fails its MAC (tampered with, or made under another "
			  "key); ignoring it", key);
		entry_drop(st, key);
		return 0;
	}
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
	sqlite3_finalize(s);
	if (!v) {
		weft_warn(st->index_path, 0, "cache entry %.16s has unreadable metadata; ignoring it",
			  key);
		entry_drop(st, key);
		return 0;
	}
	int present = entry_blobs_present(st, key, err);
	if (present <= 0) {
		json_decref(v);
		if (present == 0)
			entry_drop(st, key);
		return present;
	}
	mark_used(st, NULL, key);
	*meta = v;
	return 1;
}

/* Fill info from a row of (key, meta, mac, doc, chunk, seconds, created,
 * last_used); meta only when its MAC verifies. */
static void info_from_row(struct store *st, sqlite3_stmt *s, struct store_entry_info *info)
{
	store_entry_info_free(info);
	const char *key = (const char *)sqlite3_column_text(s, 0);
	const char *text = (const char *)sqlite3_column_text(s, 1);
	const char *mac = (const char *)sqlite3_column_text(s, 2);
	info->key = xstrdup(key ? key : "");
	info->doc = xstrdup(sqlite3_column_text(s, 3) ? (const char *)sqlite3_column_text(s, 3) : "");
	info->chunk =
		xstrdup(sqlite3_column_text(s, 4) ? (const char *)sqlite3_column_text(s, 4) : "");
	info->seconds = sqlite3_column_double(s, 5);
	info->created = sqlite3_column_double(s, 6);
	info->last_used = sqlite3_column_double(s, 7);
	char want[HASH_HEX_SIZE];
	entry_mac(st, info->key, text ? text : "", want);
	if (text && hash_hex_equal(want, mac))
		info->meta = json_loads(text, JSON_DECODE_ANY, NULL);
}

#define ENTRY_COLUMNS "key, meta, mac, doc, chunk, seconds, created, last_used"

int store_entry_latest_for_chunk(struct store *st, const char *doc, const char *chunk,
				 struct store_entry_info *info, struct weft_error *err)
{
	sqlite3_stmt *s = store_db_prepare(st,
				     "SELECT " ENTRY_COLUMNS " FROM entry WHERE doc=?1 AND chunk=?2"
				     " ORDER BY created DESC, rowid DESC",
				     err);
	if (!s)
		return -1;
	store_bind_text(s, 1, doc);
	store_bind_text(s, 2, chunk ? chunk : "");
	int rc, found = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		info_from_row(st, s, info);
		if (info->meta) {
			found = 1;
			break;
		}
	}
	if (!found)
		store_entry_info_free(info);
	if (!found && rc != SQLITE_DONE) {
		store_db_error(st, err, "cannot look up entries of chunk");
		found = -1;
	}
	sqlite3_finalize(s);
	return found;
}

int store_entry_list_doc(struct store *st, const char *doc, store_entry_fn fn, void *data,
			 struct weft_error *err)
{
	sqlite3_stmt *s = store_db_prepare(st,
				     "SELECT " ENTRY_COLUMNS " FROM entry WHERE doc=?1"
				     " ORDER BY created, rowid",
				     err);
	if (!s)
		return -1;
	store_bind_text(s, 1, doc);
	/* Read everything first: fn may call back into the store (even write). */
	struct store_entry_info *rows = NULL;
	size_t n = 0, alloc = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ARRAY_GROW(rows, n + 1, alloc);
		store_entry_info_init(&rows[n]);
		info_from_row(st, s, &rows[n]);
		n++;
	}
	int ret = 0;
	if (rc != SQLITE_DONE)
		ret = store_db_error(st, err, "cannot list entries");
	sqlite3_finalize(s);
	for (size_t i = 0; i < n; i++) {
		if (ret == 0)
			ret = fn(&rows[i], data);
		store_entry_info_free(&rows[i]);
	}
	free(rows);
	return ret;
}

/* ------------------------------------------------------------------ */
/* memo                                                                */

int store_memo_get(struct store *st, const char *ns, const char *key, json_t **value,
		   struct weft_error *err)
{
	*value = NULL;
	sqlite3_stmt *s = store_db_prepare(st, "SELECT value, mac FROM memo WHERE ns=?1 AND key=?2", err);
	if (!s)
		return -1;
	store_bind_text(s, 1, ns);
	store_bind_text(s, 2, key);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		return rc == SQLITE_DONE ? 0 : store_db_error(st, err, "cannot look up memo");
	}
	const char *text = (const char *)sqlite3_column_text(s, 0);
	char want[HASH_HEX_SIZE];
	memo_mac(st, ns, key, text ? text : "", want);
	json_t *v = NULL;
	if (text && hash_hex_equal(want, (const char *)sqlite3_column_text(s, 1)))
		v = json_loads(text, JSON_DECODE_ANY, NULL);
	else
		weft_warn(st->index_path, 0,
			  "cached %s value fails its MAC (tampered with, or made under another "
			  "key); ignoring it", ns);
	sqlite3_finalize(s);
	if (!v)
		return 0;
	mark_used(st, ns, key);
	*value = v;
	return 1;
}

int store_memo_put(struct store *st, const char *ns, const char *key, json_t *value,
		   struct weft_error *err)
{
	if (!ns || !key || !value)
		return weft_error_set(err, st->dir, 0, 0, "memo needs a namespace, key and value");
	char *text = canonical_json(value);
	if (!text)
		return weft_error_set(err, st->dir, 0, 0, "memo %s: value cannot be encoded", ns);
	char mac[HASH_HEX_SIZE];
	memo_mac(st, ns, key, text, mac);
	sqlite3_stmt *s = store_db_prepare(st,
				     "INSERT OR REPLACE INTO memo(ns, key, value, mac, last_used)"
				     " VALUES (?1, ?2, ?3, ?4, ?5)",
				     err);
	int rc = -1;
	if (s) {
		store_bind_text(s, 1, ns);
		store_bind_text(s, 2, key);
		store_bind_text(s, 3, text);
		store_bind_text(s, 4, mac);
		sqlite3_bind_double(s, 5, store_now_seconds());
		rc = store_db_step_done(st, s, "cannot store memo", err);
	}
	free(text);
	return rc;
}
