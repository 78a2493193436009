/* Unit tests for protocol.c: UTF-8 checking, checked builders, schema checks and typed decoding. */
#include <stdlib.h>
#include <string.h>

#include "engine/protocol.h"
#include "unit.h"

/* Parse a JSON literal as the engine parses worker messages. */
static json_t *load(const char *text)
{
	return json_loadb(text, strlen(text), PROTO_LOAD_FLAGS, NULL);
}

TEST(utf8_validation)
{
	CHECK(proto_utf8_invalid("", 0) == -1);
	CHECK(proto_utf8_invalid("plain ascii", 11) == -1);
	CHECK(proto_utf8_invalid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14) == -1);
	CHECK(proto_utf8_invalid("a\xff" "b", 3) == 1);
	CHECK(proto_utf8_invalid("ab\xc3", 3) == 2);                /* truncated sequence */
	CHECK(proto_utf8_invalid("\xc0\xaf", 2) == 0);              /* overlong '/' */
	CHECK(proto_utf8_invalid("x\xe0\x80\xaf", 4) == 1);         /* overlong, 3 bytes */
	CHECK(proto_utf8_invalid("\xed\xa0\x80", 3) == 0);          /* a UTF-16 surrogate */
	CHECK(proto_utf8_invalid("\xf4\x90\x80\x80", 4) == 0);      /* above U+10FFFF */
	CHECK(proto_utf8_invalid("ok\xe2\x82" "x", 5) == 2);        /* bad continuation */
	CHECK(proto_utf8_invalid("a\0b", 3) == -1);                 /* NUL is valid UTF-8 */
}

TEST(builder_keeps_every_field_or_fails)
{
	struct weft_error err;
	weft_error_init(&err);
	struct proto_req r;
	proto_req_init(&r, "run");
	proto_req_str(&r, "code", "print(1)");
	proto_req_strn(&r, "name", "a\0b", 3);
	proto_req_int(&r, "code_line", 7);
	proto_req_bool(&r, "term", false);
	json_t *j = proto_req_finish(&r, "d.pmd", 7, "chunk a", &err);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "op")), "run");
	CHECK(json_string_length(json_object_get(j, "name")) == 3);
	CHECK(json_integer_value(json_object_get(j, "code_line")) == 7);
	json_decref(j);

	proto_req_init(&r, "run");
	proto_req_str(&r, "code", "x = '\xff'");
	proto_req_int(&r, "code_line", 3); /* later fields do not hide the first failure */
	CHECK(proto_req_failed(&r));
	CHECK(r.bad_offset == 5 && r.bad_byte == 0xff);
	j = proto_req_finish(&r, "d.pmd", 3, "chunk load", &err);
	CHECK(j == NULL);
	CHECK(err.line == 3);
	CHECK(strstr(err.msg.buf, "chunk load") && strstr(err.msg.buf, "'code'") &&
	      strstr(err.msg.buf, "0xff") && strstr(err.msg.buf, "offset 5"));

	proto_req_init(&r, "run");
	proto_req_json(&r, "f_size", NULL); /* a failed nested build */
	proto_req_real(&r, "x", 1.0);
	j = proto_req_finish(&r, NULL, 0, "chunk b", &err);
	CHECK(j == NULL && strstr(err.msg.buf, "'f_size'"));

	proto_req_init(&r, "run");
	proto_req_real(&r, "seconds", 0.0 / 0.0); /* NaN has no JSON form: a failure, not a dropped field */
	CHECK(proto_req_failed(&r));
	proto_req_discard(&r);

	CHECK(proto_pack(&err, "d.pmd", 2, "analysis", "{s:s}", "code", "\xfe") == NULL);
	CHECK(strstr(err.msg.buf, "analysis: cannot build") != NULL);
	j = proto_pack(&err, NULL, 0, "x", "{s:i}", "n", 4);
	CHECK(json_integer_value(json_object_get(j, "n")) == 4);
	json_decref(j);
	weft_error_free(&err);
}

TEST(schema_checks)
{
	struct weft_error err;
	weft_error_init(&err);
	json_t *m = json_loads("{\"status\": \"ok\", \"seconds\": 0.1}", 0, NULL);
	CHECK(proto_check(PROTO_REP, "run", m, &err) == 0);
	json_object_del(m, "status");
	CHECK(proto_check(PROTO_REP, "run", m, &err) == -1);
	CHECK(strstr(err.msg.buf, "'status' missing") != NULL);
	json_object_set_new(m, "status", json_integer(1));
	CHECK(proto_check(PROTO_REP, "run", m, &err) == -1);
	CHECK(strstr(err.msg.buf, "not a string") != NULL);
	json_decref(m);
	CHECK(proto_op_known("run") && proto_op_known("analyze") && !proto_op_known("nope"));
	weft_error_free(&err);
}

