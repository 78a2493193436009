/*
 * option_parser: Pweave's chunk option syntax (a Python keyword-argument
 * list) and Quarto "#| key: value" lines, read into option lists; see
 * option_parser.h.
 *
 * The parser recognises Python literals (strings with either quote style,
 * escapes and prefixes, numbers, True/False/TRUE/FALSE/None, tuples, lists)
 * and keeps anything else as expression source (OPTVAL_EXPR), found by
 * bracket and quote matching up to the next top-level comma. It never runs
 * Python: options are needed before any interpreter exists.
 */
#include "reader/option_parser.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "model/yaml_value.h"

/* ---- the Pweave option parser ----------------------------------------- */

/* Deepest nesting of ( and [ the recursive literal parser accepts (Python's limit). */
#define OPTIONS_MAX_NESTING 200

struct optparser {
	const char *text;
	size_t len, pos;
	const char *file;
	int line, column;         /* document position of text[0] */
	struct weft_error *err;
};

/* Document line and column of text[off], counting newlines inside text. */
static void parser_locate(const struct optparser *p, size_t off, int *line, int *col)
{
	int l = p->line, c = p->column;
	for (size_t i = 0; i < off && i < p->len; i++) {
		if (p->text[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* Fail with "malformed chunk options: ..." at text[off]. */
static int parser_fail(struct optparser *p, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int parser_fail(struct optparser *p, size_t off, const char *fmt, ...)
{
	int line, col;
	struct strbuf sb;
	va_list ap;

	parser_locate(p, off, &line, &col);
	strbuf_init(&sb);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	weft_error_set(p->err, p->file, line, col, "malformed chunk options: %s", sb.buf);
	strbuf_free(&sb);
	return -1;
}

static int at_end(const struct optparser *p)
{
	return p->pos >= p->len;
}

static int peek(const struct optparser *p, size_t ahead)
{
	return p->pos + ahead < p->len ? (unsigned char)p->text[p->pos + ahead] : 0;
}

static void skip_ws(struct optparser *p)
{
	while (!at_end(p) && isspace((unsigned char)p->text[p->pos]))
		p->pos++;
}

static int is_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static int is_ident_char(int c)
{
	return isalnum(c) || c == '_';
}

/*
 * If s starts a string literal, the length of its prefix (0 for a bare
 * quote, 1-2 for r, u, b, f, rb, ...); (size_t)-1 when s does not start one.
 */
static size_t string_prefix_len(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && k < 2 && strchr("rRuUbBfF", s[k]))
		k++;
	if (k < n && (s[k] == '"' || s[k] == '\''))
		return k;
	return k == 0 && n > 0 && (s[0] == '"' || s[0] == '\'') ? 0 : (size_t)-1;
}

/*
 * Skip over one string literal starting at text[pos] (prefix included),
 * leaving pos after its closing quote. Errors on an unterminated string.
 */
static int skip_string(struct optparser *p)
{
	size_t start = p->pos;
	p->pos += string_prefix_len(p->text + p->pos, p->len - p->pos);
	char q = p->text[p->pos];
	int triple = peek(p, 1) == q && peek(p, 2) == q;
	p->pos += triple ? 3 : 1;
	while (!at_end(p)) {
		char c = p->text[p->pos];
		if (c == '\\') {
			p->pos += 2;
			continue;
		}
		if (c == '\n' && !triple)
			break;
		if (c == q && (!triple || (peek(p, 1) == q && peek(p, 2) == q))) {
			p->pos += triple ? 3 : 1;
			return 0;
		}
		p->pos++;
	}
	return parser_fail(p, start, "unterminated string");
}

/* Append the UTF-8 encoding of code point cp. */
static void add_utf8(struct strbuf *sb, unsigned long cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, 0xC0 | (int)(cp >> 6));
		strbuf_addch(sb, 0x80 | (int)(cp & 0x3F));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, 0xE0 | (int)(cp >> 12));
		strbuf_addch(sb, 0x80 | (int)((cp >> 6) & 0x3F));
		strbuf_addch(sb, 0x80 | (int)(cp & 0x3F));
	} else {
		strbuf_addch(sb, 0xF0 | (int)(cp >> 18));
		strbuf_addch(sb, 0x80 | (int)((cp >> 12) & 0x3F));
		strbuf_addch(sb, 0x80 | (int)((cp >> 6) & 0x3F));
		strbuf_addch(sb, 0x80 | (int)(cp & 0x3F));
	}
}

/* Parse `n` hex digits at s into *out; returns 0 or -1. */
static int parse_hex(const char *s, size_t avail, int n, unsigned long *out)
{
	unsigned long v = 0;
	if ((size_t)n > avail)
		return -1;
	for (int i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (!isxdigit(c))
			return -1;
		v = v * 16 + (unsigned long)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
	}
	*out = v;
	return 0;
}

/*
 * Decode one Python string literal at pos into sb (Python's escapes; raw
 * strings keep backslashes). Returns 1 when decoded, 0 when it is a bytes or
 * f-string (not a plain literal; pos unchanged), -1 on error.
 */
static int decode_string(struct optparser *p, struct strbuf *sb)
{
	size_t start = p->pos;
	size_t k = string_prefix_len(p->text + p->pos, p->len - p->pos);
	int raw = 0;
	for (size_t i = 0; i < k; i++) {
		char c = (char)tolower((unsigned char)p->text[p->pos + i]);
		if (c == 'b' || c == 'f')
			return 0;
		if (c == 'r')
			raw = 1;
	}
	if (skip_string(p) < 0)
		return -1;
	size_t end = p->pos;
	size_t qpos = start + k;
	char q = p->text[qpos];
	int triple = qpos + 2 < p->len && p->text[qpos + 1] == q && p->text[qpos + 2] == q &&
		     end - qpos >= 6;
	size_t b = qpos + (triple ? 3 : 1), e = end - (triple ? 3 : 1);
	for (size_t i = b; i < e; i++) {
		char c = p->text[i];
		if (c != '\\' || i + 1 >= e) {
			strbuf_addch(sb, c);
			continue;
		}
		char n = p->text[i + 1];
		if (raw) {
			strbuf_addch(sb, c);
			strbuf_addch(sb, n);
			i++;
			continue;
		}
		unsigned long cp;
		i++;
		switch (n) {
		case '\n': break;
		case '\\': strbuf_addch(sb, '\\'); break;
		case '\'': strbuf_addch(sb, '\''); break;
		case '"': strbuf_addch(sb, '"'); break;
		case 'a': strbuf_addch(sb, '\a'); break;
		case 'b': strbuf_addch(sb, '\b'); break;
		case 'f': strbuf_addch(sb, '\f'); break;
		case 'n': strbuf_addch(sb, '\n'); break;
		case 'r': strbuf_addch(sb, '\r'); break;
		case 't': strbuf_addch(sb, '\t'); break;
		case 'v': strbuf_addch(sb, '\v'); break;
		case 'x':
		case 'u':
		case 'U': {
			int nd = n == 'x' ? 2 : n == 'u' ? 4 : 8;
			if (parse_hex(p->text + i + 1, e - i - 1, nd, &cp) < 0 || cp > 0x10FFFF)
				return parser_fail(p, i - 1, "bad \\%c escape in string", n);
			add_utf8(sb, cp);
			i += (size_t)nd;
			break;
		}
		default:
			if (n >= '0' && n <= '7') {
				cp = 0;
				int nd = 0;
				while (nd < 3 && i < e && p->text[i] >= '0' && p->text[i] <= '7') {
					cp = cp * 8 + (unsigned long)(p->text[i] - '0');
					i++;
					nd++;
				}
				i--;
				add_utf8(sb, cp);
			} else {
				/* Python keeps unknown escapes as written. */
				strbuf_addch(sb, '\\');
				strbuf_addch(sb, n);
			}
		}
	}
	return 1;
}

/* Set v->src to the trimmed text[start..end). */
static void set_src(struct optparser *p, struct optval *v, size_t start, size_t end)
{
	while (start < end && isspace((unsigned char)p->text[start]))
		start++;
	while (end > start && isspace((unsigned char)p->text[end - 1]))
		end--;
	free(v->src);
	v->src = xstrndup(p->text + start, end - start);
}

static int parse_value(struct optparser *p, struct optval *v, int depth);

/* Parse a number literal; 1 on success, 0 if not a plain number. */
static int parse_number(struct optparser *p, struct optval *v)
{
	size_t start = p->pos, i = p->pos;
	struct strbuf sb;
	int isfloat = 0, ok = 1;

	if (i < p->len && (p->text[i] == '+' || p->text[i] == '-'))
		i++;
	size_t digits = i;
	if (i + 1 < p->len && p->text[i] == '0' && strchr("xXoObB", p->text[i + 1])) {
		int base = strchr("xX", p->text[i + 1]) ? 16 : strchr("oO", p->text[i + 1]) ? 8 : 2;
		i += 2;
		strbuf_init(&sb);
		while (i < p->len && (isalnum((unsigned char)p->text[i]) || p->text[i] == '_')) {
			if (p->text[i] != '_')
				strbuf_addch(&sb, p->text[i]);
			i++;
		}
		char *endp;
		errno = 0;
		long long val = strtoll(sb.buf, &endp, base);
		ok = sb.len > 0 && *endp == '\0' && errno == 0;
		strbuf_free(&sb);
		if (!ok)
			return 0;
		v->kind = OPTVAL_INT;
		v->i = p->text[start] == '-' ? -val : val;
		p->pos = i;
		return 1;
	}
	strbuf_init(&sb);
	strbuf_add(&sb, p->text + start, digits - start);
	while (i < p->len) {
		char c = p->text[i];
		if (isdigit((unsigned char)c)) {
			strbuf_addch(&sb, c);
		} else if (c == '_') {
			/* digit separator */
		} else if (c == '.') {
			isfloat = 1;
			strbuf_addch(&sb, c);
		} else if ((c == 'e' || c == 'E') && i > digits) {
			isfloat = 1;
			strbuf_addch(&sb, c);
			if (i + 1 < p->len && (p->text[i + 1] == '+' || p->text[i + 1] == '-')) {
				i++;
				strbuf_addch(&sb, p->text[i]);
			}
		} else {
			break;
		}
		i++;
	}
	char *endp;
	errno = 0;
	if (isfloat) {
		v->f = strtod(sb.buf, &endp);
		v->kind = OPTVAL_FLOAT;
	} else {
		v->i = strtoll(sb.buf, &endp, 10);
		v->kind = OPTVAL_INT;
	}
	ok = i > digits && *endp == '\0' && errno == 0;
	strbuf_free(&sb);
	if (!ok) {
		v->kind = OPTVAL_NONE;
		return 0;
	}
	p->pos = i;
	return 1;
}

/*
 * Parse the items of a list or tuple after its opening bracket. Returns 1
 * when every item is a literal, 0 when some item is not (the caller then
 * treats the whole value as an expression), -1 on error.
 */
static int parse_container(struct optparser *p, struct optval *v, char close, int depth)
{
	size_t open = p->pos - 1;
	int literal = 1, had_comma = 0;
	/* The parser recurses once per level: bound it (as Python's own tokenizer does, at
	 * 200 levels) so that hostile nesting is an error naming the place, not a stack overflow. */
	if (depth >= OPTIONS_MAX_NESTING)
		return parser_fail(p, open, "brackets nested deeper than %d levels", OPTIONS_MAX_NESTING);
	v->kind = OPTVAL_LIST;
	v->is_tuple = close == ')';
	for (;;) {
		skip_ws(p);
		if (at_end(p))
			return parser_fail(p, open, "unclosed '%c'", p->text[open]);
		if (p->text[p->pos] == close) {
			p->pos++;
			break;
		}
		struct optval item = {0};
		size_t istart = p->pos;
		if (parse_value(p, &item, depth + 1) < 0) {
			optval_free(&item);
			return -1;
		}
		if (!item.src || !item.src[0]) {
			optval_free(&item);
			return parser_fail(p, istart, "missing value in '%c...%c'", p->text[open], close);
		}
		if (item.kind == OPTVAL_EXPR)
			literal = 0;
		v->items = xrealloc(v->items, (v->nitems + 1) * sizeof(*v->items));
		v->items[v->nitems++] = item;
		skip_ws(p);
		if (at_end(p))
			return parser_fail(p, open, "unclosed '%c'", p->text[open]);
		if (p->text[p->pos] == ',') {
			had_comma = 1;
			p->pos++;
			continue;
		}
		if (p->text[p->pos] == close) {
			p->pos++;
			break;
		}
		return parser_fail(p, p->pos, "'%c' does not match '%c'", p->text[p->pos],
				   p->text[open]);
	}
	/* "(x)" is x in parentheses, not a tuple. */
	if (close == ')' && v->nitems == 1 && !had_comma) {
		struct optval inner = v->items[0];
		free(v->items);
		v->items = NULL;
		v->nitems = 0;
		free(inner.src);
		inner.src = NULL;
		*v = inner;
	}
	return literal;
}

/* Try to parse a Python literal at pos: 1 parsed, 0 not a literal, -1 error. */
static int parse_literal(struct optparser *p, struct optval *v, int depth)
{
	int c = peek(p, 0);
	size_t start = p->pos;

	if (string_prefix_len(p->text + p->pos, p->len - p->pos) != (size_t)-1) {
		struct strbuf sb;
		strbuf_init(&sb);
		for (;;) {
			int r = decode_string(p, &sb);
			if (r <= 0) {
				strbuf_free(&sb);
				if (r == 0)
					p->pos = start;
				return r;
			}
			/* Adjacent literals concatenate, as in Python. */
			size_t save = p->pos;
			skip_ws(p);
			if (at_end(p) ||
			    string_prefix_len(p->text + p->pos, p->len - p->pos) == (size_t)-1) {
				p->pos = save;
				break;
			}
		}
		v->kind = OPTVAL_STRING;
		v->s = strbuf_detach(&sb, NULL);
		return 1;
	}
	if (isdigit(c) || (c == '.' && isdigit(peek(p, 1))) ||
	    ((c == '-' || c == '+') && (isdigit(peek(p, 1)) || peek(p, 1) == '.')))
		return parse_number(p, v);
	if (is_ident_start(c)) {
		size_t e = p->pos;
		while (e < p->len && is_ident_char((unsigned char)p->text[e]))
			e++;
		size_t n = e - p->pos;
		const char *w = p->text + p->pos;
		if ((n == 4 && (!strncmp(w, "True", 4) || !strncmp(w, "TRUE", 4)))) {
			v->kind = OPTVAL_BOOL;
			v->b = true;
		} else if (n == 5 && (!strncmp(w, "False", 5) || !strncmp(w, "FALSE", 5))) {
			v->kind = OPTVAL_BOOL;
			v->b = false;
		} else if (n == 4 && !strncmp(w, "None", 4)) {
			v->kind = OPTVAL_NONE;
		} else {
			return 0;
		}
		p->pos = e;
		return 1;
	}
	if (c == '(' || c == '[') {
		p->pos++;
		int r = parse_container(p, v, c == '(' ? ')' : ']', depth);
		if (r <= 0) {
			optval_free(v);
			if (r == 0)
				p->pos = start;
		}
		return r;
	}
	return 0;
}

/*
 * Scan a non-literal expression from pos to the next top-level ',' (or the
 * closing bracket of the enclosing container when depth > 0), matching
 * brackets and skipping strings.
 */
static int scan_expr(struct optparser *p, int depth)
{
	char stack[64];
	size_t where[64];
	int n = 0;
	while (!at_end(p)) {
		char c = p->text[p->pos];
		if (string_prefix_len(p->text + p->pos, p->len - p->pos) != (size_t)-1 &&
		    (p->pos == 0 || !is_ident_char((unsigned char)p->text[p->pos - 1]) ||
		     c == '"' || c == '\'')) {
			if (skip_string(p) < 0)
				return -1;
			continue;
		}
		if (c == '(' || c == '[' || c == '{') {
			if (n == (int)sizeof(stack))
				return parser_fail(p, p->pos, "brackets nested too deeply");
			where[n] = p->pos;
			stack[n++] = c == '(' ? ')' : c == '[' ? ']' : '}';
		} else if (c == ')' || c == ']' || c == '}') {
			if (n == 0) {
				if (depth > 0)
					return 0;
				return parser_fail(p, p->pos, "unmatched '%c'", c);
			}
			if (stack[n - 1] != c)
				return parser_fail(p, p->pos, "'%c' does not match '%c'", c,
						   p->text[where[n - 1]]);
			n--;
		} else if (c == ',' && n == 0) {
			return 0;
		}
		p->pos++;
	}
	if (n > 0)
		return parser_fail(p, where[n - 1], "unclosed '%c'", p->text[where[n - 1]]);
	return 0;
}

/* Is pos at a delimiter that may follow a value? */
static int at_value_end(struct optparser *p, int depth)
{
	if (at_end(p))
		return 1;
	char c = p->text[p->pos];
	return c == ',' || (depth > 0 && (c == ')' || c == ']'));
}

/* Parse one value: a literal if it is one, else expression source. */
static int parse_value(struct optparser *p, struct optval *v, int depth)
{
	skip_ws(p);
	size_t start = p->pos;
	int r = parse_literal(p, v, depth);
	if (r < 0)
		return -1;
	if (r == 1) {
		skip_ws(p);
		if (at_value_end(p, depth)) {
			set_src(p, v, start, p->pos);
			return 0;
		}
		optval_free(v);
		p->pos = start;
	}
	if (scan_expr(p, depth) < 0)
		return -1;
	v->kind = OPTVAL_EXPR;
	set_src(p, v, start, p->pos);
	return 0;
}

/* Append an option with the given key and (moved) value. */
static void add_option(struct option_list *out, const char *key, size_t keylen,
		       struct optval *v, int line, int col)
{
	ARRAY_GROW(out->items, out->n + 1, out->alloc);
	struct chunk_option *o = &out->items[out->n++];
	o->key = xstrndup(key, keylen);
	o->val = *v;
	memset(v, 0, sizeof(*v));
	o->line = line;
	o->column = col;
}

/* Offset of the first top-level ',' (ignoring quotes and brackets), or len. */
static size_t first_segment_end(const char *s, size_t len)
{
	int depth = 0;
	char q = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (q) {
			if (c == '\\')
				i++;
			else if (c == q)
				q = 0;
		} else if (c == '"' || c == '\'') {
			q = c;
		} else if (c == '(' || c == '[' || c == '{') {
			depth++;
		} else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
			depth--;
		} else if (c == ',' && depth == 0) {
			return i;
		}
	}
	return len;
}

