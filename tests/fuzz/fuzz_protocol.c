/*
 * libFuzzer target: the parent's decoding of worker messages (protocol.c) on
 * arbitrary bytes, parsed as the engine parses a line. Whatever arrives must
 * give a typed result or an error record, never a crash, a leak or a field
 * silently taken as something else. Built and run by `make fuzz-protocol`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode `msg` every way the engine may: as an event, and as each op's reply. */
static void decode_all(const json_t *msg)
{
	struct weft_error err;
	weft_error_init(&err);
	struct proto_event ev;
	if (proto_decode_event(msg, &ev, &err) == 1 && ev.kind == PROTO_EV_STREAM && ev.text_len) {
		struct strbuf sb;
		strbuf_init(&sb);
		proto_utf8_repair(&sb, ev.text, ev.text_len);
		strbuf_free(&sb);
	}
	struct proto_run_reply rr;
	if (proto_decode_run_reply(msg, &rr, &err) == 0)
		proto_run_reply_free(&rr);
	struct proto_inline_reply ir;
	if (proto_decode_inline_reply(msg, &ir, &err) == 0)
		proto_inline_reply_free(&ir);
	(void)proto_decode_analysis(msg, 2, &err);
	(void)proto_check_track(json_object_get(msg, "tracked"), &err);
	static const char *const ops[] = {"run", "inline", "analyze", "save", "restore", "delete",
					  "rng_get", "rng_set", "eval_extra", "names", "fingerprint"};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		(void)proto_check(PROTO_REQ, ops[i], msg, &err);
		(void)proto_check(PROTO_REP, ops[i], msg, &err);
	}
	(void)weft_error_text(&err);
	weft_error_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	json_error_t jerr;
	json_t *msg = json_loadb(s, size, PROTO_LOAD_FLAGS, &jerr);
	if (msg) {
		decode_all(msg);
		json_decref(msg);
	}
	/* The raw bytes as text a request would carry: checked, never sent half-built. */
	struct proto_req r;
	proto_req_init(&r, "run");
	proto_req_strn(&r, "code", s, size);
	struct weft_error err;
	weft_error_init(&err);
	json_decref(proto_req_finish(&r, "fuzz.pmd", 1, "chunk", &err));
	char *code = xstrndup(s, size);
	struct strbuf why;
	strbuf_init(&why);
	int line = 0;
	(void)proto_code_unsendable(code, 1, &line, &why);
	strbuf_free(&why);
	free(code);
	char *shown = proto_dup_text(s, size);
	free(shown);
	weft_error_free(&err);
	return 0;
}
