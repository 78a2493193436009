/*
 * Tests for inline code spans (reader/inline_code.c): the code a span holds
 * is what Pweave runs (text after the opener, leading whitespace stripped,
 * continuation lines as written), plus block indentation removed outside
 * string literals when the code starts on a line of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "model/document.h"
#include "reader/load.h"
#include "unit.h"

/* The code of the only inline span of markdown text `text`, or NULL (malloc'd). */
static char *span_code(const char *text)
{
	struct document doc;
	struct weft_error err;
	document_init(&doc);
	weft_error_init(&err);
	char *code = NULL;
	if (document_read_buffer(&doc, "i.pmd", NULL, text, strlen(text), &err) == 0 && doc.ninline == 1) {
		const struct text_block *tb = &doc.blocks[0].text;
		for (size_t i = 0; i < tb->nsegs; i++)
			if (tb->segs[i].kind != SEG_TEXT)
				code = xstrdup(tb->segs[i].text);
	}
	document_free(&doc);
	weft_error_free(&err);
	return code;
}

/* CHECK that span_code(text) is `want`, printing what it was otherwise. */
static void check_code(const char *text, const char *want)
{
	char *got = span_code(text);
	CHECK(got && !strcmp(got, want));
	if (!got || strcmp(got, want))
		printf("#   got [%s], want [%s]\n", got ? got : "(none)", want);
	free(got);
}

/* Code on the opener's line keeps its continuation lines: a string's spaces and tabs. */
TEST(continuation_lines_as_written)
{
	check_code("A <%= \"\"\"a\n b\n\tc\"\"\" %> B\n", "\"\"\"a\n b\n\tc\"\"\"");
	check_code("<% if x:\n    print(1) %>\n", "if x:\n    print(1)");
	check_code("<%=   f(1,\n      2)   %>\n", "f(1,\n      2)");
}

/* Code on a line of its own: its block indentation goes, except inside strings. */
TEST(block_indentation_outside_strings)
{
	check_code("<%\n    x = 1\n    print(x)\n%>\n", "x = 1\nprint(x)");
	check_code("<%\n    s = \"\"\"k\n  m\"\"\"\n    print(s)\n%>\n", "s = \"\"\"k\n  m\"\"\"\nprint(s)");
	check_code("<%\n    s = '''x\n    y'''\n    t = 2\n%>\n", "s = '''x\n    y'''\nt = 2");
	/* a quote in a comment, an escaped quote, a backslash-continued short string */
	check_code("<%\n    # it's\n    x = 1\n%>\n", "# it's\nx = 1");
	check_code("<%\n    s = 'a\\'b'\n    t = 1\n%>\n", "s = 'a\\'b'\nt = 1");
	check_code("<%\n    s = 'a\\\n    b'\n    t = 1\n%>\n", "s = 'a\\\n    b'\nt = 1");
	/* a line indented less than the block stays as it is (Python says what is wrong) */
	check_code("<%\n    x = 1\n  y = 2\n%>\n", "x = 1\n  y = 2");
}

int main(void)
{
	RUN(continuation_lines_as_written);
	RUN(block_indentation_outside_strings);
	return unit_done();
}
