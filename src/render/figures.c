/* figures: figure files and the output helpers every renderer shares; see figures.h. */
#include "render/figures.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fsutil.h"

const char *const figures_for_latex[] = {"application/pdf", "image/png", "image/jpeg",
					 "image/jpg", NULL};
const char *const figures_for_html[] = {"image/svg+xml", "image/png", "image/jpeg", "image/jpg",
					NULL};
const char *const figures_for_markdown[] = {"image/png", "image/jpeg", "image/jpg",
					    "image/svg+xml", NULL};
const char *const figures_for_rst[] = {"image/png", "image/jpeg", "image/jpg", "image/svg+xml",
				       NULL};

const char *figure_format_mime(const char *figure_format)
{
	if (!figure_format)
		return NULL;
	if (*figure_format == '.')
		figure_format++;
	if (!strcmp(figure_format, "png"))
		return "image/png";
	if (!strcmp(figure_format, "svg"))
		return "image/svg+xml";
	if (!strcmp(figure_format, "pdf"))
		return "application/pdf";
	if (!strcmp(figure_format, "jpg") || !strcmp(figure_format, "jpeg"))
		return "image/jpeg";
	return NULL;
}

const char *figure_mime_ext(const char *mime)
{
	if (!strcmp(mime, "image/png"))
		return "png";
	if (!strcmp(mime, "image/jpeg") || !strcmp(mime, "image/jpg"))
		return "jpg";
	if (!strcmp(mime, "image/svg+xml"))
		return "svg";
	if (!strcmp(mime, "application/pdf"))
		return "pdf";
	if (!strcmp(mime, "image/gif"))
		return "gif";
	return "bin";
}

const struct mime_item *figure_mime(const struct output *o, const char *const *accepted,
				    const char *figure_format)
{
	if (o->type != OUTPUT_DISPLAY_DATA && o->type != OUTPUT_EXECUTE_RESULT)
		return NULL;
	/* the format the user asked figures in wins, even one the family does not prefer */
	const char *want = figure_format_mime(figure_format);
	const struct mime_item *m = want ? output_get_mime(o, want) : NULL;
	return m ? m : figures_best_mime(o, accepted);
}

const struct mime_item *figures_best_mime(const struct output *o, const char *const *prefs)
{
	for (; *prefs; prefs++) {
		const struct mime_item *m = output_get_mime(o, *prefs);
		if (m)
			return m;
	}
	return NULL;
}

