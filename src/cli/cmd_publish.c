/*
 * cmd_publish: `weft publish`, Pweave's pypublish. A `#'` script (or any
 * document weft reads) becomes a report in one step:
 *
 *   -f html  (default)  weave to md2html: a standalone HTML page
 *   -f pdf              weave to pandoc2latex (markdown prose through pandoc,
 *                       as Pweave does) and run a TeX engine on it
 *
 * The weaving is `weft weave` itself (cmd_weave with a built argument list),
 * so caching, timeouts, progress and error reporting are the same. For PDF
 * the tools are looked up before anything runs, so a missing TeX engine or
 * pandoc is a clear error up front, not after minutes of computing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "model/document.h"
#include "util/error.h"
#include "util/fsutil.h"
#include "util/forkcheck.h"
#include "util/strbuf.h"

static const char publish_usage[] =
	"usage: weft publish [-f html|pdf] [-o OUT] [options] FILE.py\n"
	"\n"
	"Run a Python script with #' markdown comments (or any weft document) and\n"
	"publish it as an HTML page or, through LaTeX, a PDF (pypublish).\n"
	"\n"
	"  -f, --format html|pdf      output (default html)\n"
	"  -o, --output PATH          report path (default FILE.html / FILE.pdf; for pdf\n"
	"                             the LaTeX source is written beside it as .tex)\n"
	"  -e, --latex-engine CMD     pdflatex, xelatex or lualatex (default: the first\n"
	"                             one installed, in that order)\n"
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

/* The TeX engines weft can drive, in the order it tries them. */
static const char *const tex_engines[] = { "pdflatex", "xelatex", "lualatex" };

/* `path` with its last extension (if any) replaced by `ext` (no dot). */
static char *with_extension(const char *path, const char *ext)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addstr(&sb, path);
	const char *slash = strrchr(sb.buf, '/');
	char *dot = strrchr(sb.buf, '.');
	if (dot && (!slash || dot > slash) && dot != sb.buf && (!slash || dot != slash + 1))
		strbuf_setlen(&sb, (size_t)(dot - sb.buf));
	strbuf_addf(&sb, ".%s", ext);
	return strbuf_detach(&sb, NULL);
}

/*
 * Run `engine` on `tex` in the .tex file's directory, non-interactively, its
 * chatter into the .log LaTeX writes anyway. Returns 0 when the PDF was made.
 */
static int run_latex(const char *engine, const char *engine_path, const char *tex,
		     const char *pdf, const char *doc)
{
	char *copy = xstrdup(tex);
	char *slash = strrchr(copy, '/');
	const char *dir = ".", *base = copy;
	if (slash) {
		*slash = '\0';
		dir = copy[0] ? copy : "/";
		base = slash + 1;
	}
	fprintf(stderr, "weft: running %s on %s\n", engine, tex);
	fflush(stderr);
	/* Only chdir and exec follow in the child, but keep to the rule (forkcheck.h). */
	struct weft_error ferr;
	weft_error_init(&ferr);
	if (forkcheck_single_threaded("publish", &ferr) < 0) {
		fprintf(stderr, "weft: %s: %s\n", doc, weft_error_text(&ferr));
		weft_error_free(&ferr);
		free(copy);
		return -1;
	}
	weft_error_free(&ferr);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "weft: %s: cannot start %s: %s\n", doc, engine, strerror(errno));
		free(copy);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		if (chdir(dir) < 0)
			_exit(126);
		execl(engine_path, engine, "-interaction=nonstopmode", "-halt-on-error",
		       "-file-line-error", base, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char *log = with_extension(tex, "log");
	int rc = 0;
	struct stat st;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "weft: %s: %s failed on %s (exit status %d); see %s\n", doc, engine,
			tex, WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
		rc = -1;
	} else if (stat(pdf, &st) < 0) {
		fprintf(stderr, "weft: %s: %s did not write %s; see %s\n", doc, engine, pdf, log);
		rc = -1;
	}
	free(log);
	free(copy);
	return rc;
}

enum {
	OPT_TIMEOUT = 256,
	OPT_PYTHON,
	OPT_CACHE,
	OPT_CACHE_DIR,
	OPT_NO_EMBED,
	OPT_REBUILD,
	OPT_FROZEN,
	OPT_EXPLAIN,
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
	struct strbuf prog;
	strbuf_init(&prog);
	char *outpath = NULL, *texpath = NULL, *engine_path = NULL;
	if (!pdf) {
		outpath = output ? xstrdup(output) : with_extension(path, "html");
		wargv[wargc++] = "--format";
		wargv[wargc++] = "md2html";
		wargv[wargc++] = "--output";
		wargv[wargc++] = outpath;
		wargv[wargc++] = (char *)path;
		status = cmd_weave(wargc, wargv);
		goto out;
	}

	/* PDF: find the tools first, so nothing runs when they are missing. */
	if (engine) {
		if (fs_find_program(engine, &prog) < 0) {
			fprintf(stderr,
				"weft: %s: PDF output needs the TeX engine '%s', which is not "
				"installed (not found in PATH); install it or use -f html\n",
				path, engine);
			goto out;
		}
	} else {
		for (size_t i = 0; i < sizeof(tex_engines) / sizeof(tex_engines[0]) && !engine; i++)
			if (fs_find_program(tex_engines[i], &prog) == 0)
				engine = tex_engines[i];
		if (!engine) {
			fprintf(stderr,
				"weft: %s: PDF output needs a TeX engine, and none of pdflatex, "
				"xelatex or lualatex is installed (e.g. Debian's texlive-latex-base); "
				"use -f html for an HTML report\n",
				path);
			goto out;
		}
	}
	engine_path = xstrdup(prog.buf);
	if (fs_find_program("pandoc", &prog) < 0) {
		fprintf(stderr,
			"weft: %s: PDF output turns the markdown prose into LaTeX with pandoc, "
			"which is not installed; install pandoc or use -f html\n",
			path);
		goto out;
	}
	/* pypublish took the .tex name with -o; accept that too */
	if (output && strlen(output) > 4 && !strcmp(output + strlen(output) - 4, ".tex"))
		outpath = with_extension(output, "pdf");
	else
		outpath = output ? xstrdup(output) : with_extension(path, "pdf");
	texpath = with_extension(outpath, "tex");
	if (!strcmp(texpath, path) || !strcmp(outpath, path) || fs_same_file(texpath, path) ||
	    fs_same_file(outpath, path)) {
		fprintf(stderr, "weft: publishing would overwrite %s; choose another path with -o\n",
			path);
		goto out;
	}
	{
		char *made = with_extension(texpath, "pdf");
		if (strcmp(made, outpath)) {
			fprintf(stderr, "weft: %s: a PDF report's name must end in .pdf, not '%s'\n",
				path, outpath);
			free(made);
			goto out;
		}
		free(made);
	}
	wargv[wargc++] = "--format";
	wargv[wargc++] = "pandoc2latex";
	wargv[wargc++] = "--output";
	wargv[wargc++] = texpath;
	wargv[wargc++] = (char *)path;
	status = cmd_weave(wargc, wargv);
	if (status == 2)
		goto out;
	if (run_latex(engine, engine_path, texpath, outpath, path) < 0) {
		status = 1;
		goto out;
	}
	fprintf(stderr, "weft: wrote %s\n", outpath);
out:
	strbuf_free(&prog);
	free(outpath);
	free(texpath);
	free(engine_path);
	free(wargv);
	return status;
}
