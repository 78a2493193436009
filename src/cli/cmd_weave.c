/* cmd_weave: `weft weave`, `weft tangle`, `weft formats`; see commands.h. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/store.h"
#include "engine/kernel_runtime.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "model/document.h"
#include "planner/planner.h"
#include "render/highlight.h"
#include "render/render.h"
#include "render/tangle.h"
#include "util/error.h"
#include "util/fsutil.h"
#include "reader/load.h"

static const char weave_usage[] =
	"usage: weft [weave] [options] FILE\n"
	"\n"
	"Run the code chunks of FILE (Pweave markdown, noweb, #' script or notebook)\n"
	"and weave code, output and figures into a report.\n"
	"\n"
	"  -f, --format FORMAT       output format (default by extension, as Pweave; see 'weft formats')\n"
	"  -i, --input-format FMT    markdown, noweb, script or notebook (default: by extension)\n"
	"  -o, --output PATH         report path (default: FILE with the format's extension)\n"
	"  -F, --figure-dir DIR      figure folder, relative to the report (default: figures)\n"
	"  -g, --figure-format FMT   png, svg or pdf (default: pdf for LaTeX, png otherwise)\n"
	"      --no-embed            html: link figures instead of embedding them\n"
	"      --timeout SECONDS     stop a chunk that runs longer (default: no limit)\n"
	"      --python PATH         run chunks with this (virtualenv) python's packages\n"
	"      --kernel NAME         run chunks in the Jupyter kernel NAME (e.g. python3, ir);\n"
	"                            the chunk cache works with Python kernels only\n"
	"      --cache               cache every chunk (cache=True by default)\n"
	"      --no-cache            no cache at all: run every chunk, read and write no cache\n"
	"      --cache-dir DIR       cache folder (default: $WEFT_CACHE_DIR, else .weft-cache/ beside FILE)\n"
	"      --rebuild NAME        re-run chunk NAME even if cached (repeatable)\n"
	"      --frozen              render from the cache, run nothing; list stale chunks\n"
	"      --explain             print why each chunk runs or is taken from the cache\n"
	"      --summary-json PATH   write a JSON record of what happened to each chunk\n"
	"  -q, --quiet               no progress lines\n"
	"  -h, --help                this help\n"
	"\n"
	"Exit status: 0 ok; 1 a chunk raised (unless error=True), crashed or timed out;\n"
	"2 bad usage or unreadable document.\n";

/* Default output path: the document with extension `ext`, as Pweave. */
static char *default_output(const char *doc, const char *ext)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addstr(&sb, doc);
	const char *slash = strrchr(sb.buf, '/');
	char *dot = strrchr(sb.buf, '.');
	if (dot && (!slash || dot > slash))
		strbuf_setlen(&sb, (size_t)(dot - sb.buf));
	strbuf_addf(&sb, ".%s", ext);
	return strbuf_detach(&sb, NULL);
}

/* Report each failed chunk as "file:line: chunk NAME raised TYPE: message"; count those that fail the render. */
static int report_failures(const struct document *doc, const struct weave_results *res)
{
	int failures = 0;
	for (size_t i = 0; i < doc->nchunks; i++) {
		const struct chunk *c = document_chunk_const(doc, i);
		const struct chunk_outcome *o = &res->chunks[i];
		char name[128];
		progress_chunk_name(c, name, sizeof(name));
		int line = o->error_line ? o->error_line : c->code_line;
		switch (o->status) {
		case RUN_OK:
			break;
		case RUN_ERROR:
			if (c->opts.error)
				break;
			fprintf(stderr, "%s:%d: chunk %s raised %s: %s\n", doc->path, line, name,
				o->error_type ? o->error_type : "Exception",
				o->error_message ? o->error_message : "");
			failures++;
			break;
		case RUN_CRASHED:
		case RUN_TIMEOUT:
			fprintf(stderr, "%s:%d: chunk %s %s: %s\n", doc->path, line, name,
				o->status == RUN_TIMEOUT ? "timed out" : "crashed",
				o->error_message ? o->error_message : "");
			failures++;
			break;
		}
	}
	for (size_t i = 0; i < res->ninline; i++) {
		const struct inline_outcome *io = &res->inl[i];
		if (io->done && io->status != RUN_OK) {
			fprintf(stderr, "%s: inline code %zu failed: %s\n", doc->path, i + 1,
				io->error_message ? io->error_message : "");
			failures++;
		}
	}
	if (res->stopped_at >= 0)
		fprintf(stderr, "%s: execution stopped at chunk %d; later chunks were not run\n",
			doc->path, res->stopped_at + 1);
	return failures;
}

/*
 * --frozen: list the chunks whose shown results may not be what a run would
 * give (stale) or that show none (not cached), even with -q: that is what
 * --frozen promises. They do not change the exit status.
 */
