/*
 * html: the HTML format family (html, md2html, pandoc2html, pandoc2latex).
 *
 * "html" is Pweave's fragment format, kept byte-compatible with Pweave 0.30
 * where Pweave was right: prose passes through, code is a Pygments block,
 * outputs are <pre> blocks in the same "highlight" class, figures are <img>
 * or a <figure> with caption. Blocks are joined with "\n".
 *
 * "md2html" is weft's own standalone page: prose through md4c (tables,
 * strikethrough, task lists, $math$), code highlighted by Pygments with the
 * compiled-in stylesheet (md2html_style.c), outputs in visibly different
 * blocks, text/html outputs (pandas tables) as real tables, figures embedded
 * as data: URIs (or linked files), KaTeX inlined from the system's
 * libjs-katex only when the page has math, and a footer naming weft.
 *
 * The page around md2html's body is html_page.c's; pandoc2html and
 * pandoc2latex are pandoc_render.c's.
 *
 * Both keep outputs in the order they happened (consecutive figures share one
 * <figure>), where Pweave printed all text before every figure.
 */
#include "model/stream_text.h"
#include "render/html.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <md4c-html.h>

#include "render/chunk_walk.h"
#include "render/figures.h"
#include "render/html_page.h"
#include "render/math_check.h"
#include "render/md_prose.h"
#include "render/pandoc_render.h"

/* Everything one render needs. */
struct html_ctx {
	bool page;                       /* md2html: weft's page; else Pweave's fragment */
	const struct document *doc;
	const struct weave_results *res;
	const struct render_options *opts;
	struct strbuf *out;
	struct weft_error *err;
	char **ids;                      /* element ids used so far (page), kept unique */
	size_t nids, ids_alloc;
	struct md_prose prose;           /* page: footnotes and figure numbers (md_prose.h) */
};

int html_format_known(const char *format)
{
	return format && (!strcmp(format, "html") || !strcmp(format, "md2html") ||
			  !strcmp(format, "pandoc2html") || !strcmp(format, "pandoc2latex"));
}

/* See html.h. */
void html_escape(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&': strbuf_addstr(sb, "&amp;"); break;
		case '<': strbuf_addstr(sb, "&lt;"); break;
		case '>': strbuf_addstr(sb, "&gt;"); break;
		case '"': strbuf_addstr(sb, "&quot;"); break;
		case '\'': strbuf_addstr(sb, "&#39;"); break;
		default: strbuf_addch(sb, s[i]);
		}
	}
}

/* See html.h. */
void html_escape_str(struct strbuf *sb, const char *s)
{
	html_escape(sb, s, strlen(s));
}

/* Pweave's fix_linefeeds: make sure `text` starts and ends with a newline. */
static void html_add_linefed(struct strbuf *sb, const char *text, size_t len)
{
	if (!len || text[0] != '\n')
		strbuf_addch(sb, '\n');
	strbuf_add(sb, text, len);
	if (!len || text[len - 1] != '\n')
		strbuf_addch(sb, '\n');
}

/* md4c's output callback: append to the strbuf in `ud`. */
static void html_md_sink(const MD_CHAR *text, MD_SIZE size, void *ud)
{
	strbuf_add(ud, text, size);
}

/* Markdown to HTML with the extensions a report needs (GitHub tables etc., $math$). */
static void html_markdown(struct strbuf *out, const char *md, size_t len)
{
	if (md_html(md, (MD_SIZE)len, html_md_sink, out,
		    MD_DIALECT_GITHUB | MD_FLAG_LATEXMATHSPANS, 0) != 0)
		html_escape(out, md, len); /* md4c only fails on memory: show the text */
}

