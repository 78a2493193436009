/* chunk_walk: one walk over a chunk's code and outputs for every format; see chunk_walk.h. */
#include "render/chunk_walk.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "model/stream_text.h"
#include "render/figures.h"

/* Which outputs walk_outputs shows: one statement's, all, or those tied to none. */
#define WALK_ALL_STATEMENTS (-1000000)
#define WALK_UNTIED (-1000001)

/* One chunk being walked: the callbacks and the pending text and figures. */
struct walk {
	const struct chunk_walk_ops *ops;
	void *ctx;
	const struct document *doc;
	const struct render_options *opts;
	const struct chunk *ch;
	struct strbuf text;    /* merged consecutive stream text, not yet shown */
	struct strbuf stream;  /* raw text of the stream being joined (console rules not applied yet) */
	const char *stream_name; /* its name, NULL when none is pending */
	struct strbuf *srcs;   /* figures of the current group, not yet shown */
	size_t nsrcs, alloc;
	int nfig;              /* figures seen so far in this chunk (file numbering) */
	int ngroups;           /* figure groups shown so far */
	bool any_stream;       /* some stream text was seen (raw_without_stream) */
};

/*
 * The code as shown: leading blank lines and trailing whitespace dropped
 * (as Pweave's readers did), wrapped when the wrap option asks for it.
 */
static void walk_shown_code(struct strbuf *code, const char *src, const struct chunk *ch)
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

/* Show `src` as code when echo is on; `skip_empty` drops it when nothing is left to show. */
static void walk_code(struct walk *w, const char *src, bool skip_empty)
{
	if (!w->ch->opts.echo)
		return;
	if (w->ops->source_code) {
		w->ops->code_block(w->ctx, w->ch, src);
		return;
	}
	struct strbuf code;
	strbuf_init(&code);
	walk_shown_code(&code, src, w->ch);
	if (code.len || !skip_empty)
		w->ops->code_block(w->ctx, w->ch, code.buf);
	strbuf_free(&code);
}

/*
 * Text output under the chunk's `results` option: "verbatim" shows non-blank
 * text (wrapped when asked), a raw format passes it through as printed.
 */
static void walk_text_result(struct walk *w, const char *text, size_t len, bool error)
{
	const struct chunk *ch = w->ch;
	struct strbuf clean;
	strbuf_init(&clean);
	stream_text_clean(&clean, text, len);
	const char *results = ch->opts.results ? ch->opts.results : "verbatim";
	if (!strcmp(results, "verbatim")) {
		struct strbuf body;
		strbuf_init(&body);
		/* a traceback is never wrapped: its lines are paths and code */
		if (figures_wrap_output(&ch->opts) && !error)
			figures_wrap_output_text(&body, clean.buf, clean.len);
		else
			strbuf_add(&body, clean.buf, clean.len);
		strbuf_rtrim(&body);
		if (body.len)
			w->ops->verbatim(w->ctx, ch, body.buf, body.len, error);
		strbuf_free(&body);
	} else {
		w->ops->raw(w->ctx, ch, results, clean.buf, clean.len);
	}
	strbuf_free(&clean);
}

/*
 * End the stream being joined: its text, under the console rules (\r, \b),
 * joins the text block. Jupyter applies them to each stream's joined text.
 */
static void walk_end_stream(struct walk *w)
{
	if (w->stream_name)
		stream_text_console(&w->text, w->stream.buf, w->stream.len);
	strbuf_reset(&w->stream);
	w->stream_name = NULL;
}

/* Stream output `out`: joined with the pending one of the same stream. */
static void walk_stream(struct walk *w, const struct output *out)
{
	const char *name = out->stream_name ? out->stream_name : "stdout";
	if (w->stream_name && strcmp(w->stream_name, name))
		walk_end_stream(w);
	w->stream_name = name;
	strbuf_add(&w->stream, out->text.buf, out->text.len);
	w->any_stream = true;
}

