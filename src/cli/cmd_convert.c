/*
 * cmd_convert: `weft convert`, Pweave's pweave-convert. Reads a document in
 * any syntax weft reads and writes it in another (convert/convert.h does the
 * writing); nothing runs. See commands.h.
 *
 * Unlike pweave-convert, the input format is guessed from the file name (as
 * `weft weave` does; pweave-convert assumes noweb), -f is required (its
 * default, html, is not a conversion format), "-o" names the output, and
 * the message goes to stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "model/document.h"
#include "convert/convert.h"
#include "util/error.h"
#include "util/fsutil.h"
#include "reader/load.h"

static const char convert_usage[] =
	"usage: weft convert -f FORMAT [-i INFORMAT] [-o OUT] FILE\n"
	"\n"
	"Convert a literate document between syntaxes without running it (pweave-convert).\n"
	"Chunk options are kept, written in the target's syntax.\n"
	"\n"
	"  -f, --format FORMAT        noweb, script, notebook or markdown (required)\n"
	"  -i, --input-format FMT     markdown, noweb, script or notebook (default: by extension)\n"
	"  -o, --output PATH          output file, '-' for stdout (default: FILE with the\n"
	"                             format's extension; FILE_converted.EXT when FILE is\n"
	"                             already in that format)\n"
	"  -p, --pandoc ARGS          run each prose block through `pandoc ARGS`\n"
	"                             (e.g. -p \"-f markdown -t latex\")\n"
	"  -l, --list-formats         list the output formats\n"
	"  -h, --help                 this help\n";

int cmd_convert(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"output-format", required_argument, NULL, 'f'},
		{"input-format", required_argument, NULL, 'i'},
		{"output", required_argument, NULL, 'o'},
		{"pandoc", required_argument, NULL, 'p'},
		{"list-formats", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *format = NULL, *informat = NULL, *output = NULL, *pandoc = NULL;
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "f:i:o:p:lh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': format = optarg; break;
		case 'i': informat = optarg; break;
		case 'o': output = optarg; break;
		case 'p': pandoc = optarg; break;
		case 'l':
			convert_list_formats(stdout);
			return 0;
		case 'h':
			fputs(convert_usage, stdout);
			return 0;
		default:
			fputs(convert_usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !format) {
		if (!format)
			fputs("weft convert: choose the output format with -f\n", stderr);
		fputs(convert_usage, stderr);
		return 2;
	}
	int to = convert_format_from_name(format);
	if (to < 0) {
		fprintf(stderr, "weft: unknown conversion format '%s' "
				"(noweb, script, notebook, markdown)\n", format);
		return 2;
	}
	const char *path = argv[optind];
	if (!informat && !(informat = document_guess_format(path)))
		informat = "script"; /* pweave-convert's default: converting is for scripts */

	int status = 1;
	struct weft_error err;
	weft_error_init(&err);
	struct document doc;
	document_init(&doc);
	struct strbuf src, out;
	strbuf_init(&src);
	strbuf_init(&out);
	char *outpath = output ? xstrdup(output)
			       : convert_default_output(path, informat, (enum convert_format)to);

	if (!strcmp(outpath, path) || (strcmp(outpath, "-") && fs_same_file(outpath, path))) {
		fprintf(stderr, "weft: converting would overwrite %s; choose another path with -o\n",
			path);
		status = 2;
		goto out;
	}
	if (strbuf_read_file(&src, path) < 0) {
		weft_error_errno(&err, path, "cannot read document");
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	if (document_read_buffer(&doc, path, informat, src.buf, src.len, &err) < 0 ||
	    convert_document(&doc, (enum convert_format)to,
			     &(struct convert_options){ .source = src.buf, .source_len = src.len,
							.pandoc_args = pandoc },
			     &out, &err) < 0) {
		fprintf(stderr, "weft: %s\n", weft_error_text(&err));
		goto out;
	}
	if (!strcmp(outpath, "-")) {
		if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout)) {
			perror("weft: stdout");
			goto out;
		}
	} else {
		if (fs_write_atomic(outpath, out.buf, out.len, &err) < 0) {
			fprintf(stderr, "weft: %s\n", weft_error_text(&err));
			goto out;
		}
		fprintf(stderr, "weft: wrote %s\n", outpath);
	}
	status = 0;
out:
	free(outpath);
	strbuf_free(&out);
	strbuf_free(&src);
	document_free(&doc);
	weft_error_free(&err);
	return status;
}
