/*
 * unit: a minimal test framework for weft's C unit tests. Each test program
 * prints one TAP line per test, numbered ("ok 3 - name", "not ok 4 - name",
 * failed checks before it as "#" lines; a test that could not run says
 * "ok 5 - name # SKIP why") and the plan "1..N" last; tests/run.sh counts
 * passed, failed and skipped apart. Exit status is 1 if any test failed.
 *
 *   TEST(parse_basic) { CHECK(x == 1); CHECK_STR(s, "abc"); }
 *   TEST(needs_tool)  { if (!have_tool) SKIP("tool not installed"); ... }
 *   int main(void) { RUN(parse_basic); RUN(needs_tool); return unit_done(); }
 */
#ifndef WEFT_UNIT_H
#define WEFT_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_checks, unit_failed_tests, unit_passed_tests, unit_skipped_tests;
static int unit_current_failed;
static const char *unit_current_skip; /* why the running test skipped, or NULL */
static int unit_number;               /* TAP number of the last test reported */

/* Print the TAP line of one finished test `name` (its checks' verdict, or its skip). */
static inline void unit_report(const char *name)
{
	unit_number++;
	if (unit_current_failed) {
		unit_failed_tests++;
		printf("not ok %d - %s\n", unit_number, name);
	} else if (unit_current_skip) {
		unit_skipped_tests++;
		printf("ok %d - %s # SKIP %s\n", unit_number, name, unit_current_skip);
	} else {
		unit_passed_tests++;
		printf("ok %d - %s\n", unit_number, name);
	}
	unit_current_failed = 0;
	unit_current_skip = NULL;
	fflush(stdout);
}

/* Report a test that was not run at all (a whole group missing a prerequisite). */
static inline void unit_skip(const char *name, const char *why)
{
	unit_current_failed = 0;
	unit_current_skip = why;
	unit_report(name);
}

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

/* Inside a TEST: stop it here and report it skipped, saying why (a string that outlives the test). */
#define SKIP(why)                                                                          \
	do {                                                                               \
		unit_current_skip = (why);                                                 \
		return;                                                                    \
	} while (0)

#define RUN(name)                                                                          \
	do {                                                                               \
		unit_current_failed = 0;                                                   \
		unit_current_skip = NULL;                                                  \
		test_##name();                                                             \
		unit_report(#name);                                                        \
	} while (0)

/* Print the plan and give the exit status: 1 if any test failed. */
static inline int unit_done(void)
{
	printf("1..%d\n", unit_number);
	fflush(stdout);
	return unit_failed_tests ? 1 : 0;
}

#endif