/*
 * Show the stream text gathered so far: consecutive streams are one block,
 * stdout and stderr together, as in Pweave.
 */
static void walk_flush_text(struct walk *w)
{
	walk_end_stream(w);
	if (w->text.len)
		walk_text_result(w, w->text.buf, w->text.len, false);
	strbuf_reset(&w->text);
}

/* Show the figures gathered so far as one group. */
static void walk_flush_figures(struct walk *w)
{
	if (!w->nsrcs)
		return;
	w->ops->figure_group(w->ctx, w->ch, w->srcs, w->nsrcs, w->ngroups == 0);
	w->ngroups++;
	for (size_t i = 0; i < w->nsrcs; i++)
		strbuf_free(&w->srcs[i]);
	w->nsrcs = 0;
}

/*
 * A figure output: counted always (file numbering), written when fig is on
 * and it is shown (or write_unshown_figures), kept for the group when shown.
 */
static int walk_figure(struct walk *w, const struct mime_item *img)
{
	const struct chunk_options *o = &w->ch->opts;
	walk_flush_text(w);
	w->nfig++;
	if (!o->fig || (!o->include && !w->ops->write_unshown_figures))
		return 0;
	ARRAY_GROW(w->srcs, w->nsrcs + 1, w->alloc);
	strbuf_init(&w->srcs[w->nsrcs]);
	if (w->ops->figure_src(w->ctx, w->ch, w->nfig, img, &w->srcs[w->nsrcs]) < 0 ||
	    !o->include) {
		strbuf_free(&w->srcs[w->nsrcs]);
		return o->include ? -1 : 0;
	}
	w->nsrcs++;
	return 0;
}

/* An error output as text: its traceback lines, or "ename: evalue" without one. */
static void walk_error(struct walk *w, const struct output *out)
{
	struct strbuf tb;
	strbuf_init(&tb);
	if (w->ops->error_text) {
		w->ops->error_text(&tb, out);
	} else {
		for (size_t k = 0; k < out->ntraceback; k++)
			strbuf_addf(&tb, "%s\n", out->traceback[k]);
		if (!out->ntraceback)
			strbuf_addf(&tb, "%s: %s\n", out->ename ? out->ename : "Error",
				    out->evalue ? out->evalue : "");
	}
	walk_text_result(w, tb.buf, tb.len, true);
	strbuf_free(&tb);
}

/*
 * Show the outputs of `oc` that belong to statement `stmt` (term mode), all
 * of them (WALK_ALL_STATEMENTS), or those tied to no known statement
 * (WALK_UNTIED), in the order they happened. Figures are written even under
 * results="hidden"; text is not shown then.
 */
static int walk_outputs(struct walk *w, const struct chunk_outcome *oc, int stmt)
{
	const struct chunk_options *o = &w->ch->opts;
	bool hidden = (o->results && !strcmp(o->results, "hidden")) ||
		      (w->ops->include_hides_text && !o->include);
	for (size_t i = 0; i < oc->outputs.n; i++) {
		const struct output *out = &oc->outputs.items[i];
		bool untied = out->statement < 0 || (size_t)out->statement >= oc->nstatements;
		if (stmt == WALK_UNTIED ? !untied
					: stmt != WALK_ALL_STATEMENTS && out->statement != stmt)
			continue;
		const struct mime_item *img =
			figure_mime(out, w->ops->figure_mimes, w->opts->figure_format);
		if (img) {
			if (walk_figure(w, img) < 0)
				return -1;
			continue;
		}
		walk_flush_figures(w);
		if (hidden)
			continue;
		if (out->type == OUTPUT_STREAM) {
			walk_stream(w, out);
			continue;
		}
		walk_flush_text(w);
		if (out->type == OUTPUT_ERROR) {
			walk_error(w, out);
			continue;
		}
		if (w->ops->rich_output && w->ops->rich_output(w->ctx, w->ch, out))
			continue;
		const struct mime_item *m = output_get_mime(out, "text/plain");
		if (m)
			walk_text_result(w, m->data, m->len, false);
	}
	walk_flush_text(w);
	walk_flush_figures(w);
	/* Pweave formats the (possibly empty) stream text; a raw format then yields "\n". */
	if (w->ops->raw_without_stream && stmt == WALK_ALL_STATEMENTS && !hidden &&
	    !w->any_stream && o->results && strcmp(o->results, "verbatim"))
		w->ops->raw(w->ctx, w->ch, o->results, "", 0);
	return 0;
}

