/*
 * The private table MIME (model/table.h): a worker message can carry any
 * bytes under it (a chunk's raw display() does), so every malformed shape
 * must be an error naming the chunk, never a crash or a partial table; and
 * the markup table_render.h and latex_preamble.h write from a good one.
 */
#include <stdlib.h>

#include "model/table.h"
#include "render/latex_preamble.h"
#include "render/table_render.h"
#include "unit.h"

/* A MultiIndex frame as the worker sends it: two column levels, two index levels. */
static const char good[] =
	"{\"version\":1,\"columns\":4,\"index_columns\":2,"
	"\"header\":[[{\"text\":\"\",\"span\":1},{\"text\":\"L0\",\"span\":1},{\"text\":\"A & B\",\"span\":2}],"
	"[{\"text\":\"i0\",\"span\":1},{\"text\":\"i1\",\"span\":1},{\"text\":\"x_1\",\"span\":1},"
	"{\"text\":\"y|z\",\"span\":1}]],"
	"\"body\":[[\"r1\",\"1\",\"0.5\",\"$5--\"],[\"\",\"2\",\"10\",\"a\\\\b\"],[\"...\",\"...\",\"...\",\"...\"]],"
	"\"numeric\":[false,false,true,false],\"footer\":\"9 rows \\u00d7 2 columns\"}";

TEST(decodes_a_good_table)
{
	struct table t;
	struct weft_error err;
	table_init(&t);
	weft_error_init(&err);
	CHECK(table_from_json(&t, good, strlen(good), &err) == 0);
	CHECK(t.ncols == 4 && t.nindex == 2 && t.nheader == 2 && t.nrows == 3);
	CHECK(t.header[0].ncells == 3 && t.header[0].cells[2].span == 2);
	CHECK_STR(t.header[0].cells[2].text, "A & B");
	CHECK_STR(table_cell(&t, 1, 3), "a\\b");
	CHECK(t.numeric[2] && !t.numeric[3]);
	CHECK_STR(t.footer, "9 rows \xC3\x97 2 columns");
	table_free(&t);
	weft_error_free(&err);
}

