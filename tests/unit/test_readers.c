/*
 * Tests for the readers (markdown, noweb, script, notebook), front matter,
 * inline code, Quarto option lines and source=, on Pweave's own test
 * documents (the compat corpus fetched into build/pweave-tests, see
 * compat_corpus.h; those tests SKIP when it is missing) and on small
 * documents written here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/document.h"
#include "compat_corpus.h"
#include "unit.h"
#include "reader/load.h"

/* Read compat/rel into doc (format guessed unless given); 0 or -1. */
static int read_compat(struct document *doc, const char *rel, const char *format)
{
	char path[1024];
	struct weft_error err;
	snprintf(path, sizeof(path), "%s/%s", compat, rel);
	document_init(doc);
	weft_error_init(&err);
	int rc = document_read(doc, path, format, &err);
	if (rc < 0)
		printf("#   %s\n", weft_error_text(&err));
	weft_error_free(&err);
	return rc;
}

/* Read a document from a string; on failure, err holds the error. */
static int read_str(struct document *doc, const char *name, const char *text,
		    struct weft_error *err)
{
	document_init(doc);
	weft_error_clear(err);
	return document_read_buffer(doc, name, NULL, text, strlen(text), err);
}

/*
 * Read `text` as document `name`, which must fail: the error's text (valid
 * until the next call), or "(read succeeded)" so the caller's CHECK_STR fails.
 */
static const char *read_error(const char *name, const char *text)
{
	static char msg[1024];
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	int rc = read_str(&doc, name, text, &err);
	snprintf(msg, sizeof(msg), "%s", rc < 0 ? weft_error_text(&err) : "(read succeeded)");
	document_free(&doc);
	weft_error_free(&err);
	return msg;
}

/* The text of a text block, segments joined (inline code as <%= %> / <% %>). */
static void block_text(const struct block *b, struct strbuf *sb)
{
	strbuf_reset(sb);
	for (size_t i = 0; i < b->text.nsegs; i++) {
		const struct text_segment *s = &b->text.segs[i];
		if (s->kind == SEG_TEXT)
			strbuf_addstr(sb, s->text);
		else
			strbuf_addf(sb, s->kind == SEG_INLINE_EXPR ? "<%%= %s %%>" : "<%% %s %%>",
				    s->text);
	}
}

/* Every fence form in Pweave's markdown_reader.pmd is a chunk, with its options. */
TEST(markdown_reader_pmd_all_fence_forms)
{
	struct document doc;
	if (read_compat(&doc, "readers/markdown_reader.pmd", NULL) < 0) {
		CHECK(0);
		return;
	}
	CHECK_STR(doc.input_format, "markdown");
	CHECK(doc.nchunks == 8);
	CHECK(doc.nblocks == 17); /* text, chunk, ... text: Pweave's doc chunks included */
	static const int header[] = { 2, 7, 12, 16, 20, 25, 29, 33 };
	for (size_t i = 0; i < doc.nchunks && i < 8; i++) {
		const struct chunk *c = document_chunk_const(&doc, i);
		CHECK(c->index == (int)i);
		CHECK(c->number == (int)i + 1);
		CHECK(c->header_line == header[i]);
		CHECK(c->code_line == header[i] + 1);
		CHECK_STR(c->lang, "python");
	}
	const struct chunk *c = document_chunk_const(&doc, 0);
	CHECK_STR(c->code, "from pylab import *\nx = linspace(0, 2*pi, 1000)\n");
	CHECK(c->opts.echo && c->opts.evaluate);
	CHECK(!document_chunk_const(&doc, 2)->opts.echo);               /* {python, echo=False} */
	CHECK_STR(document_chunk_const(&doc, 3)->code, "print(\"Hello\")\n"); /* {python} */
	CHECK_STR(document_chunk_const(&doc, 4)->opts.wrap, "all");     /* {.python, wrap = True } */
	CHECK(document_chunk_const(&doc, 5)->opts.wrap == NULL);        /* wrap = False */
	CHECK(!document_chunk_const(&doc, 6)->opts.evaluate);
	CHECK_STR(document_chunk_const(&doc, 7)->opts.results, "markdown");
	CHECK(document_chunk_const(&doc, 8) == NULL);
	/* prose between chunks, exactly as Pweave's doc chunk */
	struct strbuf sb;
	strbuf_init(&sb);
	CHECK(doc.blocks[10].kind == BLOCK_TEXT);
	block_text(&doc.blocks[10], &sb);
	CHECK_STR(sb.buf, "Some text in between\n\n");
	CHECK(doc.blocks[10].text.line == 23);
	/* the last doc chunk is empty: kept, with no segments */
	CHECK(doc.blocks[16].kind == BLOCK_TEXT && doc.blocks[16].text.nsegs == 0);
	strbuf_free(&sb);
	document_free(&doc);
}

