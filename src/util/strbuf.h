/*
 * strbuf: a growable, always NUL-terminated byte buffer.
 *
 * Every growable string in weft goes through this module. A strbuf owns its
 * storage; `buf` is never NULL after strbuf_init (it points at a shared empty
 * string until the first write), so callers may print it at any time.
 *
 *   struct strbuf sb;
 *   strbuf_init(&sb);
 *   strbuf_addf(&sb, "%s:%d", file, line);
 *   ... use sb.buf / sb.len ...
 *   strbuf_free(&sb);
 *
 * Allocation failure aborts the process: weft cannot do anything useful
 * without memory, and pretending otherwise would double every call site.
 */
#ifndef WEFT_STRBUF_H
#define WEFT_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;    /* contents, NUL-terminated; may contain NULs */
	size_t len;   /* bytes used, not counting the terminator */
	size_t alloc; /* bytes allocated; 0 while buf is the shared empty string */
};

/* Make an empty buffer. */
void strbuf_init(struct strbuf *sb);
/* Release the storage and leave an empty buffer behind. */
void strbuf_free(struct strbuf *sb);
/* Take ownership of the contents (malloc'd, NUL-terminated); sb becomes empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
/* Make sure at least `extra` more bytes fit without reallocating. */
void strbuf_grow(struct strbuf *sb, size_t extra);
/* Drop the contents but keep the allocation. */
void strbuf_reset(struct strbuf *sb);
/* Cut the buffer to `len` bytes (len must not exceed sb->len). */
void strbuf_setlen(struct strbuf *sb, size_t len);

void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
/* Append `n` copies of character c. */
void strbuf_addchars(struct strbuf *sb, int c, size_t n);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);

/* Remove trailing ASCII whitespace. */
void strbuf_rtrim(struct strbuf *sb);
/* True when the buffer ends with `suffix`. */
int strbuf_ends_with(const struct strbuf *sb, const char *suffix);

/* Read a whole file into sb (appending). Returns 0, or -1 with errno set. */
int strbuf_read_file(struct strbuf *sb, const char *path);
/* Read everything from fd until EOF (appending). Returns 0, or -1 with errno. */
int strbuf_read_fd(struct strbuf *sb, int fd);

/* malloc-or-die helpers shared by every module. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grow an array of `count` elements of `size` bytes so that index `need-1` fits. */
void *xgrow_array(void *p, size_t size, size_t need, size_t *alloc);
#define ARRAY_GROW(ptr, need, alloc) \
	((ptr) = xgrow_array((ptr), sizeof(*(ptr)), (need), &(alloc)))

#endif
