/*
 * front_matter: a YAML block at the very top of a document.
 *
 *   ---
 *   title: Report
 *   weft:
 *     echo: false          # document default for every chunk
 *     f_size: [5, 3]
 *     cache: true          # also sets doc->doc_cache
 *     python: python3.12   # doc->python: the interpreter (python_select.h), not a chunk option
 *   ---
 *
 * The block opens with a "---" first line (not followed by a blank line, so
 * a leading horizontal rule is not mistaken for it) and ends at the next
 * "---" or "..." line; without a closing line there is no front matter. Its
 * text is kept raw in doc->front_matter for renderers to pass through. Keys
 * under `weft:` become doc->doc_defaults, applied to every chunk before its
 * own options; `cache: true` there also sets doc->doc_cache.
 */
#ifndef WEFT_FRONT_MATTER_H
#define WEFT_FRONT_MATTER_H

#include <stddef.h>

#include "model/document.h"

/*
 * Look for front matter at the start of `text` (line 1 of doc->path). When
 * found, fill doc->front_matter, front_matter_lines, doc_defaults and
 * doc_cache, and set *consumed to the bytes it takes (through the closing
 * line); otherwise *consumed = 0. Returns 0, or -1 with err at file:line for
 * malformed YAML or a `weft:` key that is not a mapping.
 */
int front_matter_read(struct document *doc, const char *text, size_t len, size_t *consumed,
		      struct weft_error *err);

#endif
