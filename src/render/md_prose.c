/* md_prose: pandoc's Markdown where md4c differs; see md_prose.h. */
#include "render/md_prose.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/stream_text.h"
#include "render/html.h"
#include "util/error.h"

void md_prose_init(struct md_prose *p)
{
	memset(p, 0, sizeof(*p));
}

void md_prose_free(struct md_prose *p)
{
	for (size_t i = 0; i < p->nnotes; i++) {
		free(p->notes[i].label);
		free(p->notes[i].text);
	}
	free(p->notes);
	for (size_t i = 0; i < p->nfigures; i++)
		free(p->figures[i].name);
	free(p->figures);
	md_prose_init(p);
}

int md_prose_add_figure(struct md_prose *p, const char *name, int chunk)
{
	int n = md_prose_chunk_figure(p, chunk);
	if (n)
		return n;
	ARRAY_GROW(p->figures, p->nfigures + 1, p->figures_alloc);
	p->figures[p->nfigures] = (struct md_figure){name ? xstrdup(name) : NULL, chunk, (int)p->nfigures + 1};
	return p->figures[p->nfigures++].number;
}

int md_prose_figure_number(const struct md_prose *p, const char *name)
{
	for (size_t i = 0; i < p->nfigures; i++)
		if (p->figures[i].name && !strcmp(p->figures[i].name, name))
			return p->figures[i].number;
	return 0;
}

int md_prose_chunk_figure(const struct md_prose *p, int chunk)
{
	for (size_t i = 0; i < p->nfigures; i++)
		if (p->figures[i].chunk == chunk)
			return p->figures[i].number;
	return 0;
}

const struct md_footnote *md_prose_note(const struct md_prose *p, int number)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (p->notes[i].number == number)
			return &p->notes[i];
	return NULL;
}

/* md2html: a numbered superscript link to the note (the first one is where the note links back to). */
static void html_footnote_ref(struct strbuf *out, const struct md_footnote *note, bool first)
{
	strbuf_addstr(out, "<sup class=\"footnote-ref\"><a href=\"#fn-");
	html_escape_str(out, note->label);
	strbuf_addch(out, '"');
	if (first) {
		strbuf_addstr(out, " id=\"fnref-");
		html_escape_str(out, note->label);
		strbuf_addch(out, '"');
	}
	strbuf_addf(out, ">%d</a></sup>", note->number);
}

/* md2html: a link "Figure N" to the figure's id. */
static void html_figure_ref(struct strbuf *out, const char *name, int number)
{
	strbuf_addstr(out, "<a class=\"weft-xref\" href=\"#fig:");
	html_escape_str(out, name);
	strbuf_addf(out, "\">Figure %d</a>", number);
}

/* md2html: <div class=... id=...>, a blank line after it so md4c reads its content as Markdown. */
static void html_div_open(struct strbuf *out, const char *cls, const char *id)
{
	strbuf_addstr(out, "<div");
	if (*cls) {
		strbuf_addstr(out, " class=\"");
		html_escape_str(out, cls);
		strbuf_addch(out, '"');
	}
	if (*id) {
		strbuf_addstr(out, " id=\"");
		html_escape_str(out, id);
		strbuf_addch(out, '"');
	}
	strbuf_addstr(out, ">\n\n");
}

/* md2html: the div's end, in blank lines of its own. */
static void html_div_close(struct strbuf *out)
{
	strbuf_addstr(out, "\n</div>\n\n");
}

/* The markup in use: the context's, its missing members (or all) md2html's. */
static const struct md_prose_markup *markup_of(struct md_prose *p)
{
	static const struct md_prose_markup html = {html_footnote_ref, html_figure_ref, html_div_open,
						    html_div_close};
	if (!p->markup)
		return &html;
	return p->markup;
}

/* The footnote `label` (len bytes), added when new. */
static struct md_footnote *note_for(struct md_prose *p, const char *label, size_t len)
{
	for (size_t i = 0; i < p->nnotes; i++)
		if (strlen(p->notes[i].label) == len && !memcmp(p->notes[i].label, label, len))
			return &p->notes[i];
	ARRAY_GROW(p->notes, p->nnotes + 1, p->notes_alloc);
	struct md_footnote *n = &p->notes[p->nnotes++];
	*n = (struct md_footnote){.label = xstrndup(label, len)};
	return n;
}

/* Length of a footnote label at s ("[^label]" without the brackets' contents' limits), or 0. */
static size_t note_label_len(const char *s, size_t n)
{
	if (n < 4 || s[0] != '[' || s[1] != '^')
		return 0;
	size_t k = 2;
	while (k < n && s[k] != ']' && !isspace((unsigned char)s[k]) && s[k] != '[')
		k++;
	return k < n && s[k] == ']' && k > 2 ? k - 2 : 0;
}

