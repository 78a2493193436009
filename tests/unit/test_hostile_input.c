/* Hostile document input (issue 13). Bounded nesting in the option parsers and YAML:
 * deep input is an error naming file:line:column, never a stack overflow or a
 * quadratic scan; quoted brackets and comments do not count; nesting under the bound
 * still parses. Readers read only the `len` bytes they are given (fuzz finds, kept in
 * tests/fuzz/regressions; these checks bite under ASan: make BUILD=build-san SANITIZE=1). */
#include "unit.h"

#include <stdlib.h>

#include "model/document.h"
#include "reader/option_parser.h"
#include "reader/front_matter.h"
#include "model/yaml_value.h"
#include "util/strbuf.h"
#include "reader/load.h"

/* `n` copies of `open`, then `middle`, then `n` copies of `close` (malloc'd). */
static char *nest(int n, char open, const char *middle, char close)
{
	struct strbuf sb;
	strbuf_init(&sb);
	for (int i = 0; i < n; i++)
		strbuf_addch(&sb, open);
	strbuf_addstr(&sb, middle);
	for (int i = 0; i < n; i++)
		strbuf_addch(&sb, close);
	return strbuf_detach(&sb, NULL);
}

/* option_parse on "x=<nesting>" at line 7, column 3: rc and the error text. */
static int parse_opts(const char *value, struct strbuf *msg)
{
	struct strbuf text;
	strbuf_init(&text);
	strbuf_addf(&text, "x=%s", value);
	struct weft_error err;
	weft_error_init(&err);
	struct option_list l;
	option_list_init(&l);
	int rc = option_parse(text.buf, "d.pmd", 7, 3, &l, &err);
	strbuf_reset(msg);
	if (rc < 0)
		strbuf_addstr(msg, weft_error_text(&err));
	option_list_free(&l);
	weft_error_free(&err);
	strbuf_free(&text);
	return rc;
}

TEST(options_deep_parens_and_brackets_are_errors)
{
	struct strbuf msg;
	strbuf_init(&msg);
	char *p = nest(30000, '(', "", ')'), *b = nest(30000, '[', "1", ']'), *u = nest(30000, '(', "", ' ');
	CHECK(parse_opts(p, &msg) == -1);
	CHECK(strstr(msg.buf, "d.pmd:7:") && strstr(msg.buf, "nested deeper than 200"));
	CHECK(parse_opts(b, &msg) == -1);
	CHECK(strstr(msg.buf, "nested deeper than 200"));
	CHECK(parse_opts(u, &msg) == -1); /* unclosed too */
	CHECK(strstr(msg.buf, "d.pmd:7:"));
	free(p);
	free(b);
	free(u);
	strbuf_free(&msg);
}

TEST(options_nesting_under_bound_parses)
{
	struct strbuf msg;
	strbuf_init(&msg);
	char *ok = nest(199, '[', "1", ']');
	CHECK(parse_opts(ok, &msg) == 0);
	char *over = nest(201, '[', "1", ']');
	CHECK(parse_opts(over, &msg) == -1);
	free(ok);
	free(over);
	strbuf_free(&msg);
}

TEST(yaml_value_deep_lists_are_errors)
{
	struct weft_error err;
	weft_error_init(&err);
	struct optval v;
	char *deep = nest(100000, '[', "", ']');
	CHECK(yaml_value_parse(deep, "d.pmd", 4, 6, &v, &err) == -1);
	CHECK(strstr(weft_error_text(&err), "d.pmd:4:") && strstr(weft_error_text(&err), "deeper than 200"));
	weft_error_free(&err);
	weft_error_init(&err);
	char *ok = nest(150, '[', "1", ']');
	CHECK(yaml_value_parse(ok, "d.pmd", 4, 6, &v, &err) == 0);
	optval_free(&v);
	weft_error_free(&err);
	free(deep);
	free(ok);
}

/* Brackets inside quotes or comments, and across top-level keys, do not add up. */
TEST(yaml_check_ignores_quoted_and_resets_per_key)
{
	struct weft_error err;
	weft_error_init(&err);
	struct strbuf y;
	strbuf_init(&y);
	char *q = nest(300, '[', "", ' ');
	strbuf_addf(&y, "title: '%s'\nnote: \"%s\"\nc: 1 # %s\n", q, q, q);
	for (int i = 0; i < 300; i++)
		strbuf_addf(&y, "k%d: see [1\n", i); /* plain scalars with an unmatched [ */
	CHECK(yaml_nesting_check(y.buf, y.len, "d.pmd", 2, 1, &err) == 0);
	strbuf_reset(&y);
	strbuf_addf(&y, "weft:\n  x: %s\n", q);
	CHECK(yaml_nesting_check(y.buf, y.len, "d.pmd", 2, 1, &err) == -1);
	CHECK(strstr(weft_error_text(&err), "d.pmd:3:") != NULL);
	free(q);
	strbuf_free(&y);
	weft_error_free(&err);
}

/* Whole documents: markdown and noweb chunk headers, a #| line, front matter. */
TEST(documents_with_deep_nesting_are_errors)
{
	char *p = nest(30000, '(', "", ')'), *b = nest(30000, '[', "", ']');
	struct strbuf text;
	strbuf_init(&text);
	const char *fmt[] = { "markdown", "noweb", "markdown", "markdown" };
	for (int i = 0; i < 4; i++) {
		strbuf_reset(&text);
		if (i == 0)
			strbuf_addf(&text, "Text\n\n```{python, x=%s}\nx = 1\n```\n", p);
		else if (i == 1)
			strbuf_addf(&text, "Text\n\n<<x=%s>>=\nx = 1\n@\n", b);
		else if (i == 2)
			strbuf_addf(&text, "Text\n\n```python\n#| x: %s\nx = 1\n```\n", b);
		else
			strbuf_addf(&text, "---\nweft:\n  x: %s\n---\n\nText\n", b);
		struct weft_error err;
		weft_error_init(&err);
		struct document doc;
		document_init(&doc);
		CHECK(document_read_buffer(&doc, "d.pmd", fmt[i], text.buf, text.len, &err) == -1);
		CHECK(strstr(weft_error_text(&err), "nested deeper than 200") != NULL);
		document_free(&doc);
		weft_error_free(&err);
	}
	free(p);
	free(b);
	strbuf_free(&text);
}

/* front_matter_read stays within len: "---\n  " with no NUL after it (fuzz_front_matter). */
TEST(front_matter_reads_only_len_bytes)
{
	static const char *const inputs[] = { "---\n  ", "---\n \t\r", "---\nx: 1\n--", "---\n" };
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t len = strlen(inputs[i]);
		char *exact = malloc(len); /* no terminator: ASan flags any read past it */
		memcpy(exact, inputs[i], len);
		struct weft_error err;
		weft_error_init(&err);
		struct document doc;
		document_init(&doc);
		size_t consumed = 99;
		CHECK(front_matter_read(&doc, exact, len, &consumed, &err) == 0);
		CHECK(consumed == 0);
		document_free(&doc);
		weft_error_free(&err);
		free(exact);
	}
}

int main(void)
{
	RUN(options_deep_parens_and_brackets_are_errors);
	RUN(options_nesting_under_bound_parses);
	RUN(yaml_value_deep_lists_are_errors);
	RUN(yaml_check_ignores_quoted_and_resets_per_key);
	RUN(documents_with_deep_nesting_are_errors);
	RUN(front_matter_reads_only_len_bytes);
	return unit_done();
}
