/* stream_text: console rules and cleaning of printed text; see stream_text.h. */
#include "model/stream_text.h"

#include <stdbool.h>
#include <string.h>

#define ESC 0x1b

/* Length of the run at s[0..len) holding no byte for which `special` is true. */
static size_t plain_run(const char *s, size_t len, bool (*special)(unsigned char))
{
	size_t n = 0;
	while (n < len && !special((unsigned char)s[n]))
		n++;
	return n;
}

/* The bytes the console rules act on. */
static bool console_special(unsigned char c)
{
	return c == '\r' || c == '\b' || c == '\n';
}

void stream_text_console(struct strbuf *out, const char *text, size_t len)
{
	size_t line_start = out->len; /* where the current line begins in out */
	for (size_t i = 0; i < len; i++) {
		/* ordinary text is copied a run at a time (outputs reach 32 MiB) */
		size_t run = plain_run(text + i, len - i, console_special);
		if (run) {
			strbuf_add(out, text + i, run);
			i += run;
			if (i == len)
				break;
		}
		char c = text[i];
		if (c == '\r') {
			size_t j = i;
			while (j < len && text[j] == '\r')
				j++;
			if (j == len || text[j] == '\n') {
				/* "\r\n" (any number of \r) is a newline; a final "\r" moves nowhere */
				i = j - 1;
				continue;
			}
			/* back to the start of the line: what follows replaces it */
			strbuf_setlen(out, line_start);
			i = j - 1;
			continue;
		}
		if (c == '\b') {
			/* delete the previous code point of this line, if there is one */
			size_t n = out->len;
			if (n > line_start) {
				do
					n--;
				while (n > line_start && ((unsigned char)out->buf[n] & 0xC0) == 0x80);
				strbuf_setlen(out, n);
			}
			continue;
		}
		strbuf_addch(out, c);
		if (c == '\n')
			line_start = out->len;
	}
}

/*
 * Length of the terminal escape sequence starting with ESC at s[0], or 0 when
 * none is complete there (the ESC is then shown, not dropped). A sequence
 * never spans a newline, so an unterminated one cannot swallow output.
 */
static size_t escape_len(const char *s, size_t len)
{
	if (len < 2)
		return 0;
	unsigned char k = (unsigned char)s[1];
	if (k == '[') { /* CSI: parameters 0x30-0x3F, intermediates 0x20-0x2F, final 0x40-0x7E */
		size_t i = 2;
		while (i < len && (unsigned char)s[i] >= 0x30 && (unsigned char)s[i] <= 0x3F)
			i++;
		while (i < len && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] <= 0x2F)
			i++;
		if (i < len && (unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7E)
			return i + 1;
		return 0;
	}
	if (k == ']') { /* OSC: up to BEL or ESC \ */
		for (size_t i = 2; i < len && s[i] != '\n'; i++) {
			if (s[i] == '\a')
				return i + 1;
			if (s[i] == ESC && i + 1 < len && s[i + 1] == '\\')
				return i + 2;
		}
		return 0;
	}
	/* the escapes terminals and curses libraries send: keypad, cursor save and restore, index, reset */
	if (k && strchr("=>78DEHMc", k))
		return 2;
	/* character set designation: ESC ( B, ESC ) 0 */
	if ((k == '(' || k == ')') && len >= 3 && (unsigned char)s[2] >= 0x30 &&
	    (unsigned char)s[2] <= 0x7E)
		return 3;
	return 0;
}

/* Append control character `c` the way Python's repr writes it. */
static void add_escaped(struct strbuf *out, unsigned c)
{
	if (c == '\r')
		strbuf_addstr(out, "\\r");
	else
		strbuf_addf(out, "\\x%02x", c);
}

/* The bytes cleaning looks at: controls, DEL, and the lead byte of C1 controls in UTF-8. */
static bool clean_special(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\n') || c == 0x7F || c == 0xC2;
}

void stream_text_clean(struct strbuf *out, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		size_t run = plain_run(text + i, len - i, clean_special);
		if (run) {
			strbuf_add(out, text + i, run);
			i += run;
			if (i == len)
				break;
		}
		unsigned char c = (unsigned char)text[i];
		if (c == ESC) {
			size_t n = escape_len(text + i, len - i);
			if (n) {
				i += n - 1;
				continue;
			}
			add_escaped(out, c);
			continue;
		}
		if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
			continue; /* the newline follows */
		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
			add_escaped(out, c);
			continue;
		}
		/* C1 controls U+0080-U+009F, encoded as C2 80 .. C2 9F */
		if (c == 0xC2 && i + 1 < len && (unsigned char)text[i + 1] >= 0x80 &&
		    (unsigned char)text[i + 1] <= 0x9F) {
			add_escaped(out, (unsigned char)text[i + 1]);
			i++;
			continue;
		}
		strbuf_addch(out, (char)c);
	}
}

/* True when two stream outputs are the same stream (a missing name is stdout). */
static bool same_stream(const struct output *a, const struct output *b)
{
	const char *x = a->stream_name ? a->stream_name : "stdout";
	const char *y = b->stream_name ? b->stream_name : "stdout";
	return !strcmp(x, y);
}

void stream_text_finish_list(struct output_list *dst, const struct output_list *src)
{
	struct strbuf raw;
	strbuf_init(&raw);
	for (size_t i = 0; i < src->n;) {
		const struct output *o = &src->items[i];
		if (o->type != OUTPUT_STREAM) {
			/* a one-item view of src, copied deeply */
			struct output_list one = {.items = (struct output *)o, .n = 1};
			output_list_copy(dst, &one);
			i++;
			continue;
		}
		strbuf_reset(&raw);
		size_t j = i;
		while (j < src->n && src->items[j].type == OUTPUT_STREAM &&
		       same_stream(o, &src->items[j])) {
			strbuf_add(&raw, src->items[j].text.buf, src->items[j].text.len);
			j++;
		}
		struct output *d = output_list_add(dst, OUTPUT_STREAM);
		d->stream_name = xstrdup(o->stream_name ? o->stream_name : "stdout");
		d->statement = o->statement;
		d->metadata = o->metadata ? json_deep_copy(o->metadata) : NULL;
		stream_text_console(&d->text, raw.buf, raw.len);
		i = j;
	}
	strbuf_free(&raw);
}