/* The document's file name without directory and extension, as Pweave's figure prefix. */
static void doc_base(struct strbuf *sb, const struct document *doc)
{
	const char *path = doc->path ? doc->path : "weft";
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	strbuf_add(sb, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

/* The chunk part of a figure name: "figure<N>" or the name without \/:*?<>| (Pweave's sanitising). */
static void chunk_part(struct strbuf *sb, const struct chunk *ch)
{
	if (!ch->opts.name) {
		strbuf_addf(sb, "figure%d", ch->number);
		return;
	}
	for (const char *p = ch->opts.name; *p; p++)
		if (!strchr("\\/:*?<>|", *p))
			strbuf_addch(sb, *p);
}

void figure_name(const struct render_options *opts, const struct document *doc,
		 const struct chunk *ch, int index, const char *mime, struct strbuf *rel)
{
	const char *dir = opts->figure_dir && *opts->figure_dir ? opts->figure_dir : "figures";
	strbuf_addstr(rel, dir);
	if (rel->len && rel->buf[rel->len - 1] != '/')
		strbuf_addch(rel, '/');
	doc_base(rel, doc);
	strbuf_addch(rel, '_');
	chunk_part(rel, ch);
	strbuf_addf(rel, "_%d.%s", index, figure_mime_ext(mime));
}

int figure_write(const struct render_options *opts, const struct document *doc,
		 const struct chunk *ch, int index, const struct mime_item *img, struct strbuf *rel,
		 struct weft_error *err)
{
	size_t start = rel->len;
	figure_name(opts, doc, ch, index, img->mime, rel);
	const char *name = rel->buf + start;

	/* The file lives relative to the report's directory unless the name is absolute. */
	struct strbuf path;
	strbuf_init(&path);
	const char *out = opts->output_path;
	const char *slash = out ? strrchr(out, '/') : NULL;
	if (name[0] != '/' && slash) {
		strbuf_add(&path, out, (size_t)(slash - out) + 1);
	}
	strbuf_addstr(&path, name);

	int rc = fs_make_parent_dirs(path.buf, err);
	/* Atomically (temp + rename), never through a link planted at the name. */
	if (rc == 0)
		rc = fs_write_atomic(path.buf, (const char *)img->data, img->len, err);
	strbuf_free(&path);
	return rc;
}

/* ---- Pweave's wrap: textwrap.TextWrapper(width=70, break_long_words=False).fill per line ---- */

#define WRAP_WIDTH 70

/* Display length as Python counts it: code points (UTF-8 continuation bytes do not count). */
static size_t cp_len(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

static bool is_ws(char c)
{
	return c == ' ';
}

/* The code point starting at s[i] (invalid UTF-8 yields the byte itself). */
static unsigned cp_at(const char *s, size_t i, size_t n)
{
	unsigned char c = (unsigned char)s[i];
	size_t more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
	unsigned v = more == 3 ? c & 0x07 : more == 2 ? c & 0x0F : more == 1 ? c & 0x1F : c;
	for (size_t k = 1; k <= more; k++) {
		if (i + k >= n || ((unsigned char)s[i + k] & 0xC0) != 0x80)
			return c;
		v = (v << 6) | ((unsigned char)s[i + k] & 0x3F);
	}
	return v;
}

/*
 * A letter as Python's textwrap sees it ([^\d\W]: letters and '_'). Beyond
 * ASCII, the punctuation and symbol blocks (Latin-1 signs, general
 * punctuation such as dashes and quotes, currency, arrows, maths, box
 * drawing, CJK punctuation) are not letters; everything else counts as one.
 */
static bool is_letter_at(const char *s, size_t i, size_t n)
{
	unsigned c = cp_at(s, i, n);
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
	if (c <= 0xBF)
		return c == 0xAA || c == 0xB5 || c == 0xBA;
	if (c == 0xD7 || c == 0xF7)
		return false;
	if ((c >= 0x2000 && c <= 0x206F) || (c >= 0x20A0 && c <= 0x20CF) ||
	    (c >= 0x2190 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F))
		return false;
	return true;
}

/* \w: letters, digits, '_'. */
static bool is_word_at(const char *s, size_t i, size_t n)
{
	return is_letter_at(s, i, n) || (s[i] >= '0' && s[i] <= '9');
}

/* TextWrapper's word-or-punctuation class [\w!"'&.,?], which may precede an em-dash. */
static bool is_word_punct_at(const char *s, size_t i, size_t n)
{
	return is_word_at(s, i, n) || (s[i] && strchr("!\"'&.,?", s[i]));
}

/* Index of the code point before the one starting at i (i > 0), skipping UTF-8 continuation bytes. */
static size_t prev_cp(const char *s, size_t i)
{
	do
		i--;
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80);
	return i;
}

/* Index just past the code point starting at i. */
static size_t next_cp(const char *s, size_t i, size_t n)
{
	do
		i++;
	while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80);
	return i;
}

/* True when a hyphen at s[i] ends a chunk (break_on_hyphens), looking at whole code points. */
static bool hyphen_break(const char *s, size_t i, size_t n)
{
	if (i < 2)
		return false;
	size_t b1 = prev_cp(s, i); /* the letter before the hyphen */
	if (!is_letter_at(s, b1, n) || b1 == 0)
		return false;
	size_t b2 = prev_cp(s, b1);
	bool behind = is_letter_at(s, b2, n) ||
		      (s[b2] == '-' && b2 > 0 && is_letter_at(s, prev_cp(s, b2), n));
	if (!behind || i + 1 >= n || !is_letter_at(s, i + 1, n))
		return false;
	size_t a2 = next_cp(s, i + 1, n); /* what follows the letter after the hyphen */
	return a2 < n && (is_letter_at(s, a2, n) ||
			  (s[a2] == '-' && a2 + 1 < n && is_letter_at(s, a2 + 1, n)));
}

/*
 * Length of the word chunk starting at s[start] (not whitespace): up to the next
 * space, or just past a hyphen where TextWrapper's break_on_hyphens splits:
 * after two letters ("well-" of "well-known") or after letter-hyphen-letter
 * ("a-" of "matters-a-lot"), when a letter (or "-letter") pair follows.
 */
static size_t word_chunk(const char *s, size_t start, size_t n, bool hyphens)
{
	size_t i = start;
	while (i < n && !is_ws(s[i])) {
		if (!hyphens) {
			i++;
			continue;
		}
		/* an em-dash "--" between words is a chunk of its own */
		if (s[i] == '-' && i + 1 < n && s[i + 1] == '-' && i > 0 &&
		    is_word_punct_at(s, prev_cp(s, i), n)) {
			size_t j = i;
			while (j < n && s[j] == '-')
				j++;
			if (j < n && is_word_at(s, j, n))
				return i > start ? i - start : j - start;
		}
		/* the look-behind sees the whole line, as Python's regex does */
		if (s[i] == '-' && hyphen_break(s, i, n))
			return i + 1 - start;
		i++;
	}
	return i - start;
}

/*
 * Fill one line (no '\n' inside) like TextWrapper.fill and append it to out
 * (lines joined by '\n'); `hyphens` is break_on_hyphens.
 */
static void wrap_line(struct strbuf *out, const char *line, size_t n, bool hyphens)
{
	/* expand tabs (tabsize 8) and turn other whitespace into spaces */
	struct strbuf t;
	strbuf_init(&t);
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		char c = line[i];
		if (c == '\t') {
			size_t pad = 8 - col % 8;
			strbuf_addchars(&t, ' ', pad);
			col += pad;
			continue;
		}
		/* str.expandtabs restarts its column count after a carriage return */
		if (c == '\r')
			col = (size_t)-1;
		if (c == '\r' || c == '\v' || c == '\f')
			c = ' ';
		strbuf_addch(&t, c);
		col += ((unsigned char)c & 0xC0) != 0x80;
	}

	const char *s = t.buf;
	size_t len = t.len, pos = 0;
	bool first = true;
	while (pos < len) {
		/* later lines drop the whitespace they would start with */
		if (!first && is_ws(s[pos])) {
			while (pos < len && is_ws(s[pos]))
				pos++;
			if (pos >= len)
				break;
		}
		size_t start = pos, cur = 0, end = pos;
		while (pos < len) {
			size_t clen;
			if (is_ws(s[pos])) {
				clen = 1;
				while (pos + clen < len && is_ws(s[pos + clen]))
					clen++;
			} else {
				clen = word_chunk(s, pos, len, hyphens);
			}
			size_t w = cp_len(s + pos, clen);
			if (cur + w > WRAP_WIDTH) {
				/* a word longer than a whole line goes alone on its line */
				if (cur == 0 && w > WRAP_WIDTH) {
					pos += clen;
					cur += w;
					end = pos;
				}
				break;
			}
			pos += clen;
			cur += w;
			end = pos;
		}
		/* drop the whitespace the line would end with */
		size_t stop = end;
		while (stop > start && is_ws(s[stop - 1]))
			stop--;
		if (stop > start) {
			if (!first)
				strbuf_addch(out, '\n');
			strbuf_add(out, s + start, stop - start);
			first = false;
		}
		if (end == start)
			break; /* cannot happen, but never loop forever */
	}
	strbuf_free(&t);
}

