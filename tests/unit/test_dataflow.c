/* Unit tests for the planner's dataflow keys (no Python: analyses are given as JSON). */
#include <stdlib.h>
#include <string.h>

#include "planner/dataflow.h"
#include "unit.h"
#include "reader/load.h"

/* A document of noweb chunks, read from text. */
static void read_doc(struct document *doc, const char *text)
{
	struct weft_error err;
	weft_error_init(&err);
	document_init(doc);
	if (document_read_buffer(doc, "t.mdw", "noweb", text, strlen(text), &err) < 0)
		printf("# read failed: %s\n", weft_error_text(&err));
	weft_error_free(&err);
}

/* Give unit i an analysis from a JSON literal. */
static void analyse(struct dataflow *df, size_t i, const char *json)
{
	df->units[i].analysis = json_loads(json, 0, NULL);
}

/* Compute unit i's key and state (no files), then record `writes` (JSON array). */
static int settle(struct dataflow *df, size_t i, const char *writes)
{
	json_t *reads = dataflow_reads(df, i);
	int rc = dataflow_compute_key(df, i, reads, "", NULL);
	json_decref(reads);
	dataflow_set_state(df, i, NULL, NULL);
	dataflow_record_writes(df, i, json_loads(writes, 0, NULL));
	return rc;
}

static const char *DOC3 = "<<a>>=\nx = 1\n@\n<<b>>=\ny = x\n@\n<<c>>=\nprint(y)\n@\n";

/* Keys of the three chunks of DOC3 with the given analysis of chunk a. */
static void keys_for(const char *a_norm, char keys[3][HASH_HEX_SIZE])
{
	struct document doc;
	read_doc(&doc, DOC3);
	struct dataflow df;
	dataflow_init(&df, &doc, "CPython test", "png", true);
	char buf[200];
	snprintf(buf, sizeof(buf), "{\"normalized\": \"%s\", \"reads\": [], \"writes\": [\"x\"]}", a_norm);
	analyse(&df, 0, buf);
	analyse(&df, 1, "{\"normalized\": \"b\", \"reads\": [\"x\"], \"writes\": [\"y\"]}");
	analyse(&df, 2, "{\"normalized\": \"c\", \"reads\": [\"y\", \"print\"]}");
	settle(&df, 0, "[\"x\"]");
	settle(&df, 1, "[\"y\"]");
	settle(&df, 2, "[]");
	for (int i = 0; i < 3; i++)
		memcpy(keys[i], df.units[i].key, HASH_HEX_SIZE);
	dataflow_free(&df);
	document_free(&doc);
}

TEST(keys_chain_through_reads)
{
	char k1[3][HASH_HEX_SIZE], k2[3][HASH_HEX_SIZE];
	keys_for("a1", k1);
	keys_for("a1", k2);
	for (int i = 0; i < 3; i++)
		CHECK(!strcmp(k1[i], k2[i])); /* deterministic */
	keys_for("a2", k2);
	CHECK(strcmp(k1[0], k2[0]) != 0); /* a changed */
	CHECK(strcmp(k1[1], k2[1]) != 0); /* b reads x from a */
	CHECK(strcmp(k1[2], k2[2]) != 0); /* c reads y from b: the chain carries it */
}

TEST(independent_chunk_unaffected)
{
	const char *text = "<<a>>=\nx = 1\n@\n<<b>>=\nz = 2\n@\n";
	char kb[2][HASH_HEX_SIZE];
	for (int v = 0; v < 2; v++) {
		struct document doc;
		read_doc(&doc, text);
		struct dataflow df;
		dataflow_init(&df, &doc, "CPython test", "png", true);
		analyse(&df, 0, v ? "{\"normalized\": \"a2\", \"reads\": []}" : "{\"normalized\": \"a1\", \"reads\": []}");
		analyse(&df, 1, "{\"normalized\": \"b\", \"reads\": []}");
		settle(&df, 0, "[\"x\"]");
		settle(&df, 1, "[\"z\"]");
		memcpy(kb[v], df.units[1].key, HASH_HEX_SIZE);
		dataflow_free(&df);
		document_free(&doc);
	}
	CHECK(!strcmp(kb[0], kb[1]));
}

