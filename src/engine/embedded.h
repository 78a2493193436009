/*
 * embedded: the Python runtime files (the .py files of src/engine/py), compiled into the
 * binary by tools/embed.c at build time.
 */
#ifndef WEFT_EMBEDDED_H
#define WEFT_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;   /* base name, e.g. "weft_runtime.py" */
	const char *data;   /* contents, NUL-terminated */
	size_t len;
};

extern const struct embedded_file embedded_files[];
extern const unsigned embedded_file_count;

/* The embedded file called `name`, or NULL. */
const struct embedded_file *embedded_find(const char *name);

#endif