TEST(markdown_fence_variants)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	const char *text = "intro\n"                        /* 1 */
			   "~~~python\n"                    /* 2 */
			   "a = 1\n"                        /* 3 */
			   "~~~\n"                          /* 4 */
			   "````{python}\n"                 /* 5 */
			   "b = 2\n"                        /* 6 */
			   "  ````  \n"                     /* 7: indented close */
			   "```python, echo=False\n"        /* 8 */
			   "c = 3\n"                        /* 9 */
			   "```\n"                          /* 10 */
			   "```python; name2, fig=False\n"  /* 11 */
			   "d = 4\n"                        /* 12 */
			   "~~~\n"                          /* 13: Pweave does not pair fences */
			   "```{python named, term=True}\n" /* 14 */
			   "\n"                             /* 15 */
			   "e = 5\n"                        /* 16 */
			   "\n"                             /* 17 */
			   "```\n"                          /* 18 */
			   "```r\n"                         /* 19: an R chunk (issue 11) */
			   "x <- 1\n"                       /* 20 */
			   "```\n"                          /* 21 */
			   "```{r}\n"                       /* 22: blank R chunk: dropped */
			   "```\n"                          /* 23 */
			   "```pythonic\n"                  /* 24: not a language word: prose */
			   "```\n"                          /* 25 */
			   " ```python\n"                   /* 26: indented open: prose */
			   "```\n"                          /* 27 */
			   "``python\n"                     /* 28: two backticks: prose */
			   "```python   \n"                 /* 29 */
			   "f = 6\n"                        /* 30 */
			   "```\n";                         /* 31 */
	CHECK(read_str(&doc, "v.pmd", text, &err) == 0);
	CHECK(doc.nchunks == 7);
	const struct chunk *c;
	if ((c = document_chunk_const(&doc, 0))) {
		CHECK_STR(c->code, "a = 1\n");
		CHECK(c->header_line == 2 && c->code_line == 3);
	}
	if ((c = document_chunk_const(&doc, 1)))
		CHECK_STR(c->code, "b = 2\n");
	if ((c = document_chunk_const(&doc, 2))) {
		CHECK(!c->opts.echo);
		CHECK(c->raw.n == 1 && c->raw.items[0].line == 8 && c->raw.items[0].column == 12);
	}
	if ((c = document_chunk_const(&doc, 3))) {
		CHECK_STR(c->opts.name, "name2");
		CHECK(!c->opts.fig);
		CHECK_STR(c->code, "d = 4\n");
	}
	if ((c = document_chunk_const(&doc, 4))) {
		CHECK_STR(c->opts.name, "named");
		CHECK(c->opts.term);
		/* leading blank line kept (Pweave keeps it), trailing ones dropped */
		CHECK_STR(c->code, "\ne = 5\n");
		CHECK(c->code_line == 15);
	}
	if ((c = document_chunk_const(&doc, 5))) {
		CHECK_STR(c->code, "x <- 1\n");
		CHECK_STR(c->lang, "r");
		CHECK(c->lang_explicit && c->number == 6 && c->header_line == 19);
	}
	if ((c = document_chunk_const(&doc, 6))) {
		CHECK_STR(c->code, "f = 6\n");
		CHECK_STR(c->lang, "python");
		/* the blank ```{r} chunk is dropped but counted, as Pweave counts blank chunks */
		CHECK(c->number == 8 && c->header_line == 29);
	}
	struct strbuf sb;
	strbuf_init(&sb);
	for (size_t i = 0; i < doc.nblocks; i++) {
		if (doc.blocks[i].kind == BLOCK_CHUNK && doc.blocks[i].chunk.header_line == 19 &&
		    i + 2 < doc.nblocks) {
			block_text(&doc.blocks[i + 2], &sb);
			CHECK_STR(sb.buf, "```pythonic\n```\n ```python\n```\n``python\n");
			CHECK(doc.blocks[i + 2].text.line == 24);
		}
	}
	strbuf_free(&sb);
	document_free(&doc);
	weft_error_free(&err);
}

TEST(chunk_languages)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	/* noweb: engine="r" names the language; without it the document's default */
	CHECK(read_str(&doc, "l.texw", "<<engine='r'>>=\nx <- 1\n@\n<<>>=\ny = 2\n@\n"
					 "<<>>=\n#| engine: bash\necho hi\n@\n", &err) == 0);
	CHECK(doc.nchunks == 3);
	const struct chunk *c;
	if ((c = document_chunk_const(&doc, 0))) {
		CHECK_STR(c->lang, "r");
		CHECK(c->lang_explicit);
	}
	if ((c = document_chunk_const(&doc, 1))) {
		CHECK_STR(c->lang, "python");
		CHECK(!c->lang_explicit);
	}
	if ((c = document_chunk_const(&doc, 2))) {
		CHECK_STR(c->lang, "bash");
		CHECK_STR(c->code, "echo hi\n");
	}
	document_free(&doc);
	/* markdown: braces take any language and keep the options; bare words only known ones */
	CHECK(read_str(&doc, "l.pmd", "```{julia, echo=False}\nx = 1\n```\n```bash\nls\n```\n"
				      "```text\nplain\n```\n```{.R}\nz\n```\n", &err) == 0);
	CHECK(doc.nchunks == 3);
	if ((c = document_chunk_const(&doc, 0))) {
		CHECK_STR(c->lang, "julia");
		CHECK(!c->opts.echo);
	}
	if ((c = document_chunk_const(&doc, 1)))
		CHECK_STR(c->lang, "bash");
	if ((c = document_chunk_const(&doc, 2)))
		CHECK_STR(c->lang, "R");
	document_free(&doc);
	weft_error_free(&err);
}

