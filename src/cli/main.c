/*
 * weft: literate-programming report generator. This file only picks the
 * subcommand; each lives in its own cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const char usage[] =
	"usage: weft [weave] [options] FILE...  run the chunks of each FILE and write a report\n"
	"       weft render [options] DIR...    every document under DIR (or its _weft.yml list)\n"
	"       weft tangle [-o OUT] FILE       write the code only\n"
	"       weft convert -f FORMAT FILE     convert between noweb, script, notebook, markdown\n"
	"       weft publish [-f html|pdf] FILE.py  a #' script to an HTML or PDF report\n"
	"       weft cache status|clean|gc ...  inspect and maintain the chunk cache\n"
	"       weft formats                    list output formats\n"
	"       weft kernels                    list Jupyter kernels and their languages\n"
	"       weft --help | --version\n"
	"\n"
	"Run 'weft weave --help' for the weave options.\n";

/*
 * Called as Pweave's commands (make install links them to weft), weft is
 * that command: pweave weaves, ptangle tangles, pypublish publishes,
 * pweave-convert converts, each with Pweave's flags.
 */
static int (*pweave_command(const char *argv0))(int, char **)
{
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} names[] = {
		{"pweave", cmd_weave},       {"ptangle", cmd_tangle},
		{"pypublish", cmd_publish},  {"pweave-convert", cmd_convert},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(base, names[i].name))
			return names[i].fn;
	return NULL;
}

int main(int argc, char **argv)
{
	int (*as_pweave)(int, char **) = argc > 0 ? pweave_command(argv[0]) : NULL;
	if (as_pweave) {
		if (argc > 1 && !strcmp(argv[1], "--version")) {
			printf("weft %s (as %s)\n", WEFT_VERSION, argv[0]);
			return 0;
		}
		return as_pweave(argc, argv);
	}
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("weft %s\n", WEFT_VERSION);
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{"weave", cmd_weave},     {"render", cmd_render},   {"tangle", cmd_tangle},
		{"formats", cmd_formats},
		{"cache", cmd_cache},     {"convert", cmd_convert}, {"publish", cmd_publish},
		{"kernels", cmd_kernels},
	};
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	/* No command word: weave is the default, as with pweave. */
	return cmd_weave(argc, argv);
}
