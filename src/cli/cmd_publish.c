/*
 * cmd_publish: `weft publish`, Pweave's pypublish. A `#'` script (or any
 * document weft reads) becomes a report in one step:
 *
 *   -f html  (default)  weave to md2html: a standalone HTML page
 *   -f pdf              weave to the pdf format (render/pdf.h: weft's own
 *                       LaTeX, compiled by lualatex, xelatex or pdflatex;
 *                       no pandoc needed, unlike Pweave's pypublish)
 *
 * The weaving is `weft weave` itself (cmd_weave with a built argument list),
 * so caching, timeouts, progress and error reporting are the same. For PDF
 * the TeX engine is looked up before anything runs, so a missing one is a
 * clear error up front, not after minutes of computing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "model/document.h"
#include "util/error.h"
#include "util/fsutil.h"
#include "util/strbuf.h"

static const char publish_usage[] =
	"usage: weft publish [-f html|pdf] [-o OUT] [options] FILE.py\n"
	"\n"
	"Run a Python script with #' markdown comments (or any weft document) and\n"
	"publish it as an HTML page or, through LaTeX, a PDF (pypublish).\n"
	"\n"
	"  -f, --format html|pdf      output (default html)\n"
	"  -o, --output PATH          report path (default FILE.html / FILE.pdf; for pdf,\n"
	"                             a PATH ending in .tex also keeps the LaTeX there)\n"
	"  -e, --latex-engine CMD     lualatex, xelatex or pdflatex (default: the first\n"
	"                             one installed, in that order)\n"
	"      --keep-tex             pdf: also write the LaTeX beside the report (.tex)\n"
	"  -i, --input-format FMT     script, markdown, noweb or notebook (default: by extension)\n"
	"  -F, --figure-dir DIR       figure folder, relative to the report (default figures)\n"
	"  -g, --figure-format FMT    png, svg or pdf (default: png for html, pdf for pdf)\n"
	"      --no-embed             html: link figures instead of embedding them\n"
	"      --timeout SECONDS      stop a chunk that runs longer\n"
	"      --python PATH|NAME     run chunks with this Python (any CPython >= 3.9, a venv's)\n"
	"                             (default: front matter python:, $VIRTUAL_ENV, $CONDA_PREFIX,\n"
	"                             else weft's own; --explain says which)\n"
	"      --cache                cache every chunk\n"
	"      --cache-dir DIR        cache folder\n"
	"      --rebuild NAME         re-run chunk NAME even if cached (repeatable)\n"
	"      --frozen               render from the cache, run nothing\n"
	"      --explain              say why each chunk runs or comes from the cache\n"
	"  -q, --quiet                no progress lines\n"
	"  -h, --help                 this help\n"
	"\n"
	"Exit status: 0 ok; 1 a chunk failed or LaTeX failed; 2 bad usage or a missing tool.\n";

enum {
	OPT_TIMEOUT = 256,
	OPT_PYTHON,
	OPT_CACHE,
	OPT_CACHE_DIR,
	OPT_NO_EMBED,
	OPT_REBUILD,
	OPT_FROZEN,
	OPT_EXPLAIN,
	OPT_KEEP_TEX,
};

int cmd_publish(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"latex-engine", required_argument, NULL, 'e'},
		{"latex_engine", required_argument, NULL, 'e'},
		{"input-format", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"python", required_argument, NULL, OPT_PYTHON},
		{"cache", no_argument, NULL, OPT_CACHE},
		{"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
		{"figure-dir", required_argument, NULL, 'F'},
		{"figure-format", required_argument, NULL, 'g'},
		{"no-embed", no_argument, NULL, OPT_NO_EMBED},
		{"rebuild", required_argument, NULL, OPT_REBUILD},
		{"frozen", no_argument, NULL, OPT_FROZEN},
		{"explain", no_argument, NULL, OPT_EXPLAIN},
		{"keep-tex", no_argument, NULL, OPT_KEEP_TEX},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *format = "html", *output = NULL, *engine = NULL;
	/* the weave command line, built as the options are read (each at most doubles) */
	char **wargv = xcalloc(2 * (size_t)argc + 8, sizeof(char *));
	int wargc = 0;
	wargv[wargc++] = "weave";
	bool given_informat = false;

	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "f:o:e:i:F:g:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'e': engine = optarg; break;
		case 'i':
			given_informat = true;
			wargv[wargc++] = "--input-format";
			wargv[wargc++] = optarg;
			break;
		case OPT_TIMEOUT:
			wargv[wargc++] = "--timeout";
			wargv[wargc++] = optarg;
			break;
		case OPT_PYTHON:
			wargv[wargc++] = "--python";
			wargv[wargc++] = optarg;
			break;
		case OPT_CACHE: wargv[wargc++] = "--cache"; break;
		case 'F':
			wargv[wargc++] = "--figure-dir";
			wargv[wargc++] = optarg;
			break;
		case 'g':
			wargv[wargc++] = "--figure-format";
			wargv[wargc++] = optarg;
			break;
		case OPT_NO_EMBED: wargv[wargc++] = "--no-embed"; break;
		case OPT_REBUILD:
			wargv[wargc++] = "--rebuild";
			wargv[wargc++] = optarg;
			break;
		case OPT_FROZEN: wargv[wargc++] = "--frozen"; break;
		case OPT_EXPLAIN: wargv[wargc++] = "--explain"; break;
		case OPT_KEEP_TEX: wargv[wargc++] = "--keep-tex"; break;
		case OPT_CACHE_DIR:
			wargv[wargc++] = "--cache-dir";
			wargv[wargc++] = optarg;
			break;
		case 'q': wargv[wargc++] = "--quiet"; break;
		case 'h':
			fputs(publish_usage, stdout);
			free(wargv);
			return 0;
		default:
			fputs(publish_usage, stderr);
			free(wargv);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(publish_usage, stderr);
		free(wargv);
		return 2;
	}
	const char *path = argv[optind];
	if (!given_informat && !document_guess_format(path)) {
		/* pypublish's documents are scripts, whatever their name (Pweave's tests use .txt) */
		wargv[wargc++] = "--input-format";
		wargv[wargc++] = "script";
	}
	bool pdf = !strcmp(format, "pdf");
	if (!pdf && strcmp(format, "html")) {
		fprintf(stderr, "weft: publish makes html or pdf, not '%s'\n", format);
		free(wargv);
		return 2;
	}
	if (access(path, R_OK) < 0) {
		fprintf(stderr, "weft: %s: cannot read document: %s\n", path, strerror(errno));
		free(wargv);
		return 2;
	}

	int status = 2;
	char *outpath = NULL;
	if (!pdf) {
		outpath = output ? xstrdup(output) : fs_with_extension(path, "html");
		wargv[wargc++] = "--format";
		wargv[wargc++] = "md2html";
		wargv[wargc++] = "--output";
		wargv[wargc++] = outpath;
		wargv[wargc++] = (char *)path;
		status = cmd_weave(wargc, wargv);
		goto out;
	}

	/* PDF: weave's pdf format finds the TeX engine before anything runs (exit 2 without one) */
	/* pypublish took the .tex name with -o; accept that too, and keep the LaTeX there */
	bool tex_named = output && strlen(output) > 4 && !strcmp(output + strlen(output) - 4, ".tex");
	outpath = tex_named ? fs_with_extension(output, "pdf")
		  : output  ? xstrdup(output)
			    : fs_with_extension(path, "pdf");
	if (!strcmp(outpath, path) || fs_same_file(outpath, path)) {
		fprintf(stderr, "weft: publishing would overwrite %s; choose another path with -o\n",
			path);
		goto out;
	}
	if (tex_named)
		wargv[wargc++] = "--keep-tex";
	if (engine) {
		wargv[wargc++] = "--latex-engine";
		wargv[wargc++] = (char *)engine;
	}
	wargv[wargc++] = "--format";
	wargv[wargc++] = "pdf";
	wargv[wargc++] = "--output";
	wargv[wargc++] = outpath;
	wargv[wargc++] = (char *)path;
	status = cmd_weave(wargc, wargv);
out:
	free(outpath);
	free(wargv);
	return status;
}
