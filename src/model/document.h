/*
 * document: the one document model every reader produces and every later
 * layer consumes. Nothing downstream knows which syntax a chunk came from.
 *
 * A document is an ordered list of blocks. A text block is prose, split into
 * segments: literal text and inline code spans (<%= expr %> or <% code %>).
 * A chunk block is code with its options and the line of its first code line,
 * so tracebacks and errors can point into the document.
 */
#ifndef WEFT_DOCUMENT_H
#define WEFT_DOCUMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "model/options.h"
#include "util/error.h"

enum segment_kind {
	SEG_TEXT,        /* literal prose */
	SEG_INLINE_EXPR, /* <%= expr %>: value inserted */
	SEG_INLINE_CODE, /* <% code %>: run, printed output inserted */
};

struct text_segment {
	enum segment_kind kind;
	char *text;      /* prose, or the inline code without delimiters */
	int line;        /* line where the segment starts */
	int column;
	int inline_index;/* for inline code: its index among the document's inline spans */
};

/*
 * Text blocks sit where Pweave has doc chunks, empty ones included (then
 * nsegs is 0), so joining rendered blocks reproduces Pweave's spacing.
 */
struct text_block {
	struct text_segment *segs;
	size_t nsegs, alloc;
	int line;        /* first line of the block */
};

struct chunk {
	int index;                 /* 0-based among the document's chunks */
	int number;                /* 1-based, as Pweave numbers chunks */
	char *code;                /* the code, newline-terminated lines, no fences */
	int header_line;           /* line of the fence / <<>>= / #+ header, 0 if none */
	int code_line;             /* line of the first code line */
	struct option_list raw;    /* options as written */
	struct chunk_options opts; /* resolved options */
	char *lang;                /* language: "python" unless the chunk names another */
	bool lang_explicit;        /* named by the chunk (fence word, engine= option), not
	                              the document's default (--kernel's language may replace that) */
};

enum block_kind { BLOCK_TEXT, BLOCK_CHUNK };

struct block {
	enum block_kind kind;
	struct text_block text;   /* BLOCK_TEXT */
	struct chunk chunk;       /* BLOCK_CHUNK */
};

/*
 * Document-level settings (not chunk options): from the front matter's
 * `weft:` (or Quarto's `format:`, `jupyter:`, `execute:`), else the project's
 * _weft.yml, else the user's config.yaml (reader/doc_settings.h). The
 * command line beats them all. NULL or -1: not set.
 */
struct doc_settings {
	char *format;             /* output format */
	char *output;             /* report path, relative to the document's folder */
	char *kernel;             /* Jupyter kernel */
	char *figure_dir;         /* figure folder */
	char *figure_format;      /* png, svg, pdf */
	char *python;             /* the interpreter to run (python_select.h): a name, or a path
				   * (relative: to the document's folder; from a settings file,
				   * made absolute from that file's folder) */
	char *latex_engine;       /* the pdf format's TeX engine (render/pdf.h) */
	int cache;                /* cache every chunk: 1, 0, or -1 unset */
};

struct document {
	char *path;               /* the file as given on the command line */
	char *input_format;       /* "markdown", "noweb", "script", "notebook" */
	char *front_matter;       /* raw YAML text between the --- lines (without them), or NULL */
	int front_matter_lines;   /* how many lines the front matter block took, incl. fences */
	bool front_matter_dots;   /* it closed with "..." (YAML's end of document), not "---" */
	struct option_list doc_defaults; /* chunk option defaults: user config, project, then front
					  * matter entries (a later entry of a key wins) */
	bool doc_cache;           /* cache every chunk (settings.cache == 1) */
	struct doc_settings settings;
	struct block *blocks;
	size_t nblocks, alloc;
	size_t nchunks;           /* number of BLOCK_CHUNK blocks */
	size_t ninline;           /* number of inline code spans */
};

void document_init(struct document *doc);
void document_free(struct document *doc);
/* Append a zeroed block of the given kind and return it. */
struct block *document_add_block(struct document *doc, enum block_kind kind);
/* Append a segment to a text block; takes ownership of `text`. */
struct text_segment *text_block_add(struct text_block *tb, enum segment_kind kind, char *text,
				    int line, int column);
/* The i-th chunk (0-based), or NULL. */
struct chunk *document_chunk(struct document *doc, size_t i);
const struct chunk *document_chunk_const(const struct document *doc, size_t i);
/* Chunk by name, or NULL. */
const struct chunk *document_find_chunk(const struct document *doc, const char *name);

/*
 * Guess the input format from a file name as Pweave does: an extension ending
 * in "w" (.texw, .Pnw, .mdw, .rstw) -> noweb; one containing "md" (.pmd, .md,
 * .Rmd) -> markdown; .ipynb -> notebook; .py -> script. Returns a static
 * string, or NULL for any other name: Pweave ran those (.txt, .foo, none) as
 * scripts, weft asks for -i instead of running a text file as Python.
 */
const char *document_guess_format(const char *path);

#endif
