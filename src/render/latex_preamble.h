/*
 * latex_preamble: what a LaTeX report uses, defined where LaTeX wants it.
 *
 * The LaTeX formats write markup that needs packages and definitions the
 * document's own preamble may lack (texpygments' \PY macros and Verbatim,
 * texpweave's pweavecode/pweaveout environments, booktabs for a DataFrame's
 * table). Pweave left them undefined, so its reports did not compile;
 * latex.c collects what a render used in a `struct latex_needs` and
 * latex_preamble_insert puts it in place:
 *
 *   - the prose has a \begin{document} (the document is a whole LaTeX
 *     file): the block goes right before it, at the end of the document's
 *     own preamble, with \usepackage lines only for packages the preamble
 *     does not load already (\usepackage or \RequirePackage, any options;
 *     xcolor counts as color) and definitions only when the preamble does
 *     not define the same thing;
 *   - no \begin{document} (a fragment the user \input's): the block goes at
 *     the top, the packages as a comment saying what the master document
 *     must load (\usepackage is an error after \begin{document}), the
 *     definitions as they are (they work in a document body too).
 *
 * The block starts with a "% weft (FORMAT): ..." line and ends with
 * "% weft (FORMAT): end of what this report uses". Nothing is written when
 * nothing is needed, so a report that uses nothing extra is unchanged.
 */
#ifndef WEFT_LATEX_PREAMBLE_H
#define WEFT_LATEX_PREAMBLE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

#define LATEX_NEEDS_MAX 8

/* What one render used. */
struct latex_needs {
	const char *format;                     /* for the comment: "texpygments", ... */
	const char *packages[LATEX_NEEDS_MAX];  /* package names, in load order */
	size_t npackages;
	struct strbuf defs;                     /* definitions (each ending in "\n") */
};

void latex_needs_init(struct latex_needs *n, const char *format);
void latex_needs_free(struct latex_needs *n);
/* Need package `name` (a static string; duplicates and overflow ignored). */
void latex_needs_package(struct latex_needs *n, const char *name);

/*
 * The offset in tex[0..len) of the line holding the document's
 * \begin{document} (outside comments), or `len` when there is none.
 */
size_t latex_preamble_end(const char *tex, size_t len);

/*
 * True when the preamble pre[0..len) loads `package` with \usepackage or
 * \RequirePackage (comments ignored; "color" is also loaded by xcolor).
 */
bool latex_preamble_loads(const char *pre, size_t len, const char *package);

/* True when `text` occurs in pre[0..len) outside comments (e.g. "{pweavecode}"). */
bool latex_preamble_mentions(const char *pre, size_t len, const char *text);

/*
 * True when pre[0..len) defines environment `env`: "{env}" outside comments
 * and not after \begin or \end (\newenvironment{env}, \DefineVerbatimEnvironment{env},
 * \lstnewenvironment{env}, ...), so a fragment that only uses it does not count.
 */
bool latex_preamble_defines_env(const char *pre, size_t len, const char *env);

/*
 * Put `n` into the LaTeX text out->buf[start..] as the header describes:
 * before its \begin{document}, or at `start` for a fragment.
 */
void latex_preamble_insert(struct strbuf *out, size_t start, const struct latex_needs *n);

#endif