/* Pygments markup for `code`, or the same structure with escaped plain code. */
static void html_highlighted(struct html_ctx *hx, const struct chunk *ch, const char *code,
			     struct strbuf *hl)
{
	const char *lang = ch->lang && *ch->lang ? ch->lang : "python";
	if (hx->opts->highlight &&
	    hx->opts->highlight(hx->opts->highlight_ctx, code, lang, "html", hl) == 0)
		return;
	strbuf_reset(hl);
	strbuf_addstr(hl, "<div class=\"highlight\"><pre><span></span>");
	html_escape_str(hl, code);
	strbuf_addstr(hl, "\n</pre></div>\n");
}

/* The code block of a chunk. */
static void html_code_block(void *ctx, const struct chunk *ch, const char *code)
{
	struct html_ctx *hx = ctx;
	struct strbuf hl;
	strbuf_init(&hl);
	html_highlighted(hx, ch, code, &hl);
	if (hx->page) {
		strbuf_addstr(hx->out, "<div class=\"weft-code\">");
		strbuf_add(hx->out, hl.buf, hl.len);
		strbuf_rtrim(hx->out);
		strbuf_addstr(hx->out, "</div>\n");
	} else {
		html_add_linefed(hx->out, hl.buf, hl.len);
	}
	strbuf_free(&hl);
}

/* A <pre> output block with escaped `text`; `cls` adds a class on the page ("weft-error"). */
static void html_output_pre(struct html_ctx *hx, const char *text, size_t len, const char *cls)
{
	if (hx->page) {
		strbuf_addf(hx->out, "<div class=\"weft-output%s%s\"><pre>", cls ? " " : "",
			    cls ? cls : "");
		html_escape(hx->out, text, len);
		strbuf_addstr(hx->out, "</pre></div>\n");
	} else {
		strbuf_addstr(hx->out, "\n<div class=\"highlight\"><pre>\n");
		html_escape(hx->out, text, len);
		strbuf_addstr(hx->out, "\n</pre></div>\n");
	}
}

/* Non-blank results="verbatim" text in an output block; a traceback gets the error class. */
static void html_verbatim(void *ctx, const struct chunk *ch, const char *text, size_t len,
			  bool error)
{
	html_output_pre(ctx, text, len, error ? "weft-error" : NULL);
}

/*
 * Text under a raw results format passes through ("markdown" is converted
 * on the page, where raw Markdown would show as plain text).
 */
static void html_raw(void *ctx, const struct chunk *ch, const char *results, const char *text,
		     size_t len)
{
	struct html_ctx *hx = ctx;
	if (hx->page && (!strcmp(results, "markdown") || !strcmp(results, "pandoc")))
		html_markdown(hx->out, text, len);
	else
		html_add_linefed(hx->out, text, len);
}

/* width="600" for a bare number, a CSS width otherwise ("50%", "15cm"). */
static void html_width_attr(struct strbuf *sb, const char *width, bool page)
{
	if (!width || !*width) {
		if (!page)
			strbuf_addstr(sb, " width=\"600\"");
		return;
	}
	if (strspn(width, "0123456789") == strlen(width) || !page) {
		strbuf_addstr(sb, " width=\"");
		html_escape_str(sb, width);
		strbuf_addch(sb, '"');
		return;
	}
	strbuf_addstr(sb, " style=\"width:");
	html_escape_str(sb, width);
	strbuf_addch(sb, '"');
}

/*
 * Append id="base" (escaped), or id="base-2", "-3"... when a chunk name was
 * used before: two chunks may share a name, an HTML page may not share ids.
 */
static void html_unique_id(struct html_ctx *hx, const char *base)
{
	struct strbuf id;
	strbuf_init(&id);
	for (int n = 1;; n++) {
		strbuf_reset(&id);
		strbuf_addstr(&id, base);
		if (n > 1)
			strbuf_addf(&id, "-%d", n);
		bool used = false;
		for (size_t i = 0; i < hx->nids && !used; i++)
			used = !strcmp(hx->ids[i], id.buf);
		if (!used)
			break;
	}
	ARRAY_GROW(hx->ids, hx->nids + 1, hx->ids_alloc);
	hx->ids[hx->nids++] = xstrdup(id.buf);
	strbuf_addstr(hx->out, " id=\"");
	html_escape(hx->out, id.buf, id.len);
	strbuf_addch(hx->out, '"');
	strbuf_free(&id);
}

