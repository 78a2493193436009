/*
 * load: a document file into the model (model/document.h), by the reader of
 * its syntax; the layer above model that the CLI and the tests call.
 *
 *   struct document doc;
 *   document_init(&doc);
 *   if (document_read(&doc, "report.pmd", NULL, &err) < 0) ... weft_error_text(&err) ...
 *   document_free(&doc);
 */
#ifndef WEFT_LOAD_H
#define WEFT_LOAD_H

#include <stddef.h>

#include "model/document.h"
#include "util/error.h"

/*
 * Read `path` into `doc` using input format `format` (NULL: guess). Parses
 * options and front matter, resolves chunk options, numbers chunks. Returns 0,
 * or -1 with err naming file:line(:column).
 */
int document_read(struct document *doc, const char *path, const char *format,
		  struct weft_error *err);
/* As document_read, from a buffer (path used for messages and format guess). */
int document_read_buffer(struct document *doc, const char *path, const char *format,
			 const char *text, size_t len, struct weft_error *err);

#endif
