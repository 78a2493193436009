/*
 * engine_select: which engine runs a chunk, from the chunk's language and
 * --kernel (issue 11). One document may mix languages; each language runs in
 * its own engine with its own state:
 *
 *   python, no --kernel (or a --kernel of another language)
 *        -> ENGINE_KIND_EMBEDDED: weft's CPython worker, the full cache.
 *   python, --kernel K where K's language is Python
 *        -> ENGINE_KIND_PYKERNEL (K): a Python Jupyter kernel. Today that is the
 *           plain Jupyter client with the cache off; a Python-kernel engine
 *           speaking weft's protocol slots in here.
 *   any other language L
 *        -> ENGINE_KIND_CHAIN (K if --kernel K runs L, else the first installed
 *           kernelspec, by name, whose language is L): keyed by chain
 *           (planner/chain.h), since weft cannot save such a kernel's state.
 *        -> ENGINE_KIND_NONE when no installed kernel runs L: the chunk is
 *           shown, not run, with a warning.
 *
 * A chunk whose language the document does not name (noweb `<<>>=`, a script,
 * a notebook without metadata) is in the document's default language: Python,
 * or --kernel K's language (engine_select_apply_default rewrites those chunks'
 * lang, so highlighting follows it too). Inline code runs in the default
 * language's engine.
 *
 *   struct engine_selector sel;
 *   engine_selector_init(&sel, "ir");
 *   struct engine_choice ch;
 *   engine_select(&sel, "r", &ch);   ... ch.kind, ch.kernel ...
 *   engine_selector_free(&sel);
 */
#ifndef WEFT_ENGINE_SELECT_H
#define WEFT_ENGINE_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "model/document.h"
#include "util/error.h"

enum engine_kind {
	ENGINE_KIND_EMBEDDED, /* weft's embedded CPython worker (full cache) */
	ENGINE_KIND_PYKERNEL, /* a Python Jupyter kernel named by --kernel */
	ENGINE_KIND_CHAIN,    /* a kernel of another language, cached by chain */
	ENGINE_KIND_NONE,     /* no installed kernel runs the language */
};

/* The choice for one language; `kernel` points into the selector (NULL for EMBEDDED/NONE). */
struct engine_choice {
	enum engine_kind kind;
	const char *kernel;
};

struct jupyter_kernelspec;

/* Resolves languages to engines for one render; kernelspecs are read on first need. */
struct engine_selector {
	const char *kernel_opt;            /* --kernel, or NULL */
	char *kernel_lang;                 /* its kernelspec's language, once looked up */
	struct jupyter_kernelspec *specs;  /* installed kernelspecs, once listed */
	size_t nspecs;
	bool listed;
};

void engine_selector_init(struct engine_selector *sel, const char *kernel_opt);
void engine_selector_free(struct engine_selector *sel);

/*
 * The language of --kernel's kernelspec ("R", "python"), or "python" without
 * --kernel. Returns NULL with err when the kernel is not installed.
 */
const char *engine_selector_default_language(struct engine_selector *sel, struct weft_error *err);

/* The engine for chunks of language `lang` (NULL or "": the default language). */
void engine_select(struct engine_selector *sel, const char *lang, struct engine_choice *out);

/*
 * Give every chunk whose language the document does not name the default
 * language (lower-cased: "r" for IRkernel's "R"). 0, or -1 with err when
 * --kernel names no installed kernel.
 */
int engine_select_apply_default(struct engine_selector *sel, struct document *doc, struct weft_error *err);

#endif