TEST(function_globals_read_transitively)
{
	const char *text = "<<f>>=\ndef h(): return g\ndef f(): return h()\n@\n<<g>>=\ng = 3\n@\n<<use>>=\nf()\n@\n";
	struct document doc;
	read_doc(&doc, text);
	struct dataflow df;
	dataflow_init(&df, &doc, "CPython test", "png", true);
	analyse(&df, 0, "{\"normalized\": \"f\", \"reads\": [], \"functions\": {\"f\": [\"h\"], \"h\": [\"g\"]}}");
	analyse(&df, 1, "{\"normalized\": \"g\", \"reads\": []}");
	analyse(&df, 2, "{\"normalized\": \"use\", \"reads\": [\"f\"], \"calls\": [\"f\"]}");
	settle(&df, 0, "[\"f\", \"h\"]");
	settle(&df, 1, "[\"g\"]");
	json_t *reads = dataflow_reads(&df, 2);
	char *s = json_dumps(reads, JSON_COMPACT);
	CHECK_STR(s, "[\"f\",\"g\",\"h\"]");
	free(s);
	json_decref(reads);
	dataflow_free(&df);
	document_free(&doc);
}

TEST(dynamic_code_reads_everything)
{
	const char *text = "<<a>>=\nx = 1\ny = 2\n@\n<<b>>=\nprint(eval('x'))\n@\n";
	struct document doc;
	read_doc(&doc, text);
	struct dataflow df;
	dataflow_init(&df, &doc, "CPython test", "png", true);
	analyse(&df, 0, "{\"normalized\": \"a\", \"reads\": []}");
	analyse(&df, 1, "{\"normalized\": \"b\", \"reads\": [\"print\", \"eval\"], \"dynamic\": true}");
	settle(&df, 0, "[\"x\", \"y\"]");
	json_t *reads = dataflow_reads(&df, 1);
	char *s = json_dumps(reads, JSON_COMPACT);
	CHECK_STR(s, "[\"x\",\"y\"]");
	free(s);
	json_decref(reads);
	dataflow_free(&df);
	document_free(&doc);
}

TEST(state_key_ignores_mtime_but_not_contents)
{
	const char *text = "<<a>>=\nopen('d').read()\n@\n";
	struct document doc;
	read_doc(&doc, text);
	struct dataflow df;
	dataflow_init(&df, &doc, "CPython test", "png", true);
	analyse(&df, 0, "{\"normalized\": \"a\", \"reads\": []}");
	json_t *reads = dataflow_reads(&df, 0);
	dataflow_compute_key(&df, 0, reads, "", NULL);
	json_decref(reads);
	char s1[HASH_HEX_SIZE], s2[HASH_HEX_SIZE];
	json_t *f1 = json_pack("{s:s}", "/d", "0123456789abcdef0123456789abcdef:10:0:0:0");
	json_t *f2 = json_pack("{s:s}", "/d", "0123456789abcdef0123456789abcdef:10:1700000000000000000:1700000000000000000:4242");
	json_t *f3 = json_pack("{s:s}", "/d", "fedcba9876543210fedcba9876543210:10:0:0:0");
	dataflow_set_state(&df, 0, f1, NULL);
	memcpy(s1, df.units[0].state_key, HASH_HEX_SIZE);
	dataflow_set_state(&df, 0, f2, NULL);
	memcpy(s2, df.units[0].state_key, HASH_HEX_SIZE);
	CHECK(!strcmp(s1, s2));
	dataflow_set_state(&df, 0, f3, NULL);
	CHECK(strcmp(s1, df.units[0].state_key) != 0);
	json_decref(f1);
	json_decref(f2);
	json_decref(f3);
	dataflow_free(&df);
	document_free(&doc);
}

TEST(unknown_upstream_state_reported)
{
	struct document doc;
	read_doc(&doc, DOC3);
	struct dataflow df;
	dataflow_init(&df, &doc, "CPython test", "png", true);
	analyse(&df, 0, "{\"normalized\": \"a\", \"reads\": []}");
	analyse(&df, 1, "{\"normalized\": \"b\", \"reads\": [\"x\"]}");
	dataflow_record_writes(&df, 0, json_loads("[\"x\"]", 0, NULL)); /* a's state never known */
	json_t *reads = dataflow_reads(&df, 1);
	const char *missing = NULL;
	CHECK(dataflow_compute_key(&df, 1, reads, "", &missing) == -1);
	CHECK_STR(missing, "x");
	CHECK(!df.units[1].key_known);
	json_decref(reads);
	dataflow_free(&df);
	document_free(&doc);
}

