/*
 * latex_wrap: code and output blocks for the LaTeX that weft compiles itself
 * (md2latex, and the pdf format for LaTeX-prose documents): long lines are
 * wrapped, never clipped, with normal letter spacing and no visible-space
 * marks, UTF-8 safe under pdflatex, lualatex and xelatex.
 *
 * Why not listings: with breaklines it still cannot break inside one long
 * token (a long string or identifier runs off the page), and under pdflatex
 * it reads UTF-8 byte by byte ("Invalid UTF-8 byte sequence" for the °C of
 * examples/analysis.pmd). fvextra (fancyvrb with breaklines) is not in the
 * Debian packages weft depends on. So weft wraps in C, at a known column
 * (LATEX_WRAP_COLUMNS) with a continuation mark (\weftcont, an arrow) on
 * every continued line, and prints the blocks with fancyvrb's Verbatim,
 * which leaves UTF-8 to the engine. The column always fits: the preamble
 * (latex_wrap_preamble) sets the block's font size from the current
 * \linewidth and the width of the monospaced font's characters, never
 * larger than \small, so any class, font or geometry gets no overfull line.
 *
 * Code is highlighted by Pygments' LaTeX formatter through opts->highlight
 * when available (its \PY{class}{text} markup, wrapped by parsing it: a
 * token broken across lines is closed and reopened); the preamble defines
 * \PY and the \PYZ.. escapes with weft's own colours, so no Pygments style
 * definitions are needed.
 */
#ifndef WEFT_LATEX_WRAP_H
#define WEFT_LATEX_WRAP_H

#include <stdbool.h>
#include <stddef.h>

#include "render/render.h"
#include "util/strbuf.h"

/* Characters of a block's line before it wraps (a continued line holds 2 fewer, after the mark). */
#define LATEX_WRAP_COLUMNS 88

/*
 * The preamble lines the blocks need (fancyvrb, xcolor, upquote, the weftcode,
 * weftout and wefterr environments, \PY, \weftcont, the font sizing), for a
 * document's preamble, before \begin{document}. Packages already loaded are
 * not loaded twice; LaTeX ignores a repeated \usepackage.
 */
void latex_wrap_preamble(struct strbuf *out);

/*
 * A code block of `code` in language `lang` (NULL: python): highlighted
 * through opts->highlight when it answers, else escaped plain text; tabs
 * expanded; wrapped. Appends the weftcode environment to `out`.
 */
void latex_wrap_code(struct strbuf *out, const struct render_options *opts, const char *code,
		     const char *lang);

/* An output block (text shown as printed), wrapped: weftout, or wefterr for a traceback. */
void latex_wrap_output(struct strbuf *out, const char *text, size_t len, bool error);

/*
 * Escape `s` (`len` bytes) for LaTeX text mode (a prose word, a caption, a
 * title, a table cell, an error message): the ten special characters and
 * < > | become the commands that print them under any font encoding, "--"
 * stays two hyphens, a newline or control byte becomes a space.
 */
void latex_wrap_escape_text(struct strbuf *out, const char *s, size_t len);

#endif
