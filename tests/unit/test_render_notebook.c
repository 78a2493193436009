/*
 * Notebook renderer tests: Pweave's formatters_test_REF.notebook compared
 * cell by cell (structure, sources, outputs and their decoded data), nbformat
 * validity and nbconvert acceptance, and the options a notebook honours.
 *
 * Accepted differences from Pweave's reference, each handled by name below:
 *   - blank text blocks: Pweave writes an empty markdown cell for each; weft
 *     leaves them out (they are noise in Jupyter). Compared: non-blank ones.
 *   - results="hidden" (chunk 11): Pweave kept the output in the notebook;
 *     weft drops text outputs the document asked to hide.
 *   - cell metadata: Pweave dumped its option dictionary; weft writes only
 *     nbformat's own keys (name, jupyter.source_hidden).
 *   - notebook metadata: weft writes a full kernelspec/language_info and
 *     nbformat_minor 4 (Pweave: kernel_info name only, minor 0).
 *   - base64 line breaks: Pweave's JSON wraps base64 at 76 columns, weft does
 *     not; compared after decoding.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "pweave_executed.h"
#include "render/render.h"

static char tmpdir[256];

/* nbformat multiline value (string or list of strings) joined into sb. */
static void joined(struct strbuf *sb, const json_t *v)
{
	strbuf_reset(sb);
	if (json_is_string(v)) {
		strbuf_add(sb, json_string_value(v), json_string_length(v));
		return;
	}
	size_t i;
	json_t *s;
	json_array_foreach(v, i, s)
		if (json_is_string(s))
			strbuf_add(sb, json_string_value(s), json_string_length(s));
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\n' && *s != '\t')
			return false;
	return true;
}

/* Render the executed formatters_test as a notebook; returns the parsed JSON. */
static json_t *render_notebook(struct pweave_executed *px, struct strbuf *text)
{
	struct weft_error err;
	weft_error_init(&err);
	if (pweave_executed_load(px, pweave_compat_path("formats/formatters_test_executed.json"),
				 "formatters_test.pmd", &err) < 0) {
		printf("#   %s\n", weft_error_text(&err));
		weft_error_free(&err);
		return NULL;
	}
	char outpath[512];
	snprintf(outpath, sizeof(outpath), "%s/formatters_test.ipynb", tmpdir);
	struct render_options opts = {.format = "notebook", .output_path = outpath,
				      .figure_dir = "figures", .figure_format = "png"};
	if (render_document(&px->doc, &px->res, &opts, text, &err) < 0) {
		printf("#   %s\n", weft_error_text(&err));
		weft_error_free(&err);
		return NULL;
	}
	weft_error_free(&err);
	FILE *fp = fopen(outpath, "wb");
	if (fp) {
		fwrite(text->buf, 1, text->len, fp);
		fclose(fp);
	}
	json_error_t jerr;
	json_t *nb = json_loads(text->buf, 0, &jerr);
	if (!nb)
		printf("#   not JSON: %s at line %d\n", jerr.text, jerr.line);
	return nb;
}

/* The cells of `nb` that the comparison looks at (blank markdown cells skipped). */
static size_t wanted_cells(const json_t *nb, const json_t **out, size_t max)
{
	size_t n = 0, i;
	json_t *c;
	struct strbuf sb;
	strbuf_init(&sb);
	json_array_foreach(json_object_get(nb, "cells"), i, c) {
		const char *type = json_string_value(json_object_get(c, "cell_type"));
		joined(&sb, json_object_get(c, "source"));
		if (type && !strcmp(type, "markdown") && blank(sb.buf))
			continue;
		if (n < max)
			out[n] = c;
		n++;
	}
	strbuf_free(&sb);
	return n;
}

/* Compare one output of ours with Pweave's (data decoded where binary). */
static void check_output(const json_t *ours, const json_t *ref, size_t cell)
{
	struct strbuf a, b, da, db;
	strbuf_init(&a);
	strbuf_init(&b);
	strbuf_init(&da);
	strbuf_init(&db);
	const char *ta = json_string_value(json_object_get(ours, "output_type"));
	const char *tb = json_string_value(json_object_get(ref, "output_type"));
	CHECK(ta && tb && !strcmp(ta, tb));
	if (ta && !strcmp(ta, "stream")) {
		CHECK_STR(json_string_value(json_object_get(ours, "name")),
			  json_string_value(json_object_get(ref, "name")));
		joined(&a, json_object_get(ours, "text"));
		joined(&b, json_object_get(ref, "text"));
		CHECK_STR(a.buf, b.buf);
	}
	const json_t *dref = json_object_get(ref, "data");
	const json_t *dours = json_object_get(ours, "data");
	CHECK(json_object_size(dref) == json_object_size(dours));
	const char *mime;
	json_t *v;
	json_object_foreach((json_t *)dref, mime, v) {
		joined(&a, json_object_get(dours, mime));
		joined(&b, v);
		if (mime_is_binary(mime)) {
			strbuf_reset(&da);
			strbuf_reset(&db);
			CHECK(base64_decode(&da, a.buf, a.len) == 0);
			CHECK(base64_decode(&db, b.buf, b.len) == 0);
			if (da.len != db.len || memcmp(da.buf, db.buf, da.len)) {
				printf("#   cell %zu: %s differs\n", cell, mime);
				CHECK(!"binary data equal");
			}
		} else if (strcmp(a.buf, b.buf)) {
			printf("#   cell %zu: %s differs\n", cell, mime);
			CHECK(!"text data equal");
		}
	}
	strbuf_free(&a);
	strbuf_free(&b);
	strbuf_free(&da);
	strbuf_free(&db);
}

