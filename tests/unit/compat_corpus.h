/*
 * compat_corpus: test-only lookup of Pweave's test documents and reference
 * outputs (../shared/compat/pweave, relative to the repository root), shared
 * by the unit tests that read them.
 *
 *   if (find_compat() < 0) ... skip or fail ...
 *   snprintf(path, sizeof(path), "%s/%s", compat, "readers/markdown_reader.pmd");
 */
#ifndef WEFT_TEST_COMPAT_CORPUS_H
#define WEFT_TEST_COMPAT_CORPUS_H

#include <stdio.h>
#include <unistd.h>

/* The corpus directory, set by find_compat(). */
static char compat[512];

/* Find the compat corpus from the working directory (the repository root); 0 or -1. */
static inline int find_compat(void)
{
	const char *cands[] = { "../shared/compat/pweave", "shared/compat/pweave",
				"/work/shared/compat/pweave" };
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		if (access(cands[i], R_OK) == 0) {
			snprintf(compat, sizeof(compat), "%s", cands[i]);
			return 0;
		}
	}
	printf("#   compat corpus not found\n");
	return -1;
}

#endif
