/* convert: a document model written back as literate source; see convert.h. */
#include "convert/convert.h"
#include "render/notebook.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "convert/convert_options.h"
#include "reader/reader.h"
#include "util/fsutil.h"

extern char **environ;

static const struct {
	const char *name, *ext, *desc;
} formats[] = {
	[CONVERT_NOWEB] = { "noweb", "Pnw", "noweb: <<options>>= ... @ chunks, prose as is" },
	[CONVERT_SCRIPT] = { "script", "py", "Python script: #' prose lines, #+ option lines" },
	[CONVERT_MARKDOWN] = { "markdown", "pmd", "Pweave markdown: ```{python, options} fences" },
	[CONVERT_NOTEBOOK] = { "notebook", "ipynb", "Jupyter notebook (nbformat 4), options as #| lines" },
};

int convert_format_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (name && !strcmp(name, formats[i].name))
			return (int)i;
	return -1;
}

const char *convert_format_name(enum convert_format f)
{
	return formats[f].name;
}

const char *convert_extension(enum convert_format f)
{
	return formats[f].ext;
}

void convert_list_formats(FILE *fp)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		fprintf(fp, "%-9s .%-6s %s\n", formats[i].name, formats[i].ext, formats[i].desc);
}

char *convert_default_output(const char *input, const char *input_format,
			     enum convert_format to)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addstr(&sb, input);
	/* Pweave cuts the last extension (re.split("\.+[^\.]+$")), dots before it included. */
	const char *slash = strrchr(sb.buf, '/');
	char *dot = strrchr(sb.buf, '.');
	if (dot && (!slash || dot > slash) && dot[1]) {
		while (dot > sb.buf && dot[-1] == '.' && (!slash || dot - 1 > slash))
			dot--;
		strbuf_setlen(&sb, (size_t)(dot - sb.buf));
	}
	if (input_format && !strcmp(input_format, formats[to].name))
		strbuf_addstr(&sb, "_converted");
	strbuf_addf(&sb, ".%s", formats[to].ext);
	return strbuf_detach(&sb, NULL);
}

/* ---- the input's source lines ------------------------------------------ */

/* Line starts of the source text, so a chunk's header line can be found. */
struct src_lines {
	const char *text;
	size_t len;
	size_t *starts;  /* starts[i]: offset of line i+1 */
	size_t n, alloc;
};

static void src_lines_init(struct src_lines *sl, const char *text, size_t len)
{
	memset(sl, 0, sizeof(*sl));
	sl->text = text;
	sl->len = len;
	if (!text)
		return;
	size_t pos = 0;
	while (pos < len) {
		ARRAY_GROW(sl->starts, sl->n + 1, sl->alloc);
		sl->starts[sl->n++] = pos;
		const char *nl = memchr(text + pos, '\n', len - pos);
		pos = nl ? (size_t)(nl - text) + 1 : len;
	}
}

static void src_lines_free(struct src_lines *sl)
{
	free(sl->starts);
	memset(sl, 0, sizeof(*sl));
}

/* Line `no` (1-based) without its terminator; 0 when there is no such line. */
static int src_line(const struct src_lines *sl, int no, const char **s, size_t *len)
{
	if (no < 1 || (size_t)no > sl->n)
		return 0;
	size_t b = sl->starts[no - 1];
	size_t e = (size_t)no < sl->n ? sl->starts[no] : sl->len;
	while (e > b && (sl->text[e - 1] == '\n' || sl->text[e - 1] == '\r'))
		e--;
	*s = sl->text + b;
	*len = e - b;
	return 1;
}

/*
 * The chunk's options exactly as its header line wrote them, when the input
 * syntax has option headers and every option of the chunk sits on that line
 * (none came from "#|" lines). Returns malloc'd text or NULL.
 */
