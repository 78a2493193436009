/*
 * option_parser: reading chunk options as written in a document, into the
 * model's option lists (model/options.h), with errors at file:line:column.
 * Readers call it; model/options.c resolves the lists into typed options.
 */
#ifndef WEFT_OPTION_PARSER_H
#define WEFT_OPTION_PARSER_H

#include "model/options.h"
#include "util/error.h"

/*
 * Parse Pweave's option syntax: "name, key=value, key2 = 'x'" (a first bare
 * word, with no '=', is the chunk name; `label=` is an alias of `name`).
 * `text` starts at (line, column) of `file`, used for error locations.
 * Appends to `out`. Returns 0, or -1 with err set at file:line:column.
 */
int option_parse(const char *text, const char *file, int line, int column,
		 struct option_list *out, struct weft_error *err);

/*
 * Parse one Quarto-style "#| key: value" line body ("key: value", without the
 * "#| " prefix). The value uses YAML-ish scalars (true/false, numbers, quoted or
 * bare strings, [a, b] lists). Appends to `out`. Quarto's names map to
 * Pweave's (eval -> evaluate, fig-cap -> caption, label -> name, output ->
 * results, fig-width/fig-height -> f_size, fig-dpi -> dpi, ...); other dashes
 * become underscores (cache-rebuild -> cache_rebuild).
 */
int option_parse_quarto(const char *text, const char *file, int line, int column,
			struct option_list *out, struct weft_error *err);

#endif
