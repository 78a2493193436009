/* pdf: the pdf format, LaTeX compiled in a private folder; see pdf.h. */
#include "render/pdf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "render/latex.h"
#include "render/latex_wrap.h"
#include "render/md_latex.h"
#include "util/error.h"
#include "util/fsutil.h"
#include "util/hash.h"

extern char **environ;

/* The engines weft drives, in the order it prefers them (UTF-8 native first). */
static const char *const pdf_engines[] = {"lualatex", "xelatex", "pdflatex"};

#define PDF_LATEX_FAILED "LaTeX failed: "

bool pdf_error_is_latex(const struct weft_error *err)
{
	return err && err->msg.len && !strncmp(err->msg.buf, PDF_LATEX_FAILED, strlen(PDF_LATEX_FAILED));
}

int pdf_find_engine(const char *wanted, const char *doc_path, struct strbuf *path,
		    struct weft_error *err)
{
	if (wanted) {
		if (fs_find_program(wanted, path) == 0)
			return 0;
		return weft_error_set(err, doc_path, 0, 0,
				      "PDF output needs the TeX engine '%s', which is not installed (not "
				      "found in PATH); install it, or choose lualatex, xelatex or "
				      "pdflatex (--latex-engine, or the latex_engine: setting)",
				      wanted);
	}
	for (size_t i = 0; i < sizeof(pdf_engines) / sizeof(*pdf_engines); i++)
		if (fs_find_program(pdf_engines[i], path) == 0)
			return 0;
	return weft_error_set(err, doc_path, 0, 0,
			      "PDF output needs a TeX engine, and none of lualatex, xelatex or pdflatex "
			      "is installed (Debian: texlive-luatex texlive-latex-recommended lmodern); "
			      "use -f md2latex for the LaTeX alone, or -f md2html");
}

bool pdf_prose_is_latex(const struct document *doc)
{
	const char *slash = strrchr(doc->path, '/');
	const char *dot = strrchr(slash ? slash + 1 : doc->path, '.');
	if (dot && strcasestr(dot, "tex"))
		return true;
	for (size_t i = 0; i < doc->nblocks; i++) {
		const struct block *b = &doc->blocks[i];
		if (b->kind != BLOCK_TEXT)
			continue;
		for (size_t k = 0; k < b->text.nsegs; k++) {
			const struct text_segment *sg = &b->text.segs[k];
			if (sg->kind == SEG_TEXT && (strstr(sg->text, "\\documentclass") ||
						     strstr(sg->text, "\\begin{document}")))
				return true;
		}
	}
	return false;
}

/*
 * A LaTeX-prose document as a complete LaTeX document: the texwrapped
 * rendering with latex_wrap's definitions before its \begin{document}, or
 * inside md2latex's preamble when the prose has none.
 */
static int pdf_latex_prose(const struct document *doc, const struct weave_results *res,
			   const struct render_options *opts, struct strbuf *tex, struct weft_error *err)
{
	struct strbuf body;
	strbuf_init(&body);
	int rc = latex_render("texwrapped", doc, res, opts, &body, err);
	const char *begin = strstr(body.buf, "\\begin{document}");
	if (rc == 0 && begin) {
		strbuf_add(tex, body.buf, (size_t)(begin - body.buf));
		strbuf_addstr(tex, "% weft's code and output blocks\n");
		latex_wrap_preamble(tex);
		strbuf_addstr(tex, begin);
	} else if (rc == 0) {
		md_latex_preamble(tex, NULL, NULL, NULL);
		strbuf_addstr(tex, "\n\\begin{document}\n\n");
		strbuf_add(tex, body.buf, body.len);
		strbuf_addstr(tex, "\n\\end{document}\n");
	}
	strbuf_free(&body);
	return rc;
}

/* The folder part of `path` as an absolute path (the current folder for a bare name). */
static void pdf_abs_dir(const char *path, struct strbuf *out)
{
	const char *slash = strrchr(path, '/');
	strbuf_reset(out);
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)))
			strbuf_addstr(out, cwd);
		if (slash)
			strbuf_addch(out, '/');
	}
	if (slash)
		strbuf_add(out, path, (size_t)(slash - path));
	if (!out->len)
		strbuf_addch(out, '/');
}

/* Remove the private folder and everything LaTeX left in it (it makes no subfolders). */
static void pdf_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		struct strbuf p;
		strbuf_init(&p);
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			strbuf_reset(&p);
			strbuf_addf(&p, "%s/%s", dir, e->d_name);
			if (unlink(p.buf) < 0 && errno != ENOENT)
				weft_warn(NULL, 0, "cannot remove %s: %s", p.buf, strerror(errno));
		}
		strbuf_free(&p);
		closedir(d);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		weft_warn(NULL, 0, "cannot remove the temporary folder %s: %s", dir, strerror(errno));
}

