/* python_select: which Python runs the chunks; see python_select.h. */
#include <patchlevel.h>

#include "engine/python_select.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Oldest CPython that runs weft's runtime and its abi3 module (foreign_python.h). */
#define MIN_MAJOR 3
#define MIN_MINOR 9

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Look `name` up in PATH (as a shell would). Returns 0 and fills out, or -1. */
static int search_path(const char *name, struct strbuf *out)
{
	const char *path = getenv("PATH");
	if (!path)
		return -1;
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		strbuf_reset(out);
		strbuf_add(out, n ? path : ".", n ? n : 1);
		strbuf_addf(out, "/%s", name);
		if (access(out->buf, X_OK) == 0 && is_file(out->buf))
			return 0;
		path += n + (end ? 1 : 0);
	}
	return -1;
}

/* See python_select.h: walk up from libpython's folder (/usr/lib/x86_64-linux-gnu -> /usr/bin/python3.11). */
void python_builtin(struct strbuf *out)
{
	char exe[64];
	snprintf(exe, sizeof(exe), "bin/python%d.%d", PY_MAJOR_VERSION, PY_MINOR_VERSION);
	struct strbuf dir;
	strbuf_init(&dir);
	strbuf_addf(&dir, "%s/libpython", WEFT_LIBPYTHON_DIR); /* the loop strips the last part first */
	char *slash;
	while (dir.len && (slash = strrchr(dir.buf, '/')) != NULL && slash != dir.buf) {
		strbuf_setlen(&dir, (size_t)(slash - dir.buf));
		strbuf_reset(out);
		strbuf_addf(out, "%s/%s", dir.buf, exe);
		if (access(out->buf, X_OK) == 0) {
			strbuf_free(&dir);
			return;
		}
	}
	strbuf_free(&dir);
	strbuf_reset(out); /* not found: trust the usual place */
	strbuf_addf(out, "/usr/%s", exe);
}

