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
 *     raw % starts a LaTeX comment and broke the \includegraphics line;
 *   - a DataFrame is a booktabs table built from its data (Pweave showed its
 *     text form), and what the markup uses is defined in the preamble
 *     (latex_define_used; Pweave left \PY and pweavecode undefined).
 */
#include "model/stream_text.h"
#include "render/latex.h"
#include "render/latex_preamble.h"
#include "render/table_render.h"

#include <stdlib.h>
#include <string.h>

#include "render/chunk_walk.h"
#include "render/figures.h"
#include "render/latex_wrap.h"

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
	{"texwrapped", "", "", "", "", false}, /* latex_wrap.h's blocks (latex_wrapped) */
};

/* True for texwrapped, whose code and outputs are latex_wrap.h's blocks. */
static bool latex_wrapped(const struct latex_style *st)
{
	return !strcmp(st->name, "texwrapped");
}

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
	if (len && text[len - 1] != '\n') /* "" becomes "\n", as in Pweave */
		strbuf_addch(sb, '\n');
}

/* The code environment for `code` (already trimmed). */
static void latex_code_block(void *ctx, const struct chunk *ch, const char *code)
{
	struct latex_ctx *lx = ctx;
	const char *lang = ch->lang && *ch->lang ? ch->lang : "python";
	if (latex_wrapped(lx->st)) {
		latex_wrap_code(lx->out, lx->opts, code, lang);
		return;
	}
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

/* Non-blank results="verbatim" text (output, traceback) in the output environment. */
static void latex_verbatim(void *ctx, const struct chunk *ch, const char *text, size_t len,
			   bool error)
{
	struct latex_ctx *lx = ctx;
	if (latex_wrapped(lx->st))
		latex_wrap_output(lx->out, text, len, error);
	else
		latex_output_env(ctx, text, len);
}

/* Text under a raw results format ("tex", ...) passes through as printed. */
static void latex_raw(void *ctx, const struct chunk *ch, const char *results, const char *text,
		      size_t len)
{
	struct latex_ctx *lx = ctx;
	latex_add_linefed(lx->out, text, len);
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
static void latex_figure_group(void *ctx, const struct chunk *ch, const struct strbuf *paths,
			       size_t n, bool first)
{
	struct latex_ctx *lx = ctx;
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

/* A figure is written to its file and referred to by its path. */
static int latex_figure_src(void *ctx, const struct chunk *ch, int index,
			    const struct mime_item *img, struct strbuf *src)
{
	struct latex_ctx *lx = ctx;
	return figure_write(lx->opts, lx->doc, ch, index, img, src, lx->err);
}

/*
 * Rich LaTeX (e.g. a pandas table's to_latex) goes in raw, as Pweave did;
 * else a DataFrame's table built from its data (booktabs); else text/plain.
 * Malformed table data stops the chunk with an error naming it.
 */
static bool latex_rich_output(void *ctx, const struct chunk *ch, const struct output *o)
{
	struct latex_ctx *lx = ctx;
	const struct mime_item *m = output_get_mime(o, "text/latex");
	if (m) {
		strbuf_addch(lx->out, '\n');
		strbuf_add(lx->out, m->data, m->len);
		return true;
	}
	struct table t;
	table_init(&t);
	int rc = table_render_decode(o, lx->doc, ch, &t, lx->err); /* -1: err names the chunk */
	if (rc > 0)
		table_render_latex(lx->out, &t);
	table_free(&t);
	return rc != 0;
}

/* A skipped chunk: a LaTeX comment says why it shows no output. */
static void latex_skipped_note(void *ctx, const struct chunk *ch)
{
	struct latex_ctx *lx = ctx;
	strbuf_addf(lx->out, "%% weft: chunk %d was not run (execution stopped earlier)\n",
		    ch->number);
}

/* --frozen: a LaTeX comment says the results predate the current code, and why. */
static void latex_frozen_note(void *ctx, const struct chunk *ch, const struct chunk_outcome *oc)
{
	struct latex_ctx *lx = ctx;
	strbuf_addf(lx->out, "%% weft: frozen, results of chunk %d are from an earlier version%s%s\n",
		    ch->number, oc->why ? ": " : "", oc->why ? oc->why : "");
}

/* Execution stopped at this chunk: the note in an output environment, visible in the PDF. */
static void latex_stop_note(void *ctx, const struct chunk *ch, const char *note, size_t len)
{
	latex_verbatim(ctx, ch, note, len, true);
}

/* Term mode: a blank line between statements, as Pweave's one woven chunk per statement. */
static void latex_term_gap(void *ctx, const struct chunk *ch)
{
	struct latex_ctx *lx = ctx;
	(void)ch;
	strbuf_addch(lx->out, '\n');
}

/* LaTeX's markup for the shared chunk walk. */
static const struct chunk_walk_ops latex_walk_ops = {
	.figure_mimes = figures_for_latex,
	.code_block = latex_code_block,
	.verbatim = latex_verbatim,
	.raw = latex_raw,
	.raw_without_stream = true, /* Pweave's raw results of a silent chunk: one "\n" */
	.rich_output = latex_rich_output,
	.figure_src = latex_figure_src,
	.figure_group = latex_figure_group,
	.term_gap = latex_term_gap,
	.skipped_note = latex_skipped_note,
	.frozen_note = latex_frozen_note,
	.stop_note = latex_stop_note,
};

/* One chunk: code (when echoed), then outputs and figures, then the notes that apply. */
static int latex_chunk(struct latex_ctx *lx, const struct chunk *ch)
{
	bool had_error = lx->err && weft_error_isset(lx->err);
	int rc = chunk_walk(&latex_walk_ops, lx, lx->doc, lx->res, lx->opts, ch);
	/* a rich output that could not be shown (malformed table data) set err */
	return rc < 0 || (lx->err && !had_error && weft_error_isset(lx->err)) ? -1 : 0;
}


/*
 * Prose passes through untouched (it is LaTeX already), with inline results
 * spliced in, stripped as Pweave strips them; a failed span shows its error,
 * escaped.
 */
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
		size_t n;
		const char *t;
		if (io && io->done && io->status == RUN_OK) {
			t = inline_outcome_shown(io, &n);
			stream_text_clean(lx->out, t, n); /* no raw control byte reaches TeX */
			if (io->stale) /* --frozen showed a value a run would recompute */
				strbuf_addstr(lx->out, "\\textsuperscript{stale}");
		} else if (io && io->done) {
			strbuf_addstr(lx->out, "\\texttt{[");
			const char *msg = io->error_message ? io->error_message : "inline code failed";
			latex_wrap_escape_text(lx->out, msg, strlen(msg));
			strbuf_addstr(lx->out, "]}");
		}
	}
}

/* texpweave's environments when the document does not define them: fancyvrb, framed output. */
static const char *const latex_pweave_envs[][2] = {
	{"pweavecode", "\\DefineVerbatimEnvironment{pweavecode}{Verbatim}{xleftmargin=0.5em}\n"},
	{"pweaveout",
	 "\\DefineVerbatimEnvironment{pweaveout}{Verbatim}{frame=leftline,xleftmargin=0.5em}\n"},
};

/*
 * What the render of out->buf[start..] used, defined at the end of the
 * document's preamble (latex_preamble.h): booktabs (and longtable) for a
 * table, ours or an object's text/latex; for
 * texpygments, fancyvrb, color and Pygments' style macros for the style it
 * highlighted with (asked where highlighting runs; none when it is off, the
 * code then being plain Verbatim); for texpweave, its two environments
 * unless the document defines them; for texminted, the minted package.
 */
static void latex_define_used(struct latex_ctx *lx, size_t start)
{
	struct latex_needs needs;
	latex_needs_init(&needs, lx->st->name);
	const char *tex = lx->out->buf + start;
	size_t len = lx->out->len - start;
	size_t pre = latex_preamble_end(tex, len); /* the preamble, or the whole fragment */
	if (lx->st->pygments) {
		latex_needs_package(&needs, "fancyvrb");
		if (lx->opts->highlight && !latex_preamble_mentions(tex, pre, "\\PY@reset")) {
			struct strbuf defs;
			strbuf_init(&defs);
			if (lx->opts->highlight(lx->opts->highlight_ctx, "", "text", "latex-defs",
						&defs) == 0 && defs.len) {
				latex_needs_package(&needs, "color");
				strbuf_add(&needs.defs, defs.buf, defs.len);
				if (defs.buf[defs.len - 1] != '\n')
					strbuf_addch(&needs.defs, '\n');
			}
			strbuf_free(&defs);
		}
	} else if (!strcmp(lx->st->name, "texpweave")) {
		for (size_t i = 0; i < 2; i++) {
			if (latex_preamble_defines_env(tex, pre, latex_pweave_envs[i][0]))
				continue;
			latex_needs_package(&needs, "fancyvrb");
			strbuf_addstr(&needs.defs, latex_pweave_envs[i][1]);
		}
	} else if (!strcmp(lx->st->name, "texminted")) {
		latex_needs_package(&needs, "minted");
	}
	/* tables, ours or an object's own text/latex (pandas' to_latex uses booktabs) */
	if (latex_preamble_mentions(tex, len, "\\toprule") ||
	    latex_preamble_mentions(tex, len, "\\midrule") ||
	    latex_preamble_mentions(tex, len, "\\bottomrule"))
		latex_needs_package(&needs, "booktabs");
	if (latex_preamble_mentions(tex, len, "\\begin{longtable}"))
		latex_needs_package(&needs, "longtable");
	latex_preamble_insert(lx->out, start, &needs);
	latex_needs_free(&needs);
}

int latex_render(const char *format, const struct document *doc, const struct weave_results *res,
		 const struct render_options *opts, struct strbuf *out, struct weft_error *err)
{
	const struct latex_style *st = latex_style_for(format);
	if (!st)
		return weft_error_set(err, doc->path, 0, 0, "unknown LaTeX format '%s'",
				      format ? format : "(null)");
	struct latex_ctx lx = {st, doc, res, opts, out, err};
	size_t start = out->len;
	for (size_t i = 0; i < doc->nblocks; i++) {
		if (i)
			strbuf_addch(out, '\n');
		const struct block *b = &doc->blocks[i];
		if (b->kind == BLOCK_TEXT)
			latex_text(&lx, &b->text);
		else if (latex_chunk(&lx, &b->chunk) < 0)
			return -1;
		if (i + 1 == doc->nblocks) /* the whole report is there: define what it uses */
			latex_define_used(&lx, start);
	}
	return 0;
}

bool latex_show_rich(const struct document *doc, const struct weave_results *res,
		     const struct render_options *opts, struct strbuf *out, const struct chunk *ch,
		     const struct output *o, struct weft_error *err)
{
	struct latex_ctx lx = {latex_style_for("texwrapped"), doc, res, opts, out, err};
	return latex_rich_output(&lx, ch, o);
}
