/*
 * python_engine: engine.h over a forked worker hosting CPython (worker.c).
 *
 * The parent side: ask python_select.h which python runs the chunks, fork
 * the worker (the embedded one for weft's own python and its venvs, see
 * worker_loader.h; that python exec'd as itself for any other, see
 * foreign_python.h), speak newline-delimited JSON over a socketpair, turn events into
 * outputs, enforce the per-chunk timeout with poll + SIGKILL of the worker's
 * process group, and notice crashes with waitpid. After a crash the parent
 * drains the worker's stdout/stderr pipes itself (it kept their read ends),
 * so output written just before the crash is not lost.
 * Messages are built and decoded by protocol.c only (checked builders, typed
 * replies and events); NUL bytes are data, and a line that is not a protocol
 * message stops the worker with an error rather than being skipped (skipping
 * a lost reply meant waiting forever).
 * The parent does not load libpython (see worker_loader.h).
 */

#include "engine/engine.h"
#include "engine/python_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/foreign_python.h"
#include "engine/protocol.h"
#include "engine/python_select.h"
#include "engine/worker_loader.h"
#include "util/forkcheck.h"
#include "util/strbuf.h"

struct python_engine {
	pid_t pid;            /* worker (also its process group), 0 once reaped */
	int sock;             /* protocol socket, -1 when closed */
	int out_rd, err_rd;   /* our copies of the worker's stdout/stderr pipes */
	bool alive;
	char *doc_path;
	double timeout;
	char *python;         /* resolved executable */
	char *identity;
	struct strbuf rbuf;   /* bytes received, not yet split into lines */
	struct strbuf died;   /* how the worker ended ("was killed by signal 9 (Killed)") */
	int exit_line;        /* document line of an os._exit, reported by the worker */
	struct strbuf bad;    /* why the last message could not be decoded (RECV_BAD) */
	const struct run_request *run; /* the chunk being run (its progress hooks), or NULL */
};

#define START_TIMEOUT 60.0 /* seconds for the interpreter to say hello */
#define STOP_GRACE_MS 2000  /* wait this long for a clean exit before SIGKILL */
#define TIMEOUT_DUMP_GRACE 0.3 /* seconds to collect the stack dump of a timed-out chunk */

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- which python ---- */

/* "CPython 3.11.2 /usr/bin/python3.11": the interpreter's version (python_select.h) and the executable. */
static void identity_of(const struct python_choice *pc, struct strbuf *out)
{
	strbuf_addf(out, "CPython %s %s", pc->version, pc->path);
}

/* ---- process plumbing ---- */

/* The worker's end, as text: "exited with status 3", "was killed by signal 11 (Segmentation fault)". */
static void describe_status(struct strbuf *out, int status)
{
	if (WIFSIGNALED(status))
		strbuf_addf(out, "was killed by signal %d (%s)", WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		strbuf_addf(out, "exited with status %d", WEXITSTATUS(status));
	else
		strbuf_addf(out, "ended with wait status %d", status);
}

/* True once the worker has exited (not reaped, so its process group stays ours). */
static bool worker_exited(struct python_engine *e)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)e->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		/* ECHILD: SIGCHLD is ignored and children reap themselves; ask the kernel */
		return errno != ECHILD || (kill(e->pid, 0) < 0 && errno == ESRCH);
	return si.si_pid == e->pid;
}

