/*
 * worker_channel: the worker's side of its channels to the parent, without
 * Python (worker.c's `_weft` module and process setup are the callers).
 *
 *   PROTO_FD  the protocol socket: newline-delimited JSON, requests in,
 *             events and replies out
 *   OUT_RD    read ends of the stdout/stderr pipes; a pump thread reads
 *   ERR_RD    them and sends their text as "stream" events, merged in order
 *             with what Python writes (channel_write_stream)
 *
 * Stream text is held in one pending buffer (one stream, one statement tag
 * at a time) and flushed by the pump within FLUSH_MS, before any other
 * message, and by the fatal-signal path; all of it under one lock. A
 * process forked from the worker by chunk code (os.fork) owns none of this:
 * there every call writes straight to fd 1/2 or does nothing.
 */
#ifndef WEFT_WORKER_CHANNEL_H
#define WEFT_WORKER_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Fixed fd numbers in the child, so nothing depends on what the parent had open. */
enum { PROTO_FD = 3, OUT_RD = 4, ERR_RD = 5, FIRST_FREE_FD = 6 };

/* Set up the buffers and fork hooks and start the pump thread (fds already in place). 0, or -1. */
int channel_start(void);

/* True in the worker itself, false in a process a chunk forked from it. */
bool channel_in_worker(void);

/* Stream text for fd 1 (stdout) or 2 (stderr), as Python's sys.stdout/sys.stderr write it. */
void channel_write_stream(int fd, const char *s, size_t n);

/* Send everything written so far (C stdio, the pipes, pending text). Without the GIL: may block. */
void channel_sync(void);

/*
 * Send one message line (JSON text without the newline) after all pending
 * output; a reply (`reply`) is preceded by the "truncated" events of the
 * request (worker.h). 0, or -1 with errno when the socket failed.
 */
int channel_send_line(const char *s, size_t n, bool reply);

/* Tag following stream text with term-mode statement `statement` (-1: none). */
void channel_set_statement(int statement);

/* The next complete request line already read (length in *len, no newline), or NULL. */
const char *channel_next_line(size_t *len);

/* Forget the line channel_next_line returned (its length). */
void channel_drop_line(size_t len);

/* Read more request bytes (blocking): >0 bytes read, 0 at EOF, -1 with errno. */
ssize_t channel_read_more(void);

/*
 * The descriptors received (SCM_RIGHTS, close-on-exec) since the last call:
 * the parent sends a request's descriptors with its first bytes and waits
 * for the reply before sending more, so they belong to the request being
 * read. *fds (malloc'd, the caller frees it and owns the descriptors) and
 * their count; 0 and NULL when none came.
 */
size_t channel_take_fds(int **fds);

/* The fatal-signal path: send the buffered stream text if the lock can be had soon. */
void channel_fatal_flush(void);

/* Report a start-up failure to the parent as the hello reply, then exit. */
_Noreturn void channel_fail_start(const char *what, const char *detail);

#endif
