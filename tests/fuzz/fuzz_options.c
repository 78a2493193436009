/*
 * libFuzzer target: the chunk-option parsers (Pweave's "name, key=value"
 * syntax and Quarto's "key: value" lines) and option resolution into typed
 * chunk options, on arbitrary text.
 */
#include <stdlib.h>

#include "fuzz_common.h"
#include "reader/option_parser.h"

/* Parse `text` with `parse`, then resolve what it gave (type checks, aliases). */
static void parse_and_resolve(int (*parse)(const char *, const char *, int, int, struct option_list *,
					    struct weft_error *),
			      const char *text)
{
	struct weft_error err;
	weft_error_init(&err);
	struct option_list opts;
	option_list_init(&opts);
	if (parse(text, "fuzz.doc", 1, 1, &opts, &err) == 0) {
		struct chunk_options co;
		struct weft_error rerr;
		weft_error_init(&rerr);
		(void)chunk_options_resolve(&co, NULL, &opts, "fuzz.doc", &rerr);
		chunk_options_free(&co); /* filled or partly filled either way */
		weft_error_free(&rerr);
	}
	option_list_free(&opts);
	weft_error_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size); /* the parsers take NUL-terminated text */
	parse_and_resolve(option_parse, text);
	parse_and_resolve(option_parse_quarto, text);
	free(text);
	return 0;
}
