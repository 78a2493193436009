/*
 * unitkeys: what a unit's cache entry depends on beyond its normalised code
 * and the names it reads (issue 8, classes 4, 5, 6 and 11):
 *   - its position and source text: the k-th repeat of a code, term=True
 *     transcripts and code objects (dataflow_occurrence, dataflow_source_keyed);
 *     an output that showed document lines (a traceback, a warning, a look at
 *     the source) is valid only while the layout it showed is the same;
 *   - inline spans are tracked like chunks (what they bind, mutate, draw);
 *   - a chunk that runs gets every input it reads at the version a fresh run
 *     would give it, even when rebuilding one input replays a chunk that
 *     rebinds others, and a replay starts from the random state its chunk saw.
 * Internal to the planner layer.
 */
#ifndef WEFT_UNITKEYS_H
#define WEFT_UNITKEYS_H

#include "planner/walk.h"

/*
 * Register in the worker the document lines of the evaluated units before ui
 * that it has not run (cached ones), so a traceback or warning through their
 * functions quotes what a render without cache quotes. Call before running ui.
 */
int unitkeys_register_lines(struct walk *w, size_t ui, struct weft_error *err);

/*
 * Is entry `meta` of unit ui valid as to the document layout its output
 * showed? 1 yes; 0 no, with the reason in why.
 */
int unitkeys_entry_valid(struct walk *w, size_t ui, const json_t *meta, struct strbuf *why);

/*
 * Unit ui just ran with tracking record `rec` (may be NULL): when it showed
 * document lines, its state key takes the layout (readers of what it made
 * change with it). Call after dataflow_set_state, before the entry is built.
 */
void unitkeys_after_run(struct walk *w, size_t ui, const json_t *rec);

/* Add to entry `meta` of unit ui what unitkeys_entry_valid and explanations need. */
void unitkeys_annotate(struct walk *w, size_t ui, const json_t *rec, json_t *meta);

/* A hit of unit ui on `meta`: its state key takes the layout as after the run. */
void unitkeys_apply_hit(struct walk *w, size_t ui, const json_t *meta);

/* Explain a miss that code, options and inputs do not: 1 when why was written. */
int unitkeys_explain_miss(struct walk *w, size_t ui, const json_t *meta, struct strbuf *why);

/* Start tracking an inline span about to run (weft_runtime.op_track_begin). */
int unitkeys_track_begin(struct walk *w, const json_t *reads, struct weft_error *err);

/* Stop tracking it; the record (new reference), or NULL with err set. */
json_t *unitkeys_track_end(struct walk *w, struct weft_error *err);

/*
 * Make every name in `deps` (name -> writer) live at its writer's version and
 * the random state the one it must start from, until all hold at once:
 * restoring one name may replay a chunk that rebinds others (or draws random
 * numbers), so passes repeat until nothing moved; an error if they never
 * settle. `replay_of` -1: for the unit about to run (the current random
 * state); else for replaying unit replay_of (the state it saw originally).
 */
int unitkeys_restore_inputs(struct walk *w, const json_t *deps, int replay_of, struct weft_error *err);

#endif