int option_parse(const char *text, const char *file, int line, int column,
		 struct option_list *out, struct weft_error *err)
{
	struct optparser p = { text, strlen(text), 0, file, line, column, err };
	size_t first = out->n;

	skip_ws(&p);
	if (at_end(&p))
		return 0;

	/* A first segment without '=' is the chunk name (Pweave's rule). */
	size_t segend = p.pos + first_segment_end(p.text + p.pos, p.len - p.pos);
	if (!memchr(p.text + p.pos, '=', segend - p.pos)) {
		size_t s = p.pos, e = segend;
		while (e > s && isspace((unsigned char)p.text[e - 1]))
			e--;
		struct optval v = {0};
		struct optparser sub = p;
		sub.len = e;
		int l, c;
		parser_locate(&p, s, &l, &c);
		int r = 0;
		if (e > s && (p.text[s] == '"' || p.text[s] == '\'')) {
			sub.pos = s;
			r = parse_literal(&sub, &v, 0);
			if (r < 0)
				return -1;
			if (r == 1 && (sub.pos != e || v.kind != OPTVAL_STRING))
				r = 0;
		}
		if (r != 1) {
			/* a bare word, taken as written (Pweave quotes it) */
			optval_free(&v);
			v.kind = OPTVAL_STRING;
			v.s = xstrndup(p.text + s, e - s);
		}
		set_src(&p, &v, s, e);
		if (e > s)
			add_option(out, "name", 4, &v, l, c);
		else
			optval_free(&v);
		p.pos = segend;
		if (!at_end(&p))
			p.pos++; /* the comma */
	}