/* Length of the backtick run at s. */
static size_t tick_run(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && s[k] == '`')
		k++;
	return k;
}

/* End (exclusive) of the code span opened by the run of `k` backticks at i, or 0 when unclosed. */
static size_t code_span_end(const char *s, size_t n, size_t i, size_t k)
{
	for (size_t j = i + k; j < n;) {
		if (s[j] != '`') {
			j++;
			continue;
		}
		size_t r = tick_run(s + j, n - j);
		if (r == k)
			return j + r;
		j += r;
	}
	return 0;
}

/* Index of the $ closing inline math opened at i, or 0 (pandoc's rules, see md_prose.h). */
static size_t math_close(const char *s, size_t n, size_t i)
{
	if (i + 1 >= n || isspace((unsigned char)s[i + 1]) || s[i + 1] == '$')
		return 0;
	for (size_t j = i + 1; j < n; j++) {
		if (s[j] == '\\') {
			j++;
			continue;
		}
		if (s[j] == '`' && code_span_end(s, n, j, tick_run(s + j, n - j)))
			return 0; /* a code span inside: code spans win */
		if (s[j] == '$' && isspace((unsigned char)s[j - 1]))
			return 0; /* pandoc: math holds no blank followed by a $ */
		if (s[j] == '$' && !(j + 1 < n && isdigit((unsigned char)s[j + 1])))
			return j;
	}
	return 0;
}

/* Index just past the "$$" closing display math opened at i, or 0. */
static size_t display_close(const char *s, size_t n, size_t i)
{
	for (size_t j = i + 2; j + 1 < n; j++) {
		if (s[j] == '\\') {
			j++;
			continue;
		}
		if (s[j] == '$' && s[j + 1] == '$')
			return j + 2;
	}
	return 0;
}

/* One paragraph's inline text: code spans kept, $ by pandoc's rules, footnote and figure references. */
static void inline_pass(struct md_prose *p, const char *s, size_t n, struct strbuf *out)
{
	size_t i = 0;
	while (i < n) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			strbuf_add(out, s + i, 2);
			i += 2;
			continue;
		}
		if (c == '`') {
			size_t k = tick_run(s + i, n - i);
			size_t end = code_span_end(s, n, i, k);
			size_t upto = end ? end : i + k;
			strbuf_add(out, s + i, upto - i);
			i = upto;
			continue;
		}
		if (c == '$') {
			size_t end = 0;
			if (i + 1 < n && s[i + 1] == '$')
				end = display_close(s, n, i);
			else if ((end = math_close(s, n, i)))
				end++;
			if (end) {
				strbuf_add(out, s + i, end - i);
				i = end;
			} else {
				strbuf_addstr(out, "\\$"); /* opens or closes nothing: a dollar sign */
				i++;
			}
			continue;
		}
		size_t ll = c == '[' ? note_label_len(s + i, n - i) : 0;
		if (ll && !(i + ll + 3 < n && s[i + ll + 3] == ':')) {
			struct md_footnote *note = note_for(p, s + i + 2, ll);
			bool first = !note->number;
			if (first)
				note->number = ++p->next_note;
			markup_of(p)->footnote_ref(out, note, first);
			i += ll + 3;
			continue;
		}
		if (c == '@' && (i == 0 || !isalnum((unsigned char)s[i - 1])) && i + 5 < n &&
		    !strncmp(s + i + 1, "fig-", 4)) {
			size_t k = i + 5;
			while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '-' || s[k] == '_'))
				k++;
			char *name = xstrndup(s + i + 1, k - i - 1);
			int num = md_prose_figure_number(p, name);
			if (num) {
				markup_of(p)->figure_ref(out, name, num);
				i = k;
			}
			free(name);
			if (num)
				continue;
		}
		strbuf_addch(out, c);
		i++;
	}
}

/* Leading spaces of a line (a tab counts 4). */
static size_t indent_of(const char *s, size_t n)
{
	size_t k = 0, col = 0;
	while (k < n && (s[k] == ' ' || s[k] == '\t'))
		col += s[k++] == '\t' ? 4 : 1;
	return col;
}

/* A code fence opener/closer (``` or ~~~, 3+, at most 3 spaces in): its char and run length. */
static bool fence_of(const char *s, size_t n, char *ch, size_t *run)
{
	size_t k = 0;
	while (k < n && k < 3 && s[k] == ' ')
		k++;
	if (k >= n || (s[k] != '`' && s[k] != '~'))
		return false;
	size_t r = 0;
	while (k + r < n && s[k + r] == s[k])
		r++;
	if (r < 3)
		return false;
	*ch = s[k];
	*run = r;
	return true;
}

