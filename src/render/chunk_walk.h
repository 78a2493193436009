/*
 * chunk_walk: the one walk over a code chunk that every "block" renderer
 * (latex.c, html.c) shares, in the style of cmark's renderer: the walk owns
 * what to show and in which order, the format supplies the markup through a
 * table of callbacks.
 *
 * The walk decides:
 *   - option gating: echo (code shown), results ("verbatim", "hidden", or a
 *     raw format passed through), fig/include (figures written and shown);
 *   - the code as shown: leading blank lines and trailing whitespace dropped,
 *     wrapped when `wrap` asks for it;
 *   - output order: outputs in the order they happened, consecutive streams
 *     merged into one text block (each run of one stream's writes put under
 *     Jupyter's console rules for \r and \b first, stream_text.h),
 *     consecutive figures gathered into one group (figures and text
 *     interleave), errors as their traceback text, rich displays handed to
 *     the format (text/plain when it declines);
 *   - text results: cleaned (stream_text_clean: escape sequences removed,
 *     other control bytes written as \x00); under results="verbatim" the
 *     text is wrapped when asked (figures_wrap_output_text; a traceback
 *     never), right-trimmed and dropped when blank;
 *   - term mode: each statement that produced output is shown as code
 *     followed by its outputs, then the rest of the code, then the outputs
 *     tied to no statement;
 *   - notes: "not run" for a skipped chunk, the frozen note for a stale one,
 *     the execution-stopped note for the chunk where execution stopped.
 *
 * Usage (one format):
 *
 *   static const struct chunk_walk_ops my_ops = {
 *       .figure_mimes = figures_for_latex,
 *       .code_block = my_code, .verbatim = my_pre, .raw = my_raw, ...
 *   };
 *   if (chunk_walk(&my_ops, &my_ctx, doc, res, opts, chunk) < 0)
 *       return -1;   (a figure could not be written; the callback set err)
 */
#ifndef WEFT_CHUNK_WALK_H
#define WEFT_CHUNK_WALK_H

#include <stdbool.h>
#include <stddef.h>

#include "render/render.h"

/*
 * The format's markup. `ctx` is the caller's pointer, passed through. Every
 * callback is required unless marked "may be NULL".
 */
struct chunk_walk_ops {
	/* Figure MIME types the format accepts, best first (figures.h lists). */
	const char *const *figure_mimes;

	/*
	 * Pweave's text formats (markdown.c) differ from the block formats in
	 * a few rules; each flag turns one of them on:
	 *   source_code: code_block gets the chunk's code as written (the
	 *     format trims and wraps it itself);
	 *   include_hides_text: include=False hides text outputs too, not only
	 *     figures;
	 *   write_unshown_figures: include=False still writes figure files;
	 *   raw_without_stream: under a raw results format, a chunk that
	 *     printed nothing still passes the (empty) text through once;
	 *   own_term: term mode is the format's own (it calls chunk_walk only
	 *     for chunks it does not show as a transcript).
	 */
	bool source_code, include_hides_text, write_unshown_figures, raw_without_stream, own_term;

	/*
	 * Append the text of error output `o` to `sb`. May be NULL: each
	 * traceback line plus "\n", or "ename: evalue\n" without a traceback.
	 */
	void (*error_text)(struct strbuf *sb, const struct output *o);

	/* Shown code `code` (trimmed and wrapped unless source_code; never NULL) of chunk `ch`. */
	void (*code_block)(void *ctx, const struct chunk *ch, const char *code);

	/*
	 * Non-blank text under results="verbatim" (stream text, a traceback,
	 * text/plain), already cleaned, wrapped and right-trimmed. `error` says
	 * it is a traceback.
	 */
	void (*verbatim)(void *ctx, const struct chunk *ch, const char *text, size_t len,
			 bool error);

	/*
	 * Text under a raw results format (`results`, e.g. "tex", "markdown"),
	 * cleaned (stream_text_clean) but otherwise as printed, possibly empty.
	 */
	void (*raw)(void *ctx, const struct chunk *ch, const char *results, const char *text,
		    size_t len);

	/*
	 * A display_data/execute_result output that is not a figure. Returns
	 * true when the format showed it; false makes the walk show its
	 * text/plain (if any) as a text result. May be NULL (always text/plain).
	 */
	bool (*rich_output)(void *ctx, const struct chunk *ch, const struct output *o);

	/*
	 * Figure number `index` (1-based within the chunk) with image `img`:
	 * write it (or encode it) and append what the report refers to it by
	 * (path, data: URI) to `src`. Returns 0, or -1 with the error set.
	 */
	int (*figure_src)(void *ctx, const struct chunk *ch, int index,
			  const struct mime_item *img, struct strbuf *src);

	/*
	 * A group of `n` consecutive figures (their srcs). `first` is true for
	 * the chunk's first group, the one that may carry a label.
	 */
	void (*figure_group)(void *ctx, const struct chunk *ch, const struct strbuf *srcs,
			     size_t n, bool first);

	/* The chunk was not run because execution stopped earlier. May be NULL. */
	void (*skipped_note)(void *ctx, const struct chunk *ch);

	/* The chunk's results are stale (--frozen); oc->why says why. May be NULL. */
	void (*frozen_note)(void *ctx, const struct chunk *ch, const struct chunk_outcome *oc);

	/* Execution stopped at this chunk: the note text (figures_stop_note). May be NULL. */
	void (*stop_note)(void *ctx, const struct chunk *ch, const char *note, size_t len);

	/*
	 * Term mode: between one statement's outputs and the next statement's
	 * code (Pweave weaves each as a chunk of its own and joins chunks with a
	 * newline). May be NULL: nothing between them.
	 */
	void (*term_gap)(void *ctx, const struct chunk *ch);
};

/*
 * Render chunk `ch` of `doc` through `ops`: code, outputs, figures and
 * notes, as described above. Returns 0, or -1 when figure_src failed.
 */
int chunk_walk(const struct chunk_walk_ops *ops, void *ctx, const struct document *doc,
	       const struct weave_results *res, const struct render_options *opts,
	       const struct chunk *ch);

/*
 * Show one text output (`error`: a traceback) of `ch` under its results
 * option exactly as the walk does (cleaned; verbatim: wrapped unless a
 * traceback, trimmed, dropped when blank; raw: passed through), for a format that
 * shows some outputs itself (markdown.c's term transcripts).
 */
void chunk_walk_text(const struct chunk_walk_ops *ops, void *ctx, const struct chunk *ch,
		     const char *text, size_t len, bool error);

#endif