/*
 * Run the engine once on job.tex in `dir` (`first_line` is TeX's first input
 * line, which \input's it), its terminal output thrown away (the log holds
 * it), TEXINPUTS = `texinputs`. Returns its exit status
 * (128+signal when killed), or -1 with err when it cannot start.
 */
static int pdf_run_engine(const char *engine, const char *dir, const char *texinputs,
			  const char *first_line, const char *doc_path, struct weft_error *err)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = xcalloc(n + 4, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "TEXINPUTS=", 10) && strncmp(environ[i], "max_print_line=", 15))
			envp[k++] = environ[i];
	struct strbuf ti;
	strbuf_init(&ti);
	strbuf_addf(&ti, "TEXINPUTS=%s", texinputs);
	envp[k++] = ti.buf;
	envp[k++] = "max_print_line=100000"; /* log lines unwrapped: the error quoted whole */
	if (!getenv("SOURCE_DATE_EPOCH")) /* reproducible: the same LaTeX, the same PDF bytes */
		envp[k++] = "SOURCE_DATE_EPOCH=0";
	const char *base = strrchr(engine, '/') ? strrchr(engine, '/') + 1 : engine;
	char *argv[] = {(char *)base, "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
			"-no-shell-escape", "-jobname=job", (char *)first_line, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0); /* kpathsea's chatter */
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	pid_t pid;
	int e = posix_spawn(&pid, engine, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	strbuf_free(&ti);
	if (e != 0) {
		errno = e;
		return weft_error_errno(err, doc_path, "cannot run %s", engine);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return weft_error_errno(err, doc_path, "waiting for %s", engine);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* True when LaTeX's log asks for another run for references to settle. */
static bool pdf_log_wants_rerun(const char *log)
{
	return strstr(log, "Rerun to get") || strstr(log, "Label(s) may have changed") ||
	       strstr(log, "Please rerun LaTeX") || strstr(log, "rerunfilecheck Warning");
}

/* True when the log line at `p` is -file-line-error's "FILE:LINE: message". */
static bool pdf_file_line_error(const char *p)
{
	size_t k = strcspn(p, ": \n");
	if (!k || p[k] != ':' || !(p[k + 1] >= '0' && p[k + 1] <= '9'))
		return false;
	k++;
	while (p[k] >= '0' && p[k] <= '9')
		k++;
	return p[k] == ':' && p[k + 1] == ' ';
}

/*
 * The first error of a LaTeX log: its "! ..." or "file:line: ..." line and
 * the lines after it up to the "l.N ..." context, joined on one line.
 */
static void pdf_log_error(const char *log, struct strbuf *out)
{
	const char *p = log, *hit = NULL;
	while (p && *p && !hit) {
		if (*p == '!' || pdf_file_line_error(p))
			hit = p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!hit) {
		strbuf_addstr(out, "no error message in the log (is the engine a TeX engine?)");
		return;
	}
	const char *nl = strchr(hit, '\n');
	strbuf_add(out, hit, nl ? (size_t)(nl - hit) : strlen(hit));
	/* the context: the "l.N source" line TeX shows a few lines below */
	for (int lines = 0; nl && lines < 8; lines++) {
		const char *line = nl + 1;
		nl = strchr(line, '\n');
		if (!strncmp(line, "l.", 2) && line[2] >= '0' && line[2] <= '9') {
			strbuf_addstr(out, " (at ");
			strbuf_add(out, line, nl ? (size_t)(nl - line) : strlen(line));
			strbuf_rtrim(out);
			strbuf_addch(out, ')');
			break;
		}
	}
}

/* `msg` with the private "./job.tex" named `texname`, the LaTeX --keep-tex writes. */
static void pdf_name_tex(struct strbuf *msg, const char *texname)
{
	struct strbuf r;
	strbuf_init(&r);
	const char *p = msg->buf, *j;
	while ((j = strstr(p, "./job.tex"))) {
		strbuf_add(&r, p, (size_t)(j - p));
		strbuf_addstr(&r, texname);
		p = j + 9;
	}
	strbuf_addstr(&r, p);
	strbuf_reset(msg);
	strbuf_add(msg, r.buf, r.len);
	strbuf_free(&r);
}

/*
 * Compile `tex` in a private folder with `engine` until references settle;
 * the PDF's bytes into `pdf`. Returns 0, or -1 with err.
 */
static int pdf_compile(const char *engine, const struct strbuf *tex, const struct document *doc,
		       const struct render_options *opts, struct strbuf *pdf, struct weft_error *err)
{
	struct strbuf dir, texinputs, path, log, abs;
	strbuf_init(&dir);
	strbuf_init(&texinputs);
	strbuf_init(&path);
	strbuf_init(&log);
	strbuf_init(&abs);
	strbuf_addf(&dir, "%s/weft-pdf-XXXXXX", fs_tmpdir());
	int rc = 0;
	if (!mkdtemp(dir.buf)) {
		rc = weft_error_errno(err, dir.buf, "cannot make a temporary folder for LaTeX");
		goto out;
	}
	/* figures are relative to the report, images and \input files to the document */
	pdf_abs_dir(opts->output_path ? opts->output_path : doc->path, &abs);
	strbuf_addf(&texinputs, "%s:", abs.buf);
	pdf_abs_dir(doc->path, &abs);
	strbuf_addf(&texinputs, "%s:", abs.buf);
	if (getenv("TEXINPUTS")) /* the user's folders after ours, as they wrote them */
		strbuf_addstr(&texinputs, getenv("TEXINPUTS"));
	strbuf_addf(&path, "%s/job.tex", dir.buf);
	if (fs_write_atomic(path.buf, tex->buf, tex->len, err) < 0) {
		rc = -1;
		goto clean;
	}
	/*
	 * LuaTeX's /ID hashes the output's full path (the random folder): give it
	 * one from the LaTeX instead, so the same LaTeX makes the same bytes
	 */
	char id[HASH_HEX_SIZE];
	hash_blake2b_hex(tex->buf, tex->len, id);
	id[32] = '\0';
	struct strbuf first;
	strbuf_init(&first);
	strbuf_addf(&first, "\\ifdefined\\pdfvariable\\pdfvariable trailerid{[<%s><%s>]}\\fi"
			    "\\input{job.tex}", id, id);
	for (int run = 1;; run++) {
		int status = pdf_run_engine(engine, dir.buf, texinputs.buf, first.buf, doc->path, err);
		if (status < 0) {
			rc = -1;
			break;
		}
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/job.log", dir.buf);
		strbuf_reset(&log);
		if (strbuf_read_file(&log, path.buf) < 0)
			strbuf_reset(&log);
		if (status != 0) {
			struct strbuf msg;
			strbuf_init(&msg);
			pdf_log_error(log.buf, &msg);
			char *texpath = fs_with_extension(opts->output_path ? opts->output_path : doc->path, "tex");
			const char *slash = strrchr(texpath, '/');
			pdf_name_tex(&msg, slash ? slash + 1 : texpath);
			free(texpath);
			rc = weft_error_set(err, doc->path, 0, 0, PDF_LATEX_FAILED "%s%s", msg.buf,
					    opts->keep_tex ? "" : " (--keep-tex keeps the LaTeX to look at)");
			strbuf_free(&msg);
			break;
		}
		if (run < PDF_MAX_RUNS && pdf_log_wants_rerun(log.buf))
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/job.pdf", dir.buf);
		if (strbuf_read_file(pdf, path.buf) < 0 || pdf->len < 5 || memcmp(pdf->buf, "%PDF-", 5))
			rc = weft_error_set(err, doc->path, 0, 0,
					    PDF_LATEX_FAILED "%s wrote no PDF (see its log: %s)", engine,
					    "run with --keep-tex and the same engine to see it");
		break;
	}
	strbuf_free(&first);
clean:
	pdf_remove_dir(dir.buf);
out:
	strbuf_free(&dir);
	strbuf_free(&texinputs);
	strbuf_free(&path);
	strbuf_free(&log);
	strbuf_free(&abs);
	return rc;
}

int pdf_render(const char *format, const struct document *doc, const struct weave_results *res,
	       const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	(void)format;
	struct strbuf engine, tex;
	strbuf_init(&engine);
	strbuf_init(&tex);
	int rc = pdf_find_engine(opts->latex_engine, doc->path, &engine, err);
	if (rc == 0)
		rc = pdf_prose_is_latex(doc) ? pdf_latex_prose(doc, res, opts, &tex, err)
					     : md_latex_render("md2latex", doc, res, opts, &tex, err);
	if (rc == 0 && opts->keep_tex && opts->output_path) {
		char *texpath = fs_with_extension(opts->output_path, "tex");
		if (!strcmp(texpath, doc->path) || fs_same_file(texpath, doc->path))
			rc = weft_error_set(err, doc->path, 0, 0,
					    "--keep-tex would overwrite the document with %s", texpath);
		else
			rc = fs_write_if_changed(texpath, tex.buf, tex.len, err) < 0 ? -1 : 0;
		free(texpath);
	}
	struct strbuf pdf;
	strbuf_init(&pdf);
	if (rc == 0)
		rc = pdf_compile(engine.buf, &tex, doc, opts, &pdf, err);
	if (rc == 0)
		strbuf_add(out, pdf.buf, pdf.len);
	strbuf_free(&pdf);
	strbuf_free(&engine);
	strbuf_free(&tex);
	return rc;
}