/* Colons opening a fenced div line (3+, at most 3 spaces in), else 0; *rest is what follows. */
static size_t div_colons(const char *s, size_t n, const char **rest, size_t *rest_len)
{
	size_t k = 0;
	while (k < n && k < 3 && s[k] == ' ')
		k++;
	size_t c = 0;
	while (k + c < n && s[k + c] == ':')
		c++;
	if (c < 3)
		return 0;
	*rest = s + k + c;
	*rest_len = n - k - c;
	while (*rest_len && isspace((unsigned char)**rest))
		(*rest)++, (*rest_len)--;
	while (*rest_len && isspace((unsigned char)(*rest)[*rest_len - 1]))
		(*rest_len)--;
	return c;
}

/* "<div class=... id=...>" from a fenced div's attributes ("{.a .b #id}" or a bare class word). */
static void div_open(struct md_prose *p, const char *a, size_t n, struct strbuf *out)
{
	struct strbuf cls, id;
	strbuf_init(&cls);
	strbuf_init(&id);
	if (n && a[0] == '{') {
		size_t i = 1;
		while (i < n && a[i] != '}') {
			while (i < n && isspace((unsigned char)a[i]))
				i++;
			size_t j = i;
			while (j < n && !isspace((unsigned char)a[j]) && a[j] != '}')
				j++;
			if (j > i + 1 && a[i] == '.') {
				if (cls.len)
					strbuf_addch(&cls, ' ');
				strbuf_add(&cls, a + i + 1, j - i - 1);
			} else if (j > i + 1 && a[i] == '#') {
				strbuf_reset(&id);
				strbuf_add(&id, a + i + 1, j - i - 1);
			}
			i = j;
		}
	} else {
		size_t j = 0;
		while (j < n && !isspace((unsigned char)a[j]))
			j++;
		strbuf_add(&cls, a, j);
	}
	markup_of(p)->div_open(out, cls.buf ? cls.buf : "", id.buf ? id.buf : "");
	strbuf_free(&cls);
	strbuf_free(&id);
}

void md_prose_prepare(struct md_prose *p, const char *md, size_t len, int line, struct strbuf *out)
{
	struct strbuf para;
	strbuf_init(&para);
	char fence = 0;
	size_t fence_run = 0;
	bool prev_blank = true, in_code = false;
	int depth = 0;
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(md + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - md) : len;
		const char *s = md + pos;
		size_t n = end - pos;
		size_t next = nl ? end + 1 : len;
		bool blank = true;
		for (size_t k = 0; k < n && blank; k++)
			blank = isspace((unsigned char)s[k]);
		char fc;
		size_t fr;
		const char *rest;
		size_t rest_len, colons;
		if (fence) {
			if (fence_of(s, n, &fc, &fr) && fc == fence && fr >= fence_run)
				fence = 0;
			strbuf_add(out, s, next - pos);
		} else if (fence_of(s, n, &fc, &fr)) {
			inline_pass(p, para.buf, para.len, out);
			strbuf_reset(&para);
			fence = fc;
			fence_run = fr;
			strbuf_add(out, s, next - pos);
		} else if (!blank && indent_of(s, n) >= 4 && (prev_blank || in_code) && !para.len) {
			in_code = true; /* an indented code block: copied as it is */
			strbuf_add(out, s, next - pos);
		} else if ((colons = div_colons(s, n, &rest, &rest_len))) {
			inline_pass(p, para.buf, para.len, out);
			strbuf_reset(&para);
			if (!rest_len && depth > 0) {
				markup_of(p)->div_close(out);
				depth--;
			} else if (rest_len) {
				div_open(p, rest, rest_len, out);
				depth++;
			} else {
				strbuf_add(out, s, next - pos);
			}
		} else if (indent_of(s, n) < 4 && note_label_len(s + (size_t)indent_of(s, n), n - indent_of(s, n)) &&
			   s[indent_of(s, n) + note_label_len(s + indent_of(s, n), n - indent_of(s, n)) + 3] == ':') {
			/* a footnote definition: it and its indented continuation leave the text */
			inline_pass(p, para.buf, para.len, out);
			strbuf_reset(&para);
			size_t in = indent_of(s, n), ll = note_label_len(s + in, n - in);
			struct md_footnote *note = note_for(p, s + in + 2, ll);
			struct strbuf text;
			strbuf_init(&text);
			size_t body = in + ll + 4;
			while (body < n && s[body] == ' ')
				body++;
			strbuf_add(&text, s + body, n > body ? n - body : 0);
			strbuf_addch(&text, '\n');
			note->def_line = line;
			while (next < len) {
				const char *nl2 = memchr(md + next, '\n', len - next);
				size_t e2 = nl2 ? (size_t)(nl2 - md) : len;
				const char *t = md + next;
				size_t tn = e2 - next;
				size_t ind = indent_of(t, tn);
				bool tblank = ind >= tn;
				if (!tblank && ind < 4)
					break;
				if (tblank) { /* a blank line continues only when an indented line follows */
					size_t after = nl2 ? e2 + 1 : len;
					const char *nl3 = after < len ? memchr(md + after, '\n', len - after) : NULL;
					size_t e3 = nl3 ? (size_t)(nl3 - md) : len;
					if (after >= len || indent_of(md + after, e3 - after) < 4 ||
					    indent_of(md + after, e3 - after) >= e3 - after)
						break;
					strbuf_addch(&text, '\n');
				} else {
					size_t strip = 0, col = 0;
					while (strip < tn && col < 4 && (t[strip] == ' ' || t[strip] == '\t'))
						col += t[strip++] == '\t' ? 4 : 1;
					strbuf_add(&text, t + strip, tn - strip);
					strbuf_addch(&text, '\n');
				}
				line++;
				next = nl2 ? e2 + 1 : len;
			}
			free(note->text);
			note->text = strbuf_detach(&text, NULL);
		} else if (blank) {
			inline_pass(p, para.buf, para.len, out);
			strbuf_reset(&para);
			strbuf_add(out, s, next - pos);
		} else {
			in_code = false;
			strbuf_add(&para, s, next - pos);
		}
		prev_blank = blank;
		if (!blank && !(indent_of(s, n) >= 4))
			in_code = false;
		pos = next;
		line++;
	}
	inline_pass(p, para.buf, para.len, out);
	strbuf_free(&para);
	while (depth-- > 0) /* an unclosed div ends with the block */
		markup_of(p)->div_close(out);
}