TEST(unterminated_chunks_are_errors)
{
	CHECK_STR(read_error("u.pmd", "text\n\n```{python}\nx = 1\n"),
		  "u.pmd:3:1: unterminated code chunk: the fence opened here is never closed");
	CHECK_STR(read_error("u.texw", "text\n<<a>>=\nx = 1\n<<b>>=\n"),
		  "u.texw:2:1: unterminated code chunk: '<<...>>=' has no closing '@' line");
	/* a malformed option list in a header: file:line:column of the document */
	CHECK_STR(read_error("o.texw", "a\n\n<<fig, caption='x>>=\n@\n"),
		  "o.texw:3:16: malformed chunk options: unterminated string");
	CHECK_STR(read_error("o.pmd", "```{python, f_size=(4,3}\n```\n"),
		  "o.pmd:1:20: malformed chunk options: unclosed '('");
}

TEST(noweb_fir_design)
{
	struct document doc;
	if (read_compat(&doc, "weave/tex/FIR_design_verb.texw", NULL) < 0) {
		CHECK(0);
		return;
	}
	CHECK_STR(doc.input_format, "noweb");
	CHECK(doc.nchunks == 4);
	static const int header[] = { 52, 108, 122, 133 };
	for (size_t i = 0; i < doc.nchunks && i < 4; i++) {
		const struct chunk *c = document_chunk_const(&doc, i);
		CHECK(c->header_line == header[i] && c->code_line == header[i] + 1);
		CHECK(c->number == (int)i + 1);
	}
	const struct chunk *c = document_chunk_const(&doc, 3);
	CHECK_STR(c->opts.caption, "Bandpass FIR filter.");
	/* prose keeps LaTeX, including the literal <<>> and @ in text */
	struct strbuf sb;
	strbuf_init(&sb);
	block_text(&doc.blocks[0], &sb);
	CHECK(strstr(sb.buf, "\\texttt{<<>>} and \\texttt{@} is executed") != NULL);
	strbuf_free(&sb);
	document_free(&doc);
}

TEST(noweb_wrap_and_options)
{
	struct document doc;
	if (read_compat(&doc, "weave/texminted/wrap_test.texw", NULL) < 0) {
		CHECK(0);
		return;
	}
	CHECK(doc.nchunks == 3);
	const struct chunk *c = document_chunk_const(&doc, 0);
	CHECK_STR(c->opts.wrap, "all"); /* wrap=True */
	CHECK_STR(c->code, "first_line = 1\nsecond_line = 2\nlast_line = 'last'\n");
	CHECK(document_chunk_const(&doc, 1)->opts.wrap == NULL);
	c = document_chunk_const(&doc, 2);
	CHECK_STR(c->opts.name, "not_evaled_plot");
	CHECK(c->opts.fig && !c->opts.evaluate);
	CHECK_STR(c->opts.caption, "A plot caption");
	CHECK_STR(c->opts.f_pos, "h!");
	CHECK(c->header_line == 27 && c->code_line == 28);
	document_free(&doc);

	/* "@ " with trailing blanks closes; complete=False is read */
	CHECK(read_compat(&doc, "weave/pandoc/ar_yw.mdw", NULL) == 0);
	CHECK(doc.nchunks == 5);
	CHECK(!document_chunk_const(&doc, 0)->opts.complete);
	CHECK(document_chunk_const(&doc, 3)->opts.complete);
	CHECK(document_chunk_const(&doc, 4)->opts.term);
	CHECK(document_chunk_const(&doc, 1)->header_line == 23);
	document_free(&doc);
}

TEST(empty_chunks_dropped_but_counted)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(read_str(&doc, "e.texw", "<<a>>=\n\n  \n@\ntext\n<<b>>=\nx = 1\n@\n", &err) == 0);
	CHECK(doc.nchunks == 1);
	const struct chunk *c = document_chunk_const(&doc, 0);
	CHECK(c && c->index == 0 && c->number == 2);
	CHECK_STR(c->opts.name, "b");
	CHECK(document_find_chunk(&doc, "b") == c);
	CHECK(document_find_chunk(&doc, "a") == NULL);
	/* blocks: doc "", doc "text\n", chunk, doc "" (Pweave's doc chunks) */
	CHECK(doc.nblocks == 4);
	document_free(&doc);
	weft_error_free(&err);
}

TEST(inline_chunks_mdw)
{
	struct document doc;
	if (read_compat(&doc, "weave/pandoc/inline_chunks.mdw", NULL) < 0) {
		CHECK(0);
		return;
	}
	CHECK(doc.ninline == 2);
	CHECK(doc.nchunks == 1);
	const struct text_block *tb = &doc.blocks[0].text;
	CHECK(tb->nsegs == 3);
	if (tb->nsegs == 3) {
		CHECK(tb->segs[0].kind == SEG_TEXT);
		CHECK_STR(tb->segs[0].text, "\n# This example tests inline code chunks  \n\n\n"
					    "Change properties of a matplotlib plot with inline chunk\n\n");
		CHECK(tb->segs[1].kind == SEG_INLINE_CODE);
		CHECK(tb->segs[1].line == 7 && tb->segs[1].column == 1);
		CHECK(tb->segs[1].inline_index == 0);
		CHECK_STR(tb->segs[1].text,
			  "import matplotlib\nmatplotlib.rcParams.update({'figure.figsize' : (6, 4),\n"
			  "                        'savefig.dpi': 100,\n"
			  "                        'font.size' : 10,})\npweave_test = True");
		CHECK_STR(tb->segs[2].text, "\t\n\n\n");
		CHECK(tb->segs[2].line == 13 && tb->segs[2].column == 3);
	}
	const struct text_block *last = &doc.blocks[2].text;
	CHECK(last->nsegs == 3);
	if (last->nsegs == 3) {
		CHECK_STR(last->segs[0].text, "\nNow do some calculation 2+2= ");
		CHECK(last->segs[1].kind == SEG_INLINE_EXPR);
		CHECK_STR(last->segs[1].text, "2+2");
		CHECK(last->segs[1].line == 20 && last->segs[1].column == 30);
		CHECK(last->segs[1].inline_index == 1);
		CHECK_STR(last->segs[2].text, " and continue with text...\n");
	}
	document_free(&doc);
}