/* True when s holds nothing but white space. */
static bool blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/*
 * Term mode: each statement that produced output is shown (with the silent
 * statements before it) followed by its outputs, as a console would; then
 * the remaining code, then outputs tied to no statement (e.g. at exit).
 */
static int walk_term(struct walk *w, const struct chunk_outcome *oc)
{
	struct strbuf pending;
	strbuf_init(&pending);
	int rc = 0;
	bool shown = false; /* a statement and its outputs were shown already */
	for (size_t s = 0; s < oc->nstatements && rc == 0; s++) {
		bool has = false;
		for (size_t i = 0; i < oc->outputs.n; i++)
			has |= oc->outputs.items[i].statement == (int)s;
		strbuf_addstr(&pending, oc->statements[s].source);
		if (!has)
			continue;
		if (shown && w->ops->term_gap)
			w->ops->term_gap(w->ctx, w->ch);
		walk_code(w, pending.buf, true);
		strbuf_reset(&pending);
		rc = walk_outputs(w, oc, (int)s);
		shown = true;
	}
	if (rc == 0) {
		if (shown && w->ch->opts.echo && !blank(pending.buf) && w->ops->term_gap)
			w->ops->term_gap(w->ctx, w->ch);
		walk_code(w, pending.buf, true);
		rc = walk_outputs(w, oc, WALK_UNTIED);
	}
	strbuf_free(&pending);
	return rc;
}

int chunk_walk(const struct chunk_walk_ops *ops, void *ctx, const struct document *doc,
	       const struct weave_results *res, const struct render_options *opts,
	       const struct chunk *ch)
{
	const struct chunk_outcome *oc = figures_outcome(res, ch);
	struct walk w = {.ops = ops, .ctx = ctx, .doc = doc, .opts = opts, .ch = ch};
	strbuf_init(&w.text);
	strbuf_init(&w.stream);
	int rc = 0;
	const char *code = ch->code ? ch->code : "";

	if (!figures_chunk_has_outputs(res, ch)) {
		walk_code(&w, code, false);
		if (oc && oc->state == CHUNK_SKIPPED && ops->skipped_note)
			ops->skipped_note(ctx, ch);
	} else if (ch->opts.term && oc->nstatements && !ops->own_term) {
		rc = walk_term(&w, oc);
	} else {
		walk_code(&w, code, false);
		rc = walk_outputs(&w, oc, WALK_ALL_STATEMENTS);
	}
	if (rc == 0 && oc && oc->state == CHUNK_STALE && ops->frozen_note)
		ops->frozen_note(ctx, ch, oc);
	struct strbuf note;
	strbuf_init(&note);
	if (rc == 0 && ops->stop_note && figures_stop_note(doc, res, ch, &note))
		ops->stop_note(ctx, ch, note.buf, note.len);
	strbuf_free(&note);
	strbuf_free(&w.text);
	strbuf_free(&w.stream);
	for (size_t i = 0; i < w.nsrcs; i++)
		strbuf_free(&w.srcs[i]);
	free(w.srcs);
	return rc;
}

void chunk_walk_text(const struct chunk_walk_ops *ops, void *ctx, const struct chunk *ch,
		     const char *text, size_t len, bool error)
{
	struct walk w = {.ops = ops, .ctx = ctx, .ch = ch};
	walk_text_result(&w, text, len, error);
}
