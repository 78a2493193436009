/* latex_wrap: wrapped, UTF-8 safe code and output blocks for compiled LaTeX; see latex_wrap.h. */
#include "render/latex_wrap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

/*
 * The preamble. The font size of a block is computed where the block starts
 * (its \linewidth may be a list's or a column's): the monospaced font's
 * character width at 10pt gives the size at which LATEX_WRAP_COLUMNS + 4
 * characters (the mark and a margin) fit beside the frame, capped at \small.
 * \PY{class}{text} colours Pygments' token classes by the most specific
 * part of the class that has a colour ("s" of "l+s+s2", "nb" of "n+nb");
 * classes without one print plainly. Colours only, no bold: every character keeps its width.
 */
static const char wrap_preamble[] =
	"\\usepackage{fancyvrb}\n"
	"\\usepackage{xcolor}\n"
	"\\makeatletter\n"
	"\\newdimen\\weft@cw \\newdimen\\weft@fs \\newdimen\\weft@small\n"
	"\\newcommand\\weftcodesize{%\n"
	"  \\begingroup\\ttfamily\\fontsize{10}{12}\\selectfont\n"
	"    \\global\\weft@cw=\\fontcharwd\\font`M\\endgroup\n"
	"  \\ifdim\\weft@cw<1pt \\global\\weft@cw=5.25pt\\fi\n"
	"  \\begingroup\\small\\global\\weft@small=\\f@size pt\\endgroup\n"
	"  \\weft@fs=\\dimexpr(\\linewidth-1.5em)*655360/\\numexpr@COLS@*\\weft@cw\\relax\\relax\n"
	"  \\ifdim\\weft@fs>\\weft@small \\weft@fs=\\weft@small\\fi\n"
	"  \\fontsize{\\strip@pt\\weft@fs}{\\strip@pt\\dimexpr\\weft@fs*6/5\\relax}\\selectfont}\n"
	"\\newcommand\\weftcont{\\makebox[2\\fontcharwd\\font`M][l]{\\textcolor{gray}{\\(\\hookrightarrow\\)}}}\n"
	"\\definecolor{weftrule}{gray}{0.75}\n"
	"\\definecolor{weftout}{gray}{0.25}\n"
	"\\definecolor{wefterr}{rgb}{0.6,0.1,0.1}\n"
	"\\def\\PY#1#2{\\let\\weft@pystyle\\@firstofone\\weft@pyscan#1+\\relax\\weft@pystyle{#2}}\n"
	"\\def\\weft@pyscan#1+#2\\relax{\\ifcsname weft@py@#1\\endcsname\n"
	"  \\expandafter\\let\\expandafter\\weft@pystyle\\csname weft@py@#1\\endcsname\\fi\n"
	"  \\ifx\\relax#2\\relax\\else\\weft@pyscan#2\\relax\\fi}\n"
	"\\def\\weft@py@k#1{\\textcolor[rgb]{0.0,0.45,0.0}{#1}}\n"
	"\\def\\weft@py@s#1{\\textcolor[rgb]{0.65,0.13,0.13}{#1}}\n"
	"\\def\\weft@py@c#1{\\textcolor[rgb]{0.4,0.4,0.4}{\\itshape#1}}\n"
	"\\def\\weft@py@m#1{\\textcolor[rgb]{0.0,0.4,0.4}{#1}}\n"
	"\\def\\weft@py@ow#1{\\textcolor[rgb]{0.5,0.0,0.5}{#1}}\n"
	"\\def\\weft@py@nb#1{\\textcolor[rgb]{0.0,0.45,0.0}{#1}}\n"
	"\\def\\weft@py@bp#1{\\textcolor[rgb]{0.0,0.45,0.0}{#1}}\n"
	"\\def\\weft@py@nf#1{\\textcolor[rgb]{0.0,0.0,0.8}{#1}}\n"
	"\\def\\weft@py@nc#1{\\textcolor[rgb]{0.0,0.0,0.8}{#1}}\n"
	"\\def\\weft@py@nn#1{\\textcolor[rgb]{0.0,0.0,0.8}{#1}}\n"
	"\\def\\weft@py@nd#1{\\textcolor[rgb]{0.5,0.0,0.5}{#1}}\n"
	"\\def\\weft@py@err#1{\\textcolor[rgb]{0.8,0.0,0.0}{#1}}\n"
	"\\def\\PYZbs{\\char`\\\\}\\def\\PYZus{\\char`\\_}\\def\\PYZob{\\char`\\{}\\def\\PYZcb{\\char`\\}}\n"
	"\\def\\PYZca{\\char`\\^}\\def\\PYZam{\\char`\\&}\\def\\PYZlt{\\char`\\<}\\def\\PYZgt{\\char`\\>}\n"
	"\\def\\PYZsh{\\char`\\#}\\def\\PYZpc{\\char`\\%}\\def\\PYZdl{\\char`\\$}\\def\\PYZhy{\\char`\\-}\n"
	"\\def\\PYZsq{\\textquotesingle}\\def\\PYZdq{\\char`\\\"}\\def\\PYZti{\\char`\\~}\n"
	"\\def\\PYZat{@}\\def\\PYZlb{[}\\def\\PYZrb{]}\\def\\PYZbq{\\textasciigrave}\n"
	"\\makeatother\n"
	"\\DefineVerbatimEnvironment{weftcode}{Verbatim}{commandchars=\\\\\\{\\},fontsize=\\weftcodesize,\n"
	"  frame=leftline,framerule=1.2pt,rulecolor=\\color{weftrule},framesep=0.6em,xleftmargin=0.2em}\n"
	"\\DefineVerbatimEnvironment{weftout}{Verbatim}{commandchars=\\\\\\{\\},fontsize=\\weftcodesize,\n"
	"  formatcom=\\color{weftout},xleftmargin=1em}\n"
	"\\DefineVerbatimEnvironment{wefterr}{Verbatim}{commandchars=\\\\\\{\\},fontsize=\\weftcodesize,\n"
	"  formatcom=\\color{wefterr},xleftmargin=1em}\n";