	for (;;) {
		skip_ws(&p);
		if (at_end(&p))
			break;
		size_t kstart = p.pos;
		if (!is_ident_start(peek(&p, 0)))
			return parser_fail(&p, p.pos, "expected an option name, found '%c'", peek(&p, 0));
		while (!at_end(&p) && is_ident_char(peek(&p, 0)))
			p.pos++;
		size_t kend = p.pos;
		int klen = (int)(kend - kstart);
		skip_ws(&p);
		if (at_end(&p) || peek(&p, 0) == ',')
			return parser_fail(&p, kstart,
					   "option '%.*s' has no value (only the first option may be a bare chunk name)",
					   klen, text + kstart);
		if (peek(&p, 0) != '=' || peek(&p, 1) == '=')
			return parser_fail(&p, p.pos, "expected '=' after option name '%.*s'", klen,
					   text + kstart);
		p.pos++;
		skip_ws(&p);
		if (at_end(&p) || peek(&p, 0) == ',')
			return parser_fail(&p, p.pos, "missing value for option '%.*s'", klen,
					   text + kstart);
		for (size_t i = first; i < out->n; i++)
			if ((int)strlen(out->items[i].key) == klen &&
			    !strncmp(out->items[i].key, text + kstart, (size_t)klen))
				return parser_fail(&p, kstart, "option '%.*s' given twice", klen,
						   text + kstart);
		struct optval v = {0};
		if (parse_value(&p, &v, 0) < 0) {
			optval_free(&v);
			return -1;
		}
		int l, c;
		parser_locate(&p, kstart, &l, &c);
		add_option(out, text + kstart, (size_t)klen, &v, l, c);
		skip_ws(&p);
		if (at_end(&p))
			break;
		if (peek(&p, 0) != ',')
			return parser_fail(&p, p.pos, "unexpected '%c'", peek(&p, 0));
		p.pos++;
	}
	return 0;
}

