/*
 * test_md_prose: pandoc's Markdown where md4c reads otherwise (md_prose.h),
 * checked on the Markdown handed to md4c: which $ stay math, code left alone,
 * fenced divs, footnotes, figure references.
 */
#include "unit.h"

#include <stdlib.h>

#include "render/md_prose.h"

/* md_prose_prepare of `md` with a fresh context (figure "fig-a" numbered 1). */
static char *prep(const char *md)
{
	struct md_prose p;
	md_prose_init(&p);
	md_prose_add_figure(&p, "fig-a", 3);
	struct strbuf out;
	strbuf_init(&out);
	md_prose_prepare(&p, md, strlen(md), 1, &out);
	md_prose_free(&p);
	return strbuf_detach(&out, NULL);
}

#define CHECK_PREP(md, want) do { char *got_ = prep(md); CHECK_STR(got_, want); free(got_); } while (0)

TEST(dollars_by_pandocs_rules)
{
	CHECK_PREP("It costs $5 and $10.\n", "It costs \\$5 and \\$10.\n");
	CHECK_PREP("a $x$ b\n", "a $x$ b\n");
	CHECK_PREP("$x$5 and $ y$\n", "\\$x\\$5 and \\$ y\\$\n");
	CHECK_PREP("$3 and $7, while $e = 0$ ok\n", "\\$3 and \\$7, while $e = 0$ ok\n");
	CHECK_PREP("$$a + b$$ and $$open\n", "$$a + b$$ and \\$\\$open\n");
	CHECK_PREP("escaped \\$5 stays\n", "escaped \\$5 stays\n");
	/* math does not run across a paragraph break */
	CHECK_PREP("$a\n\nb$\n", "\\$a\n\nb\\$\n");
}

TEST(code_wins_over_dollars)
{
	CHECK_PREP("use `$HOME` and pay $5\n", "use `$HOME` and pay \\$5\n");
	CHECK_PREP("``a $x` b`` $y$\n", "``a $x` b`` $y$\n");
	CHECK_PREP("```\nprice = $5\n```\n", "```\nprice = $5\n```\n");
	CHECK_PREP("text\n\n    $indented code\n", "text\n\n    $indented code\n");
}

TEST(fenced_divs)
{
	CHECK_PREP("::: {.note #n1}\nhi\n:::\n", "<div class=\"note\" id=\"n1\">\n\nhi\n\n</div>\n\n");
	CHECK_PREP("::: warning\nx\n:::\n", "<div class=\"warning\">\n\nx\n\n</div>\n\n");
	CHECK_PREP("::: a\n::: b\nx\n:::\n:::\n",
		   "<div class=\"a\">\n\n<div class=\"b\">\n\nx\n\n</div>\n\n\n</div>\n\n");
	/* a closing fence with no open div is text */
	CHECK_PREP(":::\n", ":::\n");
}

TEST(footnotes)
{
	struct md_prose p;
	md_prose_init(&p);
	struct strbuf out, notes;
	strbuf_init(&out);
	strbuf_init(&notes);
	const char *md = "A[^x] and B[^y] and A again[^x].\n\n[^x]: First.\n\n    More of it.\n[^y]: Second.\n";
	md_prose_prepare(&p, md, strlen(md), 1, &out);
	CHECK(strstr(out.buf, "<a href=\"#fn-x\" id=\"fnref-x\">1</a>") != NULL);
	CHECK(strstr(out.buf, "<a href=\"#fn-y\" id=\"fnref-y\">2</a>") != NULL);
	CHECK(strstr(out.buf, "<a href=\"#fn-x\">1</a>") != NULL); /* a second reference: no second id */
	CHECK(strstr(out.buf, "First") == NULL && strstr(out.buf, "Second") == NULL);
	CHECK(p.nnotes == 2 && p.notes[0].text && !strcmp(p.notes[0].text, "First.\n\nMore of it.\n"));
	strbuf_free(&out);
	strbuf_free(&notes);
	md_prose_free(&p);
}

TEST(figure_references)
{
	CHECK_PREP("See @fig-a.\n", "See <a class=\"weft-xref\" href=\"#fig:fig-a\">Figure 1</a>.\n");
	CHECK_PREP("mail me@fig-a.org, or @fig-zzz\n", "mail me@fig-a.org, or @fig-zzz\n");
}

int main(void)
{
	RUN(dollars_by_pandocs_rules);
	RUN(code_wins_over_dollars);
	RUN(fenced_divs);
	RUN(footnotes);
	RUN(figure_references);
	return unit_done();
}
