/*
 * Tests for the chunk option parser (Pweave's Python-literal syntax and
 * Quarto lines) and for resolution into typed options.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "reader/option_parser.h"
#include "unit.h"

/* Parse `text` (at line 7, column 3 of "t.pmd") into l; returns the rc. */
static int parse(const char *text, struct option_list *l, struct weft_error *err)
{
	option_list_init(l);
	weft_error_clear(err);
	return option_parse(text, "t.pmd", 7, 3, l, err);
}

/* Expect option_parse to fail with exactly `msg` ("file:line:col: ..."). */
static void expect_error(const char *text, const char *msg)
{
	struct option_list l;
	struct weft_error err;
	weft_error_init(&err);
	int rc = parse(text, &l, &err);
	CHECK(rc == -1);
	if (rc == -1)
		CHECK_STR(weft_error_text(&err), msg);
	else
		printf("#   parsed without error: %s\n", text);
	option_list_free(&l);
	weft_error_free(&err);
}

TEST(name_and_basic_values)
{
	struct option_list l;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(parse("fig1, echo=False, f_size=(4,3), dpi = 100", &l, &err) == 0);
	CHECK(l.n == 4);
	CHECK_STR(l.items[0].key, "name");
	CHECK(l.items[0].val.kind == OPTVAL_STRING);
	CHECK_STR(l.items[0].val.s, "fig1");
	CHECK(l.items[0].line == 7 && l.items[0].column == 3);
	CHECK_STR(l.items[1].key, "echo");
	CHECK(l.items[1].val.kind == OPTVAL_BOOL && !l.items[1].val.b);
	CHECK(l.items[1].column == 9);
	CHECK(l.items[2].val.kind == OPTVAL_LIST && l.items[2].val.is_tuple);
	CHECK(l.items[2].val.nitems == 2 && l.items[2].val.items[0].i == 4 &&
	      l.items[2].val.items[1].i == 3);
	CHECK_STR(l.items[2].val.src, "(4,3)");
	CHECK(l.items[3].val.kind == OPTVAL_INT && l.items[3].val.i == 100);
	CHECK_STR(option_list_get(&l, "dpi")->val.src, "100");
	CHECK(option_list_get(&l, "nope") == NULL);
	option_list_free(&l);
	weft_error_free(&err);
}

TEST(bare_name_with_spaces_and_quoted_name)
{
	struct option_list l;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(parse(" not_evaled_plot , fig=True", &l, &err) == 0);
	CHECK_STR(l.items[0].val.s, "not_evaled_plot");
	CHECK(l.items[0].column == 4);
	option_list_free(&l);
	CHECK(parse("'my chunk', echo=TRUE", &l, &err) == 0);
	CHECK_STR(l.items[0].val.s, "my chunk");
	CHECK(l.items[1].val.kind == OPTVAL_BOOL && l.items[1].val.b);
	option_list_free(&l);
	CHECK(parse("", &l, &err) == 0 && l.n == 0);
	CHECK(parse("   ", &l, &err) == 0 && l.n == 0);
	weft_error_free(&err);
}

TEST(strings)
{
	struct option_list l;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(parse("a='single \"q\"', b=\"double 'q'\", c='t\\tn\\n\\x41\\u00e9\\101\\\\', "
		    "d=r'\\d+', e='''tri'ple''', f='con' \"cat\", g='\\q', h=u'uni'",
		    &l, &err) == 0);
	CHECK(l.n == 8);
	CHECK_STR(option_list_get(&l, "a")->val.s, "single \"q\"");
	CHECK_STR(option_list_get(&l, "b")->val.s, "double 'q'");
	CHECK_STR(option_list_get(&l, "c")->val.s, "t\tn\nA\xc3\xa9" "A\\");
	CHECK_STR(option_list_get(&l, "d")->val.s, "\\d+");
	CHECK_STR(option_list_get(&l, "e")->val.s, "tri'ple");
	CHECK_STR(option_list_get(&l, "f")->val.s, "concat");
	CHECK_STR(option_list_get(&l, "f")->val.src, "'con' \"cat\"");
	CHECK_STR(option_list_get(&l, "g")->val.s, "\\q");
	CHECK_STR(option_list_get(&l, "h")->val.s, "uni");
	/* a comma inside a string does not split options */
	option_list_free(&l);
	CHECK(parse("caption='a, b', echo=False", &l, &err) == 0);
	CHECK(l.n == 2);
	CHECK_STR(l.items[0].val.s, "a, b");
	option_list_free(&l);
	weft_error_free(&err);
}