TEST(complete_false_merges_into_next_unit)
{
	const char *text = "<<a, complete=False>>=\nfor i in range(2):\n@\n<<b>>=\n    print(i)\n@\n";
	struct document doc;
	read_doc(&doc, text);
	struct dataflow df;
	dataflow_init(&df, &doc, "CPython test", "png", false);
	CHECK(df.n == 1);
	if (df.n == 1) {
		CHECK_STR(df.units[0].code, "for i in range(2):\n    print(i)\n");
		CHECK(df.units[0].line == 2);
	}
	dataflow_free(&df);
	document_free(&doc);
}

/* Keys of a document's units, each with its analysis (same for all) and no reads. */
static void keys_of(const char *text, const char *analysis, size_t n, char keys[][HASH_HEX_SIZE])
{
	struct document doc;
	read_doc(&doc, text);
	struct dataflow df;
	dataflow_init(&df, &doc, "CPython test", "png", true);
	for (size_t i = 0; i < n && i < df.n; i++) {
		analyse(&df, i, analysis);
		settle(&df, i, "[\"C\"]");
		memcpy(keys[i], df.units[i].key, HASH_HEX_SIZE);
	}
	dataflow_free(&df);
	document_free(&doc);
}

TEST(identical_units_get_distinct_keys)
{
	const char *two = "<<a>>=\nclass C: pass\n@\n<<b>>=\nclass C: pass\n@\n";
	const char *three = "<<z>>=\nz = 1\n@\n<<a>>=\nclass C: pass\n@\n<<b>>=\nclass C: pass\n@\n";
	const char *an = "{\"normalized\": \"same\", \"reads\": []}";
	char k2[2][HASH_HEX_SIZE], k3[3][HASH_HEX_SIZE];
	keys_of(two, an, 2, k2);
	CHECK(strcmp(k2[0], k2[1]) != 0); /* per position */
	/* An unrelated chunk above (its own normalised code) keeps both keys. */
	struct document doc;
	read_doc(&doc, three);
	struct dataflow df;
	dataflow_init(&df, &doc, "CPython test", "png", true);
	analyse(&df, 0, "{\"normalized\": \"other\", \"reads\": []}");
	settle(&df, 0, "[\"z\"]");
	for (size_t i = 1; i < 3; i++) {
		analyse(&df, i, an);
		settle(&df, i, "[\"C\"]");
		memcpy(k3[i], df.units[i].key, HASH_HEX_SIZE);
	}
	CHECK(dataflow_occurrence(&df, 1) == 0);
	CHECK(dataflow_occurrence(&df, 2) == 1);
	dataflow_free(&df);
	document_free(&doc);
	CHECK(!strcmp(k2[0], k3[1]));
	CHECK(!strcmp(k2[1], k3[2]));
}

TEST(source_keyed_units)
{
	const char *plain = "{\"normalized\": \"n\", \"reads\": []}";
	const char *code = "{\"normalized\": \"n\", \"reads\": [], \"defines_code\": true}";
	char a[1][HASH_HEX_SIZE], b[1][HASH_HEX_SIZE];
	/* An ordinary chunk: a comment or a move changes nothing. */
	keys_of("<<a>>=\nx = 1\n@\n", plain, 1, a);
	keys_of("Prose.\n\n<<a>>=\nx = 1  # c\n@\n", plain, 1, b);
	CHECK(!strcmp(a[0], b[0]));
	/* Code objects: raw text and first line count. */
	keys_of("<<a>>=\ndef f(): pass\n@\n", code, 1, a);
	keys_of("<<a>>=\ndef f(): pass  # c\n@\n", code, 1, b);
	CHECK(strcmp(a[0], b[0]) != 0);
	keys_of("Prose.\n\n<<a>>=\ndef f(): pass\n@\n", code, 1, b);
	CHECK(strcmp(a[0], b[0]) != 0);
	/* term=True: raw text (the transcript shows it), not the line. */
	keys_of("<<a, term=True>>=\nx = 1\n@\n", plain, 1, a);
	keys_of("<<a, term=True>>=\nx = 1 # c\n@\n", plain, 1, b);
	CHECK(strcmp(a[0], b[0]) != 0);
	keys_of("Prose.\n\n<<a, term=True>>=\nx = 1\n@\n", plain, 1, b);
	CHECK(!strcmp(a[0], b[0]));
}

