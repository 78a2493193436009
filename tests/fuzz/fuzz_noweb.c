/* libFuzzer target: the noweb reader (document_read_buffer, then tangle) on arbitrary bytes. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_read_document("noweb", data, size);
	return 0;
}
