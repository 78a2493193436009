/*
 * chain: chunks of kernels whose state weft cannot save (IRkernel, a bash
 * kernel: any language but Python), cached by chain (issue 11).
 *
 * Each kernel the document uses (engine_select.h picks it by the chunk's
 * language) has its own chain of units: its chunks in document order, plus
 * the inline spans when it is the document's default kernel. A unit's key
 * hashes the previous unit's key in its chain, its own code (as written), the
 * options that change what it computes, the kernel's identity (its
 * kernelspec), its cache_extra text and the fingerprints of its declared
 * input files (depends_on_files). So an edit of unit k, or a change of a file
 * it declares, changes the keys of k..n of that chain and nothing before.
 *
 * On a hit the outputs come from the entry and nothing runs. A unit that must
 * run (a miss, cache=False, --rebuild) needs the kernel state the units before
 * it left: those not yet run in this render's kernel (they were hits) are
 * replayed first, silently (their outputs discarded; the cached ones are
 * shown and the chunk is reported as replayed). A fresh kernel per render, the
 * same requests in the same order: a cached render equals a --no-cache one.
 *
 * Limits: inputs a kernel chunk reads without declaring them (a file read by
 * R, the clock) are not seen: declare them with depends_on_files= or
 * cache_extra= (its text is part of the key; it is not evaluated), or use
 * cache=False. The kernel's version is known only through its kernelspec.
 * Internal to the planner layer.
 */
#ifndef WEFT_CHAIN_H
#define WEFT_CHAIN_H

#include <stdbool.h>

#include "planner/walk.h"

struct chain;

/*
 * Decide each evaluated unit's engine. Units that belong to a kernel chain (or
 * to no installed kernel: shown, not run, warned) are taken out of the Python
 * dataflow (their `evaluate` cleared) and owned by the chain. Call after
 * walk_init, before the walk. *python_kernel gets the kernel Python chunks run
 * in (--kernel of a Python kernelspec), or NULL for the embedded engine.
 * 0, or -1 with err (--kernel names no installed kernel).
 */
int chain_init(struct chain **out, struct walk *w, const char **python_kernel, struct weft_error *err);
void chain_free(struct chain *c);

/* Does the chain take part in the cache (a cached unit of a kernel chain, no --no-cache)? */
bool chain_caching(const struct chain *c);

/* Is unit ui run by a kernel chain (or by none: NONE-language chunks)? */
bool chain_owns(const struct chain *c, size_t ui);

/* Resolve unit ui (chain_owns): a hit, or run after replaying what it needs. */
int chain_unit(struct chain *c, struct walk *w, size_t ui, struct weft_error *err);

#endif
