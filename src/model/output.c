/* output: the nbformat output model; see output.h. */
#include "model/output.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void output_list_init(struct output_list *l)
{
	l->items = NULL;
	l->n = l->alloc = 0;
}

static void output_free(struct output *o)
{
	free(o->stream_name);
	strbuf_free(&o->text);
	for (size_t i = 0; i < o->nmimes; i++) {
		free(o->mimes[i].mime);
		free(o->mimes[i].data);
	}
	free(o->mimes);
	if (o->metadata)
		json_decref(o->metadata);
	free(o->ename);
	free(o->evalue);
	for (size_t i = 0; i < o->ntraceback; i++)
		free(o->traceback[i]);
	free(o->traceback);
}

void output_list_free(struct output_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		output_free(&l->items[i]);
	free(l->items);
	output_list_init(l);
}

struct output *output_list_add(struct output_list *l, enum output_type type)
{
	ARRAY_GROW(l->items, l->n + 1, l->alloc);
	struct output *o = &l->items[l->n++];
	memset(o, 0, sizeof(*o));
	o->type = type;
	strbuf_init(&o->text);
	o->statement = -1;
	return o;
}

void output_list_add_stream(struct output_list *l, const char *name, const char *text, size_t len)
{
	struct output *last = l->n ? &l->items[l->n - 1] : NULL;
	if (!last || last->type != OUTPUT_STREAM || strcmp(last->stream_name, name)) {
		last = output_list_add(l, OUTPUT_STREAM);
		last->stream_name = xstrdup(name);
	}
	strbuf_add(&last->text, text, len);
}

void output_add_mime(struct output *o, const char *mime, const void *data, size_t len)
{
	ARRAY_GROW(o->mimes, o->nmimes + 1, o->mimes_alloc);
	struct mime_item *m = &o->mimes[o->nmimes++];
	m->mime = xstrdup(mime);
	m->data = xmalloc(len + 1);
	memcpy(m->data, data, len);
	m->data[len] = '\0';
	m->len = len;
}

const struct mime_item *output_get_mime(const struct output *o, const char *mime)
{
	for (size_t i = 0; i < o->nmimes; i++)
		if (!strcmp(o->mimes[i].mime, mime))
			return &o->mimes[i];
	return NULL;
}

void output_list_copy(struct output_list *dst, const struct output_list *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct output *s = &src->items[i];
		struct output *d = output_list_add(dst, s->type);
		d->stream_name = s->stream_name ? xstrdup(s->stream_name) : NULL;
		strbuf_add(&d->text, s->text.buf, s->text.len);
		for (size_t k = 0; k < s->nmimes; k++)
			output_add_mime(d, s->mimes[k].mime, s->mimes[k].data, s->mimes[k].len);
		d->metadata = s->metadata ? json_deep_copy(s->metadata) : NULL;
		d->ename = s->ename ? xstrdup(s->ename) : NULL;
		d->evalue = s->evalue ? xstrdup(s->evalue) : NULL;
		if (s->ntraceback) {
			d->traceback = xcalloc(s->ntraceback, sizeof(char *));
			for (size_t k = 0; k < s->ntraceback; k++)
				d->traceback[k] = xstrdup(s->traceback[k]);
			d->ntraceback = s->ntraceback;
		}
		d->statement = s->statement;
	}
}

bool mime_is_binary(const char *mime)
{
	if (!strncmp(mime, "image/", 6))
		return strcmp(mime, "image/svg+xml") != 0;
	return !strcmp(mime, "application/pdf");
}

