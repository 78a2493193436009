/* pandoc_render: the pandoc2html and pandoc2latex formats; see pandoc_render.h. */
#include "render/pandoc_render.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fsutil.h"

extern char **environ;

/* The full path of `prog` found in $PATH, appended to `path`; -1 when absent. */
static int pandoc_which(const char *prog, struct strbuf *path)
{
	const char *env = getenv("PATH");
	if (!env)
		return -1;
	while (*env) {
		size_t n = strcspn(env, ":");
		strbuf_reset(path);
		strbuf_add(path, n ? env : ".", n ? n : 1);
		strbuf_addf(path, "/%s", prog);
		if (access(path->buf, X_OK) == 0)
			return 0;
		env += n;
		if (*env == ':')
			env++;
	}
	strbuf_reset(path);
	return -1;
}

/* See pandoc_render.h. */
int pandoc_render(const char *format, const struct document *doc, const struct weave_results *res,
		  const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	struct strbuf pandoc;
	strbuf_init(&pandoc);
	if (pandoc_which("pandoc", &pandoc) < 0) {
		strbuf_free(&pandoc);
		return weft_error_set(err, doc->path, 0, 0,
				      "output format '%s' requires pandoc, which was not found in "
				      "PATH; install pandoc, or use '%s' instead",
				      format, !strcmp(format, "pandoc2html") ? "md2html" : "texpygments");
	}
	struct render_options mdopts = *opts;
	mdopts.format = "pandoc";
	struct strbuf md;
	strbuf_init(&md);
	int rc = render_document(doc, res, &mdopts, &md, err);
	struct strbuf tmppath;
	strbuf_init(&tmppath);
	strbuf_addf(&tmppath, "%s/weft-pandoc-XXXXXX", fs_tmpdir());
	char *tmpl = tmppath.buf;
	int fd = rc == 0 ? mkostemp(tmpl, O_CLOEXEC) : -1;
	if (rc == 0 && fd < 0)
		rc = weft_error_errno(err, tmpl, "cannot create a temporary file for pandoc");
	if (fd >= 0) {
		if (fs_write_all(fd, md.buf, md.len) < 0)
			rc = weft_error_errno(err, tmpl, "cannot write pandoc's input");
		close(fd);
	}
	int pipefd[2] = {-1, -1};
	if (rc == 0 && pipe2(pipefd, O_CLOEXEC) < 0)
		rc = weft_error_errno(err, NULL, "pipe");
	if (rc == 0) {
		bool to_html = !strcmp(format, "pandoc2html");
		char *argv[] = {pandoc.buf, "-f", "markdown", "-t", to_html ? "html5" : "latex",
				"--standalone", to_html ? "--mathml" : "--listings", NULL};
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, tmpl, O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
		pid_t pid;
		int e = posix_spawn(&pid, pandoc.buf, &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[1]);
		if (e != 0) {
			errno = e;
			rc = weft_error_errno(err, pandoc.buf, "cannot run pandoc");
		} else {
			strbuf_read_fd(out, pipefd[0]);
			int status = 0;
			waitpid(pid, &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				rc = weft_error_set(err, doc->path, 0, 0,
						    "pandoc failed for output format '%s'", format);
		}
		close(pipefd[0]);
	}
	if (fd >= 0)
		unlink(tmpl);
	strbuf_free(&tmppath);
	strbuf_free(&md);
	strbuf_free(&pandoc);
	return rc;
}
