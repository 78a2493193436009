/* md_latex: the md2latex format, Markdown prose to a standalone LaTeX document; see md_latex.h. */
#include "render/md_latex.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <md4c.h>

#include "model/stream_text.h"
#include "render/chunk_walk.h"
#include "render/figures.h"
#include "render/html_page.h"
#include "render/latex.h"
#include "render/latex_wrap.h"
#include "render/md_prose.h"
#include "util/error.h"

/* The document being rendered: what every Markdown parse of it shares. */
struct mdl_doc {
	const struct document *doc;
	const struct weave_results *res;
	const struct render_options *opts;
	struct weft_error *err;
	struct strbuf *out;      /* the body being written */
	struct md_prose prose;   /* footnotes, figure numbers */
	char **raws;             /* raw LaTeX blocks taken out of the prose (<weft-raw n=K>) */
	size_t nraws, raws_alloc;
	bool *note_shown;        /* footnote k (1-based) was printed as \footnote already */
};

/* One md4c parse (a text block, a footnote, a caption): where it writes and its open structures. */
struct mdl {
	struct mdl_doc *d;
	struct strbuf *out;      /* current target: the body, or a table being gathered */
	struct strbuf *main;     /* the parse's own target */
	const char *src;         /* the Markdown as written, for warning lines */
	size_t src_len;
	int line;                /* the document line `src` starts at */
	int ol_depth;            /* enumerate nesting (enumi, enumii, ...) */
	int img_depth;           /* inside an image: its alt text is not printed */
	int raw_depth;           /* inside a raw \command's {argument} */
	bool raw_args;           /* a raw \command just ended: a following {..} or [..] is its argument */
	bool in_code_block;
	bool in_html_block;
	struct strbuf code;      /* a code block's text, or an HTML block's */
	char *code_lang;
	struct strbuf table;     /* the table being gathered */
	struct strbuf aligns;    /* its column alignments (l, c, r) */
	int cell;                /* cell number within the row */
	bool head_row;           /* gathering the first (header) row's alignments */
};

static void md_to_latex(struct mdl_doc *d, struct strbuf *out, const char *md, size_t len,
			int line, const char *src, size_t src_len);

/* ---- the LaTeX markup of md_prose's rewritten references and divs ---- */

/* A footnote reference: a tag the HTML handler below turns into \footnote. */
static void tex_footnote_ref(struct strbuf *out, const struct md_footnote *note, bool first)
{
	(void)first;
	strbuf_addf(out, "<weft-fn n=\"%d\">", note->number);
}

/* @fig-NAME: a tag that becomes Figure~\ref{fig:NAME}. */
static void tex_figure_ref(struct strbuf *out, const char *name, int number)
{
	(void)number;
	strbuf_addf(out, "<weft-ref fig=\"%s\">", name);
}

/* A fenced div: its content is ordinary prose; an id becomes a \label (ids with odd characters none). */
static void tex_div_open(struct strbuf *out, const char *cls, const char *id)
{
	(void)cls;
	bool ok = *id != '\0';
	for (const char *p = id; *p && ok; p++)
		ok = isalnum((unsigned char)*p) || strchr("-_:.", *p);
	strbuf_addstr(out, "\n<weft-div");
	if (ok)
		strbuf_addf(out, " id=\"%s\"", id);
	strbuf_addstr(out, ">\n\n");
}

/* The end of a fenced div. */
static void tex_div_close(struct strbuf *out)
{
	strbuf_addstr(out, "\n</weft-div>\n\n");
}

static const struct md_prose_markup tex_markup = {tex_footnote_ref, tex_figure_ref, tex_div_open,
						  tex_div_close};

/* ---- text ---- */

/* Escape text for \texttt (a code span): as text, and no ligature or hyphenation tricks. */
static void tex_escape_tt(struct strbuf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			strbuf_addstr(out, "-{}");
		else if (s[i] == '\'')
			strbuf_addstr(out, "\\textquotesingle{}");
		else if (s[i] == '`')
			strbuf_addstr(out, "\\textasciigrave{}");
		else if (s[i] == '"')
			strbuf_addstr(out, "\\textquotedbl{}");
		else
			latex_wrap_escape_text(out, s + i, 1);
	}
}

/*
 * Normal prose text: special characters escaped, except raw LaTeX (pandoc's
 * rule): a backslash followed by letters is a command, passed through with
 * the {..} and [..] arguments right after it (which may come in the next
 * text event, so the state lives in the parse). Double quotes become
 * opening or closing ones, as pandoc's smart extension makes them.
 */
static void tex_text(struct mdl *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (m->raw_depth > 0) {
			strbuf_addch(m->out, c);
			if (c == '{' || c == '[')
				m->raw_depth++;
			else if (c == '}' || c == ']')
				m->raw_depth--;
			if (m->raw_depth == 0)
				m->raw_args = true;
			continue;
		}
		if (m->raw_args && (c == '{' || c == '[')) {
			strbuf_addch(m->out, c);
			m->raw_depth = 1;
			continue;
		}
		m->raw_args = false;
		if (c == '\\' && i + 1 < n && isalpha((unsigned char)s[i + 1])) {
			size_t k = i + 1;
			while (k < n && isalpha((unsigned char)s[k]))
				k++;
			strbuf_add(m->out, s + i, k - i);
			i = k - 1;
			m->raw_args = true;
			continue;
		}
		if (c == '"') { /* pandoc's smart quotes: opening after a space or bracket */
			char prev = i ? s[i - 1] : m->out->len ? m->out->buf[m->out->len - 1] : ' ';
			strbuf_addstr(m->out, isspace((unsigned char)prev) || strchr("([{~", prev) ? "``" : "''");
			continue;
		}
		latex_wrap_escape_text(m->out, s + i, 1);
	}
}