void latex_wrap_preamble(struct strbuf *out)
{
	const char *cols = strstr(wrap_preamble, "@COLS@");
	strbuf_add(out, wrap_preamble, (size_t)(cols - wrap_preamble));
	strbuf_addf(out, "%d", LATEX_WRAP_COLUMNS + 4);
	strbuf_addstr(out, cols + 6);
}

/* One printed character of a block: its markup (offset and length in a line's buffer) and token class. */
struct cell {
	size_t at, len;
	size_t cls_at, cls_len; /* the \PY class in the same buffer; cls_len 0: plain */
	bool space;
};

struct cells {
	struct cell *v;
	size_t n, alloc;
};

/* Append a cell. */
static void cells_add(struct cells *c, size_t at, size_t len, size_t cls_at, size_t cls_len,
		      bool space)
{
	ARRAY_GROW(c->v, c->n + 1, c->alloc);
	c->v[c->n++] = (struct cell){at, len, cls_at, cls_len, space};
}

/* Length of the UTF-8 sequence starting with byte `b` (1 for a stray continuation byte). */
static size_t utf8_len(unsigned char b)
{
	return b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
}

/*
 * The escape of one plain character inside a commandchars Verbatim, or NULL
 * for itself. Quotes are the straight ones (upquote is in texlive-latex-extra,
 * which weft does not depend on).
 */
static const char *verb_escape(char c)
{
	switch (c) {
	case '\\': return "\\PYZbs{}";
	case '{': return "\\PYZob{}";
	case '}': return "\\PYZcb{}";
	case '\'': return "\\PYZsq{}";
	case '`': return "\\PYZbq{}";
	default: return NULL;
	}
}

/* Cells of one plain line (no markup): each character escaped into `buf`. */
static void cells_plain(struct cells *c, struct strbuf *buf, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = utf8_len((unsigned char)s[i]);
		if (i + k > n)
			k = n - i;
		size_t at = buf->len;
		const char *e = verb_escape(s[i]);
		if (e)
			strbuf_addstr(buf, e);
		else
			strbuf_add(buf, s + i, k);
		cells_add(c, at, buf->len - at, 0, 0, s[i] == ' ');
		i += k;
	}
}

