/*
 * highlight: Pygments through one persistent Python subprocess (see highlight.h).
 */
#include "render/highlight.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

extern char **environ;

/*
 * The Python side: announce readiness (or why not), then answer one JSON
 * request per line. ensure_ascii keeps the channel independent of locale.
 */
static const char highlight_script[] =
	"import sys, json\n"
	"try:\n"
	"    from pygments import highlight\n"
	"    from pygments.lexers import get_lexer_by_name\n"
	"    from pygments.formatters import HtmlFormatter, LatexFormatter\n"
	"except Exception as e:\n"
	"    print(json.dumps({'ready': False, 'error': 'Pygments unavailable: %s' % e}), flush=True)\n"
	"    sys.exit(0)\n"
	"fmts = {'html': HtmlFormatter(),\n"
	"        'latex': LatexFormatter(verboptions='frame=single,fontsize=\\\\small, xleftmargin=0.5em')}\n"
	"print(json.dumps({'ready': True}), flush=True)\n"
	"for line in sys.stdin:\n"
	"    try:\n"
	"        r = json.loads(line)\n"
	"        try:\n"
	"            lexer = get_lexer_by_name(r.get('lang') or 'python')\n"
	"        except Exception:\n"
	"            lexer = get_lexer_by_name('text')\n"
	"        if r['style'] == 'latex-defs':\n"
	"            out = fmts['latex'].get_style_defs()\n"
	"        else:\n"
	"            out = highlight(r['code'], lexer, fmts[r['style']])\n"
	"        print(json.dumps({'ok': True, 'out': out}), flush=True)\n"
	"    except Exception as e:\n"
	"        print(json.dumps({'ok': False, 'error': repr(e)}), flush=True)\n";

/* Record why highlighting is off and tear the subprocess down. */
static void hl_disable(struct highlighter *h, const char *why)
{
	if (!h->why)
		h->why = xstrdup(why);
	h->state = HL_UNAVAILABLE;
	if (h->fd >= 0) {
		close(h->fd);
		h->fd = -1;
	}
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
		h->pid = 0;
	}
}

/* Monotonic seconds, for answer deadlines. */
static double hl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Read one line from the subprocess into `line` (without the newline).
 * Returns 0, or -1 on EOF, error or timeout.
 */
static int hl_read_line(struct highlighter *h, struct strbuf *line)
{
	double deadline = hl_now() + h->timeout;
	for (;;) {
		char *nl = memchr(h->rbuf.buf, '\n', h->rbuf.len);
		if (nl) {
			size_t n = (size_t)(nl - h->rbuf.buf);
			strbuf_add(line, h->rbuf.buf, n);
			memmove(h->rbuf.buf, nl + 1, h->rbuf.len - n - 1);
			strbuf_setlen(&h->rbuf, h->rbuf.len - n - 1);
			return 0;
		}
		double left = deadline - hl_now();
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = h->fd, .events = POLLIN};
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		char buf[65536];
		ssize_t got = recv(h->fd, buf, sizeof(buf), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		strbuf_add(&h->rbuf, buf, (size_t)got);
	}
}

/* Write all of `data`; MSG_NOSIGNAL so a dead subprocess is an error, not SIGPIPE. */
static int hl_write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0)
			errno = EIO; /* no progress: say so rather than leave a stale errno */
		if (w <= 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Start the subprocess and wait for its "ready" line. Returns 0 or -1 (disabled). */
static int hl_start(struct highlighter *h)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		hl_disable(h, "cannot create a socket pair for the highlighter");
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {h->python, "-I", "-c", (char *)highlight_script, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, h->python, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		struct strbuf why;
		strbuf_init(&why);
		strbuf_addf(&why, "cannot run %s: %s", h->python, strerror(rc));
		hl_disable(h, why.buf);
		strbuf_free(&why);
		return -1;
	}
	h->pid = pid;
	h->fd = sv[0];
	h->state = HL_RUNNING;

	struct strbuf line;
	strbuf_init(&line);
	json_t *hello = NULL;
	if (hl_read_line(h, &line) == 0)
		hello = json_loads(line.buf, 0, NULL);
	if (!json_is_true(json_object_get(hello, "ready"))) {
		const char *e = json_string_value(json_object_get(hello, "error"));
		hl_disable(h, e ? e : "the highlighter subprocess did not start");
		json_decref(hello);
		strbuf_free(&line);
		return -1;
	}
	json_decref(hello);
	strbuf_free(&line);
	return 0;
}

void highlighter_init(struct highlighter *h, const char *python)
{
	memset(h, 0, sizeof(*h));
	h->python = xstrdup(python && *python ? python : "/usr/bin/python3");
	h->state = HL_IDLE;
	h->fd = -1;
	h->timeout = 30;
	strbuf_init(&h->rbuf);
}

