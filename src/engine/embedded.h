/*
 * embedded: the Python runtime files (the .py files of src/engine/py), compiled into the
 * worker (weft-worker.so) by tools/embed.c at build time, each with its code object
 * marshalled by the libpython the worker links (so it need not compile them on every start).
 */
#ifndef WEFT_EMBEDDED_H
#define WEFT_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;   /* base name, e.g. "weft_runtime.py" */
	const char *data;   /* contents, NUL-terminated */
	size_t len;
	const unsigned char *code; /* marshalled code object (.py files), or NULL */
	size_t code_len;
};

extern const struct embedded_file embedded_files[];
extern const unsigned embedded_file_count;
/* PyImport_GetMagicNumber() of the Python that marshalled the code objects. */
extern const long embedded_code_magic;

/* The embedded file called `name`, or NULL. */
const struct embedded_file *embedded_find(const char *name);

#endif