static char *header_option_text(const struct document *doc, const struct src_lines *sl,
				const struct chunk *c)
{
	const char *s;
	size_t len, off = 0, olen = 0;
	if (!sl->text || !c->header_line || !doc->input_format ||
	    !src_line(sl, c->header_line, &s, &len))
		return NULL;
	for (size_t i = 0; i < c->raw.n; i++)
		if (c->raw.items[i].line != c->header_line)
			return NULL;
	int found = 0;
	if (!strcmp(doc->input_format, "noweb")) {
		found = noweb_reader_opens_chunk(s, len, &off, &olen);
	} else if (!strcmp(doc->input_format, "markdown")) {
		found = markdown_reader_opens_chunk(s, len, &off, &olen);
	} else if (!strcmp(doc->input_format, "script")) {
		off = script_reader_opt_marker(s, len);
		found = off > 0;
		olen = len - off;
		while (olen > 0 && isspace((unsigned char)s[off + olen - 1]))
			olen--;
	}
	return found ? xstrndup(s + off, olen) : NULL;
}

/* ---- chunk code and prose ----------------------------------------------- */

/*
 * The chunk's own code: document_read puts a source= file's contents in
 * front of it; take them off again so the option alone brings them back.
 */
static char *own_code(const struct document *doc, const struct chunk *c)
{
	const char *code = c->code ? c->code : "";
	if (!c->opts.source)
		return xstrdup(code);
	struct strbuf path, contents;
	strbuf_init(&path);
	strbuf_init(&contents);
	const char *slash = strrchr(doc->path, '/');
	if (c->opts.source[0] != '/' && slash)
		strbuf_add(&path, doc->path, (size_t)(slash - doc->path) + 1);
	strbuf_addstr(&path, c->opts.source);
	char *res = NULL;
	if (strbuf_read_file(&contents, path.buf) == 0) {
		strbuf_rtrim(&contents);
		strbuf_addch(&contents, '\n');
		if (!strncmp(code, contents.buf, contents.len))
			res = xstrdup(code + contents.len);
	}
	strbuf_free(&path);
	strbuf_free(&contents);
	return res ? res : xstrdup(code);
}

/* Code without its trailing newlines (the writers add their own). */
static size_t code_len(const char *code)
{
	size_t n = strlen(code);
	while (n && (code[n - 1] == '\n' || code[n - 1] == '\r'))
		n--;
	return n;
}

/*
 * Fail when a code line would be read back as something other than code:
 * `bad` says which lines the target's reader treats specially.
 */
static int check_code(const struct document *doc, const struct chunk *c, const char *code,
		      int (*bad)(const char *, size_t), const char *what, struct weft_error *err)
{
	int line = c->code_line;
	for (const char *p = code; *p; line++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (bad(p, len))
			return weft_error_set(err, doc->path, line, 1,
					      "chunk %d: the code line '%.*s' would %s; "
					      "choose another output format",
					      c->number, (int)len, p, what);
		p = nl ? nl + 1 : p + len;
	}
	return 0;
}

/* A code line a script reader would take for prose or options. */
static int script_special(const char *s, size_t len)
{
	return script_reader_doc_marker(s, len) || script_reader_opt_marker(s, len);
}

/* A prose line a noweb reader would take for a chunk header. */
static int noweb_opener(const char *s, size_t len)
{
	size_t off, olen;
	return noweb_reader_opens_chunk(s, len, &off, &olen);
}

/* A prose line a markdown reader would take for a python chunk fence. */
static int markdown_opener(const char *s, size_t len)
{
	size_t off, olen;
	return markdown_reader_opens_chunk(s, len, &off, &olen);
}

/* Warn about prose lines that `opener` says the target's reader will take as chunk headers. */
static void check_prose(const struct document *doc, const struct text_block *tb,
			int (*opener)(const char *, size_t))
{
	for (size_t i = 0; i < tb->nsegs; i++) {
		const struct text_segment *s = &tb->segs[i];
		if (s->kind != SEG_TEXT)
			continue;
		int line = s->line, at_start = s->column <= 1;
		for (const char *p = s->text; *p; line++, at_start = 1) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			if (at_start && opener(p, len))
				weft_warn(doc->path, line,
					  "this prose line will be read as a code chunk header "
					  "in the converted file");
			p = nl ? nl + 1 : p + len;
		}
	}
}

/* A text block's prose, inline code spans back in their delimiters. */
static void add_prose(struct strbuf *out, const struct text_block *tb)
{
	for (size_t i = 0; i < tb->nsegs; i++) {
		const struct text_segment *s = &tb->segs[i];
		if (s->kind == SEG_TEXT) {
			strbuf_addstr(out, s->text);
			continue;
		}
		const char *open = s->kind == SEG_INLINE_EXPR ? "<%=" : "<%";
		if (strchr(s->text, '\n'))
			strbuf_addf(out, "%s\n%s\n%%>", open, s->text);
		else
			strbuf_addf(out, "%s %s %%>", open, s->text);
	}
}

