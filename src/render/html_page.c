/* html_page: md2html's standalone page around the rendered body; see html_page.h. */
#include "render/html_page.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "render/html.h"
#include "render/md2html_style.h"
#include "util/error.h"
#include "util/fsutil.h"

/* Where Debian's libjs-katex puts KaTeX; WEFT_KATEX_DIR overrides. */
#define HTML_KATEX_DIR "/usr/share/javascript/katex"

/* See html_page.h. */
void html_page_title_block(struct strbuf *md, char **title, char **author, char **date)
{
	char **fields[] = {title, author, date};
	size_t pos = 0;
	for (int k = 0; k < 3 && pos < md->len && md->buf[pos] == '%'; k++) {
		size_t end = pos;
		while (end < md->len && md->buf[end] != '\n')
			end++;
		const char *v = md->buf + pos + 1;
		while (*v == ' ')
			v++;
		if (!*fields[k] && md->buf + end > v)
			*fields[k] = xstrndup(v, (size_t)(md->buf + end - v));
		pos = end < md->len ? end + 1 : end;
	}
	if (pos) {
		memmove(md->buf, md->buf + pos, md->len - pos);
		strbuf_setlen(md, md->len - pos);
	}
}

/* See html_page.h. */
void html_page_front_matter(const char *yaml, char **title, char **author, char **date)
{
	if (!yaml)
		return;
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return;
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, strlen(yaml));
	int depth = 0;
	bool want_key = true;
	char **target = NULL;
	struct strbuf list;
	strbuf_init(&list);
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev))
			break;
		yaml_event_type_t t = ev.type;
		if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
			if (depth == 1 && !want_key && t == YAML_SEQUENCE_START_EVENT && target)
				strbuf_reset(&list);
			depth++;
		} else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
			depth--;
			if (depth == 1 && !want_key) {
				if (target && list.len && !*target)
					*target = xstrdup(list.buf);
				want_key = true;
				target = NULL;
			}
		} else if (t == YAML_SCALAR_EVENT) {
			const char *v = (const char *)ev.data.scalar.value;
			if (depth == 1 && want_key) {
				target = !strcmp(v, "title")    ? title
					 : !strcmp(v, "author") ? author
					 : !strcmp(v, "date")   ? date
								: NULL;
				want_key = false;
			} else if (depth == 1) {
				if (target && !*target && *v)
					*target = xstrdup(v);
				want_key = true;
				target = NULL;
			} else if (depth == 2 && target) {
				if (list.len)
					strbuf_addstr(&list, ", ");
				strbuf_addstr(&list, v);
			}
		}
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
	}
	strbuf_free(&list);
	yaml_parser_delete(&p);
}

/*
 * KaTeX from the system (libjs-katex), inlined so the page renders math
 * without any network: its CSS with every font as a woff2 data: URI, and its
 * script. Returns 0, or -1 when KaTeX is not installed.
 */
