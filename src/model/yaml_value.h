/*
 * yaml_value: YAML nodes as chunk option values.
 *
 * Quarto "#| key: value" lines and the front matter's `weft:` mapping both
 * write option values in YAML. This module turns a YAML scalar or sequence
 * into a struct optval with YAML 1.2 core-schema typing (true/false, null/~,
 * integers, floats; quoted scalars are always strings; Python's True/False
 * are accepted too). `src` is the value as written.
 */
#ifndef WEFT_YAML_VALUE_H
#define WEFT_YAML_VALUE_H

#include <yaml.h>

#include "model/options.h"

/*
 * Convert node `node` of `doc` into `out`. `text` is the buffer the document
 * was parsed from (for `src`); `file`, `line0`, `col0` place the buffer's
 * first byte in the document for error messages. A mapping is an error.
 */
int yaml_value_from_node(yaml_document_t *doc, yaml_node_t *node, const char *text,
			 const char *file, int line0, int col0, struct optval *out,
			 struct weft_error *err);

/*
 * Refuse YAML whose flow collections ([ ], { }) nest deeper than 200 levels,
 * before libyaml sees it: libyaml's scanner takes time quadratic in that depth
 * and the conversion recurses once per level. `text` (len bytes) starts at
 * (line, column) of `file`. Returns 0, or -1 with err naming the place.
 */
int yaml_nesting_check(const char *text, size_t len, const char *file, int line, int column,
		       struct weft_error *err);

/*
 * Parse `text` (one YAML flow value, e.g. " [a, 'b c']") into `out`.
 * `text` starts at (line, column) of `file`. Returns 0 or -1 with err set.
 */
int yaml_value_parse(const char *text, const char *file, int line, int column,
		     struct optval *out, struct weft_error *err);

#endif
