/* error: error records and warnings; see error.h. */
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void weft_error_init(struct weft_error *err)
{
	err->file = NULL;
	err->line = 0;
	err->column = 0;
	strbuf_init(&err->msg);
	strbuf_init(&err->text);
}

void weft_error_free(struct weft_error *err)
{
	free(err->file);
	strbuf_free(&err->msg);
	strbuf_free(&err->text);
	weft_error_init(err);
}

void weft_error_clear(struct weft_error *err)
{
	weft_error_free(err);
}

int weft_error_isset(const struct weft_error *err)
{
	return err->msg.len > 0;
}

static void set_location(struct weft_error *err, const char *file, int line, int column)
{
	free(err->file);
	err->file = file ? xstrdup(file) : NULL;
	err->line = line;
	err->column = column;
	strbuf_reset(&err->msg);
}

int weft_error_set(struct weft_error *err, const char *file, int line, int column,
		   const char *fmt, ...)
{
	if (!err)
		return -1;
	set_location(err, file, line, column);
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int weft_error_errno(struct weft_error *err, const char *file, const char *fmt, ...)
{
	int saved = errno;
	if (!err)
		return -1;
	set_location(err, file, 0, 0);
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&err->msg, fmt, ap);
	va_end(ap);
	strbuf_addf(&err->msg, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

const char *weft_error_text(struct weft_error *err)
{
	strbuf_reset(&err->text);
	if (err->file) {
		strbuf_addstr(&err->text, err->file);
		if (err->line > 0)
			strbuf_addf(&err->text, ":%d", err->line);
		if (err->line > 0 && err->column > 0)
			strbuf_addf(&err->text, ":%d", err->column);
		strbuf_addstr(&err->text, ": ");
	}
	strbuf_add(&err->text, err->msg.buf, err->msg.len);
	return err->text.buf;
}

void weft_warn(const char *file, int line, const char *fmt, ...)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addstr(&sb, "weft: warning: ");
	if (file) {
		strbuf_addstr(&sb, file);
		if (line > 0)
			strbuf_addf(&sb, ":%d", line);
		strbuf_addstr(&sb, ": ");
	}
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_addch(&sb, '\n');
	fputs(sb.buf, stderr);
	strbuf_free(&sb);
}
