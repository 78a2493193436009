/*
 * stream_text: what a chunk's printed text looks like once it is shown,
 * the one place the rules below live (renderers and the notebook writer
 * call it; the cache keeps outputs raw, so cached and --no-cache renders
 * apply the same rules to the same bytes).
 *
 * Console rules (stream_text_console), as Jupyter shows a stream after
 * joining consecutive outputs of the same stream (nbconvert's
 * coalesce_streams, JupyterLab's output area):
 *   "\r" followed by "\n" (or by more "\r" then "\n") is a newline;
 *   "\r" followed by anything else erases the current line: what follows
 *     replaces it (a progress bar shows its last state, as in nbconvert);
 *   "\r" at the very end of the text is dropped, the line kept;
 *   "\b" deletes the previous character (a whole UTF-8 code point) of the
 *     current line, and does nothing at the start of a line.
 *
 * Cleaning (stream_text_clean), for text formats (Markdown, HTML, LaTeX,
 * reST), applied to every text output (streams, tracebacks, text/plain):
 *   terminal escape sequences are removed, as nbconvert's strip_ansi does
 *     for colours: CSI (ESC [ ... final byte: colours, cursor moves), OSC
 *     (ESC ] ... BEL or ESC \: titles, hyperlinks; the link text stays) and
 *     the short escapes curses and terminal libraries send (ESC followed by
 *     one of = > 7 8 D E H M c; ESC ( B, ESC ) 0);
 *   "\r\n" becomes "\n";
 *   every other control character (C0 except tab and newline, DEL, C1 as
 *     UTF-8, a lone ESC or an unterminated sequence) is written the way
 *     Python's repr writes it: "\x00", "\x1b", "\r", "\x85". Output is never
 *     dropped, and the result holds no byte that breaks XML or pdflatex.
 *
 * The notebook format applies the console rules only (as
 * `jupyter nbconvert --to notebook` does) and keeps colour codes and other
 * control characters, which Jupyter renders itself.
 */
#ifndef WEFT_STREAM_TEXT_H
#define WEFT_STREAM_TEXT_H

#include <stddef.h>

#include "model/output.h"
#include "util/strbuf.h"

/* Append `text` (one stream's joined text) to `out` under the console rules above. */
void stream_text_console(struct strbuf *out, const char *text, size_t len);

/* Append `text` to `out` cleaned for a text format, as described above. */
void stream_text_clean(struct strbuf *out, const char *text, size_t len);

/*
 * Append copies of `src`'s outputs to `dst`, consecutive streams of the
 * same name joined into one (whatever their term statement, which the
 * first keeps) and their text put through stream_text_console: the
 * outputs as a notebook shows them.
 */
void stream_text_finish_list(struct output_list *dst, const struct output_list *src);

#endif
