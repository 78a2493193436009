/*
 * Tests for tangle: a document's code as Pweave's ptangle writes it.
 * References: publish_test_REF.py from Pweave's test suite, and ptangle's
 * output (Pweave 0.30.3) for markdown_reader.pmd and wrap_test.texw, which
 * has an evaluate=False chunk. When ptangle is installed the test also
 * compares with a live run on the compat documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/document.h"
#include "render/tangle.h"
#include "compat_corpus.h"
#include "unit.h"
#include "reader/load.h"

/* Tangle compat/rel into out; 0 or -1. */
static int tangle_file(const char *path, const char *format, struct strbuf *out)
{
	struct document doc;
	struct weft_error err;
	document_init(&doc);
	weft_error_init(&err);
	int rc = document_read(&doc, path, format, &err);
	if (rc < 0)
		printf("#   %s\n", weft_error_text(&err));
	else
		rc = tangle_document(&doc, out);
	document_free(&doc);
	weft_error_free(&err);
	return rc;
}

static int tangle_compat(const char *rel, struct strbuf *out)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", compat, rel);
	return tangle_file(path, document_guess_format(path) ? NULL : "script", out);
}

TEST(publish_test_reference)
{
	struct strbuf got, want;
	char ref[1024];
	strbuf_init(&got);
	strbuf_init(&want);
	snprintf(ref, sizeof(ref), "%s/publish/publish_test_REF.py", compat);
	CHECK(strbuf_read_file(&want, ref) == 0);
	CHECK(tangle_compat("publish/publish_test.txt", &got) == 0);
	CHECK_STR(got.buf, want.buf);
	/* the "#%%" cell syntax tangles to the same code */
	strbuf_reset(&got);
	CHECK(tangle_compat("publish/publish_test_cell.txt", &got) == 0);
	CHECK_STR(got.buf, want.buf);
	strbuf_free(&got);
	strbuf_free(&want);
}

TEST(ptangle_markdown_and_noweb)
{
	struct strbuf got;
	strbuf_init(&got);
	CHECK(tangle_compat("readers/markdown_reader.pmd", &got) == 0);
	CHECK_STR(got.buf, "\nfrom pylab import *\nx = linspace(0, 2*pi, 1000)\n\nx = list(range(20))\n"
			   "print(x)\n\nprint(x)\n\nprint(\"Hello\")\n\nprint(\"pweave \" * 20)\n\n"
			   "print(\"pweave \" * 20)\n\nprint(x)\n\nprint(\"**Bold stuff**\")\n");
	strbuf_reset(&got);
	/* evaluate=False chunks are tangled too */
	CHECK(tangle_compat("weave/texminted/wrap_test.texw", &got) == 0);
	CHECK_STR(got.buf, "\nfirst_line = 1\nsecond_line = 2\nlast_line = 'last'\n\nfirst_line = 1\n"
			   "second_line = 2\nlast_line = 'last'\n\nplot(arange(10))\n");
	strbuf_free(&got);
}

/* Compare with ptangle itself, run on a copy in a scratch folder. */
TEST(live_ptangle_when_installed)
{
	if (system("command -v ptangle >/dev/null 2>&1") != 0) {
		SKIP("ptangle (Pweave) not installed: no live comparison");
	}
	/* one run: ptangle takes seconds to start */
	const char *docs[] = { "formats/formatters_test.pmd" };
	char dir[] = "/tmp/weft-test-tangle-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		const char *base = strrchr(docs[i], '/') + 1;
		struct strbuf cmd, want, got, py;
		strbuf_init(&cmd);
		strbuf_init(&want);
		strbuf_init(&got);
		strbuf_init(&py);
		strbuf_addf(&cmd, "cp '%s/%s' '%s/' && cd '%s' && ptangle '%s' >/dev/null 2>&1", compat,
			    docs[i], dir, dir, base);
		CHECK(system(cmd.buf) == 0);
		strbuf_addf(&py, "%s/%.*s.py", dir, (int)(strrchr(base, '.') - base), base);
		CHECK(strbuf_read_file(&want, py.buf) == 0);
		strbuf_reset(&cmd);
		strbuf_addf(&cmd, "%s/%s", dir, base);
		CHECK(tangle_file(cmd.buf, NULL, &got) == 0);
		if (strcmp(got.buf, want.buf))
			printf("#   differs from ptangle: %s\n", docs[i]);
		CHECK_STR(got.buf, want.buf);
		unlink(py.buf);
		unlink(cmd.buf);
		strbuf_free(&cmd);
		strbuf_free(&want);
		strbuf_free(&got);
		strbuf_free(&py);
	}
	rmdir(dir);
}

TEST(main_option_and_trailing_space)
{
	struct document doc;
	struct weft_error err;
	struct strbuf out;
	const char *text = "<<>>=\ndef f():\n    return 1   \n\n\n@\n"
			   "<<main=True>>=\nprint(f())\nf()\n@\n";
	document_init(&doc);
	weft_error_init(&err);
	strbuf_init(&out);
	CHECK(document_read_buffer(&doc, "m.texw", NULL, text, strlen(text), &err) == 0);
	CHECK(tangle_document(&doc, &out) == 0);
	CHECK_STR(out.buf, "\ndef f():\n    return 1\n"
			   "\nif __name__ == \"__main__\":\n    print(f())\n    f()\n");
	strbuf_free(&out);
	document_free(&doc);
	/* no chunks: nothing */
	CHECK(document_read_buffer(&doc, "n.pmd", NULL, "just text\n", 10, &err) == 0);
	CHECK(tangle_document(&doc, &out) == 0);
	CHECK_STR(out.buf, "");
	document_free(&doc);
	weft_error_free(&err);
}

/* source= files are tangled in; Quarto option lines are not code. */
TEST(source_and_quarto_lines)
{
	char dir[] = "/tmp/weft-test-tsrc-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char lib[256], doc_path[256];
	snprintf(lib, sizeof(lib), "%s/lib.py", dir);
	snprintf(doc_path, sizeof(doc_path), "%s/d.pmd", dir);
	FILE *f = fopen(lib, "w");
	fputs("import math\n\n", f);
	fclose(f);
	const char *text = "```{python, source='lib.py'}\nprint(math.pi)\n```\n"
			   "```python\n#| echo: false\nx = 1\n```\n";
	f = fopen(doc_path, "w");
	fputs(text, f);
	fclose(f);
	struct strbuf out;
	strbuf_init(&out);
	CHECK(tangle_file(doc_path, NULL, &out) == 0);
	CHECK_STR(out.buf, "\nimport math\nprint(math.pi)\n\nx = 1\n");
	strbuf_free(&out);
	unlink(lib);
	unlink(doc_path);
	rmdir(dir);
}

int main(void)
{
	RUN_COMPAT(publish_test_reference);
	RUN_COMPAT(ptangle_markdown_and_noweb);
	RUN_COMPAT(live_ptangle_when_installed);
	RUN(main_option_and_trailing_space);
	RUN(source_and_quarto_lines);
	return unit_done();
}