TEST(numbers_and_constants)
{
	struct option_list l;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(parse("a=1, b=-2, c=3.5, d=1e3, e=0x10, f=1_000, g=.5, h=None, i=FALSE, j=0o17, "
		    "k=-0.25",
		    &l, &err) == 0);
	CHECK(option_list_get(&l, "a")->val.kind == OPTVAL_INT && option_list_get(&l, "a")->val.i == 1);
	CHECK(option_list_get(&l, "b")->val.i == -2);
	CHECK(option_list_get(&l, "c")->val.kind == OPTVAL_FLOAT && option_list_get(&l, "c")->val.f == 3.5);
	CHECK(option_list_get(&l, "d")->val.kind == OPTVAL_FLOAT && option_list_get(&l, "d")->val.f == 1000);
	CHECK(option_list_get(&l, "e")->val.i == 16);
	CHECK(option_list_get(&l, "f")->val.i == 1000);
	CHECK(option_list_get(&l, "g")->val.f == 0.5);
	CHECK(option_list_get(&l, "h")->val.kind == OPTVAL_NONE);
	CHECK(option_list_get(&l, "i")->val.kind == OPTVAL_BOOL && !option_list_get(&l, "i")->val.b);
	CHECK(option_list_get(&l, "j")->val.i == 15);
	CHECK(option_list_get(&l, "k")->val.f == -0.25);
	option_list_free(&l);
	weft_error_free(&err);
}

TEST(lists_tuples_nesting)
{
	struct option_list l;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(parse("a=[1, [2, 'x'], (3,)], b=[], c=(), d=(5), e=('p', 'q',), f=[ 'a' , ]", &l,
		    &err) == 0);
	const struct optval *a = &option_list_get(&l, "a")->val;
	CHECK(a->kind == OPTVAL_LIST && !a->is_tuple && a->nitems == 3);
	CHECK(a->items[1].kind == OPTVAL_LIST && a->items[1].nitems == 2);
	CHECK_STR(a->items[1].items[1].s, "x");
	CHECK_STR(a->items[1].src, "[2, 'x']");
	CHECK(a->items[2].is_tuple && a->items[2].nitems == 1 && a->items[2].items[0].i == 3);
	CHECK(option_list_get(&l, "b")->val.kind == OPTVAL_LIST && option_list_get(&l, "b")->val.nitems == 0);
	CHECK(option_list_get(&l, "c")->val.is_tuple && option_list_get(&l, "c")->val.nitems == 0);
	/* (5) is 5 in parentheses, not a tuple */
	CHECK(option_list_get(&l, "d")->val.kind == OPTVAL_INT && option_list_get(&l, "d")->val.i == 5);
	CHECK_STR(option_list_get(&l, "d")->val.src, "(5)");
	CHECK(option_list_get(&l, "e")->val.nitems == 2);
	CHECK(option_list_get(&l, "f")->val.nitems == 1);
	option_list_free(&l);
	weft_error_free(&err);
}

