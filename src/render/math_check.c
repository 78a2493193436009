/* math_check: checking an md2html page's math when it is written; see math_check.h. */
#include "render/math_check.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "util/error.h"
#include "util/fsutil.h"

extern char **environ;

void math_list_init(struct math_list *l)
{
	l->items = NULL;
	l->n = l->alloc = 0;
}

void math_list_free(struct math_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].tex);
	free(l->items);
	math_list_init(l);
}

/* md4c's escaping of text (&amp; &lt; &gt; &quot;) undone, appended to `out`. */
static void unescape(struct strbuf *out, const char *s, size_t n)
{
	static const struct { const char *ent; char c; } ents[] = {
		{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		if (s[i] == '&')
			for (; k < sizeof(ents) / sizeof(*ents); k++)
				if (!strncmp(s + i, ents[k].ent, strlen(ents[k].ent)) &&
				    i + strlen(ents[k].ent) <= n)
					break;
		if (s[i] == '&' && k < sizeof(ents) / sizeof(*ents)) {
			strbuf_addch(out, ents[k].c);
			i += strlen(ents[k].ent) - 1;
		} else {
			strbuf_addch(out, s[i]);
		}
	}
}

void math_list_add_html(struct math_list *l, const char *html, size_t len, int line)
{
	static const char open[] = "<x-equation", close[] = "</x-equation>";
	const char *end = html + len;
	const char *s = html;
	while (s < end) {
		const char *tag = memmem(s, (size_t)(end - s), open, sizeof(open) - 1);
		if (!tag)
			break;
		const char *gt = memchr(tag, '>', (size_t)(end - tag));
		const char *stop = gt ? memmem(gt, (size_t)(end - gt), close, sizeof(close) - 1) : NULL;
		if (!stop)
			break;
		struct strbuf tex;
		strbuf_init(&tex);
		unescape(&tex, gt + 1, (size_t)(stop - gt - 1));
		ARRAY_GROW(l->items, l->n + 1, l->alloc);
		l->items[l->n++] = (struct math_item){
			.tex = strbuf_detach(&tex, NULL),
			.display = memmem(tag, (size_t)(gt - tag), "display", 7) != NULL,
			.line = line,
		};
		s = stop + sizeof(close) - 1;
	}
}

void math_list_locate(struct math_list *l, size_t from, const char *md, size_t len, int line)
{
	size_t pos = 0;
	for (size_t i = from; i < l->n; i++) {
		size_t tl = strlen(l->items[i].tex);
		const char *hit = tl ? memmem(md + pos, len - pos, l->items[i].tex, tl) : NULL;
		if (!hit)
			continue; /* escaped differently in the source: the block's line stays */
		int at = line;
		for (const char *c = md; c < hit; c++)
			at += *c == '\n';
		l->items[i].line = at;
		pos = (size_t)(hit - md) + tl;
	}
}

/*
 * KaTeX's verdict on each formula through Node: a JSON array, null for a
 * formula it renders, else its error message. As the page does, formulas
 * share one macro table (a \newcommand holds for the formulas after it).
 */
static const char node_script[] =
	"const k = require(process.argv[1]);\n"
	"const items = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));\n"
	"const macros = {};\n"
	"process.stdout.write(JSON.stringify(items.map(([t, d]) => {\n"
	"  try { k.renderToString(t, {displayMode: d, throwOnError: true, macros: macros,\n"
	"                             globalGroup: true}); return null; }\n"
	"  catch (e) { return String(e.message); }\n"
	"})));\n";

/* Run the check through node; -1 when it could not run (the caller falls back). */
static int check_with_node(const struct math_list *l, const char *doc_path, const char *node,
			   const char *katex_js, int *problems)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < l->n; i++) {
		json_t *pair = json_pack("[sb]", l->items[i].tex, l->items[i].display);
		if (!pair || json_array_append_new(arr, pair) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	if (!text)
		return -1; /* a formula that is not UTF-8: the name check still reads it */
	struct strbuf tmp;
	strbuf_init(&tmp);
	strbuf_addf(&tmp, "%s/weft-math-XXXXXX", fs_tmpdir());
	int fd = mkostemp(tmp.buf, O_CLOEXEC);
	int rc = -1;
	int pipefd[2] = {-1, -1};
	if (fd >= 0 && fs_write_all(fd, text, strlen(text)) == 0 && pipe2(pipefd, O_CLOEXEC) == 0) {
		char *argv[] = {(char *)node, "-e", (char *)node_script, (char *)katex_js, tmp.buf, NULL};
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		pid_t pid;
		int e = posix_spawn(&pid, node, &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[1]);
		if (e == 0) {
			struct strbuf out;
			strbuf_init(&out);
			strbuf_read_fd(&out, pipefd[0]);
			int status = 0;
			waitpid(pid, &status, 0);
			json_t *res = WIFEXITED(status) && WEXITSTATUS(status) == 0
					      ? json_loadb(out.buf, out.len, 0, NULL)
					      : NULL;
			if (json_is_array(res) && json_array_size(res) == l->n) {
				rc = 0;
				for (size_t i = 0; i < l->n; i++) {
					const char *msg = json_string_value(json_array_get(res, i));
					if (!msg)
						continue;
					weft_warn(doc_path, l->items[i].line, "math `%s`: %s", l->items[i].tex, msg);
					(*problems)++;
				}
			}
			json_decref(res);
			strbuf_free(&out);
		}
		close(pipefd[0]);
	}
	if (fd >= 0) {
		close(fd);
		unlink(tmp.buf);
	}
	strbuf_free(&tmp);
	free(text);
	return rc;
}

/* True when `name` (len bytes, without the backslash) appears as "\\name" in KaTeX's source. */
static bool katex_knows(const struct strbuf *src, const char *name, size_t len)
{
	struct strbuf needle;
	strbuf_init(&needle);
	strbuf_addstr(&needle, "\"\\\\");
	strbuf_add(&needle, name, len);
	strbuf_addch(&needle, '"');
	bool known = memmem(src->buf, src->len, needle.buf, needle.len) != NULL;
	strbuf_free(&needle);
	return known;
}

/* Without Node: macros neither KaTeX nor the document defines, by name. */
static int check_names(const struct math_list *l, const char *doc_path, const char *katex_js)
{
	struct strbuf src, defined, reported;
	strbuf_init(&src);
	strbuf_init(&defined);
	strbuf_init(&reported);
	if (strbuf_read_file(&src, katex_js) < 0) {
		strbuf_free(&src);
		return 0;
	}
	/* the document's own definitions, as " name " words */
	static const char *const definers[] = {"\\newcommand", "\\renewcommand", "\\def",
					       "\\DeclareMathOperator"};
	for (size_t i = 0; i < l->n; i++)
		for (size_t d = 0; d < sizeof(definers) / sizeof(*definers); d++)
			for (const char *p = strstr(l->items[i].tex, definers[d]); p;
			     p = strstr(p + 1, definers[d])) {
				const char *q = p + strlen(definers[d]);
				while (*q == '{' || *q == ' ' || *q == '*')
					q++;
				if (*q != '\\')
					continue;
				size_t n = 1;
				while (isalpha((unsigned char)q[n]))
					n++;
				strbuf_addch(&defined, ' ');
				strbuf_add(&defined, q + 1, n - 1);
				strbuf_addch(&defined, ' ');
			}
	int problems = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *t = l->items[i].tex;
		for (const char *p = strchr(t, '\\'); p; p = strchr(p + 1, '\\')) {
			size_t n = 0;
			while (isalpha((unsigned char)p[1 + n]))
				n++;
			if (!n)
				continue;
			struct strbuf word;
			strbuf_init(&word);
			strbuf_addch(&word, ' ');
			strbuf_add(&word, p + 1, n);
			strbuf_addch(&word, ' ');
			if (!strstr(defined.buf ? defined.buf : "", word.buf) &&
			    !strstr(reported.buf ? reported.buf : "", word.buf) && !katex_knows(&src, p + 1, n)) {
				weft_warn(doc_path, l->items[i].line,
					  "math `%s`: \\%.*s is not a KaTeX macro (and the document does not "
					  "define it); the page will show it in red", t, (int)n, p + 1);
				strbuf_addstr(&reported, word.buf);
				problems++;
			}
			strbuf_free(&word);
			p += n;
		}
	}
	strbuf_free(&src);
	strbuf_free(&defined);
	strbuf_free(&reported);
	return problems;
}

int math_check(const struct math_list *l, const char *doc_path, const char *katex_dir)
{
	if (!l->n)
		return 0;
	struct strbuf katex_js, node;
	strbuf_init(&katex_js);
	strbuf_init(&node);
	strbuf_addf(&katex_js, "%s/katex.min.js", katex_dir);
	if (access(katex_js.buf, R_OK) < 0) {
		strbuf_reset(&katex_js);
		strbuf_addf(&katex_js, "%s/katex.js", katex_dir);
	}
	int problems = 0;
	if (access(katex_js.buf, R_OK) == 0) {
		bool have_node = fs_find_program("node", &node) == 0 || fs_find_program("nodejs", &node) == 0;
		if (!have_node || check_with_node(l, doc_path, node.buf, katex_js.buf, &problems) < 0)
			problems = check_names(l, doc_path, katex_js.buf);
	}
	strbuf_free(&katex_js);
	strbuf_free(&node);
	return problems;
}