void highlighter_free(struct highlighter *h)
{
	if (h->fd >= 0) {
		/* Closing stdin ends the script's read loop; then reap it. */
		close(h->fd);
		h->fd = -1;
	}
	if (h->pid > 0) {
		int status;
		pid_t r;
		for (int i = 0; i < 200; i++) {
			r = waitpid(h->pid, &status, WNOHANG);
			if (r != 0)
				break;
			usleep(10000);
		}
		if (r == 0) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &status, 0);
		}
		h->pid = 0;
	}
	strbuf_free(&h->rbuf);
	free(h->python);
	free(h->why);
	h->python = h->why = NULL;
}

void highlighter_set_memo(struct highlighter *h, highlight_memo_get_fn get,
			  highlight_memo_put_fn put, void *ctx)
{
	h->memo_get = get;
	h->memo_put = put;
	h->memo_ctx = ctx;
}

void highlight_memo_key(struct strbuf *key, const char *code, const char *lang, const char *style)
{
	unsigned char hash[16];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(hash));
	/* The script is part of the key: a new formatter setup must not reuse old markup. */
	crypto_generichash_update(&st, (const unsigned char *)highlight_script,
				  sizeof(highlight_script) - 1);
	crypto_generichash_update(&st, (const unsigned char *)"\0", 1);
	crypto_generichash_update(&st, (const unsigned char *)code, strlen(code));
	crypto_generichash_final(&st, hash, sizeof(hash));
	strbuf_addf(key, "pygments:%s:%s:", style, lang);
	for (size_t i = 0; i < sizeof(hash); i++)
		strbuf_addf(key, "%02x", hash[i]);
}

/* Ask the subprocess; returns 0 with the markup appended to out, or -1. */
static int hl_ask(struct highlighter *h, const char *code, const char *lang, const char *style,
		  struct strbuf *out)
{
	json_t *req = json_pack("{s:s, s:s, s:s}", "code", code, "lang", lang, "style", style);
	if (!req)
		return -1; /* e.g. code that is not valid UTF-8: plain fallback */
	char *text = json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(req);
	if (!text)
		return -1;
	struct strbuf msg;
	strbuf_init(&msg);
	strbuf_addstr(&msg, text);
	strbuf_addch(&msg, '\n');
	free(text);
	int rc = hl_write_all(h->fd, msg.buf, msg.len);
	strbuf_free(&msg);
	if (rc < 0) {
		hl_disable(h, "the highlighter subprocess went away");
		return -1;
	}
	struct strbuf line;
	strbuf_init(&line);
	if (hl_read_line(h, &line) < 0) {
		strbuf_free(&line);
		hl_disable(h, "the highlighter subprocess did not answer");
		return -1;
	}
	json_t *ans = json_loads(line.buf, 0, NULL);
	strbuf_free(&line);
	const char *res = json_is_true(json_object_get(ans, "ok"))
				  ? json_string_value(json_object_get(ans, "out"))
				  : NULL;
	if (res)
		strbuf_addstr(out, res);
	json_decref(ans);
	return res ? 0 : -1;
}

int highlight_code(void *ctx, const char *code, const char *lang, const char *style,
		   struct strbuf *out)
{
	struct highlighter *h = ctx;
	if (!h || !code || !style ||
	    (strcmp(style, "html") && strcmp(style, "latex") && strcmp(style, "latex-defs")))
		return -1;
	if (!lang || !*lang)
		lang = "python";

	struct strbuf key;
	strbuf_init(&key);
	if (h->memo_get || h->memo_put) {
		if (sodium_init() < 0) {
			strbuf_free(&key);
			return -1;
		}
		highlight_memo_key(&key, code, lang, style);
	}
	if (h->memo_get) {
		struct strbuf got;
		strbuf_init(&got);
		if (h->memo_get(h->memo_ctx, key.buf, &got) == 0) {
			strbuf_add(out, got.buf, got.len);
			h->memo_hits++;
			strbuf_free(&got);
			strbuf_free(&key);
			return 0;
		}
		strbuf_free(&got);
	}

	if (h->state == HL_IDLE)
		hl_start(h);
	if (h->state != HL_RUNNING) {
		strbuf_free(&key);
		return -1;
	}
	size_t before = out->len;
	if (hl_ask(h, code, lang, style, out) < 0) {
		strbuf_free(&key);
		return -1;
	}
	h->requests++;
	if (h->memo_put)
		h->memo_put(h->memo_ctx, key.buf, out->buf + before, out->len - before);
	strbuf_free(&key);
	return 0;
}
