/* zmq_api: libzmq loaded on first use; see zmq_api.h. */
#include "engine/zmq_api.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>

struct zmq_functions zmq_api;

/* The library's soname: ABI 5 is every libzmq since 4.0 (Debian's libzmq5). */
#define ZMQ_SONAME "libzmq.so.5"

int zmq_api_load(struct weft_error *err)
{
	static bool loaded;
	if (loaded)
		return 0;
	void *lib = dlopen(ZMQ_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return weft_error_set(err, NULL, 0, 0,
				      "jupyter engine: cannot load %s (%s); install libzmq5", ZMQ_SONAME,
				      dlerror());
	struct {
		const char *name;
		void **slot;
	} table[] = {
		{"zmq_ctx_new", (void **)&zmq_api.ctx_new},
		{"zmq_ctx_term", (void **)&zmq_api.ctx_term},
		{"zmq_socket", (void **)&zmq_api.socket},
		{"zmq_close", (void **)&zmq_api.close},
		{"zmq_setsockopt", (void **)&zmq_api.setsockopt},
		{"zmq_connect", (void **)&zmq_api.connect},
		{"zmq_send", (void **)&zmq_api.send},
		{"zmq_msg_init", (void **)&zmq_api.msg_init},
		{"zmq_msg_recv", (void **)&zmq_api.msg_recv},
		{"zmq_msg_close", (void **)&zmq_api.msg_close},
		{"zmq_msg_data", (void **)&zmq_api.msg_data},
		{"zmq_msg_size", (void **)&zmq_api.msg_size},
		{"zmq_msg_more", (void **)&zmq_api.msg_more},
		{"zmq_poll", (void **)&zmq_api.poll},
		{"zmq_errno", (void **)&zmq_api.errno_},
		{"zmq_strerror", (void **)&zmq_api.strerror},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++) {
		/* POSIX: a function pointer converts through void * (dlsym's own contract) */
		*table[i].slot = dlsym(lib, table[i].name);
		if (!*table[i].slot) {
			weft_error_set(err, NULL, 0, 0, "jupyter engine: %s has no %s", ZMQ_SONAME,
				       table[i].name);
			memset(&zmq_api, 0, sizeof(zmq_api));
			dlclose(lib);
			return -1;
		}
	}
	loaded = true;
	return 0;
}