/*
 * Cells of one line of Pygments' LaTeX markup (stored in `buf` already, n
 * bytes from 0): \PY{class}{text} groups, \PYZxx{} escapes (one character
 * each), plain characters. Pygments closes every group on its line.
 */
static void cells_pygments(struct cells *c, const char *s, size_t n)
{
	size_t cls_at = 0, cls_len = 0;
	bool group = false;
	for (size_t i = 0; i < n;) {
		if (!group && n - i > 4 && !strncmp(s + i, "\\PY{", 4)) {
			size_t j = i + 4;
			while (j < n && s[j] != '}')
				j++;
			if (j + 1 < n && s[j + 1] == '{') {
				cls_at = i + 4;
				cls_len = j - i - 4;
				group = true;
				i = j + 2;
				continue;
			}
		}
		if (group && s[i] == '}') {
			group = false;
			cls_len = 0;
			i++;
			continue;
		}
		size_t at = i, k;
		if (s[i] == '\\') {
			k = 1;
			while (i + k < n && ((s[i + k] >= 'A' && s[i + k] <= 'Z') ||
					     (s[i + k] >= 'a' && s[i + k] <= 'z')))
				k++;
			if (i + k + 1 < n && s[i + k] == '{' && s[i + k + 1] == '}')
				k += 2;
		} else {
			k = utf8_len((unsigned char)s[i]);
			if (i + k > n)
				k = n - i;
		}
		cells_add(c, at, k, group ? cls_at : 0, group ? cls_len : 0, s[i] == ' ');
		i += k;
	}
}

/*
 * Print cells [from, to) of a line whose markup is in `buf`: runs of one
 * class inside \PY{class}{...}, closed at the end so a continued line
 * reopens its token.
 */
static void cells_emit(struct strbuf *out, const struct cells *c, const char *buf, size_t from,
		       size_t to)
{
	const char *open = NULL;
	size_t open_len = 0;
	for (size_t i = from; i < to; i++) {
		const struct cell *x = &c->v[i];
		bool same = x->cls_len && open && open_len == x->cls_len &&
			    !memcmp(open, buf + x->cls_at, open_len);
		if (open && !same) {
			strbuf_addch(out, '}');
			open = NULL;
		}
		if (x->cls_len && !open) {
			open = buf + x->cls_at;
			open_len = x->cls_len;
			strbuf_addstr(out, "\\PY{");
			strbuf_add(out, open, open_len);
			strbuf_addstr(out, "}{");
		}
		strbuf_add(out, buf + x->at, x->len);
	}
	if (open)
		strbuf_addch(out, '}');
}

/*
 * Print one line's cells, wrapped: at most LATEX_WRAP_COLUMNS characters on
 * the first line, and after the mark 2 fewer on each continued one; a break
 * goes after the last space of the second half of the line when there is
 * one (words stay whole), else at the column.
 */
static void cells_wrap(struct strbuf *out, const struct cells *c, const char *buf)
{
	size_t start = 0, width = LATEX_WRAP_COLUMNS;
	for (;;) {
		if (c->n - start <= width) {
			cells_emit(out, c, buf, start, c->n);
			strbuf_addch(out, '\n');
			return;
		}
		size_t end = start + width;
		for (size_t k = end; k > start + width / 2; k--)
			if (c->v[k - 1].space) {
				end = k;
				break;
			}
		cells_emit(out, c, buf, start, end);
		strbuf_addstr(out, "\n\\weftcont{}");
		start = end;
		width = LATEX_WRAP_COLUMNS - 2;
	}
}

/* `text` with tabs expanded to stops every 8 characters (counted in UTF-8 characters). */
static void expand_tabs(struct strbuf *out, const char *s, size_t n)
{
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\t') {
			strbuf_addchars(out, ' ', 8 - col % 8);
			col += 8 - col % 8;
			continue;
		}
		strbuf_addch(out, s[i]);
		if (s[i] == '\n')
			col = 0;
		else if (((unsigned char)s[i] & 0xc0) != 0x80)
			col++;
	}
}