TEST(inline_code_edge_cases)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	/* several spans on a line, an empty one, an indented multi-line one, an unclosed one */
	CHECK(read_str(&doc, "i.pmd",
		       "a <%= x %> b <%=y%><%= %>c\n"
		       "<%\n    if x:\n        print(1)\n%> tail <% oops\n",
		       &err) == 0);
	CHECK(doc.ninline == 3);
	const struct text_block *tb = &doc.blocks[0].text;
	CHECK(tb->nsegs == 7);
	if (tb->nsegs == 7) {
		CHECK_STR(tb->segs[0].text, "a ");
		CHECK_STR(tb->segs[1].text, "x");
		CHECK(tb->segs[1].column == 3);
		CHECK_STR(tb->segs[2].text, " b ");
		CHECK_STR(tb->segs[3].text, "y");
		CHECK(tb->segs[3].inline_index == 1 && tb->segs[3].column == 14);
		CHECK_STR(tb->segs[4].text, "c\n");
		CHECK(tb->segs[5].kind == SEG_INLINE_CODE);
		CHECK_STR(tb->segs[5].text, "if x:\n    print(1)");
		CHECK(tb->segs[5].line == 2 && tb->segs[5].inline_index == 2);
		CHECK_STR(tb->segs[6].text, " tail <% oops\n");
	}
	document_free(&doc);
	weft_error_free(&err);
}

/* The script reader follows Pweave: prose, options and chunk boundaries. */
TEST(script_publish_test)
{
	const char *files[] = { "publish/publish_test.txt", "publish/publish_test_cell.txt" };
	for (int f = 0; f < 2; f++) {
		struct document doc;
		if (read_compat(&doc, files[f], "script") < 0) { /* .txt: weave asks for -i */
			CHECK(0);
			return;
		}
		CHECK_STR(doc.input_format, "script");
		CHECK(doc.nchunks == 3);
		CHECK(doc.nblocks == 7);
		if (doc.nblocks != 7) {
			document_free(&doc);
			continue;
		}
		const struct chunk *c = document_chunk_const(&doc, 0);
		CHECK(c->header_line == 0 && c->code_line == 7 && c->number == 1);
		CHECK(strncmp(c->code, "from pylab import *\n", 20) == 0);
		c = document_chunk_const(&doc, 1);
		CHECK(c->header_line == 59 && c->code_line == 60 && c->opts.term && c->number == 2);
		CHECK_STR(c->code, "print(\"I'm publishing a term chunk\")\n");
		c = document_chunk_const(&doc, 2);
		CHECK(c->code_line == 66 && !c->opts.term);
		CHECK_STR(c->code, "a = 12\nb = 10\nprint(a+b)\n");
		struct strbuf sb;
		strbuf_init(&sb);
		block_text(&doc.blocks[0], &sb);
		CHECK_STR(sb.buf, "\n## Functions for frequency, phase, impulse and step response\n\n"
				  "Let's first define functions to plot filter\nproperties.\n\n");
		/* later prose blocks start with Pweave's blank line; the last does not */
		block_text(&doc.blocks[4], &sb);
		CHECK(strncmp(sb.buf, "\nLet's define a highpass", 24) == 0);
		block_text(&doc.blocks[6], &sb);
		CHECK_STR(sb.buf, "$$\n\\sum_{i=1}^n x_i\n$$\n");
		/* the marker and one space are not part of the prose: columns shift */
		CHECK(doc.blocks[6].text.nsegs == 1);
		CHECK(doc.blocks[6].text.segs[0].line == 70);
		CHECK(doc.blocks[6].text.segs[0].column == (f == 0 ? 4 : 5));
		strbuf_free(&sb);
		document_free(&doc);
	}
}

TEST(script_markers_and_inline)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(read_str(&doc, "s.py",
		       "x = 1\n"                        /* 1 */
		       "#' Value <%= x %>.\n"           /* 2 */
		       "# %%+ name='second', echo=False\n" /* 3 */
		       "y = 2\n"                        /* 4 */
		       "#%%+\n"                         /* 5 */
		       "z = 3\n",                       /* 6 */
		       &err) == 0);
	CHECK(doc.nchunks == 3);
	CHECK_STR(document_chunk_const(&doc, 0)->code, "x = 1\n");
	const struct chunk *c = document_chunk_const(&doc, 1);
	CHECK_STR(c->opts.name, "second");
	CHECK(!c->opts.echo && c->header_line == 3 && c->code_line == 4);
	CHECK(c->raw.items[0].column == 7);
	c = document_chunk_const(&doc, 2);
	CHECK(c->opts.echo && c->opts.name == NULL && c->number == 3);
	CHECK(doc.ninline == 1);
	const struct text_block *tb = &doc.blocks[1].text;
	CHECK(tb->nsegs == 3 && tb->segs[1].kind == SEG_INLINE_EXPR);
	CHECK(tb->segs[1].line == 2 && tb->segs[1].column == 10);
	document_free(&doc);
	weft_error_free(&err);
}