/* An HTML entity (&amp; &#176; &#xB0; ...) as its UTF-8 text, escaped; unknown ones as written. */
static void tex_entity(struct mdl *m, const char *s, size_t n)
{
	static const struct { const char *name; uint32_t cp; } named[] = {
		{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''},
		{"&nbsp;", 0xa0}, {"&copy;", 0xa9}, {"&reg;", 0xae}, {"&deg;", 0xb0},
		{"&ndash;", 0x2013}, {"&mdash;", 0x2014}, {"&hellip;", 0x2026}, {"&euro;", 0x20ac},
	};
	uint32_t cp = 0;
	if (n > 3 && s[1] == '#')
		cp = (uint32_t)strtoul(s + 2 + (s[2] == 'x' || s[2] == 'X'), NULL,
				       s[2] == 'x' || s[2] == 'X' ? 16 : 10);
	for (size_t i = 0; !cp && i < sizeof(named) / sizeof(*named); i++)
		if (strlen(named[i].name) == n && !memcmp(named[i].name, s, n))
			cp = named[i].cp;
	if (cp == 0xa0) {
		strbuf_addch(m->out, '~');
		return;
	}
	if (!cp || cp > 0x10ffff) {
		latex_wrap_escape_text(m->out, s, n);
		return;
	}
	char u[4];
	size_t k;
	if (cp < 0x80) {
		u[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	latex_wrap_escape_text(m->out, u, k);
}

/* The document line where `snippet` (n bytes) appears in the parse's Markdown, else its first line. */
static int tex_line_of(const struct mdl *m, const char *snippet, size_t n)
{
	if (n > 40)
		n = 40;
	for (size_t i = 0; n && i + n <= m->src_len; i++)
		if (!memcmp(m->src + i, snippet, n)) {
			int line = m->line;
			for (size_t k = 0; k < i; k++)
				line += m->src[k] == '\n';
			return line;
		}
	return m->line;
}

/* The value of attribute `name` in tag text `tag` (up to `end`), into `val`; false when absent. */
static bool tag_attr(const char *tag, const char *end, const char *name, struct strbuf *val)
{
	size_t nl = strlen(name);
	for (const char *p = tag; p + nl + 2 <= end; p++)
		if (!strncmp(p, name, nl) && p[nl] == '=' && p[nl + 1] == '"') {
			const char *v = p + nl + 2, *q = memchr(v, '"', (size_t)(end - v));
			if (!q)
				return false;
			strbuf_reset(val);
			strbuf_add(val, v, (size_t)(q - v));
			return true;
		}
	return false;
}

/* Footnote number k: \footnote{its text} the first time, \footnotemark[k] after that. */
static void tex_footnote(struct mdl *m, int k)
{
	struct mdl_doc *d = m->d;
	const struct md_footnote *note = md_prose_note(&d->prose, k);
	if (!note)
		return;
	if (d->note_shown[k - 1]) {
		strbuf_addf(m->out, "\\footnotemark[%d]", k);
		return;
	}
	d->note_shown[k - 1] = true;
	if (!note->text) {
		weft_warn(d->doc->path, 0, "footnote [^%s] is referenced but never defined", note->label);
		strbuf_addstr(m->out, "\\footnote{[\\textasciicircum{}");
		latex_wrap_escape_text(m->out, note->label, strlen(note->label));
		strbuf_addstr(m->out, "]}");
		return;
	}
	struct strbuf body;
	strbuf_init(&body);
	md_to_latex(d, &body, note->text, strlen(note->text), note->def_line, note->text,
		    strlen(note->text));
	strbuf_rtrim(&body);
	strbuf_addstr(m->out, "\\footnote{");
	strbuf_add(m->out, body.buf, body.len);
	strbuf_addch(m->out, '}');
	strbuf_free(&body);
}

/*
 * Raw HTML (an inline tag or a block's text): weft's own tags (md_prose's
 * markup, raw LaTeX placeholders) become LaTeX; comments go; anything else
 * is dropped with a warning naming the line, since LaTeX cannot show it.
 */
static void tex_html(struct mdl *m, const char *s, size_t n)
{
	struct strbuf val, dropped;
	strbuf_init(&val);
	strbuf_init(&dropped);
	for (size_t i = 0; i < n;) {
		const char *p = s + i;
		if (n - i >= 4 && !strncmp(p, "<!--", 4)) {
			const char *e = NULL;
			for (size_t k = i + 4; k + 3 <= n && !e; k++)
				if (!strncmp(s + k, "-->", 3))
					e = s + k + 3;
			i = e ? (size_t)(e - s) : n;
			continue;
		}
		const char *gt = *p == '<' ? memchr(p, '>', n - i) : NULL;
		bool ours = gt && (!strncmp(p, "<weft-", 6) || !strncmp(p, "</weft-", 7));
		if (!ours) {
			if (!isspace((unsigned char)*p))
				strbuf_addch(&dropped, *p);
			i++;
			continue;
		}
		if (!strncmp(p, "<weft-fn ", 9) && tag_attr(p, gt, "n", &val)) {
			int k = atoi(val.buf);
			if (k >= 1 && k <= m->d->prose.next_note)
				tex_footnote(m, k);
		} else if (!strncmp(p, "<weft-ref ", 10) && tag_attr(p, gt, "fig", &val)) {
			strbuf_addf(m->out, "Figure~\\ref{fig:%s}", val.buf);
		} else if (!strncmp(p, "<weft-div", 9) && tag_attr(p, gt, "id", &val)) {
			strbuf_addf(m->out, "\\phantomsection\\label{%s}\n", val.buf);
		} else if (!strncmp(p, "<weft-raw ", 10) && tag_attr(p, gt, "n", &val)) {
			size_t k = (size_t)atoi(val.buf);
			if (k < m->d->nraws) {
				strbuf_addstr(m->out, m->d->raws[k]);
				strbuf_addch(m->out, '\n');
			}
		} else if (!strncmp(p, "<weft-stale>", 12)) {
			strbuf_addstr(m->out, "\\textsuperscript{stale}");
		}
		i = (size_t)(gt - s) + 1;
	}
	if (dropped.len) {
		size_t at = 0;
		while (at < n && isspace((unsigned char)s[at]))
			at++;
		int line = tex_line_of(m, s + at, n - at);
		struct strbuf shown;
		strbuf_init(&shown);
		strbuf_add(&shown, s + at, n - at > 60 ? 60 : n - at);
		for (size_t k = 0; k < shown.len; k++)
			if (shown.buf[k] == '\n')
				shown.buf[k] = ' ';
		weft_warn(m->d->doc->path, line, "raw HTML dropped from the LaTeX output: %s%s", shown.buf,
			  n - at > 60 ? "..." : "");
		strbuf_free(&shown);
	}
	strbuf_free(&val);
	strbuf_free(&dropped);
}

/* ---- md4c events ---- */

/* The \section-like command for a heading level (unnumbered, as pandoc's default). */
static const char *heading_cmd(unsigned level)
{
	static const char *const cmds[] = {"section", "subsection", "subsubsection", "paragraph",
					   "subparagraph", "subparagraph"};
	return cmds[level >= 1 && level <= 6 ? level - 1 : 5];
}

/* An image in prose: \includegraphics for a local PNG/JPEG/PDF that exists, else a warning and a link. */
static void tex_image(struct mdl *m, const MD_SPAN_IMG_DETAIL *img)
{
	struct strbuf src, path;
	strbuf_init(&src);
	strbuf_init(&path);
	strbuf_add(&src, img->src.text, img->src.size);
	const char *dot = strrchr(src.buf, '.');
	bool local = src.len && !strstr(src.buf, "://") && strncmp(src.buf, "data:", 5);
	bool known = dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
			     !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".pdf"));
	const char *docpath = m->d->doc->path;
	const char *slash = strrchr(docpath, '/');
	if (src.buf[0] != '/' && slash)
		strbuf_add(&path, docpath, (size_t)(slash - docpath + 1));
	strbuf_addstr(&path, src.buf);
	bool safe = !strpbrk(src.buf, "%#{}\\");
	int line = tex_line_of(m, src.buf, src.len);
	if (local && known && safe && access(path.buf, R_OK) == 0) {
		strbuf_addstr(m->out, "\\includegraphics[width=\\weftmaxwidth]{");
		strbuf_add(m->out, src.buf, src.len);
		strbuf_addch(m->out, '}');
	} else {
		weft_warn(docpath, line, "image %s %s; the LaTeX output links it instead", src.buf,
			  !local ? "is not a local file" : !known ? "is not PNG, JPEG or PDF"
			  : !safe ? "has a path LaTeX cannot take" : "cannot be read");
		strbuf_addstr(m->out, "\\url{");
		latex_wrap_escape_text(m->out, src.buf, src.len);
		strbuf_addch(m->out, '}');
	}
	strbuf_free(&src);
	strbuf_free(&path);
}

