/* cmd_weave: `weft weave`, `weft render`, `weft tangle`, `weft formats`; see commands.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache/store.h"
#include "engine/kernel_runtime.h"
#include "cli/commands.h"
#include "cli/doc_list.h"
#include "engine/engine_select.h"
#include "engine/jupyter_kernelspec.h"
#include "cli/progress.h"
#include "cli/weave_args.h"
#include "model/document.h"
#include "planner/planner.h"
#include "render/highlight.h"
#include "render/pdf.h"
#include "render/render.h"
#include "render/tangle.h"
#include "util/error.h"
#include "util/forkcheck.h"
#include "util/fsutil.h"
#include "reader/load.h"

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

/* The document line of inline span `index`'s opener, 0 when not found. */
static int inline_span_line(const struct document *doc, size_t index)
{
	for (size_t b = 0; b < doc->nblocks; b++) {
		const struct text_block *tb = &doc->blocks[b].text;
		if (doc->blocks[b].kind != BLOCK_TEXT)
			continue;
		for (size_t i = 0; i < tb->nsegs; i++)
			if (tb->segs[i].kind != SEG_TEXT && tb->segs[i].inline_index == (int)index)
				return tb->segs[i].line;
	}
	return 0;
}

/*
 * Report each failure as "file:line: chunk 1 raised TYPE: message" (or
 * "chunk 'name'", "inline code failed"); count those that fail the render.
 */
