/*
 * highlight: syntax highlighting through Pygments, for the renderers'
 * render_highlight_fn callback (render.h).
 *
 * Pygments lives in Python, so a highlighter runs ONE persistent Python
 * subprocess, started lazily on the first request that the memo cannot
 * answer, and speaks newline-delimited JSON with it over a socket pair:
 *
 *   weft -> python   {"code": "...", "lang": "python", "style": "html"}
 *   python -> weft   {"ok": true, "out": "<div class=\"highlight\">..."}
 *
 * The script is a C string compiled into weft. `style` "html" gives Pygments'
 * HtmlFormatter markup (CSS classes, `<div class="highlight"><pre>`); "latex"
 * gives its LatexFormatter `Verbatim` block with Pweave's frame options;
 * "latex-defs" (code ignored) gives that formatter's style definitions
 * (get_style_defs: the \PY macros the "latex" markup uses).
 *
 * Memo hooks let the CLI put results in the cache store's memo table, so an
 * unchanged document re-renders without starting Python at all:
 *
 *   struct highlighter hl;
 *   highlighter_init(&hl, NULL);                  // "/usr/bin/python3"
 *   highlighter_set_memo(&hl, memo_get, memo_put, store);
 *   opts.highlight = highlight_code; opts.highlight_ctx = &hl;
 *   render_document(...);
 *   highlighter_free(&hl);                        // stops the subprocess
 *
 * When the interpreter or Pygments is missing, highlight_code returns -1
 * (and keeps returning -1 without retrying), and renderers fall back to
 * escaped plain code.
 */
#ifndef WEFT_HIGHLIGHT_H
#define WEFT_HIGHLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/strbuf.h"

/* Memo lookup: append the stored value for `key` to `out` and return 0, or -1 on a miss. */
typedef int (*highlight_memo_get_fn)(void *ctx, const char *key, struct strbuf *out);
/* Memo store: remember `len` bytes of `value` under `key`. */
typedef void (*highlight_memo_put_fn)(void *ctx, const char *key, const char *value, size_t len);

enum highlighter_state {
	HL_IDLE,        /* no subprocess yet */
	HL_RUNNING,     /* subprocess up and answering */
	HL_UNAVAILABLE, /* interpreter or Pygments missing, or the subprocess failed */
};

struct highlighter {
	char *python;                  /* interpreter to run */
	enum highlighter_state state;
	pid_t pid;                     /* subprocess, or 0 */
	int fd;                        /* our end of the socket pair, or -1 */
	struct strbuf rbuf;            /* bytes read but not yet consumed */
	double timeout;                /* seconds to wait for one answer (default 30) */
	highlight_memo_get_fn memo_get;
	highlight_memo_put_fn memo_put;
	void *memo_ctx;
	unsigned long requests;        /* answers computed by Python (for tests/statistics) */
	unsigned long memo_hits;       /* answers taken from the memo */
	char *why;                     /* why the highlighter is unavailable, or NULL */
};

/* Set up a highlighter for `python` (NULL: "/usr/bin/python3"). Starts nothing. */
void highlighter_init(struct highlighter *h, const char *python);
/* Stop the subprocess (if any) and release everything. */
void highlighter_free(struct highlighter *h);
/* Wire the memo hooks (either may be NULL). */
void highlighter_set_memo(struct highlighter *h, highlight_memo_get_fn get,
			  highlight_memo_put_fn put, void *ctx);

/*
 * render_highlight_fn for `ctx` = struct highlighter *: highlight `code` in
 * language `lang` (NULL: "python") as `style` ("html", "latex" or "latex-defs"), appending
 * the markup to `out`. Returns 0, or -1 (out untouched) when highlighting is
 * unavailable or the style is unknown.
 */
int highlight_code(void *ctx, const char *code, const char *lang, const char *style,
		   struct strbuf *out);

/*
 * The memo key for a request: "pygments:<style>:<lang>:<hash>", where the
 * hash (BLAKE2b) covers the code and the embedded script, so changing either
 * misses. Appended to `key`.
 */
void highlight_memo_key(struct strbuf *key, const char *code, const char *lang, const char *style);

#endif