void md_prose_footnotes(struct md_prose *p, const char *doc_path,
			void (*to_html)(struct strbuf *out, const char *md, size_t len),
			struct strbuf *out)
{
	if (!p->next_note)
		return;
	strbuf_addstr(out, "<section class=\"footnotes\">\n<hr>\n<ol>\n");
	for (int k = 1; k <= p->next_note; k++) {
		for (size_t i = 0; i < p->nnotes; i++) {
			struct md_footnote *note = &p->notes[i];
			if (note->number != k)
				continue;
			if (!note->text)
				weft_warn(doc_path, 0, "footnote [^%s] is referenced but never defined", note->label);
			strbuf_addstr(out, "<li id=\"fn-");
			html_escape_str(out, note->label);
			strbuf_addstr(out, "\">");
			struct strbuf html, back;
			strbuf_init(&html);
			strbuf_init(&back);
			if (note->text)
				to_html(&html, note->text, strlen(note->text));
			strbuf_addstr(&back, "<a href=\"#fnref-");
			html_escape_str(&back, note->label);
			strbuf_addstr(&back, "\" class=\"footnote-back\">&#8617;</a>");
			/* the way back ends the note's last paragraph, not a line of its own */
			strbuf_rtrim(&html);
			if (html.len >= 4 && !strcmp(html.buf + html.len - 4, "</p>")) {
				strbuf_setlen(&html, html.len - 4);
				strbuf_addf(&html, " %s</p>", back.buf);
			} else {
				strbuf_addstr(&html, back.buf);
			}
			strbuf_add(out, html.buf, html.len);
			strbuf_addstr(out, "</li>\n");
			strbuf_free(&html);
			strbuf_free(&back);
		}
	}
	strbuf_addstr(out, "</ol>\n</section>\n");
}

/* See md_prose.h. */
void md_prose_splice_inline(struct strbuf *sb, const struct text_block *tb,
			    const struct weave_results *res, const char *stale_mark)
{
	for (size_t i = 0; i < tb->nsegs; i++) {
		const struct text_segment *sg = &tb->segs[i];
		if (sg->kind == SEG_TEXT) {
			strbuf_addstr(sb, sg->text);
			continue;
		}
		const struct inline_outcome *io =
			sg->inline_index >= 0 && (size_t)sg->inline_index < res->ninline
				? &res->inl[sg->inline_index]
				: NULL;
		size_t n;
		if (io && io->done && io->status == RUN_OK) {
			const char *t = inline_outcome_shown(io, &n); /* stripped, as Pweave */
			stream_text_clean(sb, t, n); /* no raw control byte reaches the report */
			if (io->stale)
				strbuf_addstr(sb, stale_mark);
		} else if (io && io->done) {
			strbuf_addf(sb, "`[%s]`",
				    io->error_message ? io->error_message : "inline code failed");
		}
	}
}
