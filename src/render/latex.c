/*
 * latex: the LaTeX format family (tex, texminted, texpweave, texpygments).
 *
 * The layout follows Pweave 0.30's LaTeX formatters so existing .texw
 * documents keep working: every block (prose or chunk) is rendered on its
 * own and the pieces are joined with "\n"; a chunk is its code environment,
 * then its outputs, then its figures. Deliberate differences from Pweave,
 * each because Pweave's output is wrong or loses information:
 *   - outputs keep the order they happened in: text and figures interleave,
 *     consecutive figures share one figure environment (Pweave printed all
 *     text first, then every figure);
 *   - an unnamed chunk gets no \label (Pweave wrote \label{fig:None} for
 *     every one, a "multiply defined" warning in LaTeX);
 *   - a percent width ("50%") becomes a fraction of \linewidth, because a
 *     raw % starts a LaTeX comment and broke the \includegraphics line.
 */
#include "render/latex.h"

#include <stdlib.h>
#include <string.h>

#include "render/figures.h"

/* One member of the family: the environments around code and output. */
struct latex_style {
	const char *name;
	const char *codestart, *codeend; /* "%s" in codestart is the language */
	const char *outstart, *outend;
	bool pygments;                   /* code highlighted by Pygments' LaTeX formatter */
};

static const struct latex_style latex_styles[] = {
	{"tex", "\\begin{verbatim}", "\\end{verbatim}\n", "\\begin{verbatim}", "\\end{verbatim}\n",
	 false},
	{"texminted", "\\begin{minted}[mathescape, fontsize=\\small, xleftmargin=0.5em]{%s}",
	 "\\end{minted}\n",
	 "\\begin{minted}[fontsize=\\small, xleftmargin=0.5em, mathescape, frame = leftline]{text}",
	 "\\end{minted}\n", false},
	{"texpweave", "\\begin{pweavecode}", "\\end{pweavecode}\n", "\\begin{pweaveout}",
	 "\\end{pweaveout}\n", false},
	{"texpygments", "", "",
	 "\n\\begin{Verbatim}[commandchars=\\\\\\{\\},frame=leftline,fontsize=\\small, xleftmargin=0.5em]",
	 "\\end{Verbatim}\n", true},
};

/* Pygments' own Verbatim options, used when we must frame code without Pygments. */
#define LATEX_PLAIN_VERBATIM \
	"\\begin{Verbatim}[commandchars=\\\\\\{\\},frame=single,fontsize=\\small, xleftmargin=0.5em]\n"

/* Everything one render needs, passed around instead of six arguments. */
struct latex_ctx {
	const struct latex_style *st;
	const struct document *doc;
	const struct weave_results *res;
	const struct render_options *opts;
	struct strbuf *out;
	struct weft_error *err;
};

/* The style entry for a format name, or NULL. */
static const struct latex_style *latex_style_for(const char *format)
{
	for (size_t i = 0; i < sizeof(latex_styles) / sizeof(latex_styles[0]); i++)
		if (format && !strcmp(format, latex_styles[i].name))
			return &latex_styles[i];
	return NULL;
}

int latex_format_known(const char *format)
{
	return latex_style_for(format) != NULL;
}

/* Append `s` with ANSI escape sequences (terminal colours in tracebacks) removed. */
static void latex_add_no_ansi(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == 0x1b && i + 1 < len && s[i + 1] == '[') {
			i += 2;
			while (i < len && !((s[i] >= '@' && s[i] <= '~')))
				i++;
			continue;
		}
		strbuf_addch(sb, s[i]);
	}
}

/*
 * Escape text for a Verbatim environment with commandchars=\\\{\} (texpygments),
 * where backslash and braces are active; plain LaTeX macros keep it free of
 * any Pygments style definitions.
 */
static void latex_add_commandchars_escaped(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '\\': strbuf_addstr(sb, "\\textbackslash{}"); break;
		case '{': strbuf_addstr(sb, "\\{"); break;
		case '}': strbuf_addstr(sb, "\\}"); break;
		default: strbuf_addch(sb, s[i]);
		}
	}
}

