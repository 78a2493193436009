/* worker_loader: load weft-worker.so in the forked child; see worker_loader.h. */
#include "engine/worker_loader.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/strbuf.h"

/* The shared object's bytes (worker_image.S). */
extern const unsigned char weft_worker_image[];
extern const unsigned char weft_worker_image_end[];

/* See worker_loader.h. */
int worker_loader_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0)
			errno = EIO; /* no progress: say so rather than leave a stale errno */
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* See worker_loader.h. */
_Noreturn void worker_loader_fail(int proto_fd, const char *what, const char *detail)
{
	char msg[1024];
	size_t n = 0;
	n += (size_t)snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"%s: ", what);
	for (const char *p = detail ? detail : "unknown error"; *p && n < sizeof(msg) - 8; p++)
		msg[n++] = (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) ? '\'' : *p;
	memcpy(msg + n, "\"}\n", 4);
	(void)worker_loader_write_all(proto_fd, msg, n + 3);
	_exit(70);
}

/* Write the image to fd; 0, or -1 with errno set. */
static int write_image(int fd)
{
	return worker_loader_write_all(fd, weft_worker_image, (size_t)(weft_worker_image_end - weft_worker_image));
}

/*
 * dlopen the image from an anonymous memory file; where the kernel refuses
 * to map those executable (vm.memfd_noexec), from a temporary file that is
 * removed at once. NULL when neither works, with the reasons in why.
 */
static void *open_image(struct strbuf *why)
{
	/* RTLD_GLOBAL: extension modules (numpy's .so) find libpython's symbols there */
	const int mode = RTLD_NOW | RTLD_GLOBAL;
	char path[PATH_MAX];
	int fd = memfd_create("weft-worker.so", MFD_CLOEXEC);
	if (fd >= 0 && write_image(fd) == 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		void *lib = dlopen(path, mode);
		close(fd);
		if (lib)
			return lib;
		strbuf_addstr(why, dlerror());
	} else {
		strbuf_addf(why, "memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/weft-worker-XXXXXX.so", tmp && *tmp ? tmp : "/tmp");
	fd = mkostemps(path, 3, O_CLOEXEC); /* not held open by what the worker spawns */
	if (fd < 0) {
		strbuf_addf(why, "; %s: %s", path, strerror(errno));
		return NULL;
	}
	void *lib = write_image(fd) == 0 ? dlopen(path, mode) : NULL;
	if (!lib)
		strbuf_addf(why, "; %s: %s", path, dlerror());
	close(fd);
	unlink(path);
	return lib;
}

_Noreturn void worker_loader_run(const struct worker_setup *ws)
{
	struct strbuf why;
	strbuf_init(&why);
	void *lib = open_image(&why);
	if (!lib)
		worker_loader_fail(ws->proto_fd, "cannot load the Python worker", why.buf);
	strbuf_free(&why);
	void (*run)(const struct worker_setup *) = (void (*)(const struct worker_setup *))dlsym(lib, "worker_main");
	if (!run)
		worker_loader_fail(ws->proto_fd, "the Python worker has no worker_main", dlerror());
	run(ws);
	_exit(70); /* worker_main never returns */
}
