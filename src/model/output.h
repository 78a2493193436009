/*
 * output: what running code produced, in the Jupyter/nbformat output model,
 * in the order it happened. Shared by every engine, the cache (outputs are
 * stored raw) and every renderer.
 *
 *   stream          name ("stdout"/"stderr") and text
 *   display_data    a MIME bundle (figures are display_data with image types)
 *   execute_result  a MIME bundle, the value of the last expression
 *   error           ename, evalue, traceback lines
 *
 * MIME data is kept decoded: text types as UTF-8, image/png and
 * application/pdf as raw bytes (nbformat base64-encodes them; output_to_json
 * and output_from_json convert).
 */
#ifndef WEFT_OUTPUT_H
#define WEFT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/strbuf.h"
#include "util/error.h"

enum output_type {
	OUTPUT_STREAM,
	OUTPUT_DISPLAY_DATA,
	OUTPUT_EXECUTE_RESULT,
	OUTPUT_ERROR,
};

struct mime_item {
	char *mime;   /* "text/plain", "image/png", ... */
	char *data;   /* decoded bytes, NUL-terminated for convenience */
	size_t len;
};

struct output {
	enum output_type type;
	char *stream_name;          /* STREAM: "stdout" or "stderr" */
	struct strbuf text;         /* STREAM: the text */
	struct mime_item *mimes;    /* DISPLAY_DATA / EXECUTE_RESULT */
	size_t nmimes, mimes_alloc;
	json_t *metadata;           /* nbformat metadata object, or NULL (e.g. figure width/height) */
	char *ename, *evalue;       /* ERROR */
	char **traceback;           /* ERROR: lines (may hold ANSI colour codes: none from weft) */
	size_t ntraceback;
	int statement;              /* term mode: index of the statement that produced it, else -1 */
};

struct output_list {
	struct output *items;
	size_t n, alloc;
};

void output_list_init(struct output_list *l);
void output_list_free(struct output_list *l);
/* Append a zeroed output of `type` and return it. */
struct output *output_list_add(struct output_list *l, enum output_type type);
/* Append text to the stream `name`, merging with the last output if it is the same stream. */
void output_list_add_stream(struct output_list *l, const char *name, const char *text, size_t len);
/* Add a MIME item to a display_data/execute_result output (copies data). */
void output_add_mime(struct output *o, const char *mime, const void *data, size_t len);
/* The MIME item of type `mime`, or NULL. */
const struct mime_item *output_get_mime(const struct output *o, const char *mime);
/* Deep copy of a whole list, appended to dst. */
void output_list_copy(struct output_list *dst, const struct output_list *src);

/* True for MIME types whose nbformat JSON form is base64 (images except SVG, PDF). */
bool mime_is_binary(const char *mime);

/*
 * nbformat 4 JSON array for the list (new reference). With `weft_fields`, each
 * output of a term-mode statement also carries metadata "weft_statement" (its
 * index), for weft's own storage; files meant for Jupyter pass false, since
 * nbformat allows no metadata on stream and error outputs.
 */
json_t *output_list_to_json(const struct output_list *l, bool weft_fields);
/* Parse an nbformat 4 outputs array (appending to l). Returns 0 or -1 with err. */
int output_list_from_json(struct output_list *l, const json_t *arr, struct weft_error *err);

/* Base64 helpers (standard alphabet; decoding skips whitespace, as nbformat wraps lines). */
void base64_encode(struct strbuf *out, const void *data, size_t len);
int base64_decode(struct strbuf *out, const char *text, size_t len);

#endif
