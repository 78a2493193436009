/*
 * forkcheck: the invariant that makes weft's fork() calls safe.
 *
 * weft forks without exec'ing at once: the python engine's child loads
 * libpython (dlopen), allocates, and sets environment variables
 * (python_engine.c, worker_loader.c); the jupyter engine and `publish` run
 * code between fork and exec too. After fork() only the calling thread
 * exists in the child, so a lock (malloc's arena lock, the dynamic
 * loader's, the environment's) held by any other thread of the parent at
 * that moment stays locked forever in the child. These calls are safe only
 * because the parent has a single thread whenever it forks: the store's
 * sync threads (store.c sync_all) live only inside one call, and nothing
 * else in the parent starts threads.
 *
 * forkcheck_single_threaded() checks that invariant cheaply (one read of
 * /proc/self/status, a few microseconds) before each such fork, and fails
 * with an error naming the caller rather than risking a child that hangs
 * in malloc. Where /proc is not mounted the check cannot be made and
 * passes (the invariant still holds by construction).
 */
#ifndef WEFT_FORKCHECK_H
#define WEFT_FORKCHECK_H

#include "util/error.h"

/* Number of threads of this process from /proc/self/status, or -1 when unknown. */
long forkcheck_thread_count(void);

/*
 * 0 when this process has one thread (or the count is unknown); -1 with err
 * set ("<what>: cannot fork safely: N threads running") otherwise.
 */
int forkcheck_single_threaded(const char *what, struct weft_error *err);

#endif
