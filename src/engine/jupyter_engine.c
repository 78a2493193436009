/*
 * jupyter_engine: a Jupyter client over ZeroMQ (see jupyter_engine.h).
 *
 * One kernel per engine, launched by us as a direct child (kernel.json argv,
 * no shell), so its death is seen with waitid() rather than inferred from
 * missed heartbeats. Every message is signed and every received one verified;
 * a message failing verification is dropped with a warning.
 */
#include "engine/jupyter_engine.h"
#include "engine/worker.h"
#include "engine/jupyter_kernelspec.h"
#include "engine/protocol.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "engine/zmq_api.h"
#include "util/fsutil.h"
#include "util/forkcheck.h"

#define START_TIMEOUT 120.0     /* seconds for the kernel to answer kernel_info (R on a busy machine is slow) */
#define KERNEL_INFO_RETRY 1.0   /* re-ask kernel_info this often until iopub speaks */
#define INTERRUPT_GRACE 3.0     /* seconds for an interrupted chunk to go idle */
#define STOP_GRACE 2.0          /* seconds for a clean exit after shutdown_request */
#define POLL_TICK_MS 100        /* how often waits check whether the kernel is alive */
#define LOG_TAIL 2000           /* bytes of the kernel's own output quoted in errors */

enum chan { CH_SHELL, CH_IOPUB, CH_CONTROL, CH_STDIN, CH_HB, NCHAN };
static const char *const chan_names[NCHAN] = {"shell", "iopub", "control", "stdin", "hb"};

struct jupyter_engine {
	struct jupyter_kernelspec spec;
	pid_t pid;              /* kernel process and its group; 0 once reaped */
	bool exited;            /* the kernel process has ended (maybe not reaped yet) */
	bool alive;
	int log_fd;             /* the kernel's stdout+stderr (unlinked temp file) */
	char *conn_path;        /* connection file, removed at stop */
	char key[65];           /* HMAC key (hex text, used as bytes) */
	char session[37];
	void *ctx;
	void *sock[NCHAN];
	char *doc_path;
	double timeout;
	char *identity;
	struct strbuf died;     /* "exited with status 1", "was killed by signal 9 (Killed)" */
	unsigned long counter;  /* message counter for msg_ids */
	int cur_line;           /* document line of the code running (for warnings) */
};

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- wire protocol ---- */

void jupyter_msg_init(struct jupyter_msg *m)
{
	memset(m, 0, sizeof(*m));
}

void jupyter_msg_free(struct jupyter_msg *m)
{
	json_decref(m->header);
	json_decref(m->parent_header);
	json_decref(m->metadata);
	json_decref(m->content);
	jupyter_msg_init(m);
}

void jupyter_sign(const char *key, const struct strbuf parts[4], char out[65])
{
	out[0] = '\0';
	if (!key || !*key)
		return;
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
	for (int i = 0; i < 4; i++)
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)parts[i].buf, parts[i].len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, 65, mac, sizeof(mac));
}

/* Compact JSON of v ({} for NULL) into sb. */
static void dump_json(struct strbuf *sb, const json_t *v)
{
	strbuf_reset(sb);
	if (!v) {
		strbuf_addstr(sb, "{}");
		return;
	}
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	strbuf_addstr(sb, s ? s : "{}");
	free(s);
}

void jupyter_msg_encode(const struct jupyter_msg *m, const char *key, struct strbuf frames[6])
{
	strbuf_reset(&frames[0]);
	strbuf_addstr(&frames[0], "<IDS|MSG>");
	dump_json(&frames[2], m->header);
	dump_json(&frames[3], m->parent_header);
	dump_json(&frames[4], m->metadata);
	dump_json(&frames[5], m->content);
	char sig[65];
	jupyter_sign(key, &frames[2], sig);
	strbuf_reset(&frames[1]);
	strbuf_addstr(&frames[1], sig);
}

int jupyter_msg_decode(struct jupyter_msg *m, const struct strbuf *frames, size_t n,
		       const char *key, struct weft_error *err)
{
	jupyter_msg_init(m);
	size_t d = 0;
	while (d < n && strcmp(frames[d].buf, "<IDS|MSG>"))
		d++;
	if (d == n)
		return weft_error_set(err, NULL, 0, 0, "jupyter message without <IDS|MSG> delimiter");
	if (n - d < 6)
		return weft_error_set(err, NULL, 0, 0, "jupyter message with %zu frames after the delimiter",
				      n - d - 1);
	if (key && *key) {
		char sig[65];
		jupyter_sign(key, &frames[d + 2], sig);
		if (frames[d + 1].len != 64 || sodium_memcmp(sig, frames[d + 1].buf, 64) != 0)
			return weft_error_set(err, NULL, 0, 0, "jupyter message with a bad signature");
	}
	json_t **slots[4] = {&m->header, &m->parent_header, &m->metadata, &m->content};
	for (int i = 0; i < 4; i++) {
		json_error_t je;
		/* a NUL a chunk prints arrives as \u0000: without JSON_ALLOW_NUL the
		 * whole message, and the chunk's text with it, was dropped */
		*slots[i] = json_loadb(frames[d + 2 + i].buf, frames[d + 2 + i].len, JSON_ALLOW_NUL,
				       &je);
		if (!json_is_object(*slots[i])) {
			jupyter_msg_free(m);
			return weft_error_set(err, NULL, 0, 0, "jupyter message: part %d is not a JSON object",
					      i + 1);
		}
	}
	return 0;
}

void jupyter_strip_ansi(struct strbuf *sb)
{
	size_t w = 0;
	for (size_t r = 0; r < sb->len;) {
		unsigned char c = (unsigned char)sb->buf[r];
		if (c != 0x1b) {
			sb->buf[w++] = sb->buf[r++];
			continue;
		}
		r++;
		if (r < sb->len && sb->buf[r] == '[') {
			/* CSI: parameters and intermediates, then one final byte 0x40-0x7e */
			r++;
			while (r < sb->len && !((unsigned char)sb->buf[r] >= 0x40 &&
						(unsigned char)sb->buf[r] <= 0x7e))
				r++;
			if (r < sb->len)
				r++;
		} else if (r < sb->len && sb->buf[r] == ']') {
			/* OSC (hyperlinks): up to BEL or ESC \ */
			while (r < sb->len && sb->buf[r] != '\a' &&
			       !(sb->buf[r] == 0x1b && r + 1 < sb->len && sb->buf[r + 1] == '\\'))
				r++;
			r += r < sb->len ? (sb->buf[r] == '\a' ? 1 : 2) : 0;
		} else if (r < sb->len) {
			r++; /* two-byte escape */
		}
	}
	strbuf_setlen(sb, w);
}

/* ---- process and sockets ---- */

