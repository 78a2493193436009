/*
 * fsutil: small file-system helpers shared by the layers.
 */
#ifndef WEFT_FSUTIL_H
#define WEFT_FSUTIL_H

#include <stddef.h>

#include "util/error.h"

/*
 * Write `data` to `path` atomically: a temporary file beside it, fsync, rename.
 * A reader sees the old file or the new one, never a part. 0, or -1 with err.
 */
int fs_write_atomic(const char *path, const char *data, size_t len, struct weft_error *err);

/*
 * As fs_write_atomic, but leave the file alone when it already holds exactly
 * `data` (no write, no fsync, mtime kept). Returns 1 unchanged, 0 written, -1 error.
 */
int fs_write_if_changed(const char *path, const char *data, size_t len, struct weft_error *err);

#endif
