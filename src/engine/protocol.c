/* protocol: building, checking and decoding worker messages; see protocol.h. */
#include "engine/protocol.h"
#include "engine/protocol_schema.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum proto_type { PT_STR, PT_INT, PT_BOOL, PT_NUM, PT_ARRAY, PT_OBJECT, PT_ANY };

struct proto_row {
	enum proto_dir dir;
	const char *op;
	const char *field;
	enum proto_type type;
	bool required;
};

#define PROTO_ROW(dir, op, field, type, req) {PROTO_##dir, #op, #field, PT_##type, req},
static const struct proto_row rows[] = {PROTO_FIELDS(PROTO_ROW)};
static const struct proto_row track_rows[] = {PROTO_TRACK_FIELDS(PROTO_ROW)};
#undef PROTO_ROW

#define PROTO_NAME(op) #op,
static const char *const ops[] = {PROTO_OPS(PROTO_NAME)};
static const char *const events[] = {PROTO_EVENTS(PROTO_NAME)};
#undef PROTO_NAME

long proto_utf8_invalid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned cp, min;
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return (long)i;
		if (i + len > n)
			return (long)i;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (long)i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (long)i;
		i += len;
	}
	return -1;
}

void proto_utf8_repair(struct strbuf *out, const char *s, size_t n)
{
	while (n) {
		long bad = proto_utf8_invalid(s, n);
		size_t good = bad < 0 ? n : (size_t)bad;
		strbuf_add(out, s, good);
		if (bad < 0)
			return;
		strbuf_addstr(out, "\xef\xbf\xbd");
		s += good + 1;
		n -= good + 1;
	}
}

/* Does `v` have schema type t? */
static bool type_ok(const json_t *v, enum proto_type t)
{
	switch (t) {
	case PT_STR: return json_is_string(v);
	case PT_INT: return json_is_integer(v);
	case PT_BOOL: return json_is_boolean(v);
	case PT_NUM: return json_is_number(v);
	case PT_ARRAY: return json_is_array(v);
	case PT_OBJECT: return json_is_object(v);
	case PT_ANY: return v != NULL;
	}
	return false;
}

static const char *type_name(enum proto_type t)
{
	static const char *const names[] = {"a string", "an integer", "a boolean", "a number",
					    "an array", "an object", "a value"};
	return names[t];
}

static const char *dir_name(enum proto_dir d)
{
	return d == PROTO_REQ ? "request" : d == PROTO_REP ? "reply" : "event";
}

/* Check msg against the rows of (dir, op) in one table. */
static int check_rows(const struct proto_row *tab, size_t n, enum proto_dir dir, const char *op,
		      const json_t *msg, struct weft_error *err)
{
	const char *kind = dir == PROTO_EVT ? "event" : tab == track_rows ? "record" : "op";
	if (!json_is_object(msg))
		return weft_error_set(err, NULL, 0, 0, "%s %s: %s is not a JSON object", kind, op,
				      dir_name(dir));
	for (size_t i = 0; i < n; i++) {
		const struct proto_row *r = &tab[i];
		if (r->dir != dir || strcmp(r->op, op))
			continue;
		const json_t *v = json_object_get(msg, r->field);
		if (!v || json_is_null(v)) {
			if (r->required)
				return weft_error_set(err, NULL, 0, 0, "%s %s: %s field '%s' missing",
						      kind, op, dir_name(dir), r->field);
			continue;
		}
		if (!type_ok(v, r->type))
			return weft_error_set(err, NULL, 0, 0, "%s %s: %s field '%s' is not %s", kind,
					      op, dir_name(dir), r->field, type_name(r->type));
	}
	return 0;
}

int proto_check(enum proto_dir dir, const char *op, const json_t *msg, struct weft_error *err)
{
	return check_rows(rows, sizeof(rows) / sizeof(rows[0]), dir, op, msg, err);
}

bool proto_op_known(const char *name)
{
	for (size_t i = 0; name && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i], name))
			return true;
	return false;
}

