/*
 * doc_list: the documents a `weft render DIR|FILE...` (or `weft FILE...`)
 * covers. A file argument is itself; a folder is the list under
 * `documents:` in its _weft.yml (paths relative to the folder, in that
 * order), else every document below it, in sorted order, by extension:
 * .pmd .Pmd .pymd .mdw .Pnw .pnw .texw .rstw (folders whose name starts with
 * a dot, and weft's own figures/ and .weft-cache/, are not entered).
 */
#ifndef WEFT_DOC_LIST_H
#define WEFT_DOC_LIST_H

#include <stddef.h>

#include "util/error.h"

struct doc_list {
	char **paths;
	size_t n, alloc;
};

void doc_list_init(struct doc_list *l);
void doc_list_free(struct doc_list *l);

/* Add the documents `args[0..n)` cover. 0, or -1 with err naming the argument or _weft.yml line. */
int doc_list_collect(struct doc_list *l, const char *const *args, size_t n, struct weft_error *err);

#endif
