/*
 * latex_wrap: long lines of code and output broken at the column with the
 * continuation mark, never clipped; characters Verbatim with commandchars
 * treats specially escaped; Pygments' \PY groups closed and reopened across
 * a break; tabs expanded. And md_prose's LaTeX markup hook (md_prose_markup).
 */
#include <string.h>

#include "render/latex_wrap.h"
#include "render/md_prose.h"
#include "unit.h"

/* The lines of `s` between \begin{ENV} and \end{ENV}, without them. */
static void body_of(const char *s, struct strbuf *out)
{
	const char *b = strchr(s, '\n');
	const char *e = strstr(s, "\\end{");
	strbuf_reset(out);
	if (b && e && e > b)
		strbuf_add(out, b + 1, (size_t)(e - b - 1));
}

TEST(plain_long_line_wraps_at_the_column)
{
	struct strbuf out, body, want;
	strbuf_init(&out);
	strbuf_init(&body);
	strbuf_init(&want);
	char line[201];
	memset(line, 'x', 200);
	line[200] = '\0';
	latex_wrap_output(&out, line, 200, false);
	CHECK(!strncmp(out.buf, "\\begin{weftout}\n", 16));
	body_of(out.buf, &body);
	strbuf_addchars(&want, 'x', LATEX_WRAP_COLUMNS);
	strbuf_addstr(&want, "\n\\weftcont{}");
	strbuf_addchars(&want, 'x', LATEX_WRAP_COLUMNS - 2);
	strbuf_addstr(&want, "\n\\weftcont{}");
	strbuf_addchars(&want, 'x', 200 - LATEX_WRAP_COLUMNS - (LATEX_WRAP_COLUMNS - 2));
	strbuf_addch(&want, '\n');
	CHECK_STR(body.buf, want.buf);
	strbuf_reset(&out);
	latex_wrap_output(&out, "boom", 4, true);
	CHECK(strstr(out.buf, "\\begin{wefterr}") && strstr(out.buf, "\\end{wefterr}"));
	strbuf_free(&out);
	strbuf_free(&body);
	strbuf_free(&want);
}

TEST(breaks_after_a_space_in_the_second_half)
{
	struct strbuf text, out;
	strbuf_init(&text);
	strbuf_init(&out);
	for (int i = 0; i < 30; i++)
		strbuf_addstr(&text, "word ");
	latex_wrap_output(&out, text.buf, text.len, false);
	/* 17 words (85 characters with their spaces) fit before column 88 */
	CHECK(strstr(out.buf, "word \n\\weftcont{}word") != NULL);
	CHECK(strstr(out.buf, "wo\n") == NULL);
	strbuf_free(&text);
	strbuf_free(&out);
}

TEST(special_characters_escaped_utf8_kept_tabs_expanded)
{
	struct strbuf out, body;
	strbuf_init(&out);
	strbuf_init(&body);
	const char *t = "a{b}\\c'd`e 20 \xc2\xb0" "C\n\tx";
	latex_wrap_output(&out, t, strlen(t), false);
	body_of(out.buf, &body);
	CHECK_STR(body.buf, "a\\PYZob{}b\\PYZcb{}\\PYZbs{}c\\PYZsq{}d\\PYZbq{}e 20 \xc2\xb0" "C\n        x\n");
	/* a °C counts one column: 87 of them and one more character fit, the next wraps */
	strbuf_reset(&out);
	struct strbuf deg;
	strbuf_init(&deg);
	for (int i = 0; i < LATEX_WRAP_COLUMNS; i++)
		strbuf_addstr(&deg, "\xc2\xb0");
	strbuf_addstr(&deg, "Z");
	latex_wrap_output(&out, deg.buf, deg.len, false);
	CHECK(strstr(out.buf, "\xc2\xb0\n\\weftcont{}Z\n") != NULL);
	strbuf_free(&deg);
	strbuf_free(&out);
	strbuf_free(&body);
}

/* A stand-in highlighter: Pygments' LaTeX shape, one string token. */
static int fake_highlight(void *ctx, const char *code, const char *lang, const char *style,
			  struct strbuf *out)
{
	(void)ctx;
	(void)lang;
	if (strcmp(style, "latex"))
		return -1;
	strbuf_addstr(out, "\\begin{Verbatim}[commandchars=\\\\\\{\\}]\n\\PY{n}{s} \\PY{o}{=} \\PY{l+s+s2}{\\PYZdq{}");
	strbuf_addstr(out, code);
	strbuf_addstr(out, "\\PYZdq{}}\n\\end{Verbatim}\n");
	return 0;
}