static void report_frozen(const struct document *doc, const struct weave_results *res)
{
	for (size_t i = 0; i < doc->nchunks; i++) {
		const struct chunk *c = document_chunk_const(doc, i);
		const struct chunk_outcome *o = &res->chunks[i];
		if (o->state != CHUNK_STALE && o->state != CHUNK_SKIPPED)
			continue;
		char name[128];
		progress_chunk_name(c, name, sizeof(name));
		const char *why = o->why ? o->why : "";
		if (!strncmp(why, "stale: ", 7))
			why += 7;
		fprintf(stderr, "%s:%d: chunk %s %s (--frozen): %s\n", doc->path,
			c->header_line ? c->header_line : c->code_line, name,
			o->state == CHUNK_STALE ? "is stale" : "has no results", why);
	}
}

/* Highlighter memo in the cache store, so unchanged code never restarts Pygments. */
static int highlight_memo_get(void *ctx, const char *key, struct strbuf *out)
{
	json_t *v = NULL;
	if (store_memo_get(ctx, "highlight", key, &v, NULL) != 1)
		return -1;
	int rc = json_is_string(v) ? 0 : -1;
	if (rc == 0)
		strbuf_add(out, json_string_value(v), json_string_length(v));
	json_decref(v);
	return rc;
}

static void highlight_memo_put(void *ctx, const char *key, const char *value, size_t len)
{
	json_t *v = json_stringn(value, len);
	store_memo_put(ctx, "highlight", key, v, NULL);
	json_decref(v);
}

enum {
	OPT_NO_EMBED = 256,
	OPT_TIMEOUT,
	OPT_PYTHON,
	OPT_KERNEL,
	OPT_CACHE,
	OPT_NO_CACHE,
	OPT_CACHE_DIR,
	OPT_REBUILD,
	OPT_FROZEN,
	OPT_EXPLAIN,
	OPT_SUMMARY,
};

int cmd_weave(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"input-format", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"figure-dir", required_argument, NULL, 'F'},
		{"figure-format", required_argument, NULL, 'g'},
		{"no-embed", no_argument, NULL, OPT_NO_EMBED},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"python", required_argument, NULL, OPT_PYTHON},
		{"kernel", required_argument, NULL, OPT_KERNEL},
		{"cache", no_argument, NULL, OPT_CACHE},
		{"no-cache", no_argument, NULL, OPT_NO_CACHE},
		{"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
		{"rebuild", required_argument, NULL, OPT_REBUILD},
		{"frozen", no_argument, NULL, OPT_FROZEN},
		{"explain", no_argument, NULL, OPT_EXPLAIN},
		{"summary-json", required_argument, NULL, OPT_SUMMARY},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *format = NULL, *informat = NULL, *output = NULL, *figdir = "figures";
	const char *figformat = NULL, *summary = NULL;
	bool embed = true, quiet = false;
	struct planner_config pc = {0};
	const char **rebuild = xcalloc((size_t)argc, sizeof(char *));
	pc.rebuild = rebuild;

	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "f:i:o:F:g:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': format = optarg; break;
		case 'i': informat = optarg; break;
		case 'o': output = optarg; break;
		case 'F': figdir = optarg; break;
		case 'g': figformat = optarg; break;
		case 'q': quiet = true; break;
		case OPT_NO_EMBED: embed = false; break;
		case OPT_TIMEOUT: {
			char *end;
			pc.timeout = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(pc.timeout) || pc.timeout < 0) {
				fprintf(stderr, "weft: --timeout wants seconds, not '%s'\n", optarg);
				free(rebuild);
				return 2;
			}
			break;
		}
		case OPT_PYTHON: pc.python = optarg; break;
		case OPT_KERNEL: pc.kernel = optarg; break;
		case OPT_CACHE: pc.cache_all = true; break;
		case OPT_NO_CACHE: pc.no_cache = true; break;
		case OPT_CACHE_DIR: pc.cache_dir = optarg; break;
		case OPT_REBUILD: rebuild[pc.nrebuild++] = optarg; break;
		case OPT_FROZEN: pc.frozen = true; break;
		case OPT_EXPLAIN: pc.explain = true; break;
		case OPT_SUMMARY: summary = optarg; break;
		case 'h':
			fputs(weave_usage, stdout);
			free(rebuild);
			return 0;
		default:
			fputs(weave_usage, stderr);
			free(rebuild);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(weave_usage, stderr);
		free(rebuild);
		return 2;
	}
	const char *path = argv[optind];
	if (pc.no_cache && (pc.frozen || pc.cache_all || pc.nrebuild)) {
		fprintf(stderr, "weft: --no-cache cannot be combined with %s\n",
			pc.frozen ? "--frozen" : pc.cache_all ? "--cache" : "--rebuild");
		free(rebuild);
		return 2;
	}
	if (pc.kernel && (pc.frozen || pc.python)) {
		fprintf(stderr, "weft: --kernel cannot be combined with %s\n",
			pc.frozen ? "--frozen" : "--python");
		free(rebuild);
		return 2;
	}
	if (!format)
		format = render_default_format(path);
	if (!render_format_known(format)) {
		fprintf(stderr, "weft: unknown output format '%s' (see 'weft formats')\n", format);
		free(rebuild);
		return 2;
	}
	if (!figformat)
		figformat = render_default_figure_format(format);
	if (strcmp(figformat, "png") && strcmp(figformat, "svg") && strcmp(figformat, "pdf")) {
		fprintf(stderr, "weft: --figure-format must be png, svg or pdf, not '%s'\n", figformat);
		free(rebuild);
		return 2;
	}
	pc.fig_format = figformat;

	int status = 2;
	struct weft_error err;
	weft_error_init(&err);
	struct document doc;
	document_init(&doc);
	struct weave_results res;
	memset(&res, 0, sizeof(res));
	struct strbuf report;
	strbuf_init(&report);
	char *outpath = output ? xstrdup(output) : default_output(path, render_extension(format));
	struct highlighter hl;
	highlighter_init(&hl, NULL);
	struct store *store = NULL;

	if (!strcmp(outpath, path) || fs_same_file(outpath, path)) {
		fprintf(stderr, "weft: the report would overwrite %s; choose another path with -o\n", path);
		goto out;
	}
	if (summary && (!strcmp(summary, path) || fs_same_file(summary, path) ||
			!strcmp(summary, outpath) || fs_same_file(summary, outpath))) {
		fprintf(stderr, "weft: --summary-json %s would overwrite %s; choose another path\n",
			summary, !strcmp(summary, path) || fs_same_file(summary, path) ? path : outpath);
		goto out;
	}
	if (document_read(&doc, path, informat, &err) < 0) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	weave_results_init(&res, doc.nchunks, doc.ninline);
	if (pc.kernel && planner_uses_cache(&doc, &pc) && !kernel_runtime_cacheable(pc.kernel))
		/* The cache's keys and saved names come from weft's runtime, which needs Python. */
		weft_warn(path, 0, "--kernel %s: the chunk cache needs weft's Python runtime (a Python kernel "
			  "or the embedded engine); caching is off for this render (every chunk runs)", pc.kernel);
	else if (planner_uses_cache(&doc, &pc)) {
		if (planner_open_store(&doc, &pc, &store, &err) < 0) {
			fprintf(stderr, "weft: %s\n", weft_error_text(&err));
			goto out;
		}
		pc.store = store;
		highlighter_set_memo(&hl, highlight_memo_get, highlight_memo_put, store);
	}

	struct progress prog;
	progress_init(&prog, quiet, pc.explain);
	pc.progress = progress_event;
	pc.progress_ctx = &prog;
	if (planner_weave(&doc, &pc, &res, &err) < 0) {
		progress_finish(&prog);
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	progress_finish(&prog);

	struct render_options ro = {
		.format = format,
		.output_path = outpath,
		.figure_dir = figdir,
		.figure_format = figformat,
		.embed_figures = embed,
		.version = WEFT_VERSION,
		.highlight = highlight_code,
		.highlight_ctx = &hl,
	};
	if (render_document(&doc, &res, &ro, &report, &err) < 0 ||
	    fs_write_if_changed(outpath, report.buf, report.len, &err) < 0) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	if (summary && planner_write_summary(&doc, &res, summary, &err) < 0) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "weft: wrote %s\n", outpath);
	status = report_failures(&doc, &res) ? 1 : 0;
	if (pc.frozen)
		report_frozen(&doc, &res);