TEST(expressions_kept_as_source)
{
	struct option_list l;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(parse("cache_extra=os.path.getmtime(\"data, 1.csv\"), echo=False, "
		    "x = {'a': (1, 2)}, y=1 + 2, z=[1, n], w='a'.upper(), v=f'{k}', u=b'x'",
		    &l, &err) == 0);
	CHECK(l.n == 8);
	const struct optval *v = &option_list_get(&l, "cache_extra")->val;
	CHECK(v->kind == OPTVAL_EXPR);
	CHECK_STR(v->src, "os.path.getmtime(\"data, 1.csv\")");
	CHECK(option_list_get(&l, "echo")->val.kind == OPTVAL_BOOL);
	CHECK(option_list_get(&l, "x")->val.kind == OPTVAL_EXPR);
	CHECK_STR(option_list_get(&l, "x")->val.src, "{'a': (1, 2)}");
	CHECK(option_list_get(&l, "y")->val.kind == OPTVAL_EXPR);
	CHECK_STR(option_list_get(&l, "y")->val.src, "1 + 2");
	CHECK(option_list_get(&l, "z")->val.kind == OPTVAL_EXPR);
	CHECK_STR(option_list_get(&l, "z")->val.src, "[1, n]");
	CHECK(option_list_get(&l, "w")->val.kind == OPTVAL_EXPR);
	CHECK(option_list_get(&l, "v")->val.kind == OPTVAL_EXPR);
	CHECK(option_list_get(&l, "u")->val.kind == OPTVAL_EXPR);
	CHECK(optval_truthy(&option_list_get(&l, "y")->val));
	option_list_free(&l);
	weft_error_free(&err);
}

TEST(malformed_option_lists)
{
	/* Options start at t.pmd line 7, column 3. */
	expect_error("echo='abc", "t.pmd:7:8: malformed chunk options: unterminated string");
	expect_error("a, f_size=(4, 3", "t.pmd:7:13: malformed chunk options: unclosed '('");
	expect_error("echo=False)", "t.pmd:7:13: malformed chunk options: unmatched ')'");
	expect_error("a, echo=", "t.pmd:7:11: malformed chunk options: missing value for option 'echo'");
	expect_error("a, echo=, x=1",
		     "t.pmd:7:11: malformed chunk options: missing value for option 'echo'");
	expect_error("a, b", "t.pmd:7:6: malformed chunk options: option 'b' has no value "
			     "(only the first option may be a bare chunk name)");
	expect_error("a, echo False", "t.pmd:7:11: malformed chunk options: expected '=' after "
				      "option name 'echo'");
	expect_error("echo=True, echo=False",
		     "t.pmd:7:14: malformed chunk options: option 'echo' given twice");
	expect_error("a, 3=4", "t.pmd:7:6: malformed chunk options: expected an option name, found '3'");
	expect_error("a, , echo=1", "t.pmd:7:6: malformed chunk options: expected an option name, found ','");
	expect_error("x=[1, 2)", "t.pmd:7:10: malformed chunk options: ')' does not match '['");
	expect_error("x=os.f(1, y=2", "t.pmd:7:9: malformed chunk options: unclosed '('");
	expect_error("c='\\x4'", "t.pmd:7:6: malformed chunk options: bad \\x escape in string");
	/* the key is checked before a repeated name */
	expect_error("a, name='b'", "t.pmd:7:6: malformed chunk options: option 'name' given twice");
}