/* md4c: a block starts. */
static int tex_enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct mdl *m = ud;
	switch (type) {
	case MD_BLOCK_QUOTE: strbuf_addstr(m->out, "\\begin{quote}\n"); break;
	case MD_BLOCK_UL: strbuf_addstr(m->out, "\\begin{itemize}\n"); break;
	case MD_BLOCK_OL: {
		const MD_BLOCK_OL_DETAIL *ol = detail;
		static const char *const counters[] = {"enumi", "enumii", "enumiii", "enumiv"};
		strbuf_addstr(m->out, "\\begin{enumerate}\n");
		if (ol->start != 1 && m->ol_depth < 4)
			strbuf_addf(m->out, "\\setcounter{%s}{%u}\n", counters[m->ol_depth], ol->start - 1);
		m->ol_depth++;
		break;
	}
	case MD_BLOCK_LI: {
		const MD_BLOCK_LI_DETAIL *li = detail;
		if (li->is_task)
			strbuf_addstr(m->out, li->task_mark == ' ' ? "\\item[$\\square$] "
								   : "\\item[$\\boxtimes$] ");
		else
			strbuf_addstr(m->out, "\\item ");
		break;
	}
	case MD_BLOCK_HR: strbuf_addstr(m->out, "\\par\\noindent\\rule{\\linewidth}{0.4pt}\\par\n\n"); break;
	case MD_BLOCK_H:
		strbuf_addf(m->out, "\\%s{", heading_cmd(((const MD_BLOCK_H_DETAIL *)detail)->level));
		break;
	case MD_BLOCK_CODE: {
		const MD_BLOCK_CODE_DETAIL *cd = detail;
		m->in_code_block = true;
		strbuf_reset(&m->code);
		free(m->code_lang);
		m->code_lang = cd->lang.size ? xstrndup(cd->lang.text, cd->lang.size) : NULL;
		break;
	}
	case MD_BLOCK_HTML:
		m->in_html_block = true;
		strbuf_reset(&m->code);
		break;
	case MD_BLOCK_TABLE:
		strbuf_reset(&m->table);
		strbuf_reset(&m->aligns);
		m->head_row = true;
		m->out = &m->table;
		break;
	case MD_BLOCK_TR: m->cell = 0; break;
	case MD_BLOCK_TH:
	case MD_BLOCK_TD: {
		const MD_BLOCK_TD_DETAIL *td = detail;
		if (m->cell++)
			strbuf_addstr(m->out, " & ");
		if (m->head_row)
			strbuf_addch(&m->aligns, td->align == MD_ALIGN_CENTER  ? 'c'
						 : td->align == MD_ALIGN_RIGHT ? 'r'
									       : 'l');
		break;
	}
	default: break;
	}
	return 0;
}