/* True when chunk `c` shows a captioned figure on the page (it is numbered then). */
static bool html_chunk_has_figure(const struct html_ctx *hx, const struct chunk *c)
{
	const struct chunk_outcome *oc = figures_outcome(hx->res, c);
	if (!c->opts.caption || !c->opts.include || !oc)
		return false;
	for (size_t k = 0; k < oc->outputs.n; k++)
		if (figure_mime(&oc->outputs.items[k], figures_for_html, hx->opts->figure_format))
			return true;
	return false;
}

/* One group of consecutive figures, with caption/anchor when the chunk has them. */
static void html_figure_group(void *ctx, const struct chunk *ch, const struct strbuf *srcs,
			      size_t nsrcs, bool first)
{
	struct html_ctx *hx = ctx;
	const struct chunk_options *o = &ch->opts;
	struct strbuf *out = hx->out;
	if (!hx->page) {
		/* Pweave's fragment layout, byte for byte. */
		struct strbuf figs;
		strbuf_init(&figs);
		for (size_t i = 0; i < nsrcs; i++) {
			strbuf_addf(&figs, "<img src=\"%s\"", srcs[i].buf);
			html_width_attr(&figs, o->width, false);
			strbuf_addstr(&figs, "/>\n");
		}
		if (o->caption) {
			strbuf_addstr(out, "<figure>\n");
			strbuf_add(out, figs.buf, figs.len);
			strbuf_addstr(out, "<figcaption ");
			if (o->name && first)
				strbuf_addf(out, "data-label = \"fig:%s\"", o->name);
			strbuf_addf(out, ">%s</figcaption>\n</figure>", o->caption);
		} else {
			strbuf_add(out, figs.buf, figs.len);
		}
		strbuf_free(&figs);
		return;
	}
	strbuf_addstr(out, "<figure class=\"weft-figure\"");
	if (o->name && first) {
		struct strbuf base;
		strbuf_init(&base);
		strbuf_addf(&base, "fig:%s", o->name);
		html_unique_id(hx, base.buf);
		strbuf_free(&base);
	}
	strbuf_addstr(out, ">\n");
	for (size_t i = 0; i < nsrcs; i++) {
		strbuf_addf(out, "<img src=\"%s\" alt=\"", srcs[i].buf);
		if (o->caption)
			html_escape_str(out, o->caption);
		else
			strbuf_addf(out, "Figure %d from chunk %d", (int)i + 1, ch->number);
		strbuf_addch(out, '"');
		html_width_attr(out, o->width, true);
		strbuf_addstr(out, ">\n");
	}
	if (o->caption) {
		/* Captions are Markdown, as in Pandoc; md4c wraps them in <p>, which we drop. */
		struct strbuf cap;
		strbuf_init(&cap);
		html_markdown(&cap, o->caption, strlen(o->caption));
		strbuf_rtrim(&cap);
		const char *c = cap.buf;
		size_t n = cap.len;
		if (n >= 7 && !strncmp(c, "<p>", 3) && !strcmp(c + n - 4, "</p>")) {
			c += 3;
			n -= 7;
		}
		strbuf_addstr(out, "<figcaption>");
		int num = md_prose_chunk_figure(&hx->prose, ch->number);
		if (num && first)
			strbuf_addf(out, "<span class=\"weft-fignum\">Figure %d.</span> ", num);
		strbuf_add(out, c, n);
		strbuf_addstr(out, "</figcaption>\n");
		strbuf_free(&cap);
	}
	strbuf_addstr(out, "</figure>\n");
}

