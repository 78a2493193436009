/*
 * test_convert: the source writers behind `weft convert` (convert/convert.h).
 * Documents are read from strings with document_read_buffer, written in
 * another syntax, and the result compared as text or read back.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "model/document.h"
#include "convert/convert.h"
#include "unit.h"
#include "reader/load.h"

/* Read `text` as `path` (format guessed from the name); 0 or -1, message printed. */
static int read_doc(struct document *doc, const char *path, const char *text)
{
	struct weft_error err;
	weft_error_init(&err);
	document_init(doc);
	int rc = document_read_buffer(doc, path, NULL, text, strlen(text), &err);
	if (rc < 0)
		printf("#   read %s: %s\n", path, weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

/* Convert `text` (read as `path`) to `to`; malloc'd result or NULL (message printed). */
static char *convert_text_as(const char *path, const char *text, enum convert_format to)
{
	struct document doc;
	struct weft_error err;
	struct strbuf out;
	weft_error_init(&err);
	strbuf_init(&out);
	char *res = NULL;
	if (read_doc(&doc, path, text) == 0) {
		struct convert_options o = { .source = text, .source_len = strlen(text) };
		if (convert_document(&doc, to, &o, &out, &err) == 0)
			res = strbuf_detach(&out, NULL);
		else
			printf("#   convert %s: %s\n", path, weft_error_text(&err));
	}
	document_free(&doc);
	strbuf_free(&out);
	weft_error_free(&err);
	return res;
}

/* Pweave's layout: prose as read, "<<opts>>=" chunks, parts joined by a newline. */
TEST(script_to_noweb_layout)
{
	const char *src = "#' # Title\n"
			  "#' Some prose.\n"
			  "\n"
			  "x = 1\n"
			  "\n"
			  "#' More.\n"
			  "\n"
			  "#+ term=True\n"
			  "print(x)\n";
	char *out = convert_text_as("doc.py", src, CONVERT_NOWEB);
	CHECK_STR(out, "# Title\n"
		       "Some prose.\n"
		       "\n"
		       "\n"
		       "<<>>=\n"
		       "x = 1\n"
		       "@\n"
		       "\n"
		       "\n"
		       "More.\n"
		       "\n"
		       "\n"
		       "<< term=True>>=\n"
		       "print(x)\n"
		       "@\n");
	free(out);
}

/* Options on a header line are copied as written (noweb keeps the text whole). */
TEST(header_options_verbatim)
{
	const char *src = "Text\n"
			  "<< fig1 ,  caption = 'A b' >>=\n"
			  "plot()\n"
			  "@\n";
	char *md = convert_text_as("doc.texw", src, CONVERT_MARKDOWN);
	char *nw = convert_text_as("doc.texw", src, CONVERT_NOWEB);
	char *py = convert_text_as("doc.texw", src, CONVERT_SCRIPT);
	CHECK(md && strstr(md, "```{python, fig1 ,  caption = 'A b'}\nplot()\n```\n"));
	CHECK(nw && strstr(nw, "<< fig1 ,  caption = 'A b' >>=\nplot()\n@\n"));
	CHECK(py && strstr(py, "#+ fig1 ,  caption = 'A b'\nplot()\n"));
	CHECK_STR(py, "#' Text\n\n#+ fig1 ,  caption = 'A b'\nplot()\n");
	free(md);
	free(nw);
	free(py);
}

/*
 * Options that did not all come from the header are written canonically:
 * the name bare first, Python literals, the last of repeated keys only.
 */
TEST(canonical_options)
{
	const char *src = "```{python, echo=False, s='a\"b\\\\c', t=(1,), n=None, f=0.5, "
			  "e=foo(1, 2), big=1e-07, i=-3}\n"
			  "#| label: fig-one\n"
			  "#| echo: true\n"
			  "#| fig-cap: \"Caption, with comma\"\n"
			  "#| f_size: [4, 3]\n"
			  "x = 1\n"
			  "```\n";
	char *nw = convert_text_as("doc.pmd", src, CONVERT_NOWEB);
	/* "\n" first: the empty prose before the fence is a part, as in pweave-convert */
	CHECK_STR(nw, "\n<<fig-one, s=\"a\\\"b\\\\c\", t=(1,), n=None, f=0.5, e=foo(1, 2), "
		      "big=1e-07, i=-3, echo=True, caption=\"Caption, with comma\", "
		      "f_size=[4, 3]>>=\nx = 1\n@\n\n");
	free(nw);

	/* the canonical text reads back to the same resolved options */
	struct document a, b;
	char *md = convert_text_as("doc.pmd", src, CONVERT_MARKDOWN);
	CHECK(md != NULL);
	if (md && read_doc(&a, "doc.pmd", src) == 0) {
		if (read_doc(&b, "back.pmd", md) == 0) {
			const struct chunk *ca = document_chunk_const(&a, 0);
			const struct chunk *cb = document_chunk_const(&b, 0);
			CHECK(ca && cb);
			if (ca && cb) {
				CHECK_STR(cb->opts.name, "fig-one");
				CHECK(cb->opts.echo == ca->opts.echo && cb->opts.echo);
				CHECK_STR(cb->opts.caption, ca->opts.caption);
				CHECK(cb->opts.f_size[0] == 4 && cb->opts.f_size[1] == 3);
				CHECK_STR(cb->code, ca->code);
				const struct chunk_option *s = option_list_get(&cb->raw, "s");
				CHECK(s && s->val.kind == OPTVAL_STRING && !strcmp(s->val.s, "a\"b\\c"));
				const struct chunk_option *t = option_list_get(&cb->raw, "t");
				CHECK(t && t->val.kind == OPTVAL_LIST && t->val.is_tuple && t->val.nitems == 1);
				const struct chunk_option *e = option_list_get(&cb->raw, "e");
				CHECK(e && e->val.kind == OPTVAL_EXPR && !strcmp(e->val.src, "foo(1, 2)"));
				const struct chunk_option *f = option_list_get(&cb->raw, "big");
				CHECK(f && f->val.kind == OPTVAL_FLOAT && f->val.f == 1e-07);
			}
			document_free(&b);
		}
		document_free(&a);
	}
	free(md);
}

/* The cell sources of a notebook, joined with "\x1e" between cells, "type:" prefixed. */
static char *cells_summary(const char *json)
{
	json_error_t jerr;
	json_t *nb = json_loads(json, 0, &jerr);
	if (!nb)
		return NULL;
	struct strbuf sb;
	strbuf_init(&sb);
	size_t i;
	json_t *cell;
	json_array_foreach(json_object_get(nb, "cells"), i, cell) {
		if (i)
			strbuf_addch(&sb, '\x1e');
		strbuf_addf(&sb, "%s:", json_string_value(json_object_get(cell, "cell_type")));
		size_t k;
		json_t *line;
		json_array_foreach(json_object_get(cell, "source"), k, line)
			strbuf_addstr(&sb, json_string_value(line));
	}
	json_decref(nb);
	return strbuf_detach(&sb, NULL);
}

/* nbformat 4 cells: raw front matter, trimmed prose, "#|" option lines, no outputs. */
TEST(notebook_cells)
{
	const char *src = "---\n"
			  "title: T\n"
			  "---\n"
			  "\n"
			  "Intro <%= x %> here.\n"
			  "\n"
			  "```{python, first, echo=False, f_size=(5, 2), caption=\"A: b\", dpi=100}\n"
			  "x = 1\n"
			  "```\n"
			  "\n"
			  "```python\n"
			  "y = 2\n"
			  "```\n";
	char *nb = convert_text_as("doc.pmd", src, CONVERT_NOTEBOOK);
	CHECK(nb != NULL);
	if (!nb)
		return;
	char *sum = cells_summary(nb);
	CHECK_STR(sum, "raw:---\ntitle: T\n---"
		       "\x1emarkdown:Intro <%= x %> here."
		       "\x1e" "code:#| label: first\n#| echo: false\n#| f_size: [5, 2]\n"
		       "#| fig-cap: \"A: b\"\n#| fig-dpi: 100\nx = 1"
		       "\x1e" "code:y = 2");
	json_t *j = json_loads(nb, 0, NULL);
	CHECK(json_integer_value(json_object_get(j, "nbformat")) == 4);
	json_t *c = json_array_get(json_object_get(j, "cells"), 2);
	CHECK(json_is_null(json_object_get(c, "execution_count")));
	CHECK(json_array_size(json_object_get(c, "outputs")) == 0);
	json_decref(j);
	free(sum);
	free(nb);
}

/* markdown -> notebook -> markdown keeps code, prose, inline code and options. */
TEST(markdown_notebook_round_trip)
{
	const char *src = "# Head\n"
			  "\n"
			  "Value <%= a + 1 %> and\n"
			  "<%\n"
			  "print(1)\n"
			  "print(2)\n"
			  "%>\n"
			  "\n"
			  "```{python, setup, results=\"hidden\", wrap=False, term=True}\n"
			  "a = 1\n"
			  "\n"
			  "def f():\n"
			  "    return a\n"
			  "```\n"
			  "\n"
			  "```{python, cache_extra=open(\"d.csv\").read(), evaluate=False}\n"
			  "b = 2\n"
			  "```\n"
			  "\n"
			  "The end.\n";
	char *md1 = convert_text_as("doc.pmd", src, CONVERT_MARKDOWN);
	char *nb = convert_text_as("doc.pmd", src, CONVERT_NOTEBOOK);
	char *md2 = nb ? convert_text_as("doc.ipynb", nb, CONVERT_MARKDOWN) : NULL;
	CHECK(md1 && md2);
	/* the markdown writer is stable, and the notebook trip lands on the same text */
	CHECK_STR(md1, src);
	CHECK_STR(md2, md1);
	struct document a, b;
	if (md2 && read_doc(&a, "doc.pmd", src) == 0) {
		if (read_doc(&b, "back.pmd", md2) == 0) {
			CHECK(a.nchunks == b.nchunks && a.ninline == b.ninline && a.ninline == 2);
			for (size_t i = 0; i < a.nchunks && i < b.nchunks; i++) {
				const struct chunk *ca = document_chunk_const(&a, i);
				const struct chunk *cb = document_chunk_const(&b, i);
				CHECK_STR(cb->code, ca->code);
				CHECK(ca->opts.term == cb->opts.term && ca->opts.evaluate == cb->opts.evaluate);
				CHECK((ca->opts.wrap == NULL) == (cb->opts.wrap == NULL));
				CHECK_STR(cb->opts.results, ca->opts.results);
				CHECK((ca->opts.cache_extra == NULL) == (cb->opts.cache_extra == NULL));
				if (ca->opts.cache_extra && cb->opts.cache_extra)
					CHECK_STR(cb->opts.cache_extra, ca->opts.cache_extra);
			}
			document_free(&b);
		}
		document_free(&a);
	}
	free(md1);
	free(md2);
	free(nb);
}

/* Notebook metadata defaults (no front matter) become a `weft:` front matter block. */
TEST(notebook_defaults_to_front_matter)
{
	const char *nb = "{\"cells\": [{\"cell_type\": \"code\", \"metadata\": "
			 "{\"weft\": {\"name\": \"c1\", \"fig\": false}}, \"source\": [\"x = 1\"], "
			 "\"outputs\": [], \"execution_count\": null}],"
			 " \"metadata\": {\"weft\": {\"echo\": false}}, \"nbformat\": 4,"
			 " \"nbformat_minor\": 4}";
	char *md = convert_text_as("n.ipynb", nb, CONVERT_MARKDOWN);
	CHECK_STR(md, "---\nweft:\n  echo: false\n---\n```{python, c1, fig=False}\nx = 1\n```\n");
	struct document d;
	if (md && read_doc(&d, "n.pmd", md) == 0) {
		const struct chunk *c = document_chunk_const(&d, 0);
		CHECK(c && !c->opts.echo && !c->opts.fig);
		document_free(&d);
	}
	free(md);
}

/* A code line the target would read as something else is an error at its line. */
TEST(unrepresentable_code)
{
	struct {
		const char *path, *text;
		enum convert_format to;
		int line;
	} cases[] = {
		{ "a.pmd", "Text\n\n```python\nx = 1\n@\n```\n", CONVERT_NOWEB, 5 },
		{ "b.texw", "<<>>=\ns = '''\n```\n'''\n@\n", CONVERT_MARKDOWN, 3 },
		{ "c.pmd", "\n```python\nx = 1\n#' not prose\n```\n", CONVERT_SCRIPT, 4 },
		{ "d.pmd", "```python\n# %% cell\n```\n", CONVERT_SCRIPT, 2 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct document doc;
		struct weft_error err;
		struct strbuf out;
		weft_error_init(&err);
		strbuf_init(&out);
		CHECK(read_doc(&doc, cases[i].path, cases[i].text) == 0);
		struct convert_options o = { .source = cases[i].text,
					     .source_len = strlen(cases[i].text) };
		CHECK(convert_document(&doc, cases[i].to, &o, &out, &err) < 0);
		CHECK(err.file && !strcmp(err.file, cases[i].path));
		CHECK(err.line == cases[i].line);
		if (err.line != cases[i].line)
			printf("#   case %zu: %s\n", i, weft_error_text(&err));
		document_free(&doc);
		strbuf_free(&out);
		weft_error_free(&err);
	}
	/* the same code is fine where the target's reader does not care */
	char *ok = convert_text_as("a.pmd", "```python\nx = 1\n@\n```\n", CONVERT_SCRIPT);
	CHECK(ok && strstr(ok, "x = 1\n@\n"));
	free(ok);
}

/* A source= chunk keeps the option and its own code, not the file's contents. */
TEST(source_option_kept)
{
	char dir[] = "/tmp/weft-convert-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	struct strbuf helper, docpath;
	strbuf_init(&helper);
	strbuf_init(&docpath);
	strbuf_addf(&helper, "%s/helper.py", dir);
	strbuf_addf(&docpath, "%s/doc.pmd", dir);
	FILE *fp = fopen(helper.buf, "w");
	CHECK(fp != NULL);
	if (fp) {
		fputs("def helper():\n    return 42\n\n", fp);
		fclose(fp);
	}
	const char *src = "```{python, source=\"helper.py\"}\nprint(helper())\n```\n";
	struct document doc;
	if (read_doc(&doc, docpath.buf, src) == 0) {
		CHECK(strstr(document_chunk_const(&doc, 0)->code, "return 42") != NULL);
		struct strbuf out;
		struct weft_error err;
		strbuf_init(&out);
		weft_error_init(&err);
		CHECK(convert_document(&doc, CONVERT_NOWEB, NULL, &out, &err) == 0);
		CHECK_STR(out.buf, "\n<<source=\"helper.py\">>=\nprint(helper())\n@\n\n");
		strbuf_reset(&out);
		CHECK(convert_document(&doc, CONVERT_NOTEBOOK, NULL, &out, &err) == 0);
		CHECK(strstr(out.buf, "#| source: helper.py\\n\",\n    \"print(helper())\"") != NULL);
		CHECK(strstr(out.buf, "return 42") == NULL);
		strbuf_free(&out);
		weft_error_free(&err);
		document_free(&doc);
	}
	unlink(helper.buf);
	rmdir(dir);
	strbuf_free(&helper);
	strbuf_free(&docpath);
}

/* Script output: "#'" prose, blank lines around it bare, "#+" before every chunk. */
TEST(script_layout)
{
	const char *src = "Intro line\n"
			  "\n"
			  "second para\n"
			  "\n"
			  "```{python, echo=False}\n"
			  "x = 1\n"
			  "```\n"
			  "```python\n"
			  "y = 2\n"
			  "```\n"
			  "\n"
			  "End.\n";
	char *py = convert_text_as("doc.pmd", src, CONVERT_SCRIPT);
	CHECK_STR(py, "#' Intro line\n"
		      "#'\n"
		      "#' second para\n"
		      "\n"
		      "#+ echo=False\n"
		      "x = 1\n"
		      "\n"
		      "#+\n"
		      "y = 2\n"
		      "\n"
		      "#' End.\n");
	/* and it reads back to the same chunks and prose */
	struct document a, b;
	if (py && read_doc(&a, "doc.pmd", src) == 0) {
		if (read_doc(&b, "doc.py", py) == 0) {
			CHECK(a.nchunks == 2 && b.nchunks == 2);
			for (size_t i = 0; i < 2 && i < b.nchunks; i++)
				CHECK_STR(document_chunk_const(&b, i)->code,
					  document_chunk_const(&a, i)->code);
			CHECK(!document_chunk_const(&b, 0)->opts.echo);
			document_free(&b);
		}
		document_free(&a);
	}
	free(py);
}

/* pweave-convert's output names, and the format table. */
TEST(names)
{
	char *s;
	CHECK_STR(s = convert_default_output("dir/a.txt", "script", CONVERT_NOWEB), "dir/a.Pnw");
	free(s);
	CHECK_STR(s = convert_default_output("a.Pnw", "noweb", CONVERT_NOWEB), "a_converted.Pnw");
	free(s);
	CHECK_STR(s = convert_default_output("x.y.pmd", "markdown", CONVERT_NOTEBOOK), "x.y.ipynb");
	free(s);
	CHECK_STR(s = convert_default_output("d.v/file", "script", CONVERT_SCRIPT),
		  "d.v/file_converted.py");
	free(s);
	CHECK_STR(s = convert_default_output("n.ipynb", "notebook", CONVERT_MARKDOWN), "n.pmd");
	free(s);
	CHECK(convert_format_from_name("notebook") == CONVERT_NOTEBOOK);
	CHECK(convert_format_from_name("html") == -1);
	CHECK_STR(convert_extension(CONVERT_SCRIPT), "py");
	CHECK_STR(convert_format_name(CONVERT_MARKDOWN), "markdown");
}

int main(void)
{
	RUN(script_to_noweb_layout);
	RUN(header_options_verbatim);
	RUN(canonical_options);
	RUN(notebook_cells);
	RUN(markdown_notebook_round_trip);
	RUN(notebook_defaults_to_front_matter);
	RUN(unrepresentable_code);
	RUN(source_option_kept);
	RUN(script_layout);
	RUN(names);
	return unit_done();
}
