/*
 * optval_json: option values from JSON, for options that arrive as data
 * rather than as text in the document (a notebook cell's "weft" metadata,
 * chunk defaults a document's code set through pweave.rcParams).
 */
#ifndef WEFT_OPTVAL_JSON_H
#define WEFT_OPTVAL_JSON_H

#include <jansson.h>

#include "model/options.h"

/*
 * Convert a JSON scalar or array (of scalars and arrays) into `out`, with
 * `src` set to the value as Python source. Returns 0, or -1 for an object
 * anywhere in it (`out` is then empty).
 */
int optval_from_json(const json_t *v, struct optval *out);

#endif
