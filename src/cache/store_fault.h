/*
 * store_fault: I/O fault injection for the cache store, for tests (as
 * SQLite's test hooks): makes the store's own writes, syncs, renames and
 * file creations fail with a chosen errno, so tests can check that a full
 * or failing disk gives a clear error or a render without caching, never a
 * corrupt entry.
 *
 * Configured by the environment variable WEFT_STORE_FAULT, read once per
 * process: a comma-separated list of OP=ERRNO[@N], where OP is one of
 * create, write, fsync, rename; ERRNO is ENOSPC, EIO, EDQUOT, EROFS or a
 * number; N (default 1) is the first call of OP that fails, every later
 * one failing too (a full disk stays full). Example:
 *
 *   WEFT_STORE_FAULT=write=ENOSPC@3,fsync=EIO weft doc.pmd
 *
 * The python worker's own blob writes (worker.c py_write_file) count as
 * write calls of the worker process. Unset (the normal case) it costs one
 * getpid and one branch per call. The SQLite index
 * itself is not covered (its writes go through SQLite's VFS, whose own
 * errors the store already reports).
 */
#ifndef WEFT_STORE_FAULT_H
#define WEFT_STORE_FAULT_H

enum store_fault_op {
	STORE_FAULT_CREATE,  /* open(O_CREAT) of a file in the cache */
	STORE_FAULT_WRITE,   /* write(2) of blob or key bytes */
	STORE_FAULT_FSYNC,   /* fsync/fdatasync of a file or directory */
	STORE_FAULT_RENAME,  /* rename(2) of a temporary file into blobs/ */
	STORE_FAULT_NOPS
};

/*
 * Should this call of op fail? 0: no, go on; otherwise the errno to fail
 * with (errno is set to it too). Thread-safe (the store syncs in threads).
 */
int store_fault(enum store_fault_op op);

/*
 * A second test hook: when WEFT_TEST_BLOB_SWAP names a file, each blob the
 * store has just verified through an open descriptor (store_blob_open) has
 * its path replaced, by rename, with a copy of that file, and a warning says
 * so: the race a reader that re-opens the verified path would lose. Tests
 * check the worker never sees the replacement. Unset, it does nothing.
 */
void store_fault_swap_blob(const char *path);

#endif