/*
 * Run `pandoc ARGS` on `in` (pweave-convert's -p), appending its output,
 * carriage returns dropped, plus the newline Pweave adds. The prose goes
 * through a temporary file so a large block cannot deadlock the pipes.
 * `line` places the prose in the document for messages.
 */
static int run_pandoc(const struct document *doc, int line, const char *args, const char *in,
		      size_t len, struct strbuf *out, struct weft_error *err)
{
	char *copy = xstrdup(args);
	size_t n = 1, alloc = 0;
	char **argv = NULL;
	ARRAY_GROW(argv, 2, alloc);
	argv[0] = "pandoc";
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		ARRAY_GROW(argv, n + 2, alloc);
		argv[n++] = w;
	}
	argv[n] = NULL;

	struct strbuf tmp, got;
	strbuf_init(&tmp);
	strbuf_init(&got);
	strbuf_addf(&tmp, "%s/weft-convert-XXXXXX", fs_tmpdir());
	int rc = -1, fd = mkostemp(tmp.buf, O_CLOEXEC), pipefd[2] = { -1, -1 };
	if (fd < 0) {
		weft_error_errno(err, tmp.buf, "cannot create a temporary file for pandoc");
		goto out;
	}
	if (fs_write_all(fd, in, len) < 0) {
		weft_error_errno(err, tmp.buf, "cannot write pandoc's input");
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		weft_error_errno(err, NULL, "pipe");
		goto out;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, tmp.buf, O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	pid_t pid;
	int e = posix_spawnp(&pid, "pandoc", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	pipefd[1] = -1;
	if (e) {
		weft_error_set(err, doc->path, line, 0,
			       "-p runs pandoc on the prose, and pandoc could not be started: %s",
			       strerror(e));
		goto out;
	}
	strbuf_read_fd(&got, pipefd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		weft_error_set(err, doc->path, line, 0,
			       "pandoc %s failed on the prose starting here (exit status %d)", args,
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	for (size_t i = 0; i < got.len; i++)
		if (got.buf[i] != '\r')
			strbuf_addch(out, got.buf[i]);
	strbuf_addch(out, '\n');
	rc = 0;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (fd >= 0) {
		close(fd);
		unlink(tmp.buf);
	}
	strbuf_free(&tmp);
	strbuf_free(&got);
	free(argv);
	free(copy);
	return rc;
}

/* The placeholder that stands for inline span `i` while pandoc converts the prose. */
static void add_placeholder(struct strbuf *out, size_t i)
{
	strbuf_addf(out, "WeftInlineSpan%zuX", i);
}

/*
 * A text block's prose as the writers use it: inline code back in its
 * delimiters, then through pandoc when `pandoc_args` is set. Inline spans
 * travel through pandoc as plain words and are put back after it, so they
 * stay code whatever pandoc does to the text around them (Pweave let
 * pandoc escape them).
 */
static int block_prose(const struct document *doc, const struct text_block *tb,
		       const char *pandoc_args, struct strbuf *out, struct weft_error *err)
{
	if (!pandoc_args) {
		add_prose(out, tb);
		return 0;
	}
	struct strbuf prose, converted, key;
	strbuf_init(&prose);
	strbuf_init(&converted);
	strbuf_init(&key);
	for (size_t i = 0; i < tb->nsegs; i++) {
		if (tb->segs[i].kind == SEG_TEXT)
			strbuf_addstr(&prose, tb->segs[i].text);
		else
			add_placeholder(&prose, i);
	}
	int rc = run_pandoc(doc, tb->line, pandoc_args, prose.buf, prose.len, &converted, err);
	const char *p = converted.buf;
	for (size_t i = 0; rc == 0 && i < tb->nsegs; i++) {
		if (tb->segs[i].kind == SEG_TEXT)
			continue;
		strbuf_reset(&key);
		add_placeholder(&key, i);
		const char *at = strstr(p, key.buf);
		if (!at) {
			weft_warn(doc->path, tb->segs[i].line,
				  "pandoc dropped this inline code span; it is left out");
			continue;
		}
		strbuf_add(out, p, (size_t)(at - p));
		struct text_block one = { .segs = &tb->segs[i], .nsegs = 1 };
		add_prose(out, &one);
		p = at + key.len;
	}
	if (rc == 0)
		strbuf_addstr(out, p);
	strbuf_free(&prose);
	strbuf_free(&converted);
	strbuf_free(&key);
	return rc;
}

/* True when the text is empty or only whitespace. */
static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

/* ---- the text formats ---------------------------------------------------- */

/* Prose as "#'" lines; blank lines before and after the prose stay bare blank lines. */
static void add_script_prose(struct strbuf *out, const char *text, size_t len)
{
	if (len && text[len - 1] == '\n')
		len--; /* the last line's terminator; blank lines before it stay */
	size_t first = 0, last = 0, nlines = 0;
	int seen = 0;
	/* find the first and last non-blank lines */
	for (size_t p = 0, no = 0; p <= len; no++) {
		const char *nl = memchr(text + p, '\n', len - p);
		size_t e = nl ? (size_t)(nl - text) : len;
		if (!blank(text + p, e - p)) {
			if (!seen)
				first = no;
			last = no;
			seen = 1;
		}
		nlines = no + 1;
		p = e + 1;
	}
	for (size_t p = 0, no = 0; no < nlines; no++) {
		const char *nl = memchr(text + p, '\n', len - p);
		size_t e = nl ? (size_t)(nl - text) : len;
		if (no)
			strbuf_addch(out, '\n');
		if (seen && no >= first && no <= last) {
			strbuf_addstr(out, "#'");
			if (e > p) {
				strbuf_addch(out, ' ');
				strbuf_add(out, text + p, e - p);
			}
		}
		p = e + 1;
	}
}

/*
 * The front matter's YAML: as written, or, for a document whose defaults came
 * from elsewhere (a notebook's metadata), a `weft:` mapping made from them.
 * Empty when there is neither.
 */
static void front_matter_yaml(struct strbuf *fm, const struct document *doc)
{
	if (doc->front_matter) {
		strbuf_addstr(fm, doc->front_matter);
		if (fm->len && !strbuf_ends_with(fm, "\n"))
			strbuf_addch(fm, '\n');
		return;
	}
	if (!doc->doc_defaults.n && !doc->doc_cache)
		return;
	const struct chunk_option **v;
	size_t n = convert_effective_options(&doc->doc_defaults, &v);
	int has_cache = 0;
	strbuf_addstr(fm, "weft:\n");
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(fm, "  %s: ", convert_canon_key(v[i]->key));
		convert_add_yaml(fm, &v[i]->val, 0);
		strbuf_addch(fm, '\n');
		has_cache |= !strcmp(v[i]->key, "cache");
	}
	if (doc->doc_cache && !has_cache)
		strbuf_addstr(fm, "  cache: true\n");
	free(v);
}

/* Front matter as the first part of a text format. */
static void add_front_matter(struct strbuf *out, const struct document *doc,
			     enum convert_format to)
{
	struct strbuf fm;
	strbuf_init(&fm);
	strbuf_addstr(&fm, "---\n");
	front_matter_yaml(&fm, doc);
	if (fm.len == 4) {
		strbuf_free(&fm);
		return;
	}
	strbuf_addstr(&fm, "---\n");
	if (to == CONVERT_SCRIPT) {
		/* "#' ---" lines, which the script reader reads back as front matter */
		add_script_prose(out, fm.buf, fm.len);
		strbuf_addch(out, '\n');
	} else {
		strbuf_add(out, fm.buf, fm.len);
	}
	strbuf_free(&fm);
}

/* One chunk in a text format. */
static int add_text_chunk(struct strbuf *out, const struct document *doc,
			  const struct src_lines *sl, const struct chunk *c, enum convert_format to,
			  struct weft_error *err)
{
	char *code = own_code(doc, c);
	size_t n = code_len(code);
	int rc = 0;
	if (to == CONVERT_NOWEB)
		rc = check_code(doc, c, code, noweb_reader_closes_chunk, "end the noweb chunk", err);
	else if (to == CONVERT_MARKDOWN)
		rc = check_code(doc, c, code, markdown_reader_closes_chunk, "end the markdown fence", err);
	else
		rc = check_code(doc, c, code, script_special,
				"become prose or options in a script", err);
	if (rc < 0) {
		free(code);
		return -1;
	}

	/* The options: as written on the header when possible, else canonical. */
	struct strbuf opts;
	strbuf_init(&opts);
	char *verbatim = header_option_text(doc, sl, c);
	if (verbatim) {
		const char *v = verbatim;
		strbuf_addstr(&opts, v);
		if (to != CONVERT_NOWEB) { /* pweave-convert keeps a noweb header's text whole */
			while (isspace((unsigned char)*v))
				v++;
			strbuf_reset(&opts);
			strbuf_addstr(&opts, v);
			strbuf_rtrim(&opts);
		}
		free(verbatim);
	} else {
		convert_add_pweave_options(&opts, c);
	}

	/* A chunk in another language keeps it (issue 11): markdown names it in the
	 * fence, noweb and scripts with engine= (unless written already). */
	const char *lang = c->lang_explicit && c->lang && strcasecmp(c->lang, "python") ? c->lang : NULL;
	if (lang && to != CONVERT_MARKDOWN && !option_list_get(&c->raw, "engine"))
		strbuf_addf(&opts, "%sengine='%s'", opts.len ? ", " : "", lang);
	switch (to) {
	case CONVERT_NOWEB:
		strbuf_addf(out, "<<%s>>=\n", opts.buf);
		break;
	case CONVERT_MARKDOWN:
		if (opts.len)
			strbuf_addf(out, "```{%s, %s}\n", lang ? lang : "python", opts.buf);
		else if (lang)
			strbuf_addf(out, "```{%s}\n", lang);
		else
			strbuf_addstr(out, "```python\n");
		break;
	default:
		strbuf_addf(out, "#+%s%s\n", opts.len ? " " : "", opts.buf);
		break;
	}
	strbuf_add(out, code, n);
	if (n)
		strbuf_addch(out, '\n');
	if (to == CONVERT_NOWEB)
		strbuf_addstr(out, "@\n");
	else if (to == CONVERT_MARKDOWN)
		strbuf_addstr(out, "```\n");
	strbuf_free(&opts);
	free(code);
	return 0;
}

/*
 * Append one part to a text format. noweb joins the parts with a newline
 * exactly as pweave-convert does (so its output matches Pweave's byte for
 * byte, blank lines included). markdown and script, which pweave-convert does
 * not write, join them so one blank line separates parts without adding one
 * where the prose already has it: converting such a file again, or through a
 * notebook and back, leaves it as it was.
 */
static void join_part(struct strbuf *out, const char *part, size_t len, enum convert_format to,
		      int *nparts)
{
	if (to == CONVERT_NOWEB) {
		if ((*nparts)++)
			strbuf_addch(out, '\n');
		strbuf_add(out, part, len);
		return;
	}
	if (!len)
		return;
	if ((*nparts)++ && !strbuf_ends_with(out, "\n\n") && part[0] != '\n')
		strbuf_addch(out, '\n');
	strbuf_add(out, part, len);
	if (part[len - 1] != '\n')
		strbuf_addch(out, '\n');
}

/* noweb, script or markdown: front matter, then prose and chunks as parts. */
static int convert_text(const struct document *doc, const struct src_lines *sl,
			enum convert_format to, const char *pandoc_args, struct strbuf *out,
			struct weft_error *err)
{
	struct strbuf part, prose;
	strbuf_init(&part);
	strbuf_init(&prose);
	int nparts = 0, rc = 0;
	add_front_matter(out, doc, to);
	for (size_t i = 0; i < doc->nblocks && rc == 0; i++) {
		const struct block *b = &doc->blocks[i];
		strbuf_reset(&part);
		if (b->kind == BLOCK_CHUNK) {
			rc = add_text_chunk(&part, doc, sl, &b->chunk, to, err);
		} else if (to == CONVERT_SCRIPT) {
			strbuf_reset(&prose);
			rc = block_prose(doc, &b->text, pandoc_args, &prose, err);
			add_script_prose(&part, prose.buf, prose.len);
			if (!blank(part.buf, part.len))
				strbuf_addch(&part, '\n');
			else
				strbuf_reset(&part);
		} else {
			if (!pandoc_args)
				check_prose(doc, &b->text,
					    to == CONVERT_NOWEB ? noweb_opener : markdown_opener);
			rc = block_prose(doc, &b->text, pandoc_args, &part, err);
			/* prose from a notebook cell may lack its last newline; a header must start a line */
			if (part.len && part.buf[part.len - 1] != '\n' && i + 1 < doc->nblocks)
				strbuf_addch(&part, '\n');
		}
		if (rc == 0)
			join_part(out, part.buf, part.len, to, &nparts);
	}
	if (out->len && out->buf[out->len - 1] != '\n')
		strbuf_addch(out, '\n');
	strbuf_free(&part);
	strbuf_free(&prose);
	return rc;
}

/* ---- the notebook ----------------------------------------------------------- */

/* A code cell that has not run: "#|" option lines, then the code. */
static json_t *nb_code_cell(const struct document *doc, const struct chunk *c)
{
	struct strbuf src;
	strbuf_init(&src);
	convert_add_quarto_options(&src, doc, c);
	char *code = own_code(doc, c);
	strbuf_add(&src, code, code_len(code));
	free(code);
	/* an option line needs no newline after it when the cell holds no code */
	if (strbuf_ends_with(&src, "\n"))
		strbuf_setlen(&src, src.len - 1);
	json_t *cell = json_object();
	json_object_set_new(cell, "cell_type", json_string("code"));
	json_object_set_new(cell, "execution_count", json_null());
	json_object_set_new(cell, "metadata", json_object());
	json_object_set_new(cell, "outputs", json_array());
	json_object_set_new(cell, "source", notebook_lines(src.buf, src.len));
	strbuf_free(&src);
	return cell;
}


/* nbformat 4.4: a raw front matter cell, markdown cells for non-blank prose, code cells. */
static int convert_notebook(const struct document *doc, const char *pandoc_args,
			    struct strbuf *out, struct weft_error *err)
{
	json_t *cells = json_array();
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_addstr(&sb, "---\n");
	front_matter_yaml(&sb, doc);
	if (sb.len > 4) {
		strbuf_addstr(&sb, "---");
		json_array_append_new(cells, notebook_cell("raw", sb.buf, sb.len));
	}
	for (size_t i = 0; i < doc->nblocks; i++) {
		const struct block *b = &doc->blocks[i];
		if (b->kind == BLOCK_CHUNK) {
			json_array_append_new(cells, nb_code_cell(doc, &b->chunk));
			continue;
		}
		strbuf_reset(&sb);
		if (block_prose(doc, &b->text, pandoc_args, &sb, err) < 0) {
			strbuf_free(&sb);
			json_decref(cells);
			return -1;
		}
		/* a cell holds its prose without the blank lines around it (Jupyter's way) */
		size_t from = 0, to_ = sb.len;
		while (to_ > 0 && isspace((unsigned char)sb.buf[to_ - 1]))
			to_--;
		for (size_t k = 0; k < to_ && isspace((unsigned char)sb.buf[k]); k++)
			if (sb.buf[k] == '\n')
				from = k + 1;
		if (to_ > from)
			json_array_append_new(cells, notebook_cell("markdown", sb.buf + from, to_ - from));
	}
	strbuf_free(&sb);
	return notebook_write(cells, doc->path, out, err);
}

int convert_document(const struct document *doc, enum convert_format to,
		     const struct convert_options *opts, struct strbuf *out,
		     struct weft_error *err)
{
	static const struct convert_options none;
	if (!opts)
		opts = &none;
	if ((int)to < 0 || (size_t)to >= sizeof(formats) / sizeof(formats[0]))
		return weft_error_set(err, doc->path, 0, 0, "unknown conversion format %d", (int)to);
	if (to == CONVERT_NOTEBOOK)
		return convert_notebook(doc, opts->pandoc_args, out, err);
	struct src_lines sl;
	src_lines_init(&sl, opts->source, opts->source_len);
	int rc = convert_text(doc, &sl, to, opts->pandoc_args, out, err);
	src_lines_free(&sl);
	return rc;
}
