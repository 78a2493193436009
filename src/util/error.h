/*
 * error: the error record every fallible weft function fills.
 *
 * Functions return an error code (or NULL) and describe the failure in a
 * `struct weft_error` owned by the caller. Only main decides to print and
 * exit. Every user-facing error names the document file and line, so the
 * record carries both; `column` is 0 when unknown.
 *
 *   struct weft_error err;
 *   weft_error_init(&err);
 *   if (doc_read(&doc, path, NULL, &err) < 0)
 *       fprintf(stderr, "%s\n", weft_error_text(&err));  // "doc.pmd:12:5: ..."
 *   weft_error_free(&err);
 */
#ifndef WEFT_ERROR_H
#define WEFT_ERROR_H

#include "util/strbuf.h"

struct weft_error {
	char *file;          /* document or file the error is about, or NULL */
	int line;            /* 1-based line in `file`, 0 when unknown */
	int column;          /* 1-based column, 0 when unknown */
	struct strbuf msg;   /* the message, without location */
	struct strbuf text;  /* scratch for weft_error_text */
};

void weft_error_init(struct weft_error *err);
void weft_error_free(struct weft_error *err);
/* Forget a previous error so the record can be reused. */
void weft_error_clear(struct weft_error *err);
/* True when an error has been set. */
int weft_error_isset(const struct weft_error *err);

/*
 * Set the error (replacing any previous one) and return -1, so a failing
 * function can `return weft_error_set(err, ...)`. file may be NULL; line and
 * column may be 0. `err` may be NULL, in which case nothing is recorded.
 */
int weft_error_set(struct weft_error *err, const char *file, int line, int column,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* As weft_error_set, appending ": strerror(errno)". */
int weft_error_errno(struct weft_error *err, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "file:line:column: message" (parts omitted when unknown). Owned by err. */
const char *weft_error_text(struct weft_error *err);

/* Print a warning "weft: warning: file:line: message" to stderr. */
void weft_warn(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
