/* Unit tests for settings as pseudo-names in the dataflow (settings.h): who reads them and how keys hash them. */
#include <stdlib.h>
#include <string.h>

#include "planner/dataflow.h"
#include "planner/settings.h"
#include "unit.h"
#include "reader/load.h"

static const char *DOC = "<<setup>>=\nimport numpy\n@\n<<b>>=\nprint(1)\n@\n<<c>>=\nprint(2)\n@\n";
#define NP SETTINGS_PREFIX "numpy.printoptions>"

/* Read DOC; give every unit an analysis that reads nothing but print. */
static void setup_df(struct document *doc, struct dataflow *df)
{
	struct weft_error err;
	weft_error_init(&err);
	document_init(doc);
	if (document_read_buffer(doc, "t.mdw", "noweb", DOC, strlen(DOC), &err) < 0)
		printf("# read failed: %s\n", weft_error_text(&err));
	weft_error_free(&err);
	dataflow_init(df, doc, "CPython test", "png", true);
	df->units[0].analysis = json_loads("{\"normalized\": \"s\", \"reads\": [], \"writes\": [\"numpy\"]}", 0, NULL);
	df->units[1].analysis = json_loads("{\"normalized\": \"b\", \"reads\": [\"print\"]}", 0, NULL);
	df->units[2].analysis = json_loads("{\"normalized\": \"c\", \"reads\": [\"print\"]}", 0, NULL);
}

/*
 * Keys of b and c when setup (code `setup_norm`) wrote the numpy print options
 * with value hash `value` (NULL: a value without a stable hash).
 */
static void keys_for(const char *setup_norm, const char *value, char keys[3][HASH_HEX_SIZE], json_t **reads_b)
{
	struct document doc;
	struct dataflow df;
	setup_df(&doc, &df);
	json_decref(df.units[0].analysis);
	char buf[160];
	snprintf(buf, sizeof(buf), "{\"normalized\": \"%s\", \"reads\": [], \"writes\": [\"numpy\"]}", setup_norm);
	df.units[0].analysis = json_loads(buf, 0, NULL);
	for (size_t i = 0; i < 3; i++) {
		json_t *reads = dataflow_reads(&df, i);
		dataflow_compute_key(&df, i, reads, "", NULL);
		if (i == 1 && reads_b)
			*reads_b = json_incref(reads);
		json_decref(reads);
		dataflow_set_state(&df, i, NULL, NULL);
		json_t *writes = json_array();
		if (i == 0) {
			json_array_append_new(writes, json_string("numpy"));
			json_array_append_new(writes, json_string(NP));
			df.units[0].settings = json_pack("{s:o}", NP, value ? json_string(value) : json_null());
		}
		dataflow_record_writes(&df, i, writes);
		memcpy(keys[i], df.units[i].key, HASH_HEX_SIZE);
	}
	dataflow_free(&df);
	document_free(&doc);
}

TEST(pseudo_names)
{
	CHECK(settings_is_pseudo(NP));
	CHECK(!settings_is_pseudo("x"));
	CHECK(!settings_is_pseudo(DATAFLOW_RNG));
	CHECK(!settings_is_pseudo(NULL));
}

TEST(every_later_unit_reads_a_written_setting)
{
	char k[3][HASH_HEX_SIZE];
	json_t *reads = NULL;
	keys_for("s1", "v1", k, &reads);
	int found = 0;
	size_t i;
	json_t *v;
	json_array_foreach(reads, i, v)
		found |= !strcmp(json_string_value(v), NP);
	CHECK(found);
	json_decref(reads);
}

TEST(keys_follow_the_value_not_the_writer)
{
	char k1[3][HASH_HEX_SIZE], k2[3][HASH_HEX_SIZE], k3[3][HASH_HEX_SIZE];
	keys_for("s1", "v1", k1, NULL);
	keys_for("s2", "v1", k2, NULL);   /* setup edited, same value */
	CHECK(strcmp(k1[0], k2[0]) != 0);
	CHECK(!strcmp(k1[1], k2[1]));
	CHECK(!strcmp(k1[2], k2[2]));
	keys_for("s1", "v2", k3, NULL);   /* same code, another value */
	CHECK(strcmp(k1[1], k3[1]) != 0);
	CHECK(strcmp(k1[2], k3[2]) != 0);
}

TEST(no_stable_value_keys_on_the_writer_state)
{
	char k1[3][HASH_HEX_SIZE], k2[3][HASH_HEX_SIZE], k3[3][HASH_HEX_SIZE];
	keys_for("s1", NULL, k1, NULL);
	keys_for("s1", NULL, k2, NULL);
	keys_for("s2", NULL, k3, NULL);
	CHECK(!strcmp(k1[1], k2[1]));
	CHECK(strcmp(k1[1], k3[1]) != 0); /* the writer changed: readers re-run */
}

int main(void)
{
	RUN(pseudo_names);
	RUN(every_later_unit_reads_a_written_setting);
	RUN(keys_follow_the_value_not_the_writer);
	RUN(no_stable_value_keys_on_the_writer_state);
	return unit_done();
}
