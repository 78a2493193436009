/* cmd_cache: `weft cache status|clean|gc`; see commands.h. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/store.h"
#include "cli/commands.h"
#include "model/document.h"
#include "planner/planner.h"
#include "render/render.h"
#include "reader/load.h"

static const char cache_usage[] =
	"usage: weft cache status [--cache] [--cache-dir DIR] FILE\n"
	"           one row per chunk: name, line, fresh / stale / not cached, and why\n"
	"       weft cache clean [--cache-dir DIR] [FILE]\n"
	"           drop FILE's entries (or, without FILE, the whole cache)\n"
	"       weft cache gc [--cache-dir DIR] [--max-size SIZE] [--wait]\n"
	"           drop unreferenced data, then least recently used entries down to SIZE\n"
	"           (bytes, or with a K, M, G suffix); while renders use the cache, only what\n"
	"           they cannot be using goes, unless --wait: wait until they are done\n";

/* Parse "512M", "2G", "1000" into bytes. -1 when malformed. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	double mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1024.0; end++; break;
	case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
	case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -1;
	*out = (uint64_t)(v * mult);
	return 0;
}

static int open_store_for(const char *doc, const char *dir, struct store **st, struct weft_error *err)
{
	struct strbuf d;
	strbuf_init(&d);
	store_default_dir(doc, dir, &d);
	int rc = store_open(st, d.buf, err);
	strbuf_free(&d);
	return rc;
}

int cmd_cache(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(cache_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	static const struct option longopts[] = {
		{"cache-dir", required_argument, NULL, 'd'},
		{"max-size", required_argument, NULL, 'm'},
		{"wait", no_argument, NULL, 'w'},
		{"cache", no_argument, NULL, 'c'},
		{"python", required_argument, NULL, 'p'},
		{"figure-format", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *python = NULL, *figformat = NULL;
	uint64_t max = STORE_GC_NO_LIMIT;
	bool cache_all = false, wait = false;
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc - 1, argv + 1, "g:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'c': cache_all = true; break;
		case 'w': wait = true; break;
		case 'p': python = optarg; break;
		case 'g': figformat = optarg; break;
		case 'm':
			if (parse_size(optarg, &max) < 0) {
				fprintf(stderr, "weft: --max-size wants a size like 500M, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': fputs(cache_usage, stdout); return 0;
		default: fputs(cache_usage, stderr); return 2;
		}
	}
	int nargs = argc - 1 - optind;
	char **args = argv + 1 + optind;
	struct weft_error err;
	weft_error_init(&err);
	struct store *st = NULL;
	int status = 1;

	if (!strcmp(sub, "status")) {
		if (nargs != 1) {
			fputs(cache_usage, stderr);
			return 2;
		}
		struct document doc;
		document_init(&doc);
		struct planner_config pc = {.python = python, .cache_all = cache_all, .cache_dir = dir};
		pc.fig_format = figformat ? figformat : render_default_figure_format(render_default_format(args[0]));
		if (document_read(&doc, args[0], NULL, &err) < 0 || planner_status(&doc, &pc, stdout, &err) < 0)
			fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		else
			status = 0;
		document_free(&doc);
	} else if (!strcmp(sub, "clean")) {
		if (nargs > 1) {
			fputs(cache_usage, stderr);
			return 2;
		}
		uint64_t removed = 0;
		char real[PATH_MAX];
		const char *doc = nargs ? (realpath(args[0], real) ? real : args[0]) : NULL;
		if (open_store_for(doc, dir, &st, &err) < 0 || store_clean(st, doc, &removed, &err) < 0) {
			fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		} else {
			printf("removed %llu entr%s%s\n", (unsigned long long)removed, removed == 1 ? "y" : "ies",
			       doc ? "" : " (whole cache)");
			status = 0;
		}
	} else if (!strcmp(sub, "gc")) {
		if (nargs) {
			fputs(cache_usage, stderr);
			return 2;
		}
		struct store_gc_report rep;
		memset(&rep, 0, sizeof(rep));
		if (open_store_for(NULL, dir, &st, &err) < 0 || store_gc_wait(st, max, wait, &rep, &err) < 0) {
			fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		} else {
			printf("removed %llu entries, %llu blobs (%llu bytes), %llu temporary files; "
			       "kept %llu entries, %llu blobs (%llu bytes)\n",
			       (unsigned long long)rep.entries_removed, (unsigned long long)rep.blobs_removed,
			       (unsigned long long)rep.bytes_removed, (unsigned long long)rep.tmp_removed,
			       (unsigned long long)rep.entries_kept, (unsigned long long)rep.blobs_kept,
			       (unsigned long long)rep.bytes_kept);
			if (rep.renders_running)
				printf("renders are using the cache: kept every blob and entry they may "
				       "use (run gc again when they are done, or use --wait)\n");
			status = 0;
		}
	} else {
		fprintf(stderr, "weft: unknown cache command '%s'\n%s", sub, cache_usage);
		status = 2;
	}
	store_close(st);
	weft_error_free(&err);
	return status;
}