/* Kill the worker and everything in its process group, reap it, record how it ended. */
static void reap_worker(struct python_engine *e)
{
	if (!e->pid)
		return;
	kill(-e->pid, SIGKILL); /* before reaping: the group id cannot be reused yet */
	kill(e->pid, SIGKILL);
	int status = 0;
	pid_t r;
	do
		r = waitpid(e->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	strbuf_reset(&e->died);
	if (r == e->pid)
		describe_status(&e->died, status);
	else
		strbuf_addstr(&e->died, "lost");
	e->pid = 0;
}

/* Close and forget an fd (idempotent). */
static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Append a stream output, merging with the previous one of the same stream and statement. */
static void add_stream(struct output_list *l, const char *name, const char *text, size_t len,
		       int statement)
{
	struct output *last = l->n ? &l->items[l->n - 1] : NULL;
	if (!last || last->type != OUTPUT_STREAM || strcmp(last->stream_name, name) ||
	    last->statement != statement) {
		last = output_list_add(l, OUTPUT_STREAM);
		last->stream_name = xstrdup(name);
		last->statement = statement;
	}
	strbuf_add(&last->text, text, len);
}

/* Faulthandler lines about weft's own frames mean nothing to the user. */
static bool runtime_line(const char *line, size_t len)
{
	return memmem(line, len, "\"<weft>/", 8) != NULL;
}

/* Drop faulthandler's lines about runtime frames from the stderr outputs of a crash. */
static void strip_runtime_frames(struct output_list *outs)
{
	for (size_t i = 0; i < outs->n; i++) {
		struct output *o = &outs->items[i];
		if (o->type != OUTPUT_STREAM || strcmp(o->stream_name, "stderr") ||
		    !memmem(o->text.buf, o->text.len, "\"<weft>/", 8))
			continue;
		struct strbuf kept;
		strbuf_init(&kept);
		for (size_t pos = 0; pos < o->text.len;) {
			const char *nl = memchr(o->text.buf + pos, '\n', o->text.len - pos);
			size_t n = nl ? (size_t)(nl - o->text.buf - pos) + 1 : o->text.len - pos;
			if (!runtime_line(o->text.buf + pos, n))
				strbuf_add(&kept, o->text.buf + pos, n);
			pos += n;
		}
		strbuf_free(&o->text);
		o->text = kept;
	}
}

/*
 * After the worker died: what it wrote to stdout/stderr that the pump had not
 * forwarded yet (e.g. faulthandler's stack dump), appended as streams.
 */
static void drain_leftovers(struct python_engine *e, struct output_list *outs)
{
	int fds[2] = {e->out_rd, e->err_rd};
	const char *names[2] = {"stdout", "stderr"};
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		struct strbuf text;
		strbuf_init(&text);
		char buf[65536];
		ssize_t r;
		while ((r = read(fds[i], buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
			if (r > 0)
				strbuf_add(&text, buf, (size_t)r);
		if (outs && text.len) {
			/* raw bytes from the pipes: made valid UTF-8 like everything the worker forwards */
			struct strbuf valid;
			strbuf_init(&valid);
			proto_utf8_repair(&valid, text.buf, text.len);
			add_stream(outs, names[i], valid.buf, valid.len, -1);
			strbuf_free(&valid);
		}
		strbuf_free(&text);
	}
}

/* The worker is gone (or must go): kill, reap, keep its last output, close everything. */
static void engine_die(struct python_engine *e, struct output_list *outs)
{
	reap_worker(e);
	close_fd(&e->sock);
	drain_leftovers(e, outs);
	if (outs)
		strip_runtime_frames(outs);
	close_fd(&e->out_rd);
	close_fd(&e->err_rd);
	e->alive = false;
}

/* WEFT_ENGINE_TRACE=1 logs every message (shortened) to stderr, for debugging the protocol. */
static void trace(const char *dir, const char *text, size_t len)
{
	static int on = -1;
	if (on < 0) {
		const char *v = getenv("WEFT_ENGINE_TRACE");
		on = v && *v && strcmp(v, "0");
	}
	if (on)
		fprintf(stderr, "weft engine %s %.*s%s\n", dir, (int)(len > 300 ? 300 : len), text,
			len > 300 ? "..." : "");
}

/* Most descriptors sent with one sendmsg (the kernel takes at most SCM_MAX_FD, 253). */
#define FDS_PER_SEND 250

/*
 * Send the descriptors listed in a request's "fds" (see engine.h), in
 * batches of FDS_PER_SEND, each riding on one byte of the request text
 * (advancing *off). The worker collects every descriptor that arrives while
 * it reads a request and hands them to it. 0, or -1 (not integers, too few
 * bytes to carry them, or the socket failed).
 */
static int send_fds(struct python_engine *e, const json_t *fds, const char *text, size_t len, size_t *off)
{
	size_t n = json_array_size(fds);
	if (!json_is_array(fds))
		return -1;
	for (size_t first = 0; first < n; first += FDS_PER_SEND) {
		size_t k = n - first < FDS_PER_SEND ? n - first : FDS_PER_SEND;
		int batch[FDS_PER_SEND];
		for (size_t i = 0; i < k; i++) {
			const json_t *v = json_array_get(fds, first + i);
			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT_MAX)
				return -1;
			batch[i] = (int)json_integer_value(v);
		}
		if (*off >= len)
			return -1;
		union {
			char buf[CMSG_SPACE(sizeof(int) * FDS_PER_SEND)];
			struct cmsghdr align;
		} ctl;
		memset(&ctl, 0, sizeof(ctl));
		struct iovec iov = {.iov_base = (char *)text + *off, .iov_len = 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				    .msg_controllen = CMSG_SPACE(sizeof(int) * k)};
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * k);
		memcpy(CMSG_DATA(c), batch, sizeof(int) * k);
		ssize_t w;
		do
			w = sendmsg(e->sock, &mh, MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w != 1)
			return -1;
		*off += 1;
	}
	return 0;
}

/*
 * Send one JSON message; its "fds" field (descriptors to pass, see engine.h)
 * goes as SCM_RIGHTS, not as text. Returns 0, or -1 when the worker is
 * unreachable or the descriptors could not be sent.
 */
static int send_json(struct python_engine *e, json_t *msg)
{
	const json_t *fds = json_object_get(msg, "fds");
	json_t *plain = fds ? json_copy(msg) : NULL;
	if (plain)
		json_object_del(plain, "fds");
	char *text = msg && (!fds || plain) ? json_dumps(plain ? plain : msg, JSON_COMPACT) : NULL;
	json_decref(plain);
	if (!text)
		return -1; /* requests are built by protocol.c's checked builders: not reached */
	trace(">>", text, strlen(text));
	size_t len = strlen(text), off = 0;
	int rc = fds ? send_fds(e, fds, text, len, &off) : 0;
	while (rc == 0 && off < len + 1) {
		const char *p = off < len ? text + off : "\n";
		size_t n = off < len ? len - off : 1;
		ssize_t w = send(e->sock, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)w;
	}
	free(text);
	return rc;
}

/* RECV_BAD: the worker sent a line that is not a protocol message (e->bad says why). */
enum recv_result { RECV_MSG, RECV_TIMEOUT, RECV_DEAD, RECV_BAD };

/*
 * Wait for the next message until `deadline` (<0: none). Polls in short
 * slices so a worker that died while a grandchild still holds the socket
 * open is noticed too.
 */
static enum recv_result recv_json(struct python_engine *e, double deadline, json_t **msg)
{
	*msg = NULL;
	for (;;) {
		char *nl = memchr(e->rbuf.buf, '\n', e->rbuf.len);
		if (nl) {
			size_t n = (size_t)(nl - e->rbuf.buf);
			trace("<<", e->rbuf.buf, n);
			json_error_t jerr;
			json_t *j = json_loadb(e->rbuf.buf, n, PROTO_LOAD_FLAGS, &jerr);
			memmove(e->rbuf.buf, nl + 1, e->rbuf.len - n - 1);
			strbuf_setlen(&e->rbuf, e->rbuf.len - n - 1);
			if (!json_is_object(j)) {
				/* never skipped: a lost reply would leave us waiting forever */
				strbuf_reset(&e->bad);
				if (j)
					strbuf_addstr(&e->bad, "a message that is not a JSON object");
				else
					strbuf_addf(&e->bad, "a malformed message (%s at column %d)", jerr.text,
						    jerr.column);
				json_decref(j);
				return RECV_BAD;
			}
			*msg = j;
			return RECV_MSG;
		}
		int slice = 100;
		if (deadline >= 0) {
			double left = deadline - now_sec();
			if (left <= 0)
				return RECV_TIMEOUT;
			if (left * 1000 < slice)
				slice = (int)(left * 1000) + 1;
		}
		struct pollfd p = {.fd = e->sock, .events = POLLIN};
		int r = poll(&p, 1, slice);
		if (r < 0 && errno != EINTR)
			return RECV_DEAD;
		if (r > 0) {
			strbuf_grow(&e->rbuf, 65536);
			ssize_t got = recv(e->sock, e->rbuf.buf + e->rbuf.len, 65536, 0);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				return RECV_DEAD;
			strbuf_setlen(&e->rbuf, e->rbuf.len + (size_t)got);
			continue;
		}
		if (worker_exited(e))
			return RECV_DEAD;
		if (r == 0 && e->run && e->run->waiting)
			e->run->waiting(e->run->hook_ctx);
	}
}

/*
 * A "truncated" event (see worker.h): the worker cut a stream of this
 * request at its limit. The report says so where the kept text ends (the
 * last output of that stream, or inline text), and stderr says so with the
 * document line of the request (req's code_line or line).
 */
static void add_truncation(struct python_engine *e, const struct proto_event *ev, const json_t *req,
			   struct output_list *outs, struct strbuf *stdout_text)
{
	const char *name = ev->stream;
	long long limit = ev->trunc_limit, dropped = ev->trunc_dropped;
	json_t *line_j = json_object_get(req, "code_line");
	if (!line_j)
		line_j = json_object_get(req, "line");
	int line = (int)json_integer_value(line_j);
	char marker[160];
	snprintf(marker, sizeof(marker), "[weft: output truncated after %lld MiB; %lld bytes dropped]\n",
		 limit >> 20, dropped);
	weft_warn(e->doc_path, line, "%s of this code truncated after %lld MiB; %lld bytes dropped",
		  name, limit >> 20, dropped);
	struct strbuf *text = NULL;
	if (outs) {
		for (size_t i = outs->n; i-- > 0;) {
			struct output *o = &outs->items[i];
			if (o->type == OUTPUT_STREAM && !strcmp(o->stream_name, name)) {
				text = &o->text;
				break;
			}
		}
		if (!text) {
			add_stream(outs, name, "", 0, -1);
			text = &outs->items[outs->n - 1].text;
		}
	} else if (stdout_text && !strcmp(name, "stdout")) {
		text = stdout_text;
	}
	if (!text)
		return;
	if (text->len && text->buf[text->len - 1] != '\n')
		strbuf_addch(text, '\n');
	strbuf_addstr(text, marker);
}

/*
 * Apply a decoded event: "exit" records the line of os._exit; "stream" and
 * "output" become outputs in `outs` (when given), stdout text is also
 * appended to `stdout_text` (when given: inline code's printed value);
 * "truncated" marks where a stream of request `req` was cut.
 * Returns 0, or -1 with err for an output the model cannot take.
 */
static int apply_event(struct python_engine *e, const struct proto_event *ev, const json_t *req,
		       struct output_list *outs, struct strbuf *stdout_text, struct weft_error *err)
{
	switch (ev->kind) {
	case PROTO_EV_TRUNCATED:
		add_truncation(e, ev, req, outs, stdout_text);
		return 0;
	case PROTO_EV_EXIT:
		e->exit_line = ev->exit_line;
		return 0;
	case PROTO_EV_STREAM:
		if (stdout_text && !strcmp(ev->stream, "stdout"))
			strbuf_add(stdout_text, ev->text, ev->text_len);
		if (outs)
			add_stream(outs, ev->stream, ev->text, ev->text_len, ev->statement);
		return 0;
	case PROTO_EV_OUTPUT: {
		if (!outs)
			return 0;
		json_t *arr = json_array();
		int rc = arr && json_array_append(arr, (json_t *)ev->output) == 0 ? 0 : -1;
		if (rc == 0)
			rc = output_list_from_json(outs, arr, err);
		else
			weft_error_set(err, NULL, 0, 0, "out of memory");
		json_decref(arr);
		return rc;
	}
	}
	return 0;
}

/* Decode an event message and apply it; a bad one is a warning naming it (the chunk goes on). */
static void handle_event(struct python_engine *e, json_t *msg, const json_t *req, struct output_list *outs,
			 struct strbuf *stdout_text)
{
	struct proto_event ev;
	struct weft_error perr;
	weft_error_init(&perr);
	if (proto_decode_event(msg, &ev, &perr) < 0 || apply_event(e, &ev, req, outs, stdout_text, &perr) < 0)
		weft_warn(e->doc_path, 0, "python engine: an output was lost: %s", weft_error_text(&perr));
	weft_error_free(&perr);
}

/* ---- engine.h ---- */

int python_engine_start(struct python_engine **out, const struct engine_config *cfg, struct weft_error *err)
{
	*out = NULL;
	struct python_choice choice;
	if (python_select(cfg->python, NULL, &choice, err) < 0)
		return -1;
	struct strbuf python;
	strbuf_init(&python);
	strbuf_addstr(&python, choice.path);
	bool native = choice.native;
	struct strbuf id;
	strbuf_init(&id);
	identity_of(&choice, &id);
	python_choice_free(&choice);
	int sv[2], op[2], ep[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		strbuf_free(&python);
		strbuf_free(&id);
		return weft_error_errno(err, NULL, "python engine: socketpair");
	}
	if (pipe2(op, O_CLOEXEC) < 0) {
		close(sv[0]), close(sv[1]);
		strbuf_free(&python);
		strbuf_free(&id);
		return weft_error_errno(err, NULL, "python engine: pipe");
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(sv[0]), close(sv[1]), close(op[0]), close(op[1]);
		strbuf_free(&python);
		strbuf_free(&id);
		return weft_error_errno(err, NULL, "python engine: pipe");
	}
	fflush(NULL); /* the child must not inherit (and later flush) our stdio buffers */
	/* The child dlopens libpython, mallocs and setenvs before any exec:
	 * safe only while this process has one thread (see forkcheck.h). */
	if (forkcheck_single_threaded("python engine", err) < 0) {
		close(sv[0]), close(sv[1]), close(op[0]), close(op[1]), close(ep[0]), close(ep[1]);
		strbuf_free(&python);
		strbuf_free(&id);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]), close(sv[1]), close(op[0]), close(op[1]), close(ep[0]), close(ep[1]);
		strbuf_free(&python);
		strbuf_free(&id);
		return weft_error_errno(err, NULL, "python engine: fork");
	}
	if (pid == 0) {
		struct worker_setup ws = {
			.proto_fd = sv[1], .out_rd = op[0], .out_wr = op[1],
			.err_rd = ep[0], .err_wr = ep[1], .python = python.buf,
			.doc_path = cfg->doc_path, .workdir = cfg->workdir,
		};
		if (native)
			worker_loader_run(&ws);
		foreign_python_exec(&ws);
	}
	setpgid(pid, pid); /* also done by the child; whichever runs first wins */
	close(sv[1]), close(op[1]), close(ep[1]);
	fcntl(op[0], F_SETFL, fcntl(op[0], F_GETFL) | O_NONBLOCK);
	fcntl(ep[0], F_SETFL, fcntl(ep[0], F_GETFL) | O_NONBLOCK);

	struct python_engine *e = xcalloc(1, sizeof(*e));
	e->pid = pid;
	e->sock = sv[0];
	e->out_rd = op[0];
	e->err_rd = ep[0];
	e->alive = true;
	e->doc_path = xstrdup(cfg->doc_path ? cfg->doc_path : "");
	e->timeout = cfg->timeout;
	e->python = strbuf_detach(&python, NULL);
	strbuf_init(&e->rbuf);
	strbuf_init(&e->died);
	strbuf_init(&e->bad);
	e->identity = strbuf_detach(&id, NULL);

	/* Wait for the hello; anything printed before it (site warnings) goes to our stderr. */
	struct output_list early;
	output_list_init(&early);
	double deadline = now_sec() + START_TIMEOUT;
	for (;;) {
		json_t *msg;
		enum recv_result r = recv_json(e, deadline, &msg);
		if (r == RECV_MSG && json_object_get(msg, "ev")) {
			handle_event(e, msg, NULL, &early, NULL);
			json_decref(msg);
			continue;
		}
		if (r == RECV_MSG && json_is_true(json_object_get(msg, "ok"))) {
			json_decref(msg);
			break;
		}
		struct strbuf why;
		strbuf_init(&why);
		if (r == RECV_MSG) {
			const char *m = json_string_value(json_object_get(msg, "error"));
			strbuf_addstr(&why, m ? m : "bad hello");
			json_decref(msg);
		} else if (r == RECV_TIMEOUT) {
			strbuf_addf(&why, "no answer within %g s", START_TIMEOUT);
		} else if (r == RECV_BAD) {
			strbuf_addf(&why, "it sent %s", e->bad.buf);
		}
		engine_die(e, &early);
		if (r != RECV_MSG)
			strbuf_addf(&why, "%sthe worker %s", why.len ? "; " : "", e->died.buf);
		for (size_t i = 0; i < early.n; i++)
			if (early.items[i].type == OUTPUT_STREAM)
				strbuf_addf(&why, "\n%s", early.items[i].text.buf);
		strbuf_rtrim(&why);
		weft_error_set(err, NULL, 0, 0, "python engine (%s) failed to start: %s", e->python,
			       why.buf);
		strbuf_free(&why);
		output_list_free(&early);
		python_engine_stop(e);
		return -1;
	}
	for (size_t i = 0; i < early.n; i++)
		if (early.items[i].type == OUTPUT_STREAM)
			fprintf(stderr, "%s", early.items[i].text.buf);
	output_list_free(&early);
	*out = e;
	return 0;
}

