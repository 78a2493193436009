/*
 * unit: a minimal test framework for weft's C unit tests. Each test program
 * prints one TAP-style line per check ("ok - name" / "not ok - name: why");
 * tests/run.sh counts them. Exit status is 1 if any check failed.
 *
 *   TEST(parse_basic) { CHECK(x == 1); CHECK_STR(s, "abc"); }
 *   int main(void) { RUN(parse_basic); return unit_done(); }
 */
#ifndef WEFT_UNIT_H
#define WEFT_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_checks, unit_failed_tests, unit_passed_tests;
static int unit_current_failed;

#define TEST(name) static void test_##name(void)

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
			unit_current_failed = 1;                                           \
			unit_failed_checks++;                                              \
		}                                                                          \
	} while (0)

#define CHECK_STR(a, b)                                                                    \
	do {                                                                               \
		const char *unit_a = (a), *unit_b = (b);                                   \
		if (!unit_a || !unit_b || strcmp(unit_a, unit_b)) {                        \
			printf("#   %s:%d: %s == %s\n#     got:      \"%s\"\n#     expected: \"%s\"\n", \
			       __FILE__, __LINE__, #a, #b, unit_a ? unit_a : "(null)",       \
			       unit_b ? unit_b : "(null)");                                 \
			unit_current_failed = 1;                                           \
			unit_failed_checks++;                                              \
		}                                                                          \
	} while (0)

#define RUN(name)                                                                          \
	do {                                                                               \
		unit_current_failed = 0;                                                   \
		test_##name();                                                             \
		if (unit_current_failed) {                                                 \
			unit_failed_tests++;                                               \
			printf("not ok - %s\n", #name);                                    \
		} else {                                                                   \
			unit_passed_tests++;                                               \
			printf("ok - %s\n", #name);                                        \
		}                                                                          \
		fflush(stdout);                                                            \
	} while (0)

static inline int unit_done(void)
{
	return unit_failed_tests ? 1 : 0;
}

#endif