TEST(ref_notebook_structure)
{
	struct pweave_executed px;
	struct strbuf text;
	strbuf_init(&text);
	json_t *nb = render_notebook(&px, &text);
	CHECK(nb != NULL);
	json_error_t jerr;
	json_t *ref = json_load_file(pweave_compat_path("formats/formatters_test_REF.notebook"), 0,
				     &jerr);
	CHECK(ref != NULL);
	if (!nb || !ref)
		goto out;
	CHECK(json_integer_value(json_object_get(nb, "nbformat")) == 4);
	CHECK_STR(json_string_value(json_object_get(json_object_get(
			  json_object_get(nb, "metadata"), "kernelspec"), "name")),
		  "python3");
	CHECK_STR(json_string_value(json_object_get(json_object_get(
			  json_object_get(nb, "metadata"), "language_info"), "name")),
		  "python");

	const json_t *a[64], *b[64];
	size_t na = wanted_cells(nb, a, 64), nr = wanted_cells(ref, b, 64);
	CHECK(na == nr && na <= 64);
	struct strbuf sa, sr;
	strbuf_init(&sa);
	strbuf_init(&sr);
	int code = 0;
	for (size_t i = 0; i < na && i < nr && i < 64; i++) {
		const char *ta = json_string_value(json_object_get(a[i], "cell_type"));
		const char *tr = json_string_value(json_object_get(b[i], "cell_type"));
		CHECK(ta && tr && !strcmp(ta, tr));
		joined(&sa, json_object_get(a[i], "source"));
		joined(&sr, json_object_get(b[i], "source"));
		CHECK_STR(sa.buf, sr.buf);
		if (!ta || strcmp(ta, "code"))
			continue;
		code++;
		CHECK(json_integer_value(json_object_get(a[i], "execution_count")) == code);
		const json_t *oa = json_object_get(a[i], "outputs");
		const json_t *orf = json_object_get(b[i], "outputs");
		if (code == 11) {
			/* results="hidden": weft hides the printed text (named difference) */
			CHECK(json_array_size(oa) == 0 && json_array_size(orf) == 1);
			continue;
		}
		CHECK(json_array_size(oa) == json_array_size(orf));
		for (size_t k = 0; k < json_array_size(oa) && k < json_array_size(orf); k++)
			check_output(json_array_get(oa, k), json_array_get(orf, k), i);
		/* echo=False chunks (3, 12, 13) keep their code, marked hidden */
		const json_t *hidden = json_object_get(
			json_object_get(json_object_get(a[i], "metadata"), "jupyter"), "source_hidden");
		CHECK((code == 3 || code == 12 || code == 13) == json_is_true(hidden));
	}
	CHECK(code == 18);
	strbuf_free(&sa);
	strbuf_free(&sr);
out:
	json_decref(nb);
	json_decref(ref);
	strbuf_free(&text);
	pweave_executed_free(&px);
}

/* Run a shell command; 0 when it exits with status 0. */
static int run(const char *cmd)
{
	int rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

TEST(nbformat_valid_and_nbconvert)
{
	struct pweave_executed px;
	struct strbuf text;
	strbuf_init(&text);
	json_t *nb = render_notebook(&px, &text);
	CHECK(nb != NULL);
	json_decref(nb);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c 'import sys, nbformat; "
		 "nbformat.validate(nbformat.read(sys.argv[1], as_version=4))' "
		 "%s/formatters_test.ipynb",
		 tmpdir);
	CHECK(run(cmd) == 0);
	/* nbconvert (as a user would run it) accepts it and shows outputs and figures */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && /usr/bin/jupyter-nbconvert --to markdown --output nbconv "
		 "formatters_test.ipynb >nbconvert.log 2>&1",
		 tmpdir);
	CHECK(run(cmd) == 0);
	char path[512];
	snprintf(path, sizeof(path), "%s/nbconv.md", tmpdir);
	struct strbuf md;
	strbuf_init(&md);
	CHECK(strbuf_read_file(&md, path) == 0);
	CHECK(strstr(md.buf, "    Verbatim output\n") != NULL);
	CHECK(strstr(md.buf, "print(\"Hidden results!\")") != NULL);
	CHECK(strstr(md.buf, "![png](nbconv_files/") || strstr(md.buf, "![svg](nbconv_files/"));
	strbuf_free(&md);
	strbuf_free(&text);
	pweave_executed_free(&px);
}

