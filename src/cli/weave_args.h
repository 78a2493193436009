/*
 * weave_args: the command line of `weft [weave]` and `weft render`, with
 * Pweave's flags under their Pweave meanings (pweave -k, -d, -c, -m, -l,
 * --figure-directory, --cache-directory, -t), parsed into one struct.
 *
 * A mistake gets one line naming it, with a suggestion where one is near
 * ("--formt" -> --format, "-f md" -> markdown), never the whole help.
 */
#ifndef WEFT_WEAVE_ARGS_H
#define WEFT_WEAVE_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "planner/planner.h"

struct weave_args {
	const char *format;        /* -f, or NULL: by each document's extension */
	const char *informat;      /* -i, or NULL: by extension */
	const char *output;        /* -o PATH ("-": standard output), or NULL */
	const char *figdir;        /* -F, or NULL: the document's setting, else "figures" */
	const char *figformat;     /* -g, or NULL: by format */
	const char *summary;       /* --summary-json PATH, or NULL */
	bool embed;                /* figures embedded in HTML (not --no-embed) */
	const char *latex_engine;  /* pdf: --latex-engine, or NULL: the first installed */
	bool keep_tex;             /* pdf: --keep-tex, the LaTeX written beside the report */
	bool quiet;                /* -q */
	bool verbose;              /* -v: the chunks' output on stderr as it comes */
	bool no_figures;           /* -m (Pweave: disable matplotlib): fig=False for every chunk */
	int jobs;                  /* -j N: documents rendered at once (default 1) */
	struct planner_config pc;  /* cache, engine and rebuild settings */
	const char **rebuild_names; /* --rebuild NAMEs (pc.rebuild points here) */
	const char **files;        /* the documents (or, for `render`, the folders), in argv */
	size_t nfiles;
};

/* What weave_args_parse found. */
enum weave_args_result {
	WEAVE_ARGS_OK,      /* run with them */
	WEAVE_ARGS_DONE,    /* --help or --list-formats was printed: exit 0 */
	WEAVE_ARGS_USAGE,   /* a mistake, reported on stderr: exit 2 */
};

/*
 * Parse argv (argv[0] is the command word, used in messages). `render`
 * selects `weft render` (FILE arguments are folders or documents).
 * Checks what can be checked without the documents: option values and
 * combinations. Free with weave_args_free whatever the result.
 */
enum weave_args_result weave_args_parse(struct weave_args *a, int argc, char **argv, bool render);

/* Free what weave_args_parse allocated. */
void weave_args_free(struct weave_args *a);

/*
 * The closest of `n` candidates to `word` by edit distance, or NULL when none
 * is close enough to be what was meant (for "did you mean" hints).
 */
const char *weave_args_closest(const char *word, const char *const *candidates, size_t n);

/* Print the weave usage to `fp` (stdout for --help). */
void weave_args_usage(FILE *fp);

#endif
