/* fsutil: file-system helpers; see fsutil.h. */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

int fs_write_atomic(const char *path, const char *data, size_t len, struct weft_error *err)
{
	struct strbuf tmp;
	strbuf_init(&tmp);
	strbuf_addf(&tmp, "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0) {
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp.buf, path) < 0)
		goto fail;
	strbuf_free(&tmp);
	return 0;
fail:
	weft_error_errno(err, path, "cannot write");
	unlink(tmp.buf);
	strbuf_free(&tmp);
	return -1;
}

int fs_write_if_changed(const char *path, const char *data, size_t len, struct weft_error *err)
{
	struct strbuf old;
	strbuf_init(&old);
	int same = strbuf_read_file(&old, path) == 0 && old.len == len && !memcmp(old.buf, data, len);
	strbuf_free(&old);
	if (same)
		return 1;
	return fs_write_atomic(path, data, len, err);
}