/* Every line of `s` (n bytes; markup when `pygments`) wrapped into `out`. */
static void wrap_lines(struct strbuf *out, const char *s, size_t n, bool pygments)
{
	struct cells c = {0};
	struct strbuf buf;
	strbuf_init(&buf);
	for (size_t pos = 0; pos < n;) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - s) : n;
		c.n = 0;
		strbuf_reset(&buf);
		if (pygments) {
			/* Pygments leaves ` as it is, which a T1 font shows as a curly quote */
			for (size_t i = pos; i < end; i++)
				if (s[i] == '`')
					strbuf_addstr(&buf, "\\PYZbq{}");
				else
					strbuf_addch(&buf, s[i]);
			cells_pygments(&c, buf.buf, buf.len);
		} else {
			cells_plain(&c, &buf, s + pos, end - pos);
		}
		cells_wrap(out, &c, buf.buf);
		pos = nl ? end + 1 : n;
	}
	free(c.v);
	strbuf_free(&buf);
}

/*
 * The body of Pygments' LaTeX output (between its \begin{Verbatim}[...] line
 * and \end{Verbatim}), or NULL when it is not shaped so.
 */
static const char *pygments_body(const struct strbuf *hl, size_t *len)
{
	const char *start = strstr(hl->buf, "\\begin{Verbatim}");
	const char *nl = start ? strchr(start, '\n') : NULL;
	const char *end = nl ? strstr(nl + 1, "\\end{Verbatim}") : NULL;
	if (!end)
		return NULL;
	*len = (size_t)(end - nl - 1);
	return nl + 1;
}

void latex_wrap_code(struct strbuf *out, const struct render_options *opts, const char *code,
		     const char *lang)
{
	struct strbuf text, hl;
	strbuf_init(&text);
	strbuf_init(&hl);
	expand_tabs(&text, code, strlen(code));
	strbuf_rtrim(&text);
	strbuf_addstr(out, "\\begin{weftcode}\n");
	const char *body = NULL;
	size_t len = 0;
	if (opts && opts->highlight &&
	    opts->highlight(opts->highlight_ctx, text.buf, lang ? lang : "python", "latex", &hl) == 0)
		body = pygments_body(&hl, &len);
	if (body)
		wrap_lines(out, body, len, true);
	else
		wrap_lines(out, text.buf, text.len, false);
	strbuf_addstr(out, "\\end{weftcode}\n");
	strbuf_free(&text);
	strbuf_free(&hl);
}

void latex_wrap_output(struct strbuf *out, const char *text, size_t len, bool error)
{
	struct strbuf t;
	strbuf_init(&t);
	expand_tabs(&t, text, len);
	strbuf_rtrim(&t);
	strbuf_addf(out, "\\begin{%s}\n", error ? "wefterr" : "weftout");
	wrap_lines(out, t.buf, t.len, false);
	strbuf_addf(out, "\\end{%s}\n", error ? "wefterr" : "weftout");
	strbuf_free(&t);
}

void latex_wrap_escape_text(struct strbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '\\': strbuf_addstr(out, "\\textbackslash{}"); break;
		case '^': strbuf_addstr(out, "\\textasciicircum{}"); break;
		case '~': strbuf_addstr(out, "\\textasciitilde{}"); break;
		/* OT1 fonts (a plain pdflatex document) print < > | as other glyphs */
		case '<': strbuf_addstr(out, "\\textless{}"); break;
		case '>': strbuf_addstr(out, "\\textgreater{}"); break;
		case '|': strbuf_addstr(out, "\\textbar{}"); break;
		case '{': case '}': case '_': case '&': case '%': case '$': case '#':
			strbuf_addch(out, '\\');
			strbuf_addch(out, s[i]);
			break;
		case '-': /* "--" and "---" stay hyphens, not dashes */
			strbuf_addstr(out, i + 1 < len && s[i + 1] == '-' ? "-{}" : "-");
			break;
		default: /* a newline or other control byte is a space */
			strbuf_addch(out, (unsigned char)s[i] < 0x20 ? ' ' : s[i]);
		}
	}
}
