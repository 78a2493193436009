/* libFuzzer target: front matter (the YAML block and its `weft:` defaults) on arbitrary bytes. */
#include "fuzz_common.h"
#include "reader/front_matter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_error err;
	weft_error_init(&err);
	struct document doc;
	document_init(&doc);
	size_t consumed = 0;
	(void)front_matter_read(&doc, (const char *)data, size, &consumed, &err);
	document_free(&doc);
	weft_error_free(&err);
	return 0;
}
