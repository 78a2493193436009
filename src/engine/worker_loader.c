/* worker_loader: load weft-worker.so in the forked child; see worker_loader.h. */
#include "engine/worker_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The shared object's bytes (worker_image.S). */
extern const unsigned char weft_worker_image[];
extern const unsigned char weft_worker_image_end[];

/* Answer the parent's wait for a hello with the failure, as JSON, then exit. */
static _Noreturn void load_failed(int proto_fd, const char *what, const char *detail)
{
	char msg[1024];
	size_t n = 0;
	n += (size_t)snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"%s: ", what);
	for (const char *p = detail ? detail : "unknown error"; *p && n < sizeof(msg) - 8; p++)
		msg[n++] = (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) ? '\'' : *p;
	memcpy(msg + n, "\"}\n", 4);
	n += 3;
	for (size_t done = 0; done < n;) {
		ssize_t w = write(proto_fd, msg + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	_exit(70);
}

_Noreturn void worker_loader_run(const struct worker_setup *ws)
{
	int fd = memfd_create("weft-worker.so", MFD_CLOEXEC);
	if (fd < 0)
		load_failed(ws->proto_fd, "cannot load the Python worker", strerror(errno));
	const unsigned char *p = weft_worker_image;
	size_t left = (size_t)(weft_worker_image_end - weft_worker_image);
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			load_failed(ws->proto_fd, "cannot load the Python worker", strerror(errno));
		p += w;
		left -= (size_t)w;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* RTLD_GLOBAL: extension modules (numpy's .so) find libpython's symbols there */
	void *lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!lib)
		load_failed(ws->proto_fd, "cannot load the Python worker", dlerror());
	close(fd);
	void (*run)(const struct worker_setup *) = (void (*)(const struct worker_setup *))dlsym(lib, "worker_main");
	if (!run)
		load_failed(ws->proto_fd, "the Python worker has no worker_main", dlerror());
	run(ws);
	_exit(70); /* worker_main never returns */
}