/* md4c: a block ends. */
static int tex_leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct mdl *m = ud;
	m->raw_depth = 0;
	m->raw_args = false;
	switch (type) {
	case MD_BLOCK_QUOTE: strbuf_addstr(m->out, "\\end{quote}\n\n"); break;
	case MD_BLOCK_UL: strbuf_addstr(m->out, "\\end{itemize}\n\n"); break;
	case MD_BLOCK_OL:
		strbuf_addstr(m->out, "\\end{enumerate}\n\n");
		m->ol_depth--;
		break;
	case MD_BLOCK_LI: strbuf_addch(m->out, '\n'); break;
	case MD_BLOCK_H: strbuf_addstr(m->out, "}\n\n"); break;
	case MD_BLOCK_P: strbuf_addstr(m->out, "\n\n"); break;
	case MD_BLOCK_CODE:
		m->in_code_block = false;
		if (m->code_lang)
			latex_wrap_code(m->out, m->d->opts, m->code.buf, m->code_lang);
		else
			latex_wrap_output(m->out, m->code.buf, m->code.len, false);
		strbuf_addch(m->out, '\n');
		break;
	case MD_BLOCK_HTML:
		m->in_html_block = false;
		tex_html(m, m->code.buf, m->code.len);
		strbuf_addch(m->out, '\n');
		break;
	case MD_BLOCK_THEAD:
		strbuf_addstr(m->out, "\\midrule\n");
		break;
	case MD_BLOCK_TR:
		strbuf_addstr(m->out, " \\\\\n");
		m->head_row = false;
		break;
	case MD_BLOCK_TABLE:
		m->out = m->main;
		strbuf_addf(m->out, "\\begin{center}\n\\begin{tabular}{@{}%s@{}}\n\\toprule\n", m->aligns.buf);
		strbuf_add(m->out, m->table.buf, m->table.len);
		strbuf_addstr(m->out, "\\bottomrule\n\\end{tabular}\n\\end{center}\n\n");
		break;
	default: break;
	}
	(void)detail;
	return 0;
}

/* md4c: an inline span starts. */
static int tex_enter_span(MD_SPANTYPE type, void *detail, void *ud)
{
	struct mdl *m = ud;
	if (m->img_depth && type != MD_SPAN_IMG)
		return 0;
	switch (type) {
	case MD_SPAN_EM: strbuf_addstr(m->out, "\\emph{"); break;
	case MD_SPAN_STRONG: strbuf_addstr(m->out, "\\textbf{"); break;
	case MD_SPAN_CODE: strbuf_addstr(m->out, "\\texttt{"); break;
	case MD_SPAN_LATEXMATH: strbuf_addstr(m->out, "\\("); break;
	case MD_SPAN_LATEXMATH_DISPLAY: strbuf_addstr(m->out, "\\["); break;
	case MD_SPAN_A: {
		const MD_SPAN_A_DETAIL *a = detail;
		strbuf_addstr(m->out, "\\href{");
		for (MD_SIZE i = 0; i < a->href.size; i++) {
			char c = a->href.text[i];
			if (c == '%' || c == '#' || c == '\\' || c == '{' || c == '}')
				strbuf_addch(m->out, '\\');
			strbuf_addch(m->out, c);
		}
		strbuf_addstr(m->out, "}{");
		break;
	}
	case MD_SPAN_IMG:
		if (!m->img_depth++)
			tex_image(m, detail);
		break;
	default: break;
	}
	return 0;
}

