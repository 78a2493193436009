/*
 * protocol_schema: the planner/engine <-> Python worker contract, as data.
 *
 * The one place where every op, its request and reply fields and the event
 * kinds are written down. Both sides use it: protocol.c checks and decodes
 * messages against it in C, and the build turns it into the Python module
 * weft_protocol.py (tools/gen_protocol.c), against which weft_runtime's
 * dispatcher checks every request and reply of a known op.
 *
 * A row: F(direction, op, field, type, required)
 *   direction  REQ (parent -> worker), REP (reply), EVT (event; op = event kind)
 *   type       STR, INT, BOOL, NUM (int or real), ARRAY, OBJECT, ANY
 * Fields not listed are allowed (a branch may add record fields without
 * touching this table); listed ones must have their type, required ones must
 * be present. Field names are the JSON names, unchanged.
 * Add an op: a PROTO_OPS entry and its rows; the handler is op_<name> in a
 * weft_*.py module (weft_runtime.find_op).
 */
#ifndef WEFT_PROTOCOL_SCHEMA_H
#define WEFT_PROTOCOL_SCHEMA_H

/* Every op the parent may send. */
#define PROTO_OPS(O)                                                                         \
	O(run) O(inline) O(ping) O(quit) O(analyze) O(save) O(restore) O(delete) O(rng_get) \
	O(rng_set) O(eval_extra) O(names) O(fingerprint) O(track_begin) O(track_end) O(doc_lines) \
	O(settings_save) O(settings_apply) O(ns_order)

/* Every event kind the worker may send while a request runs. */
#define PROTO_EVENTS(E) E(stream) E(output) E(exit) E(truncated)

#define PROTO_FIELDS(F)                                   \
	F(REQ, run, code, STR, 1)                         \
	F(REQ, run, code_line, INT, 1)                    \
	F(REQ, run, name, STR, 0)                         \
	F(REQ, run, term, BOOL, 1)                        \
	F(REQ, run, complete, BOOL, 1)                    \
	F(REQ, run, fig, BOOL, 1)                         \
	F(REQ, run, f_size, ARRAY, 1)                     \
	F(REQ, run, dpi, INT, 1)                          \
	F(REQ, run, fig_format, STR, 1)                   \
	F(REQ, run, track, BOOL, 1)                       \
	F(REQ, run, reads, ARRAY, 0)                      \
	F(REQ, run, cache_dir, STR, 0)                    \
	F(REP, run, status, STR, 1)                       \
	F(REP, run, seconds, NUM, 1)                      \
	F(REP, run, error_type, STR, 0)                   \
	F(REP, run, error_message, STR, 0)                \
	F(REP, run, error_line, INT, 0)                   \
	F(REP, run, statements, ARRAY, 0)                 \
	F(REP, run, tracked, OBJECT, 0)                   \
	F(REP, run, tracked_error, STR, 0)                \
	F(REP, run, chunk_defaults, OBJECT, 0)            \
	F(REQ, inline, code, STR, 1)                      \
	F(REQ, inline, is_expr, BOOL, 1)                  \
	F(REQ, inline, line, INT, 1)                      \
	F(REP, inline, status, STR, 1)                    \
	F(REP, inline, text, STR, 0)                      \
	F(REP, inline, error_type, STR, 0)                \
	F(REP, inline, error_message, STR, 0)             \
	F(REP, inline, error_line, INT, 0)                \
	F(REP, inline, chunk_defaults, OBJECT, 0)         \
	F(REQ, analyze, chunks, ARRAY, 1)                 \
	F(REP, analyze, chunks, ARRAY, 1)                 \
	F(REQ, save, names, ARRAY, 1)                     \
	F(REQ, save, dir, STR, 1)                         \
	F(REQ, save, fsync, BOOL, 0)                      \
	F(REP, save, items, ARRAY, 1)                     \
	F(REQ, restore, items, ARRAY, 1)                  \
	F(REQ, restore, fds, ARRAY, 0)                    \
	F(REP, restore, restored, ARRAY, 1)               \
	F(REP, restore, errors, OBJECT, 1)                \
	F(REQ, delete, names, ARRAY, 1)                   \
	F(REQ, rng_get, dir, STR, 1)                      \
	F(REQ, rng_get, fsync, BOOL, 0)                   \
	F(REP, rng_get, path, STR, 1)                     \
	F(REP, rng_get, numpy, BOOL, 0)                   \
	F(REQ, rng_set, path, STR, 0)                     \
	F(REQ, rng_set, fd, INT, 0)                       \
	F(REQ, rng_set, fds, ARRAY, 0)                    \
	F(REQ, eval_extra, expr, STR, 1)                  \
	F(REQ, eval_extra, filename, STR, 0)              \
	F(REP, eval_extra, value, STR, 1)                 \
	F(REP, names, names, OBJECT, 1)                   \
	F(REQ, fingerprint, names, ARRAY, 1)              \
	F(REQ, fingerprint, values, BOOL, 0)              \
	F(REP, fingerprint, fingerprints, OBJECT, 1)      \
	F(REQ, track_begin, reads, ARRAY, 1)              \
	F(REQ, track_begin, cache_dir, STR, 0)            \
	F(REP, track_end, tracked, OBJECT, 1)             \
	F(REQ, doc_lines, units, ARRAY, 1)                \
	F(REQ, settings_save, names, ARRAY, 1)            \
	F(REQ, settings_save, dir, STR, 1)                \
	F(REQ, settings_save, fsync, BOOL, 0)             \
	F(REP, settings_save, items, OBJECT, 1)           \
	F(REQ, settings_apply, items, ARRAY, 1)           \
	F(REQ, settings_apply, fds, ARRAY, 0)             \
	F(REP, settings_apply, errors, OBJECT, 1)         \
	F(REQ, ns_order, names, ARRAY, 1)                 \
	F(EVT, stream, name, STR, 1)                      \
	F(EVT, stream, text, STR, 1)                      \
	F(EVT, stream, statement, INT, 0)                 \
	F(EVT, output, output, OBJECT, 1)                 \
	F(EVT, exit, status, INT, 0)                      \
	F(EVT, truncated, name, STR, 1)                   \
	F(EVT, truncated, limit, INT, 1)                  \
	F(EVT, truncated, dropped, INT, 1)                \
	F(EVT, exit, line, INT, 0)

/* Fields of one tracking record (run reply "tracked"); extra fields are allowed. */
#define PROTO_TRACK_FIELDS(F)                             \
	F(REP, tracked, bound, ARRAY, 1)                  \
	F(REP, tracked, deleted, ARRAY, 1)                \
	F(REP, tracked, mutated, ARRAY, 1)                \
	F(REP, tracked, files_read, ARRAY, 1)             \
	F(REP, tracked, files_written, ARRAY, 1)          \
	F(REP, tracked, rng, BOOL, 0)

#endif
