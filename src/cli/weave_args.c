/* weave_args: the weave command line; see weave_args.h. */
#include "cli/weave_args.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "util/strbuf.h"

static const char weave_usage[] =
	"usage: weft [weave] [options] FILE...\n"
	"       weft render [options] DIR|FILE...\n"
	"\n"
	"Run the code chunks of each FILE (Pweave markdown, noweb, #' script or notebook)\n"
	"and weave code, output and figures into a report. `render` takes folders too:\n"
	"every document under them (.pmd .Pmd .pymd .mdw .Pnw .pnw .texw .rstw), or the\n"
	"list under `documents:` in the folder's _weft.yml.\n"
	"\n"
	"  -f, --format FORMAT       output format (default by extension, as Pweave; see 'weft formats')\n"
	"  -i, --input-format FMT    markdown, noweb, script or notebook (default: by extension)\n"
	"  -o, --output PATH         report path, '-' for standard output (one document only;\n"
	"                            default: FILE with the format's extension)\n"
	"  -F, --figure-dir DIR      figure folder, relative to the report (default: figures)\n"
	"      --figure-directory DIR  the same (Pweave's name)\n"
	"  -g, --figure-format FMT   png, svg or pdf (default: pdf for LaTeX, png otherwise)\n"
	"      --no-embed            html: link figures instead of embedding them\n"
	"      --latex-engine CMD    pdf: lualatex, xelatex or pdflatex (default: the first\n"
	"                            one installed, in that order)\n"
	"      --keep-tex            pdf: also write the LaTeX beside the report (REPORT.tex)\n"
	"  -m, --matplotlib          no figures: fig=False for every chunk (Pweave: disable matplotlib)\n"
	"      --timeout SECONDS     stop a chunk that runs longer (default: no limit)\n"
	"      --python PATH|NAME    run chunks with this Python (any CPython >= 3.9, a venv's)\n"
	"                            (default: the python: setting, $VIRTUAL_ENV, $CONDA_PREFIX,\n"
	"                            else weft's own; --explain says which)\n"
	"  -k, --kernel NAME         run the document's default language in the Jupyter kernel NAME\n"
	"                            (e.g. ir); other languages' chunks (```{r}) run in their own\n"
	"                            kernels, cached by chain; a Python kernel gets the whole cache\n"
	"      --cache               cache every chunk (default: only the chunks, or documents,\n"
	"                            that say cache=True)\n"
	"  -c, --cache-results       the same (Pweave's name)\n"
	"  -d, --documentation-mode  the same: Pweave's documentation mode re-used cached results;\n"
	"                            weft's cache does so whenever they are still right\n"
	"      --no-cache            no cache at all: run every chunk, read and write no cache\n"
	"      --cache-dir DIR       cache folder (default: $WEFT_CACHE_DIR, else .weft-cache/ beside FILE)\n"
	"      --cache-directory DIR the same (Pweave's name)\n"
	"      --rebuild NAME        re-run chunk NAME even if cached (repeatable)\n"
	"      --frozen              render from the cache, run nothing; list stale chunks\n"
	"      --explain             print why each chunk runs or is taken from the cache\n"
	"      --summary-json PATH   write a JSON record of what happened to each chunk (one document)\n"
	"  -j, --jobs N              render N documents at once (default 1)\n"
	"  -q, --quiet               no progress lines\n"
	"  -v, --verbose             show the chunks' output on stderr as it comes\n"
	"  -l, --list-formats        list output formats and exit\n"
	"  -t, --mimetype TYPE       accepted for Pweave; weft writes prose cells as markdown\n"
	"  -h, --help                this help\n"
	"\n"
	"Exit status: 0 ok; 1 a chunk raised (unless error=True), crashed or timed out;\n"
	"2 bad usage or unreadable document. With several documents, the worst of them.\n";

enum {
	OPT_NO_EMBED = 256,
	OPT_TIMEOUT,
	OPT_PYTHON,
	OPT_CACHE,
	OPT_NO_CACHE,
	OPT_CACHE_DIR,
	OPT_REBUILD,
	OPT_FROZEN,
	OPT_EXPLAIN,
	OPT_SUMMARY,
	OPT_LATEX_ENGINE,
	OPT_KEEP_TEX,
};