TEST(quarto_lines)
{
	struct option_list l;
	struct weft_error err;
	weft_error_init(&err);
	option_list_init(&l);
	weft_error_init(&err);
	CHECK(option_parse_quarto("echo: false", "q.qmd", 3, 4, &l, &err) == 0);
	CHECK(option_parse_quarto("fig-cap: \"A plot: nice\"", "q.qmd", 4, 4, &l, &err) == 0);
	CHECK(option_parse_quarto("dependson: [load, 'clean data']", "q.qmd", 5, 4, &l, &err) == 0);
	CHECK(option_parse_quarto("eval: no", "q.qmd", 6, 4, &l, &err) == 0);
	CHECK(option_parse_quarto("fig-width: 5.5", "q.qmd", 7, 4, &l, &err) == 0);
	CHECK(option_parse_quarto("cache-rebuild: true", "q.qmd", 8, 4, &l, &err) == 0);
	CHECK(option_parse_quarto("label: fig-one", "q.qmd", 9, 4, &l, &err) == 0);
	CHECK(l.n == 7);
	CHECK_STR(l.items[0].key, "echo");
	CHECK(l.items[0].val.kind == OPTVAL_BOOL && !l.items[0].val.b);
	CHECK(l.items[0].line == 3 && l.items[0].column == 4);
	CHECK_STR(l.items[1].key, "caption");
	CHECK_STR(l.items[1].val.s, "A plot: nice");
	CHECK_STR(l.items[2].key, "dependson");
	CHECK(l.items[2].val.kind == OPTVAL_LIST && l.items[2].val.nitems == 2);
	CHECK_STR(l.items[2].val.items[1].s, "clean data");
	CHECK_STR(l.items[3].key, "evaluate");
	/* YAML 1.2: "no" is a string, which resolution rejects for a boolean */
	CHECK(l.items[3].val.kind == OPTVAL_STRING);
	CHECK_STR(l.items[4].key, "fig_width");
	CHECK(l.items[4].val.kind == OPTVAL_FLOAT && l.items[4].val.f == 5.5);
	CHECK_STR(l.items[5].key, "cache_rebuild");
	CHECK_STR(l.items[6].key, "name");
	CHECK_STR(l.items[6].val.s, "fig-one");

	CHECK(option_parse_quarto("no colon here", "q.qmd", 9, 4, &l, &err) == -1);
	CHECK_STR(weft_error_text(&err),
		  "q.qmd:9:4: malformed chunk option line: expected 'key: value'");
	CHECK(option_parse_quarto("echo: [1, 2", "q.qmd", 10, 4, &l, &err) == -1);
	CHECK_STR(weft_error_text(&err),
		  "q.qmd:10:15: malformed option value: did not find expected ',' or ']'");
	CHECK(option_parse_quarto("fig cap: 1", "q.qmd", 11, 4, &l, &err) == -1);
	CHECK_STR(weft_error_text(&err),
		  "q.qmd:11:7: malformed chunk option line: bad option name 'fig cap'");
	option_list_free(&l);
	weft_error_free(&err);
}

TEST(defaults_are_pweaves)
{
	struct chunk_options o;
	chunk_options_init_defaults(&o);
	CHECK(o.echo && o.evaluate && !o.term && o.include && o.fig && o.complete);
	CHECK_STR(o.results, "verbatim");
	CHECK_STR(o.wrap, "output");
	CHECK_STR(o.f_pos, "htpb");
	CHECK(o.f_size[0] == 6 && o.f_size[1] == 4);
	CHECK(o.dpi == 200);
	CHECK(!o.caption && !o.name && !o.f_env && !o.source && !o.width && !o.cache_extra);
	CHECK(!o.error && !o.cache && !o.cache_rebuild && o.ndependson == 0);
	chunk_options_free(&o);
}

/* Resolve `text` (no document defaults); returns rc, fills o and err. */
static int resolve(const char *text, struct chunk_options *o, struct weft_error *err)
{
	struct option_list l;
	int rc = parse(text, &l, err);
	if (rc == 0)
		rc = chunk_options_resolve(o, NULL, &l, "t.pmd", err);
	else
		chunk_options_init_defaults(o);
	option_list_free(&l);
	return rc;
}

