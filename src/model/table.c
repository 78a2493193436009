/* table: the private table MIME decoded and checked; see table.h. */
#include "model/table.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void table_init(struct table *t)
{
	memset(t, 0, sizeof(*t));
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nheader; i++) {
		for (size_t k = 0; k < t->header[i].ncells; k++)
			free(t->header[i].cells[k].text);
		free(t->header[i].cells);
	}
	free(t->header);
	if (t->body)
		for (size_t i = 0; i < t->nrows * t->ncols; i++)
			free(t->body[i]);
	free(t->body);
	free(t->numeric);
	free(t->footer);
	table_init(t);
}

const char *table_cell(const struct table *t, size_t r, size_t c)
{
	return t->body[r * t->ncols + c];
}

/* A copy of JSON string `v`, or NULL when it is not a string or holds a NUL byte. */
static char *table_string(const json_t *v)
{
	if (!json_is_string(v))
		return NULL;
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (memchr(s, '\0', n))
		return NULL;
	return xstrndup(s, n);
}

/* A count member of `obj` in [lo, hi], into *out; -1 when missing or out of range. */
static int table_count(const json_t *obj, const char *key, size_t lo, size_t hi, size_t *out)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v))
		return -1;
	json_int_t n = json_integer_value(v);
	if (n < (json_int_t)lo || n > (json_int_t)hi)
		return -1;
	*out = (size_t)n;
	return 0;
}

/* Header row `i` (JSON array `row`) into t->header[i]; its spans must tile t->ncols. */
static int table_header_row(struct table *t, size_t i, const json_t *row, struct weft_error *err)
{
	if (!json_is_array(row) || !json_array_size(row) || json_array_size(row) > t->ncols)
		return weft_error_set(err, NULL, 0, 0,
				      "header row %zu is not an array of 1 to %zu cells", i + 1, t->ncols);
	struct table_hrow *hr = &t->header[i];
	hr->cells = xcalloc(json_array_size(row), sizeof(*hr->cells));
	size_t covered = 0, k;
	const json_t *cell;
	json_array_foreach(row, k, cell) {
		struct table_hcell *hc = &hr->cells[k];
		size_t span;
		if (!json_is_object(cell) || table_count(cell, "span", 1, t->ncols, &span) < 0 ||
		    !(hc->text = table_string(json_object_get(cell, "text"))))
			return weft_error_set(err, NULL, 0, 0,
					      "header row %zu, cell %zu: needs a text string and a "
					      "span of 1 to %zu",
					      i + 1, k + 1, t->ncols);
		hr->ncells++;
		hc->span = span;
		covered += span;
		if (covered > t->ncols)
			break;
	}
	if (covered != t->ncols)
		return weft_error_set(err, NULL, 0, 0, "header row %zu spans %zu columns, not %zu",
				      i + 1, covered, t->ncols);
	return 0;
}

/* The members of `root` into `t` (allocated as checked); -1 with err at the first fault. */
static int table_decode(struct table *t, const json_t *root, struct weft_error *err)
{
	if (!json_is_object(root))
		return weft_error_set(err, NULL, 0, 0, "not a JSON object");
	size_t version;
	if (table_count(root, "version", 1, 1, &version) < 0)
		return weft_error_set(err, NULL, 0, 0, "unknown version (this weft reads version 1)");
	if (table_count(root, "columns", 1, TABLE_MAX_COLUMNS, &t->ncols) < 0)
		return weft_error_set(err, NULL, 0, 0, "\"columns\" is not a count from 1 to %d",
				      TABLE_MAX_COLUMNS);
	if (table_count(root, "index_columns", 0, t->ncols, &t->nindex) < 0)
		return weft_error_set(err, NULL, 0, 0, "\"index_columns\" is not a count from 0 to %zu",
				      t->ncols);

	const json_t *numeric = json_object_get(root, "numeric");
	if (!json_is_array(numeric) || json_array_size(numeric) != t->ncols)
		return weft_error_set(err, NULL, 0, 0, "\"numeric\" is not an array of %zu booleans",
				      t->ncols);
	t->numeric = xcalloc(t->ncols, sizeof(bool));
	for (size_t c = 0; c < t->ncols; c++) {
		const json_t *b = json_array_get(numeric, c);
		if (!json_is_boolean(b))
			return weft_error_set(err, NULL, 0, 0, "\"numeric\" item %zu is not a boolean",
					      c + 1);
		t->numeric[c] = json_is_true(b);
	}

	const json_t *header = json_object_get(root, "header");
	if (!json_is_array(header) || json_array_size(header) > 64)
		return weft_error_set(err, NULL, 0, 0, "\"header\" is not an array of at most 64 rows");
	t->header = xcalloc(json_array_size(header) + 1, sizeof(*t->header));
	size_t i;
	const json_t *row;
	json_array_foreach(header, i, row) {
		t->nheader++;
		if (table_header_row(t, i, row, err) < 0)
			return -1;
	}

	const json_t *body = json_object_get(root, "body");
	if (!json_is_array(body) || json_array_size(body) > TABLE_MAX_ROWS ||
	    json_array_size(body) * t->ncols > (size_t)TABLE_MAX_ROWS * 16)
		return weft_error_set(err, NULL, 0, 0, "\"body\" is not an array of at most %d rows",
				      TABLE_MAX_ROWS);
	t->body = xcalloc(json_array_size(body) * t->ncols + 1, sizeof(char *));
	json_array_foreach(body, i, row) {
		if (!json_is_array(row) || json_array_size(row) != t->ncols)
			return weft_error_set(err, NULL, 0, 0, "body row %zu does not have %zu cells",
					      i + 1, t->ncols);
		t->nrows++;
		for (size_t c = 0; c < t->ncols; c++)
			if (!(t->body[i * t->ncols + c] = table_string(json_array_get(row, c))))
				return weft_error_set(err, NULL, 0, 0,
						      "body row %zu, cell %zu is not a string "
						      "(without NUL bytes)",
						      i + 1, c + 1);
	}

	const json_t *footer = json_object_get(root, "footer");
	if (footer && !(t->footer = table_string(footer)))
		return weft_error_set(err, NULL, 0, 0, "\"footer\" is not a string");
	if (!t->footer)
		t->footer = xstrdup("");
	return 0;
}

int table_from_json(struct table *t, const char *data, size_t len, struct weft_error *err)
{
	json_error_t jerr;
	json_t *root = data ? json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!root)
		return weft_error_set(err, NULL, 0, 0, "malformed table data: not JSON (%s)",
				      data ? jerr.text : "no data");
	struct weft_error why;
	weft_error_init(&why);
	int rc = table_decode(t, root, &why);
	json_decref(root);
	if (rc < 0) {
		table_free(t);
		weft_error_set(err, NULL, 0, 0, "malformed table data: %s", why.msg.buf);
		weft_error_free(&why);
		return -1;
	}
	weft_error_free(&why);
	return 0;
}
