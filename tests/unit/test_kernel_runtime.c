/* Tests for kernel_runtime's parts that need no kernel: history reads, cacheable kernels, identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/kernel_runtime.h"
#include "unit.h"

static char tmpdir[64];

/* The history name a unit with this analysis JSON reads, or NULL. */
static const char *reads_history(const char *analysis)
{
	static char out[64];
	json_error_t je;
	json_t *a = json_loads(analysis, 0, &je);
	const char *got = kernel_runtime_history_read(a);
	snprintf(out, sizeof(out), "%s", got ? got : "");
	json_decref(a);
	return got ? out : NULL;
}

TEST(history_reads)
{
	CHECK(reads_history("{\"reads\": [\"x\", \"y\"], \"writes\": [\"_\"], \"dynamic\": false}") == NULL);
	CHECK_STR(reads_history("{\"reads\": [\"x\", \"_\"], \"dynamic\": false}"), "_");
	CHECK_STR(reads_history("{\"reads\": [\"_i12\"]}"), "_i12");
	CHECK_STR(reads_history("{\"reads\": [\"_3\"]}"), "_3");
	CHECK(reads_history("{\"reads\": [\"_x3\", \"_i\" ], \"calls\": []}") != NULL);
	CHECK(reads_history("{\"reads\": [\"_x3\", \"_ix\", \"_\" \"\"]}") == NULL); /* bad JSON: no analysis */
	CHECK(reads_history("{\"reads\": [\"_x3\", \"_ix\", \"i_\"]}") == NULL);
	CHECK_STR(reads_history("{\"reads\": [], \"functions\": {\"f\": {\"reads\": [\"Out\"]}}}"), "Out");
	CHECK_STR(reads_history("{\"reads\": [], \"reads_builtins\": [\"eval\"]}"), "eval");
	CHECK_STR(reads_history("{\"reads\": [], \"calls\": [\"globals\"]}"), "globals");
	CHECK_STR(reads_history("{\"reads\": [], \"dynamic\": true}"), "dynamic code");
	CHECK(kernel_runtime_history_read(NULL) == NULL);
}

/* Write a kernelspec NAME for LANGUAGE under tmpdir/kernels. */
static void kernelspec(const char *name, const char *language, const char *exe)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/kernels", tmpdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/kernels/%s", tmpdir, name);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/kernels/%s/kernel.json", tmpdir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "{\"argv\": [\"%s\", \"-m\", \"k\", \"{connection_file}\"], \"language\": \"%s\", "
		   "\"display_name\": \"%s\"}\n", exe, language, name);
	fclose(f);
}

TEST(cacheable_and_identity)
{
	kernelspec("weftpy", "python", "sh");
	kernelspec("weftr", "R", "/bin/sh");
	CHECK(kernel_runtime_cacheable("weftpy"));
	CHECK(!kernel_runtime_cacheable("weftr"));
	CHECK(!kernel_runtime_cacheable("weft-no-such-kernel"));
	char *id = kernel_runtime_identity("weftpy");
	/* the executable found on PATH, by its real path; the arguments as kernel.json has them */
	CHECK(strstr(id, "jupyter kernel weftpy: python, /") != NULL);
	CHECK(strstr(id, " -m k {connection_file}") != NULL);
	free(id);
	id = kernel_runtime_identity("weft-no-such-kernel");
	CHECK_STR(id, "jupyter kernel weft-no-such-kernel");
	free(id);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/weft-test-kruntime-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("JUPYTER_PATH", tmpdir, 1);
	RUN(history_reads);
	RUN(cacheable_and_identity);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return unit_done();
}
