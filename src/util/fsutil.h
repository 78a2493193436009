/*
 * fsutil: small file-system helpers shared by the layers.
 */
#ifndef WEFT_FSUTIL_H
#define WEFT_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "util/strbuf.h"

#include "util/error.h"

/*
 * Write `data` to `path` atomically: a temporary file beside it, fsync, rename.
 * A reader sees the old file or the new one, never a part. The temporary file
 * gets an unpredictable name and is created with O_EXCL|O_NOFOLLOW, so a link
 * planted beside the output is never followed; the rename replaces a link at
 * `path` itself rather than writing through it. An existing device, FIFO or
 * socket at `path` (-o /dev/null, /dev/stdout) is written in place instead:
 * renaming over it would replace the device node. 0, or -1 with err.
 */
int fs_write_atomic(const char *path, const char *data, size_t len, struct weft_error *err);

/*
 * As fs_write_atomic, but leave the file alone when it already holds exactly
 * `data` (no write, no fsync, mtime kept). Returns 1 unchanged, 0 written, -1 error.
 */
int fs_write_if_changed(const char *path, const char *data, size_t len, struct weft_error *err);

/*
 * Create a new file for writing beside `path`: "<path>.tmp.<random>", opened
 * O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC with `mode` (less the umask),
 * retrying on a name clash. Returns the fd and leaves the name in `tmp`, or -1
 * with errno set.
 */
int fs_create_temp_beside(const char *path, mode_t mode, struct strbuf *tmp);

/*
 * Write all of `len` bytes to `fd`, retrying on EINTR and short writes.
 * 0, or -1 with errno set (EIO when write returned 0: never a stale errno).
 */
int fs_write_all(int fd, const void *data, size_t len);

/*
 * Are `a` and `b` the same existing file (same device and inode, links
 * followed)? So an output reached by another spelling (./doc.pmd, an absolute
 * path, a hard link, a symlink) is still recognised as the source. When
 * neither exists yet, the same name in the same folder (by inode) counts as
 * the same file (r.md and ./r.md). 1 or 0.
 */
int fs_same_file(const char *a, const char *b);

/* The folder for temporary files: $TMPDIR when set and not empty, else /tmp. */
const char *fs_tmpdir(void);

/* `path` with its last extension (if any) replaced by `ext` (no dot); free it. */
char *fs_with_extension(const char *path, const char *ext);

/* mkdir -p for the folder part of `path` (everything before the last '/'). 0, or -1 with err. */
int fs_make_parent_dirs(const char *path, struct weft_error *err);

/*
 * The executable `name` (or `name` itself when it holds a '/'), searched in
 * $PATH (default /usr/local/bin:/usr/bin:/bin), into `sb`. 0, or -1 when
 * there is none.
 */
int fs_find_program(const char *name, struct strbuf *sb);

#endif
