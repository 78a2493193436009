/*
 * options: chunk options as written (Pweave's Python-literal syntax) and as
 * resolved into typed fields with Pweave's defaults.
 *
 * Two levels, because the cache needs the raw text of expression options
 * (cache_extra=...) while renderers want plain C values:
 *
 *   struct option_list   what the document said, in order, with locations;
 *                        built by option_parse() from "a, echo=False, f_size=(4,3)"
 *                        or from Quarto "#| key: value" lines.
 *   struct chunk_options the resolved result: defaults, then document
 *                        defaults (front matter `weft:`), then the chunk's own list.
 */
#ifndef WEFT_OPTIONS_H
#define WEFT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

enum optval_kind {
	OPTVAL_NONE,   /* None */
	OPTVAL_BOOL,   /* True/False/TRUE/FALSE */
	OPTVAL_INT,
	OPTVAL_FLOAT,
	OPTVAL_STRING,
	OPTVAL_LIST,   /* list or tuple literal; `items` holds the elements */
	OPTVAL_EXPR,   /* anything else: kept as Python source in `src` */
};

struct optval {
	enum optval_kind kind;
	bool b;
	long long i;
	double f;
	char *s;               /* OPTVAL_STRING: the decoded string */
	struct optval *items;  /* OPTVAL_LIST */
	size_t nitems;
	bool is_tuple;         /* OPTVAL_LIST written with parentheses */
	char *src;             /* the value's source text, always set */
};

struct chunk_option {
	char *key;
	struct optval val;
	int line;      /* where the key starts in the document */
	int column;
};

struct option_list {
	struct chunk_option *items;
	size_t n, alloc;
};

void option_list_init(struct option_list *l);
void option_list_free(struct option_list *l);
/* The last option named `key`, or NULL. */
const struct chunk_option *option_list_get(const struct option_list *l, const char *key);
/* Deep copy `src` onto the end of `dst`. */
void option_list_append(struct option_list *dst, const struct option_list *src);

void optval_free(struct optval *v);
/* Deep copy. */
void optval_copy(struct optval *dst, const struct optval *src);
/* Python truthiness of a literal (EXPR counts as true). */
bool optval_truthy(const struct optval *v);

/* The resolved options of one chunk. Strings are owned. */
struct chunk_options {
	char *name;          /* name/label, or NULL */
	bool echo;           /* show the code (default True) */
	bool evaluate;       /* run the code (default True) */
	char *results;       /* "verbatim" (default), "hidden", or a raw format: tex, rst, markdown, html */
	bool term;           /* console transcript (default False) */
	bool include;        /* include outputs and figures (default True) */
	bool fig;            /* capture figures (default True) */
	char *caption;       /* figure caption, or NULL (Pweave: False) */
	char *wrap;          /* Pweave's wrap: "all" (True: code and output), "code",
	                        "output" (default) or "results" (output), NULL for False */
	double f_size[2];    /* figure size in inches (default 6, 4) */
	char *f_pos;         /* LaTeX float position (default "htpb") */
	char *f_env;         /* LaTeX figure environment, or NULL */
	int dpi;             /* default 200 */
	bool complete;       /* chunk holds complete statements (default True) */
	char *source;        /* file whose contents replace the chunk code, or NULL */
	char *width;         /* figure width as written ("50%", "15cm"), or NULL */
	bool error;          /* knitr's error=True: an exception is expected */
	/* cache (issue 3) */
	bool cache;          /* default False */
	bool cache_rebuild;
	char **dependson;    /* extra dependencies: chunk names */
	size_t ndependson;
	char *cache_extra;   /* Python source of the cache_extra expression, or NULL */
	char **depends_on_files; /* files the chunk reads unseen (e.g. through a subprocess):
	                            paths or glob patterns, relative to the document's folder */
	size_t ndepends_on_files;
};

void chunk_options_init_defaults(struct chunk_options *o);
void chunk_options_free(struct chunk_options *o);

/*
 * Resolve: defaults, then `doc_defaults` (may be NULL), then `chunk`.
 * Unknown keys in `chunk` produce a warning naming file:line (unknown keys in
 * `doc_defaults` are skipped silently: check them once by resolving them as
 * a chunk list); a known key with a value of the wrong type is an error at
 * file:line:column.
 */
int chunk_options_resolve(struct chunk_options *out, const struct option_list *doc_defaults,
			  const struct option_list *chunk, const char *file,
			  struct weft_error *err);

#endif