/* True when both paths resolve to the same file. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A script (`#!` first: a pyenv shim, a wrapper), not the interpreter itself. */
static bool is_script(const char *path)
{
	char head[2] = {0, 0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n == 2 && head[0] == '#' && head[1] == '!';
}

/* The pyvenv.cfg beside or above `python` (a virtualenv: bin/python, or the folder itself), into cfg; false when none. */
static bool read_venv_cfg(const char *python, struct strbuf *cfg)
{
	struct strbuf path;
	strbuf_init(&path);
	strbuf_addstr(&path, python);
	bool found = false;
	for (int up = 0; up < 2 && !found; up++) {
		char *slash = strrchr(path.buf, '/');
		if (!slash)
			break;
		strbuf_setlen(&path, (size_t)(slash - path.buf));
		size_t base = path.len;
		strbuf_addstr(&path, "/pyvenv.cfg");
		strbuf_reset(cfg);
		found = strbuf_read_file(cfg, path.buf) == 0;
		strbuf_setlen(&path, base);
	}
	strbuf_free(&path);
	return found;
}

/* The value of `key = value` in a pyvenv.cfg's text (trimmed, into out); false when absent. */
static bool venv_cfg_value(const char *cfg, const char *key, struct strbuf *out)
{
	size_t klen = strlen(key);
	for (const char *line = cfg; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		const char *v = line + klen;
		if (n > klen && !strncmp(line, key, klen)) {
			v += strspn(v, " \t");
			if (*v == '=') {
				v++;
				v += strspn(v, " \t");
				strbuf_reset(out);
				strbuf_add(out, v, n - (size_t)(v - line));
				strbuf_rtrim(out);
				return true;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

/* The `home` of the virtualenv `python` belongs to, into home; false when it is none. */
static bool venv_home(const char *python, struct strbuf *home)
{
	struct strbuf cfg;
	strbuf_init(&cfg);
	bool found = read_venv_cfg(python, &cfg) && venv_cfg_value(cfg.buf, "home", home) && home->len;
	strbuf_free(&cfg);
	return found;
}

/*
 * The embedded worker stands in only for its own X.Y: a venv that says
 * another version (its pyvenv.cfg's `version` / `version_info`), or a
 * python whose installation lacks lib/pythonX.Y/os.py, would mix standard
 * libraries. Say so clearly instead of failing on an import later.
 */
static int check_native_version(const char *python, struct weft_error *err)
{
	struct strbuf cfg, val;
	strbuf_init(&cfg);
	strbuf_init(&val);
	int rc = 0;
	if (read_venv_cfg(python, &cfg)) {
		int major = 0, minor = 0;
		if ((venv_cfg_value(cfg.buf, "version", &val) || venv_cfg_value(cfg.buf, "version_info", &val)) &&
		    sscanf(val.buf, "%d.%d", &major, &minor) == 2 &&
		    (major != PY_MAJOR_VERSION || minor != PY_MINOR_VERSION))
			rc = weft_error_set(err, NULL, 0, 0, "the virtualenv of %s uses Python %d.%d, but weft embeds Python %d.%d",
					    python, major, minor, PY_MAJOR_VERSION, PY_MINOR_VERSION);
	} else {
		char real[PATH_MAX];
		if (realpath(python, real)) {
			strbuf_addstr(&val, real);
			for (int up = 0; up < 2; up++) {
				char *slash = strrchr(val.buf, '/');
				if (slash)
					strbuf_setlen(&val, (size_t)(slash - val.buf));
			}
			strbuf_addf(&val, "/lib/python%d.%d/os.py", PY_MAJOR_VERSION, PY_MINOR_VERSION);
			if (!is_file(val.buf))
				rc = weft_error_set(err, NULL, 0, 0,
						    "%s is neither a Python %d.%d installation nor a virtualenv "
						    "(weft embeds Python %d.%d)",
						    python, PY_MAJOR_VERSION, PY_MINOR_VERSION, PY_MAJOR_VERSION, PY_MINOR_VERSION);
		}
	}
	strbuf_free(&cfg);
	strbuf_free(&val);
	return rc;
}

/* The built-in installation itself, or a virtualenv made from it. */
static bool is_native(const char *python, const char *builtin)
{
	if (same_file(python, builtin))
		return true;
	struct strbuf home;
	strbuf_init(&home);
	bool native = false;
	if (venv_home(python, &home)) {
		strbuf_addf(&home, "/python%d.%d", PY_MAJOR_VERSION, PY_MINOR_VERSION);
		native = same_file(home.buf, builtin);
	}
	strbuf_free(&home);
	return native;
}

/* What a run of an interpreter told about itself. */
struct probe {
	char *asked;      /* the path run */
	char *impl;       /* sys.implementation.name */
	int major, minor;
	char *version;    /* "3.12.1" */
	char *executable; /* sys.executable */
};

/* Probes made in this process: each interpreter is asked once. */
static struct probe memo[8];
static size_t nmemo;

static const char probe_code[] =
	"import sys; v = sys.version_info; "
	"print(sys.implementation.name); print(v[0]); print(v[1]); "
	"print('%d.%d.%d' % v[:3]); print(sys.executable)";

/*
 * Run `python -I -S -c probe_code` (isolated: no user site, no PYTHON*
 * variables, no site: fast, and nothing of the document's folder runs) and
 * read its answers. Returns the memo entry, or NULL with err.
 */
static const struct probe *probe_python(const char *python, const char *what, struct weft_error *err)
{
	for (size_t i = 0; i < nmemo; i++)
		if (!strcmp(memo[i].asked, python))
			return &memo[i];
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return weft_error_errno(err, NULL, "python: pipe"), NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {(char *)python, "-I", "-S", "-c", (char *)probe_code, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, python, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		weft_error_set(err, NULL, 0, 0, "%s: cannot run %s: %s", what, python, strerror(rc));
		return NULL;
	}
	struct strbuf out;
	strbuf_init(&out);
	int rd = strbuf_read_fd(&out, pfd[0]);
	close(pfd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char *lines[5] = {0};
	size_t n = 0;
	for (char *p = out.buf; rd == 0 && p && *p && n < 5;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lines[n++] = p;
		p = nl ? nl + 1 : NULL;
	}
	if (n < 5 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		weft_error_set(err, NULL, 0, 0,
			       "%s: %s is neither weft's Python nor a CPython %d.%d or newer "
			       "(it did not answer `%s -I -S -c 'import sys; ...'`)",
			       what, python, MIN_MAJOR, MIN_MINOR, python);
		strbuf_free(&out);
		return NULL;
	}
	struct probe p = {
		.asked = xstrdup(python), .impl = xstrdup(lines[0]), .major = atoi(lines[1]),
		.minor = atoi(lines[2]), .version = xstrdup(lines[3]), .executable = xstrdup(lines[4]),
	};
	strbuf_free(&out);
	if (nmemo == sizeof(memo) / sizeof(*memo)) { /* full: forget the oldest */
		free(memo[0].asked), free(memo[0].impl), free(memo[0].version), free(memo[0].executable);
		memmove(memo, memo + 1, sizeof(memo) - sizeof(*memo));
		nmemo--;
	}
	memo[nmemo] = p;
	return &memo[nmemo++];
}

/* The interpreter a setting names: a NAME on PATH, a relative path from the cwd, or absolute. */
static int locate(const char *value, const char *what, struct strbuf *out, struct weft_error *err)
{
	strbuf_reset(out);
	if (!strchr(value, '/')) {
		if (search_path(value, out) < 0)
			return weft_error_set(err, NULL, 0, 0, "%s: python '%s' not found in PATH", what, value);
		return 0;
	}
	if (value[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return weft_error_errno(err, NULL, "getcwd");
		strbuf_addf(out, "%s/%s", cwd, value);
	} else {
		strbuf_addstr(out, value);
	}
	if (!is_file(out->buf))
		return weft_error_set(err, NULL, 0, 0, "%s: python '%s' does not exist", what, out->buf);
	return 0;
}

/* Note when the python3 first on PATH is not the interpreter chosen (users expect that one). */
static void path_note(struct python_choice *c)
{
	struct strbuf first;
	strbuf_init(&first);
	if (search_path("python3", &first) == 0 && !same_file(first.buf, c->path)) {
		struct strbuf note;
		strbuf_init(&note);
		strbuf_addf(&note, "the python3 first on PATH (%s%s) is not the one weft uses (%s, %s); "
			    "--python python3 selects it",
			    first.buf, is_script(first.buf) ? ", a wrapper script" : "", c->path, c->source);
		c->path_note = strbuf_detach(&note, NULL);
	}
	strbuf_free(&first);
}

/*
 * A pyenv shim whose command the selected pyenv version lacks (python3.13
 * while 3.11.7 is selected) fails; pyenv itself then names the versions that
 * have it. The one installed version with that command, into out; false when
 * `shim` is not in a pyenv shims folder or no single version has it.
 */
static bool pyenv_only_version(const char *shim, struct strbuf *out)
{
	const char *slash = strrchr(shim, '/');
	if (!slash || slash - shim < 6 || strncmp(slash - 6, "/shims", 6))
		return false;
	struct strbuf pat;
	strbuf_init(&pat);
	strbuf_add(&pat, shim, (size_t)(slash - 6 - shim));
	strbuf_addf(&pat, "/versions/*/bin/%s", slash + 1);
	glob_t g;
	int rc = glob(pat.buf, 0, NULL, &g);
	bool one = rc == 0 && g.gl_pathc == 1;
	if (one) {
		strbuf_reset(out);
		strbuf_addstr(out, g.gl_pathv[0]);
	}
	if (rc == 0)
		globfree(&g);
	strbuf_free(&pat);
	return one;
}

/* Fill version, native and path of c from the located interpreter `python`. */
static int classify(struct python_choice *c, const char *python, const char *builtin, struct weft_error *err)
{
	const struct probe *p = NULL;
	struct strbuf only;
	strbuf_init(&only);
	if (is_script(python)) { /* a pyenv shim, a wrapper: the interpreter it runs */
		p = probe_python(python, c->source, err);
		if (!p && pyenv_only_version(python, &only)) {
			weft_error_clear(err);
			python = only.buf;
		} else if (!p) {
			strbuf_free(&only);
			return -1;
		} else {
			python = p->executable;
		}
	}
	c->path = xstrdup(python);
	strbuf_free(&only);
	if (is_native(c->path, builtin)) {
		c->native = true;
		c->version = xstrdup(PY_VERSION);
		return check_native_version(c->path, err);
	}
	if (!p || strcmp(p->asked, c->path))
		p = probe_python(c->path, c->source, err);
	if (!p)
		return -1;
	if (strcmp(p->impl, "cpython") || p->major < MIN_MAJOR ||
	    (p->major == MIN_MAJOR && p->minor < MIN_MINOR))
		return weft_error_set(err, NULL, 0, 0,
				      "%s: %s is %s %s; weft runs CPython %d.%d or newer", c->source,
				      c->path, p->impl, p->version, MIN_MAJOR, MIN_MINOR);
	c->version = xstrdup(p->version);
	return 0;
}

int python_select(const char *flag, const char *front_matter, struct python_choice *out,
		  struct weft_error *err)
{
	memset(out, 0, sizeof(*out));
	struct strbuf builtin, located, src;
	strbuf_init(&builtin);
	strbuf_init(&located);
	strbuf_init(&src);
	python_builtin(&builtin);
	const char *venv = getenv("VIRTUAL_ENV"), *conda = getenv("CONDA_PREFIX");
	int rc = 0;
	if (flag && *flag) {
		strbuf_addf(&src, "--python %s", flag);
		rc = locate(flag, src.buf, &located, err);
	} else if (front_matter && *front_matter) {
		strbuf_addf(&src, "front matter python: %s", front_matter);
		rc = locate(front_matter, src.buf, &located, err);
	} else if ((venv && *venv) || (conda && *conda)) {
		bool v = venv && *venv;
		strbuf_addf(&src, "%s=%s", v ? "VIRTUAL_ENV" : "CONDA_PREFIX", v ? venv : conda);
		strbuf_addf(&located, "%s/bin/python", v ? venv : conda);
		if (!is_file(located.buf))
			rc = weft_error_set(err, NULL, 0, 0, "%s has no bin/python", src.buf);
	} else {
		strbuf_addstr(&src, "built-in: the installation of the libpython weft was built with");
		strbuf_addstr(&located, builtin.buf);
		out->builtin = true;
	}
	out->source = strbuf_detach(&src, NULL);
	if (rc == 0)
		rc = classify(out, located.buf, builtin.buf, err);
	if (rc < 0)
		python_choice_free(out);
	else if (out->builtin) /* nothing chose: say what PATH would have suggested */
		path_note(out);
	strbuf_free(&builtin);
	strbuf_free(&located);
	return rc;
}

void python_choice_free(struct python_choice *c)
{
	free(c->path);
	free(c->source);
	free(c->version);
	free(c->path_note);
	memset(c, 0, sizeof(*c));
}

/* See python_select.h. */
bool python_note_first_time(const char *note)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct strbuf path, seen;
	strbuf_init(&path);
	strbuf_init(&seen);
	if (state && *state == '/')
		strbuf_addf(&path, "%s/weft", state);
	else if (home && *home == '/')
		strbuf_addf(&path, "%s/.local/state/weft", home);
	bool first = true;
	if (path.len) {
		/* each missing folder from the top (~/.local, ~/.local/state, .../weft); a failure shows at fopen */
		for (char *slash = strchr(path.buf + 1, '/');; slash = strchr(slash + 1, '/')) {
			if (slash)
				*slash = '\0';
			mkdir(path.buf, 0700);
			if (!slash)
				break;
			*slash = '/';
		}
		strbuf_addstr(&path, "/python-notes");
		if (strbuf_read_file(&seen, path.buf) == 0) {
			for (char *line = seen.buf; line && *line && first;) {
				char *nl = strchr(line, '\n');
				size_t n = nl ? (size_t)(nl - line) : strlen(line);
				first = !(n == strlen(note) && !memcmp(line, note, n));
				line = nl ? nl + 1 : NULL;
			}
		}
		if (first) {
			FILE *f = fopen(path.buf, "a");
			if (f) {
				fprintf(f, "%s\n", note);
				fclose(f);
			}
		}
	}
	strbuf_free(&path);
	strbuf_free(&seen);
	return first;
}

/* See python_select.h. */
void python_choice_identity(const struct python_choice *c, struct strbuf *out)
{
	strbuf_addf(out, "CPython %s", c->version);
	if (!c->builtin)
		strbuf_addf(out, " %s", c->path);
}

/* See python_select.h. */
void python_choice_describe(const struct python_choice *c, struct strbuf *out)
{
	strbuf_addf(out, "python %s (CPython %s, %s; %s)", c->path, c->version, c->source,
		    c->native ? "the embedded worker" : "runs as itself, weft's runtime loaded into it");
}
