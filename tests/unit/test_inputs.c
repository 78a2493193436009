/*
 * Tests of planner/inputs: the C side of recorded inputs must compute what
 * weft_inputs.py computed in the worker, or no entry with a listing would
 * ever be reused. Checked against the Python module itself (run with
 * /usr/bin/python3 on the source tree), on folders with files, folders,
 * symbolic links, odd names and none at all.
 */
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "planner/inputs.h"
#include "util/strbuf.h"

static char tmp[] = "/tmp/weft-test-inputs-XXXXXX";

/* weft_inputs.listing_digest(path), from Python, into out; 0 or -1. */
static int python_digest(const char *path, char out[HASH_HEX_SIZE])
{
	struct strbuf cmd;
	strbuf_init(&cmd);
	strbuf_addf(&cmd, "/usr/bin/python3 -c \"import sys; sys.path.insert(0, 'src/engine/py'); import weft_inputs; "
			  "print(weft_inputs.listing_digest(sys.argv[1]))\" '%s'", path);
	FILE *p = popen(cmd.buf, "r");
	int rc = -1;
	if (p) {
		char line[256];
		if (fgets(line, sizeof(line), p) && strlen(line) == HASH_HEX_SIZE) {
			line[HASH_HEX_SIZE - 1] = '\0';
			snprintf(out, HASH_HEX_SIZE, "%s", line);
			rc = 0;
		}
		if (pclose(p) != 0)
			rc = -1;
	}
	strbuf_free(&cmd);
	return rc;
}

/* Create file `name` under tmp. */
static void touch(const char *name)
{
	struct strbuf p;
	strbuf_init(&p);
	strbuf_addf(&p, "%s/%s", tmp, name);
	FILE *f = fopen(p.buf, "w");
	if (f)
		fclose(f);
	strbuf_free(&p);
}

TEST(listing_digest_matches_python)
{
	char c[HASH_HEX_SIZE], py[HASH_HEX_SIZE], empty[HASH_HEX_SIZE];
	inputs_listing_digest(tmp, empty);
	CHECK(python_digest(tmp, py) == 0);
	CHECK_STR(empty, py);

	touch("b.csv");
	touch("a.csv");
	touch("A1");
	touch("with space");
	touch(".hidden");
	struct strbuf p;
	strbuf_init(&p);
	strbuf_addf(&p, "%s/sub", tmp);
	CHECK(mkdir(p.buf, 0700) == 0);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/link", tmp);
	CHECK(symlink("a.csv", p.buf) == 0);
	inputs_listing_digest(tmp, c);
	CHECK(python_digest(tmp, py) == 0);
	CHECK_STR(c, py);
	CHECK(strcmp(c, empty) != 0);

	/* a file replaced by a folder of the same name changes the listing */
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/b.csv", tmp);
	CHECK(unlink(p.buf) == 0 && mkdir(p.buf, 0700) == 0);
	char c2[HASH_HEX_SIZE];
	inputs_listing_digest(tmp, c2);
	CHECK(strcmp(c, c2) != 0);
	CHECK(python_digest(tmp, py) == 0);
	CHECK_STR(c2, py);

	/* missing folders and files that are not folders */
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/nope", tmp);
	inputs_listing_digest(p.buf, c);
	CHECK(python_digest(p.buf, py) == 0);
	CHECK_STR(c, py);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/a.csv", tmp);
	inputs_listing_digest(p.buf, c2);
	CHECK(python_digest(p.buf, py) == 0);
	CHECK_STR(c2, py);
	CHECK(strcmp(c, c2) != 0);
	strbuf_free(&p);
}

TEST(make_parents)
{
	struct strbuf p;
	strbuf_init(&p);
	strbuf_addf(&p, "%s/x/y/z/file.txt", tmp);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(inputs_make_parents(p.buf, &err) == 0);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/x/y/z", tmp);
	struct stat st;
	CHECK(stat(p.buf, &st) == 0 && S_ISDIR(st.st_mode));
	/* again: the folders exist, nothing to do */
	strbuf_addstr(&p, "/file.txt");
	CHECK(inputs_make_parents(p.buf, &err) == 0);
	/* a file where a folder must go is an error naming it */
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/a.csv/inner/f", tmp);
	CHECK(inputs_make_parents(p.buf, &err) == -1);
	CHECK(strstr(weft_error_text(&err), "a.csv") != NULL);
	weft_error_free(&err);
	strbuf_free(&p);
}

int main(void)
{
	if (!mkdtemp(tmp))
		return 2;
	RUN(listing_digest_matches_python);
	RUN(make_parents);
	struct strbuf cmd;
	strbuf_init(&cmd);
	strbuf_addf(&cmd, "rm -rf '%s'", tmp);
	if (system(cmd.buf) != 0)
		printf("# could not remove %s\n", tmp);
	strbuf_free(&cmd);
	return unit_done();
}