TEST(front_matter_defaults)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	const char *text = "---\n"
			   "title: \"Report\"\n"
			   "weft:\n"
			   "  echo: false\n"
			   "  f_size: [5, 3.5]\n"
			   "  cache: true\n"
			   "  dependson: setup\n"
			   "---\n"
			   "Text\n"
			   "```python\n"
			   "x = 1\n"
			   "```\n"
			   "```{python, echo=True, cache=False}\n"
			   "y = 2\n"
			   "```\n";
	CHECK(read_str(&doc, "f.pmd", text, &err) == 0);
	CHECK_STR(doc.front_matter, "title: \"Report\"\nweft:\n  echo: false\n  f_size: [5, 3.5]\n"
				    "  cache: true\n  dependson: setup\n");
	CHECK(doc.front_matter_lines == 8);
	CHECK(doc.doc_cache);
	CHECK(doc.doc_defaults.n == 4);
	CHECK(doc.doc_defaults.items[0].line == 4 && doc.doc_defaults.items[0].column == 3);
	const struct chunk *c = document_chunk_const(&doc, 0);
	CHECK(c && c->header_line == 10 && c->code_line == 11);
	CHECK(!c->opts.echo && c->opts.cache);
	CHECK(c->opts.f_size[0] == 5 && c->opts.f_size[1] == 3.5);
	CHECK(c->opts.ndependson == 1);
	c = document_chunk_const(&doc, 1);
	CHECK(c && c->opts.echo && !c->opts.cache);
	/* the front matter is not prose */
	CHECK(doc.blocks[0].kind == BLOCK_TEXT && doc.blocks[0].text.line == 9);
	CHECK_STR(doc.blocks[0].text.segs[0].text, "Text\n");
	document_free(&doc);

	/* a leading horizontal rule is not front matter; nor is an unclosed block */
	CHECK(read_str(&doc, "h.pmd", "---\n\ntext\n---\n", &err) == 0);
	CHECK(doc.front_matter == NULL && doc.blocks[0].text.line == 1);
	document_free(&doc);
	CHECK(read_str(&doc, "h.pmd", "---\ntitle: x\n", &err) == 0);
	CHECK(doc.front_matter == NULL);
	document_free(&doc);
	/* an empty weft: key sets nothing */
	CHECK(read_str(&doc, "h.pmd", "---\nweft:\n---\ntext\n", &err) == 0);
	CHECK(doc.front_matter_lines == 3 && doc.doc_defaults.n == 0);
	document_free(&doc);
	/* front matter without weft: is kept, and sets nothing */
	CHECK(read_str(&doc, "h.texw", "---\ntitle: x\n...\n<<>>=\n1\n@\n", &err) == 0);
	CHECK_STR(doc.front_matter, "title: x\n");
	CHECK(!doc.doc_cache && doc.doc_defaults.n == 0);
	CHECK(document_chunk_const(&doc, 0)->header_line == 4);
	document_free(&doc);
	weft_error_free(&err);
}

/* An unknown option under weft: is reported once, at its front matter line. */
TEST(front_matter_unknown_key_warned_once)
{
	char path[] = "/tmp/weft-test-fm-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	int rc = read_str(&doc, "w.pmd", "---\nweft:\n  colour: red\n---\n```python\n1\n```\n"
					 "```python\n2\n```\n", &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	CHECK(rc == 0 && doc.nchunks == 2);
	struct strbuf out;
	strbuf_init(&out);
	strbuf_read_file(&out, path);
	unlink(path);
	CHECK_STR(out.buf, "weft: warning: w.pmd:3: unknown chunk option 'colour' (ignored)\n");
	strbuf_free(&out);
	document_free(&doc);
	weft_error_free(&err);
}

TEST(front_matter_errors)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(read_str(&doc, "y.pmd", "---\ntitle: x\nauthor: [a, b\n---\ntext\n", &err) == -1);
	CHECK(err.line == 4);
	CHECK(strncmp(weft_error_text(&err), "y.pmd:4:1: front matter: ", 25) == 0);
	document_free(&doc);
	CHECK_STR(read_error("y.pmd", "---\ntitle: x\nweft: 3\n---\n"),
		  "y.pmd:3:7: front matter: 'weft:' must be a mapping of chunk options");
	CHECK_STR(read_error("y.pmd", "---\nweft:\n  echo: maybe\n---\n```python\n1\n```\n"),
		  "y.pmd:3:3: chunk option 'echo' must be True or False, not maybe");
	CHECK_STR(read_error("y.pmd", "---\n- a\n- b\n---\n"),
		  "y.pmd:2:1: front matter must be a YAML mapping");
	weft_error_free(&err);
}