void figures_wrap(struct strbuf *out, const char *text, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || text[i] == '\n') {
			wrap_line(out, text + start, i - start, true);
			strbuf_addch(out, '\n');
			start = i + 1;
		}
	}
}

/* True when the line s[0..n) starts with `prefix`. */
static bool line_starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && !memcmp(s, prefix, k);
}

void figures_wrap_output_text(struct strbuf *out, const char *text, size_t len)
{
	size_t start = 0;
	bool in_traceback = false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		const char *line = text + start;
		size_t n = i - start;
		if (line_starts(line, n, "Traceback (most recent call last):"))
			in_traceback = true;
		if (in_traceback) {
			strbuf_add(out, line, n);
			/* the first unindented line after the header is the exception: the end */
			if (n && line[0] != ' ' && line[0] != '\t' &&
			    !line_starts(line, n, "Traceback (most recent call last):"))
				in_traceback = false;
		} else {
			wrap_line(out, line, n, false);
		}
		strbuf_addch(out, '\n');
		start = i + 1;
	}
}

bool figures_wrap_code(const struct chunk_options *o)
{
	return o->wrap && (!strcmp(o->wrap, "all") || !strcmp(o->wrap, "code"));
}

bool figures_wrap_output(const struct chunk_options *o)
{
	return o->wrap && (!strcmp(o->wrap, "all") || !strcmp(o->wrap, "output") ||
			   !strcmp(o->wrap, "results"));
}

