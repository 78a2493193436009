/*
 * worker: the child side of the python engine. python_engine.c forks; the
 * child loads this module, built as weft-worker.so with libpython, and calls
 * its worker_main, which never returns (see worker_loader.h).
 *
 * The worker owns three channels set up by the parent:
 *
 *   proto   a socket carrying newline-delimited JSON both ways (requests in,
 *           events and replies out); moved to a private fd, close-on-exec, so
 *           nothing the chunk runs can write to it
 *   fd 1/2  the write ends of two pipes: everything written to stdout/stderr,
 *           by Python or by C code and subprocesses, lands there
 *   out/err the read ends of those pipes; a pump thread reads them and sends
 *           their text as "stream" events, merged in order with what Python
 *           writes to sys.stdout/sys.stderr (which goes straight to the pump's
 *           buffer, never through the pipes). The parent keeps its own copy of
 *           the read ends, to collect what was left after a crash.
 *
 * The channels are worker_channel.c's (no Python there); worker_json.c
 * converts between Python objects and JSON; worker.c is the `_weft` module
 * and the process setup.
 *
 * It initialises CPython with PyConfig (sys.argv = [doc], sys.executable = the
 * configured or venv python, MPLBACKEND=Agg), registers the builtin module
 * `_weft` (the channel primitives, see worker.c), compiles weft_runtime.py from
 * the embedded files into sys.modules, and calls weft_runtime.serve().
 *
 * A fatal signal (segfault, abort) first lets faulthandler print the Python
 * stack to fd 2, then flushes buffered stream text to the parent, then dies
 * of the same signal, so the parent sees the signal and keeps the output.
 *
 * Bounded output: of each stream, at most WORKER_STREAM_LIMIT_BYTES of text
 * per request are forwarded (a chunk printing 1 GiB must not take weft's
 * memory with it); the rest is counted and dropped. Just before the reply
 * of a request whose output was cut, the worker sends one event per cut
 * stream:
 *   {"ev": "truncated", "name": "stdout"|"stderr", "limit": bytes kept,
 *    "dropped": bytes dropped}
 * The limit is a constant, not a setting: a cached chunk's output must be
 * what a render without the cache would show.
 *
 * Debugging: WEFT_ENGINE_TRACE=1 makes the parent log every message to stderr.
 */
#ifndef WEFT_WORKER_H
#define WEFT_WORKER_H

/* Stream text forwarded per stream and request (see above): 32 MiB. */
#define WORKER_STREAM_LIMIT_MIB 32
#define WORKER_STREAM_LIMIT_BYTES ((unsigned long long)WORKER_STREAM_LIMIT_MIB << 20)

struct worker_setup {
	int proto_fd;           /* child's end of the protocol socket */
	int out_rd, out_wr;     /* stdout pipe */
	int err_rd, err_wr;     /* stderr pipe */
	const char *python;     /* executable for sys.executable (venv aware), or NULL */
	const char *doc_path;   /* sys.argv[0] */
	const char *workdir;    /* chdir here first, or NULL */
};

/* Become the worker: set up fds, start Python, serve requests. Never returns. */
_Noreturn void worker_main(const struct worker_setup *ws);

#endif