/* Each hostile variant is refused with a message; none crashes (ASan/UBSan runs check leaks too). */
TEST(malformed_tables_are_errors)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"{\"version\":2,\"columns\":1,\"index_columns\":0,\"header\":[],\"body\":[],\"numeric\":[false]}",
		"{\"version\":1,\"columns\":0,\"index_columns\":0,\"header\":[],\"body\":[],\"numeric\":[]}",
		"{\"version\":1,\"columns\":-3,\"index_columns\":0,\"header\":[],\"body\":[],\"numeric\":[]}",
		"{\"version\":1,\"columns\":99999999,\"index_columns\":0,\"header\":[],\"body\":[],\"numeric\":[]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":3,\"header\":[],\"body\":[],\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[],\"body\":[],\"numeric\":[false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[],\"body\":[],\"numeric\":[false,1]}",
		/* a header row whose spans do not tile the width */
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[[{\"text\":\"a\",\"span\":1}]],"
		"\"body\":[],\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[[{\"text\":\"a\",\"span\":2},"
		"{\"text\":\"b\",\"span\":1}]],\"body\":[],\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[[{\"text\":\"a\",\"span\":0},"
		"{\"text\":\"b\",\"span\":2}]],\"body\":[],\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[[{\"text\":7,\"span\":2}]],"
		"\"body\":[],\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[\"ab\"],\"body\":[],"
		"\"numeric\":[false,false]}",
		/* body rows: wrong width, a number, a NUL byte, not a row */
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[],\"body\":[[\"a\",\"b\"],[\"a\"]],"
		"\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[],\"body\":[[\"a\",\"b\"],[\"a\",2]],"
		"\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[],\"body\":[[\"a\",\"b\\u0000c\"]],"
		"\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[],\"body\":[\"ab\"],"
		"\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[],\"body\":{},"
		"\"numeric\":[false,false]}",
		"{\"version\":1,\"columns\":2,\"index_columns\":1,\"header\":[],\"body\":[],"
		"\"numeric\":[false,false],\"footer\":[]}",
		/* duplicate keys: which one counts would be jansson's choice */
		"{\"version\":1,\"version\":1,\"columns\":1,\"index_columns\":0,\"header\":[],\"body\":[],"
		"\"numeric\":[false]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct table t;
		struct weft_error err;
		table_init(&t);
		weft_error_init(&err);
		int rc = table_from_json(&t, bad[i], strlen(bad[i]), &err);
		if (rc != -1 || !strstr(err.msg.buf, "malformed table data"))
			printf("#   variant %zu: rc %d, %s\n", i, rc, err.msg.buf);
		CHECK(rc == -1);
		CHECK(strstr(err.msg.buf, "malformed table data") != NULL);
		CHECK(t.nrows == 0 && t.body == NULL && t.header == NULL); /* nothing half-built */
		table_free(&t);
		weft_error_free(&err);
	}
}

/* Every prefix of a good table, and every digit of it changed, decodes or fails cleanly. */
TEST(mutated_tables_never_crash)
{
	size_t n = strlen(good);
	char *copy = malloc(n + 1);
	for (size_t cut = 0; cut < n; cut++) {
		struct table t;
		table_init(&t);
		CHECK(table_from_json(&t, good, cut, NULL) == -1);
		table_free(&t);
	}
	int decoded = 0;
	for (size_t i = 0; i < n; i++) {
		if (good[i] < '0' || good[i] > '9')
			continue;
		static const char digits[] = "0279";
		for (size_t k = 0; k < 4; k++) {
			memcpy(copy, good, n + 1);
			copy[i] = digits[k];
			struct table t;
			table_init(&t);
			if (table_from_json(&t, copy, n, NULL) == 0) {
				decoded++;
				/* whatever decoded is consistent: every cell readable */
				for (size_t r = 0; r < t.nrows; r++)
					for (size_t c = 0; c < t.ncols; c++)
						CHECK(table_cell(&t, r, c) != NULL);
				struct strbuf out;
				strbuf_init(&out);
				table_render_latex(&out, &t);
				table_render_pipe(&out, &t);
				table_render_rst(&out, &t);
				strbuf_free(&out);
			}
			table_free(&t);
		}
	}
	CHECK(decoded > 0); /* e.g. a changed cell digit is still a table */
	free(copy);
}

/* table_render_decode names the document, line and chunk of malformed data. */
TEST(decode_error_names_the_chunk)
{
	struct output_list l;
	output_list_init(&l);
	struct output *o = output_list_add(&l, OUTPUT_DISPLAY_DATA);
	output_add_mime(o, "text/plain", "x", 1);
	output_add_mime(o, TABLE_MIME, "{\"version\":1}", 13);
	struct document doc = {.path = "report.pmd"};
	struct chunk ch = {.number = 3, .header_line = 12};
	ch.opts.name = "summary";
	struct table t;
	struct weft_error err;
	table_init(&t);
	weft_error_init(&err);
	CHECK(table_render_decode(o, &doc, &ch, &t, &err) == -1);
	const char *text = weft_error_text(&err);
	CHECK(strstr(text, "report.pmd:12") != NULL);
	CHECK(strstr(text, "chunk 'summary'") != NULL);
	CHECK(strstr(text, "malformed table data") != NULL);
	table_free(&t);
	weft_error_free(&err);
	/* no table MIME: 0, nothing set */
	struct output *plain = output_list_add(&l, OUTPUT_DISPLAY_DATA);
	output_add_mime(plain, "text/plain", "y", 1);
	weft_error_init(&err);
	CHECK(table_render_decode(plain, &doc, &ch, &t, &err) == 0);
	CHECK(!weft_error_isset(&err));
	weft_error_free(&err);
	output_list_free(&l);
}

/* Decode `good` into t (the test fails if it does not decode). */
static void load_good(struct table *t)
{
	struct weft_error err;
	table_init(t);
	weft_error_init(&err);
	CHECK(table_from_json(t, good, strlen(good), &err) == 0);
	weft_error_free(&err);
}

TEST(latex_table_is_booktabs_and_escaped)
{
	struct table t;
	load_good(&t);
	struct strbuf out;
	strbuf_init(&out);
	table_render_latex(&out, &t);
	CHECK(strstr(out.buf, "\n\\noindent\\begin{tabular}{llrl}\n\\toprule\n") != NULL);
	CHECK(strstr(out.buf, " & L0 & \\multicolumn{2}{c}{A \\& B} \\\\\n\\cmidrule(lr){3-4}\n") != NULL);
	CHECK(strstr(out.buf, "i0 & i1 & x\\_1 & y\\textbar{}z \\\\\n\\midrule\n") != NULL);
	CHECK(strstr(out.buf, "\\textbf{r1} & \\textbf{1} & 0.5 & \\$5-{}- \\\\\n") != NULL);
	CHECK(strstr(out.buf, " & \\textbf{2} & 10 & a\\textbackslash{}b \\\\\n") != NULL);
	CHECK(strstr(out.buf, "\\bottomrule\n\\end{tabular}\n") != NULL);
	CHECK(strstr(out.buf, "\\noindent{\\small 9 rows \xC3\x97 2 columns}") != NULL);
	strbuf_free(&out);
	table_free(&t);
}

/* Past TABLE_LATEX_LONG_ROWS rows: a longtable (header on every page), with its fallback. */
TEST(long_table_is_a_longtable)
{
	struct strbuf json;
	strbuf_init(&json);
	strbuf_addstr(&json, "{\"version\":1,\"columns\":2,\"index_columns\":1,"
			     "\"header\":[[{\"text\":\"\",\"span\":1},{\"text\":\"v\",\"span\":1}]],"
			     "\"numeric\":[false,true],\"body\":[");
	for (int i = 0; i <= TABLE_LATEX_LONG_ROWS; i++)
		strbuf_addf(&json, "%s[\"%d\",\"%d\"]", i ? "," : "", i, i * i);
	strbuf_addstr(&json, "]}");
	struct table t;
	table_init(&t);
	CHECK(table_from_json(&t, json.buf, json.len, NULL) == 0);
	CHECK(table_latex_is_long(&t));
	struct strbuf out;
	strbuf_init(&out);
	table_render_latex(&out, &t);
	CHECK(strstr(out.buf, "\\@ifundefined{longtable}{\\newenvironment{longtable}") != NULL);
	CHECK(strstr(out.buf, "\\begin{longtable}[l]{lr}\n\\toprule\n & v \\\\\n\\midrule\n\\endhead\n"
			      "\\textbf{0} & 0 \\\\\n") != NULL);
	CHECK(strstr(out.buf, "\\textbf{30} & 900 \\\\\n\\bottomrule\n\\end{longtable}\n") != NULL);
	strbuf_free(&out);
	table_free(&t);
	strbuf_free(&json);
}

TEST(pipe_table_for_pandoc)
{
	struct table t;
	load_good(&t);
	struct strbuf out;
	strbuf_init(&out);
	table_render_pipe(&out, &t);
	CHECK_STR(out.buf, "\n| i0 | i1 | A & B / x\\_1 | A & B / y\\|z |\n"
			   "|:----|:----|----:|:----|\n"
			   "| r1 | 1 | 0.5 | \\$5-- |\n"
			   "|  | 2 | 10 | a\\\\b |\n"
			   "| ... | ... | ... | ... |\n"
			   "\n9 rows \xC3\x97 2 columns\n");
	strbuf_free(&out);
	table_free(&t);
}

TEST(rst_list_table)
{
	struct table t;
	load_good(&t);
	struct strbuf out;
	strbuf_init(&out);
	table_render_rst(&out, &t);
	CHECK(strstr(out.buf, "\n.. list-table::\n   :header-rows: 2\n\n   * -\n     - L0\n     - A & B\n     -\n") != NULL);
	CHECK(strstr(out.buf, "   * - r1\n     - 1\n     - 0.5\n     - $5--\n") != NULL);
	CHECK(strstr(out.buf, "     - x\\_1\n     - y\\|z\n") != NULL);
	strbuf_free(&out);
	table_free(&t);
}

/* The definitions block goes before \begin{document}, skipping packages the preamble loads. */
TEST(preamble_insert_whole_document)
{
	struct latex_needs n;
	latex_needs_init(&n, "texpygments");
	latex_needs_package(&n, "fancyvrb");
	latex_needs_package(&n, "color");
	latex_needs_package(&n, "booktabs");
	latex_needs_package(&n, "fancyvrb");
	strbuf_addstr(&n.defs, "\\def\\PYdemo{}\n");
	struct strbuf out;
	strbuf_init(&out);
	strbuf_addstr(&out, "\\documentclass{article}\n\\usepackage[dvipsnames]{xcolor}\n"
			    "% \\usepackage{booktabs}\n\\usepackage{graphicx, fancyvrb}\n"
			    "\\begin{document}\nBody\n\\end{document}\n");
	latex_preamble_insert(&out, 0, &n);
	CHECK_STR(out.buf, "\\documentclass{article}\n\\usepackage[dvipsnames]{xcolor}\n"
			   "% \\usepackage{booktabs}\n\\usepackage{graphicx, fancyvrb}\n"
			   "% weft (texpygments): the packages and definitions this report uses\n"
			   "\\usepackage{booktabs}\n\\def\\PYdemo{}\n"
			   "% weft (texpygments): end of what this report uses\n"
			   "\\begin{document}\nBody\n\\end{document}\n");
	strbuf_free(&out);
	latex_needs_free(&n);
}

/* A fragment gets the definitions at the top and the packages as a comment. */
TEST(preamble_insert_fragment)
{
	struct latex_needs n;
	latex_needs_init(&n, "texpweave");
	latex_needs_package(&n, "fancyvrb");
	strbuf_addstr(&n.defs, "\\DefineVerbatimEnvironment{pweaveout}{Verbatim}{}\n");
	struct strbuf out;
	strbuf_init(&out);
	strbuf_addstr(&out, "\\begin{pweavecode}\nx\n\\end{pweavecode}\n");
	CHECK(!latex_preamble_defines_env(out.buf, out.len, "pweavecode"));
	CHECK(latex_preamble_defines_env("\\newenvironment{pweavecode}{}{}", 31, "pweavecode"));
	CHECK(!latex_preamble_defines_env("%\\newenvironment{pweavecode}{}{}", 32, "pweavecode"));
	latex_preamble_insert(&out, 0, &n);
	CHECK_STR(out.buf, "% weft (texpweave): this fragment needs in the preamble of the document that inputs it:\n"
			   "%   \\usepackage{fancyvrb}\n"
			   "\\DefineVerbatimEnvironment{pweaveout}{Verbatim}{}\n"
			   "% weft (texpweave): end of what this report uses\n"
			   "\\begin{pweavecode}\nx\n\\end{pweavecode}\n");
	/* nothing needed: nothing written */
	struct latex_needs none;
	latex_needs_init(&none, "tex");
	size_t len = out.len;
	latex_preamble_insert(&out, 0, &none);
	CHECK(out.len == len);
	latex_needs_free(&none);
	CHECK(latex_preamble_end("a\n%\\begin{document}\n \\begin{document}\n", 38) == 20);
	strbuf_free(&out);
	latex_needs_free(&n);
}

int main(void)
{
	RUN(decodes_a_good_table);
	RUN(malformed_tables_are_errors);
	RUN(mutated_tables_never_crash);
	RUN(decode_error_names_the_chunk);
	RUN(latex_table_is_booktabs_and_escaped);
	RUN(long_table_is_a_longtable);
	RUN(pipe_table_for_pandoc);
	RUN(rst_list_table);
	RUN(preamble_insert_whole_document);
	RUN(preamble_insert_fragment);
	return unit_done();
}