TEST(quarto_option_lines)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	const char *text = "```{python, echo=True, dpi=50}\n" /* 1 */
			   "#| echo: false\n"                 /* 2 */
			   "#| fig-cap: \"My plot\"\n"         /* 3 */
			   "#|label: quarto-chunk\n"          /* 4 */
			   "x = 1\n"                          /* 5 */
			   "#| not an option any more\n"      /* 6 */
			   "```\n";
	CHECK(read_str(&doc, "q.pmd", text, &err) == 0);
	const struct chunk *c = document_chunk_const(&doc, 0);
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(c->code, "x = 1\n#| not an option any more\n");
		CHECK(c->code_line == 5 && c->header_line == 1);
		CHECK(!c->opts.echo && c->opts.dpi == 50);
		CHECK_STR(c->opts.caption, "My plot");
		CHECK_STR(c->opts.name, "quarto-chunk");
		const struct chunk_option *o = option_list_get(&c->raw, "caption");
		CHECK(o && o->line == 3 && o->column == 4);
	}
	document_free(&doc);
	/* Quarto's output: option; a byte order mark before the first fence */
	CHECK(read_str(&doc, "q.qmd", "\xEF\xBB\xBF```{python}\n#| output: false\n#| fig-width: 3\n"
				      "x\n```\n```{python}\n#| output: asis\ny\n```\n", &err) == 0);
	CHECK(doc.nchunks == 2);
	if (doc.nchunks == 2) {
		CHECK_STR(document_chunk_const(&doc, 0)->opts.results, "hidden");
		CHECK(document_chunk_const(&doc, 0)->opts.f_size[0] == 3);
		CHECK(document_chunk_const(&doc, 0)->opts.f_size[1] == 4);
		CHECK_STR(document_chunk_const(&doc, 1)->opts.results, "markdown");
		CHECK(document_chunk_const(&doc, 1)->code_line == 8);
	}
	document_free(&doc);
	CHECK(read_str(&doc, "q.pmd", "```python\n#| echo: [1\nx\n```\n", &err) == -1);
	CHECK(err.line == 2);
	document_free(&doc);
	weft_error_free(&err);
}

TEST(source_option)
{
	char dir[] = "/tmp/weft-test-src-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256], doc_path[256];
	snprintf(path, sizeof(path), "%s/lib.py", dir);
	FILE *f = fopen(path, "w");
	fputs("def f():\n    return 1\n\n\n", f);
	fclose(f);
	snprintf(doc_path, sizeof(doc_path), "%s/doc.texw", dir);
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(read_str(&doc, doc_path, "<<source='lib.py'>>=\n@\n<<source='lib.py'>>=\nprint(f())\n@\n",
		       &err) == 0);
	CHECK(doc.nchunks == 2);
	CHECK_STR(document_chunk_const(&doc, 0)->code, "def f():\n    return 1\n");
	CHECK_STR(document_chunk_const(&doc, 1)->code, "def f():\n    return 1\nprint(f())\n");
	document_free(&doc);
	CHECK(read_str(&doc, doc_path, "text\n\n<<name, source='missing.py'>>=\n@\n", &err) == -1);
	struct strbuf want;
	strbuf_init(&want);
	strbuf_addf(&want, "%s:3:9: chunk 1: cannot read source file '%s/missing.py': No such file or directory",
		    doc_path, dir);
	CHECK_STR(weft_error_text(&err), want.buf);
	strbuf_free(&want);
	document_free(&doc);
	weft_error_free(&err);
	unlink(path);
	rmdir(dir);
}

TEST(guess_format_by_extension)
{
	CHECK_STR(document_guess_format("a.pmd"), "markdown");
	CHECK_STR(document_guess_format("dir.x/a.md"), "markdown");
	CHECK_STR(document_guess_format("a.Rmd"), "markdown");
	CHECK_STR(document_guess_format("a.mdw"), "noweb");
	CHECK_STR(document_guess_format("a.texw"), "noweb");
	CHECK_STR(document_guess_format("a.Pnw"), "noweb");
	CHECK_STR(document_guess_format("a.rstw"), "noweb");
	CHECK_STR(document_guess_format("a.py"), "script");
	/* Pweave ran these as scripts; weft asks for -i (weave) or reads them as scripts (tangle, convert, publish) */
	CHECK(document_guess_format("publish_test.txt") == NULL);
	CHECK(document_guess_format("noext") == NULL);
	CHECK_STR(document_guess_format("a.ipynb"), "notebook");
	CHECK_STR(document_guess_format("A.IPYNB"), "notebook");
}

TEST(format_argument_overrides_and_unknown_format)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	document_init(&doc);
	const char *text = "<<>>=\nx = 1\n@\n";
	CHECK(document_read_buffer(&doc, "a.txt", "noweb", text, strlen(text), &err) == 0);
	CHECK(doc.nchunks == 1);
	CHECK_STR(doc.input_format, "noweb");
	document_free(&doc);
	CHECK(document_read_buffer(&doc, "a.txt", "rtf", text, strlen(text), &err) == -1);
	CHECK_STR(weft_error_text(&err),
		  "a.txt: unknown input format 'rtf' (markdown, noweb, script, notebook)");
	document_free(&doc);
	CHECK(document_read(&doc, "/nonexistent/x.pmd", NULL, &err) == -1);
	CHECK_STR(weft_error_text(&err), "/nonexistent/x.pmd: cannot read document: No such file or directory");
	document_free(&doc);
	weft_error_free(&err);
}

TEST(crlf_lines)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	CHECK(read_str(&doc, "w.pmd", "a\r\n```python\r\nx = 1\r\n```\r\nb\r\n", &err) == 0);
	CHECK(doc.nchunks == 1);
	CHECK_STR(document_chunk_const(&doc, 0)->code, "x = 1\n");
	document_free(&doc);
	weft_error_free(&err);
}

