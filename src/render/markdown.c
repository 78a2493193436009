/* markdown: the Markdown family and the shared text-format core; see markdown.h. */
#include "render/markdown.h"

#include <string.h>

#include "model/stream_text.h"
#include "render/chunk_walk.h"
#include "render/figures.h"
#include "render/table_render.h"

/* One render in progress: where it writes, and the state of the current chunk. */
struct text_render {
	const struct text_flavour *fl;
	const struct document *doc;
	const struct weave_results *res;
	const struct render_options *opts;
	struct strbuf *out;
	struct weft_error *err;
	const struct chunk *ch;
	const char *lang;
	int nfig;        /* figures of this chunk seen so far (Pweave's file counter) */
	int shown;       /* figures of this chunk shown */
	const char *sep; /* to write before the next block: after a figure or raw display, or NULL */
	bool failed;     /* a display set err (malformed table data): the render fails */
};

/*
 * The backtick fence a block needs: 3 (Pweave's ```), or one more than the
 * longest run of backticks opening a line of `text`, so code or output that
 * itself holds a ``` fence cannot close the block early.
 */
static size_t fence_for(const char *text, size_t len)
{
	size_t need = 3;
	for (size_t i = 0; i < len; i++) {
		if (i && text[i - 1] != '\n')
			continue;
		size_t j = i;
		while (j < len && j - i < 3 && text[j] == ' ')
			j++;
		size_t run = 0;
		while (j + run < len && text[j + run] == '`')
			run++;
		if (run >= need)
			need = run + 1;
	}
	return need;
}

/*
 * Append markup `fmt`, with "%s" replaced by the chunk language and a ```
 * fence widened to `fence` backticks.
 */
