/* latex_preamble: the packages and definitions a LaTeX report uses; see latex_preamble.h. */
#include "render/latex_preamble.h"

#include <string.h>

void latex_needs_init(struct latex_needs *n, const char *format)
{
	memset(n, 0, sizeof(*n));
	n->format = format;
	strbuf_init(&n->defs);
}

void latex_needs_free(struct latex_needs *n)
{
	strbuf_free(&n->defs);
}

void latex_needs_package(struct latex_needs *n, const char *name)
{
	for (size_t i = 0; i < n->npackages; i++)
		if (!strcmp(n->packages[i], name))
			return;
	if (n->npackages < LATEX_NEEDS_MAX)
		n->packages[n->npackages++] = name;
}

/*
 * pre[0..len) without its comments (an unescaped % to the end of the line),
 * into `sb`, so a commented-out \usepackage or definition does not count.
 */
static void strip_comments(struct strbuf *sb, const char *pre, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (pre[i] == '\\' && i + 1 < len) {
			strbuf_add(sb, pre + i, 2);
			i++;
			continue;
		}
		if (pre[i] == '%') {
			while (i < len && pre[i] != '\n')
				i++;
			if (i < len)
				strbuf_addch(sb, '\n');
			continue;
		}
		strbuf_addch(sb, pre[i]);
	}
}

size_t latex_preamble_end(const char *tex, size_t len)
{
	static const char marker[] = "\\begin{document}";
	size_t line = 0;
	bool comment = false;
	for (size_t i = 0; i < len; i++) {
		if (tex[i] == '\n') {
			line = i + 1;
			comment = false;
		} else if (tex[i] == '\\' && i + 1 < len && tex[i + 1] == '%') {
			i++;
		} else if (tex[i] == '%') {
			comment = true;
		} else if (!comment && tex[i] == '\\' && len - i >= sizeof(marker) - 1 &&
			   !memcmp(tex + i, marker, sizeof(marker) - 1)) {
			return line;
		}
	}
	return len;
}

/* True when the comma-separated package list list[0..n) names `package`. */
static bool list_names(const char *list, size_t n, const char *package)
{
	size_t plen = strlen(package);
	size_t i = 0;
	while (i < n) {
		while (i < n && (list[i] == ' ' || list[i] == '\t' || list[i] == '\n' || list[i] == ','))
			i++;
		size_t s = i;
		while (i < n && list[i] != ',' && list[i] != ' ' && list[i] != '\t' && list[i] != '\n')
			i++;
		if (i - s == plen && !memcmp(list + s, package, plen))
			return true;
	}
	return false;
}

/* True when the comment-free text t[0..len) loads `package` (\usepackage / \RequirePackage). */
static bool loads_package(const char *t, size_t len, const char *package)
{
	static const char *const cmds[] = {"\\usepackage", "\\RequirePackage"};
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < 2; k++) {
			size_t cl = strlen(cmds[k]);
			if (len - i < cl || memcmp(t + i, cmds[k], cl))
				continue;
			size_t j = i + cl;
			while (j < len && (t[j] == ' ' || t[j] == '\n' || t[j] == '\t'))
				j++;
			if (j < len && t[j] == '[') { /* options */
				while (j < len && t[j] != ']')
					j++;
				j++;
				while (j < len && (t[j] == ' ' || t[j] == '\n' || t[j] == '\t'))
					j++;
			}
			if (j >= len || t[j] != '{')
				continue;
			const char *close = memchr(t + j, '}', len - j);
			if (close && list_names(t + j + 1, (size_t)(close - t - j - 1), package))
				return true;
		}
	}
	return false;
}

bool latex_preamble_loads(const char *pre, size_t len, const char *package)
{
	struct strbuf t;
	strbuf_init(&t);
	strip_comments(&t, pre, len);
	bool yes = t.len && (loads_package(t.buf, t.len, package) ||
			     (!strcmp(package, "color") && loads_package(t.buf, t.len, "xcolor")));
	strbuf_free(&t);
	return yes;
}

bool latex_preamble_mentions(const char *pre, size_t len, const char *text)
{
	struct strbuf t;
	strbuf_init(&t);
	strip_comments(&t, pre, len);
	bool yes = t.len && memmem(t.buf, t.len, text, strlen(text)) != NULL;
	strbuf_free(&t);
	return yes;
}

bool latex_preamble_defines_env(const char *pre, size_t len, const char *env)
{
	struct strbuf t, want;
	strbuf_init(&t);
	strbuf_init(&want);
	strip_comments(&t, pre, len);
	strbuf_addf(&want, "{%s}", env);
	bool yes = false;
	for (const char *p = t.buf; t.len && (p = memmem(p, t.len - (size_t)(p - t.buf), want.buf,
							 want.len)) != NULL;
	     p += want.len) {
		size_t before = (size_t)(p - t.buf);
		bool use = (before >= 6 && !memcmp(p - 6, "\\begin", 6)) ||
			   (before >= 4 && !memcmp(p - 4, "\\end", 4));
		if (!use) {
			yes = true;
			break;
		}
	}
	strbuf_free(&t);
	strbuf_free(&want);
	return yes;
}

void latex_preamble_insert(struct strbuf *out, size_t start, const struct latex_needs *n)
{
	const char *tex = out->buf + start;
	size_t len = out->len - start;
	size_t end = latex_preamble_end(tex, len);
	bool whole = end < len;
	struct strbuf block;
	strbuf_init(&block);
	for (size_t i = 0; i < n->npackages; i++) {
		if (whole && latex_preamble_loads(tex, end, n->packages[i]))
			continue;
		if (!block.len && !whole)
			strbuf_addf(&block, "%% weft (%s): this fragment needs in the preamble of the "
					    "document that inputs it:\n",
				    n->format);
		strbuf_addf(&block, "%s\\usepackage{%s}\n", whole ? "" : "%   ", n->packages[i]);
	}
	strbuf_add(&block, n->defs.buf, n->defs.len);
	if (!block.len) {
		strbuf_free(&block);
		return;
	}
	struct strbuf res;
	strbuf_init(&res);
	strbuf_add(&res, out->buf, start + (whole ? end : 0));
	if (whole)
		strbuf_addf(&res, "%% weft (%s): the packages and definitions this report uses\n",
			    n->format);
	else if (!n->npackages || block.buf[0] != '%')
		strbuf_addf(&res, "%% weft (%s): definitions this report uses\n", n->format);
	strbuf_add(&res, block.buf, block.len);
	strbuf_addf(&res, "%% weft (%s): end of what this report uses\n", n->format);
	size_t at = start + (whole ? end : 0);
	strbuf_add(&res, out->buf + at, out->len - at);
	strbuf_free(&block);
	strbuf_free(out);
	*out = res;
}