/* A notebook written by nbformat 5.5 (standard layout: sorted keys, one line per string). */
static const char notebook_v4[] =
		"{\n"
		" \"cells\": [\n"
		"  {\n"
		"   \"cell_type\": \"raw\",\n"
		"   \"metadata\": {},\n"
		"   \"source\": [\n"
		"    \"---\\n\",\n"
		"    \"title: NB\\n\",\n"
		"    \"---\"\n"
		"   ]\n"
		"  },\n"
		"  {\n"
		"   \"cell_type\": \"markdown\",\n"
		"   \"metadata\": {},\n"
		"   \"source\": [\n"
		"    \"# Title\\n\",\n"
		"    \"Value <%= x %>.\"\n"
		"   ]\n"
		"  },\n"
		"  {\n"
		"   \"cell_type\": \"code\",\n"
		"   \"execution_count\": null,\n"
		"   \"metadata\": {\n"
		"    \"weft\": {\n"
		"     \"echo\": false,\n"
		"     \"f_size\": [\n"
		"      4,\n"
		"      3\n"
		"     ],\n"
		"     \"name\": \"first\"\n"
		"    }\n"
		"   },\n"
		"   \"outputs\": [],\n"
		"   \"source\": [\n"
		"    \"x = 1\\n\",\n"
		"    \"print(x)\"\n"
		"   ]\n"
		"  },\n"
		"  {\n"
		"   \"cell_type\": \"code\",\n"
		"   \"execution_count\": null,\n"
		"   \"metadata\": {},\n"
		"   \"outputs\": [],\n"
		"   \"source\": [\n"
		"    \"#| caption: A plot\\n\",\n"
		"    \"y = 2\"\n"
		"   ]\n"
		"  },\n"
		"  {\n"
		"   \"cell_type\": \"code\",\n"
		"   \"execution_count\": null,\n"
		"   \"metadata\": {},\n"
		"   \"outputs\": [],\n"
		"   \"source\": []\n"
		"  },\n"
		"  {\n"
		"   \"cell_type\": \"code\",\n"
		"   \"execution_count\": null,\n"
		"   \"metadata\": {\n"
		"    \"weft\": \"third, evaluate=False\"\n"
		"   },\n"
		"   \"outputs\": [],\n"
		"   \"source\": [\n"
		"    \"z = 3\"\n"
		"   ]\n"
		"  }\n"
		" ],\n"
		" \"metadata\": {\n"
		"  \"weft\": {\n"
		"   \"dpi\": 100\n"
		"  }\n"
		" },\n"
		" \"nbformat\": 4,\n"
		" \"nbformat_minor\": 4\n"
		"}\n";

TEST(notebook_v4)
{
	struct document doc;
	struct weft_error err;
	weft_error_init(&err);
	document_init(&doc);
	CHECK(document_read_buffer(&doc, "t.ipynb", NULL, notebook_v4, strlen(notebook_v4), &err) == 0);
	CHECK_STR(doc.input_format, "notebook");
	CHECK_STR(doc.front_matter, "title: NB\n");
	CHECK(doc.doc_defaults.n == 1);
	CHECK(doc.nchunks == 3);
	CHECK(doc.nblocks == 4);
	CHECK(doc.ninline == 1);
	const struct text_block *tb = &doc.blocks[0].text;
	CHECK(tb->nsegs == 3 && tb->line == 16);
	if (tb->nsegs == 3) {
		CHECK_STR(tb->segs[0].text, "# Title\nValue ");
		CHECK(tb->segs[1].kind == SEG_INLINE_EXPR && tb->segs[1].line == 17);
	}
	const struct chunk *c = document_chunk_const(&doc, 0);
	CHECK_STR(c->code, "x = 1\nprint(x)\n");
	CHECK(c->code_line == 35 && c->number == 1);
	CHECK_STR(c->lang, "python");
	CHECK_STR(c->opts.name, "first");
	CHECK(!c->opts.echo && c->opts.f_size[0] == 4 && c->opts.f_size[1] == 3);
	CHECK(c->opts.dpi == 100); /* notebook metadata default */
	c = document_chunk_const(&doc, 1);
	CHECK_STR(c->code, "y = 2\n");
	CHECK_STR(c->opts.caption, "A plot");
	CHECK(c->code_line == 46);
	/* the empty code cell is dropped but counted, as Pweave counts chunks */
	c = document_chunk_const(&doc, 2);
	CHECK(c->number == 4 && c->code_line == 64);
	CHECK_STR(c->opts.name, "third");
	CHECK(!c->opts.evaluate);
	document_free(&doc);

	const char *bad = "{\n \"cells\": [\n  {\"cell_type\": \"code\", \"source\": 1,}\n ]\n}\n";
	CHECK(document_read_buffer(&doc, "b.ipynb", NULL, bad, strlen(bad), &err) == -1);
	CHECK(strncmp(weft_error_text(&err), "b.ipynb:3:", 10) == 0);
	document_free(&doc);
	/* a YAML error in the front matter cell points into the .ipynb file */
	const char *fm = "{\n"
			 " \"cells\": [\n"
			 "  {\n"
			 "   \"cell_type\": \"raw\",\n"
			 "   \"metadata\": {},\n"
			 "   \"source\": [\n"
			 "    \"---\\n\",\n"
			 "    \"title: ok\\n\",\n"
			 "    \"weft: [1, 2\\n\",\n"
			 "    \"---\"\n"
			 "   ]\n"
			 "  }\n"
			 " ],\n"
			 " \"metadata\": {},\n"
			 " \"nbformat\": 4,\n"
			 " \"nbformat_minor\": 5\n"
			 "}\n";
	CHECK(document_read_buffer(&doc, "f.ipynb", NULL, fm, strlen(fm), &err) == -1);
	CHECK(err.line == 10);
	document_free(&doc);
	const char *rnb = "{\"nbformat\": 4, \"metadata\": {\"kernelspec\": {\"language\": \"R\", "
			  "\"name\": \"ir\"}}, \"cells\": [{\"cell_type\": \"code\", \"source\": \"1 + 1\"}]}";
	CHECK(document_read_buffer(&doc, "r.ipynb", NULL, rnb, strlen(rnb), &err) == 0);
	CHECK(doc.nchunks == 1 && !strcmp(document_chunk_const(&doc, 0)->lang, "R"));
	CHECK_STR(document_chunk_const(&doc, 0)->code, "1 + 1\n");
	document_free(&doc);
	const char *old = "{\"nbformat\": 2, \"cells\": []}";
	CHECK_STR(read_error("o.ipynb", old), "o.ipynb:1: not an nbformat 4 (or 3) notebook");
	const char *badopt = "{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", "
			     "\"metadata\": {\"weft\": {\"echo\": {\"a\": 1}}}, \"source\": \"x\"}]}";
	CHECK_STR(read_error("m.ipynb", badopt),
		  "m.ipynb:1: notebook metadata: option 'echo' must be a scalar or a list");
	weft_error_free(&err);
}

