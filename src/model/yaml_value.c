/* yaml_value: YAML nodes as chunk option values; see yaml_value.h. */
#include "model/yaml_value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Does the whole string match YAML 1.2's integer forms? Sets *out. */
static int scalar_int(const char *s, long long *out)
{
	char *end;
	int base = 10;
	const char *t = s;
	if (*t == '-' || *t == '+')
		t++;
	if (!isdigit((unsigned char)*t))
		return 0;
	if (t[0] == '0' && (t[1] == 'x' || t[1] == 'o')) {
		base = t[1] == 'x' ? 16 : 8;
		t += 2;
		if (!*t)
			return 0;
	}
	errno = 0;
	long long v = strtoll(t, &end, base);
	if (*end || errno)
		return 0;
	*out = *s == '-' ? -v : v;
	return 1;
}

/* Does the whole string match YAML 1.2's float forms? Sets *out. */
static int scalar_float(const char *s, double *out)
{
	const char *t = s;
	if (*t == '-' || *t == '+')
		t++;
	if (!strcmp(t, ".inf") || !strcmp(t, ".Inf") || !strcmp(t, ".INF")) {
		*out = *s == '-' ? -INFINITY : INFINITY;
		return 1;
	}
	if (!strcmp(t, ".nan") || !strcmp(t, ".NaN") || !strcmp(t, ".NAN")) {
		*out = NAN;
		return 1;
	}
	if (!isdigit((unsigned char)*t) && !(*t == '.' && isdigit((unsigned char)t[1])))
		return 0;
	for (const char *c = t; *c; c++)
		if (!isdigit((unsigned char)*c) && !strchr(".eE+-", *c))
			return 0;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*end || errno)
		return 0;
	*out = v;
	return 1;
}

/* Type a plain (unquoted) scalar. */
static void type_plain(const char *s, struct optval *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	static const char *const null[] = { "", "~", "null", "Null", "NULL", "None" };
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			out->kind = OPTVAL_BOOL;
			out->b = !strcmp(s, yes[i]);
			return;
		}
	}
	for (size_t i = 0; i < sizeof(null) / sizeof(null[0]); i++) {
		if (!strcmp(s, null[i])) {
			out->kind = OPTVAL_NONE;
			return;
		}
	}
	if (scalar_int(s, &out->i)) {
		out->kind = OPTVAL_INT;
		return;
	}
	if (scalar_float(s, &out->f)) {
		out->kind = OPTVAL_FLOAT;
		return;
	}
	out->kind = OPTVAL_STRING;
	out->s = xstrdup(s);
}

/* Deepest list nesting converted (libyaml parses deeper input without recursing; this
 * conversion recurses once per level, so hostile nesting must be an error, not a crash). */
#define YAML_VALUE_MAX_NESTING 200

/* yaml_value_from_node at nesting `depth`: refuses lists nested deeper than the bound. */
static int from_node(yaml_document_t *doc, yaml_node_t *node, const char *text, const char *file,
		     int line0, int col0, struct optval *out, struct weft_error *err, int depth)
{
	memset(out, 0, sizeof(*out));
	if (depth >= YAML_VALUE_MAX_NESTING) {
		int line = line0 + (int)node->start_mark.line;
		int col = (node->start_mark.line ? 1 : col0) + (int)node->start_mark.column;
		return weft_error_set(err, file, line, col,
				      "an option value nests lists deeper than %d levels",
				      YAML_VALUE_MAX_NESTING);
	}
	size_t b = node->start_mark.index, e = node->end_mark.index;
	size_t tlen = strlen(text);
	if (e > tlen)
		e = tlen;
	if (b > e)
		b = e;
	while (e > b && isspace((unsigned char)text[e - 1]))
		e--;

	switch (node->type) {
	case YAML_SCALAR_NODE: {
		const char *v = (const char *)node->data.scalar.value;
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			type_plain(v, out);
		} else {
			out->kind = OPTVAL_STRING;
			out->s = xstrndup(v, node->data.scalar.length);
		}
		break;
	}
	case YAML_SEQUENCE_NODE: {
		out->kind = OPTVAL_LIST;
		yaml_node_item_t *it = node->data.sequence.items.start;
		size_t n = (size_t)(node->data.sequence.items.top - it);
		out->items = n ? xcalloc(n, sizeof(*out->items)) : NULL;
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *child = yaml_document_get_node(doc, it[i]);
			if (!child || from_node(doc, child, text, file, line0, col0, &out->items[i],
						err, depth + 1) < 0) {
				out->nitems = i + 1;
				optval_free(out);
				return -1;
			}
		}
		out->nitems = n;
		break;
	}
	default: {
		int line = line0 + (int)node->start_mark.line;
		int col = (node->start_mark.line ? 1 : col0) + (int)node->start_mark.column;
		return weft_error_set(err, file, line, col,
				      "an option value must be a scalar or a list, not a mapping");
	}
	}
	out->src = xstrndup(text + b, e - b);
	return 0;
}

int yaml_value_from_node(yaml_document_t *doc, yaml_node_t *node, const char *text,
			 const char *file, int line0, int col0, struct optval *out,
			 struct weft_error *err)
{
	return from_node(doc, node, text, file, line0, col0, out, err, 0);
}

int yaml_nesting_check(const char *text, size_t len, const char *file, int line, int column,
		       struct weft_error *err)
{
	int depth = 0, l = line, c = column;
	char quote = 0;
	for (size_t i = 0; i < len; i++, c++) {
		char ch = text[i], prev = i ? text[i - 1] : '\n';
		if (ch == '\n') {
			l++;
			c = 0;
			quote = 0;
			/* a line starting at column 1 is a new top-level entry */
			if (i + 1 < len && !strchr(" \t\r\n]},#", text[i + 1]))
				depth = 0;
			continue;
		}
		if (quote) {
			if (ch == '\\' && quote == '"' && i + 1 < len)
				i++, c++;
			else if (ch == quote)
				quote = 0;
			continue;
		}
		if ((ch == '"' || ch == '\'') && strchr(" \t\n[{,:", prev))
			quote = ch;
		else if (ch == '#' && strchr(" \t\n", prev))
			while (i + 1 < len && text[i + 1] != '\n')
				i++, c++;
		else if ((ch == '[' || ch == '{') && ++depth > YAML_VALUE_MAX_NESTING)
			return weft_error_set(err, file, l, c,
					      "YAML nested deeper than %d levels", YAML_VALUE_MAX_NESTING);
		else if ((ch == ']' || ch == '}') && depth > 0)
			depth--;
	}
	return 0;
}

int yaml_value_parse(const char *text, const char *file, int line, int column,
		     struct optval *out, struct weft_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (yaml_nesting_check(text, strlen(text), file, line, column, err) < 0)
		return -1;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, &doc)) {
		/* libyaml may point past the end; place the error within the text. */
		size_t idx = parser.problem_mark.index, tlen = strlen(text);
		int l = line, c = column;
		if (idx > tlen)
			idx = tlen;
		if (idx == tlen && idx > 0 && text[idx - 1] == '\n')
			idx--;
		for (size_t i = 0; i < idx; i++) {
			if (text[i] == '\n') {
				l++;
				c = 1;
			} else {
				c++;
			}
		}
		weft_error_set(err, file, l, c, "malformed option value: %s",
			       parser.problem ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		/* "key:" with nothing after it is YAML's null. */
		out->kind = OPTVAL_NONE;
		out->src = xstrdup("");
		rc = 0;
	} else {
		rc = yaml_value_from_node(&doc, root, text, file, line, column, out, err);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}
