/*
 * tangle: the code of a document, as Pweave's ptangle writes it.
 *
 * Every chunk in order, evaluate=False ones included, each preceded by a
 * blank line and followed by a newline; trailing whitespace of a chunk is
 * dropped. A chunk with Pweave's `main=True` option is indented under
 * `if __name__ == "__main__":`. Prose and inline code are left out.
 *
 * One deliberate difference: a chunk with source= tangles with the file's
 * contents (document_read puts them in the chunk's code), so the result runs
 * as the document does; ptangle writes only the lines inside the chunk.
 * Quarto "#|" option lines are not code and are not written.
 *
 *   struct strbuf out;
 *   strbuf_init(&out);
 *   tangle_document(&doc, &out);
 *   fwrite(out.buf, 1, out.len, f);
 */
#ifndef WEFT_TANGLE_H
#define WEFT_TANGLE_H

#include "model/document.h"
#include "util/strbuf.h"

/* Append the tangled code of doc to out. Returns 0. */
int tangle_document(const struct document *doc, struct strbuf *out);

#endif
