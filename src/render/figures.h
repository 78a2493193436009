/*
 * figures: what every renderer shares about outputs — which outputs are
 * figures, where figure files go and how they are named, which MIME type of a
 * display to show, Pweave's line wrapping, and the note shown where execution
 * stopped.
 *
 * Figure files follow Pweave's naming scheme, relative to the report:
 *
 *   <figure_dir>/<doc>_figure<N>_<i>.<ext>   unnamed chunk number N (1-based)
 *   <figure_dir>/<doc>_<name>_<i>.<ext>      chunk named <name> (characters
 *                                            \ / : * ? < > | removed)
 *
 * <doc> is the document's file name without directory and extension, <i>
 * counts the chunk's figures from 1 in the order they were produced, and
 * <ext> comes from the MIME type (png, jpg, svg, pdf). Files are written
 * under the directory of opts->output_path (the current directory when it
 * has none); the path written into the report is "<figure_dir>/<file>".
 *
 *   const struct mime_item *img = figure_mime(o, figures_for_latex, opts->figure_format);
 *   if (img) {
 *       struct strbuf rel;
 *       strbuf_init(&rel);
 *       if (figure_write(opts, doc, chunk, ++nfig, img, &rel, err) < 0) ...
 *       ... "\includegraphics{%s}", rel.buf ...
 *   }
 */
#ifndef WEFT_FIGURES_H
#define WEFT_FIGURES_H

#include <stdbool.h>

#include "model/document.h"
#include "model/outcome.h"
#include "model/output.h"
#include "render/render.h"
#include "util/error.h"
#include "util/strbuf.h"

/*
 * Figure MIME types each format family accepts, best first (NULL-terminated).
 * They follow Pweave's preferences: LaTeX wants PDF, then bitmaps; HTML and
 * Markdown take SVG too (Pweave's list had a misspelt SVG type, so it never
 * matched); reST takes bitmaps and SVG.
 */
extern const char *const figures_for_latex[];
extern const char *const figures_for_html[];
extern const char *const figures_for_markdown[];
extern const char *const figures_for_rst[];

/* The MIME type of a figure format name ("png" -> "image/png", "svg", "pdf", "jpg"), or NULL. */
const char *figure_format_mime(const char *figure_format);
/* The file extension for a figure MIME type ("image/png" -> "png"), or "bin". */
const char *figure_mime_ext(const char *mime);

/*
 * The image to show for output `o` when it counts as a figure: a
 * display_data or execute_result carrying the MIME type of `figure_format`
 * (the format the user asked figures in, may be NULL; it wins even when the
 * family would not pick it, e.g. PDF figures for pandoc Markdown headed for
 * LaTeX) or else one of `accepted`, in that order. NULL when `o` is not a
 * figure for this format.
 */
const struct mime_item *figure_mime(const struct output *o, const char *const *accepted,
				    const char *figure_format);

/*
 * Append the figure's path as written in the report ("figures/doc_figure2_1.png")
 * to `rel`. `index` is the 1-based number of the figure within its chunk.
 */
void figure_name(const struct render_options *opts, const struct document *doc,
		 const struct chunk *ch, int index, const char *mime, struct strbuf *rel);

/*
 * Write `img` to its file (creating the figure directory) and append its
 * report-relative path to `rel`. Returns 0, or -1 with err naming the file.
 */
int figure_write(const struct render_options *opts, const struct document *doc,
		 const struct chunk *ch, int index, const struct mime_item *img, struct strbuf *rel,
		 struct weft_error *err);

/* The first MIME item of `o` whose type is in `prefs` (NULL-terminated), or NULL. */
const struct mime_item *figures_best_mime(const struct output *o, const char *const *prefs);

/*
 * Pweave's `wrap` for one block of text: every line is filled to 70 columns
 * the way Python's textwrap.TextWrapper(break_long_words=False) does (tabs
 * expanded, whitespace runs kept inside a line, trailing whitespace dropped,
 * breaks at spaces, after hyphens inside words and around "--" dashes,
 * words longer than a line kept whole), and each resulting line ends with
 * "\n". Appends to `out`.
 */
void figures_wrap(struct strbuf *out, const char *text, size_t len);

/*
 * Output text under the `wrap` option: as figures_wrap, but lines break at
 * spaces only (TextWrapper's break_on_hyphens=False: no break after a
 * hyphen or around "--"; paths, URLs, option names and
 * identifiers stay whole), and a traceback the code printed (from a
 * "Traceback (most recent call last):" line to the unindented exception
 * line) is kept as it is. Tracebacks of error outputs are not wrapped at all
 * (the caller's rule). Pweave breaks both; see README "Output wrapping".
 */
void figures_wrap_output_text(struct strbuf *out, const char *text, size_t len);

/* True when the chunk's wrap option asks for wrapping code: True ("all") or "code". */
bool figures_wrap_code(const struct chunk_options *o);
/* True when the chunk's wrap option asks for wrapping output: True ("all"), "output" or "results". */
bool figures_wrap_output(const struct chunk_options *o);

/*
 * When execution stopped at chunk `ch` (res->stopped_at == ch->index), append
 * the one-line note every format shows after it, e.g.
 *   "weft: execution stopped here: chunk 3 (name) at line 12 crashed: Segmentation fault"
 * (no trailing newline) and return true; otherwise return false.
 */
bool figures_stop_note(const struct document *doc, const struct weave_results *res,
		       const struct chunk *ch, struct strbuf *out);

/*
 * When chunk `ch` is CHUNK_STALE (--frozen showed results from an earlier
 * version of it), append "weft: frozen, results of chunk N are from an
 * earlier version: <why>" and return true; otherwise return false.
 */
bool figures_stale_note(const struct weave_results *res, const struct chunk *ch,
			struct strbuf *out);

/*
 * True when a chunk's outputs are to be shown at all: it has an outcome that
 * carries outputs (not skipped, pending or not evaluated).
 */
bool figures_chunk_has_outputs(const struct weave_results *res, const struct chunk *ch);

/* The outcome of chunk `ch`, or NULL when `res` has none for it. */
const struct chunk_outcome *figures_outcome(const struct weave_results *res,
					    const struct chunk *ch);

#endif