/* ---- Quarto "#| key: value" lines ------------------------------------- */

/* Quarto option names that mean a Pweave option under another name. */
static const char *quarto_alias(const char *key)
{
	static const char *const map[][2] = {
		{ "eval", "evaluate" },     { "fig-cap", "caption" }, { "label", "name" },
		{ "fig-dpi", "dpi" },       { "fig-pos", "f_pos" },   { "fig-env", "f_env" },
		{ "out-width", "width" },   { "fig-width", "fig_width" },
		{ "fig-height", "fig_height" }, { "output", "results" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(key, map[i][0]))
			return map[i][1];
	return NULL;
}

int option_parse_quarto(const char *text, const char *file, int line, int column,
			struct option_list *out, struct weft_error *err)
{
	const char *colon = strchr(text, ':');
	const char *k = text;
	while (*k == ' ' || *k == '\t')
		k++;
	size_t klen = colon ? (size_t)(colon - k) : 0;
	while (klen > 0 && isspace((unsigned char)k[klen - 1]))
		klen--;
	if (!colon || klen == 0)
		return weft_error_set(err, file, line, column + (int)(k - text),
				      "malformed chunk option line: expected 'key: value'");
	for (size_t i = 0; i < klen; i++)
		if (!is_ident_char((unsigned char)k[i]) && k[i] != '-')
			return weft_error_set(err, file, line, column + (int)(k - text + i),
					      "malformed chunk option line: bad option name '%.*s'",
					      (int)klen, k);

	struct optval v = {0};
	int vcol = column + (int)(colon + 1 - text);
	if (yaml_value_parse(colon + 1, file, line, vcol, &v, err) < 0)
		return -1;

	char *key = xstrndup(k, klen);
	const char *alias = quarto_alias(key);
	if (alias) {
		free(key);
		key = xstrdup(alias);
	} else {
		for (char *s = key; *s; s++)
			if (*s == '-')
				*s = '_';
	}
	add_option(out, key, strlen(key), &v, line, column + (int)(k - text));
	free(key);
	return 0;
}
