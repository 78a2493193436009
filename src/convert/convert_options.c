/* convert_options: chunk options written in Pweave's and Quarto's syntax; see convert_options.h. */
#include "convert/convert_options.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

/* See convert_options.h. */
const char *convert_canon_key(const char *key)
{
	return !strcmp(key, "label") ? "name" : key;
}

/* See convert_options.h. */
size_t convert_effective_options(const struct option_list *l, const struct chunk_option ***out)
{
	const struct chunk_option **v = l->n ? xcalloc(l->n, sizeof(*v)) : NULL;
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *k = convert_canon_key(l->items[i].key);
		int later = 0;
		for (size_t j = i + 1; j < l->n && !later; j++)
			later = !strcmp(k, convert_canon_key(l->items[j].key));
		if (!later)
			v[n++] = &l->items[i];
	}
	*out = v;
	return n;
}

/* A double-quoted string with backslash escapes (valid in Python and YAML). */
static void add_quoted(struct strbuf *out, const char *s)
{
	strbuf_addch(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': strbuf_addstr(out, "\\\""); break;
		case '\\': strbuf_addstr(out, "\\\\"); break;
		case '\n': strbuf_addstr(out, "\\n"); break;
		case '\t': strbuf_addstr(out, "\\t"); break;
		case '\r': strbuf_addstr(out, "\\r"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				strbuf_addf(out, "\\x%02x", *p);
			else
				strbuf_addch(out, (char)*p);
		}
	}
	strbuf_addch(out, '"');
}

/* The shortest decimal form of d that reads back as the same double, marked as a float. */
static void add_float(struct strbuf *out, double d)
{
	char tmp[64];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	strbuf_addstr(out, tmp);
	if (!strpbrk(tmp, ".eEn"))
		strbuf_addstr(out, ".0");
}

/* A value as a Python literal (expressions as written). */
static void add_python(struct strbuf *out, const struct optval *v)
{
	switch (v->kind) {
	case OPTVAL_NONE: strbuf_addstr(out, "None"); break;
	case OPTVAL_BOOL: strbuf_addstr(out, v->b ? "True" : "False"); break;
	case OPTVAL_INT: strbuf_addf(out, "%lld", v->i); break;
	case OPTVAL_FLOAT:
		if (isnan(v->f))
			strbuf_addstr(out, "float(\"nan\")");
		else if (isinf(v->f))
			strbuf_addstr(out, v->f > 0 ? "float(\"inf\")" : "float(\"-inf\")");
		else
			add_float(out, v->f);
		break;
	case OPTVAL_STRING: add_quoted(out, v->s ? v->s : ""); break;
	case OPTVAL_LIST:
		strbuf_addch(out, v->is_tuple ? '(' : '[');
		for (size_t i = 0; i < v->nitems; i++) {
			if (i)
				strbuf_addstr(out, ", ");
			add_python(out, &v->items[i]);
		}
		if (v->is_tuple && v->nitems == 1)
			strbuf_addch(out, ',');
		strbuf_addch(out, v->is_tuple ? ')' : ']');
		break;
	case OPTVAL_EXPR: strbuf_addstr(out, v->src ? v->src : "None"); break;
	}
}

/* Would YAML read this plain scalar as something other than a string? */
static int yaml_retypes(const char *s)
{
	static const char *const words[] = { "true", "false", "null", "none", "yes", "no",
					     "on", "off", "~", "" };
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return 1;
	const char *t = s;
	if (*t == '+' || *t == '-')
		t++;
	return isdigit((unsigned char)*t) || *t == '.';
}

/* A word that can stand unquoted anywhere (Pweave bare name, YAML plain, flow list item). */
static int simple_word(const char *s)
{
	if (!s || !isalpha((unsigned char)s[0]))
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-/", *p))
			return 0;
	return 1;
}

/* Can `s` be a YAML plain scalar in block context, read back as this very string? */
static int yaml_plain_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]) ||
	    strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) || s[n - 1] == ':' || strchr(s, '\n') ||
	    strstr(s, ": ") || strstr(s, " #") || yaml_retypes(s))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* See convert_options.h. */