static const struct option longopts[] = {
	{"format", required_argument, NULL, 'f'},
	{"input-format", required_argument, NULL, 'i'},
	{"output", required_argument, NULL, 'o'},
	{"figure-dir", required_argument, NULL, 'F'},
	{"figure-directory", required_argument, NULL, 'F'},
	{"figure-format", required_argument, NULL, 'g'},
	{"no-embed", no_argument, NULL, OPT_NO_EMBED},
	{"latex-engine", required_argument, NULL, OPT_LATEX_ENGINE},
	{"keep-tex", no_argument, NULL, OPT_KEEP_TEX},
	{"matplotlib", no_argument, NULL, 'm'},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"python", required_argument, NULL, OPT_PYTHON},
	{"kernel", required_argument, NULL, 'k'},
	{"cache", no_argument, NULL, OPT_CACHE},
	{"cache-results", no_argument, NULL, 'c'},
	{"documentation-mode", no_argument, NULL, 'd'},
	{"no-cache", no_argument, NULL, OPT_NO_CACHE},
	{"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
	{"cache-directory", required_argument, NULL, OPT_CACHE_DIR},
	{"rebuild", required_argument, NULL, OPT_REBUILD},
	{"frozen", no_argument, NULL, OPT_FROZEN},
	{"explain", no_argument, NULL, OPT_EXPLAIN},
	{"summary-json", required_argument, NULL, OPT_SUMMARY},
	{"jobs", required_argument, NULL, 'j'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"list-formats", no_argument, NULL, 'l'},
	{"mimetype", required_argument, NULL, 't'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* See weave_args.h. */
void weave_args_usage(FILE *fp)
{
	fputs(weave_usage, fp);
}

/* Levenshtein distance of two short strings (longer ones count as far apart). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return (size_t)-1;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* See weave_args.h. */
const char *weave_args_closest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	/* a third of the word, at least one edit: "formt" -> format, "xyz" -> nothing */
	size_t allowed = strlen(word) / 3;
	return best && best_d <= (allowed ? allowed : 1) ? best : NULL;
}

/* One line for an unknown option, with the nearest long option if there is one. */
static void unknown_option(const char *cmd, const char *arg)
{
	const char *names[sizeof(longopts) / sizeof(*longopts)];
	size_t n = 0;
	for (const struct option *o = longopts; o->name; o++)
		names[n++] = o->name;
	const char *word = arg;
	while (*word == '-')
		word++;
	struct strbuf key;
	strbuf_init(&key);
	strbuf_add(&key, word, strcspn(word, "="));
	const char *near = arg[1] == '-' ? weave_args_closest(key.buf, names, n) : NULL;
	if (near)
		fprintf(stderr, "weft %s: unknown option '%s'; did you mean --%s? (see 'weft %s --help')\n",
			cmd, arg, near, cmd);
	else
		fprintf(stderr, "weft %s: unknown option '%s' (see 'weft %s --help')\n", cmd, arg, cmd);
	strbuf_free(&key);
}

/* Output format names people type for the ones weft has. */
static const char *format_alias(const char *format)
{
	static const char *const aliases[][2] = {
		{"md", "markdown"},  {"ipynb", "notebook"}, {"nb", "notebook"},
		{"latex", "tex"},    {"htm", "html"},       {"rest", "rst"},
		{"restructuredtext", "rst"}, {"jupyter", "notebook"},
	};
	for (size_t i = 0; i < sizeof(aliases) / sizeof(*aliases); i++)
		if (!strcmp(format, aliases[i][0]))
			return aliases[i][1];
	return NULL;
}

/* One line for an unknown output format, pointing at what was probably meant. */
static void unknown_format(const char *cmd, const char *format)
{
	const char *names[64];
	size_t n = render_format_names(names, sizeof(names) / sizeof(*names));
	const char *near = format_alias(format);
	if (!near)
		near = weave_args_closest(format, names, n);
	if (near)
		fprintf(stderr, "weft %s: unknown output format '%s'; did you mean '%s'? "
				"(see 'weft formats')\n", cmd, format, near);
	else
		fprintf(stderr, "weft %s: unknown output format '%s' (see 'weft formats')\n", cmd, format);
}

/* A positive integer option value; -1 when it is not one. */
static int parse_count(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return end == s || *end || v < 1 || v > 1024 ? -1 : (int)v;
}

/* See weave_args.h. */
enum weave_args_result weave_args_parse(struct weave_args *a, int argc, char **argv, bool render)
{
	const char *cmd = render ? "render" : "weave";
	memset(a, 0, sizeof(*a));
	a->embed = true;
	a->jobs = 1;
	a->pc.rebuild = a->rebuild_names = xcalloc((size_t)argc + 1, sizeof(char *));

	optind = 1;
	opterr = 0; /* our own one-line messages */
	int ch;
	while ((ch = getopt_long(argc, argv, ":f:i:o:F:g:k:j:t:mcdqvlh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': a->format = optarg; break;
		case 'i': a->informat = optarg; break;
		case 'o': a->output = optarg; break;
		case 'F': a->figdir = optarg; break;
		case 'g': a->figformat = optarg; break;
		case 'm': a->no_figures = true; break;
		case 'q': a->quiet = true; break;
		case 'v': a->verbose = true; break;
		case 't': break; /* Pweave's notebook text mimetype: weft's prose cells are markdown */
		case 'k': a->pc.kernel = optarg; break;
		case 'c':
		case 'd':
		case OPT_CACHE: a->pc.cache_all = true; break;
		case 'j':
			if ((a->jobs = parse_count(optarg)) < 0) {
				fprintf(stderr, "weft %s: --jobs wants a number from 1 to 1024, not '%s'\n",
					cmd, optarg);
				return WEAVE_ARGS_USAGE;
			}
			break;
		case OPT_NO_EMBED: a->embed = false; break;
		case OPT_LATEX_ENGINE: a->latex_engine = optarg; break;
		case OPT_KEEP_TEX: a->keep_tex = true; break;
		case OPT_TIMEOUT: {
			char *end;
			a->pc.timeout = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(a->pc.timeout) || a->pc.timeout < 0) {
				fprintf(stderr, "weft %s: --timeout wants seconds, not '%s'\n", cmd, optarg);
				return WEAVE_ARGS_USAGE;
			}
			break;
		}
		case OPT_PYTHON: a->pc.python = optarg; break;
		case OPT_NO_CACHE: a->pc.no_cache = true; break;
		case OPT_CACHE_DIR: a->pc.cache_dir = optarg; break;
		case OPT_REBUILD: a->rebuild_names[a->pc.nrebuild++] = optarg; break;
		case OPT_FROZEN: a->pc.frozen = true; break;
		case OPT_EXPLAIN: a->pc.explain = true; break;
		case OPT_SUMMARY: a->summary = optarg; break;
		case 'l':
			render_list_formats(stdout);
			return WEAVE_ARGS_DONE;
		case 'h':
			weave_args_usage(stdout);
			return WEAVE_ARGS_DONE;
		case ':':
			fprintf(stderr, "weft %s: option '%s' needs a value (see 'weft %s --help')\n", cmd,
				argv[optind - 1], cmd);
			return WEAVE_ARGS_USAGE;
		default:
			unknown_option(cmd, optopt && optopt != '?' ? (char[]){'-', (char)optopt, 0}
								     : argv[optind - 1]);
			return WEAVE_ARGS_USAGE;
		}
	}
	a->files = (const char **)argv + optind;
	a->nfiles = (size_t)(argc - optind);
	if (!a->nfiles) {
		fprintf(stderr, "weft %s: no %s given (see 'weft %s --help')\n", cmd,
			render ? "folder or document" : "document", cmd);
		return WEAVE_ARGS_USAGE;
	}
	bool several = a->nfiles > 1 || render;
	if (several && (a->output || a->summary)) {
		fprintf(stderr, "weft %s: %s names one file, so it takes one document, not several\n", cmd,
			a->output ? "-o" : "--summary-json");
		return WEAVE_ARGS_USAGE;
	}
	if (a->pc.no_cache && (a->pc.frozen || a->pc.cache_all || a->pc.nrebuild)) {
		fprintf(stderr, "weft %s: --no-cache cannot be combined with %s\n", cmd,
			a->pc.frozen ? "--frozen" : a->pc.cache_all ? "--cache" : "--rebuild");
		return WEAVE_ARGS_USAGE;
	}
	if (a->pc.kernel && a->pc.python) {
		fprintf(stderr, "weft %s: --kernel cannot be combined with --python\n", cmd);
		return WEAVE_ARGS_USAGE;
	}
	if (a->format && !render_format_known(a->format)) {
		unknown_format(cmd, a->format);
		return WEAVE_ARGS_USAGE;
	}
	if (a->figformat && strcmp(a->figformat, "png") && strcmp(a->figformat, "svg") &&
	    strcmp(a->figformat, "pdf")) {
		fprintf(stderr, "weft %s: --figure-format must be png, svg or pdf, not '%s'\n", cmd,
			a->figformat);
		return WEAVE_ARGS_USAGE;
	}
	if (a->informat && strcmp(a->informat, "markdown") && strcmp(a->informat, "noweb") &&
	    strcmp(a->informat, "script") && strcmp(a->informat, "notebook")) {
		fprintf(stderr, "weft %s: --input-format must be markdown, noweb, script or notebook, "
				"not '%s'\n", cmd, a->informat);
		return WEAVE_ARGS_USAGE;
	}
	return WEAVE_ARGS_OK;
}

/* See weave_args.h. */
void weave_args_free(struct weave_args *a)
{
	free(a->rebuild_names);
	a->rebuild_names = NULL;
	a->pc.rebuild = NULL;
}