/* md4c: an inline span ends. */
static int tex_leave_span(MD_SPANTYPE type, void *detail, void *ud)
{
	struct mdl *m = ud;
	(void)detail;
	if (type == MD_SPAN_IMG) {
		m->img_depth--;
		return 0;
	}
	if (m->img_depth)
		return 0;
	switch (type) {
	case MD_SPAN_EM:
	case MD_SPAN_STRONG:
	case MD_SPAN_CODE:
	case MD_SPAN_A:
		strbuf_addch(m->out, '}');
		break;
	case MD_SPAN_LATEXMATH: strbuf_addstr(m->out, "\\)"); break;
	case MD_SPAN_LATEXMATH_DISPLAY: strbuf_addstr(m->out, "\\]"); break;
	default: break;
	}
	return 0;
}

/* md4c: text. */
static int tex_text_event(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *ud)
{
	struct mdl *m = ud;
	if (m->in_code_block || m->in_html_block) {
		strbuf_add(&m->code, text, size);
		return 0;
	}
	if (m->img_depth)
		return 0;
	switch (type) {
	case MD_TEXT_NORMAL: tex_text(m, text, size); break;
	case MD_TEXT_NULLCHAR: break;
	case MD_TEXT_BR: strbuf_addstr(m->out, "\\\\\n"); break;
	case MD_TEXT_SOFTBR: strbuf_addch(m->out, '\n'); break;
	case MD_TEXT_ENTITY: tex_entity(m, text, size); break;
	case MD_TEXT_CODE: tex_escape_tt(m->out, text, size); break;
	case MD_TEXT_HTML: tex_html(m, text, size); break;
	case MD_TEXT_LATEXMATH: strbuf_add(m->out, text, size); break;
	default: latex_wrap_escape_text(m->out, text, size); break;
	}
	return 0;
}

/*
 * Markdown `md` as LaTeX into `out`, with the document's footnotes and raw
 * blocks; `src` is the text as written (from document line `line`), where
 * warnings find their line.
 */
static void md_to_latex(struct mdl_doc *d, struct strbuf *out, const char *md, size_t len, int line,
			const char *src, size_t src_len)
{
	struct mdl m = {.d = d, .out = out, .main = out, .src = src, .src_len = src_len, .line = line};
	strbuf_init(&m.code);
	strbuf_init(&m.table);
	strbuf_init(&m.aligns);
	MD_PARSER parser = {
		.abi_version = 0,
		.flags = MD_DIALECT_GITHUB | MD_FLAG_LATEXMATHSPANS,
		.enter_block = tex_enter_block,
		.leave_block = tex_leave_block,
		.enter_span = tex_enter_span,
		.leave_span = tex_leave_span,
		.text = tex_text_event,
	};
	if (md_parse(md, (MD_SIZE)len, &parser, &m) != 0)
		latex_wrap_escape_text(out, md, len); /* md4c only fails on memory: show the text */
	strbuf_free(&m.code);
	strbuf_free(&m.table);
	strbuf_free(&m.aligns);
	free(m.code_lang);
}

/* ---- raw LaTeX blocks ---- */

/* True when line s (n bytes) opens a code fence (``` or ~~~, 3+, at most 3 spaces in). */
static bool is_fence(const char *s, size_t n, char *fc)
{
	size_t k = 0;
	while (k < n && k < 3 && s[k] == ' ')
		k++;
	if (k + 3 > n || (s[k] != '`' && s[k] != '~') || s[k + 1] != s[k] || s[k + 2] != s[k])
		return false;
	*fc = s[k];
	return true;
}

/* The environment name of a line starting "\begin{NAME}" (up to 3 spaces in), into `name`. */
static bool begins_env(const char *s, size_t n, struct strbuf *name)
{
	size_t k = 0;
	while (k < n && k < 3 && s[k] == ' ')
		k++;
	if (n - k < 8 || strncmp(s + k, "\\begin{", 7))
		return false;
	const char *e = memchr(s + k + 7, '}', n - k - 7);
	if (!e || e == s + k + 7)
		return false;
	strbuf_reset(name);
	strbuf_add(name, s + k + 7, (size_t)(e - s - k - 7));
	return true;
}

/*
 * pandoc's raw LaTeX blocks: a line starting \begin{NAME} through the line
 * holding the matching \end{NAME} (outside code fences) is taken out of the
 * Markdown, which would read its & \\ _ as text, and kept as written; a
 * <weft-raw n=K> line stands in its place (not inside $$ display math, where
 * environments are the math's). Appends the rest to `out`.
 */