/* The src of a figure: a data: URI on an embedding page, else the written file's path. */
static int html_figure_src(void *ctx, const struct chunk *ch, int index,
			   const struct mime_item *img, struct strbuf *src)
{
	struct html_ctx *hx = ctx;
	if (hx->page && hx->opts->embed_figures) {
		strbuf_addf(src, "data:%s;base64,", img->mime);
		base64_encode(src, img->data, img->len);
		return 0;
	}
	struct strbuf rel;
	strbuf_init(&rel);
	int rc = figure_write(hx->opts, hx->doc, ch, index, img, &rel, hx->err);
	if (rc == 0)
		html_escape(src, rel.buf, rel.len);
	strbuf_free(&rel);
	return rc;
}

/* text/latex holding one formula ($...$ or $$...$$, as SymPy gives) becomes page math. */
static bool html_latex_math(struct html_ctx *hx, const struct mime_item *m)
{
	size_t n = m->len;
	const char *s = m->data;
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	size_t d = n >= 4 && !strncmp(s, "$$", 2) && !strncmp(s + n - 2, "$$", 2) ? 2
		   : n >= 2 && s[0] == '$' && s[n - 1] == '$'                      ? 1
											 : 0;
	if (!d)
		return false;
	strbuf_addstr(hx->out, "<div class=\"weft-output weft-rich\"><x-equation type=\"display\">");
	html_escape(hx->out, s + d, n - 2 * d);
	strbuf_addstr(hx->out, "</x-equation></div>\n");
	return true;
}

/* A rich output that is not a figure; false leaves it to its text/plain. */
static bool html_rich_output(void *ctx, const struct chunk *ch, const struct output *o)
{
	struct html_ctx *hx = ctx;
	const struct mime_item *m;
	if ((m = output_get_mime(o, "text/html"))) {
		if (hx->page) {
			strbuf_addstr(hx->out, "<div class=\"weft-output weft-rich\">\n");
			strbuf_add(hx->out, m->data, m->len);
			strbuf_rtrim(hx->out);
			strbuf_addstr(hx->out, "\n</div>\n");
		} else {
			strbuf_addch(hx->out, '\n');
			strbuf_add(hx->out, m->data, m->len);
		}
	} else if (hx->page && (m = output_get_mime(o, "text/markdown"))) {
		strbuf_addstr(hx->out, "<div class=\"weft-output weft-rich\">\n");
		html_markdown(hx->out, m->data, m->len);
		strbuf_addstr(hx->out, "</div>\n");
	} else if ((m = output_get_mime(o, "application/javascript"))) {
		strbuf_addstr(hx->out, "\n<script>");
		strbuf_add(hx->out, m->data, m->len);
		strbuf_addstr(hx->out, "</script>\n");
	} else if (hx->page && (m = output_get_mime(o, "text/latex")) && html_latex_math(hx, m)) {
		/* shown as math */
	} else {
		return false;
	}
	return true;
}

/* A skipped chunk says it was not run: a note on the page, a comment in a fragment. */
static void html_skipped_note(void *ctx, const struct chunk *ch)
{
	struct html_ctx *hx = ctx;
	if (hx->page)
		strbuf_addf(hx->out, "<div class=\"weft-note\">Not run: execution "
				     "stopped before chunk %d.</div>\n",
			    ch->number);
	else
		strbuf_addf(hx->out, "<!-- weft: chunk %d was not run (execution "
				     "stopped earlier) -->\n",
			    ch->number);
}

/* --frozen (page only): say the results predate the current code, and why. */
static void html_frozen_note(void *ctx, const struct chunk *ch, const struct chunk_outcome *oc)
{
	struct html_ctx *hx = ctx;
	if (!hx->page)
		return;
	strbuf_addstr(hx->out, "<div class=\"weft-note\">Frozen: these results are from an "
			       "earlier version of this chunk");
	if (oc->why) {
		strbuf_addstr(hx->out, " (");
		html_escape_str(hx->out, oc->why);
		strbuf_addch(hx->out, ')');
	}
	strbuf_addstr(hx->out, ".</div>\n");
}

