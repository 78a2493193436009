/*
 * engine: engine.h's dispatch. engine_start picks the implementation from the
 * configuration (a kernel name means the Jupyter client, none the embedded
 * Python worker); every other call goes through the engine's vtable, so the
 * planner never knows which one runs its chunks.
 */
#include "engine/engine.h"

#include <stdio.h>
#include <string.h>

#include "util/hash.h"

#include <stdlib.h>

#include "engine/kernel_runtime.h"
#include "engine/python_engine.h"
#include "util/strbuf.h"

struct engine {
	const struct engine_ops *ops;
	void *impl;
};

/*
 * Adapters from the void-pointer vtable to each implementation's typed API
 * (calling through a cast function pointer would be undefined behaviour).
 */
#define ENGINE_ADAPTERS(prefix, type)                                                           \
	static int prefix##_start_op(void **impl, const struct engine_config *cfg,              \
				     struct weft_error *err)                                      \
	{                                                                                         \
		type *p = NULL;                                                                   \
		int rc = prefix##_start(&p, cfg, err);                                            \
		*impl = p;                                                                        \
		return rc;                                                                        \
	}                                                                                         \
	static void prefix##_stop_op(void *impl) { prefix##_stop(impl); }                        \
	static bool prefix##_alive_op(const void *impl) { return prefix##_alive(impl); }         \
	static int prefix##_run_chunk_op(void *impl, const struct run_request *req,              \
					 struct chunk_outcome *out, json_t **tracked,             \
					 struct weft_error *err)                                  \
	{                                                                                         \
		return prefix##_run_chunk(impl, req, out, tracked, err);                          \
	}                                                                                         \
	static int prefix##_eval_inline_op(void *impl, const char *code, bool is_expr, int line, \
					   struct inline_outcome *out, struct weft_error *err)    \
	{                                                                                         \
		return prefix##_eval_inline(impl, code, is_expr, line, out, err);                 \
	}                                                                                         \
	static int prefix##_request_op(void *impl, json_t *request, json_t **reply,              \
				       struct weft_error *err)                                    \
	{                                                                                         \
		return prefix##_request(impl, request, reply, err);                               \
	}                                                                                         \
	static const char *prefix##_identity_op(void *impl) { return prefix##_identity(impl); } \
	static const struct engine_ops prefix##_ops = {                                           \
		#prefix,                 prefix##_start_op,       prefix##_stop_op,                \
		prefix##_alive_op,       prefix##_run_chunk_op,   prefix##_eval_inline_op,         \
		prefix##_request_op,     prefix##_identity_op,                                     \
	};

ENGINE_ADAPTERS(python_engine, struct python_engine)
ENGINE_ADAPTERS(kernel_engine, struct kernel_engine) /* a Jupyter kernel (jupyter_engine.h), cached if Python */

int engine_start(struct engine **out, const struct engine_config *cfg, struct weft_error *err)
{
	return engine_start_with(out, cfg->kernel ? &kernel_engine_ops : &python_engine_ops, cfg, err);
}

/* See engine.h: the same, with the implementation given. */
int engine_start_with(struct engine **out, const struct engine_ops *ops, const struct engine_config *cfg,
		      struct weft_error *err)
{
	*out = NULL;
	void *impl = NULL;
	if (ops->start(&impl, cfg, err) < 0)
		return -1;
	struct engine *e = xmalloc(sizeof(*e));
	e->ops = ops;
	e->impl = impl;
	*out = e;
	return 0;
}

void engine_stop(struct engine *e)
{
	if (!e)
		return;
	e->ops->stop(e->impl);
	free(e);
}

bool engine_alive(const struct engine *e)
{
	return e && e->ops->alive(e->impl);
}

int engine_run_chunk(struct engine *e, const struct run_request *req, struct chunk_outcome *out,
		     json_t **tracked, struct weft_error *err)
{
	if (!e) {
		out->status = RUN_CRASHED;
		return weft_error_set(err, NULL, req->code_line, 0, "no engine is running");
	}
	return e->ops->run_chunk(e->impl, req, out, tracked, err);
}

int engine_eval_inline(struct engine *e, const char *code, bool is_expr, int line,
		       struct inline_outcome *out, struct weft_error *err)
{
	if (!e) {
		out->done = true;
		out->status = RUN_CRASHED;
		return weft_error_set(err, NULL, line, 0, "no engine is running");
	}
	return e->ops->eval_inline(e->impl, code, is_expr, line, out, err);
}

int engine_request(struct engine *e, json_t *request, json_t **reply, struct weft_error *err)
{
	*reply = NULL;
	if (!e)
		return weft_error_set(err, NULL, 0, 0, "no engine is running");
	return e->ops->request(e->impl, request, reply, err);
}

const char *engine_identity(struct engine *e)
{
	return e ? e->ops->identity(e->impl) : NULL;
}

/* The worker images (worker_image.S, foreign_image.S). */
extern const unsigned char weft_worker_image[], weft_worker_image_end[];
extern const unsigned char weft_abi3_image[], weft_abi3_image_end[];

const char *engine_runtime_digest(void)
{
	static char digest[17];
	if (!digest[0]) {
		char a[XXH128_HEX_SIZE], b[XXH128_HEX_SIZE], both[2 * XXH128_HEX_SIZE];
		hash_xxh128_hex(weft_worker_image, (size_t)(weft_worker_image_end - weft_worker_image), a);
		hash_xxh128_hex(weft_abi3_image, (size_t)(weft_abi3_image_end - weft_abi3_image), b);
		snprintf(both, sizeof(both), "%s%s", a, b);
		hash_xxh128_hex(both, strlen(both), a);
		memcpy(digest, a, 16);
		digest[16] = '\0';
	}
	return digest;
}
