/* optval_json: option values from JSON; see optval_json.h. */
#include "model/optval_json.h"

#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

/* Append Python source for a JSON value (for optval.src). */
static void py_source(struct strbuf *sb, const json_t *v)
{
	size_t i;
	json_t *item;
	switch (json_typeof(v)) {
	case JSON_TRUE: strbuf_addstr(sb, "True"); break;
	case JSON_FALSE: strbuf_addstr(sb, "False"); break;
	case JSON_NULL: strbuf_addstr(sb, "None"); break;
	case JSON_INTEGER: strbuf_addf(sb, "%lld", (long long)json_integer_value(v)); break;
	case JSON_REAL: strbuf_addf(sb, "%.17g", json_real_value(v)); break;
	case JSON_ARRAY:
		strbuf_addch(sb, '[');
		json_array_foreach(v, i, item) {
			if (i)
				strbuf_addstr(sb, ", ");
			py_source(sb, item);
		}
		strbuf_addch(sb, ']');
		break;
	default: {
		/* a JSON string literal is a valid Python string literal */
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		strbuf_addstr(sb, s ? s : "''");
		free(s);
	}
	}
}

int optval_from_json(const json_t *v, struct optval *out)
{
	size_t i;
	json_t *item;
	memset(out, 0, sizeof(*out));
	switch (json_typeof(v)) {
	case JSON_TRUE:
	case JSON_FALSE:
		out->kind = OPTVAL_BOOL;
		out->b = json_is_true(v);
		break;
	case JSON_NULL:
		out->kind = OPTVAL_NONE;
		break;
	case JSON_INTEGER:
		out->kind = OPTVAL_INT;
		out->i = (long long)json_integer_value(v);
		break;
	case JSON_REAL:
		out->kind = OPTVAL_FLOAT;
		out->f = json_real_value(v);
		break;
	case JSON_STRING:
		out->kind = OPTVAL_STRING;
		out->s = xstrndup(json_string_value(v), json_string_length(v));
		break;
	case JSON_ARRAY:
		out->kind = OPTVAL_LIST;
		out->items = json_array_size(v) ? xcalloc(json_array_size(v), sizeof(*out->items))
						: NULL;
		json_array_foreach(v, i, item) {
			if (optval_from_json(item, &out->items[i]) < 0) {
				out->nitems = i + 1;
				optval_free(out);
				return -1;
			}
			out->nitems = i + 1;
		}
		break;
	default:
		return -1;
	}
	struct strbuf sb;
	strbuf_init(&sb);
	py_source(&sb, v);
	out->src = strbuf_detach(&sb, NULL);
	return 0;
}