static void extract_raw_blocks(struct mdl_doc *d, const char *md, size_t len, struct strbuf *out)
{
	struct strbuf name, open, close;
	strbuf_init(&name);
	strbuf_init(&open);
	strbuf_init(&close);
	char fence = 0, fc;
	bool in_display = false;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(md + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - md) : len, next = nl ? end + 1 : len;
		if (fence || is_fence(md + pos, end - pos, &fc)) {
			if (!fence)
				fence = fc;
			else if (is_fence(md + pos, end - pos, &fc) && fc == fence)
				fence = 0;
			strbuf_add(out, md + pos, next - pos);
			pos = next;
			continue;
		}
		size_t stop = 0, lead = 0;
		while (lead < 3 && pos + lead < end && md[pos + lead] == ' ')
			lead++;
		const char *mclose = NULL;
		if (!in_display && end - pos >= lead + 2 && !strncmp(md + pos + lead, "$$", 2) &&
		    !memmem(md + pos + lead + 2, end - pos - lead - 2, "$$", 2))
			mclose = memmem(md + end, len - end, "$$", 2);
		if (mclose) {
			/* display math over several lines: kept whole, so that no line of it reads as
			 * Markdown (a "=" line under it would make a heading) */
			struct strbuf mathraw;
			strbuf_init(&mathraw);
			strbuf_addstr(&mathraw, "\\[");
			strbuf_add(&mathraw, md + pos + lead + 2, (size_t)(mclose - md - pos - lead - 2));
			strbuf_addstr(&mathraw, "\\]");
			ARRAY_GROW(d->raws, d->nraws + 1, d->raws_alloc);
			d->raws[d->nraws] = strbuf_detach(&mathraw, NULL);
			strbuf_addf(out, "\n<weft-raw n=\"%zu\">\n\n", d->nraws++);
			for (const char *c = md + pos; c < mclose; c++)
				if (*c == '\n')
					strbuf_addch(out, '\n');
			pos = (size_t)(mclose - md) + 2;
			continue;
		}
		if (!in_display && begins_env(md + pos, end - pos, &name)) {
			strbuf_reset(&open);
			strbuf_addf(&open, "\\begin{%s}", name.buf);
			strbuf_reset(&close);
			strbuf_addf(&close, "\\end{%s}", name.buf);
			int depth = 0;
			for (size_t i = pos; i < len && !stop; i++) {
				if (!strncmp(md + i, open.buf, open.len) && i + open.len <= len)
					depth++;
				else if (i + close.len <= len && !strncmp(md + i, close.buf, close.len) && --depth == 0)
					stop = i + close.len;
			}
		}
		if (!stop) {
			for (size_t i = pos; i + 1 < end; i++) /* $$ display math: its environments are math */
				if (md[i] == '$' && md[i + 1] == '$' && (i == pos || md[i - 1] != '\\'))
					in_display = !in_display, i++;
			strbuf_add(out, md + pos, next - pos);
			pos = next;
			continue;
		}
		const char *nl2 = memchr(md + stop, '\n', len - stop);
		size_t after = nl2 ? (size_t)(nl2 - md) + 1 : len;
		ARRAY_GROW(d->raws, d->nraws + 1, d->raws_alloc);
		d->raws[d->nraws] = xstrndup(md + pos, after - pos);
		strbuf_addf(out, "\n<weft-raw n=\"%zu\">\n\n", d->nraws++);
		/* keep the line count: the lines taken out come back as blank ones */
		for (size_t i = pos; i < after; i++)
			if (md[i] == '\n')
				strbuf_addch(out, '\n');
		pos = after;
	}
	strbuf_free(&name);
	strbuf_free(&open);
	strbuf_free(&close);
}

/* ---- chunks ---- */

/* Chunk code, wrapped and highlighted. */
static void mdl_code_block(void *ctx, const struct chunk *ch, const char *code)
{
	struct mdl_doc *d = ctx;
	latex_wrap_code(d->out, d->opts, code, ch->lang && *ch->lang ? ch->lang : "python");
}

/* Text output (or a traceback), wrapped. */
static void mdl_verbatim(void *ctx, const struct chunk *ch, const char *text, size_t len, bool error)
{
	struct mdl_doc *d = ctx;
	latex_wrap_output(d->out, text, len, error);
}

/*
 * Raw results: LaTeX passes through, Markdown is converted like prose;
 * another format (html...) cannot be shown and is said so.
 */
static void mdl_raw(void *ctx, const struct chunk *ch, const char *results, const char *text, size_t len)
{
	struct mdl_doc *d = ctx;
	if (!strcmp(results, "tex") || !strcmp(results, "latex")) {
		strbuf_add(d->out, text, len);
		strbuf_addch(d->out, '\n');
	} else if (!strcmp(results, "markdown") || !strcmp(results, "pandoc")) {
		md_to_latex(d, d->out, text, len, ch->code_line, text, len);
	} else if (len) {
		weft_warn(d->doc->path, ch->header_line, "results='%s' output cannot be shown in LaTeX; dropped",
			  results);
	}
}

/* Rich outputs as the LaTeX family shows them (latex.c), else their text/plain. */
static bool mdl_rich_output(void *ctx, const struct chunk *ch, const struct output *o)
{
	struct mdl_doc *d = ctx;
	return latex_show_rich(d->doc, d->res, d->opts, d->out, ch, o, d->err);
}

/* A figure is written to its file and referred to by its path. */
static int mdl_figure_src(void *ctx, const struct chunk *ch, int index, const struct mime_item *img,
			  struct strbuf *src)
{
	struct mdl_doc *d = ctx;
	return figure_write(d->opts, d->doc, ch, index, img, src, d->err);
}