TEST(resolve_types)
{
	struct chunk_options o;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(resolve("plot1, echo=False, evaluate=0, results='hidden', term=True, include=FALSE, "
		      "fig=False, caption='A, b', wrap=False, f_size=(4.5, 3), f_pos='h!', "
		      "f_env='figure*', dpi=150, complete=False, width='50%', error=True, "
		      "cache=True, cache_rebuild=True, dependson=['a', 'b'], "
		      "cache_extra=os.path.getmtime('x')",
		      &o, &err) == 0);
	CHECK_STR(o.name, "plot1");
	CHECK(!o.echo && !o.evaluate && o.term && !o.include && !o.fig && !o.complete);
	CHECK_STR(o.results, "hidden");
	CHECK_STR(o.caption, "A, b");
	CHECK(o.wrap == NULL);
	CHECK(o.f_size[0] == 4.5 && o.f_size[1] == 3);
	CHECK_STR(o.f_pos, "h!");
	CHECK_STR(o.f_env, "figure*");
	CHECK(o.dpi == 150);
	CHECK_STR(o.width, "50%");
	CHECK(o.error && o.cache && o.cache_rebuild);
	CHECK(o.ndependson == 2);
	if (o.ndependson == 2) {
		CHECK_STR(o.dependson[0], "a");
		CHECK_STR(o.dependson[1], "b");
	}
	CHECK_STR(o.cache_extra, "os.path.getmtime('x')");
	chunk_options_free(&o);

	CHECK(resolve("wrap=True, label='lab', dependson='setup', cache_extra=3, caption=False", &o,
		      &err) == 0);
	CHECK_STR(o.wrap, "all"); /* not the default "output": True wraps code too */
	CHECK_STR(o.name, "lab");
	CHECK(o.ndependson == 1);
	CHECK_STR(o.dependson[0], "setup");
	CHECK_STR(o.cache_extra, "3");
	CHECK(o.caption == NULL);
	chunk_options_free(&o);

	/* label wins over the name however they are ordered, as in Pweave */
	CHECK(resolve("first, label='second'", &o, &err) == 0);
	CHECK_STR(o.name, "second");
	chunk_options_free(&o);
	CHECK(resolve("label='lab2', name='nm'", &o, &err) == 0);
	CHECK_STR(o.name, "lab2");
	chunk_options_free(&o);

	CHECK(resolve("wrap='code'", &o, &err) == 0);
	CHECK_STR(o.wrap, "code");
	chunk_options_free(&o);
	weft_error_free(&err);
}

TEST(resolve_wrong_types_are_errors)
{
	struct chunk_options o;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(resolve("a, echo='yes'", &o, &err) == -1);
	CHECK_STR(weft_error_text(&err),
		  "t.pmd:7:6: chunk option 'echo' must be True or False, not 'yes'");
	chunk_options_free(&o);
	CHECK(resolve("f_size=(1, 2, 3)", &o, &err) == -1);
	CHECK_STR(weft_error_text(&err),
		  "t.pmd:7:3: chunk option 'f_size' must be a (width, height) pair of numbers, not (1, 2, 3)");
	chunk_options_free(&o);
	CHECK(resolve("dpi='high'", &o, &err) == -1);
	CHECK_STR(weft_error_text(&err), "t.pmd:7:3: chunk option 'dpi' must be a positive number, not 'high'");
	chunk_options_free(&o);
	CHECK(resolve("dependson=[1]", &o, &err) == -1);
	chunk_options_free(&o);
	CHECK(resolve("results=None", &o, &err) == -1);
	CHECK_STR(weft_error_text(&err), "t.pmd:7:3: chunk option 'results' must be a string, not None");
	chunk_options_free(&o);
	weft_error_free(&err);
}

