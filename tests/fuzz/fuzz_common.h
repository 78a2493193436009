/*
 * fuzz_common: what the libFuzzer targets in tests/fuzz share. Each target
 * feeds arbitrary bytes to one entry point; bad input must give an error
 * record, never a crash, a hang or a leak (built with ASan + UBSan by `make
 * fuzz`, seeded by tools/fuzz_seeds.py from Pweave's test documents and the
 * repository's own).
 */
#ifndef WEFT_FUZZ_COMMON_H
#define WEFT_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/document.h"
#include "render/tangle.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "reader/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read `data` as a document of `format` and, when it reads, tangle it (walks every chunk). */
static inline void fuzz_read_document(const char *format, const uint8_t *data, size_t size)
{
	struct weft_error err;
	weft_error_init(&err);
	struct document doc;
	document_init(&doc);
	if (document_read_buffer(&doc, "fuzz.doc", format, (const char *)data, size, &err) == 0) {
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

#endif
