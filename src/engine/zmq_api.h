/*
 * zmq_api: libzmq, loaded when the first Jupyter kernel starts.
 *
 * Only `--kernel` talks ZeroMQ, but linking libzmq made every weft run load
 * it with its dependencies (libstdc++, Kerberos, PGM, NORM): some 160 page
 * faults and 4-16 ms before main, on renders that never start a kernel. The
 * header's types and constants are used as usual; the functions are called
 * through `zmq_api` after zmq_api_load.
 *
 *   if (zmq_api_load(&err) < 0) return -1;
 *   void *ctx = zmq_api.ctx_new();
 */
#ifndef WEFT_ZMQ_API_H
#define WEFT_ZMQ_API_H

#include <stddef.h>

#include <zmq.h>

#include "util/error.h"

/* The libzmq functions weft uses, as in zmq.h. */
struct zmq_functions {
	void *(*ctx_new)(void);
	int (*ctx_term)(void *ctx);
	void *(*socket)(void *ctx, int type);
	int (*close)(void *sock);
	int (*setsockopt)(void *sock, int option, const void *value, size_t len);
	int (*connect)(void *sock, const char *endpoint);
	int (*send)(void *sock, const void *buf, size_t len, int flags);
	int (*msg_init)(zmq_msg_t *msg);
	int (*msg_recv)(zmq_msg_t *msg, void *sock, int flags);
	int (*msg_close)(zmq_msg_t *msg);
	void *(*msg_data)(zmq_msg_t *msg);
	size_t (*msg_size)(const zmq_msg_t *msg);
	int (*msg_more)(const zmq_msg_t *msg);
	int (*poll)(zmq_pollitem_t *items, int nitems, long timeout);
	int (*errno_)(void);
	const char *(*strerror)(int errnum);
};

/* Filled by zmq_api_load; NULL pointers before. */
extern struct zmq_functions zmq_api;

/* Load libzmq (once). Returns 0, or -1 with err naming what is missing. */
int zmq_api_load(struct weft_error *err);

#endif