static int html_katex(struct strbuf *style, struct strbuf *script)
{
	const char *dir = getenv("WEFT_KATEX_DIR");
	if (!dir || !*dir)
		dir = HTML_KATEX_DIR;
	struct strbuf path, css, js;
	strbuf_init(&path);
	strbuf_init(&css);
	strbuf_init(&js);
	int rc = -1;
	strbuf_addf(&path, "%s/katex.min.css", dir);
	if (strbuf_read_file(&css, path.buf) < 0)
		goto done;
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/katex.min.js", dir);
	if (strbuf_read_file(&js, path.buf) < 0)
		goto done;

	/* Each "src:url(fonts/X.woff2) format('woff2'),url(...woff)..." becomes one data: URI. */
	const char *p = css.buf;
	for (;;) {
		const char *src = strstr(p, "src:");
		if (!src)
			break;
		const char *end = src + strcspn(src, ";}");
		strbuf_add(style, p, (size_t)(src - p));
		const char *u = strstr(src, "url(");
		const char *w = u && u < end ? strstr(u, ".woff2)") : NULL;
		if (!w || w > end) {
			strbuf_add(style, src, (size_t)(end - src));
			p = end;
			continue;
		}
		struct strbuf font;
		strbuf_init(&font);
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%.*s.woff2", dir, (int)(w - (u + 4)), u + 4);
		if (strbuf_read_file(&font, path.buf) == 0) {
			strbuf_addstr(style, "src:url(data:font/woff2;base64,");
			base64_encode(style, font.buf, font.len);
			strbuf_addstr(style, ") format('woff2')");
		}
		strbuf_free(&font);
		p = end;
	}
	strbuf_addstr(style, p);

	/* The script goes inside <script>: never let it close the element early. */
	for (const char *q = js.buf; *q; q++) {
		if (q[0] == '<' && q[1] == '/' && !strncasecmp(q + 2, "script", 6)) {
			strbuf_addstr(script, "<\\/");
			q++;
			continue;
		}
		strbuf_addch(script, *q);
	}
	rc = 0;
done:
	strbuf_free(&path);
	strbuf_free(&css);
	strbuf_free(&js);
	return rc;
}

/* The document's file name without directories, for the footer and a fallback title. */
static const char *html_basename(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path ? path : "document";
}

/* See html_page.h. */
void html_page_write(struct strbuf *out, const char *doc_path, const char *version,
		     const char *body, size_t len, const char *title, const char *author,
		     const char *date)
{
	bool math = memmem(body, len, "<x-equation", 11) != NULL;
	struct strbuf kcss, kjs;
	strbuf_init(&kcss);
	strbuf_init(&kjs);
	if (math && html_katex(&kcss, &kjs) < 0) {
		weft_warn(doc_path, 0, "KaTeX not found (install libjs-katex or set "
					    "WEFT_KATEX_DIR); math is shown as TeX source");
		math = false;
	}
	strbuf_addstr(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
	strbuf_addf(out, "<meta name=\"generator\" content=\"weft %s\">\n<title>", version);
	html_escape_str(out, title ? title : html_basename(doc_path));
	strbuf_addstr(out, "</title>\n<style>\n");
	strbuf_addstr(out, md2html_page_css);
	strbuf_addstr(out, md2html_pygments_css);
	strbuf_addstr(out, "</style>\n");
	if (math) {
		strbuf_addstr(out, "<style>\n");
		strbuf_add(out, kcss.buf, kcss.len);
		strbuf_addstr(out, "\n</style>\n");
	}
	strbuf_addstr(out, "</head>\n<body>\n<main class=\"weft-doc\">\n");
	if (title || author || date) {
		strbuf_addstr(out, "<header class=\"weft-title\">\n");
		if (title) {
			strbuf_addstr(out, "<h1>");
			html_escape_str(out, title);
			strbuf_addstr(out, "</h1>\n");
		}
		if (author || date) {
			strbuf_addstr(out, "<p class=\"weft-meta\">");
			if (author)
				html_escape_str(out, author);
			if (author && date)
				strbuf_addstr(out, " &middot; ");
			if (date)
				html_escape_str(out, date);
			strbuf_addstr(out, "</p>\n");
		}
		strbuf_addstr(out, "</header>\n");
	}
	strbuf_add(out, body, len);
	strbuf_addstr(out, "</main>\n<footer class=\"weft-footer\">Rendered from <code>");
	html_escape_str(out, html_basename(doc_path));
	strbuf_addf(out, "</code> by weft %s.</footer>\n", version);
	if (math) {
		strbuf_addstr(out, "<script>\n");
		strbuf_add(out, kjs.buf, kjs.len);
		strbuf_addstr(out, "\n</script>\n<script>\n");
		strbuf_addstr(out, md2html_math_script);
		strbuf_addstr(out, "</script>\n");
	}
	strbuf_addstr(out, "</body>\n</html>\n");
	strbuf_free(&kcss);
	strbuf_free(&kjs);
}
