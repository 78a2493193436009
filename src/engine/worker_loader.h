/*
 * worker_loader: become the Python worker in a child python_engine.c forked.
 *
 * The worker (worker.c, CPython's host) is a shared object, weft-worker.so,
 * linked against libpython; its bytes are part of weft (worker_image.S). The
 * child writes them to an anonymous memory file, loads it with dlopen (which
 * loads libpython, globally, as extension modules expect) and calls its
 * worker_main. So weft itself does not load libpython, and a render that runs
 * nothing, or `weft tangle`, skips the 6-7 ms that costs (measured with
 * `perf stat`: a program linking libpython starts in 11.7 ms, one without in 5.1).
 */
#ifndef WEFT_WORKER_LOADER_H
#define WEFT_WORKER_LOADER_H

#include <stddef.h>

#include "engine/worker.h"

/*
 * Load the worker and hand over to its worker_main; never returns. If it
 * cannot be loaded, the failure goes to the parent as the hello reply (as
 * any failure to start does) and the child exits.
 */
_Noreturn void worker_loader_run(const struct worker_setup *ws);

/* Answer the parent's wait for a hello with the failure (`what: detail`, as JSON) on proto_fd, then exit. */
_Noreturn void worker_loader_fail(int proto_fd, const char *what, const char *detail);

/* Write all n bytes of buf to fd, retrying short writes; 0, or -1 with errno set. */
int worker_loader_write_all(int fd, const void *buf, size_t n);

#endif
