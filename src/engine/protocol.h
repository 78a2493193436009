/*
 * protocol: the one boundary where the parent builds, checks and decodes the
 * worker's JSON messages (the contract itself is protocol_schema.h).
 *
 * Building: jansson's builders fail silently in the common idiom
 * (json_string() of invalid UTF-8 is NULL, json_object_set_new(.., NULL)
 * drops the field, a failed json_pack is NULL). Here every request is built
 * with a `struct proto_req`, whose first failure is remembered (which field,
 * which byte) and turned into an error naming the chunk by proto_req_finish;
 * a half-built message is never sent. proto_pack is json_pack with the same
 * guarantee for the planner's small requests.
 *
 * Decoding: replies and events are checked against the schema (types of the
 * listed fields, required ones present) and turned into typed structs; a
 * message that does not conform is an error, never a silently empty result.
 * Strings keep embedded NUL bytes (JSON_ALLOW_NUL on parsing).
 */
#ifndef WEFT_PROTOCOL_H
#define WEFT_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "model/outcome.h"
#include "util/error.h"
#include "util/strbuf.h"

/* Flags every parser of worker messages uses: NUL bytes are data. */
#define PROTO_LOAD_FLAGS JSON_ALLOW_NUL

enum proto_dir { PROTO_REQ, PROTO_REP, PROTO_EVT };

/*
 * Offset of the first byte of s[0..n) that is not valid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF included), or -1 when all of it is.
 */
long proto_utf8_invalid(const char *s, size_t n);

/*
 * Check `msg` against the schema rows of (dir, op): listed fields have their
 * type, required ones are present. 0, or -1 with err ("op run: reply field
 * 'status' missing"). An op or event the schema does not list passes.
 */
int proto_check(enum proto_dir dir, const char *op, const json_t *msg, struct weft_error *err);

/* True when the schema lists op `name` (tests, and requests' sanity). */
bool proto_op_known(const char *name);

/* ---- building ---- */

/* A request under construction; the first failure sticks. */
struct proto_req {
	json_t *obj;
	const char *op;
	const char *bad_field; /* first field that failed, or NULL */
	long bad_offset;       /* its first invalid UTF-8 byte, or -1 (another failure) */
	unsigned char bad_byte;
};

void proto_req_init(struct proto_req *r, const char *op);
/* Set a string field (C string, or `n` bytes with proto_req_strn); invalid UTF-8 fails. */
void proto_req_str(struct proto_req *r, const char *field, const char *s);
void proto_req_strn(struct proto_req *r, const char *field, const char *s, size_t n);
void proto_req_int(struct proto_req *r, const char *field, long long v);
void proto_req_bool(struct proto_req *r, const char *field, bool v);
void proto_req_real(struct proto_req *r, const char *field, double v);
/* Set a field to `v` (stolen); NULL (a failed nested build) fails the request. */
void proto_req_json(struct proto_req *r, const char *field, json_t *v);
/* Copy fields of `extra` (an object) the request does not have yet. */
void proto_req_merge(struct proto_req *r, const json_t *extra);
/* True once a field failed. */
bool proto_req_failed(const struct proto_req *r);
/*
 * The built request (new reference; the struct is emptied), or NULL with err
 * naming `what` (e.g. "chunk load") at file:line: "chunk load: cannot send
 * field 'code' to Python: byte 0xff at offset 12 is not valid UTF-8".
 */
json_t *proto_req_finish(struct proto_req *r, const char *file, int line, const char *what,
			 struct weft_error *err);
/* Drop a request without sending it. */
void proto_req_discard(struct proto_req *r);

/*
 * json_pack that cannot fail silently: the value, or NULL with err naming
 * `what` and jansson's reason (invalid UTF-8, NULL string, ...).
 */
json_t *proto_pack(struct weft_error *err, const char *file, int line, const char *what,
		   const char *fmt, ...);

/* A JSON string of s[0..n), or NULL when it is not valid UTF-8 (*bad set to the offset). */
json_t *proto_string(const char *s, size_t n, long *bad);

/* ---- decoding ---- */

enum proto_event_kind { PROTO_EV_STREAM, PROTO_EV_OUTPUT, PROTO_EV_EXIT, PROTO_EV_TRUNCATED };

/* One event; pointers borrow from the message. */
struct proto_event {
	enum proto_event_kind kind;
	const char *stream;   /* "stdout" or "stderr" (stream, truncated) */
	const char *text;     /* stream text (may hold NUL bytes) */
	size_t text_len;
	int statement;        /* term-mode statement, -1 none */
	const json_t *output; /* nbformat output object */
	int exit_status, exit_line;
	long long trunc_limit, trunc_dropped; /* truncated: bytes kept at most, bytes dropped */
};

/*
 * Is `msg` an event ("ev" present)? 1 and *ev filled; 0 when it is a reply;
 * -1 with err when it is a malformed event or an unknown kind.
 */
int proto_decode_event(const json_t *msg, struct proto_event *ev, struct weft_error *err);

/* A "run" reply, typed. Strings are owned copies (NUL bytes shown as \x00). */
struct proto_run_reply {
	enum run_status status;
	char *error_type, *error_message;
	int error_line;
	double seconds;
	struct statement *statements; /* when has_statements */
	size_t nstatements;
	bool has_statements;
	json_t *tracked;              /* new reference, checked by proto_check_track, or NULL */
	char *tracked_error;          /* why tracking failed, or NULL */
};

/*
 * Decode a run reply with "ok": true. -1 with err when it does not conform
 * (a bad tracking record is reported as tracked_error, not as a failure: the
 * chunk ran; only its caching is impossible).
 */
int proto_decode_run_reply(const json_t *reply, struct proto_run_reply *out, struct weft_error *err);
void proto_run_reply_free(struct proto_run_reply *r);

/* An "inline" reply, typed. */
struct proto_inline_reply {
	bool ok;                /* status "ok" */
	const char *text;       /* borrowed; may hold NUL bytes */
	size_t text_len;
	char *error_message;    /* owned, or NULL */
	int error_line;         /* document line of the error, 0 if unknown */
};
int proto_decode_inline_reply(const json_t *reply, struct proto_inline_reply *out,
			      struct weft_error *err);
void proto_inline_reply_free(struct proto_inline_reply *r);

/* Check a tracking record: its listed fields, and every name/path a string. */
int proto_check_track(const json_t *rec, struct weft_error *err);

/*
 * Check an "analyze" reply for `expected` chunks: an array of exactly that
 * many objects. Returns the array (borrowed) or NULL with err.
 */
const json_t *proto_decode_analysis(const json_t *reply, size_t expected, struct weft_error *err);

/*
 * Chunk code a kernel cannot be given (not UTF-8, as Python requires of
 * source): true, with *line (document line of the bad byte, code starting at
 * `first_line`) and `why` ("the code is not valid UTF-8: byte 0xff at line 3,
 * column 9"). Engines then fail the chunk as a SyntaxError there, running nothing.
 */
bool proto_code_unsendable(const char *code, int first_line, int *line, struct strbuf *why);

/*
 * Append s[0..n) to out with every byte that is not valid UTF-8 replaced by
 * U+FFFD, as the worker does with what it forwards: outputs the engine hands
 * on are always valid UTF-8, so they can always be stored and written as JSON.
 */
void proto_utf8_repair(struct strbuf *out, const char *s, size_t n);

/* xstrndup that shows embedded NUL bytes as "\x00" (C strings end at NUL). */
char *proto_dup_text(const char *s, size_t n);

#endif