TEST(layout_and_mixed_state)
{
	const char *t1 = "<<a>>=\nx = 1\n@\n<<b>>=\ny = 2\n@\n";
	const char *t2 = "<<a>>=\nx = 1 # c\n@\n<<b>>=\ny = 2\n@\n";
	const char *t3 = "<<a>>=\nx = 1\n@\n<<b>>=\ny = 2\n@\n<<c>>=\nz = 3\n@\n";
	char l[3][HASH_HEX_SIZE];
	const char *texts[3] = {t1, t2, t3};
	for (int v = 0; v < 3; v++) {
		struct document doc;
		read_doc(&doc, texts[v]);
		struct dataflow df;
		dataflow_init(&df, &doc, "CPython test", "png", true);
		dataflow_layout(&df, 1, l[v]);
		if (v == 0) {
			analyse(&df, 0, "{\"normalized\": \"a\", \"reads\": []}");
			settle(&df, 0, "[\"x\"]");
			char before[HASH_HEX_SIZE];
			memcpy(before, df.units[0].state_key, HASH_HEX_SIZE);
			dataflow_mix_state(&df, 0, "layout");
			CHECK(strcmp(before, df.units[0].state_key) != 0);
		}
		dataflow_free(&df);
		document_free(&doc);
	}
	CHECK(strcmp(l[0], l[1]) != 0); /* a comment above shows in quoted lines */
	CHECK(!strcmp(l[0], l[2]));     /* a chunk below does not count */
}

/* The layout of units asked in document order, in reverse, and one at a time
 * in a new dataflow agree (the memo of the units so far is never stale); a unit
 * not evaluated adds nothing. */
TEST(layout_memo_matches_fresh)
{
	const char *text = "<<a>>=\nx = 1\n@\n<<b, evaluate=False>>=\ny = 2\n@\n"
			   "<<c>>=\nz = 3\n@\n<<d>>=\nw = 4\n@\n";
	enum { N = 4 };
	char fwd[N][HASH_HEX_SIZE], rev[N][HASH_HEX_SIZE], one[N][HASH_HEX_SIZE];
	struct document doc;
	read_doc(&doc, text);
	struct dataflow df;
	dataflow_init(&df, &doc, "CPython test", "png", true);
	CHECK(df.n == N);
	for (size_t i = 0; i < N; i++)
		dataflow_layout(&df, i, fwd[i]);
	dataflow_free(&df);
	dataflow_init(&df, &doc, "CPython test", "png", true);
	for (size_t i = N; i-- > 0;)
		dataflow_layout(&df, i, rev[i]);
	dataflow_layout(&df, N + 5, rev[0]); /* past the last unit: all of them */
	CHECK(!strcmp(rev[0], fwd[N - 1]));
	dataflow_layout(&df, 0, rev[0]);
	dataflow_free(&df);
	for (size_t i = 0; i < N; i++) {
		dataflow_init(&df, &doc, "CPython test", "png", true);
		dataflow_layout(&df, i, one[i]);
		dataflow_free(&df);
	}
	document_free(&doc);
	for (size_t i = 0; i < N; i++)
		CHECK(!strcmp(fwd[i], rev[i]) && !strcmp(fwd[i], one[i]));
	CHECK(!strcmp(fwd[0], fwd[1]));  /* b is not evaluated */
	CHECK(strcmp(fwd[1], fwd[2]) != 0 && strcmp(fwd[2], fwd[3]) != 0);
}

int main(void)
{
	RUN(keys_chain_through_reads);
	RUN(independent_chunk_unaffected);
	RUN(function_globals_read_transitively);
	RUN(dynamic_code_reads_everything);
	RUN(state_key_ignores_mtime_but_not_contents);
	RUN(unknown_upstream_state_reported);
	RUN(complete_false_merges_into_next_unit);
	RUN(identical_units_get_distinct_keys);
	RUN(source_keyed_units);
	RUN(layout_and_mixed_state);
	RUN(layout_memo_matches_fresh);
	return unit_done();
}