/* ---- building ---- */

void proto_req_init(struct proto_req *r, const char *op)
{
	r->obj = json_object();
	r->op = op;
	r->bad_field = NULL;
	r->bad_offset = -1;
	r->bad_byte = 0;
	if (!r->obj || json_object_set_new(r->obj, "op", json_string(op)) < 0)
		r->bad_field = "op";
}

bool proto_req_failed(const struct proto_req *r)
{
	return r->bad_field != NULL;
}

/* Remember the first failure. */
static void req_fail(struct proto_req *r, const char *field, long offset, unsigned char byte)
{
	if (r->bad_field)
		return;
	r->bad_field = field;
	r->bad_offset = offset;
	r->bad_byte = byte;
}

void proto_req_json(struct proto_req *r, const char *field, json_t *v)
{
	if (!v) {
		req_fail(r, field, -1, 0);
		return;
	}
	if (!r->obj || json_object_set_new(r->obj, field, v) < 0) /* set_new consumes v either way */
		req_fail(r, field, -1, 0);
}

json_t *proto_string(const char *s, size_t n, long *bad)
{
	long off = proto_utf8_invalid(s, n);
	if (bad)
		*bad = off;
	return off >= 0 ? NULL : json_stringn_nocheck(s, n);
}

void proto_req_strn(struct proto_req *r, const char *field, const char *s, size_t n)
{
	if (!s) {
		req_fail(r, field, -1, 0);
		return;
	}
	long bad;
	json_t *v = proto_string(s, n, &bad);
	if (!v) {
		req_fail(r, field, bad, bad >= 0 ? (unsigned char)s[bad] : 0);
		return;
	}
	proto_req_json(r, field, v);
}

void proto_req_str(struct proto_req *r, const char *field, const char *s)
{
	proto_req_strn(r, field, s, s ? strlen(s) : 0);
}

void proto_req_int(struct proto_req *r, const char *field, long long v)
{
	proto_req_json(r, field, json_integer((json_int_t)v));
}

void proto_req_bool(struct proto_req *r, const char *field, bool v)
{
	proto_req_json(r, field, json_boolean(v));
}

void proto_req_real(struct proto_req *r, const char *field, double v)
{
	proto_req_json(r, field, json_real(v)); /* NULL for NaN/inf: a failure, not a dropped field */
}

void proto_req_merge(struct proto_req *r, const json_t *extra)
{
	if (!extra)
		return;
	if (!json_is_object(extra) || !r->obj || json_object_update_missing(r->obj, (json_t *)extra) < 0)
		req_fail(r, "extra", -1, 0);
}

void proto_req_discard(struct proto_req *r)
{
	json_decref(r->obj);
	r->obj = NULL;
}

json_t *proto_req_finish(struct proto_req *r, const char *file, int line, const char *what,
			 struct weft_error *err)
{
	json_t *obj = r->obj;
	r->obj = NULL;
	if (!r->bad_field)
		return obj;
	json_decref(obj);
	if (r->bad_offset >= 0)
		weft_error_set(err, file, line, 0,
			       "%s: cannot send field '%s' of op %s to Python: byte 0x%02x at offset %ld "
			       "is not valid UTF-8",
			       what, r->bad_field, r->op, r->bad_byte, r->bad_offset);
	else
		weft_error_set(err, file, line, 0, "%s: cannot build field '%s' of op %s", what,
			       r->bad_field, r->op);
	return NULL;
}

json_t *proto_pack(struct weft_error *err, const char *file, int line, const char *what,
		   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_error_t jerr;
	json_t *v = json_vpack_ex(&jerr, 0, fmt, ap);
	va_end(ap);
	if (!v)
		weft_error_set(err, file, line, 0, "%s: cannot build the message: %s", what, jerr.text);
	return v;
}

