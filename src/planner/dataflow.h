/*
 * dataflow: the cache's view of a document as a sequence of units (chunks and
 * inline spans, in document order) that read and write names, and the keys
 * that chain them (a Merkle chain over the dataflow, DESIGN.md "The cache").
 *
 * For every unit the planner records which earlier unit last wrote each name
 * (the "writer map" at that point). A unit's key hashes its normalised code,
 * its result-affecting options, the engine identity, and for each name it reads
 * (directly, or through functions it calls, transitively) the state key of the
 * unit that last wrote that name. A unit's state key adds what it observed only
 * while running: fingerprints of the files it read and the random state it
 * consumed. No Python is involved here: name analysis arrives as JSON (from the
 * engine's `analyze` op or the cache's memo of it).
 */
#ifndef WEFT_DATAFLOW_H
#define WEFT_DATAFLOW_H

#include <stdbool.h>

#include <jansson.h>

#include "model/document.h"
#include "util/hash.h"

/* The pseudo-name under which the global random-number state flows. */
#define DATAFLOW_RNG "<random state>"

enum unit_kind { UNIT_CHUNK, UNIT_INLINE };

struct unit {
	enum unit_kind kind;
	const struct chunk *chunk;        /* UNIT_CHUNK */
	const struct text_segment *seg;   /* UNIT_INLINE */
	char *code;                       /* code to run (complete=False pieces merged in) */
	int line;                         /* document line of the first code line */
	char *label;                      /* "name" or "#N" (chunk number) or "inline#N" */
	bool evaluate;                    /* runs at all */
	bool cached;                      /* takes part in the cache */
	json_t *analysis;                 /* name analysis of `code` (owned), or NULL */
	json_t *writes;                   /* names this unit wrote: array (dynamic record), or NULL */
	json_t *deps;                     /* name -> writer unit index (integer, -1: none) at this unit */
	bool key_known, state_known;
	char key[HASH_HEX_SIZE];
	char state_key[HASH_HEX_SIZE];
	json_t *settings;                 /* settings it wrote: pseudo-name -> value hash or null (settings.h) */
};

struct dataflow {
	struct unit *units;
	size_t n;
	json_t *writer;                   /* current writer map: name -> unit index */
	json_t *setting_writers;          /* its settings pseudo-names only (settings.h): a scan of
					     them costs what the settings are, not every name */
	char identity[HASH_HEX_SIZE];     /* hash of the engine identity */
	char *fig_format;                 /* figures are produced in this format (part of keys) */
	int *occurrence;                  /* dataflow_occurrence of units [0, occ_known), memoised */
	size_t occ_known;
	json_t *occ_seen;                 /* kind and normalised code -> units so far */
	struct dataflow_layout_memo *layout_memo; /* dataflow_layout's hash of the units so far */
};

/* Build the unit list of `doc` (complete=False chunks merged into the next). */
void dataflow_init(struct dataflow *df, const struct document *doc, const char *engine_identity,
		   const char *fig_format, bool cache_all);
void dataflow_free(struct dataflow *df);

/*
 * The names unit `u` reads, resolved at the current writer map: the analysis'
 * reads and builtins read, plus the globals read by the functions it calls,
 * transitively (a function's reads come from the analysis of the unit that last
 * wrote the function's name); all names so far when the analysis says the code
 * is dynamic. Returns a new sorted JSON array of names.
 */
json_t *dataflow_reads(struct dataflow *df, size_t u);

/*
 * Compute unit u's key from its analysis, options, `extra` (the value of
 * cache_extra, or NULL) and the state keys of the writers of `reads` (and of
 * dependson chunks). Records `deps` (name -> writer) on the unit. Returns 0, or
 * -1 when some writer's state key is not known (an upstream chunk is stale),
 * naming the first such name in *missing (borrowed).
 */
int dataflow_compute_key(struct dataflow *df, size_t u, const json_t *reads, const char *extra,
			 const char **missing);

/*
 * Set unit u's state key from its key plus what it observed while running:
 * `files_read` (object path -> fingerprint text; only the contents' hash and size
 * count) and `rng_in` (the state key of the random state it consumed, or NULL).
 */
void dataflow_set_state(struct dataflow *df, size_t u, const json_t *files_read, const char *rng_in);

/*
 * Record that unit u wrote `names` (array; may include DATAFLOW_RNG): the
 * writer map now points at u for each. Takes a reference to `names`.
 */
void dataflow_record_writes(struct dataflow *df, size_t u, json_t *names);

/*
 * How many evaluated units of the same kind before ui have the same normalised
 * code: keys are per position, so identical units of one document get distinct
 * keys (and an unrelated unit inserted above changes none).
 */
int dataflow_occurrence(struct dataflow *df, size_t ui);

/*
 * Is unit u keyed on its raw source text (term=True, code that makes
 * functions, classes, lambdas or generators, or dynamic code)? *with_line (may
 * be NULL) says whether its first document line counts too (code objects
 * carry it; dynamic code may read frames).
 */
bool dataflow_source_keyed(const struct unit *u, bool *with_line);

/*
 * The document layout unit ui's output can show: the first line and raw text
 * of every evaluated unit up to and including ui (tracebacks and warnings show
 * document lines and quote them). Written as hex into out.
 */
void dataflow_layout(const struct dataflow *df, size_t ui, char out[HASH_HEX_SIZE]);

/*
 * Mix `what` into unit ui's state key (e.g. the layout its output or state
 * depends on), so downstream keys change with it.
 */
void dataflow_mix_state(struct dataflow *df, size_t ui, const char *what);

/*
 * Give unit ui a state key of its own, which no earlier or later run shares:
 * its results may differ on every run, so nothing downstream may match an
 * entry made from another one.
 */
void dataflow_mix_unique(struct dataflow *df, size_t ui);

/* The unit that last wrote `name` at this point, or -1. */
int dataflow_writer(const struct dataflow *df, const char *name);

/*
 * Does chunk c take part in the cache? An explicit cache= on the chunk wins over
 * --cache (`cache_all`) and `cache: true` in the front matter.
 */
bool dataflow_chunk_cached(const struct document *doc, const struct chunk *c, bool cache_all);

/* The unit index of the chunk with this name, or -1. */
int dataflow_find_chunk(const struct dataflow *df, const char *name);

#endif
