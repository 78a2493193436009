/* Tests for util/fsutil: atomic writes that never follow planted links, temp names,
 * same-file detection by device and inode, full writes with a true errno, TMPDIR. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/strbuf.h"

static char dir[512];

/* dir/name in a static buffer (one of two, so two paths can be held at once). */
static const char *at(const char *name)
{
	static char bufs[2][600];
	static int which;
	which ^= 1;
	snprintf(bufs[which], sizeof(bufs[which]), "%s/%s", dir, name);
	return bufs[which];
}

/* The whole content of `path`, or "(unreadable)". Static buffer. */
static const char *content(const char *path)
{
	static struct strbuf sb;
	strbuf_reset(&sb);
	if (strbuf_read_file(&sb, path) < 0)
		return "(unreadable)";
	return sb.buf;
}

/* Number of entries in dir whose name starts with `prefix`. */
static int count_prefixed(const char *prefix)
{
	struct strbuf cmd;
	strbuf_init(&cmd);
	strbuf_addf(&cmd, "ls -a '%s' | grep -c '^%s' 2>/dev/null", dir, prefix);
	FILE *p = popen(cmd.buf, "r");
	int n = -1;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	strbuf_free(&cmd);
	return n;
}

/* A symlink at the output's name is replaced, its target left alone (no write through it). */
TEST(atomic_write_replaces_link_not_target)
{
	struct weft_error err;
	weft_error_init(&err);
	CHECK(fs_write_atomic(at("victim"), "precious\n", 9, &err) == 0);
	CHECK(symlink(at("victim"), at("out.md")) == 0);
	CHECK(fs_write_atomic(at("out.md"), "report\n", 7, &err) == 0);
	CHECK_STR(content(at("victim")), "precious\n");
	struct stat st;
	CHECK(lstat(at("out.md"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK_STR(content(at("out.md")), "report\n");
	CHECK(count_prefixed("out.md.tmp.") == 0); /* nothing left behind */
	weft_error_free(&err);
}

/* A FIFO (like /dev/null or /dev/stdout) is written into, not replaced by a regular file. */
TEST(atomic_write_into_fifo_in_place)
{
	struct weft_error err;
	weft_error_init(&err);
	CHECK(mkfifo(at("pipe"), 0600) == 0);
	pid_t pid = fork();
	if (pid == 0) { /* the reader: copies the FIFO into a file */
		struct strbuf got;
		strbuf_init(&got);
		int ok = strbuf_read_file(&got, at("pipe")) == 0;
		struct weft_error e2;
		weft_error_init(&e2);
		ok = ok && fs_write_atomic(at("pipe.got"), got.buf, got.len, &e2) == 0;
		_exit(ok ? 0 : 1);
	}
	CHECK(pid > 0);
	CHECK(fs_write_atomic(at("pipe"), "through\n", 8, &err) == 0);
	int status = -1;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct stat st;
	CHECK(lstat(at("pipe"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK_STR(content(at("pipe.got")), "through\n");
	CHECK(count_prefixed("pipe.tmp.") == 0);
	weft_error_free(&err);
}

/* Temp names are unpredictable and created exclusively: never the same twice, never a link. */
TEST(temp_names_random_and_exclusive)
{
	struct strbuf a, b;
	strbuf_init(&a);
	strbuf_init(&b);
	int fa = fs_create_temp_beside(at("r.md"), 0600, &a);
	int fb = fs_create_temp_beside(at("r.md"), 0600, &b);
	CHECK(fa >= 0 && fb >= 0);
	CHECK(strcmp(a.buf, b.buf) != 0);
	CHECK(strncmp(a.buf, at("r.md.tmp."), strlen(at("r.md.tmp."))) == 0);
	CHECK((fcntl(fa, F_GETFD) & FD_CLOEXEC) != 0);
	char pidname[64];
	snprintf(pidname, sizeof(pidname), "r.md.tmp.%d", (int)getpid());
	CHECK(strcmp(a.buf, at(pidname)) != 0); /* not the old, guessable OUT.tmp.<pid> */
	close(fa);
	close(fb);
	unlink(a.buf);
	unlink(b.buf);
	strbuf_free(&a);
	strbuf_free(&b);
}

/* Same file by device and inode: other spellings, hard links and symlinks; not a copy. */
TEST(same_file_by_inode)
{
	struct weft_error err;
	weft_error_init(&err);
	CHECK(fs_write_atomic(at("doc.pmd"), "x\n", 2, &err) == 0);
	CHECK(fs_write_atomic(at("copy.pmd"), "x\n", 2, &err) == 0);
	CHECK(link(at("doc.pmd"), at("hard.pmd")) == 0);
	CHECK(symlink("doc.pmd", at("soft.pmd")) == 0);
	CHECK(fs_same_file(at("doc.pmd"), at("doc.pmd")) == 1);
	CHECK(fs_same_file(at("hard.pmd"), at("doc.pmd")) == 1);
	CHECK(fs_same_file(at("soft.pmd"), at("doc.pmd")) == 1);
	struct strbuf dotted;
	strbuf_init(&dotted);
	strbuf_addf(&dotted, "%s/./doc.pmd", dir);
	CHECK(fs_same_file(dotted.buf, at("doc.pmd")) == 1);
	strbuf_free(&dotted);
	CHECK(fs_same_file(at("copy.pmd"), at("doc.pmd")) == 0);
	CHECK(fs_same_file(at("missing.pmd"), at("doc.pmd")) == 0);
	/* neither exists: same folder and name means the same file to be */
	strbuf_init(&dotted);
	strbuf_addf(&dotted, "%s/./new.md", dir);
	CHECK(fs_same_file(dotted.buf, at("new.md")) == 1);
	CHECK(fs_same_file(at("new.md"), at("other.md")) == 0);
	CHECK(fs_same_file(at("nodir/new.md"), at("new.md")) == 0);
	strbuf_free(&dotted);
	weft_error_free(&err);
}

/* A failed write reports its own errno (ENOSPC on /dev/full), not a stale one. */
TEST(write_all_reports_true_errno)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		SKIP("/dev/full unavailable");
	errno = ENOENT; /* stale */
	CHECK(fs_write_all(fd, "abc", 3) == -1);
	CHECK(errno == ENOSPC);
	close(fd);
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(fs_write_all(p[1], "abc", 3) == 0);
	char buf[4] = {0};
	CHECK(read(p[0], buf, 3) == 3);
	CHECK_STR(buf, "abc");
	close(p[0]);
	close(p[1]);
}

/* A folder we cannot write gives an error naming the output, and leaves nothing. */
TEST(atomic_write_error_names_path)
{
	struct weft_error err;
	weft_error_init(&err);
	CHECK(fs_write_atomic(at("no-such-dir/out.md"), "x", 1, &err) == -1);
	CHECK(strstr(weft_error_text(&err), "no-such-dir/out.md") != NULL);
	CHECK(strstr(weft_error_text(&err), "No such file") != NULL);
	weft_error_free(&err);
}

/* TMPDIR is honoured; unset or empty means /tmp. */
TEST(tmpdir_honours_env)
{
	char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	setenv("TMPDIR", dir, 1);
	CHECK_STR(fs_tmpdir(), dir);
	setenv("TMPDIR", "", 1);
	CHECK_STR(fs_tmpdir(), "/tmp");
	unsetenv("TMPDIR");
	CHECK_STR(fs_tmpdir(), "/tmp");
	if (old) {
		setenv("TMPDIR", old, 1);
		free(old);
	}
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s/weft-test-fsutil-XXXXXX", fs_tmpdir());
	if (!mkdtemp(dir)) {
		printf("not ok 1 - mkdtemp %s\n", dir);
		return 1;
	}
	RUN(atomic_write_replaces_link_not_target);
	RUN(atomic_write_into_fifo_in_place);
	RUN(temp_names_random_and_exclusive);
	RUN(same_file_by_inode);
	RUN(write_all_reports_true_errno);
	RUN(atomic_write_error_names_path);
	RUN(tmpdir_honours_env);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return unit_done();
}