/* Pweave's fix_linefeeds: make sure `text` starts and ends with a newline. */
static void latex_add_linefed(struct strbuf *sb, const char *text, size_t len)
{
	if (!len || text[0] != '\n')
		strbuf_addch(sb, '\n');
	strbuf_add(sb, text, len);
	if (!len || text[len - 1] != '\n')
		strbuf_addch(sb, '\n');
}

/*
 * A chunk's code as shown: leading blank lines and trailing whitespace
 * dropped (as Pweave's readers did), wrapped when wrap asks for it.
 */
static void latex_shown_code(struct strbuf *code, const char *src, const struct document *doc,
			     const struct chunk *ch)
{
	const char *p = src;
	for (const char *q = src; *q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'; q++)
		if (*q == '\n')
			p = q + 1;
	struct strbuf tmp;
	strbuf_init(&tmp);
	strbuf_addstr(&tmp, p);
	strbuf_rtrim(&tmp);
	if (figures_wrap_code(&ch->opts)) {
		figures_wrap(code, tmp.buf, tmp.len);
		strbuf_rtrim(code);
	} else {
		strbuf_add(code, tmp.buf, tmp.len);
	}
	strbuf_free(&tmp);
}

/* The code environment for `code` (already trimmed). */
static void latex_code_block(struct latex_ctx *lx, const struct chunk *ch, const char *code)
{
	const char *lang = ch->lang && *ch->lang ? ch->lang : "python";
	if (lx->st->pygments) {
		struct strbuf hl;
		strbuf_init(&hl);
		if (!lx->opts->highlight ||
		    lx->opts->highlight(lx->opts->highlight_ctx, code, lang, "latex", &hl) < 0) {
			strbuf_reset(&hl);
			strbuf_addstr(&hl, LATEX_PLAIN_VERBATIM);
			latex_add_commandchars_escaped(&hl, code, strlen(code));
			strbuf_addstr(&hl, "\n\\end{Verbatim}\n");
		}
		strbuf_addstr(lx->out, lx->st->codestart);
		latex_add_linefed(lx->out, hl.buf, hl.len);
		strbuf_addstr(lx->out, lx->st->codeend);
		strbuf_free(&hl);
		return;
	}
	if (strstr(lx->st->codestart, "%s")) {
		const char *pct = strstr(lx->st->codestart, "%s");
		strbuf_add(lx->out, lx->st->codestart, (size_t)(pct - lx->st->codestart));
		strbuf_addstr(lx->out, lang);
		strbuf_addstr(lx->out, pct + 2);
	} else {
		strbuf_addstr(lx->out, lx->st->codestart);
	}
	strbuf_addch(lx->out, '\n');
	strbuf_addstr(lx->out, code);
	strbuf_addch(lx->out, '\n');
	strbuf_addstr(lx->out, lx->st->codeend);
}

/* An output environment holding `text` verbatim (no results/wrap logic). */
static void latex_output_env(struct latex_ctx *lx, const char *text, size_t len)
{
	strbuf_addstr(lx->out, lx->st->outstart);
	strbuf_addch(lx->out, '\n');
	if (lx->st->pygments)
		latex_add_commandchars_escaped(lx->out, text, len);
	else
		strbuf_add(lx->out, text, len);
	strbuf_addch(lx->out, '\n');
	strbuf_addstr(lx->out, lx->st->outend);
}

/*
 * Text output (stream text, a traceback, text/plain) under the chunk's
 * `results` option: "verbatim" puts non-blank text in the output environment
 * (wrapped when asked); a raw format ("tex", ...) passes it through as is.
 */
static void latex_text_result(struct latex_ctx *lx, const struct chunk *ch, const char *text,
			      size_t len)
{
	struct strbuf clean;
	strbuf_init(&clean);
	latex_add_no_ansi(&clean, text, len);
	const char *results = ch->opts.results ? ch->opts.results : "verbatim";
	if (!strcmp(results, "verbatim")) {
		struct strbuf body;
		strbuf_init(&body);
		if (figures_wrap_output(&ch->opts))
			figures_wrap(&body, clean.buf, clean.len);
		else
			strbuf_add(&body, clean.buf, clean.len);
		strbuf_rtrim(&body);
		if (body.len)
			latex_output_env(lx, body.buf, body.len);
		strbuf_free(&body);
	} else {
		latex_add_linefed(lx->out, clean.buf, clean.len);
	}
	strbuf_free(&clean);
}

/* Figure width for \includegraphics: "50%" -> "0.5\linewidth", default \linewidth. */
static void latex_width(struct strbuf *sb, const char *width)
{
	if (!width || !*width) {
		strbuf_addstr(sb, "\\linewidth");
		return;
	}
	char *end;
	double pct = strtod(width, &end);
	if (end != width && !strcmp(end, "%")) {
		strbuf_addf(sb, "%g\\linewidth", pct / 100.0);
		return;
	}
	strbuf_addstr(sb, width);
}

/*
 * A group of consecutive figures: \includegraphics lines, inside a figure
 * environment with caption (and label for a named chunk) when the chunk has
 * a caption, inside f_env when set. `first` says whether this is the chunk's
 * first group: only it carries the label, so labels stay unique.
 */
static void latex_figure_group(struct latex_ctx *lx, const struct chunk *ch,
			       const struct strbuf *paths, size_t n, bool first)
{
	const struct chunk_options *o = &ch->opts;
	struct strbuf *out = lx->out;
	if (o->f_env)
		strbuf_addf(out, "\\begin{%s}\n", o->f_env);
	if (o->caption)
		strbuf_addf(out, "\\begin{figure}[%s]\n\\center\n", o->f_pos ? o->f_pos : "htpb");
	for (size_t i = 0; i < n; i++) {
		strbuf_addstr(out, "\\includegraphics[width= ");
		latex_width(out, o->width);
		strbuf_addf(out, "]{%s}\n", paths[i].buf);
	}
	if (o->caption) {
		strbuf_addf(out, "\\caption{%s}\n", o->caption);
		if (o->name && first)
			strbuf_addf(out, "\\label{fig:%s}\n", o->name);
		strbuf_addstr(out, "\\end{figure}\n");
	}
	if (o->f_env)
		strbuf_addf(out, "\\end{%s}\n", o->f_env);
}

/* Outputs of a chunk being rendered: pending text and figures, flushed in order. */
struct latex_run {
	struct strbuf text;    /* merged consecutive stream text */
	struct strbuf *paths;  /* figure paths of the current group */
	size_t npaths, alloc;
	int nfig;              /* figures written so far in this chunk */
	int ngroups;           /* figure groups emitted so far */
};

/* Emit the stream text gathered so far (consecutive streams are one block, as in Pweave). */
static void latex_flush_text(struct latex_ctx *lx, const struct chunk *ch, struct latex_run *r)
{
	if (r->text.len)
		latex_text_result(lx, ch, r->text.buf, r->text.len);
	strbuf_reset(&r->text);
}

/* Emit the figures gathered so far as one group. */
static void latex_flush_figures(struct latex_ctx *lx, const struct chunk *ch, struct latex_run *r)
{
	if (!r->npaths)
		return;
	latex_figure_group(lx, ch, r->paths, r->npaths, r->ngroups == 0);
	r->ngroups++;
	for (size_t i = 0; i < r->npaths; i++)
		strbuf_free(&r->paths[i]);
	r->npaths = 0;
}

/*
 * Render the outputs of `oc` that belong to statement `stmt` (term mode),
 * all of them (LATEX_ALL_STATEMENTS), or those tied to no known statement
 * (LATEX_UNTIED). Figures keep their place among text.
 */
#define LATEX_ALL_STATEMENTS (-1000000)
#define LATEX_UNTIED (-1000001)
static int latex_outputs(struct latex_ctx *lx, const struct chunk *ch,
			 const struct chunk_outcome *oc, int stmt, struct latex_run *r)
{
	const struct chunk_options *o = &ch->opts;
	bool hidden = o->results && !strcmp(o->results, "hidden");
	for (size_t i = 0; i < oc->outputs.n; i++) {
		const struct output *out = &oc->outputs.items[i];
		bool untied = out->statement < 0 || (size_t)out->statement >= oc->nstatements;
		if (stmt == LATEX_UNTIED ? !untied
					 : stmt != LATEX_ALL_STATEMENTS && out->statement != stmt)
			continue;
		const struct mime_item *img = NULL;
		if (out->type == OUTPUT_DISPLAY_DATA || out->type == OUTPUT_EXECUTE_RESULT)
			img = figure_mime(out, figures_for_latex, lx->opts->figure_format);
		if (img) {
			latex_flush_text(lx, ch, r);
			r->nfig++;
			if (!o->fig || !o->include)
				continue;
			ARRAY_GROW(r->paths, r->npaths + 1, r->alloc);
			strbuf_init(&r->paths[r->npaths]);
			if (figure_write(lx->opts, lx->doc, ch, r->nfig, img, &r->paths[r->npaths],
					 lx->err) < 0) {
				strbuf_free(&r->paths[r->npaths]);
				return -1;
			}
			r->npaths++;
			continue;
		}
		latex_flush_figures(lx, ch, r);
		if (hidden)
			continue;
		if (out->type == OUTPUT_STREAM) {
			strbuf_add(&r->text, out->text.buf, out->text.len);
			continue;
		}
		latex_flush_text(lx, ch, r);
		if (out->type == OUTPUT_ERROR) {
			struct strbuf tb;
			strbuf_init(&tb);
			for (size_t k = 0; k < out->ntraceback; k++)
				strbuf_addf(&tb, "%s\n", out->traceback[k]);
			if (!out->ntraceback)
				strbuf_addf(&tb, "%s: %s\n", out->ename ? out->ename : "Error",
					    out->evalue ? out->evalue : "");
			latex_text_result(lx, ch, tb.buf, tb.len);
			strbuf_free(&tb);
			continue;
		}
		const struct mime_item *m = output_get_mime(out, "text/latex");
		if (m) {
			/* Rich LaTeX (e.g. a pandas table's to_latex) goes in raw, as Pweave did. */
			strbuf_addch(lx->out, '\n');
			strbuf_add(lx->out, m->data, m->len);
		} else if ((m = output_get_mime(out, "text/plain"))) {
			latex_text_result(lx, ch, m->data, m->len);
		}
	}
	latex_flush_text(lx, ch, r);
	latex_flush_figures(lx, ch, r);
	return 0;
}

/* Term mode: each statement that produced output is shown with its output, as a console would. */
static int latex_term_chunk(struct latex_ctx *lx, const struct chunk *ch,
			    const struct chunk_outcome *oc, struct latex_run *r)
{
	struct strbuf pending, code;
	strbuf_init(&pending);
	strbuf_init(&code);
	int rc = 0;
	for (size_t s = 0; s < oc->nstatements && rc == 0; s++) {
		bool has = false;
		for (size_t i = 0; i < oc->outputs.n; i++)
			has |= oc->outputs.items[i].statement == (int)s;
		strbuf_addstr(&pending, oc->statements[s].source);
		if (!has)
			continue;
		strbuf_reset(&code);
		latex_shown_code(&code, pending.buf, lx->doc, ch);
		if (ch->opts.echo && code.len)
			latex_code_block(lx, ch, code.buf);
		strbuf_reset(&pending);
		rc = latex_outputs(lx, ch, oc, (int)s, r);
	}
	strbuf_reset(&code);
	latex_shown_code(&code, pending.buf, lx->doc, ch);
	if (rc == 0 && ch->opts.echo && code.len)
		latex_code_block(lx, ch, code.buf);
	/* Outputs not tied to a statement (e.g. printed at exit) come last. */
	if (rc == 0)
		rc = latex_outputs(lx, ch, oc, LATEX_UNTIED, r);
	strbuf_free(&pending);
	strbuf_free(&code);
	return rc;
}

/* One chunk: code (when echoed), then outputs and figures, then the stop note if it stopped here. */
static int latex_chunk(struct latex_ctx *lx, const struct chunk *ch)
{
	const struct chunk_outcome *oc = figures_outcome(lx->res, ch);
	struct latex_run r = {.nfig = 0};
	strbuf_init(&r.text);
	int rc = 0;
	struct strbuf code;
	strbuf_init(&code);
	latex_shown_code(&code, ch->code ? ch->code : "", lx->doc, ch);

	if (!figures_chunk_has_outputs(lx->res, ch)) {
		if (ch->opts.echo)
			latex_code_block(lx, ch, code.buf);
		if (oc && oc->state == CHUNK_SKIPPED)
			strbuf_addf(lx->out, "%% weft: chunk %d was not run (execution stopped earlier)\n",
				    ch->number);
	} else if (ch->opts.term && oc->nstatements) {
		rc = latex_term_chunk(lx, ch, oc, &r);
	} else {
		if (ch->opts.echo)
			latex_code_block(lx, ch, code.buf);
		rc = latex_outputs(lx, ch, oc, LATEX_ALL_STATEMENTS, &r);
	}
	if (rc == 0 && oc && oc->state == CHUNK_STALE)
		strbuf_addf(lx->out, "%% weft: frozen, results of chunk %d are from an earlier version%s%s\n",
			    ch->number, oc->why ? ": " : "", oc->why ? oc->why : "");
	struct strbuf note;
	strbuf_init(&note);
	if (rc == 0 && figures_stop_note(lx->doc, lx->res, ch, &note))
		latex_output_env(lx, note.buf, note.len);
	strbuf_free(&note);
	strbuf_free(&code);
	strbuf_free(&r.text);
	for (size_t i = 0; i < r.npaths; i++)
		strbuf_free(&r.paths[i]);
	free(r.paths);
	return rc;
}

/* Prose passes through untouched (it is LaTeX already), with inline results spliced in. */
static void latex_text(struct latex_ctx *lx, const struct text_block *tb)
{
	for (size_t i = 0; i < tb->nsegs; i++) {
		const struct text_segment *sg = &tb->segs[i];
		if (sg->kind == SEG_TEXT) {
			strbuf_addstr(lx->out, sg->text);
			continue;
		}
		const struct inline_outcome *io =
			sg->inline_index >= 0 && (size_t)sg->inline_index < lx->res->ninline
				? &lx->res->inl[sg->inline_index]
				: NULL;
		if (io && io->done && io->status == RUN_OK)
			strbuf_add(lx->out, io->text.buf, io->text.len);
		else if (io && io->done)
			strbuf_addf(lx->out, "\\texttt{[%s]}",
				    io->error_message ? io->error_message : "inline code failed");
	}
}

int latex_render(const char *format, const struct document *doc, const struct weave_results *res,
		 const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	const struct latex_style *st = latex_style_for(format);
	if (!st)
		return weft_error_set(err, doc->path, 0, 0, "unknown LaTeX format '%s'",
				      format ? format : "(null)");
	struct latex_ctx lx = {st, doc, res, opts, out, err};
	for (size_t i = 0; i < doc->nblocks; i++) {
		if (i)
			strbuf_addch(out, '\n');
		const struct block *b = &doc->blocks[i];
		if (b->kind == BLOCK_TEXT)
			latex_text(&lx, &b->text);
		else if (latex_chunk(&lx, &b->chunk) < 0)
			return -1;
	}
	return 0;
}