out:
	highlighter_free(&hl);
	store_close(store);
	free(outpath);
	strbuf_free(&report);
	if (res.chunks)
		weave_results_free(&res);
	document_free(&doc);
	weft_error_free(&err);
	free(rebuild);
	return status;
}

int cmd_tangle(int argc, char **argv)
{
	const char *output = NULL, *informat = NULL;
	optind = 1;
	int ch;
	while ((ch = getopt(argc, argv, "o:i:h")) != -1) {
		switch (ch) {
		case 'o': output = optarg; break;
		case 'i': informat = optarg; break;
		case 'h':
			puts("usage: weft tangle [-i FORMAT] [-o OUT] FILE   (default OUT: FILE.py)");
			return 0;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fputs("usage: weft tangle [-i FORMAT] [-o OUT] FILE\n", stderr);
		return 2;
	}
	const char *path = argv[optind];
	struct weft_error err;
	weft_error_init(&err);
	struct document doc;
	document_init(&doc);
	struct strbuf code;
	strbuf_init(&code);
	char *outpath = output ? xstrdup(output) : default_output(path, "py");
	int status = 2;
	if (!strcmp(outpath, path) || fs_same_file(outpath, path)) {
		fprintf(stderr, "weft: tangling would overwrite %s; choose another path with -o\n", path);
	} else if (document_read(&doc, path, informat, &err) < 0 ||
		   tangle_document(&doc, &code) < 0 ||
		   fs_write_atomic(outpath, code.buf, code.len, &err) < 0) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
	} else {
		fprintf(stderr, "weft: wrote %s\n", outpath);
		status = 0;
	}
	free(outpath);
	strbuf_free(&code);
	document_free(&doc);
	weft_error_free(&err);
	return status;
}

int cmd_formats(int argc, char **argv)
{
	render_list_formats(stdout);
	return 0;
}
