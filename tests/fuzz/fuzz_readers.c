/*
 * libFuzzer target: every reader and the chunk-option parser on arbitrary
 * bytes. Bad input must give an error record, never a crash or a leak.
 * Built and run by `make fuzz` (clang, ASan + UBSan).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/document.h"
#include "model/options.h"
#include "render/tangle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const formats[] = {"markdown", "noweb", "script", "notebook"};
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		struct weft_error err;
		weft_error_init(&err);
		struct document doc;
		document_init(&doc);
		if (document_read_buffer(&doc, "fuzz.doc", formats[f], (const char *)data, size, &err) == 0) {
			struct strbuf code;
			strbuf_init(&code);
			tangle_document(&doc, &code);
			strbuf_free(&code);
		} else {
			(void)weft_error_text(&err);
		}
		document_free(&doc);
		weft_error_free(&err);
	}
	/* The option parser takes NUL-terminated text. */
	char *text = xstrndup((const char *)data, size);
	struct weft_error err;
	weft_error_init(&err);
	struct option_list opts;
	option_list_init(&opts);
	option_parse(text, "fuzz.doc", 1, 1, &opts, &err);
	option_list_free(&opts);
	weft_error_free(&err);
	free(text);
	return 0;
}
