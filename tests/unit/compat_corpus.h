/*
 * compat_corpus: test-only lookup of Pweave's own test documents and
 * reference outputs (the "compat corpus"), shared by the unit tests that read
 * them. The corpus is not in the repository: tools/fetch_pweave_tests.py
 * fetches it from Debian's python-pweave source package into
 * build/pweave-tests, and tests/run.sh passes its folder as $WEFT_COMPAT (or,
 * when the fetch failed, the reason as $WEFT_COMPAT_MISSING). Tests run from
 * the repository top, so build/pweave-tests is the default.
 *
 *   RUN_COMPAT(name);     in main: runs the test, or reports it SKIP with the reason
 *   NEED_COMPAT();        in a TEST: skips it when the corpus is missing
 *   snprintf(path, sizeof(path), "%s/%s", compat, "readers/markdown_reader.pmd");
 */
#ifndef WEFT_TEST_COMPAT_CORPUS_H
#define WEFT_TEST_COMPAT_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"

/* The corpus directory, set by find_compat(); why it is missing, when it is. */
static char compat[512];
static const char *compat_why;

/* Find the corpus ($WEFT_COMPAT, else build/pweave-tests); 0, or -1 with compat_why set. */
static inline int find_compat(void)
{
	const char *base = getenv("WEFT_COMPAT");
	if (!base || !*base)
		base = "build/pweave-tests";
	snprintf(compat, sizeof(compat), "%s", base);
	char probe[600];
	snprintf(probe, sizeof(probe), "%s/formats/formatters_test_executed.json", compat);
	if (access(probe, R_OK) == 0)
		return 0;
	const char *why = getenv("WEFT_COMPAT_MISSING");
	compat_why = why && *why ? why
				 : "Pweave's test corpus not found (tools/fetch_pweave_tests.py fetches it)";
	return -1;
}

/* Inside a TEST: report it skipped when the corpus is missing. */
#define NEED_COMPAT()                                                                      \
	do {                                                                               \
		if (find_compat() < 0)                                                     \
			SKIP(compat_why);                                                  \
	} while (0)

/* In main: run a test that reads the corpus, or report it skipped. */
#define RUN_COMPAT(name)                                                                   \
	do {                                                                               \
		if (find_compat() < 0)                                                     \
			unit_skip(#name, compat_why);                                      \
		else                                                                       \
			RUN(name);                                                         \
	} while (0)

#endif
