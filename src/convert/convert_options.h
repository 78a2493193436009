/*
 * convert_options: a chunk's options written back as source, in Pweave's
 * keyword syntax (noweb, markdown, script headers) or as Quarto "#|" lines
 * (notebooks), so that weft's readers read them back to the same options.
 * An option whose value is an expression is copied as written.
 */
#ifndef WEFT_CONVERT_OPTIONS_H
#define WEFT_CONVERT_OPTIONS_H

#include <stddef.h>

#include "model/document.h"
#include "model/options.h"
#include "util/strbuf.h"

/* The canonical key: `label` is `name` under another name. */
const char *convert_canon_key(const char *key);

/*
 * The options that count, in document order: of repeated keys only the last
 * (the one resolution uses), so no writer emits a key twice. *out is a new
 * array (free it) of pointers into `l`; returns its length.
 */
size_t convert_effective_options(const struct option_list *l, const struct chunk_option ***out);

/*
 * A value in YAML (flow) syntax for a "#|" line or front matter. An
 * expression is written plain when YAML would keep it as text (weft then uses
 * it as written); returns -1 when it had to be quoted, which changes its
 * meaning, else 0.
 */
int convert_add_yaml(struct strbuf *out, const struct optval *v, int in_flow);

/* The options in Pweave's syntax: the name as a bare first word when it can be. */
void convert_add_pweave_options(struct strbuf *out, const struct chunk *c);

/* The options as "#| key: value" lines, each newline-terminated; warns at the option's line. */
void convert_add_quarto_options(struct strbuf *out, const struct document *doc, const struct chunk *c);

#endif