/*
 * Many cells: every chunk's line is the line after its "source" key, found
 * while the notebook is generated here (guards the line index that keeps
 * reading linear in the notebook's size).
 */
TEST(notebook_many_cells_lines)
{
	struct strbuf nb;
	struct document doc;
	struct weft_error err;
	int line = 1, expect[300];
	const int ncells = 300;
	strbuf_init(&nb);
	weft_error_init(&err);
	document_init(&doc);
	strbuf_addstr(&nb, "{\n \"cells\": [\n");
	line += 2;
	for (int i = 0; i < ncells; i++) {
		/* cells of varying length, prose between some of them */
		if (i % 3 == 0) {
			strbuf_addstr(&nb, "  {\"cell_type\": \"markdown\", \"metadata\": {},\n"
					   "   \"source\": \"Text\"},\n");
			line += 2;
		}
		strbuf_addstr(&nb, "  {\n   \"cell_type\": \"code\",\n   \"metadata\": {},\n"
				   "   \"source\": [\n");
		line += 4;
		expect[i] = line;
		for (int k = 0; k <= i % 5; k++, line++)
			strbuf_addf(&nb, "    \"x%d = %d\\n\",\n", i, k);
		strbuf_addf(&nb, "    \"y%d = 0\"\n   ]\n  }%s\n", i, i + 1 < ncells ? "," : "");
		line += 3;
	}
	strbuf_addstr(&nb, " ],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n");
	CHECK(document_read_buffer(&doc, "many.ipynb", NULL, nb.buf, nb.len, &err) == 0);
	CHECK(doc.nchunks == (size_t)ncells);
	int bad = 0;
	for (int i = 0; i < ncells && (size_t)i < doc.nchunks; i++)
		if (document_chunk_const(&doc, (size_t)i)->code_line != expect[i]) {
			if (!bad++)
				fprintf(stderr, "# chunk %d: line %d, expected %d\n", i,
					document_chunk_const(&doc, (size_t)i)->code_line, expect[i]);
		}
	CHECK(bad == 0);
	document_free(&doc);
	weft_error_free(&err);
	strbuf_free(&nb);
}

/* Pweave's own notebook conversion of simple.mdw (nbformat 3) holds the same code. */
TEST(notebook_v3_from_pweave)
{
	struct document nb, mdw;
	if (read_compat(&nb, "convert/simple_REF.ipynb", NULL) < 0 ||
	    read_compat(&mdw, "convert/simple.mdw", NULL) < 0) {
		CHECK(0);
		return;
	}
	CHECK(nb.nchunks == mdw.nchunks && nb.nchunks == 2);
	for (size_t i = 0; i < nb.nchunks && i < mdw.nchunks; i++) {
		/* Pweave's converter put a blank line in front of each cell's code */
		const char *a = document_chunk_const(&nb, i)->code;
		CHECK(a[0] == '\n');
		CHECK_STR(a + 1, document_chunk_const(&mdw, i)->code);
	}
	CHECK(document_chunk_const(&nb, 0)->code_line == 35);
	document_free(&nb);
	document_free(&mdw);
}

int main(void)
{
	RUN_COMPAT(markdown_reader_pmd_all_fence_forms);
	RUN(markdown_fence_variants);
	RUN(chunk_languages);
	RUN(unterminated_chunks_are_errors);
	RUN_COMPAT(noweb_fir_design);
	RUN_COMPAT(noweb_wrap_and_options);
	RUN(empty_chunks_dropped_but_counted);
	RUN_COMPAT(inline_chunks_mdw);
	RUN(inline_code_edge_cases);
	RUN_COMPAT(script_publish_test);
	RUN(script_markers_and_inline);
	RUN(front_matter_defaults);
	RUN(front_matter_unknown_key_warned_once);
	RUN(front_matter_errors);
	RUN(quarto_option_lines);
	RUN(source_option);
	RUN(guess_format_by_extension);
	RUN(format_argument_overrides_and_unknown_format);
	RUN(crlf_lines);
	RUN(notebook_v4);
	RUN(notebook_many_cells_lines);
	RUN_COMPAT(notebook_v3_from_pweave);
	return unit_done();
}