int convert_add_yaml(struct strbuf *out, const struct optval *v, int in_flow)
{
	int rc = 0;
	switch (v->kind) {
	case OPTVAL_NONE: strbuf_addstr(out, "null"); break;
	case OPTVAL_BOOL: strbuf_addstr(out, v->b ? "true" : "false"); break;
	case OPTVAL_INT: strbuf_addf(out, "%lld", v->i); break;
	case OPTVAL_FLOAT:
		if (isnan(v->f))
			strbuf_addstr(out, ".nan");
		else if (isinf(v->f))
			strbuf_addstr(out, v->f > 0 ? ".inf" : "-.inf");
		else
			add_float(out, v->f);
		break;
	case OPTVAL_STRING:
		if (v->s && yaml_plain_ok(v->s) && !(in_flow && strpbrk(v->s, ",[]{}")))
			strbuf_addstr(out, v->s);
		else
			add_quoted(out, v->s ? v->s : "");
		break;
	case OPTVAL_LIST:
		strbuf_addch(out, '[');
		for (size_t i = 0; i < v->nitems; i++) {
			if (i)
				strbuf_addstr(out, ", ");
			if (convert_add_yaml(out, &v->items[i], 1) < 0)
				rc = -1;
		}
		strbuf_addch(out, ']');
		break;
	case OPTVAL_EXPR:
		if (v->src && yaml_plain_ok(v->src) && !(in_flow && strpbrk(v->src, ",[]{}"))) {
			strbuf_addstr(out, v->src);
		} else {
			add_quoted(out, v->src ? v->src : "");
			rc = -1;
		}
		break;
	}
	return rc;
}

/*
 * cache_extra is a Python expression whatever syntax held it: weft uses its
 * source text, so the writers copy that text rather than the parsed value.
 */
static int is_expression_option(const struct chunk_option *o)
{
	return !strcmp(o->key, "cache_extra") && o->val.src && o->val.src[0] &&
	       o->val.kind != OPTVAL_NONE;
}

/* Quarto's name for a Pweave option, where weft's Quarto reader maps it back. */
static const char *quarto_key(const char *key)
{
	static const char *const map[][2] = {
		{ "name", "label" },    { "evaluate", "eval" },  { "caption", "fig-cap" },
		{ "dpi", "fig-dpi" },   { "f_pos", "fig-pos" },  { "f_env", "fig-env" },
		{ "width", "out-width" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(key, map[i][0]))
			return map[i][1];
	return key;
}

/* See convert_options.h. */
void convert_add_pweave_options(struct strbuf *out, const struct chunk *c)
{
	const struct chunk_option **v;
	size_t n = convert_effective_options(&c->raw, &v);
	int first = 1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(convert_canon_key(v[i]->key), "name"))
			continue;
		if (v[i]->val.kind == OPTVAL_STRING && simple_word(v[i]->val.s)) {
			strbuf_addstr(out, v[i]->val.s);
		} else {
			strbuf_addstr(out, "name=");
			add_python(out, &v[i]->val);
		}
		first = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(convert_canon_key(v[i]->key), "name"))
			continue;
		if (!first)
			strbuf_addstr(out, ", ");
		strbuf_addf(out, "%s=", v[i]->key);
		if (is_expression_option(v[i]))
			strbuf_addstr(out, v[i]->val.src);
		else
			add_python(out, &v[i]->val);
		first = 0;
	}
	free(v);
}

/* See convert_options.h. */
void convert_add_quarto_options(struct strbuf *out, const struct document *doc,
			       const struct chunk *c)
{
	const struct chunk_option **v;
	size_t n = convert_effective_options(&c->raw, &v);
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(out, "#| %s: ", quarto_key(convert_canon_key(v[i]->key)));
		const char *src = v[i]->val.src;
		if (is_expression_option(v[i]) &&
		    (yaml_plain_ok(src) || ((src[0] == '"' || src[0] == '\'') && !strchr(src, '\\'))))
			strbuf_addstr(out, src);
		else if (convert_add_yaml(out, &v[i]->val, 0) < 0)
			weft_warn(doc->path, v[i]->line,
				  "option '%s' is written as a quoted string in the notebook: "
				  "YAML cannot hold the expression '%s' unquoted",
				  v[i]->key, v[i]->val.src ? v[i]->val.src : "");
		strbuf_addch(out, '\n');
	}
	free(v);
}