/* Run resolve with stderr captured into `out`. */
static int resolve_capturing(const char *text, struct strbuf *out)
{
	char path[] = "/tmp/weft-test-opts-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	struct chunk_options o;
	struct weft_error err;
	weft_error_init(&err);
	int rc = resolve(text, &o, &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	strbuf_read_file(out, path);
	unlink(path);
	chunk_options_free(&o);
	weft_error_free(&err);
	return rc;
}

TEST(unknown_options_warn_legacy_ones_do_not)
{
	struct strbuf out;
	strbuf_init(&out);
	CHECK(resolve_capturing("a, colour='red'", &out) == 0);
	CHECK_STR(out.buf, "weft: warning: t.pmd:7: unknown chunk option 'colour' (ignored)\n");
	strbuf_reset(&out);
	CHECK(resolve_capturing("engine='python', f_spines=False, option_string='x', "
				"display_data=True, display_stream=False, main=True",
				&out) == 0);
	CHECK_STR(out.buf, "");
	strbuf_free(&out);
}

TEST(document_defaults_then_chunk)
{
	struct option_list defs, l;
	struct weft_error err;
	weft_error_init(&err);
	struct chunk_options o;
	CHECK(parse("echo=False, dpi=90, cache=True", &defs, &err) == 0);
	CHECK(parse("dpi=300", &l, &err) == 0);
	CHECK(chunk_options_resolve(&o, &defs, &l, "t.pmd", &err) == 0);
	CHECK(!o.echo && o.dpi == 300 && o.cache);
	chunk_options_free(&o);
	/* unknown document defaults are not warned about for every chunk */
	option_list_free(&defs);
	CHECK(parse("colour=1", &defs, &err) == 0);
	char path[] = "/tmp/weft-test-opts-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	CHECK(chunk_options_resolve(&o, &defs, &l, "t.pmd", &err) == 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	struct strbuf out;
	strbuf_init(&out);
	strbuf_read_file(&out, path);
	unlink(path);
	CHECK_STR(out.buf, "");
	strbuf_free(&out);
	chunk_options_free(&o);
	option_list_free(&defs);
	option_list_free(&l);
	weft_error_free(&err);
}

TEST(copy_and_append_are_deep)
{
	struct option_list a, b;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(parse("x, f_size=(1, [2, 'z'])", &a, &err) == 0);
	option_list_init(&b);
	option_list_append(&b, &a);
	option_list_append(&b, NULL);
	option_list_free(&a);
	CHECK(b.n == 2);
	CHECK_STR(b.items[0].val.s, "x");
	CHECK_STR(b.items[1].val.items[1].items[1].s, "z");
	CHECK_STR(b.items[1].val.src, "(1, [2, 'z'])");
	struct optval v;
	optval_copy(&v, &b.items[1].val);
	CHECK(v.nitems == 2 && v.items != b.items[1].val.items);
	CHECK(optval_truthy(&v));
	optval_free(&v);
	option_list_free(&b);
	weft_error_free(&err);
}

TEST(truthiness)
{
	struct optval v = {0};
	v.kind = OPTVAL_NONE;
	CHECK(!optval_truthy(&v));
	v.kind = OPTVAL_INT;
	v.i = 0;
	CHECK(!optval_truthy(&v));
	v.i = 2;
	CHECK(optval_truthy(&v));
	v.kind = OPTVAL_STRING;
	v.s = "";
	CHECK(!optval_truthy(&v));
	v.s = "x";
	CHECK(optval_truthy(&v));
	v.kind = OPTVAL_LIST;
	CHECK(!optval_truthy(&v));
	v.kind = OPTVAL_EXPR;
	CHECK(optval_truthy(&v));
}

/* depends_on_files (issue 8): a path or pattern, or a list of them. */
TEST(depends_on_files)
{
	struct chunk_options o;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(resolve("s, depends_on_files=['a.csv', 'data/*.txt']", &o, &err) == 0);
	CHECK(o.ndepends_on_files == 2);
	if (o.ndepends_on_files == 2) {
		CHECK_STR(o.depends_on_files[0], "a.csv");
		CHECK_STR(o.depends_on_files[1], "data/*.txt");
	}
	chunk_options_free(&o);
	CHECK(resolve("s, depends_on_files='one.csv'", &o, &err) == 0);
	CHECK(o.ndepends_on_files == 1 && !strcmp(o.depends_on_files[0], "one.csv"));
	chunk_options_free(&o);
	CHECK(resolve("s", &o, &err) == 0);
	CHECK(o.ndepends_on_files == 0 && o.depends_on_files == NULL);
	chunk_options_free(&o);
	CHECK(resolve("s, depends_on_files=[1]", &o, &err) == -1);
	CHECK(strstr(weft_error_text(&err), "'depends_on_files' must be a file name or pattern") != NULL);
	chunk_options_free(&o);
	weft_error_free(&err);
}

int main(void)
{
	RUN(name_and_basic_values);
	RUN(bare_name_with_spaces_and_quoted_name);
	RUN(strings);
	RUN(numbers_and_constants);
	RUN(lists_tuples_nesting);
	RUN(expressions_kept_as_source);
	RUN(malformed_option_lists);
	RUN(quarto_lines);
	RUN(defaults_are_pweaves);
	RUN(resolve_types);
	RUN(resolve_wrong_types_are_errors);
	RUN(unknown_options_warn_legacy_ones_do_not);
	RUN(document_defaults_then_chunk);
	RUN(copy_and_append_are_deep);
	RUN(truthiness);
	RUN(depends_on_files);
	return unit_done();
}
