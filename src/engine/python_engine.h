/*
 * python_engine: the default engine.h implementation, embedded CPython in a
 * forked worker (python_engine.c, worker.c). Reached through engine.c's
 * dispatch; the functions mirror engine.h's, on the implementation's own type.
 */
#ifndef WEFT_PYTHON_ENGINE_H
#define WEFT_PYTHON_ENGINE_H

#include <stdbool.h>

#include <jansson.h>

#include "engine/engine.h"

struct python_engine;

int python_engine_start(struct python_engine **out, const struct engine_config *cfg,
			struct weft_error *err);
void python_engine_stop(struct python_engine *e);
bool python_engine_alive(const struct python_engine *e);
int python_engine_run_chunk(struct python_engine *e, const struct run_request *req,
			    struct chunk_outcome *out, json_t **tracked, struct weft_error *err);
int python_engine_eval_inline(struct python_engine *e, const char *code, bool is_expr, int line,
			      struct inline_outcome *out, struct weft_error *err);
int python_engine_request(struct python_engine *e, json_t *request, json_t **reply,
			  struct weft_error *err);
const char *python_engine_identity(struct python_engine *e);

#endif