/* Ask the worker to leave (EOF on its socket), then make sure it is gone. */
void python_engine_stop(struct python_engine *e)
{
	if (!e)
		return;
	if (e->pid) {
		/* EOF on its socket makes the worker leave its serve loop and _exit(0) */
		if (e->sock >= 0)
			shutdown(e->sock, SHUT_RDWR);
		for (int waited = 0; waited < STOP_GRACE_MS && !worker_exited(e); waited += 2) {
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
	}
	engine_die(e, NULL);
	free(e->doc_path);
	free(e->python);
	free(e->identity);
	strbuf_free(&e->rbuf);
	strbuf_free(&e->died);
	strbuf_free(&e->bad);
	free(e);
}

/* See engine.h. */
bool python_engine_alive(const struct python_engine *e)
{
	return e && e->alive;
}

/* "CPython <version> <executable>", computed at start from the configuration. */
const char *python_engine_identity(struct python_engine *e)
{
	return e ? e->identity : NULL;
}

/* Hand a "stream" event's text to the run's `streamed` hook (-v shows output as it comes). */
static void stream_hook(const struct run_request *run, const json_t *msg)
{
	const char *ev = json_string_value(json_object_get(msg, "ev"));
	const char *name = json_string_value(json_object_get(msg, "name"));
	const json_t *text = json_object_get(msg, "text");
	if (ev && !strcmp(ev, "stream") && name && json_is_string(text))
		run->streamed(run->hook_ctx, name, json_string_value(text), json_string_length(text));
}

/*
 * Send `req`, do the caller's `run->meanwhile` work (when `run` has some), and
 * collect events into `outs` (and stdout text into `stdout_text` when
 * non-NULL) until the reply. Returns RECV_MSG with *reply set, or
 * RECV_TIMEOUT / RECV_DEAD after the worker was killed and reaped.
 */
static enum recv_result transact(struct python_engine *e, json_t *req, double timeout,
				 struct output_list *outs, struct strbuf *stdout_text,
				 const struct run_request *run, json_t **reply)
{
	*reply = NULL;
	e->exit_line = 0;
	if (send_json(e, req) < 0) {
		engine_die(e, outs);
		return RECV_DEAD;
	}
	if (run && run->meanwhile)
		run->meanwhile(run->meanwhile_ctx);
	/* counted from here: the caller's work in between does not use up the chunk's time */
	double deadline = timeout > 0 ? now_sec() + timeout : -1;
	bool timed_out = false;
	for (;;) {
		json_t *msg;
		e->run = run;
		enum recv_result r = recv_json(e, deadline, &msg);
		e->run = NULL;
		if (r == RECV_TIMEOUT && !timed_out) {
			/*
			 * Before killing, ask faulthandler (registered on SIGUSR1 by the
			 * runtime) for the stack, so the report can name the line the chunk
			 * was stuck on; give the dump a moment to arrive.
			 */
			timed_out = true;
			kill(e->pid, SIGUSR1);
			deadline = now_sec() + TIMEOUT_DUMP_GRACE;
			continue;
		}
		if (timed_out && r == RECV_MSG && !json_object_get(msg, "ev")) {
			json_decref(msg); /* finished during the grace period: still too late */
			r = RECV_TIMEOUT;
		}
		if (r != RECV_MSG) {
			engine_die(e, outs);
			return timed_out ? RECV_TIMEOUT : r;
		}
		if (!json_object_get(msg, "ev")) {
			*reply = msg;
			return RECV_MSG;
		}
		handle_event(e, msg, req, outs, stdout_text);
		if (run && run->streamed)
			stream_hook(run, msg);
		json_decref(msg);
	}
}

/* Document line of the innermost document frame in faulthandler's dump, or 0. */
static int crash_line(const struct python_engine *e, const struct output_list *outs)
{
	if (e->exit_line)
		return e->exit_line;
	struct strbuf pat;
	strbuf_init(&pat);
	strbuf_addf(&pat, "File \"%s\", line ", e->doc_path);
	int line = 0;
	for (size_t i = outs->n; i-- > 0 && !line;) {
		const struct output *o = &outs->items[i];
		if (o->type != OUTPUT_STREAM || strcmp(o->stream_name, "stderr"))
			continue;
		const char *hit = strstr(o->text.buf, "most recent call first");
		hit = hit ? strstr(hit, pat.buf) : NULL;
		if (hit)
			line = atoi(hit + pat.len);
	}
	strbuf_free(&pat);
	return line;
}

/* Fill the outcome for a worker that died or timed out during a request. */
static int report_death(struct python_engine *e, enum recv_result r, const char *what, int fallback_line,
			enum run_status *status, char **message, int *line,
			const struct output_list *outs, struct weft_error *err)
{
	struct strbuf msg;
	strbuf_init(&msg);
	if (r == RECV_TIMEOUT) {
		*status = RUN_TIMEOUT;
		strbuf_addf(&msg, "timed out after %g s; the Python worker was killed", e->timeout);
	} else if (r == RECV_BAD) {
		*status = RUN_CRASHED;
		strbuf_addf(&msg, "the Python worker sent %s and was stopped", e->bad.buf);
	} else {
		*status = RUN_CRASHED;
		strbuf_addf(&msg, "the Python worker %s", e->died.buf);
	}
	int at = outs ? crash_line(e, outs) : e->exit_line;
	if (!at)
		at = fallback_line;
	*line = at;
	free(*message);
	*message = xstrdup(msg.buf);
	weft_error_set(err, e->doc_path, at, 0, "%s: %s", what, msg.buf);
	strbuf_free(&msg);
	return -1;
}

/* "chunk NAME" or "chunk" for messages. */
static void chunk_what(const struct run_request *req, char *what, size_t size)
{
	snprintf(what, size, "chunk%s%s", req->name ? " " : "", req->name ? req->name : "");
}

/*
 * A request that cannot be built fails the chunk, nothing runs: code that is
 * not UTF-8 as a SyntaxError at the bad byte (as python fails on such a source
 * file), any other field as weft's own failure naming it.
 */
static void fail_unsendable(const char *code, const struct proto_req *pr, int first_line,
			    enum run_status *status, char **error_type, char **error_message,
			    int *error_line, struct output_list *outs)
{
	int line = first_line;
	struct strbuf m;
	strbuf_init(&m);
	if (!proto_code_unsendable(code, first_line, &line, &m)) {
		if (pr->bad_offset >= 0)
			strbuf_addf(&m, "field '%s' is not valid UTF-8 (byte 0x%02x at offset %ld)",
				    pr->bad_field, pr->bad_byte, pr->bad_offset);
		else
			strbuf_addf(&m, "weft could not build field '%s' of its request", pr->bad_field);
	}
	const char *type = !strcmp(pr->bad_field, "code") ? "SyntaxError" : "WeftRuntimeError";
	*status = RUN_ERROR;
	if (error_type) {
		free(*error_type);
		*error_type = xstrdup(type);
	}
	free(*error_message);
	*error_message = xstrdup(m.buf);
	if (error_line)
		*error_line = line;
	if (outs) {
		struct output *o = output_list_add(outs, OUTPUT_ERROR);
		o->ename = xstrdup(type);
		o->evalue = xstrdup(m.buf);
	}
	strbuf_free(&m);
}

/* Build the "run" request of `req`: every field checked (protocol.h). */
static void build_run(struct proto_req *pr, const struct run_request *req)
{
	proto_req_init(pr, "run");
	proto_req_str(pr, "code", req->code ? req->code : "");
	proto_req_int(pr, "code_line", req->code_line);
	if (req->name)
		proto_req_str(pr, "name", req->name);
	proto_req_bool(pr, "term", req->term);
	proto_req_bool(pr, "complete", req->complete);
	proto_req_bool(pr, "fig", req->fig);
	proto_req_json(pr, "f_size", json_pack("[ff]", req->f_size[0] > 0 ? req->f_size[0] : 6.0,
					       req->f_size[1] > 0 ? req->f_size[1] : 4.0));
	proto_req_int(pr, "dpi", req->dpi > 0 ? req->dpi : 200);
	proto_req_str(pr, "fig_format", req->fig_format ? req->fig_format : "png");
	proto_req_bool(pr, "track", req->track);
	proto_req_merge(pr, req->extra);
}

/* The runtime itself failed (a weft bug, or a reply that breaks the protocol): the chunk's error. */
static void runtime_failure(struct chunk_outcome *out, const char *m, int line)
{
	struct output *o = output_list_add(&out->outputs, OUTPUT_ERROR);
	o->ename = xstrdup("WeftRuntimeError");
	o->evalue = xstrdup(m ? m : "unknown failure");
	out->status = RUN_ERROR;
	free(out->error_type);
	out->error_type = xstrdup("WeftRuntimeError");
	free(out->error_message);
	out->error_message = xstrdup(o->evalue);
	out->error_line = line;
}

/*
 * A reply's "chunk_defaults" (Pweave's chunk option defaults, when the code
 * changed them) into *dst as compact JSON text with sorted keys, or NULL.
 */
static void take_chunk_defaults(const json_t *reply, char **dst)
{
	free(*dst);
	const json_t *d = json_object_get(reply, "chunk_defaults");
	*dst = json_is_object(d) ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

/* Send a "run" request; events become outputs, the reply fills the outcome. */
int python_engine_run_chunk(struct python_engine *e, const struct run_request *req, struct chunk_outcome *out,
		     json_t **tracked, struct weft_error *err)
{
	if (tracked)
		*tracked = NULL;
	if (!python_engine_alive(e)) {
		out->status = RUN_CRASHED;
		free(out->error_message);
		out->error_message = xstrdup("the Python worker is not running");
		return weft_error_set(err, e ? e->doc_path : NULL, req->code_line, 0,
				      "the Python worker is not running");
	}
	char what[256];
	chunk_what(req, what, sizeof(what));
	struct proto_req pr;
	build_run(&pr, req);
	if (proto_req_failed(&pr)) {
		/* never sent half-built: the chunk fails where Python would have */
		fail_unsendable(req->code, &pr, req->code_line, &out->status, &out->error_type,
				&out->error_message, &out->error_line, &out->outputs);
		proto_req_discard(&pr);
		if (req->meanwhile)
			req->meanwhile(req->meanwhile_ctx);
		return 0;
	}
	json_t *j = proto_req_finish(&pr, e->doc_path, req->code_line, what, err);

	double t0 = now_sec();
	json_t *reply;
	enum recv_result r = transact(e, j, e->timeout, &out->outputs, NULL, req, &reply);
	json_decref(j);
	out->seconds = now_sec() - t0;
	if (r != RECV_MSG)
		return report_death(e, r, what, req->code_line, &out->status, &out->error_message,
				    &out->error_line, &out->outputs, err);

	if (!json_is_true(json_object_get(reply, "ok"))) {
		const json_t *m = json_object_get(reply, "error");
		char *text = json_is_string(m) ? proto_dup_text(json_string_value(m), json_string_length(m)) : NULL;
		runtime_failure(out, text, req->code_line);
		free(text);
		json_decref(reply);
		return 0;
	}
	struct proto_run_reply rr;
	struct weft_error derr;
	weft_error_init(&derr);
	if (proto_decode_run_reply(reply, &rr, &derr) < 0) {
		runtime_failure(out, derr.msg.buf, req->code_line);
		weft_error_free(&derr);
		json_decref(reply);
		return 0;
	}
	weft_error_free(&derr);
	out->status = rr.status;
	free(out->error_type);
	free(out->error_message);
	out->error_type = rr.error_type;
	out->error_message = rr.error_message;
	rr.error_type = rr.error_message = NULL;
	out->error_line = rr.error_line;
	out->seconds = rr.seconds;
	take_chunk_defaults(reply, &out->chunk_defaults);
	if (rr.has_statements) {
		for (size_t i = 0; i < out->nstatements; i++)
			free(out->statements[i].source);
		free(out->statements);
		out->statements = rr.statements;
		out->nstatements = rr.nstatements;
		rr.statements = NULL;
		rr.nstatements = 0;
	}
	if (req->track) {
		if (rr.tracked_error) {
			weft_warn(e->doc_path, req->code_line, "cache tracking failed: %s", rr.tracked_error);
			out->tracking_failed = true;
		} else if (!rr.tracked) {
			weft_warn(e->doc_path, req->code_line, "cache tracking failed: no tracking record");
			out->tracking_failed = true;
		} else if (tracked) {
			*tracked = json_incref(rr.tracked);
		}
	}
	proto_run_reply_free(&rr);
	json_decref(reply);
	return 0;
}

/* Send an "inline" request; the text is what it printed to stdout, then an expression's value. */
int python_engine_eval_inline(struct python_engine *e, const char *code, bool is_expr, int line,
		       struct inline_outcome *out, struct weft_error *err)
{
	out->done = true;
	if (!python_engine_alive(e)) {
		out->status = RUN_CRASHED;
		free(out->error_message);
		out->error_message = xstrdup("the Python worker is not running");
		return weft_error_set(err, e ? e->doc_path : NULL, line, 0,
				      "the Python worker is not running");
	}
	struct proto_req pr;
	proto_req_init(&pr, "inline");
	proto_req_str(&pr, "code", code ? code : "");
	proto_req_bool(&pr, "is_expr", is_expr);
	proto_req_int(&pr, "line", line);
	strbuf_reset(&out->text);
	if (proto_req_failed(&pr)) {
		fail_unsendable(code, &pr, line, &out->status, NULL, &out->error_message, NULL, NULL);
		proto_req_discard(&pr);
		return 0;
	}
	json_t *j = proto_req_finish(&pr, e->doc_path, line, "inline code", err);
	struct strbuf printed;
	strbuf_init(&printed);
	json_t *reply;
	enum recv_result r = transact(e, j, e->timeout, NULL, &printed, NULL, &reply);
	json_decref(j);
	if (r != RECV_MSG) {
		strbuf_free(&printed);
		int at;
		return report_death(e, r, "inline code", line, &out->status, &out->error_message,
				    &at, NULL, err);
	}
	struct proto_inline_reply ir;
	struct weft_error derr;
	weft_error_init(&derr);
	take_chunk_defaults(reply, &out->chunk_defaults);
	if (!json_is_true(json_object_get(reply, "ok"))) {
		out->status = RUN_ERROR;
		const json_t *m = json_object_get(reply, "error");
		free(out->error_message);
		out->error_message = json_is_string(m) ? proto_dup_text(json_string_value(m), json_string_length(m))
						       : xstrdup("inline code failed");
	} else if (proto_decode_inline_reply(reply, &ir, &derr) < 0) {
		out->status = RUN_ERROR;
		free(out->error_message);
		out->error_message = xstrdup(derr.msg.buf);
	} else if (!ir.ok) {
		out->status = RUN_ERROR;
		free(out->error_message);
		out->error_message = ir.error_message ? ir.error_message : xstrdup("inline code failed");
		out->error_line = ir.error_line;
		ir.error_message = NULL;
		proto_inline_reply_free(&ir);
	} else {
		out->status = RUN_OK;
		/* as Pweave: what the code printed, then an expression's value */
		strbuf_add(&out->text, printed.buf, printed.len);
		if (is_expr)
			strbuf_add(&out->text, ir.text, ir.text_len);
		proto_inline_reply_free(&ir);
	}
	weft_error_free(&derr);
	strbuf_free(&printed);
	json_decref(reply);
	return 0;
}

/* Any other op: no timeout, events are dropped; a listed op's reply is checked against the schema. */
int python_engine_request(struct python_engine *e, json_t *request, json_t **reply, struct weft_error *err)
{
	*reply = NULL;
	if (!python_engine_alive(e))
		return weft_error_set(err, NULL, 0, 0, "the Python worker is not running");
	if (!json_is_object(request))
		return weft_error_set(err, e->doc_path, 0, 0, "a request to the Python worker could not be built");
	const char *op = json_string_value(json_object_get(request, "op"));
	enum recv_result r = transact(e, request, 0, NULL, NULL, NULL, reply);
	if (r == RECV_BAD)
		return weft_error_set(err, e->doc_path, 0, 0, "op %s: the Python worker sent %s and was stopped",
				      op ? op : "?", e->bad.buf);
	if (r != RECV_MSG)
		return weft_error_set(err, e->doc_path, e->exit_line, 0, "op %s: the Python worker %s",
				      op ? op : "?", e->died.buf);
	if (json_is_true(json_object_get(*reply, "ok")))
		return op ? proto_check(PROTO_REP, op, *reply, err) : 0;
	const json_t *m = json_object_get(*reply, "error");
	char *text = json_is_string(m) ? proto_dup_text(json_string_value(m), json_string_length(m)) : NULL;
	weft_error_set(err, NULL, 0, 0, "op %s: %s", op ? op : "?", text ? text : "failed");
	free(text);
	return -1;
}