bool proto_code_unsendable(const char *code, int first_line, int *line, struct strbuf *why)
{
	long off = code ? proto_utf8_invalid(code, strlen(code)) : -1;
	if (off < 0)
		return false;
	int ln = first_line, col = 1;
	for (long i = 0; i < off; i++) {
		if (code[i] == '\n')
			ln++, col = 1;
		else
			col++;
	}
	*line = ln;
	strbuf_addf(why, "the code is not valid UTF-8: byte 0x%02x at line %d, column %d",
		    (unsigned char)code[off], ln, col);
	return true;
}

/* ---- decoding ---- */

char *proto_dup_text(const char *s, size_t n)
{
	if (!memchr(s, '\0', n))
		return xstrndup(s, n);
	struct strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < n; i++) {
		if (s[i])
			strbuf_addch(&sb, s[i]);
		else
			strbuf_addstr(&sb, "\\x00");
	}
	return strbuf_detach(&sb, NULL);
}

/* Owned copy of an optional string field, or NULL. */
static char *dup_field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? proto_dup_text(json_string_value(v), json_string_length(v)) : NULL;
}

int proto_decode_event(const json_t *msg, struct proto_event *ev, struct weft_error *err)
{
	const json_t *kind = json_object_get(msg, "ev");
	if (!kind)
		return 0;
	memset(ev, 0, sizeof(*ev));
	ev->statement = -1;
	const char *k = json_string_value(kind);
	size_t i = 0;
	for (; k && i < sizeof(events) / sizeof(events[0]); i++)
		if (!strcmp(events[i], k))
			break;
	if (!k || i == sizeof(events) / sizeof(events[0]))
		return weft_error_set(err, NULL, 0, 0, "the worker sent an unknown event %s",
				      k ? k : "(not a string)");
	if (proto_check(PROTO_EVT, k, msg, err) < 0)
		return -1;
	if (!strcmp(k, "stream")) {
		ev->kind = PROTO_EV_STREAM;
		const char *name = json_string_value(json_object_get(msg, "name"));
		ev->stream = !strcmp(name, "stderr") ? "stderr" : "stdout";
		const json_t *t = json_object_get(msg, "text");
		ev->text = json_string_value(t);
		ev->text_len = json_string_length(t);
		const json_t *st = json_object_get(msg, "statement");
		if (json_is_integer(st))
			ev->statement = (int)json_integer_value(st);
	} else if (!strcmp(k, "output")) {
		ev->kind = PROTO_EV_OUTPUT;
		ev->output = json_object_get(msg, "output");
	} else if (!strcmp(k, "truncated")) {
		ev->kind = PROTO_EV_TRUNCATED;
		const char *name = json_string_value(json_object_get(msg, "name"));
		ev->stream = !strcmp(name, "stderr") ? "stderr" : "stdout";
		ev->trunc_limit = json_integer_value(json_object_get(msg, "limit"));
		ev->trunc_dropped = json_integer_value(json_object_get(msg, "dropped"));
	} else {
		ev->kind = PROTO_EV_EXIT;
		ev->exit_status = (int)json_integer_value(json_object_get(msg, "status"));
		ev->exit_line = (int)json_integer_value(json_object_get(msg, "line"));
	}
	return 1;
}