void base64_encode(struct strbuf *out, const void *data, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	strbuf_grow(out, n);
	sodium_bin2base64(out->buf + out->len, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	out->len += n - 1; /* n counts the terminator */
}

int base64_decode(struct strbuf *out, const char *text, size_t len)
{
	size_t cap = len / 4 * 3 + 3, got = 0;
	strbuf_grow(out, cap);
	if (sodium_base642bin((unsigned char *)out->buf + out->len, cap, text, len, " \t\r\n",
			      &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	out->len += got;
	out->buf[out->len] = '\0';
	return 0;
}

/* nbformat multiline strings may be a string or a list of strings. */
static int json_multiline(struct strbuf *out, const json_t *v)
{
	if (json_is_string(v)) {
		strbuf_add(out, json_string_value(v), json_string_length(v));
		return 0;
	}
	if (!json_is_array(v))
		return -1;
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item) {
		if (!json_is_string(item))
			return -1;
		strbuf_add(out, json_string_value(item), json_string_length(item));
	}
	return 0;
}

json_t *output_list_to_json(const struct output_list *l, bool weft_fields)
{
	json_t *arr = json_array();
	struct strbuf b64;
	strbuf_init(&b64);
	for (size_t i = 0; i < l->n; i++) {
		const struct output *o = &l->items[i];
		json_t *j = json_object();
		switch (o->type) {
		case OUTPUT_STREAM:
			json_object_set_new(j, "output_type", json_string("stream"));
			json_object_set_new(j, "name", json_string(o->stream_name));
			json_object_set_new(j, "text", json_stringn(o->text.buf, o->text.len));
			break;
		case OUTPUT_DISPLAY_DATA:
		case OUTPUT_EXECUTE_RESULT: {
			json_object_set_new(j, "output_type",
					    json_string(o->type == OUTPUT_DISPLAY_DATA ? "display_data"
										: "execute_result"));
			json_t *data = json_object();
			for (size_t k = 0; k < o->nmimes; k++) {
				const struct mime_item *m = &o->mimes[k];
				if (mime_is_binary(m->mime)) {
					strbuf_reset(&b64);
					base64_encode(&b64, m->data, m->len);
					json_object_set_new(data, m->mime, json_stringn(b64.buf, b64.len));
				} else {
					json_object_set_new(data, m->mime, json_stringn(m->data, m->len));
				}
			}
			json_object_set_new(j, "data", data);
			json_object_set_new(j, "metadata",
					    o->metadata ? json_deep_copy(o->metadata) : json_object());
			if (o->type == OUTPUT_EXECUTE_RESULT)
				json_object_set_new(j, "execution_count", json_null());
			break;
		}
		case OUTPUT_ERROR: {
			json_object_set_new(j, "output_type", json_string("error"));
			json_object_set_new(j, "ename", json_string(o->ename ? o->ename : ""));
			json_object_set_new(j, "evalue", json_string(o->evalue ? o->evalue : ""));
			json_t *tb = json_array();
			for (size_t k = 0; k < o->ntraceback; k++)
				json_array_append_new(tb, json_string(o->traceback[k]));
			json_object_set_new(j, "traceback", tb);
			break;
		}
		}
		if (weft_fields && o->statement >= 0) {
			/* weft's own extension, for term mode; nbformat allows extra metadata */
			json_t *md = json_object_get(j, "metadata");
			if (!md) {
				md = json_object();
				json_object_set_new(j, "metadata", md);
			}
			json_object_set_new(md, "weft_statement", json_integer(o->statement));
		}
		json_array_append_new(arr, j);
	}
	strbuf_free(&b64);
	return arr;
}

static char *json_strdup(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? xstrndup(json_string_value(v), json_string_length(v)) : NULL;
}

int output_list_from_json(struct output_list *l, const json_t *arr, struct weft_error *err)
{
	if (!json_is_array(arr))
		return weft_error_set(err, NULL, 0, 0, "outputs: expected a JSON array");
	size_t i;
	json_t *j;
	struct strbuf tmp;
	strbuf_init(&tmp);
	json_array_foreach(arr, i, j) {
		const char *type = json_string_value(json_object_get(j, "output_type"));
		if (!type)
			goto bad;
		const json_t *md = json_object_get(j, "metadata");
		int statement = -1;
		if (json_is_object(md) && json_is_integer(json_object_get(md, "weft_statement")))
			statement = (int)json_integer_value(json_object_get(md, "weft_statement"));
		if (!strcmp(type, "stream")) {
			struct output *o = output_list_add(l, OUTPUT_STREAM);
			o->stream_name = json_strdup(j, "name");
			if (!o->stream_name)
				o->stream_name = xstrdup("stdout");
			if (json_multiline(&o->text, json_object_get(j, "text")) < 0)
				goto bad;
			o->statement = statement;
		} else if (!strcmp(type, "display_data") || !strcmp(type, "execute_result") ||
			   !strcmp(type, "pyout")) {
			struct output *o = output_list_add(
				l, !strcmp(type, "display_data") ? OUTPUT_DISPLAY_DATA : OUTPUT_EXECUTE_RESULT);
			const json_t *data = json_object_get(j, "data");
			const char *mime;
			json_t *v;
			json_object_foreach((json_t *)data, mime, v) {
				strbuf_reset(&tmp);
				if (json_multiline(&tmp, v) < 0) {
					/* application/json and friends: keep the serialised JSON
					 * (any value: a bare number or null is JSON too) */
					char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
					if (!dump) {
						strbuf_free(&tmp);
						return weft_error_set(err, NULL, 0, 0,
								      "outputs: cannot encode the %s data", mime);
					}
					output_add_mime(o, mime, dump, strlen(dump));
					free(dump);
					continue;
				}
				if (mime_is_binary(mime)) {
					struct strbuf raw;
					strbuf_init(&raw);
					if (base64_decode(&raw, tmp.buf, tmp.len) < 0) {
						strbuf_free(&raw);
						goto bad;
					}
					output_add_mime(o, mime, raw.buf, raw.len);
					strbuf_free(&raw);
				} else {
					output_add_mime(o, mime, tmp.buf, tmp.len);
				}
			}
			if (json_is_object(md) && json_object_size(md)) {
				o->metadata = json_deep_copy(md);
				json_object_del(o->metadata, "weft_statement");
			}
			o->statement = statement;
		} else if (!strcmp(type, "error")) {
			struct output *o = output_list_add(l, OUTPUT_ERROR);
			o->ename = json_strdup(j, "ename");
			o->evalue = json_strdup(j, "evalue");
			const json_t *tb = json_object_get(j, "traceback");
			if (json_is_array(tb) && json_array_size(tb)) {
				o->ntraceback = json_array_size(tb);
				o->traceback = xcalloc(o->ntraceback, sizeof(char *));
				for (size_t k = 0; k < o->ntraceback; k++) {
					const char *s = json_string_value(json_array_get(tb, k));
					o->traceback[k] = xstrdup(s ? s : "");
				}
			}
			o->statement = statement;
		} else {
			goto bad;
		}
	}
	strbuf_free(&tmp);
	return 0;
bad:
	strbuf_free(&tmp);
	return weft_error_set(err, NULL, 0, 0, "outputs: entry %zu is not a valid nbformat output", i);
}