static int report_failures(const struct document *doc, const struct weave_results *res)
{
	int failures = 0;
	for (size_t i = 0; i < doc->nchunks; i++) {
		const struct chunk *c = document_chunk_const(doc, i);
		const struct chunk_outcome *o = &res->chunks[i];
		char name[160];
		progress_chunk_label(c, name, sizeof(name));
		int line = o->error_line ? o->error_line : c->code_line;
		switch (o->status) {
		case RUN_OK:
			break;
		case RUN_ERROR:
			if (c->opts.error)
				break;
			fprintf(stderr, "%s:%d: %s raised %s: %s\n", doc->path, line, name,
				o->error_type ? o->error_type : "Exception",
				o->error_message ? o->error_message : "");
			failures++;
			break;
		case RUN_CRASHED:
		case RUN_TIMEOUT:
			fprintf(stderr, "%s:%d: %s %s: %s\n", doc->path, line, name,
				o->status == RUN_TIMEOUT ? "timed out" : "crashed",
				o->error_message ? o->error_message : "");
			failures++;
			break;
		}
	}
	for (size_t i = 0; i < res->ninline; i++) {
		const struct inline_outcome *io = &res->inl[i];
		if (io->done && io->status != RUN_OK) {
			fprintf(stderr, "%s:%d: inline code failed: %s\n", doc->path,
				io->error_line ? io->error_line : inline_span_line(doc, i),
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
		char name[160];
		progress_chunk_label(c, name, sizeof(name));
		const char *why = o->why ? o->why : "";
		if (!strncmp(why, "stale: ", 7))
			why += 7;
		fprintf(stderr, "%s:%d: %s %s (--frozen): %s\n", doc->path,
			c->header_line ? c->header_line : c->code_line, name,
			o->state == CHUNK_STALE ? "is stale" : "has no results", why);
	}
	for (size_t b = 0; b < doc->nblocks; b++) {
		const struct text_block *tb = &doc->blocks[b].text;
		if (doc->blocks[b].kind != BLOCK_TEXT)
			continue;
		for (size_t k = 0; k < tb->nsegs; k++) {
			const struct text_segment *sg = &tb->segs[k];
			if (sg->kind != SEG_TEXT && sg->inline_index >= 0 &&
			    (size_t)sg->inline_index < res->ninline && res->inl[sg->inline_index].stale)
				fprintf(stderr, "%s:%d: inline code is stale (--frozen): the report shows its last "
						"cached value, marked 'stale'\n", doc->path, sg->line);
		}
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

/* `rel` (a document setting) relative to the document's folder; absolute paths kept. Owned. */
static char *document_relative_path(const char *doc_path, const char *rel)
{
	const char *slash = strrchr(doc_path, '/');
	struct strbuf sb;
	strbuf_init(&sb);
	if (rel[0] != '/' && slash)
		strbuf_add(&sb, doc_path, (size_t)(slash - doc_path + 1));
	strbuf_addstr(&sb, rel);
	return strbuf_detach(&sb, NULL);
}

/* What one document's render came to, for the summary line and the total. */
struct weave_tally {
	int ran, cached, replayed, failed;
	double seconds;         /* wall time of the whole render */
};

/* Monotonic seconds, for wall times. */
static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Count the outcomes of a finished render into `t`. */
static void tally_results(const struct document *doc, const struct weave_results *res,
			  struct weave_tally *t)
{
	for (size_t i = 0; i < doc->nchunks; i++) {
		const struct chunk_outcome *o = &res->chunks[i];
		const struct chunk *c = document_chunk_const(doc, i);
		if (o->state == CHUNK_RAN)
			t->ran++;
		else if (o->state == CHUNK_CACHED || o->state == CHUNK_STALE)
			t->cached++;
		else if (o->state == CHUNK_REPLAYED)
			t->replayed++;
		if (o->status != RUN_OK && !(o->status == RUN_ERROR && c->opts.error))
			t->failed++;
	}
	for (size_t i = 0; i < res->ninline; i++)
		if (res->inl[i].done && res->inl[i].status != RUN_OK)
			t->failed++;
}

/* "3 ran, 2 cached, 1 replayed, 1 failed in 0.52s" (parts that are zero left out, but one kept). */
static void tally_text(const struct weave_tally *t, struct strbuf *sb)
{
	size_t start = sb->len;
	const struct { int n; const char *what; } parts[] = {
		{t->ran, "ran"}, {t->cached, "cached"}, {t->replayed, "replayed"}, {t->failed, "failed"},
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(*parts); i++)
		if (parts[i].n)
			strbuf_addf(sb, "%s%d %s", sb->len > start ? ", " : "", parts[i].n, parts[i].what);
	if (sb->len == start)
		strbuf_addstr(sb, "nothing to run");
	strbuf_addf(sb, " in %.2fs", t->seconds);
}

/*
 * --rebuild names must be chunks of the document: a misspelt name that
 * silently rebuilt nothing would leave the user trusting a result weft never
 * re-checked.
 */
static int check_rebuild_names(const struct document *doc, const struct planner_config *pc)
{
	for (size_t i = 0; i < pc->nrebuild; i++) {
		if (document_find_chunk(doc, pc->rebuild[i]))
			continue;
		struct strbuf names;
		strbuf_init(&names);
		for (size_t k = 0; k < doc->nchunks; k++) {
			const struct chunk *c = document_chunk_const(doc, k);
			if (c->opts.name)
				strbuf_addf(&names, "%s%s", names.len ? ", " : "", c->opts.name);
		}
		fprintf(stderr, "weft: --rebuild %s: %s has no chunk of that name (%s%s)\n", pc->rebuild[i],
			doc->path, names.len ? "named chunks: " : "it has no named chunks",
			names.len ? names.buf : "");
		strbuf_free(&names);
		return -1;
	}
	return 0;
}

/*
 * Render one document with the parsed arguments: read, run (or take from the
 * cache), render, write. `one_of_many` turns the progress lines off when
 * documents render at once (their lines would interleave) and the "wrote"
 * line into a summary line naming the document. Returns the exit status.
 */
static int weave_one(const struct weave_args *a, const char *path, bool one_of_many, bool live,
		     struct weave_tally *tally)
{
	double start = now_seconds();
	struct planner_config pc = a->pc;
	bool to_stdout = a->output && !strcmp(a->output, "-");
	bool quiet = a->quiet || to_stdout || !live;

	int status = 2;
	struct weft_error err;
	weft_error_init(&err);
	struct document doc;
	document_init(&doc);
	struct weave_results res;
	memset(&res, 0, sizeof(res));
	struct strbuf report;
	strbuf_init(&report);
	char *outpath = NULL;
	bool latex_failed = false;
	struct highlighter hl;
	highlighter_init(&hl, NULL);
	struct store *store = NULL;
	struct jupyter_kernelspec nbspec; /* the notebook's kernelspec metadata (--kernel) */
	jupyter_kernelspec_init(&nbspec);

	if (document_read(&doc, path, a->informat, &err) < 0) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	/* the command line, else the document's settings (front matter, _weft.yml, config.yaml) */
	const struct doc_settings *ds = &doc.settings;
	const char *format = a->format ? a->format : ds->format ? ds->format : render_default_format(path);
	if (!render_format_known(format)) {
		fprintf(stderr, "weft: %s: format '%s' (from its settings) is not a weft output format "
				"(see 'weft formats')\n", path, format);
		goto out;
	}
	const char *figformat = a->figformat ? a->figformat
			      : ds->figure_format ? ds->figure_format
			      : render_default_figure_format(format);
	if (!strcmp(figformat, "pdf") && render_format_is_html(format)) {
		fprintf(stderr, "weft: %s: -g pdf with %s: browsers do not show PDF images; use -g svg "
				"(vector) or -g png\n", path, format);
		goto out;
	}
	const char *latex_engine = a->latex_engine ? a->latex_engine : ds->latex_engine;
	if (!strcmp(figformat, "svg") && !strcmp(format, "pdf")) {
		fprintf(stderr, "weft: %s: -g svg with pdf: LaTeX cannot include SVG images; use -g pdf "
				"(vector, the default) or -g png\n", path);
		goto out;
	}
	if (!strcmp(format, "pdf")) { /* the TeX engine first: nothing runs when it is missing */
		struct strbuf engine;
		strbuf_init(&engine);
		int found = pdf_find_engine(latex_engine, path, &engine, &err);
		strbuf_free(&engine);
		if (found < 0) {
			fprintf(stderr, "weft: %s\n", weft_error_text(&err));
			goto out;
		}
	}
	pc.fig_format = figformat;
	if (!pc.kernel)
		pc.kernel = ds->kernel;
	const char *figdir = a->figdir ? a->figdir : ds->figure_dir ? ds->figure_dir : "figures";
	/* with -o -, figures still go beside where the report would have been */
	if (a->output && !to_stdout)
		outpath = xstrdup(a->output);
	else if (ds->output && !to_stdout)
		outpath = document_relative_path(path, ds->output);
	else
		outpath = default_output(path, render_extension(format));

	if (!to_stdout && (!strcmp(outpath, path) || fs_same_file(outpath, path))) {
		fprintf(stderr, "weft: the report would overwrite %s; choose another path with -o\n", path);
		goto out;
	}
	struct stat out_st; /* before any chunk runs, not after: the write would fail anyway */
	if (!to_stdout && stat(outpath, &out_st) == 0 && S_ISDIR(out_st.st_mode)) {
		fprintf(stderr, "weft: %s: the report's path is a folder; give -o a file name\n", outpath);
		goto out;
	}
	if (a->summary && (!strcmp(a->summary, path) || fs_same_file(a->summary, path) ||
			   (!to_stdout && (!strcmp(a->summary, outpath) || fs_same_file(a->summary, outpath))))) {
		fprintf(stderr, "weft: --summary-json %s would overwrite %s; choose another path\n",
			a->summary, !strcmp(a->summary, path) || fs_same_file(a->summary, path) ? path : outpath);
		goto out;
	}
	if (check_rebuild_names(&doc, &pc) < 0)
		goto out;
	if (a->no_figures) /* before any key is made: fig is part of every chunk's key */
		for (size_t i = 0; i < doc.nchunks; i++)
			document_chunk(&doc, i)->opts.fig = false;
	weave_results_init(&res, doc.nchunks, doc.ninline);
	/* Chunks that name no language are in --kernel's (highlighting follows it). */
	struct engine_selector sel;
	engine_selector_init(&sel, pc.kernel);
	struct engine_choice py;
	int sel_rc = engine_select_apply_default(&sel, &doc, &err);
	engine_select(&sel, "python", &py);
	engine_selector_free(&sel);
	if (sel_rc == 0 && pc.kernel)
		sel_rc = jupyter_kernelspec_find(&nbspec, pc.kernel, &err);
	if (sel_rc < 0) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	bool python_kernel = py.kind == ENGINE_KIND_PYKERNEL;
	if (python_kernel && pc.frozen) {
		/* --frozen runs nothing, yet keys come from the analysis the kernel's runtime makes */
		fprintf(stderr, "weft: --kernel %s cannot be combined with --frozen\n", pc.kernel);
		goto out;
	}
	if (python_kernel && planner_uses_cache(&doc, &pc) && !kernel_runtime_cacheable(pc.kernel))
		/* The cache's keys and saved names come from weft's runtime's Python-side ops. */
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
	progress_init(&prog, quiet, pc.explain && live, a->verbose);
	pc.progress = progress_event;
	pc.waiting = progress_waiting;
	pc.streamed = progress_streamed;
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
		.embed_figures = a->embed,
		.version = WEFT_VERSION,
		.highlight = highlight_code,
		.highlight_ctx = &hl,
		.kernel_name = nbspec.name,
		.kernel_display_name = nbspec.display_name,
		.kernel_language = nbspec.language,
		.latex_engine = latex_engine,
		.keep_tex = a->keep_tex,
	};
	if (render_document(&doc, &res, &ro, &report, &err) < 0 ||
	    (!to_stdout && fs_make_parent_dirs(outpath, &err) < 0)) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		latex_failed = pdf_error_is_latex(&err); /* the document's LaTeX: exit 1, as a failed chunk */
		goto out;
	}
	if (to_stdout ? fs_write_all(STDOUT_FILENO, report.buf, report.len) < 0
		      : fs_write_if_changed(outpath, report.buf, report.len, &err) < 0) {
		if (to_stdout)
			weft_error_errno(&err, "standard output", "cannot write the report");
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	if (a->summary && planner_write_summary(&doc, &res, a->summary, &err) < 0) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	status = report_failures(&doc, &res) ? 1 : 0;
	if (pc.frozen)
		report_frozen(&doc, &res);
	tally_results(&doc, &res, tally);
out:
	tally->seconds = now_seconds() - start;
	if (status != 2 && (!a->quiet || one_of_many) && !to_stdout && outpath) {
		struct strbuf line;
		strbuf_init(&line);
		tally_text(tally, &line);
		if (one_of_many)
			fprintf(stderr, "weft: %s %s %s: %s\n", status ? "FAILED" : "ok", path,
				outpath, line.buf);
		else
			fprintf(stderr, "weft: wrote %s: %s\n", outpath, line.buf);
		strbuf_free(&line);
	} else if (status == 2 && one_of_many) {
		fprintf(stderr, "weft: FAILED %s: not rendered\n", path);
	}
	if (latex_failed)
		status = 1;
	jupyter_kernelspec_free(&nbspec);
	highlighter_free(&hl);
	store_close(store);
	free(outpath);
	strbuf_free(&report);
	if (res.chunks)
		weave_results_free(&res);
	document_free(&doc);
	weft_error_free(&err);
	return status;
}

/* The exit status of several documents: the worst (2 beats 1 beats 0). */
static int worse(int a, int b)
{
	return a > b ? a : b;
}

/*
 * Render documents[0..n) with up to a->jobs at once, one child process each
 * (the parent is single-threaded; each child starts its own engine), and
 * print the total. Documents share the cache (the store is safe for
 * concurrent renders); the exit status is the worst of them.
 */
static int weave_many(const struct weave_args *a, const char *const *docs, size_t n)
{
	double start = now_seconds();
	struct weave_tally total = {0};
	int status = 0;
	size_t ok = 0, failed = 0;
	if (a->jobs <= 1) {
		for (size_t i = 0; i < n; i++) {
			struct weave_tally t = {0};
			int st = weave_one(a, docs[i], true, !a->quiet, &t);
			status = worse(status, st);
			st ? failed++ : ok++;
			total.ran += t.ran;
			total.cached += t.cached;
			total.replayed += t.replayed;
			total.failed += t.failed;
		}
	} else {
		size_t next = 0, running = 0;
		fflush(NULL);
		while (next < n || running) {
			while (running < (size_t)a->jobs && next < n) {
				struct weft_error err;
				weft_error_init(&err);
				if (forkcheck_single_threaded("weft -j", &err) < 0) {
					fprintf(stderr, "weft: %s\n", weft_error_text(&err));
					weft_error_free(&err);
					return 2;
				}
				weft_error_free(&err);
				pid_t pid = fork();
				if (pid < 0) {
					perror("weft: fork");
					return 2;
				}
				if (pid == 0) {
					struct weave_tally t = {0};
					int st = weave_one(a, docs[next], true, false, &t);
					fflush(NULL);
					_exit(st);
				}
				next++;
				running++;
			}
			int wstatus;
			pid_t done = wait(&wstatus);
			if (done < 0)
				break;
			running--;
			int st = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 2;
			if (!WIFEXITED(wstatus))
				fprintf(stderr, "weft: a render process died (signal %d)\n", WTERMSIG(wstatus));
			status = worse(status, st);
			st ? failed++ : ok++;
		}
	}
	total.seconds = now_seconds() - start;
	fprintf(stderr, "weft: %zu document%s: %zu ok, %zu failed", n, n == 1 ? "" : "s", ok, failed);
	if (a->jobs <= 1) {
		struct strbuf line;
		strbuf_init(&line);
		tally_text(&total, &line);
		fprintf(stderr, "; chunks: %s\n", line.buf);
		strbuf_free(&line);
	} else {
		fprintf(stderr, " in %.2fs (-j %d)\n", total.seconds, a->jobs);
	}
	return status;
}

/* `weft [weave] FILE...` and `weft render DIR|FILE...`. */
static int weave_command(int argc, char **argv, bool render)
{
	struct weave_args a;
	enum weave_args_result r = weave_args_parse(&a, argc, argv, render);
	if (r != WEAVE_ARGS_OK) {
		weave_args_free(&a);
		return r == WEAVE_ARGS_DONE ? 0 : 2;
	}
	int status;
	if (!render && a.nfiles == 1) {
		struct weave_tally t = {0};
		status = weave_one(&a, a.files[0], false, true, &t);
	} else {
		struct doc_list docs;
		doc_list_init(&docs);
		struct weft_error err;
		weft_error_init(&err);
		if (doc_list_collect(&docs, a.files, a.nfiles, &err) < 0) {
			fprintf(stderr, "weft: %s\n", weft_error_text(&err));
			status = 2;
		} else if (!docs.n) {
			fprintf(stderr, "weft render: no documents found\n");
			status = 2;
		} else {
			status = weave_many(&a, (const char *const *)docs.paths, docs.n);
		}
		weft_error_free(&err);
		doc_list_free(&docs);
	}
	weave_args_free(&a);
	return status;
}

int cmd_weave(int argc, char **argv)
{
	return weave_command(argc, argv, false);
}

int cmd_render(int argc, char **argv)
{
	return weave_command(argc, argv, true);
}

static const char tangle_usage[] =
	"usage: weft tangle [-i FORMAT] [-o OUT] FILE\n"
	"\n"
	"Write the code of FILE's chunks as a Python script (Pweave's ptangle).\n"
	"\n"
	"  -i, --input-format FMT  markdown, noweb, script or notebook (default: by extension)\n"
	"  -o, --output PATH       script path, '-' for standard output (default: FILE.py)\n"
	"  -h, --help              this help\n";

int cmd_tangle(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"input-format", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *output = NULL, *informat = NULL;
	optind = 1;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, ":o:i:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': output = optarg; break;
		case 'i': informat = optarg; break;
		case 'h':
			fputs(tangle_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "weft tangle: option '%s' needs a value (see 'weft tangle --help')\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "weft tangle: unknown option '%s' (see 'weft tangle --help')\n",
				optopt ? (char[]){'-', (char)optopt, 0} : argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "weft tangle: %s (see 'weft tangle --help')\n",
			optind == argc ? "no document given" : "one document at a time");
		return 2;
	}
	const char *path = argv[optind];
	if (!informat && !document_guess_format(path))
		informat = "script"; /* ptangle's default: tangling runs nothing */
	bool to_stdout = output && !strcmp(output, "-");
	struct weft_error err;
	weft_error_init(&err);
	struct document doc;
	document_init(&doc);
	struct strbuf code;
	strbuf_init(&code);
	char *outpath = output ? xstrdup(output) : default_output(path, "py");
	int status = 2;
	if (!to_stdout && (!strcmp(outpath, path) || fs_same_file(outpath, path))) {
		fprintf(stderr, "weft: tangling would overwrite %s; choose another path with -o\n", path);
	} else if (document_read(&doc, path, informat, &err) < 0 || tangle_document(&doc, &code) < 0 ||
		   (to_stdout ? (fs_write_all(STDOUT_FILENO, code.buf, code.len) < 0 &&
				 weft_error_errno(&err, "standard output", "cannot write the code") < 0)
			      : fs_write_atomic(outpath, code.buf, code.len, &err) < 0)) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
	} else {
		if (!to_stdout)
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
