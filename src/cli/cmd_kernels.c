/*
 * weft kernels: the Jupyter kernelspecs weft finds, with the language each
 * runs (a chunk's fence language picks a kernel by it, engine_select.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "engine/jupyter_kernelspec.h"

int cmd_kernels(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: weft kernels\n"
		       "List the installed Jupyter kernels (name, language, folder). A chunk in another\n"
		       "language than Python (```{r}, engine=\"r\") runs in the first kernel, by name,\n"
		       "whose language matches; --kernel NAME picks one.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "weft kernels: no arguments expected ('%s')\n", argv[1]);
		return 2;
	}
	struct jupyter_kernelspec *specs;
	size_t n;
	jupyter_kernelspec_list(&specs, &n);
	printf("%-20s %-12s %-28s %s\n", "KERNEL", "LANGUAGE", "DISPLAY NAME", "FOLDER");
	for (size_t i = 0; i < n; i++) {
		printf("%-20s %-12s %-28s %s\n", specs[i].name, specs[i].language[0] ? specs[i].language : "-",
		       specs[i].display_name, specs[i].dir);
		jupyter_kernelspec_free(&specs[i]);
	}
	free(specs);
	if (!n)
		printf("(no Jupyter kernels found; Python chunks still run in weft's embedded engine)\n");
	return 0;
}