static void add_markup(struct strbuf *out, const char *fmt, const char *lang, size_t fence)
{
	for (const char *p = fmt; *p;) {
		if (p[0] == '%' && p[1] == 's') {
			strbuf_addstr(out, lang);
			p += 2;
		} else if (!strncmp(p, "```", 3)) {
			strbuf_addchars(out, '`', fence);
			p += 3;
		} else {
			strbuf_addch(out, *p++);
		}
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Length of s[0..len) without trailing whitespace (Python's rstrip). */
static size_t rstrip_len(const char *s, size_t len)
{
	while (len && is_space(s[len - 1]))
		len--;
	return len;
}

/* Pweave's _indent: lines of a block prefixed by the flavour's indent (a no-op without one). */
static void add_indented(struct strbuf *out, const char *text, size_t len, const char *indent)
{
	if (!*indent) {
		strbuf_add(out, text, len);
		return;
	}
	if (!len || text[0] != '\n') {
		strbuf_addch(out, '\n');
		strbuf_addstr(out, indent);
	}
	for (size_t i = 0; i < len; i++) {
		strbuf_addch(out, text[i]);
		if (text[i] == '\n')
			strbuf_addstr(out, indent);
	}
}

/* Pweave's fix_linefeeds: make the block start and end with a newline. */
static void fix_linefeeds(struct strbuf *sb)
{
	if (!sb->len || sb->buf[0] != '\n') {
		struct strbuf t;
		strbuf_init(&t);
		strbuf_addch(&t, '\n');
		strbuf_add(&t, sb->buf, sb->len);
		strbuf_free(sb);
		*sb = t;
	}
	if (sb->buf[sb->len - 1] != '\n')
		strbuf_addch(sb, '\n');
}

/* Write the pending separator (a blank line after a figure or a raw display). */
static void separate(struct text_render *r)
{
	if (r->sep)
		strbuf_addstr(r->out, r->sep);
	r->sep = NULL;
}

/* A code block: Pweave's "\n" + content, wrapped and indented, between codestart/codeend. */
static void code_block(struct text_render *r, const char *code, size_t len, bool wrap)
{
	struct strbuf p, w;
	strbuf_init(&p);
	strbuf_init(&w);
	strbuf_addch(&p, '\n');
	strbuf_add(&p, code, rstrip_len(code, len));
	if (wrap) {
		figures_wrap(&w, p.buf, p.len);
		strbuf_reset(&p);
		strbuf_add(&p, w.buf, w.len);
	}
	strbuf_reset(&w);
	add_indented(&w, p.buf, p.len, r->fl->indent);
	fix_linefeeds(&w);
	separate(r);
	size_t fence = fence_for(w.buf, w.len);
	add_markup(r->out, r->fl->codestart, r->lang, fence);
	strbuf_add(r->out, w.buf, w.len);
	add_markup(r->out, r->fl->codeend, r->lang, fence);
	r->sep = NULL;
	strbuf_free(&p);
	strbuf_free(&w);
}

/* Raw results text (ANSI codes removed) passed through, starting and ending a line. */
static void raw_text(struct text_render *r, const char *text, size_t len)
{
	struct strbuf t;
	strbuf_init(&t);
	strbuf_add(&t, text, len);
	fix_linefeeds(&t);
	strbuf_add(r->out, t.buf, t.len);
	r->sep = NULL;
	strbuf_free(&t);
}

/* Non-blank verbatim text (cleaned, wrapped) in the flavour's output block. */
static void verbatim_text(struct text_render *r, const char *text, size_t len)
{
	struct strbuf w, b;
	strbuf_init(&w);
	strbuf_init(&b);
	strbuf_addch(&b, '\n');
	strbuf_add(&b, text, rstrip_len(text, len));
	strbuf_addch(&b, '\n');
	add_indented(&w, b.buf, b.len, r->fl->indent);
	separate(r);
	size_t fence = fence_for(w.buf, w.len);
	add_markup(r->out, r->fl->outputstart, r->lang, fence);
	strbuf_add(r->out, w.buf, w.len);
	add_markup(r->out, r->fl->outputend, r->lang, fence);
	r->sep = NULL;
	strbuf_free(&w);
	strbuf_free(&b);
}

/* The walk's rules and this format's callbacks (defined below). */
static const struct chunk_walk_ops text_walk_ops;

/* Text output (stream, traceback, text/plain): a verbatim block, or passed through when raw. */
static void text_result(struct text_render *r, const char *text, size_t len)
{
	chunk_walk_text(&text_walk_ops, r, r->ch, text, len, false);
}

/* An error output as text: its traceback lines, or "ename: evalue" without one. */
static void error_text(struct strbuf *sb, const struct output *o)
{
	if (!o->ntraceback) {
		strbuf_addf(sb, "%s: %s\n", o->ename ? o->ename : "Error", o->evalue ? o->evalue : "");
		return;
	}
	for (size_t i = 0; i < o->ntraceback; i++) {
		strbuf_addstr(sb, o->traceback[i]);
		if (!strbuf_ends_with(sb, "\n"))
			strbuf_addch(sb, '\n');
	}
}

/* Show a written figure, unless a caption already went to the chunk's first one (as Pweave). */
static void show_figure(struct text_render *r, const char *path)
{
	const struct chunk *ch = r->ch;
	if (ch->opts.caption && r->shown)
		return;
	r->fl->figure(r->fl, r->out, ch, path, ch->opts.caption);
	r->shown++;
	r->sep = r->fl->after_figure;
}

/* A figure output: write its file, show it unless a caption already went to the first one. */
static int figure(struct text_render *r, const struct mime_item *img)
{
	const struct chunk *ch = r->ch;
	if (!ch->opts.fig)
		return 0;
	struct strbuf path;
	strbuf_init(&path);
	if (figure_write(r->opts, r->doc, ch, ++r->nfig, img, &path, r->err) < 0) {
		strbuf_free(&path);
		return -1;
	}
	if (ch->opts.include)
		show_figure(r, path.buf);
	strbuf_free(&path);
	return 0;
}

/*
 * A DataFrame's table in the flavour's markup, when it builds tables and the
 * display has nothing better than text/html or text/latex (a real
 * text/markdown or reST repr wins). True when shown (or when malformed
 * table data set the error: the render then fails, naming the chunk).
 */
static bool rich_table(struct text_render *r, const struct output *o,
		       const struct mime_item *best)
{
	if (!r->fl->table ||
	    (best && strcmp(best->mime, "text/html") && strcmp(best->mime, "text/latex")))
		return false;
	struct table t;
	table_init(&t);
	int rc = table_render_decode(o, r->doc, r->ch, &t, r->err);
	if (rc > 0) {
		separate(r);
		r->fl->table(r->out, &t);
		r->sep = "\n"; /* a blank line ends the table before a following block */
	}
	table_free(&t);
	if (rc < 0)
		r->failed = true;
	return rc != 0;
}

/* A display in one of the flavour's raw MIME types passed through; false when it has none. */
static bool rich_display(struct text_render *r, const struct output *o)
{
	const struct mime_item *rich = figures_best_mime(o, r->fl->rich_mimes);
	if (rich_table(r, o, rich))
		return true;
	if (!rich)
		return false;
	/* Pweave's leading newline is the blank line before a raw display */
	strbuf_addch(r->out, '\n');
	strbuf_add(r->out, rich->data, rich->len);
	/* raw HTML or markup ends at a blank line: end it before a following block */
	r->sep = NULL;
	if (rich->len) {
		if (rich->data[rich->len - 1] != '\n')
			strbuf_addch(r->out, '\n');
		r->sep = "\n";
	}
	return true;
}

/* One output that is not a stream; `show_text` is false for results="hidden". */
static int display(struct text_render *r, const struct output *o, bool show_text)
{
	if (o->type == OUTPUT_ERROR) {
		if (show_text) {
			struct strbuf t;
			strbuf_init(&t);
			error_text(&t, o);
			text_result(r, t.buf, t.len);
			strbuf_free(&t);
		}
		return 0;
	}
	const struct mime_item *img = figure_mime(o, r->fl->figure_mimes, r->opts->figure_format);
	if (img)
		return figure(r, img);
	if (!show_text)
		return 0;
	if (rich_display(r, o))
		return 0;
	const struct mime_item *plain = output_get_mime(o, "text/plain");
	if (plain)
		text_result(r, plain->data, plain->len);
	return 0;
}

/* Append `src` as console input: ">>> " on its first line, "... " on the rest. */
static void add_prompted(struct strbuf *t, const char *src)
{
	size_t len = rstrip_len(src, strlen(src));
	bool first = true;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && src[i] != '\n')
			continue;
		const char *line = src + start;
		size_t n = i - start;
		if (first && !n) {
			/* leading blank lines of a statement are not console input */
			start = i + 1;
			continue;
		}
		strbuf_addstr(t, first ? ">>>" : "...");
		if (n) {
			strbuf_addch(t, ' ');
			strbuf_add(t, line, n);
		}
		strbuf_addch(t, '\n');
		first = false;
		start = i + 1;
	}
}

/*
 * Text an output contributes to a transcript (cleaned as stream_text.h says;
 * a stream under the console rules first); false when it must be shown
 * outside it.
 */
static bool transcript_text(struct text_render *r, const struct output *o, struct strbuf *t)
{
	struct strbuf e;
	strbuf_init(&e);
	switch (o->type) {
	case OUTPUT_STREAM:
		stream_text_console(&e, o->text.buf, o->text.len);
		break;
	case OUTPUT_ERROR:
		error_text(&e, o);
		break;
	case OUTPUT_DISPLAY_DATA:
	case OUTPUT_EXECUTE_RESULT: {
		if (figure_mime(o, r->fl->figure_mimes, r->opts->figure_format) ||
		    figures_best_mime(o, r->fl->rich_mimes) ||
		    (r->fl->table && output_get_mime(o, TABLE_MIME))) {
			strbuf_free(&e);
			return false;
		}
		const struct mime_item *plain = output_get_mime(o, "text/plain");
		if (plain)
			strbuf_add(&e, plain->data, plain->len);
		break;
	}
	}
	stream_text_clean(t, e.buf, e.len);
	strbuf_free(&e);
	if (t->len && t->buf[t->len - 1] != '\n')
		strbuf_addch(t, '\n');
	return true;
}

/* Close the transcript block collected so far (as a code block, unwrapped code). */
static void flush_transcript(struct text_render *r, struct strbuf *t)
{
	if (!t->len)
		return;
	code_block(r, t->buf, t->len, false);
	strbuf_reset(t);
}

/*
 * term=True: a console transcript. Each statement with prompts, then the text
 * it produced; figures and rich displays close the block and follow it.
 */
static int term_chunk(struct text_render *r, const struct chunk_outcome *oc, bool show_text)
{
	const struct output_list *l = &oc->outputs;
	struct strbuf t;
	strbuf_init(&t);
	size_t nst = oc->nstatements ? oc->nstatements : 1;
	for (size_t s = 0; s <= nst; s++) {
		if (s < nst)
			add_prompted(&t, oc->nstatements ? oc->statements[s].source : r->ch->code);
		for (size_t i = 0; i < l->n; i++) {
			const struct output *o = &l->items[i];
			/* without statement records every output follows the one statement */
			int st = oc->nstatements ? o->statement : 0;
			bool mine = s < nst ? st == (int)s : (st < 0 || (size_t)st >= nst);
			if (!mine)
				continue;
			if (show_text) {
				struct strbuf piece;
				strbuf_init(&piece);
				bool inside = transcript_text(r, o, &piece);
				/* output is wrapped as chunk_walk wraps it: tracebacks never */
				if (inside && figures_wrap_output(&r->ch->opts) &&
				    o->type != OUTPUT_ERROR) {
					struct strbuf w;
					strbuf_init(&w);
					figures_wrap_output_text(&w, piece.buf,
								 rstrip_len(piece.buf, piece.len));
					strbuf_add(&t, w.buf, w.len);
					strbuf_free(&w);
				} else if (inside) {
					strbuf_add(&t, piece.buf, piece.len);
				}
				strbuf_free(&piece);
				if (inside)
					continue;
			} else if (o->type == OUTPUT_STREAM || o->type == OUTPUT_ERROR) {
				continue;
			}
			flush_transcript(r, &t);
			if (display(r, o, show_text) < 0) {
				strbuf_free(&t);
				return -1;
			}
		}
	}
	flush_transcript(r, &t);
	strbuf_free(&t);
	return 0;
}

/* ---- callbacks of the shared chunk walk (chunk_walk.h) ---- */

/* The chunk's code as written: Pweave's block, wrapped when wrap asks for it. */
static void walk_code_block(void *ctx, const struct chunk *ch, const char *code)
{
	code_block(ctx, code, strlen(code), figures_wrap_code(&ch->opts));
}

/* Verbatim text from the walk (cleaned, wrapped): the output block. */
static void walk_verbatim(void *ctx, const struct chunk *ch, const char *text, size_t len,
			  bool error)
{
	verbatim_text(ctx, text, len);
}

/* Raw results text from the walk: passed through. */
static void walk_raw(void *ctx, const struct chunk *ch, const char *results, const char *text,
		     size_t len)
{
	raw_text(ctx, text, len);
}

/* A rich display: passed through when it has a raw MIME type, else text/plain. */
static bool walk_rich(void *ctx, const struct chunk *ch, const struct output *o)
{
	return rich_display(ctx, o);
}

/* A figure is written to its file and referred to by its path. */
static int walk_figure_src(void *ctx, const struct chunk *ch, int index,
			   const struct mime_item *img, struct strbuf *src)
{
	struct text_render *r = ctx;
	return figure_write(r->opts, r->doc, ch, index, img, src, r->err);
}

/* Each figure of a group on its own, as Pweave's text formats show them. */
static void walk_figure_group(void *ctx, const struct chunk *ch, const struct strbuf *srcs,
			      size_t n, bool first)
{
	for (size_t i = 0; i < n; i++)
		show_figure(ctx, srcs[i].buf);
}

/* The frozen-results comment, in flavours that have comments. */
static void walk_frozen_note(void *ctx, const struct chunk *ch, const struct chunk_outcome *oc)
{
	struct text_render *r = ctx;
	struct strbuf note;
	strbuf_init(&note);
	if (r->fl->comment && figures_stale_note(r->res, ch, &note))
		r->fl->comment(r->out, note.buf);
	strbuf_free(&note);
}

/* The execution-stopped note, in the flavour's markup. */
static void walk_stop_note(void *ctx, const struct chunk *ch, const char *note, size_t len)
{
	struct text_render *r = ctx;
	r->fl->note(r->out, note);
}

/* The text formats' markup and rules for the shared chunk walk (figure_mimes per flavour). */
static const struct chunk_walk_ops text_walk_ops = {
	.source_code = true,
	.include_hides_text = true,
	.write_unshown_figures = true,
	.raw_without_stream = true,
	.own_term = true,
	.error_text = error_text,
	.code_block = walk_code_block,
	.verbatim = walk_verbatim,
	.raw = walk_raw,
	.rich_output = walk_rich,
	.figure_src = walk_figure_src,
	.figure_group = walk_figure_group,
	.frozen_note = walk_frozen_note,
	.stop_note = walk_stop_note,
};

/*
 * One code chunk: a term=True chunk that ran as a console transcript, any
 * other through the shared walk (code, outputs and figures as the options ask).
 */
static int render_chunk(struct text_render *r, const struct chunk *ch)
{
	const struct chunk_outcome *oc = figures_outcome(r->res, ch);
	const char *results = ch->opts.results ? ch->opts.results : "verbatim";
	bool hidden = !strcmp(results, "hidden");
	bool ran = ch->opts.evaluate && figures_chunk_has_outputs(r->res, ch);
	r->ch = ch;
	r->lang = ch->lang ? ch->lang : "python";
	r->nfig = r->shown = 0;
	r->sep = NULL;
	struct chunk_walk_ops ops = text_walk_ops;
	ops.figure_mimes = r->fl->figure_mimes;
	if (!(ran && ch->opts.term && ch->opts.echo && !hidden))
		return chunk_walk(&ops, r, r->doc, r->res, r->opts, ch);
	if (term_chunk(r, oc, ch->opts.include) < 0)
		return -1;
	walk_frozen_note(r, ch, oc);
	struct strbuf note;
	strbuf_init(&note);
	if (figures_stop_note(r->doc, r->res, ch, &note))
		walk_stop_note(r, ch, note.buf, note.len);
	strbuf_free(&note);
	return 0;
}

/* A text block with its inline code results put in place (stripped, as Pweave does). */
static void render_text_block(struct text_render *r, const struct text_block *tb)
{
	for (size_t i = 0; i < tb->nsegs; i++) {
		const struct text_segment *s = &tb->segs[i];
		if (s->kind == SEG_TEXT) {
			if (s->text)
				strbuf_addstr(r->out, s->text);
			continue;
		}
		if (!r->res || s->inline_index < 0 || (size_t)s->inline_index >= r->res->ninline)
			continue;
		const struct inline_outcome *io = &r->res->inl[s->inline_index];
		if (!io->done)
			continue;
		bool value = io->status == RUN_OK || !io->error_message;
		const char *t = value ? (io->text.buf ? io->text.buf : "") : io->error_message;
		size_t n = value ? io->text.len : strlen(t); /* a value may hold a NUL */
		while (n && is_space(*t)) {
			t++;
			n--;
		}
		stream_text_clean(r->out, t, rstrip_len(t, n)); /* no raw control byte in the text */
		if (io->stale) /* --frozen showed a value a run would recompute */
			strbuf_addstr(r->out, " [stale]");
	}
}

int markdown_render_flavour(const struct text_flavour *fl, const struct document *doc,
			    const struct weave_results *res, const struct render_options *opts,
			    struct strbuf *out, struct weft_error *err)
{
	struct text_render r = {.fl = fl, .doc = doc, .res = res, .opts = opts, .out = out,
				.err = err};
	if (doc->front_matter && fl->front_matter)
		fl->front_matter(out, doc);
	for (size_t i = 0; i < doc->nblocks; i++) {
		/* Pweave joins the formatted blocks with newlines */
		if (i)
			strbuf_addch(out, '\n');
		const struct block *b = &doc->blocks[i];
		if (b->kind == BLOCK_TEXT)
			render_text_block(&r, &b->text);
		else if (render_chunk(&r, &b->chunk) < 0 || r.failed)
			return -1;
	}
	return 0;
}

/* ---- the four Markdown flavours ---- */

/* Pandoc: ![caption](path){#name width=W}, a trailing "\" (hard break) without caption. */
static void pandoc_figure(const struct text_flavour *fl, struct strbuf *out, const struct chunk *ch,
			  const char *path, const char *caption)
{
	const char *width = ch->opts.width ? ch->opts.width : fl->default_width;
	strbuf_addf(out, "![%s](%s)", caption ? caption : "", path);
	if (ch->opts.name || width) {
		strbuf_addch(out, '{');
		if (ch->opts.name)
			strbuf_addf(out, "#%s ", ch->opts.name);
		if (width)
			strbuf_addf(out, "width=%s", width);
		strbuf_addch(out, '}');
	}
	if (!caption || !*caption)
		strbuf_addch(out, '\\');
	strbuf_addch(out, '\n');
}

/* Leanpub: plain ![caption](path). */
static void leanpub_figure(const struct text_flavour *fl, struct strbuf *out,
			   const struct chunk *ch, const char *path, const char *caption)
{
	strbuf_addf(out, "![%s](%s)\n", caption ? caption : "", path);
}

/* Softcover: the caption carries a \label{fig:name} when the chunk has a name. */
static void softcover_figure(const struct text_flavour *fl, struct strbuf *out,
			     const struct chunk *ch, const char *path, const char *caption)
{
	if (caption && ch->opts.name)
		strbuf_addf(out, "![%s \\label{fig:%s}](%s)\n", caption, ch->opts.name, path);
	else
		strbuf_addf(out, "![%s](%s)\n", caption ? caption : "", path);
}

/* The stopped-execution note as a Markdown block quote, set off by blank lines. */
static void md_note(struct strbuf *out, const char *text)
{
	if (!strbuf_ends_with(out, "\n"))
		strbuf_addch(out, '\n');
	if (!strbuf_ends_with(out, "\n\n"))
		strbuf_addch(out, '\n');
	strbuf_addf(out, "> **%s**\n\n", text);
}

/* An HTML comment: Markdown processors keep it out of the page ("--" cannot end it early). */
static void md_comment(struct strbuf *out, const char *text)
{
	if (!strbuf_ends_with(out, "\n"))
		strbuf_addch(out, '\n');
	strbuf_addstr(out, "<!-- ");
	for (const char *p = text; *p; p++) {
		strbuf_addch(out, *p);
		if (p[0] == '-' && p[1] == '-')
			strbuf_addch(out, ' ');
	}
	strbuf_addstr(out, " -->\n\n");
}

/*
 * YAML front matter back between its fences: "---", and "---" or "..." as the
 * document closed it (Pweave passes the block through as written; pandoc
 * reads both).
 */
static void md_front_matter(struct strbuf *out, const struct document *doc)
{
	const char *yaml = doc->front_matter;
	strbuf_addstr(out, "---\n");
	strbuf_addstr(out, yaml);
	if (*yaml && yaml[strlen(yaml) - 1] != '\n')
		strbuf_addch(out, '\n');
	strbuf_addstr(out, doc->front_matter_dots ? "...\n" : "---\n");
}

static const char *const pandoc_rich[] = {"text/markdown", "text/html", "text/latex", NULL};
static const char *const plain_md_rich[] = {"text/markdown", NULL};

static const struct text_flavour md_flavours[] = {
	{"pandoc", "```%s", "```\n\n", "```", "```\n\n", "", pandoc_rich, figures_for_markdown,
	 NULL, "\n", pandoc_figure, md_note, md_front_matter, md_comment, table_render_pipe},
	{"markdown", "```%s", "```\n\n", "```", "```\n\n", "", pandoc_rich, figures_for_markdown,
	 NULL, "\n", pandoc_figure, md_note, md_front_matter, md_comment, table_render_pipe},
	{"leanpub", "{line-numbers=off}\n~~~~~~~~", "~~~~~~~~\n\n", "{line-numbers=off}\n~~~~~~~~",
	 "~~~~~~~~\n\n", "", plain_md_rich, figures_for_markdown, NULL, "\n", leanpub_figure,
	 md_note, md_front_matter, md_comment, NULL},
	{"softcover", "\n```%s", "```\n\n", "```\n", "```\n\n", "", plain_md_rich,
	 figures_for_markdown, NULL, "\n", softcover_figure, md_note, md_front_matter, md_comment, NULL},
};

/* The flavour called `format`, or NULL. */
static const struct text_flavour *md_flavour(const char *format)
{
	for (size_t i = 0; i < sizeof(md_flavours) / sizeof(md_flavours[0]); i++)
		if (format && !strcmp(md_flavours[i].name, format))
			return &md_flavours[i];
	return NULL;
}

int markdown_format_known(const char *format)
{
	return md_flavour(format) != NULL;
}

int markdown_render(const char *format, const struct document *doc, const struct weave_results *res,
		    const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	const struct text_flavour *fl = md_flavour(format);
	if (!fl)
		return weft_error_set(err, doc->path, 0, 0, "markdown: unknown format '%s'",
				      format ? format : "(none)");
	return markdown_render_flavour(fl, doc, res, opts, out, err);
}