TEST(events)
{
	struct weft_error err;
	weft_error_init(&err);
	struct proto_event ev;
	json_t *m = load("{\"ev\":\"stream\",\"name\":\"stdout\",\"text\":\"a\\u0000b\",\"statement\":2}");
	CHECK(m != NULL);
	CHECK(proto_decode_event(m, &ev, &err) == 1);
	CHECK(ev.kind == PROTO_EV_STREAM && ev.text_len == 3 && ev.statement == 2);
	CHECK_STR(ev.stream, "stdout");
	json_decref(m);
	m = json_loads("{\"ev\":\"stream\",\"name\":\"stdout\"}", 0, NULL);
	CHECK(proto_decode_event(m, &ev, &err) == -1 && strstr(err.msg.buf, "'text' missing"));
	json_decref(m);
	m = json_loads("{\"ev\":\"bogus\"}", 0, NULL);
	CHECK(proto_decode_event(m, &ev, &err) == -1 && strstr(err.msg.buf, "unknown event bogus"));
	json_decref(m);
	m = json_loads("{\"ok\":true}", 0, NULL);
	CHECK(proto_decode_event(m, &ev, &err) == 0);
	json_decref(m);
	weft_error_free(&err);
}

TEST(run_reply)
{
	struct weft_error err;
	weft_error_init(&err);
	struct proto_run_reply rr;
	json_t *m = load("{\"ok\":true,\"status\":\"error\",\"seconds\":1,\"error_type\":\"ValueError\","
			       "\"error_message\":\"a\\u0000b\",\"error_line\":4,"
			       "\"statements\":[{\"source\":\"x\",\"line\":3}],"
			       "\"tracked\":{\"bound\":[\"x\"],\"deleted\":[],\"mutated\":[],\"files_read\":[],"
			 "\"files_written\":[],\"rng\":false,\"new_field\":1}}");
	CHECK(m != NULL);
	CHECK(proto_decode_run_reply(m, &rr, &err) == 0);
	CHECK(rr.status == RUN_ERROR && rr.error_line == 4 && rr.seconds == 1.0);
	CHECK_STR(rr.error_message, "a\\x00b"); /* a NUL shown, not cutting the message */
	CHECK(rr.has_statements && rr.nstatements == 1 && rr.statements[0].line == 3);
	CHECK(rr.tracked != NULL && rr.tracked_error == NULL);
	proto_run_reply_free(&rr);
	/* a tracking record that breaks the schema: no record, a tracking error */
	json_object_set_new(json_object_get(m, "tracked"), "bound", json_string("x"));
	CHECK(proto_decode_run_reply(m, &rr, &err) == 0);
	CHECK(rr.tracked == NULL && rr.tracked_error && strstr(rr.tracked_error, "'bound'"));
	proto_run_reply_free(&rr);
	json_object_set_new(m, "status", json_string("maybe"));
	CHECK(proto_decode_run_reply(m, &rr, &err) == -1 && strstr(err.msg.buf, "unknown status"));
	json_object_del(m, "seconds");
	CHECK(proto_decode_run_reply(m, &rr, &err) == -1 && strstr(err.msg.buf, "'seconds'"));
	json_decref(m);
	weft_error_free(&err);
}

TEST(analysis_count_must_match)
{
	struct weft_error err;
	weft_error_init(&err);
	json_t *m = json_loads("{\"ok\":true,\"chunks\":[{},{}]}", 0, NULL);
	CHECK(proto_decode_analysis(m, 2, &err) != NULL);
	CHECK(proto_decode_analysis(m, 3, &err) == NULL && strstr(err.msg.buf, "2 analyses for 3 chunks"));
	json_array_set_new(json_object_get(m, "chunks"), 1, json_string("x"));
	CHECK(proto_decode_analysis(m, 2, &err) == NULL && strstr(err.msg.buf, "analysis 1"));
	json_decref(m);
	weft_error_free(&err);
}

TEST(code_unsendable_names_the_place)
{
	struct strbuf why;
	strbuf_init(&why);
	int line = 0;
	CHECK(!proto_code_unsendable("print(1)\n", 4, &line, &why));
	CHECK(proto_code_unsendable("x = 1\ns = '\xff'\n", 10, &line, &why));
	CHECK(line == 11);
	CHECK(strstr(why.buf, "byte 0xff at line 11, column 6") != NULL);
	strbuf_free(&why);
}

TEST(utf8_repair)
{
	struct strbuf sb;
	strbuf_init(&sb);
	proto_utf8_repair(&sb, "a\xff" "b\xc3", 4);
	CHECK_STR(sb.buf, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	strbuf_reset(&sb);
	proto_utf8_repair(&sb, "caf\xc3\xa9", 5);
	CHECK_STR(sb.buf, "caf\xc3\xa9");
	CHECK(proto_utf8_invalid(sb.buf, sb.len) == -1);
	strbuf_free(&sb);
}

int main(void)
{
	RUN(utf8_validation);
	RUN(builder_keeps_every_field_or_fails);
	RUN(schema_checks);
	RUN(events);
	RUN(run_reply);
	RUN(analysis_count_must_match);
	RUN(code_unsendable_names_the_place);
	RUN(utf8_repair);
	return unit_done();
}