int proto_check_track(const json_t *rec, struct weft_error *err)
{
	if (check_rows(track_rows, sizeof(track_rows) / sizeof(track_rows[0]), PROTO_REP, "tracked", rec,
		       err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(track_rows) / sizeof(track_rows[0]); i++) {
		if (track_rows[i].type != PT_ARRAY)
			continue;
		size_t k;
		json_t *v;
		json_array_foreach(json_object_get(rec, track_rows[i].field), k, v)
			if (!json_is_string(v))
				return weft_error_set(err, NULL, 0, 0,
						      "tracking record: '%s' holds a non-string",
						      track_rows[i].field);
	}
	return 0;
}

void proto_run_reply_free(struct proto_run_reply *r)
{
	free(r->error_type);
	free(r->error_message);
	for (size_t i = 0; i < r->nstatements; i++)
		free(r->statements[i].source);
	free(r->statements);
	json_decref(r->tracked);
	free(r->tracked_error);
	memset(r, 0, sizeof(*r));
}

int proto_decode_run_reply(const json_t *reply, struct proto_run_reply *out, struct weft_error *err)
{
	memset(out, 0, sizeof(*out));
	if (proto_check(PROTO_REP, "run", reply, err) < 0)
		return -1;
	const char *status = json_string_value(json_object_get(reply, "status"));
	if (strcmp(status, "ok") && strcmp(status, "error"))
		return weft_error_set(err, NULL, 0, 0, "op run: unknown status '%s'", status);
	out->status = strcmp(status, "ok") ? RUN_ERROR : RUN_OK;
	out->error_type = dup_field(reply, "error_type");
	out->error_message = dup_field(reply, "error_message");
	out->error_line = (int)json_integer_value(json_object_get(reply, "error_line"));
	out->seconds = json_number_value(json_object_get(reply, "seconds"));
	const json_t *stmts = json_object_get(reply, "statements");
	if (json_is_array(stmts)) {
		out->has_statements = true;
		out->nstatements = json_array_size(stmts);
		out->statements = xcalloc(out->nstatements ? out->nstatements : 1, sizeof(*out->statements));
		for (size_t i = 0; i < out->nstatements; i++) {
			const json_t *s = json_array_get(stmts, i);
			const json_t *src = json_object_get(s, "source");
			const json_t *line = json_object_get(s, "line");
			if (!json_is_string(src) || !json_is_integer(line)) {
				proto_run_reply_free(out);
				return weft_error_set(err, NULL, 0, 0,
						      "op run: statement %zu lacks its source or line", i);
			}
			out->statements[i].source = proto_dup_text(json_string_value(src), json_string_length(src));
			out->statements[i].line = (int)json_integer_value(line);
		}
	}
	out->tracked_error = dup_field(reply, "tracked_error");
	json_t *t = json_object_get(reply, "tracked");
	if (t && !json_is_null(t)) {
		struct weft_error terr;
		weft_error_init(&terr);
		if (proto_check_track(t, &terr) < 0) {
			if (!out->tracked_error)
				out->tracked_error = xstrdup(terr.msg.buf);
		} else if (!out->tracked_error) {
			out->tracked = json_incref(t);
		}
		weft_error_free(&terr);
	}
	return 0;
}

int proto_decode_inline_reply(const json_t *reply, struct proto_inline_reply *out,
			      struct weft_error *err)
{
	memset(out, 0, sizeof(*out));
	if (proto_check(PROTO_REP, "inline", reply, err) < 0)
		return -1;
	const char *status = json_string_value(json_object_get(reply, "status"));
	out->ok = !strcmp(status, "ok");
	const json_t *t = json_object_get(reply, "text");
	out->text = json_is_string(t) ? json_string_value(t) : "";
	out->text_len = json_is_string(t) ? json_string_length(t) : 0;
	out->error_message = dup_field(reply, "error_message");
	out->error_line = (int)json_integer_value(json_object_get(reply, "error_line"));
	return 0;
}

void proto_inline_reply_free(struct proto_inline_reply *r)
{
	free(r->error_message);
	memset(r, 0, sizeof(*r));
}

const json_t *proto_decode_analysis(const json_t *reply, size_t expected, struct weft_error *err)
{
	if (proto_check(PROTO_REP, "analyze", reply, err) < 0)
		return NULL;
	const json_t *chunks = json_object_get(reply, "chunks");
	if (json_array_size(chunks) != expected) {
		weft_error_set(err, NULL, 0, 0, "op analyze: %zu analyses for %zu chunks",
			       json_array_size(chunks), expected);
		return NULL;
	}
	size_t i;
	json_t *v;
	json_array_foreach(chunks, i, v)
		if (!json_is_object(v)) {
			weft_error_set(err, NULL, 0, 0, "op analyze: analysis %zu is not an object", i);
			return NULL;
		}
	return chunks;
}
