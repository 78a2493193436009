/* forkcheck: check that the process is single-threaded before fork; see forkcheck.h. */
#include "util/forkcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parse "Threads:\t<n>" out of /proc/self/status; plain read(), no stdio
 * buffers to flush into the child. */
long forkcheck_thread_count(void)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[4096];
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';
	const char *p = strstr(buf, "\nThreads:");
	if (!p)
		return -1;
	char *end;
	long n = strtol(p + 9, &end, 10);
	return end == p + 9 || n < 1 ? -1 : n;
}

int forkcheck_single_threaded(const char *what, struct weft_error *err)
{
	long n = forkcheck_thread_count();
	if (n > 1)
		return weft_error_set(err, NULL, 0, 0,
				      "%s: cannot fork safely: %ld threads are running in weft "
				      "(the child would inherit their locks; this is a weft bug)",
				      what, n);
	return 0;
}