const struct chunk_outcome *figures_outcome(const struct weave_results *res,
					    const struct chunk *ch)
{
	if (!res || ch->index < 0 || (size_t)ch->index >= res->nchunks)
		return NULL;
	return &res->chunks[ch->index];
}

bool figures_chunk_has_outputs(const struct weave_results *res, const struct chunk *ch)
{
	const struct chunk_outcome *oc = figures_outcome(res, ch);
	if (!oc)
		return false;
	switch (oc->state) {
	case CHUNK_RAN:
	case CHUNK_CACHED:
	case CHUNK_REPLAYED:
	case CHUNK_STALE:
		return true;
	case CHUNK_PENDING:
	case CHUNK_NOT_EVALUATED:
	case CHUNK_SKIPPED:
		return false;
	}
	return false;
}

bool figures_stop_note(const struct document *doc, const struct weave_results *res,
		       const struct chunk *ch, struct strbuf *out)
{
	if (!res || res->stopped_at < 0 || res->stopped_at != ch->index)
		return false;
	const struct chunk_outcome *oc = figures_outcome(res, ch);
	int line = oc && oc->error_line > 0 ? oc->error_line : ch->code_line;
	strbuf_addf(out, "weft: execution stopped here: chunk %d", ch->number);
	if (ch->opts.name)
		strbuf_addf(out, " (%s)", ch->opts.name);
	if (doc->path)
		strbuf_addf(out, " at %s:%d", doc->path, line);
	else
		strbuf_addf(out, " at line %d", line);
	const char *what = "failed";
	if (oc && oc->status == RUN_CRASHED)
		what = "crashed";
	else if (oc && oc->status == RUN_TIMEOUT)
		what = "timed out";
	const char *msg = oc && oc->error_message ? oc->error_message : "";
	if (!strncmp(msg, what, strlen(what)))
		strbuf_addf(out, " %s", msg); /* "timed out after 1 s": say it once */
	else if (*msg)
		strbuf_addf(out, " %s: %s", what, msg);
	else
		strbuf_addf(out, " %s", what);
	strbuf_addstr(out, "; later chunks were not run");
	return true;
}

bool figures_stale_note(const struct weave_results *res, const struct chunk *ch,
			struct strbuf *out)
{
	const struct chunk_outcome *oc = figures_outcome(res, ch);
	if (!oc || oc->state != CHUNK_STALE)
		return false;
	strbuf_addf(out, "weft: frozen, results of chunk %d are from an earlier version", ch->number);
	if (oc->why && *oc->why)
		strbuf_addf(out, ": %s", oc->why);
	return true;
}