/* Execution stopped at this chunk: an alert on the page, an output block in a fragment. */
static void html_stop_note(void *ctx, const struct chunk *ch, const char *note, size_t len)
{
	struct html_ctx *hx = ctx;
	if (hx->page) {
		strbuf_addstr(hx->out, "<div class=\"weft-stopped\" role=\"alert\">");
		html_escape(hx->out, note, len);
		strbuf_addstr(hx->out, "</div>\n");
	} else {
		html_output_pre(hx, note, len, NULL);
	}
}

/* HTML's markup for the shared chunk walk. */
static const struct chunk_walk_ops html_walk_ops = {
	.figure_mimes = figures_for_html,
	.code_block = html_code_block,
	.verbatim = html_verbatim,
	.raw = html_raw,
	.rich_output = html_rich_output,
	.figure_src = html_figure_src,
	.figure_group = html_figure_group,
	.skipped_note = html_skipped_note,
	.frozen_note = html_frozen_note,
	.stop_note = html_stop_note,
};

/* One chunk through the shared walk; on the page inside its box, left out when empty. */
static int html_chunk(struct html_ctx *hx, const struct chunk *ch)
{
	const struct chunk_outcome *oc = figures_outcome(hx->res, ch);
	bool skipped = oc && oc->state == CHUNK_SKIPPED;
	size_t start = hx->out->len;
	if (hx->page)
		strbuf_addf(hx->out, "<div class=\"weft-chunk%s\">\n", skipped ? " weft-skipped" : "");
	size_t inner = hx->out->len;
	int rc = chunk_walk(&html_walk_ops, hx, hx->doc, hx->res, hx->opts, ch);
	if (hx->page) {
		if (hx->out->len == inner)
			strbuf_setlen(hx->out, start); /* nothing shown: no empty box */
		else
			strbuf_addstr(hx->out, "</div>\n");
	}
	return rc;
}

/* The prose of a text block with inline results spliced in; --frozen's stale values marked. */
static void html_block_text(struct html_ctx *hx, const struct text_block *tb, struct strbuf *sb)
{
	md_prose_splice_inline(sb, tb, hx->res,
			       "<sup class=\"weft-stale\" title=\"not re-run: --frozen shows "
			       "the last cached value\">stale</sup>");
}

/* Undo md4c's escaping of code text (&amp; &lt; &gt; &quot;), appending to `out`. */
static void html_unescape(struct strbuf *out, const char *s, size_t len)
{
	static const struct { const char *ent; char c; } ents[] = {
		{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}};
	for (size_t i = 0; i < len; i++) {
		size_t k = 0;
		if (s[i] == '&')
			for (; k < 4; k++)
				if (!strncmp(s + i, ents[k].ent, strlen(ents[k].ent)))
					break;
		if (s[i] == '&' && k < 4) {
			strbuf_addch(out, ents[k].c);
			i += strlen(ents[k].ent) - 1;
		} else {
			strbuf_addch(out, s[i]);
		}
	}
}

/*
 * Fenced code in prose (```python ... ```) gets the same Pygments markup as
 * chunks: md4c writes <pre><code class="language-X">, which is replaced when
 * the highlighter can do it. Rewrites `html` in place.
 */
static void html_highlight_prose_code(struct html_ctx *hx, struct strbuf *html)
{
	static const char open[] = "<pre><code class=\"language-";
	if (!hx->opts->highlight || !strstr(html->buf, open))
		return;
	struct strbuf res, code, lang, hl;
	strbuf_init(&res);
	strbuf_init(&code);
	strbuf_init(&lang);
	strbuf_init(&hl);
	const char *p = html->buf, *q;
	while ((q = strstr(p, open))) {
		const char *ls = q + sizeof(open) - 1;
		const char *le = strchr(ls, '"');
		const char *cs = le ? strchr(le, '>') : NULL;
		const char *ce = cs ? strstr(cs, "</code></pre>") : NULL;
		if (!ce)
			break;
		strbuf_reset(&lang);
		strbuf_add(&lang, ls, (size_t)(le - ls));
		strbuf_reset(&code);
		html_unescape(&code, cs + 1, (size_t)(ce - cs - 1));
		strbuf_reset(&hl);
		strbuf_add(&res, p, (size_t)(q - p));
		if (hx->opts->highlight(hx->opts->highlight_ctx, code.buf, lang.buf, "html", &hl) == 0) {
			strbuf_rtrim(&hl);
			strbuf_add(&res, hl.buf, hl.len);
		} else {
			strbuf_add(&res, q, (size_t)(ce - q) + 13);
		}
		p = ce + 13; /* strlen("</code></pre>") */
	}
	strbuf_addstr(&res, p);
	strbuf_reset(html);
	strbuf_add(html, res.buf, res.len);
	strbuf_free(&res);
	strbuf_free(&code);
	strbuf_free(&lang);
	strbuf_free(&hl);
}

