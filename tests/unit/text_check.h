/*
 * text_check: helpers for tests that compare rendered text: substitution,
 * counting, and a readable first difference. Test-only, header-only.
 */
#ifndef WEFT_TEXT_CHECK_H
#define WEFT_TEXT_CHECK_H

#include <stdio.h>
#include <string.h>

#include "util/strbuf.h"

/* Replace every `from` in sb by `to`. */
static inline void replace_all(struct strbuf *sb, const char *from, const char *to)
{
	struct strbuf res;
	strbuf_init(&res);
	size_t fl = strlen(from);
	const char *p = sb->buf, *q;
	while ((q = strstr(p, from))) {
		strbuf_add(&res, p, (size_t)(q - p));
		strbuf_addstr(&res, to);
		p = q + fl;
	}
	strbuf_addstr(&res, p);
	strbuf_reset(sb);
	strbuf_add(sb, res.buf, res.len);
	strbuf_free(&res);
}

/* Occurrences of `needle` in `hay`. */
static inline int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Print the first differing line of two texts, to make a failure readable. */
static inline void show_first_diff(const char *a, const char *b)
{
	int line = 1;
	const char *la = a, *lb = b;
	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
		a++;
		b++;
	}
	if (!*a && !*b)
		return;
	printf("#   first difference at line %d\n#     got:      %.*s\n#     expected: %.*s\n", line,
	       (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
}

#endif
