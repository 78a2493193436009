/* Tests for util/forkcheck: the single-thread-at-fork invariant is checked. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "util/forkcheck.h"

TEST(one_thread_passes)
{
	CHECK(forkcheck_thread_count() == 1);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(forkcheck_single_threaded("test", &err) == 0);
	CHECK(!weft_error_isset(&err));
	weft_error_free(&err);
}

static int release_fd = -1;

/* A thread that waits until the test lets it go. */
static void *parked(void *arg)
{
	(void)arg;
	char c;
	ssize_t r = read(release_fd, &c, 1);
	(void)r;
	return NULL;
}

TEST(second_thread_refused)
{
	int p[2];
	CHECK(pipe(p) == 0);
	release_fd = p[0];
	pthread_t th;
	CHECK(pthread_create(&th, NULL, parked, NULL) == 0);
	CHECK(forkcheck_thread_count() == 2);
	struct weft_error err;
	weft_error_init(&err);
	CHECK(forkcheck_single_threaded("python engine", &err) == -1);
	CHECK(strstr(err.msg.buf, "python engine: cannot fork safely: 2 threads") != NULL);
	weft_error_free(&err);
	CHECK(write(p[1], "x", 1) == 1);
	pthread_join(th, NULL);
	close(p[0]);
	close(p[1]);
	/* joined: one thread again, forking is allowed */
	CHECK(forkcheck_thread_count() == 1);
	weft_error_init(&err);
	CHECK(forkcheck_single_threaded("python engine", &err) == 0);
	weft_error_free(&err);
}

int main(void)
{
	RUN(one_thread_passes);
	RUN(second_thread_refused);
	return unit_done();
}