/* A random UUID4 string, for msg_ids and the session. */
static void make_uuid(char out[37])
{
	unsigned char b[16];
	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

/* Has the kernel ended? Uses WNOWAIT so the pid (and group) stay reserved until reaped. */
static bool kernel_exited(struct jupyter_engine *e)
{
	if (!e->pid || e->exited)
		return true;
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	int rc = waitid(P_PID, (id_t)e->pid, &si, WEXITED | WNOHANG | WNOWAIT);
	if (rc == 0 && si.si_pid == e->pid) {
		e->exited = true;
		strbuf_reset(&e->died);
		if (si.si_code == CLD_EXITED)
			strbuf_addf(&e->died, "exited with status %d", si.si_status);
		else
			strbuf_addf(&e->died, "was killed by signal %d (%s)", si.si_status,
				    strsignal(si.si_status));
	} else if (rc < 0 && errno == ECHILD) {
		e->exited = true; /* reaped already (SIGCHLD ignored) */
		strbuf_reset(&e->died);
		strbuf_addstr(&e->died, "exited");
	}
	return e->exited;
}

/* Kill the kernel's group (it may have children) and reap it. */
static void kill_kernel(struct jupyter_engine *e)
{
	if (!e->pid)
		return;
	kill(-e->pid, SIGKILL);
	kill(e->pid, SIGKILL);
	int st;
	while (waitpid(e->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!e->exited) {
		e->exited = true;
		strbuf_reset(&e->died);
		strbuf_addstr(&e->died, "was killed");
	}
	e->pid = 0;
	e->alive = false;
}

/* The last LOG_TAIL bytes the kernel wrote to its stdout/stderr. */
static void log_tail(struct jupyter_engine *e, struct strbuf *out)
{
	if (e->log_fd < 0)
		return;
	off_t end = lseek(e->log_fd, 0, SEEK_END);
	if (end <= 0)
		return;
	off_t from = end > LOG_TAIL ? end - LOG_TAIL : 0;
	char buf[LOG_TAIL];
	ssize_t got = pread(e->log_fd, buf, (size_t)(end - from), from);
	if (got > 0)
		strbuf_add(out, buf, (size_t)got);
	strbuf_rtrim(out);
}

/* Pick five free TCP ports on 127.0.0.1 (bound together so they differ). */
static int pick_ports(int ports[NCHAN], struct weft_error *err)
{
	int fds[NCHAN];
	int rc = 0;
	for (int i = 0; i < NCHAN; i++)
		fds[i] = -1;
	for (int i = 0; i < NCHAN && rc == 0; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(a);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&a, &len) < 0)
			rc = weft_error_errno(err, NULL, "jupyter engine: choosing a port");
		else
			ports[i] = ntohs(a.sin_port);
	}
	for (int i = 0; i < NCHAN; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* Write the connection file (mode 0600) the kernel reads with -f. */
static int write_connection_file(struct jupyter_engine *e, const int ports[NCHAN],
				 struct weft_error *err)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	struct strbuf path;
	strbuf_init(&path);
	strbuf_addf(&path, "%s/weft-kernel-XXXXXX.json",
		    rt && *rt && access(rt, W_OK) == 0 ? rt : fs_tmpdir());
	int fd = mkostemps(path.buf, 5, O_CLOEXEC);
	if (fd < 0) {
		weft_error_errno(err, path.buf, "jupyter engine: connection file");
		strbuf_free(&path);
		return -1;
	}
	fchmod(fd, 0600);
	json_t *j = json_pack("{s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:s}",
			      "shell_port", ports[CH_SHELL], "iopub_port", ports[CH_IOPUB],
			      "control_port", ports[CH_CONTROL], "stdin_port", ports[CH_STDIN],
			      "hb_port", ports[CH_HB], "ip", "127.0.0.1", "transport", "tcp",
			      "signature_scheme", "hmac-sha256", "key", e->key, "kernel_name",
			      e->spec.name);
	char *text = j ? json_dumps(j, JSON_INDENT(1)) : NULL;
	json_decref(j);
	if (!text) {
		/* e.g. a kernelspec name that is not UTF-8: say so, never write a broken file */
		close(fd);
		unlink(path.buf);
		weft_error_set(err, path.buf, 0, 0, "jupyter engine: cannot encode the connection file "
			       "(kernel name not UTF-8?)");
		strbuf_free(&path);
		return -1;
	}
	size_t len = strlen(text);
	bool ok = fs_write_all(fd, text, len) == 0; /* errno is the failed write's own */
	free(text);
	if (close(fd) < 0 || !ok) {
		weft_error_errno(err, path.buf, "jupyter engine: writing the connection file");
		unlink(path.buf);
		strbuf_free(&path);
		return -1;
	}
	e->conn_path = strbuf_detach(&path, NULL);
	return 0;
}

/* Replace {connection_file} and {resource_dir} in one argv entry. */
static char *substitute(const char *arg, const struct jupyter_engine *e)
{
	struct strbuf sb;
	strbuf_init(&sb);
	for (const char *p = arg; *p;) {
		if (!strncmp(p, "{connection_file}", 17)) {
			strbuf_addstr(&sb, e->conn_path);
			p += 17;
		} else if (!strncmp(p, "{resource_dir}", 14)) {
			strbuf_addstr(&sb, e->spec.dir);
			p += 14;
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	return strbuf_detach(&sb, NULL);
}

/* Fork and exec the kernel in its own process group, in `workdir`. */
static int launch_kernel(struct jupyter_engine *e, const char *workdir, struct weft_error *err)
{
	char **argv = xcalloc(e->spec.argc + 1, sizeof(char *));
	for (size_t i = 0; i < e->spec.argc; i++)
		argv[i] = substitute(e->spec.argv[i], e);
	struct strbuf tmpl;
	strbuf_init(&tmpl);
	strbuf_addf(&tmpl, "%s/weft-kernel-log-XXXXXX", fs_tmpdir());
	e->log_fd = mkostemp(tmpl.buf, O_CLOEXEC);
	if (e->log_fd >= 0)
		unlink(tmpl.buf);
	strbuf_free(&tmpl);
	fflush(NULL);
	pid_t parent = getpid();
	/* The child setenvs before exec: one thread only (see forkcheck.h);
	 * the zmq context (which starts I/O threads) is made after this fork. */
	pid_t pid = forkcheck_single_threaded("jupyter engine", err) < 0 ? -2 : fork();
	if (pid == -2) {
		for (size_t i = 0; i < e->spec.argc; i++)
			free(argv[i]);
		free(argv);
		return -1;
	}
	if (pid < 0) {
		for (size_t i = 0; i < e->spec.argc; i++)
			free(argv[i]);
		free(argv);
		return weft_error_errno(err, NULL, "jupyter engine: fork");
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* the kernel dies with weft */
		if (getppid() != parent)
			_exit(127);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		if (e->log_fd >= 0) {
			dup2(e->log_fd, 1);
			dup2(e->log_fd, 2);
		}
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (workdir && chdir(workdir) < 0) {
			dprintf(2, "weft: cannot enter %s: %s\n", workdir, strerror(errno));
			_exit(127);
		}
		const char *k;
		json_t *v;
		json_object_foreach(e->spec.env, k, v)
			if (json_is_string(v))
				setenv(k, json_string_value(v), 1);
		execvp(argv[0], argv);
		dprintf(2, "weft: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	e->pid = pid;
	for (size_t i = 0; i < e->spec.argc; i++)
		free(argv[i]);
	free(argv);
	return 0;
}

/* Create and connect the five sockets. */
static int connect_sockets(struct jupyter_engine *e, const int ports[NCHAN], struct weft_error *err)
{
	static const int types[NCHAN] = {ZMQ_DEALER, ZMQ_SUB, ZMQ_DEALER, ZMQ_DEALER, ZMQ_REQ};
	e->ctx = zmq_api.ctx_new();
	if (!e->ctx)
		return weft_error_set(err, NULL, 0, 0, "jupyter engine: zmq_ctx_new: %s",
				      zmq_api.strerror(zmq_api.errno_()));
	for (int i = 0; i < NCHAN; i++) {
		e->sock[i] = zmq_api.socket(e->ctx, types[i]);
		if (!e->sock[i])
			return weft_error_set(err, NULL, 0, 0, "jupyter engine: zmq_socket: %s",
					      zmq_api.strerror(zmq_api.errno_()));
		int linger = 0;
		zmq_api.setsockopt(e->sock[i], ZMQ_LINGER, &linger, sizeof(linger));
		if (types[i] == ZMQ_SUB)
			zmq_api.setsockopt(e->sock[i], ZMQ_SUBSCRIBE, "", 0);
		char ep[64];
		snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", ports[i]);
		if (zmq_api.connect(e->sock[i], ep) < 0)
			return weft_error_set(err, NULL, 0, 0, "jupyter engine: connect %s %s: %s",
					      chan_names[i], ep, zmq_api.strerror(zmq_api.errno_()));
	}
	return 0;
}

/* ISO 8601 UTC time with microseconds, as the protocol's header.date. */
static void iso_now(char out[40])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%06dZ", (int)(ts.tv_nsec / 1000) % 1000000);
}

/* Send a request of `type` with `content` (stolen) on `ch`; its msg_id goes to id_out. */
static int send_msg(struct jupyter_engine *e, enum chan ch, const char *type, json_t *content,
		    char id_out[64])
{
	char uuid[37], date[40], id[64];
	make_uuid(uuid);
	snprintf(id, sizeof(id), "%.8s_%lu", uuid, ++e->counter);
	if (id_out)
		memcpy(id_out, id, sizeof(id));
	iso_now(date);
	struct jupyter_msg m;
	jupyter_msg_init(&m);
	m.header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", id, "session", e->session,
			     "username", "weft", "date", date, "msg_type", type, "version", "5.3");
	if (!m.header || !content) {
		/* a message that failed to build is never sent with "{}" in its place */
		json_decref(m.header);
		json_decref(content);
		return -1;
	}
	m.parent_header = json_object();
	m.metadata = json_object();
	m.content = content;
	struct strbuf frames[6];
	for (int i = 0; i < 6; i++)
		strbuf_init(&frames[i]);
	jupyter_msg_encode(&m, e->key, frames);
	jupyter_msg_free(&m);
	int rc = 0;
	for (int i = 0; i < 6 && rc == 0; i++)
		if (zmq_api.send(e->sock[ch], frames[i].buf, frames[i].len, i < 5 ? ZMQ_SNDMORE : 0) < 0)
			rc = -1;
	for (int i = 0; i < 6; i++)
		strbuf_free(&frames[i]);
	return rc;
}

/* Read one multipart message from a readable socket and verify it. 1: got one, 0: none. */
static int read_msg(struct jupyter_engine *e, enum chan ch, struct jupyter_msg *m)
{
	struct strbuf *frames = NULL;
	size_t n = 0, alloc = 0;
	int more = 1, rc = 0;
	while (more) {
		zmq_msg_t part;
		zmq_api.msg_init(&part);
		if (zmq_api.msg_recv(&part, e->sock[ch], n ? 0 : ZMQ_DONTWAIT) < 0) {
			zmq_api.msg_close(&part);
			break;
		}
		ARRAY_GROW(frames, n + 1, alloc);
		strbuf_init(&frames[n]);
		strbuf_add(&frames[n], zmq_api.msg_data(&part), zmq_api.msg_size(&part));
		n++;
		more = zmq_api.msg_more(&part);
		zmq_api.msg_close(&part);
	}
	if (n) {
		struct weft_error err;
		weft_error_init(&err);
		if (jupyter_msg_decode(m, frames, n, e->key, &err) == 0)
			rc = 1;
		else
			weft_warn(e->doc_path, 0, "jupyter %s: dropped a message: %s", chan_names[ch],
				  err.msg.buf);
		weft_error_free(&err);
	}
	for (size_t i = 0; i < n; i++)
		strbuf_free(&frames[i]);
	free(frames);
	return rc;
}

enum recv_result { RECV_MSG, RECV_TIMEOUT, RECV_DEAD };

/*
 * Wait for the next verified message on shell, iopub or control until
 * `deadline` (<0: none). Once the kernel has exited, messages already queued
 * are still delivered before RECV_DEAD, so output printed just before a crash
 * is kept.
 */
static enum recv_result recv_any(struct jupyter_engine *e, double deadline, enum chan *ch,
				 struct jupyter_msg *m)
{
	for (;;) {
		bool dead = kernel_exited(e);
		long wait_ms = POLL_TICK_MS;
		if (dead)
			wait_ms = 50; /* let in-flight iopub messages land */
		else if (deadline >= 0) {
			double left = deadline - now_sec();
			if (left <= 0)
				return RECV_TIMEOUT;
			if (left * 1000 < wait_ms)
				wait_ms = (long)(left * 1000) + 1;
		}
		zmq_pollitem_t items[3] = {
			{e->sock[CH_IOPUB], 0, ZMQ_POLLIN, 0},
			{e->sock[CH_SHELL], 0, ZMQ_POLLIN, 0},
			{e->sock[CH_CONTROL], 0, ZMQ_POLLIN, 0},
		};
		static const enum chan which[3] = {CH_IOPUB, CH_SHELL, CH_CONTROL};
		int r = zmq_api.poll(items, 3, wait_ms);
		if (r < 0 && zmq_api.errno_() != EINTR)
			return RECV_DEAD;
		int got = 0;
		/* iopub first: a chunk's outputs precede its idle status and reply */
		for (int i = 0; i < 3 && r > 0; i++)
			if (items[i].revents & ZMQ_POLLIN) {
				got = read_msg(e, which[i], m);
				if (got) {
					*ch = which[i];
					return RECV_MSG;
				}
			}
		if (dead && r <= 0)
			return RECV_DEAD;
	}
}

static const char *msg_type(const struct jupyter_msg *m)
{
	const char *t = json_string_value(json_object_get(m->header, "msg_type"));
	return t ? t : "";
}

static bool is_reply_to(const struct jupyter_msg *m, const char *id)
{
	const char *p = json_string_value(json_object_get(m->parent_header, "msg_id"));
	return p && !strcmp(p, id);
}

/* ---- engine ---- */

/* Describe a failed start, with the kernel's own last words. */
static int start_failed(struct jupyter_engine *e, const char *why, struct weft_error *err)
{
	struct strbuf msg;
	strbuf_init(&msg);
	strbuf_addf(&msg, "Jupyter kernel '%s' failed to start: ", e->spec.name ? e->spec.name : "?");
	if (why)
		strbuf_addstr(&msg, why);
	if (e->exited && e->died.len)
		strbuf_addf(&msg, "%sthe kernel %s", why ? "; " : "", e->died.buf);
	struct strbuf tail;
	strbuf_init(&tail);
	log_tail(e, &tail);
	if (tail.len)
		strbuf_addf(&msg, "\n%s", tail.buf);
	weft_error_set(err, NULL, 0, 0, "%s", msg.buf);
	strbuf_free(&tail);
	strbuf_free(&msg);
	return -1;
}

/* kernel_info_request until both shell and iopub answered; sets the identity. */
static int handshake(struct jupyter_engine *e, struct weft_error *err)
{
	double deadline = now_sec() + START_TIMEOUT;
	bool got_reply = false, got_iopub = false;
	while (!got_reply || !got_iopub) {
		char id[64];
		if (send_msg(e, CH_SHELL, "kernel_info_request", json_object(), id) < 0)
			return start_failed(e, "cannot send kernel_info_request", err);
		double retry = now_sec() + KERNEL_INFO_RETRY;
		while (!got_reply || !got_iopub) {
			double until = retry < deadline ? retry : deadline;
			if (got_reply)
				until = deadline; /* only iopub missing: wait for this request's status */
			struct jupyter_msg m;
			enum chan ch;
			enum recv_result r = recv_any(e, got_reply ? retry : until, &ch, &m);
			if (r == RECV_DEAD)
				return start_failed(e, NULL, err);
			if (r == RECV_TIMEOUT) {
				if (now_sec() >= deadline)
					return start_failed(e, "no kernel_info_reply within 120 s", err);
				break; /* resend: the iopub subscription may not have been up */
			}
			if (ch == CH_IOPUB)
				got_iopub = true;
			if (ch == CH_SHELL && !strcmp(msg_type(&m), "kernel_info_reply") && !got_reply) {
				got_reply = true;
				const json_t *c = m.content;
				const json_t *li = json_object_get(c, "language_info");
				const char *impl = json_string_value(json_object_get(c, "implementation"));
				const char *iv = json_string_value(json_object_get(c, "implementation_version"));
				const char *lang = json_string_value(json_object_get(li, "name"));
				const char *lv = json_string_value(json_object_get(li, "version"));
				struct strbuf id_sb;
				strbuf_init(&id_sb);
				strbuf_addf(&id_sb, "jupyter kernel %s: %s %s; %s %s", e->spec.name,
					    impl ? impl : "?", iv ? iv : "?", lang ? lang : "?", lv ? lv : "?");
				free(e->identity);
				e->identity = strbuf_detach(&id_sb, NULL);
			}
			jupyter_msg_free(&m);
		}
	}
	return 0;
}

int jupyter_engine_start(struct jupyter_engine **out, const struct engine_config *cfg,
			 struct weft_error *err)
{
	*out = NULL;
	if (sodium_init() < 0)
		return weft_error_set(err, NULL, 0, 0, "jupyter engine: libsodium failed to initialise");
	if (zmq_api_load(err) < 0)
		return -1;
	struct jupyter_engine *e = xcalloc(1, sizeof(*e));
	e->log_fd = -1;
	strbuf_init(&e->died);
	e->doc_path = xstrdup(cfg->doc_path ? cfg->doc_path : "");
	e->timeout = cfg->timeout;
	jupyter_kernelspec_init(&e->spec);
	if (jupyter_kernelspec_find(&e->spec, cfg->kernel, err) < 0) {
		jupyter_engine_stop(e);
		return -1;
	}
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(e->key, sizeof(e->key), raw, sizeof(raw));
	make_uuid(e->session);
	int ports[NCHAN];
	if (pick_ports(ports, err) < 0 || write_connection_file(e, ports, err) < 0 ||
	    launch_kernel(e, cfg->workdir, err) < 0 || connect_sockets(e, ports, err) < 0 ||
	    handshake(e, err) < 0) {
		jupyter_engine_stop(e);
		return -1;
	}
	e->alive = true;
	*out = e;
	return 0;
}

void jupyter_engine_stop(struct jupyter_engine *e)
{
	if (!e)
		return;
	if (e->pid && !kernel_exited(e) && e->sock[CH_CONTROL]) {
		/* Ask politely, so the kernel can clean up its own children. */
		send_msg(e, CH_CONTROL, "shutdown_request", json_pack("{s:b}", "restart", 0), NULL);
		double until = now_sec() + STOP_GRACE;
		while (now_sec() < until && !kernel_exited(e)) {
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
	}
	kill_kernel(e);
	for (int i = 0; i < NCHAN; i++)
		if (e->sock[i])
			zmq_api.close(e->sock[i]);
	if (e->ctx)
		zmq_api.ctx_term(e->ctx);
	if (e->conn_path)
		unlink(e->conn_path);
	if (e->log_fd >= 0)
		close(e->log_fd);
	free(e->conn_path);
	free(e->doc_path);
	free(e->identity);
	strbuf_free(&e->died);
	jupyter_kernelspec_free(&e->spec);
	sodium_memzero(e->key, sizeof(e->key));
	free(e);
}

bool jupyter_engine_alive(const struct jupyter_engine *e)
{
	return e && e->alive;
}

void jupyter_engine_set_timeout(struct jupyter_engine *e, double seconds)
{
	if (e)
		e->timeout = seconds;
}

const char *jupyter_engine_identity(struct jupyter_engine *e)
{
	return e ? e->identity : NULL;
}

/* Interrupt the running request as the kernelspec says. */
static void interrupt_kernel(struct jupyter_engine *e)
{
	if (e->spec.interrupt_message)
		send_msg(e, CH_CONTROL, "interrupt_request", json_object(), NULL);
	else if (e->pid)
		kill(-e->pid, SIGINT);
}

/* What one execute_request produced. */
struct exec_result {
	json_t *reply;          /* execute_reply content, or NULL */
	enum recv_result end;   /* RECV_MSG: finished; RECV_TIMEOUT / RECV_DEAD */
	bool interrupted;       /* timed out, and the interrupt brought the kernel back */
	bool clear_pending;     /* clear_output(wait=True) seen: clear before the next output */
	/* stdout [0] and stderr [1] bytes kept and dropped: a stream is capped as the
	 * embedded engine caps it (worker.h), so a kernel printing without end cannot
	 * exhaust memory, and a cached report equals an uncached one */
	unsigned long long kept[2], dropped[2];
};

/*
 * How much of `len` bytes of stream text to keep under the per-request cap
 * (WORKER_STREAM_LIMIT_BYTES per stream, as the embedded engine): the rest is
 * counted as dropped. A cut falls on a UTF-8 character boundary.
 */
static size_t capped_length(struct exec_result *x, bool err_stream, const char *t, size_t len)
{
	int si = err_stream ? 1 : 0;
	unsigned long long room = x->kept[si] >= WORKER_STREAM_LIMIT_BYTES ? 0
				  : WORKER_STREAM_LIMIT_BYTES - x->kept[si];
	size_t keep = len;
	if (len > room) {
		keep = (size_t)room;
		while (keep > 0 && ((unsigned char)t[keep] & 0xC0) == 0x80)
			keep--;
		x->dropped[si] += len - keep;
		x->kept[si] = WORKER_STREAM_LIMIT_BYTES; /* nothing more of this stream is kept */
	} else {
		x->kept[si] += keep;
	}
	return keep;
}

/*
 * After a request whose streams were cut: the report says so where the kept
 * text ends (the stream's last output, or an inline span's printed text),
 * with the embedded engine's marker, and stderr names the document line.
 */
static void mark_truncation(struct jupyter_engine *e, const struct exec_result *x, struct output_list *outs,
			    struct strbuf *printed)
{
	static const char *const names[2] = {"stdout", "stderr"};
	for (int si = 0; si < 2; si++) {
		if (!x->dropped[si])
			continue;
		char marker[160];
		snprintf(marker, sizeof(marker), "[weft: output truncated after %d MiB; %llu bytes dropped]\n",
			 WORKER_STREAM_LIMIT_MIB, x->dropped[si]);
		weft_warn(e->doc_path, e->cur_line, "%s of this code truncated after %d MiB; %llu bytes dropped",
			  names[si], WORKER_STREAM_LIMIT_MIB, x->dropped[si]);
		struct strbuf *text = NULL;
		for (size_t i = outs ? outs->n : 0; i-- > 0 && !text;)
			if (outs->items[i].type == OUTPUT_STREAM && !strcmp(outs->items[i].stream_name, names[si]))
				text = &outs->items[i].text;
		if (!text && outs) {
			output_list_add_stream(outs, names[si], "", 0);
			text = &outs->items[outs->n - 1].text;
		}
		if (!text && printed && si == 0)
			text = printed;
		if (!text)
			continue;
		if (text->len && text->buf[text->len - 1] != '\n')
			strbuf_addch(text, '\n');
		strbuf_addstr(text, marker);
	}
}

/* Turn an iopub message into an output of `outs` (and stdout text into `printed`). */
static void add_iopub_output(struct jupyter_engine *e, struct exec_result *x,
			     const struct jupyter_msg *m, struct output_list *outs,
			     struct strbuf *printed)
{
	const char *t = msg_type(m);
	const json_t *c = m->content;
	bool is_output = !strcmp(t, "stream") || !strcmp(t, "display_data") ||
			 !strcmp(t, "execute_result") || !strcmp(t, "error");
	if (is_output && x->clear_pending && outs) {
		output_list_free(outs);
		output_list_init(outs);
		x->clear_pending = false;
	}
	if (!strcmp(t, "clear_output")) {
		if (json_is_true(json_object_get(c, "wait")))
			x->clear_pending = true;
		else if (outs) {
			output_list_free(outs);
			output_list_init(outs);
		}
		return;
	}
	if (!strcmp(t, "stream")) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *text = json_object_get(c, "text");
		if (!json_is_string(text))
			return;
		bool err_stream = name && !strcmp(name, "stderr");
		const char *txt = json_string_value(text);
		size_t len = capped_length(x, err_stream, txt, json_string_length(text));
		if (!len)
			return;
		if (printed && !err_stream)
			strbuf_add(printed, txt, len);
		if (outs)
			output_list_add_stream(outs, err_stream ? "stderr" : "stdout", txt, len);
		return;
	}
	if (!outs || !is_output)
		return;
	/* iopub content is nbformat output JSON minus output_type */
	json_t *o = json_deep_copy(c);
	json_object_set_new(o, "output_type", json_string(t));
	json_object_del(o, "transient");
	json_t *arr = json_array();
	json_array_append_new(arr, o);
	size_t before = outs->n;
	struct weft_error err;
	weft_error_init(&err);
	if (output_list_from_json(outs, arr, &err) < 0)
		weft_warn(e->doc_path, 0, "jupyter %s: %s", t, err.msg.buf);
	weft_error_free(&err);
	json_decref(arr);
	for (size_t i = before; i < outs->n; i++) {
		struct output *out = &outs->items[i];
		for (size_t k = 0; k < out->ntraceback; k++) {
			struct strbuf sb;
			strbuf_init(&sb);
			strbuf_addstr(&sb, out->traceback[k]);
			jupyter_strip_ansi(&sb);
			free(out->traceback[k]);
			out->traceback[k] = strbuf_detach(&sb, NULL);
		}
		if (out->ename || out->evalue) {
			struct strbuf sb;
			strbuf_init(&sb);
			strbuf_addstr(&sb, out->evalue ? out->evalue : "");
			jupyter_strip_ansi(&sb);
			free(out->evalue);
			out->evalue = strbuf_detach(&sb, NULL);
		}
	}
}

/*
 * Run one execute_request and collect its iopub outputs until both its
 * execute_reply and its idle status arrived. Handles the timeout
 * (interrupt, then kill) and the kernel's death.
 */
static void execute(struct jupyter_engine *e, json_t *content, struct output_list *outs,
		    struct strbuf *printed, struct exec_result *x)
{
	memset(x, 0, sizeof(*x));
	char id[64];
	if (send_msg(e, CH_SHELL, "execute_request", content, id) < 0) {
		kill_kernel(e);
		x->end = RECV_DEAD;
		return;
	}
	double deadline = e->timeout > 0 ? now_sec() + e->timeout : -1;
	bool got_idle = false, timed_out = false;
	while (!x->reply || !got_idle) {
		struct jupyter_msg m;
		enum chan ch;
		enum recv_result r = recv_any(e, deadline, &ch, &m);
		if (r == RECV_TIMEOUT && !timed_out) {
			timed_out = true;
			interrupt_kernel(e);
			deadline = now_sec() + INTERRUPT_GRACE;
			continue;
		}
		if (r != RECV_MSG) {
			x->end = timed_out ? RECV_TIMEOUT : RECV_DEAD;
			kill_kernel(e);
			mark_truncation(e, x, outs, printed);
			return;
		}
		if (is_reply_to(&m, id)) {
			const char *t = msg_type(&m);
			if (ch == CH_SHELL && !strcmp(t, "execute_reply")) {
				json_decref(x->reply);
				x->reply = json_incref(m.content);
			} else if (ch == CH_IOPUB && !strcmp(t, "status")) {
				const char *s = json_string_value(json_object_get(m.content, "execution_state"));
				if (s && !strcmp(s, "idle"))
					got_idle = true;
			} else if (ch == CH_IOPUB) {
				add_iopub_output(e, x, &m, outs, printed);
			}
		}
		jupyter_msg_free(&m);
	}
	x->end = timed_out ? RECV_TIMEOUT : RECV_MSG;
	x->interrupted = timed_out;
	mark_truncation(e, x, outs, printed);
}

/*
 * Document line of the innermost frame of execution `count` in an IPython
 * traceback (ANSI already stripped): "Cell In[7], line 3" (IPython >= 8.6),
 * "Cell In [7], line 3" (8.x), "Input In [7], in <cell line: 3>" (8.0-8.4).
 * Other kernels: the chunk's first line.
 */
static int traceback_line(const struct output_list *outs, long count, int code_line)
{
	char pats[3][48];
	snprintf(pats[0], sizeof(pats[0]), "In[%ld], line ", count);
	snprintf(pats[1], sizeof(pats[1]), "In [%ld], line ", count);
	snprintf(pats[2], sizeof(pats[2]), "In [%ld], in <cell line: ", count);
	int line = 0;
	for (size_t i = 0; i < outs->n; i++) {
		const struct output *o = &outs->items[i];
		for (size_t k = 0; o->type == OUTPUT_ERROR && k < o->ntraceback; k++)
			for (int j = 0; j < 3; j++)
				for (const char *p = strstr(o->traceback[k], pats[j]); p;
				     p = strstr(p + 1, pats[j]))
					line = atoi(p + strlen(pats[j]));
	}
	return line > 0 ? code_line + line - 1 : code_line;
}

/* Fill status/message for a chunk or inline span that timed out or lost its kernel. */
static int report_failure(struct jupyter_engine *e, const struct exec_result *x, const char *what,
			  int line, enum run_status *status, char **message, struct weft_error *err)
{
	struct strbuf msg;
	strbuf_init(&msg);
	if (x->end == RECV_TIMEOUT) {
		*status = RUN_TIMEOUT;
		strbuf_addf(&msg, "timed out after %g s; the Jupyter kernel was %s", e->timeout,
			    x->interrupted ? "interrupted" : "killed");
	} else {
		*status = RUN_CRASHED;
		strbuf_addf(&msg, "the Jupyter kernel %s", e->died.len ? e->died.buf : "died");
	}
	if (!x->interrupted)
		e->alive = false;
	free(*message);
	*message = xstrdup(msg.buf);
	weft_error_set(err, e->doc_path, line, 0, "%s: %s", what, msg.buf);
	strbuf_free(&msg);
	return -1;
}

static char *dup_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? xstrdup(s) : NULL;
}

/*
 * Python kernels: apply the chunk's figure options (size, dpi, format) to
 * matplotlib's inline backend before the chunk, as Pweave does: through
 * InlineBackend's config (applied when pyplot is first imported) and, when
 * matplotlib is already loaded, its rcParams. Run silently; its outputs and
 * failures (no matplotlib, another kernel flavour) are ignored.
 */
static int setup_figures(struct jupyter_engine *e, const struct run_request *req,
			 struct exec_result *x)
{
	double w = req->f_size[0] > 0 ? req->f_size[0] : 6.0;
	double h = req->f_size[1] > 0 ? req->f_size[1] : 4.0;
	int dpi = req->dpi > 0 ? req->dpi : 200;
	const char *fmt = req->fig_format ? req->fig_format : "png";
	if (strcmp(fmt, "png") && strcmp(fmt, "svg") && strcmp(fmt, "pdf"))
		fmt = "png";
	struct strbuf code;
	strbuf_init(&code);
	strbuf_addf(&code,
		    "def __weft_figures():\n"
		    "    import sys\n"
		    "    rc = {'figure.figsize': (%g, %g), 'figure.dpi': %d}\n"
		    "    fmts = {'%s'}\n"
		    "    cfg = get_ipython().config.InlineBackend\n"
		    "    cfg.rc = rc\n"
		    "    cfg.figure_formats = fmts\n"
		    "    bi = sys.modules.get('matplotlib_inline.backend_inline')\n"
		    "    if bi is not None and bi.InlineBackend.initialized():\n"
		    "        backend = bi.InlineBackend.instance()\n"
		    "        backend.rc = rc\n"
		    "        backend.figure_formats = fmts\n"
		    "    if 'matplotlib' in sys.modules:\n"
		    "        sys.modules['matplotlib'].rcParams.update(rc)\n"
		    "try:\n"
		    "    __weft_figures()\n"
		    "except Exception:\n"
		    "    pass\n"
		    "del __weft_figures\n",
		    w, h, dpi, fmt);
	json_t *content = json_pack("{s:s, s:b, s:b, s:{}, s:b, s:b}", "code", code.buf, "silent", 1,
				    "store_history", 0, "user_expressions", "allow_stdin", 0,
				    "stop_on_error", 0);
	strbuf_free(&code);
	execute(e, content, NULL, NULL, x);
	json_decref(x->reply);
	x->reply = NULL;
	return x->end == RECV_MSG && !x->interrupted ? 0 : -1;
}

/* Record an execute_reply's error (the first one wins) in `out`; code_line: where the code began. */
static void record_reply(struct chunk_outcome *out, const json_t *reply, int code_line)
{
	const char *status = json_string_value(json_object_get(reply, "status"));
	if (!status || !strcmp(status, "ok") || out->status == RUN_ERROR)
		return;
	out->status = RUN_ERROR;
	free(out->error_type);
	free(out->error_message);
	out->error_type = dup_str(reply, "ename");
	if (!out->error_type)
		out->error_type = xstrdup(status);
	struct strbuf sb;
	strbuf_init(&sb);
	const char *ev = json_string_value(json_object_get(reply, "evalue"));
	strbuf_addstr(&sb, ev ? ev : "");
	jupyter_strip_ansi(&sb);
	out->error_message = strbuf_detach(&sb, NULL);
	long count = (long)json_integer_value(json_object_get(reply, "execution_count"));
	out->error_line = traceback_line(&out->outputs, count, code_line);
}

/*
 * Term mode in Python kernels: the top-level statements' line spans (first,
 * last; decorators included), from the kernel's own ast module through a
 * user expression. Returns the number of spans (pairs in *spans), or -1 when
 * the code does not parse (it then runs whole and reports its SyntaxError).
 */
static long statement_spans(struct jupyter_engine *e, const char *code, long **spans)
{
	*spans = NULL;
	json_t *str = json_string(code);
	char *lit = str ? json_dumps(str, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
	json_decref(str);
	if (!lit)
		return -1; /* not UTF-8: run it whole */
	struct strbuf expr;
	strbuf_init(&expr);
	strbuf_addf(&expr,
		    "[(min([n.lineno] + [d.lineno for d in getattr(n, 'decorator_list', [])]), "
		    "n.end_lineno) for n in __import__('ast').parse(%s).body]", lit);
	free(lit);
	json_t *content = json_pack("{s:s, s:b, s:b, s:{s:s}, s:b, s:b}", "code", "", "silent", 1,
				    "store_history", 0, "user_expressions", "spans", expr.buf,
				    "allow_stdin", 0, "stop_on_error", 0);
	strbuf_free(&expr);
	struct exec_result x;
	execute(e, content, NULL, NULL, &x);
	if (x.end != RECV_MSG || x.interrupted) {
		json_decref(x.reply);
		return -2; /* the kernel is gone */
	}
	const json_t *res = json_object_get(json_object_get(x.reply, "user_expressions"), "spans");
	const char *text = json_string_value(json_object_get(json_object_get(res, "data"), "text/plain"));
	long n = -1;
	size_t alloc = 0;
	const char *status = json_string_value(json_object_get(res, "status"));
	if (text && status && !strcmp(status, "ok")) {
		n = 0;
		for (const char *p = strchr(text, '('); p; p = strchr(p, '(')) {
			char *end;
			long first = strtol(p + 1, &end, 10);
			if (*end != ',')
				break;
			long last = strtol(end + 1, &end, 10);
			ARRAY_GROW(*spans, (size_t)(2 * n + 2), alloc);
			(*spans)[2 * n] = first;
			(*spans)[2 * n + 1] = last;
			n++;
			p = end;
		}
	}
	json_decref(x.reply);
	return n;
}

/* Run code as one execute_request, appending to out; returns the exec result's end state. */
static void run_one(struct jupyter_engine *e, const char *code, struct chunk_outcome *out,
		    struct exec_result *x)
{
	json_t *content = json_pack("{s:s, s:b, s:b, s:{}, s:b, s:b}", "code", code, "silent", 0,
				    "store_history", 1, "user_expressions", "allow_stdin", 0,
				    "stop_on_error", 0);
	execute(e, content, &out->outputs, NULL, x);
}

/*
 * Term mode: each top-level statement (and each comment line between them,
 * as a console shows it) is a transcript entry; statements run one by one,
 * their outputs tagged with the entry's index. Returns as run_one.
 */
static void run_term(struct jupyter_engine *e, const struct run_request *req, long *spans,
		     long nspans, struct chunk_outcome *out, struct exec_result *x)
{
	const char *code = req->code ? req->code : "";
	/* line starts of the code (1-based lines) */
	size_t nlines = 0, alloc = 0;
	const char **starts = NULL;
	for (const char *p = code; *p;) {
		ARRAY_GROW(starts, nlines + 1, alloc);
		starts[nlines++] = p;
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	ARRAY_GROW(starts, nlines + 1, alloc);
	starts[nlines] = code + strlen(code);
	/* entries: comment lines outside statements, and the statements */
	long (*items)[3] = xcalloc(nlines + (size_t)nspans + 1, sizeof(*items));
	size_t nitems = 0;
	long covered = 0;
	for (long k = 0; k <= nspans; k++) {
		long upto = k < nspans ? spans[2 * k] : (long)nlines + 1;
		for (long ln = covered + 1; ln < upto && ln <= (long)nlines; ln++) {
			const char *l = starts[ln - 1];
			while (*l == ' ' || *l == '\t')
				l++;
			if (*l == '#') {
				items[nitems][0] = items[nitems][1] = ln;
				items[nitems++][2] = 0;
			}
		}
		if (k < nspans) {
			long first = spans[2 * k], last = spans[2 * k + 1];
			if (first < 1 || last < first || last > (long)nlines)
				continue;
			items[nitems][0] = first;
			items[nitems][1] = last;
			items[nitems++][2] = 1;
			covered = last;
		}
	}
	out->statements = xcalloc(nitems ? nitems : 1, sizeof(*out->statements));
	out->nstatements = nitems;
	memset(x, 0, sizeof(*x));
	x->end = RECV_MSG;
	for (size_t i = 0; i < nitems; i++) {
		const char *from = starts[items[i][0] - 1], *to = starts[items[i][1]];
		out->statements[i].source = xstrndup(from, (size_t)(to - from));
		out->statements[i].line = req->code_line + (int)items[i][0] - 1;
	}
	for (size_t i = 0; i < nitems && x->end == RECV_MSG && !x->interrupted; i++) {
		if (!items[i][2])
			continue; /* a comment: shown, nothing runs */
		size_t before = out->outputs.n;
		run_one(e, out->statements[i].source, out, x);
		for (size_t k = before; k < out->outputs.n; k++)
			out->outputs.items[k].statement = (int)i;
		if (x->end == RECV_MSG && !x->interrupted)
			record_reply(out, x->reply, out->statements[i].line); /* a console goes on */
		json_decref(x->reply);
		x->reply = NULL;
	}
	free(items);
	free(starts);
}

int jupyter_engine_run_chunk(struct jupyter_engine *e, const struct run_request *req,
			     struct chunk_outcome *out, json_t **tracked, struct weft_error *err)
{
	if (tracked)
		*tracked = NULL;
	if (!jupyter_engine_alive(e)) {
		out->status = RUN_CRASHED;
		free(out->error_message);
		out->error_message = xstrdup("the Jupyter kernel is not running");
		return weft_error_set(err, e ? e->doc_path : NULL, req->code_line, 0,
				      "the Jupyter kernel is not running");
	}
	const char *code = req->code ? req->code : "";
	struct strbuf bad;
	strbuf_init(&bad);
	int bad_line = 0;
	if (proto_code_unsendable(code, req->code_line, &bad_line, &bad)) {
		/* a message that cannot be encoded is never sent half-built */
		out->status = RUN_ERROR;
		free(out->error_type);
		free(out->error_message);
		out->error_type = xstrdup("SyntaxError");
		out->error_message = xstrdup(bad.buf);
		out->error_line = bad_line;
		struct output *o = output_list_add(&out->outputs, OUTPUT_ERROR);
		o->ename = xstrdup("SyntaxError");
		o->evalue = strbuf_detach(&bad, NULL);
		return 0;
	}
	strbuf_free(&bad);
	bool python = !strcasecmp(e->spec.language, "python");
	e->cur_line = req->code_line;
	double t0 = now_sec();
	struct exec_result x;
	out->status = RUN_OK;
	free(out->error_type);
	free(out->error_message);
	out->error_type = out->error_message = NULL;
	out->error_line = 0;
	long *spans = NULL;
	long nspans = -1;
	if (req->fig && python && setup_figures(e, req, &x) < 0) {
		/* the kernel died or hung in the set-up: reported below */
	} else if (req->term && python && (nspans = statement_spans(e, code, &spans)) == -2) {
		memset(&x, 0, sizeof(x));
		x.end = RECV_DEAD;
	} else if (nspans >= 0) {
		run_term(e, req, spans, nspans, out, &x);
	} else {
		run_one(e, code, out, &x);
		if (x.end == RECV_MSG && !x.interrupted)
			record_reply(out, x.reply, req->code_line);
	}
	free(spans);
	json_decref(x.reply);
	out->seconds = now_sec() - t0;
	if (x.end != RECV_MSG || x.interrupted) {
		char what[256];
		snprintf(what, sizeof(what), "chunk%s%s", req->name ? " " : "",
			 req->name ? req->name : "");
		out->error_line = req->code_line;
		return report_failure(e, &x, what, req->code_line, &out->status, &out->error_message,
				      err);
	}
	return 0;
}

/* Append code point cp as UTF-8. */
static void add_utf8(struct strbuf *sb, unsigned long cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (int)(0xc0 | (cp >> 6)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, (int)(0xe0 | (cp >> 12)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(sb, (int)(0xf0 | (cp >> 18)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	}
}

/*
 * Decode the repr() of a Python str ('...' or "...", with the escapes repr
 * emits) into out. Returns 0, or -1 when `lit` is not such a literal.
 */
int jupyter_unrepr(const char *lit, struct strbuf *out)
{
	size_t n = strlen(lit);
	if (n < 2 || (lit[0] != '\'' && lit[0] != '"') || lit[n - 1] != lit[0])
		return -1;
	strbuf_reset(out);
	for (size_t i = 1; i < n - 1; i++) {
		if (lit[i] != '\\') {
			strbuf_addch(out, lit[i]);
			continue;
		}
		if (++i >= n - 1)
			goto bad;
		char c = lit[i];
		int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
		if (digits) {
			if (i + (size_t)digits > n - 2)
				goto bad;
			char hex[9] = {0};
			memcpy(hex, lit + i + 1, (size_t)digits);
			for (int k = 0; k < digits; k++)
				if (!isxdigit((unsigned char)hex[k]))
					goto bad;
			unsigned long cp = strtoul(hex, NULL, 16);
			add_utf8(out, cp);
			i += (size_t)digits;
			continue;
		}
		switch (c) {
		case 'n': strbuf_addch(out, '\n'); break;
		case 't': strbuf_addch(out, '\t'); break;
		case 'r': strbuf_addch(out, '\r'); break;
		case '\\': case '\'': case '"': strbuf_addch(out, c); break;
		default: goto bad;
		}
	}
	return 0;
bad:
	strbuf_reset(out);
	return -1;
}

/*
 * The message a failing inline span shows in the prose and on stderr, as the
 * embedded engine's "NameError: name 'y' is not defined": the exception's
 * type and text, or the text alone when the kernel's type says nothing more
 * (IRkernel's "ERROR" before "Error in ...: object 'y' not found").
 */
static char *inline_error_text(const json_t *res)
{
	const char *en = json_string_value(json_object_get(res, "ename"));
	const char *ev = json_string_value(json_object_get(res, "evalue"));
	struct strbuf sb;
	strbuf_init(&sb);
	if (en && *en && strcasecmp(en, "error") && ev && *ev)
		strbuf_addf(&sb, "%s: %s", en, ev);
	else if (ev && *ev)
		strbuf_addstr(&sb, ev);
	else
		strbuf_addf(&sb, "%s (the kernel gave no message)", en && *en ? en : "inline code failed");
	jupyter_strip_ansi(&sb);
	strbuf_rtrim(&sb);
	return strbuf_detach(&sb, NULL);
}

int jupyter_engine_eval_inline(struct jupyter_engine *e, const char *code, bool is_expr, int line,
			       struct inline_outcome *out, struct weft_error *err)
{
	out->done = true;
	if (!jupyter_engine_alive(e)) {
		out->status = RUN_CRASHED;
		free(out->error_message);
		out->error_message = xstrdup("the Jupyter kernel is not running");
		return weft_error_set(err, e ? e->doc_path : NULL, line, 0,
				      "the Jupyter kernel is not running");
	}
	struct strbuf bad;
	strbuf_init(&bad);
	int bad_line = 0;
	if (proto_code_unsendable(code, line, &bad_line, &bad)) {
		out->status = RUN_ERROR;
		free(out->error_message);
		out->error_message = strbuf_detach(&bad, NULL);
		return 0;
	}
	strbuf_free(&bad);
	json_t *content;
	/* Python kernels: insert str(value) as the embedded engine does, not its repr */
	bool python = !strcasecmp(e->spec.language, "python");
	/* Other kernels mostly ignore user_expressions (IRkernel answers none): the
	 * expression runs as code and its printed text or result is inserted. */
	bool as_code = is_expr && !python;
	struct strbuf expr;
	strbuf_init(&expr);
	if (python)
		strbuf_addf(&expr, "__import__('builtins').str(%s\n)", code ? code : "");
	else if (as_code && !strcasecmp(e->spec.language, "R"))
		/* as knitr's inline hook: the formatted values, joined by ", " */
		strbuf_addf(&expr, ".weft_inline <- (\n%s\n)\ncat(paste(format(.weft_inline), collapse = \", \"))\n"
			    "rm(.weft_inline)\n", code ? code : "");
	else
		strbuf_addstr(&expr, code ? code : "");
	if (is_expr && !as_code)
		content = json_pack("{s:s, s:b, s:b, s:{s:s}, s:b, s:b}", "code", "", "silent", 1,
				    "store_history", 0, "user_expressions", "weft", expr.buf,
				    "allow_stdin", 0, "stop_on_error", 0);
	else
		content = json_pack("{s:s, s:b, s:b, s:{}, s:b, s:b}", "code", as_code ? expr.buf : code ? code : "",
				    "silent", 0, "store_history", 0, "user_expressions", "allow_stdin",
				    0, "stop_on_error", 0);
	struct strbuf printed;
	strbuf_init(&printed);
	struct output_list outs;
	output_list_init(&outs);
	struct exec_result x;
	e->cur_line = line;
	execute(e, content, &outs, &printed, &x);
	if (x.end != RECV_MSG || x.interrupted) {
		output_list_free(&outs);
		json_decref(x.reply);
		strbuf_free(&printed);
		strbuf_free(&expr);
		return report_failure(e, &x, "inline code", line, &out->status, &out->error_message,
				      err);
	}
	strbuf_reset(&out->text);
	free(out->error_message);
	out->error_message = NULL;
	const json_t *res = is_expr && !as_code ? json_object_get(json_object_get(x.reply, "user_expressions"), "weft")
						: x.reply;
	const char *status = json_string_value(json_object_get(res, "status"));
	if (!status || strcmp(status, "ok")) {
		out->status = RUN_ERROR;
		out->error_message = inline_error_text(res);
	} else {
		out->status = RUN_OK;
		if (is_expr && !as_code) {
			const char *t = json_string_value(
				json_object_get(json_object_get(res, "data"), "text/plain"));
			if (!t || jupyter_unrepr(t, &out->text) < 0)
				strbuf_addstr(&out->text, t ? t : "");
		} else if (as_code && !printed.len) {
			/* no printed text: the expression's value as the kernel shows it */
			for (size_t i = 0; i < outs.n; i++) {
				const struct mime_item *m = outs.items[i].type == OUTPUT_EXECUTE_RESULT
								    ? output_get_mime(&outs.items[i], "text/plain")
								    : NULL;
				if (m)
					strbuf_add(&out->text, m->data, m->len);
			}
		} else {
			strbuf_add(&out->text, printed.buf, printed.len);
		}
	}
	output_list_free(&outs);
	strbuf_free(&printed);
	strbuf_free(&expr);
	json_decref(x.reply);
	return 0;
}

int jupyter_engine_request(struct jupyter_engine *e, json_t *request, json_t **reply,
			   struct weft_error *err)
{
	*reply = NULL;
	const char *op = json_string_value(json_object_get(request, "op"));
	return weft_error_set(err, NULL, 0, 0, "op %s: not supported by the Jupyter engine",
			      op ? op : "?");
}

/* See jupyter_engine.h. */
const char *jupyter_engine_language(const struct jupyter_engine *e)
{
	return e && e->spec.language ? e->spec.language : "";
}

/* See jupyter_engine.h: setup_figures for a caller that brackets the chunk itself. */
int jupyter_engine_figures(struct jupyter_engine *e, const struct run_request *req,
			   struct weft_error *err)
{
	struct exec_result x;
	if (setup_figures(e, req, &x) == 0)
		return 0;
	enum run_status status;
	char *message = NULL;
	report_failure(e, &x, "figure set-up", req->code_line, &status, &message, err);
	free(message);
	return -1;
}

/* See jupyter_engine.h. */
int jupyter_engine_eval_silent(struct jupyter_engine *e, const char *code, const char *expr,
			       json_t **result, struct weft_error *err)
{
	*result = NULL;
	if (!jupyter_engine_alive(e))
		return weft_error_set(err, e ? e->doc_path : NULL, 0, 0, "the Jupyter kernel is not running");
	json_t *exprs = json_object();
	if (expr && json_object_set_new(exprs, "weft", json_string(expr)) < 0) {
		json_decref(exprs);
		return weft_error_set(err, e->doc_path, 0, 0, "a silent request is not valid UTF-8");
	}
	json_t *content = json_pack("{s:s, s:b, s:b, s:o, s:b, s:b}", "code", code ? code : "", "silent", 1,
				    "store_history", 0, "user_expressions", exprs, "allow_stdin", 0,
				    "stop_on_error", 0);
	if (!content)
		return weft_error_set(err, e->doc_path, 0, 0, "a silent request is not valid UTF-8");
	struct exec_result x;
	execute(e, content, NULL, NULL, &x);
	if (x.end != RECV_MSG || x.interrupted) {
		json_decref(x.reply);
		enum run_status status;
		char *message = NULL;
		report_failure(e, &x, "weft's runtime in the kernel", 0, &status, &message, err);
		free(message);
		return -1;
	}
	const json_t *res = expr ? json_object_get(json_object_get(x.reply, "user_expressions"), "weft")
				 : x.reply;
	const char *status = json_string_value(json_object_get(res, "status"));
	if (!status || strcmp(status, "ok")) {
		const char *en = json_string_value(json_object_get(res, "ename"));
		const char *ev = json_string_value(json_object_get(res, "evalue"));
		struct strbuf sb;
		strbuf_init(&sb);
		strbuf_addf(&sb, "%s%s%s", en ? en : "error", ev ? ": " : "", ev ? ev : "");
		jupyter_strip_ansi(&sb);
		weft_error_set(err, e->doc_path, 0, 0, "weft's runtime in the kernel: %s", sb.buf);
		strbuf_free(&sb);
		json_decref(x.reply);
		return -1;
	}
	*result = json_incref((json_t *)res);
	json_decref(x.reply);
	return 0;
}