/* \includegraphics width for the chunk's width option: "50%" of the line, a bare number in pixels (96 per inch). */
static void mdl_width(struct strbuf *sb, const char *width)
{
	char *end;
	double v = width && *width ? strtod(width, &end) : 0;
	if (!width || !*width || end == width)
		strbuf_addstr(sb, "\\linewidth");
	else if (!strcmp(end, "%"))
		strbuf_addf(sb, "%g\\linewidth", v / 100.0);
	else if (!*end)
		strbuf_addf(sb, "%gbp", v * 0.75);
	else
		strbuf_addstr(sb, width);
}

/* Figures: in a figure environment with the Markdown caption and \label{fig:NAME} when captioned, else centred. */
static void mdl_figure_group(void *ctx, const struct chunk *ch, const struct strbuf *srcs, size_t n,
			     bool first)
{
	struct mdl_doc *d = ctx;
	const struct chunk_options *o = &ch->opts;
	struct strbuf *out = d->out;
	if (o->caption)
		strbuf_addf(out, "\\begin{figure}[%s]\n\\centering\n", o->f_pos ? o->f_pos : "htbp");
	else
		strbuf_addstr(out, "\\begin{center}\n");
	for (size_t i = 0; i < n; i++) {
		strbuf_addstr(out, "\\includegraphics[width=");
		mdl_width(out, o->width);
		strbuf_addf(out, ",height=0.45\\textheight,keepaspectratio]{%s}\n", srcs[i].buf);
	}
	if (o->caption) {
		struct strbuf cap;
		strbuf_init(&cap);
		md_to_latex(d, &cap, o->caption, strlen(o->caption), ch->header_line, o->caption,
			    strlen(o->caption));
		strbuf_rtrim(&cap);
		strbuf_addstr(out, "\\caption{");
		strbuf_add(out, cap.buf, cap.len);
		strbuf_addstr(out, "}\n");
		if (o->name && first)
			strbuf_addf(out, "\\label{fig:%s}\n", o->name);
		strbuf_addstr(out, "\\end{figure}\n\n");
		strbuf_free(&cap);
	} else {
		strbuf_addstr(out, "\\end{center}\n\n");
	}
}

/* A chunk not run because execution stopped earlier: a note in the text. */
static void mdl_skipped_note(void *ctx, const struct chunk *ch)
{
	struct mdl_doc *d = ctx;
	strbuf_addf(d->out, "\\emph{Not run: execution stopped before chunk %d.}\n\n", ch->number);
}

/* --frozen: the results predate the current code; say so, and why. */
static void mdl_frozen_note(void *ctx, const struct chunk *ch, const struct chunk_outcome *oc)
{
	struct mdl_doc *d = ctx;
	strbuf_addstr(d->out, "\\emph{Frozen: these results are from an earlier version of this chunk");
	if (oc->why) {
		strbuf_addstr(d->out, " (");
		latex_wrap_escape_text(d->out, oc->why, strlen(oc->why));
		strbuf_addch(d->out, ')');
	}
	strbuf_addstr(d->out, ".}\n\n");
}

/* Execution stopped at this chunk: the note, in the error style. */
static void mdl_stop_note(void *ctx, const struct chunk *ch, const char *note, size_t len)
{
	struct mdl_doc *d = ctx;
	latex_wrap_output(d->out, note, len, true);
}

static const struct chunk_walk_ops mdl_walk_ops = {
	.figure_mimes = figures_for_latex,
	.code_block = mdl_code_block,
	.verbatim = mdl_verbatim,
	.raw = mdl_raw,
	.rich_output = mdl_rich_output,
	.figure_src = mdl_figure_src,
	.figure_group = mdl_figure_group,
	.skipped_note = mdl_skipped_note,
	.frozen_note = mdl_frozen_note,
	.stop_note = mdl_stop_note,
};

/* True when chunk `c` shows a captioned figure (numbered for @fig-NAME references). */
static bool mdl_chunk_has_figure(const struct mdl_doc *d, const struct chunk *c)
{
	const struct chunk_outcome *oc = figures_outcome(d->res, c);
	if (!c->opts.caption || !c->opts.include || !c->opts.fig || !oc)
		return false;
	for (size_t k = 0; k < oc->outputs.n; k++)
		if (figure_mime(&oc->outputs.items[k], figures_for_latex, d->opts->figure_format))
			return true;
	return false;
}

/* ---- the document ---- */

/* A text block's Markdown with inline results spliced in (stale values marked for md_to_latex). */
static void mdl_block_markdown(const struct mdl_doc *d, const struct text_block *tb, struct strbuf *sb)
{
	md_prose_splice_inline(sb, tb, d->res, "<weft-stale>");
}