TEST(notebook_options)
{
	/* front matter cell, skipped chunk without count, stop note cell, fig=False */
	struct pweave_executed px;
	memset(&px, 0, sizeof(px));
	px.doc.path = xstrdup("n.pmd");
	px.doc.front_matter = xstrdup("title: T\n");
	weave_results_init(&px.res, 3, 0);
	json_t *empty = json_object();
	for (int i = 0; i < 3; i++) {
		ARRAY_GROW(px.doc.blocks, px.doc.nblocks + 1, px.doc.alloc);
		struct block *b = &px.doc.blocks[px.doc.nblocks++];
		memset(b, 0, sizeof(*b));
		b->kind = BLOCK_CHUNK;
		b->chunk.index = i;
		b->chunk.number = i + 1;
		b->chunk.code = xstrdup(i == 1 ? "plot()\nboom()\n" : "x = 1\n");
		b->chunk.code_line = 5 * (i + 1);
		pweave_executed_options(&b->chunk.opts, empty);
		px.doc.nchunks++;
	}
	json_decref(empty);
	px.doc.blocks[1].chunk.opts.fig = false;
	px.doc.blocks[1].chunk.opts.name = xstrdup("plotter");
	px.res.chunks[0].state = CHUNK_STALE; /* --frozen: results of an earlier version */
	px.res.chunks[0].why = xstrdup("code changed");
	px.res.chunks[1].state = CHUNK_RAN;
	px.res.chunks[1].status = RUN_TIMEOUT;
	px.res.chunks[1].error_message = xstrdup("no result after 5 s");
	struct output *o = output_list_add(&px.res.chunks[1].outputs, OUTPUT_DISPLAY_DATA);
	output_add_mime(o, "image/png", "PNG", 3);
	output_list_add_stream(&px.res.chunks[1].outputs, "stdout", "so far\n", 7);
	px.res.chunks[1].outputs.items[1].statement = 0; /* must not leak into the JSON */
	struct output *res0 = output_list_add(&px.res.chunks[0].outputs, OUTPUT_EXECUTE_RESULT);
	output_add_mime(res0, "text/plain", "1", 1);
	free(px.doc.blocks[0].chunk.code);
	px.doc.blocks[0].chunk.code = xstrdup("x = 'caf\xe9'  # Latin-1 byte\n1\n");
	px.res.chunks[2].state = CHUNK_SKIPPED;
	px.res.stopped_at = 1;
	struct render_options opts = {.format = "notebook", .output_path = "/nonexistent/n.ipynb"};
	struct strbuf out;
	strbuf_init(&out);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(render_document(&px.doc, &px.res, &opts, &out, &err) == 0);
	json_t *nb = json_loads(out.buf, 0, NULL);
	CHECK(nb != NULL);
	json_t *cells = json_object_get(nb, "cells");
	CHECK(json_array_size(cells) == 5);
	struct strbuf s;
	strbuf_init(&s);
	joined(&s, json_object_get(json_array_get(cells, 0), "source"));
	CHECK_STR(json_string_value(json_object_get(json_array_get(cells, 0), "cell_type")), "raw");
	CHECK_STR(s.buf, "---\ntitle: T\n---");
	json_t *c1 = json_array_get(cells, 1);
	joined(&s, json_object_get(c1, "source"));
	CHECK_STR(s.buf, "x = 'caf\xef\xbf\xbd'  # Latin-1 byte\n1");
	CHECK(json_integer_value(json_object_get(json_array_get(json_object_get(c1, "outputs"), 0),
						 "execution_count")) == 1);
	CHECK_STR(json_string_value(json_object_get(
			  json_object_get(json_object_get(c1, "metadata"), "weft"), "frozen")),
		  "weft: frozen, results of chunk 1 are from an earlier version: code changed");
	json_t *c2 = json_array_get(cells, 2);
	CHECK_STR(json_string_value(json_object_get(json_object_get(c2, "metadata"), "name")),
		  "plotter");
	CHECK(json_array_size(json_object_get(c2, "outputs")) == 1); /* fig=False: stream only */
	CHECK(json_object_get(json_array_get(json_object_get(c2, "outputs"), 0), "metadata") ==
	      NULL);
	joined(&s, json_object_get(json_array_get(cells, 3), "source"));
	CHECK(strstr(s.buf, "weft: execution stopped here: chunk 2 (plotter) at n.pmd:10 timed out: "
			    "no result after 5 s") != NULL);
	json_t *c4 = json_array_get(cells, 4);
	CHECK(json_is_null(json_object_get(c4, "execution_count")));
	CHECK(json_array_size(json_object_get(c4, "outputs")) == 0);
	CHECK(strbuf_ends_with(&out, "}\n"));
	json_decref(nb);
	strbuf_free(&s);
	strbuf_free(&out);
	weft_error_free(&err);
	pweave_executed_free(&px);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/weft-render-nb.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		printf("not ok - mkdtemp\n");
		return 1;
	}
	RUN_COMPAT(ref_notebook_structure);
	RUN_COMPAT(nbformat_valid_and_nbconvert);
	RUN(notebook_options);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return unit_done();
}
