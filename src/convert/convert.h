/*
 * convert: write a document model back out as literate source, in any of
 * the syntaxes weft reads: what `weft convert` (Pweave's pweave-convert)
 * does. Nothing runs; there are no outputs.
 *
 *   noweb     "<<options>>=" ... "@"             (.Pnw)
 *   script    "#' prose" lines, "#+ options"     (.py)
 *   markdown  "```{python, options}" ... "```"   (.pmd)
 *   notebook  nbformat 4.4 JSON, options as Quarto "#| key: value" lines
 *             at the top of each code cell        (.ipynb)
 *
 * Layout. noweb follows pweave-convert exactly: the parts (prose blocks and
 * chunks) are joined with a newline and prose is written as read, so a
 * script or markdown file converted to noweb is byte for byte what Pweave
 * writes. markdown and script (which pweave-convert does not write) put one
 * blank line between parts unless the prose already has one there, so
 * converting again, or through a notebook and back, changes nothing. A
 * notebook's markdown cells hold the prose without the blank lines around
 * it; blank prose makes no cell.
 *
 * Chunk options keep the target's syntax:
 *   - to noweb, script or markdown, a chunk whose options were all written on
 *     its header line (noweb, script or markdown input) keeps that text as
 *     written, spaces and quotes included; this needs the input's source
 *     text (`source` below). Otherwise the options are written canonically
 *     in Pweave's Python-literal syntax: the chunk name first as a bare word,
 *     then key=value with Python literals, in document order, the last of
 *     repeated keys winning.
 *   - to notebook, every option becomes a "#| key: value" line with a YAML
 *     value; eval, label, fig-cap, fig-dpi, fig-pos, fig-env and out-width
 *     use Quarto's names (weft reads them back as Pweave's). A tuple becomes
 *     a YAML list, which weft reads back as the same figure size.
 *
 * cache_extra, a Python expression in any syntax, is copied as written.
 *
 * Inline code comes back as "<%= expr %>" / "<% code %>" (the reader keeps
 * the code without delimiters or surrounding blanks). Front matter comes
 * back first: a "---" block in noweb and markdown, a raw cell in a
 * notebook, "#' ---" lines in a script (read back as its front matter).
 * Document defaults
 * that came without front matter (a notebook's metadata) are written as a
 * `weft:` front matter block. A chunk with source= keeps the option and its
 * own code, not the file's contents.
 *
 * What the target syntax cannot hold is an error naming file:line: a code
 * line that would end the chunk on reading ("@" in noweb, a bare fence in
 * markdown) or turn into prose or options in a script ("#'", "#+", "# %%").
 * Prose that the target's reader would take for a chunk header is kept
 * with a warning.
 */
#ifndef WEFT_CONVERT_H
#define WEFT_CONVERT_H

#include <stdio.h>

#include "model/document.h"
#include "util/error.h"
#include "util/strbuf.h"

enum convert_format {
	CONVERT_NOWEB,
	CONVERT_SCRIPT,
	CONVERT_MARKDOWN,
	CONVERT_NOTEBOOK,
};

/* The format named `name` ("noweb", "script", "markdown", "notebook"); -1 if unknown. */
int convert_format_from_name(const char *name);
/* The name of a format (the same names document_read takes as input formats). */
const char *convert_format_name(enum convert_format f);
/* The output extension without the dot: "Pnw", "py", "pmd", "ipynb". */
const char *convert_extension(enum convert_format f);

/*
 * pweave-convert's default output path: the input without its last
 * extension, plus "_converted" when the input is already in the target
 * format, plus the target's extension. Returns malloc'd text.
 */
char *convert_default_output(const char *input, const char *input_format,
			     enum convert_format to);

/* How to convert, beyond the target format. Zero-initialise, then set fields. */
struct convert_options {
	/*
	 * The text doc was read from, so header options can be copied as written;
	 * NULL: options are always written canonically.
	 */
	const char *source;
	size_t source_len;
	/*
	 * pweave-convert's -p: run every prose block through `pandoc ARGS` (ARGS
	 * split at blanks, e.g. "-f markdown -t latex") before writing it, adding
	 * a newline after pandoc's output as Pweave does. NULL: prose as read.
	 */
	const char *pandoc_args;
};

/*
 * Write `doc` in format `to`, appending to `out`. `opts` may be NULL.
 * Returns 0, or -1 with err at file:line.
 */
int convert_document(const struct document *doc, enum convert_format to,
		     const struct convert_options *opts, struct strbuf *out,
		     struct weft_error *err);

/* Print "name  extension  description" for every output format. */
void convert_list_formats(FILE *fp);

#endif