/* See md_latex.h. */
void md_latex_preamble(struct strbuf *out, const char *title, const char *author, const char *date)
{
	strbuf_addstr(out,
		      "% written by weft (md2latex); compiles with lualatex, xelatex or pdflatex\n"
		      "\\documentclass[11pt]{article}\n"
		      "\\usepackage{iftex}\n"
		      "\\ifPDFTeX\n"
		      "  \\usepackage[utf8]{inputenc}\n"
		      "  \\usepackage[T1]{fontenc}\n"
		      "  \\usepackage{lmodern}\n"
		      "  \\usepackage{textcomp}\n"
		      "\\else\n"
		      "  \\usepackage{fontspec}\n"
		      "\\fi\n"
		      "\\usepackage{amsmath,amssymb}\n"
		      "\\usepackage[margin=2.5cm]{geometry}\n"
		      "\\usepackage{graphicx}\n"
		      "\\usepackage{booktabs}\n"
		      "\\usepackage{longtable}\n"
		      "\\usepackage{caption}\n"
		      "\\usepackage{microtype}\n"
		      "\\setlength{\\parindent}{0pt}\n"
		      "\\setlength{\\parskip}{6pt plus 2pt minus 1pt}\n"
		      "\\setcounter{secnumdepth}{-2}\n"
		      "\\makeatletter\n"
		      "\\def\\weftmaxwidth{\\ifdim\\Gin@nat@width>\\linewidth\\linewidth\\else\\Gin@nat@width\\fi}\n"
		      "\\makeatother\n");
	latex_wrap_preamble(out);
	/* hyperref's XeTeX driver needs the pzdr font (texlive-fonts-recommended): without it, plain text links */
	strbuf_addstr(out, "\\ifXeTeX\\IfFileExists{pzdr.tfm}{\\def\\weftlinks{}}{}\\else\\def\\weftlinks{}\\fi\n"
			   "\\ifdefined\\weftlinks\n"
			   "  \\usepackage[hidelinks]{hyperref}\n"
			   "\\else\n"
			   "  \\usepackage{url}\n"
			   "  \\newcommand\\href[2]{#2}\n"
			   "  \\newcommand\\phantomsection{}\n"
			   "\\fi\n");
	const char *fields[] = {"title", title, "author", author, "date", date};
	for (size_t i = 0; i < 6; i += 2) {
		strbuf_addf(out, "\\%s{", fields[i]);
		if (fields[i + 1])
			latex_wrap_escape_text(out, fields[i + 1], strlen(fields[i + 1]));
		strbuf_addstr(out, "}\n");
	}
}

int md_latex_render(const char *format, const struct document *doc, const struct weave_results *res,
		    const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	(void)format;
	struct mdl_doc d = {.doc = doc, .res = res, .opts = opts, .err = err};
	md_prose_init(&d.prose);
	d.prose.markup = &tex_markup;
	char *title = NULL, *author = NULL, *date = NULL;
	html_page_front_matter(doc->front_matter, &title, &author, &date);
	for (size_t i = 0; i < doc->nchunks; i++) {
		const struct chunk *c = document_chunk_const(doc, i);
		if (mdl_chunk_has_figure(&d, c))
			md_prose_add_figure(&d.prose, c->opts.name, c->number);
	}
	/* every block's prose first: a footnote may be referred to before its definition */
	struct strbuf *prepared = xcalloc(doc->nblocks ? doc->nblocks : 1, sizeof(*prepared));
	struct strbuf md, raw;
	strbuf_init(&md);
	strbuf_init(&raw);
	bool first_text = true;
	for (size_t i = 0; i < doc->nblocks; i++) {
		strbuf_init(&prepared[i]);
		const struct block *b = &doc->blocks[i];
		if (b->kind != BLOCK_TEXT)
			continue;
		strbuf_reset(&md);
		mdl_block_markdown(&d, &b->text, &md);
		if (first_text)
			html_page_title_block(&md, &title, &author, &date);
		first_text = false;
		strbuf_reset(&raw);
		extract_raw_blocks(&d, md.buf, md.len, &raw);
		md_prose_prepare(&d.prose, raw.buf, raw.len, b->text.line, &prepared[i]);
	}
	d.note_shown = xcalloc((size_t)d.prose.next_note + 1, sizeof(bool));
	struct strbuf body;
	strbuf_init(&body);
	d.out = &body;
	int rc = 0;
	bool had_error = err && weft_error_isset(err);
	for (size_t i = 0; i < doc->nblocks && rc == 0; i++) {
		const struct block *b = &doc->blocks[i];
		if (b->kind == BLOCK_CHUNK) {
			rc = chunk_walk(&mdl_walk_ops, &d, doc, res, opts, &b->chunk);
			/* a rich output that could not be shown (malformed table data) set err */
			if (rc == 0 && err && !had_error && weft_error_isset(err))
				rc = -1;
			continue;
		}
		strbuf_reset(&md);
		mdl_block_markdown(&d, &b->text, &md);
		md_to_latex(&d, &body, prepared[i].buf, prepared[i].len, b->text.line, md.buf, md.len);
	}
	if (rc == 0) {
		md_latex_preamble(out, title, author, date);
		strbuf_addstr(out, "\n\\begin{document}\n");
		if (title || author || date)
			strbuf_addstr(out, "\\maketitle\n");
		strbuf_addch(out, '\n');
		strbuf_add(out, body.buf, body.len);
		strbuf_rtrim(out);
		strbuf_addstr(out, "\n\n\\end{document}\n");
	}
	for (size_t i = 0; i < doc->nblocks; i++)
		strbuf_free(&prepared[i]);
	free(prepared);
	for (size_t i = 0; i < d.nraws; i++)
		free(d.raws[i]);
	free(d.raws);
	free(d.note_shown);
	md_prose_free(&d.prose);
	strbuf_free(&body);
	strbuf_free(&md);
	strbuf_free(&raw);
	free(title);
	free(author);
	free(date);
	return rc;
}