TEST(pygments_groups_reopen_across_a_break)
{
	struct render_options opts = {.highlight = fake_highlight};
	struct strbuf out, want;
	strbuf_init(&out);
	strbuf_init(&want);
	char code[121];
	memset(code, 'a', 120);
	code[120] = '\0';
	latex_wrap_code(&out, &opts, code, "python");
	CHECK(!strncmp(out.buf, "\\begin{weftcode}\n", 17));
	/* "s = " and the quote take 5 columns: 83 a's, then the break closes the group */
	strbuf_addstr(&want, "\\PY{l+s+s2}{\\PYZdq{}");
	strbuf_addchars(&want, 'a', LATEX_WRAP_COLUMNS - 5);
	strbuf_addstr(&want, "}\n\\weftcont{}\\PY{l+s+s2}{");
	strbuf_addchars(&want, 'a', 120 - (LATEX_WRAP_COLUMNS - 5));
	strbuf_addstr(&want, "\\PYZdq{}}\n\\end{weftcode}\n");
	CHECK(strstr(out.buf, want.buf) != NULL);
	if (!strstr(out.buf, want.buf))
		printf("#   got: %s\n", out.buf);
	/* without a highlighter: the same code escaped, still wrapped */
	strbuf_reset(&out);
	struct render_options plain = {0};
	latex_wrap_code(&out, &plain, "x = {1: 2}\tz", NULL);
	CHECK(strstr(out.buf, "x = \\PYZob{}1: 2\\PYZcb{}      z\n") != NULL);
	strbuf_free(&out);
	strbuf_free(&want);
}

TEST(preamble_defines_what_the_blocks_use)
{
	struct strbuf out;
	strbuf_init(&out);
	latex_wrap_preamble(&out);
	const char *needed[] = {"\\usepackage{fancyvrb}", "{weftcode}", "{weftout}", "{wefterr}",
				"\\newcommand\\weftcont", "\\def\\PY#1#2", "\\def\\PYZbs", "\\def\\PYZbq",
				"\\numexpr92*"};
	for (size_t i = 0; i < sizeof(needed) / sizeof(*needed); i++)
		CHECK(strstr(out.buf, needed[i]) != NULL);
	CHECK(strstr(out.buf, "@COLS@") == NULL);
	CHECK(strstr(out.buf, "upquote") == NULL); /* texlive-latex-extra: not a dependency */
	strbuf_free(&out);
}

/* LaTeX-ish markup through the md_prose hook: the rules stay md_prose's. */
static void tag_fn(struct strbuf *out, const struct md_footnote *note, bool first)
{
	strbuf_addf(out, "<fn %d%s>", note->number, first ? " first" : "");
}
static void tag_fig(struct strbuf *out, const char *name, int number)
{
	strbuf_addf(out, "<fig %s %d>", name, number);
}
static void tag_div(struct strbuf *out, const char *cls, const char *id)
{
	strbuf_addf(out, "<div [%s] [%s]>\n", cls, id);
}
static void tag_end(struct strbuf *out)
{
	strbuf_addstr(out, "</div>\n");
}

TEST(md_prose_markup_hook)
{
	static const struct md_prose_markup tags = {tag_fn, tag_fig, tag_div, tag_end};
	struct md_prose p;
	md_prose_init(&p);
	p.markup = &tags;
	md_prose_add_figure(&p, "fig-a", 3);
	struct strbuf out;
	strbuf_init(&out);
	const char *md = "::: {.note #n1}\nSee @fig-a, a[^x], b[^x], $5.\n:::\n\n[^x]: Note.\n";
	md_prose_prepare(&p, md, strlen(md), 1, &out);
	CHECK_STR(out.buf, "<div [note] [n1]>\nSee <fig fig-a 1>, a<fn 1 first>, b<fn 1>, \\$5.\n</div>\n\n");
	CHECK(md_prose_note(&p, 1) && !strcmp(md_prose_note(&p, 1)->text, "Note.\n"));
	CHECK(md_prose_note(&p, 2) == NULL);
	strbuf_free(&out);
	md_prose_free(&p);
}

int main(void)
{
	RUN(plain_long_line_wraps_at_the_column);
	RUN(breaks_after_a_space_in_the_second_half);
	RUN(special_characters_escaped_utf8_kept_tabs_expanded);
	RUN(pygments_groups_reopen_across_a_break);
	RUN(preamble_defines_what_the_blocks_use);
	RUN(md_prose_markup_hook);
	return unit_done();
}
