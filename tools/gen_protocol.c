/*
 * gen_protocol: writes weft_protocol.py, the Python side of the protocol
 * schema (src/engine/protocol_schema.h), so the worker's dispatcher checks
 * requests and replies against the very table the C side decodes with.
 * Usage: gen_protocol OUT.py
 */
#include <stdio.h>

#include "engine/protocol_schema.h"

/* Print one schema row as a tuple of the ROWS list. */
#define ROW(dir, op, field, type, req) \
	fprintf(out, "    (\"%s\", \"%s\", \"%s\", \"%s\", %s),\n", #dir, #op, #field, #type, (req) ? "True" : "False");
#define NAME(op) fprintf(out, "    \"%s\",\n", #op);

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_protocol OUT.py\n");
		return 2;
	}
	FILE *out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	fprintf(out, "\"\"\"weft_protocol: generated from src/engine/protocol_schema.h; do not edit.\n\n"
		     "ROWS: (direction, op or event, field, type, required); see the header.\n\"\"\"\n\n");
	fprintf(out, "OPS = (\n");
	PROTO_OPS(NAME)
	fprintf(out, ")\n\nEVENTS = (\n");
	PROTO_EVENTS(NAME)
	fprintf(out, ")\n\nROWS = (\n");
	PROTO_FIELDS(ROW)
	fprintf(out, ")\n\nTRACK_ROWS = (\n");
	PROTO_TRACK_FIELDS(ROW)
	fprintf(out, ")\n");
	fprintf(out, "%s",
		"\n_TYPES = {\"STR\": (str,), \"INT\": (int,), \"BOOL\": (bool,), \"NUM\": (int, float),\n"
		"          \"ARRAY\": (list, tuple), \"OBJECT\": (dict,)}\n"
		"_BY_KEY = {}\n"
		"for _row in ROWS:\n"
		"    _BY_KEY.setdefault((_row[0], _row[1]), []).append(_row)\n"
		"\n\n"
		"def check(direction, op, msg):\n"
		"    \"\"\"None when msg conforms to the rows of (direction, op), else the reason.\n"
		"    Fields not listed are allowed; None counts as absent.\"\"\"\n"
		"    for _d, _op, field, typ, required in _BY_KEY.get((direction, op), ()):\n"
		"        value = msg.get(field)\n"
		"        if value is None:\n"
		"            if required:\n"
		"                return \"%s field %r missing\" % (\"request\" if direction == \"REQ\" else \"reply\", field)\n"
		"            continue\n"
		"        types = _TYPES[typ]\n"
		"        if not isinstance(value, types) or (typ in (\"INT\", \"NUM\") and isinstance(value, bool)):\n"
		"            return \"%s field %r is %s, not %s\" % (\"request\" if direction == \"REQ\" else \"reply\",\n"
		"                                              field, type(value).__name__, typ.lower())\n"
		"    return None\n"
		"\n\n"
		"_TRACK_ARRAYS = tuple(r[2] for r in TRACK_ROWS if r[3] == \"ARRAY\")\n"
		"for _row in TRACK_ROWS:\n"
		"    _BY_KEY.setdefault((_row[0], _row[1]), []).append(_row)\n"
		"\n\n"
		"def check_track(rec):\n"
		"    \"\"\"None when a tracking record can cross to weft intact, else the reason: its\n"
		"    fields have their types, and every name and path in them is a str that UTF-8\n"
		"    can carry (a file name that is not would arrive altered, so its file could\n"
		"    not be fingerprinted and a changed file would go unnoticed).\"\"\"\n"
		"    if not isinstance(rec, dict):\n"
		"        return \"the record is not a dict\"\n"
		"    bad = check(\"REP\", \"tracked\", rec)\n"
		"    if bad is not None:\n"
		"        return bad\n"
		"    for field in _TRACK_ARRAYS:\n"
		"        for value in rec.get(field) or ():\n"
		"            if not isinstance(value, str):\n"
		"                return \"%s holds a %s\" % (field, type(value).__name__)\n"
		"            try:\n"
		"                value.encode(\"utf-8\")\n"
		"            except UnicodeEncodeError:\n"
		"                return \"%s: %r is not valid UTF-8\" % (field, value)\n"
		"    return None\n");
	if (fclose(out) != 0) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