/* The MIME type of an image file by its extension, or NULL when browsers do not show it. */
static const char *image_mime(const char *path)
{
	static const char *const types[][2] = {
		{".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
		{".gif", "image/gif"}, {".svg", "image/svg+xml"}, {".webp", "image/webp"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(*types); i++)
		if (!strcasecmp(dot, types[i][0]))
			return types[i][1];
	return NULL;
}

/*
 * Images the prose links by a local path (![](data/pic.png)) go into the
 * standalone page as data: URIs, as figures do, so the page is still one
 * file; the path is relative to the document's folder. One that cannot be
 * read is a warning naming it, and stays a link.
 */
static void html_embed_prose_images(struct html_ctx *hx, struct strbuf *html)
{
	static const char pat[] = "<img src=\"";
	struct strbuf out, path, data;
	strbuf_init(&out);
	strbuf_init(&path);
	strbuf_init(&data);
	const char *s = html->buf;
	const char *hit;
	while ((hit = strstr(s, pat))) {
		const char *src = hit + sizeof(pat) - 1;
		const char *end = strchr(src, '"');
		if (!end)
			break;
		strbuf_add(&out, s, (size_t)(src - s));
		struct strbuf url;
		strbuf_init(&url);
		html_unescape(&url, src, (size_t)(end - src));
		bool local = url.len && url.buf[0] != '/' && !strstr(url.buf, "://") &&
			     strncmp(url.buf, "data:", 5) && !strchr(url.buf, '?') && !strchr(url.buf, '#');
		const char *mime = local ? image_mime(url.buf) : NULL;
		bool done = false;
		if (mime) {
			const char *slash = strrchr(hx->doc->path, '/');
			strbuf_reset(&path);
			if (slash)
				strbuf_add(&path, hx->doc->path, (size_t)(slash - hx->doc->path + 1));
			strbuf_add(&path, url.buf, url.len);
			strbuf_reset(&data);
			if (strbuf_read_file(&data, path.buf) == 0) {
				strbuf_addf(&out, "data:%s;base64,", mime);
				base64_encode(&out, data.buf, data.len);
				done = true;
			} else {
				weft_warn(hx->doc->path, 0, "image %s cannot be read (%s); the page links it instead",
					  path.buf, strerror(errno));
			}
		}
		if (!done)
			strbuf_add(&out, src, (size_t)(end - src));
		strbuf_free(&url);
		s = end;
	}
	strbuf_addstr(&out, s);
	strbuf_reset(html);
	strbuf_add(html, out.buf, out.len);
	strbuf_free(&out);
	strbuf_free(&path);
	strbuf_free(&data);
}

/* The md2html page: title from front matter (or a % title block), then every block. */
static int html_render_page(struct html_ctx *hx)
{
	char *title = NULL, *author = NULL, *date = NULL;
	html_page_front_matter(hx->doc->front_matter, &title, &author, &date);
	struct strbuf body, md;
	strbuf_init(&body);
	strbuf_init(&md);
	struct strbuf *saved = hx->out;
	hx->out = &body;
	int rc = 0;
	bool first_text = true;
	struct strbuf prepared;
	strbuf_init(&prepared);
	struct math_list math;
	math_list_init(&math);
	/* figure numbers first: prose may refer to a figure before it */
	for (size_t i = 0; i < hx->doc->nchunks; i++) {
		const struct chunk *c = document_chunk_const(hx->doc, i);
		if (html_chunk_has_figure(hx, c))
			md_prose_add_figure(&hx->prose, c->opts.name, c->number);
	}
	for (size_t i = 0; i < hx->doc->nblocks && rc == 0; i++) {
		const struct block *b = &hx->doc->blocks[i];
		if (b->kind == BLOCK_CHUNK) {
			rc = html_chunk(hx, &b->chunk);
			continue;
		}
		strbuf_reset(&md);
		html_block_text(hx, &b->text, &md);
		if (first_text)
			html_page_title_block(&md, &title, &author, &date);
		first_text = false;
		size_t before = body.len;
		strbuf_reset(&prepared);
		md_prose_prepare(&hx->prose, md.buf, md.len, b->text.line, &prepared);
		html_markdown(&body, prepared.buf, prepared.len);
		size_t nmath = math.n;
		math_list_add_html(&math, body.buf + before, body.len - before, b->text.line);
		math_list_locate(&math, nmath, md.buf, md.len, b->text.line);
		if (body.len == before)
			continue;
		/* Prose tables and code get their own styling context. */
		struct strbuf wrapped;
		strbuf_init(&wrapped);
		strbuf_addstr(&wrapped, "<div class=\"weft-text\">\n");
		strbuf_add(&wrapped, body.buf + before, body.len - before);
		html_highlight_prose_code(hx, &wrapped);
		if (hx->opts->embed_figures)
			html_embed_prose_images(hx, &wrapped);
		strbuf_addstr(&wrapped, "</div>\n");
		strbuf_setlen(&body, before);
		strbuf_add(&body, wrapped.buf, wrapped.len);
		strbuf_free(&wrapped);
	}
	md_prose_footnotes(&hx->prose, hx->doc->path, html_markdown, &body);
	strbuf_free(&prepared);
	if (rc == 0)
		math_check(&math, hx->doc->path, html_page_katex_dir());
	math_list_free(&math);
	hx->out = saved;
	if (rc == 0)
		html_page_write(hx->out, hx->doc->path, hx->opts->version ? hx->opts->version : WEFT_VERSION,
				body.buf, body.len, title, author, date);
	strbuf_free(&body);
	strbuf_free(&md);
	free(title);
	free(author);
	free(date);
	return rc;
}

/* Pweave's fragment: blocks joined with "\n", prose untouched. */
static int html_render_fragment(struct html_ctx *hx)
{
	for (size_t i = 0; i < hx->doc->nblocks; i++) {
		if (i)
			strbuf_addch(hx->out, '\n');
		const struct block *b = &hx->doc->blocks[i];
		if (b->kind == BLOCK_TEXT)
			html_block_text(hx, &b->text, hx->out);
		else if (html_chunk(hx, &b->chunk) < 0)
			return -1;
	}
	return 0;
}

int html_render(const char *format, const struct document *doc, const struct weave_results *res,
		const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	struct html_ctx hx = {.doc = doc, .res = res, .opts = opts, .out = out, .err = err};
	if (!html_format_known(format))
		return weft_error_set(err, doc->path, 0, 0, "unknown HTML format '%s'",
				      format ? format : "(null)");
	if (!strcmp(format, "pandoc2html") || !strcmp(format, "pandoc2latex"))
		return pandoc_render(format, doc, res, opts, out, err);
	if (!strcmp(format, "md2html")) {
		hx.page = true;
		md_prose_init(&hx.prose);
		int rc = html_render_page(&hx);
		md_prose_free(&hx.prose);
		for (size_t i = 0; i < hx.nids; i++)
			free(hx.ids[i]);
		free(hx.ids);
		return rc;
	}
	return html_render_fragment(&hx);
}
