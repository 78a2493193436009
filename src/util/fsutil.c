/* fsutil: file-system helpers; see fsutil.h. */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_create_temp_beside(const char *path, mode_t mode, struct strbuf *tmp)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned char rnd[8];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		strbuf_reset(tmp);
		strbuf_addf(tmp, "%s.tmp.", path);
		for (size_t i = 0; i < sizeof(rnd); i++)
			strbuf_addch(tmp, digits[rnd[i] % (sizeof(digits) - 1)]);
		int fd = open(tmp->buf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Split `path` into its folder (in dir) and last component (returned, inside path). */
static const char *split_parent(const char *path, struct strbuf *dir)
{
	const char *slash = strrchr(path, '/');
	strbuf_reset(dir);
	if (!slash) {
		strbuf_addstr(dir, ".");
		return path;
	}
	if (slash == path)
		strbuf_addstr(dir, "/");
	else
		strbuf_add(dir, path, (size_t)(slash - path));
	return slash + 1;
}

int fs_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	int ea = stat(a, &sa), eb = stat(b, &sb);
	if (ea == 0 && eb == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	if (ea == 0 || eb == 0)
		return 0;
	/* Neither exists yet: the same name in the same folder is the same file to be. */
	struct strbuf da, db;
	strbuf_init(&da);
	strbuf_init(&db);
	const char *na = split_parent(a, &da), *nb = split_parent(b, &db);
	int same = *na && !strcmp(na, nb) && stat(da.buf, &sa) == 0 && stat(db.buf, &sb) == 0 &&
		   sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	strbuf_free(&da);
	strbuf_free(&db);
	return same;
}

const char *fs_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

/* Write into an existing device, FIFO or socket in place: renaming over it (as root,
 * `-o /dev/null`) would replace the device node with a regular file. */
static int write_in_place(const char *path, const char *data, size_t len, struct weft_error *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return weft_error_errno(err, path, "cannot write");
	if (fs_write_all(fd, data, len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return weft_error_errno(err, path, "cannot write");
	}
	if (close(fd) < 0)
		return weft_error_errno(err, path, "cannot write");
	return 0;
}

int fs_write_atomic(const char *path, const char *data, size_t len, struct weft_error *err)
{
	struct stat st;
	if (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ||
				     S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return write_in_place(path, data, len, err);
	struct strbuf tmp;
	strbuf_init(&tmp);
	int fd = fs_create_temp_beside(path, 0666, &tmp);
	if (fd < 0) {
		weft_error_errno(err, path, "cannot create a temporary file to write");
		strbuf_free(&tmp);
		return -1;
	}
	if (fs_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
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
	/* Only a regular file is read back: reading a FIFO would block or steal its data. */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return fs_write_atomic(path, data, len, err);
	struct strbuf old;
	strbuf_init(&old);
	int same = strbuf_read_file(&old, path) == 0 && old.len == len && !memcmp(old.buf, data, len);
	strbuf_free(&old);
	if (same)
		return 1;
	return fs_write_atomic(path, data, len, err);
}

/* See fsutil.h. */
int fs_make_parent_dirs(const char *path, struct weft_error *err)
{
	char *dir = xstrdup(path);
	char *end = strrchr(dir, '/');
	if (!end) {
		free(dir);
		return 0;
	}
	*end = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
			int rc = weft_error_errno(err, dir, "cannot create the folder");
			free(dir);
			return rc;
		}
		*p = '/';
	}
	if (*dir && mkdir(dir, 0777) < 0 && errno != EEXIST) {
		int rc = weft_error_errno(err, dir, "cannot create the folder");
		free(dir);
		return rc;
	}
	free(dir);
	return 0;
}

/* See fsutil.h. */
int fs_find_program(const char *name, struct strbuf *sb)
{
	strbuf_reset(sb);
	if (strchr(name, '/')) {
		strbuf_addstr(sb, name);
		return access(name, X_OK) == 0 ? 0 : -1;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		strbuf_reset(sb);
		if (n)
			strbuf_add(sb, path, n);
		else
			strbuf_addch(sb, '.');
		strbuf_addf(sb, "/%s", name);
		struct stat st;
		if (stat(sb->buf, &st) == 0 && S_ISREG(st.st_mode) && access(sb->buf, X_OK) == 0)
			return 0;
		path += n;
		if (*path == ':')
			path++;
	}
	strbuf_reset(sb);
	return -1;
}

char *fs_with_extension(const char *path, const char *ext)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addstr(&sb, path);
	const char *slash = strrchr(sb.buf, '/');
	char *dot = strrchr(sb.buf, '.');
	if (dot && (!slash || dot > slash) && dot != sb.buf && (!slash || dot != slash + 1))
		strbuf_setlen(&sb, (size_t)(dot - sb.buf));
	strbuf_addf(&sb, ".%s", ext);
	return strbuf_detach(&sb, NULL);
}
