/* worker_channel: the worker's protocol socket and stream pipes; see worker_channel.h. */
#include "engine/worker_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/worker.h"
#include "util/strbuf.h"

/* Buffered stream text waiting to be sent; everything under `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct strbuf pend;          /* valid UTF-8 text of one stream */
static int pend_fd;                 /* 1 or 2; 0 while empty */
static int pend_statement = -1;     /* statement tag of the pending text */
static int cur_statement = -1;      /* tag for new text (term mode) */
static char carry[3][4];            /* incomplete UTF-8 sequence at the end of fd 1/2 data */
static size_t ncarry[3];
static int wake_rd = -1, wake_wr = -1; /* tells the pump that text is pending */
static volatile sig_atomic_t forked; /* set in a fork of the worker (os.fork in a chunk) */
static struct strbuf rbuf;          /* request bytes read but not yet returned */
static int *rfds;                   /* descriptors received with them (SCM_RIGHTS) */
static size_t nrfds, rfds_alloc;
/* Bytes of stream text forwarded / dropped during the current request (fd 1, 2). */
static unsigned long long sent_bytes[3], dropped_bytes[3];

/* Flush pending text after this long, so output survives a later crash or timeout. */
#define FLUSH_MS 10
#define FLUSH_BYTES 8192

/* ---- output to the protocol socket (async-signal-safe parts) ---- */

/* A tiny fixed-buffer writer: no malloc, so the fatal-signal handler may use it. */
struct rawout {
	char buf[4096];
	size_t n;
	int failed;
};

/* Write out the buffer (retrying short writes); remembers failure. */
static void raw_flush(struct rawout *w)
{
	size_t off = 0;
	while (off < w->n && !w->failed) {
		ssize_t r = write(PROTO_FD, w->buf + off, w->n - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			w->failed = 1;
		else
			off += (size_t)r;
	}
	w->n = 0;
}

/* Append bytes, flushing whenever the buffer fills. */
static void raw_put(struct rawout *w, const char *s, size_t n)
{
	while (n) {
		size_t k = sizeof(w->buf) - w->n;
		if (k > n)
			k = n;
		memcpy(w->buf + w->n, s, k);
		w->n += k;
		s += k;
		n -= k;
		if (w->n == sizeof(w->buf))
			raw_flush(w);
	}
}

/* Append a C string. */
static void raw_puts(struct rawout *w, const char *s)
{
	raw_put(w, s, strlen(s));
}

/* Append `s` (valid UTF-8) as the body of a JSON string. */
static void raw_json_text(struct rawout *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		raw_put(w, s + start, i - start);
		start = i + 1;
		if (c == '"')
			raw_puts(w, "\\\"");
		else if (c == '\\')
			raw_puts(w, "\\\\");
		else if (c == '\n')
			raw_puts(w, "\\n");
		else if (c == '\t')
			raw_puts(w, "\\t");
		else {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			raw_put(w, u, 6);
		}
	}
	raw_put(w, s + start, n - start);
}

/* Small non-negative/negative integer to text without stdio. */
static void raw_int(struct rawout *w, int v)
{
	char tmp[16];
	int i = sizeof(tmp);
	unsigned u = v < 0 ? (unsigned)-v : (unsigned)v;
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u && i > 1);
	if (v < 0)
		tmp[--i] = '-';
	raw_put(w, tmp + i, sizeof(tmp) - (size_t)i);
}

/* Send the pending stream text as one "stream" event (caller holds lock, or is dying). */
static void pend_flush(void)
{
	if (!pend_fd)
		return;
	if (pend.len) {
		static struct rawout w; /* static: callers hold `lock`, and the fatal-signal path is short of stack */
		w.n = 0;
		w.failed = 0;
		raw_puts(&w, "{\"ev\":\"stream\",\"name\":\"");
		raw_puts(&w, pend_fd == 1 ? "stdout" : "stderr");
		raw_puts(&w, "\",\"text\":\"");
		raw_json_text(&w, pend.buf, pend.len);
		raw_puts(&w, "\"");
		if (pend_statement >= 0) {
			raw_puts(&w, ",\"statement\":");
			raw_int(&w, pend_statement);
		}
		raw_puts(&w, "}\n");
		raw_flush(&w);
	}
	pend.len = 0;
	pend.buf[0] = '\0';
	pend_fd = 0;
}

/* ---- stream text ---- */

/* Length of the valid UTF-8 sequence at s (max n bytes): >0, 0 if truncated, -1 if invalid. */
static int utf8_seq(const unsigned char *s, size_t n)
{
	int len;
	unsigned min;
	unsigned cp;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, min = 0x80, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, min = 0x800, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return -1;
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return 0;
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return len;
}

/* Make the pending buffer hold text of stream `fd` with the current statement tag. */
static void pend_switch(int fd)
{
	if (pend_fd && (pend_fd != fd || pend_statement != cur_statement))
		pend_flush();
	if (!pend_fd) {
		pend_fd = fd;
		pend_statement = cur_statement;
		if (wake_wr >= 0) {
			char c = 1;
			ssize_t r = write(wake_wr, &c, 1); /* the pump flushes it soon */
			(void)r;
		}
	}
}

/*
 * Append raw bytes of stream fd (1/2) to the pending text, replacing invalid
 * UTF-8 with U+FFFD and holding back an incomplete sequence at the end.
 */
static void pend_add_bytes(int fd, const char *data, size_t n, int final)
{
	/* Past the limit the text is only counted: memory stays bounded however
	 * much a chunk prints. The cut falls on a character boundary. */
	unsigned long long room = sent_bytes[fd] < WORKER_STREAM_LIMIT_BYTES
		? WORKER_STREAM_LIMIT_BYTES - sent_bytes[fd] : 0;
	if (n > room) {
		size_t keep = (size_t)room;
		while (keep > 0 && ((unsigned char)data[keep] & 0xc0) == 0x80)
			keep--;
		dropped_bytes[fd] += n - keep;
		if (!keep) {
			dropped_bytes[fd] += ncarry[fd]; /* a held-back partial character goes too */
			ncarry[fd] = 0;
			return;
		}
		n = keep;
		final = 1;
	}
	sent_bytes[fd] += n;
	struct strbuf joined;
	strbuf_init(&joined);
	if (ncarry[fd]) { /* only then copy: the usual case validates in place */
		strbuf_add(&joined, carry[fd], ncarry[fd]);
		strbuf_add(&joined, data, n);
		data = joined.buf;
		n = joined.len;
		ncarry[fd] = 0;
	}
	pend_switch(fd);
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0, start = 0;
	while (i < n) {
		if (s[i] < 0x80) { /* ASCII fast path */
			i++;
			continue;
		}
		int k = utf8_seq(s + i, n - i);
		if (k > 0) {
			i += (size_t)k;
			continue;
		}
		strbuf_add(&pend, data + start, i - start);
		if (k == 0 && !final) { /* truncated: keep for the next read */
			ncarry[fd] = n - i;
			memcpy(carry[fd], data + i, ncarry[fd]);
			start = i = n;
			break;
		}
		strbuf_addstr(&pend, "\xef\xbf\xbd");
		start = ++i;
	}
	strbuf_add(&pend, data + start, i - start);
	strbuf_free(&joined);
}

/*
 * True when a stdout/stderr pipe holds data. One poll() is the cheap check a
 * Python-level write makes so that text written before it by C code (still
 * in the pipe, not yet seen by the pump) keeps its place in front of it.
 */
static bool pipes_pending(void)
{
	struct pollfd p[2] = {{.fd = OUT_RD, .events = POLLIN}, {.fd = ERR_RD, .events = POLLIN}};
	return poll(p, 2, 0) > 0;
}

/* Read everything currently in the stdout/stderr pipes (caller holds lock). */
static void drain_pipes(void)
{
	char buf[65536];
	for (int fd = 1; fd <= 2; fd++) {
		int rd = fd == 1 ? OUT_RD : ERR_RD;
		for (;;) {
			ssize_t r = read(rd, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			pend_add_bytes(fd, buf, (size_t)r, 0);
		}
	}
}

/* Monotonic milliseconds, for the pump's flush deadline. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The pump: forwards pipe output and flushes pending text within FLUSH_MS. */
static void *pump_main(void *arg)
{
	(void)arg;
	/* asynchronous signals go to Python's threads (faulthandler dumps the receiver) */
	sigset_t block;
	sigemptyset(&block);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD,
		      SIGPIPE, SIGWINCH};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigaddset(&block, sigs[i]);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	long long due = -1; /* when pending text must go out, -1 = nothing pending */
	for (;;) {
		struct pollfd p[3] = {
			{.fd = OUT_RD, .events = POLLIN},
			{.fd = ERR_RD, .events = POLLIN},
			{.fd = wake_rd, .events = POLLIN},
		};
		int timeout = -1;
		if (due >= 0) {
			long long left = due - now_ms();
			timeout = left < 0 ? 0 : (int)left;
		}
		int r = poll(p, 3, timeout);
		if (r < 0 && errno != EINTR)
			return NULL;
		if (p[2].revents & POLLIN) {
			char junk[256];
			ssize_t k = read(wake_rd, junk, sizeof(junk));
			(void)k;
		}
		pthread_mutex_lock(&lock);
		drain_pipes();
		if (pend_fd && due < 0)
			due = now_ms() + FLUSH_MS;
		if (pend_fd && (now_ms() >= due || pend.len >= FLUSH_BYTES))
			pend_flush();
		if (!pend_fd)
			due = -1;
		pthread_mutex_unlock(&lock);
	}
}

/* Keep a fork made by chunk code (os.fork) from inheriting a held lock. */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

/* The forking process goes on as before. */
static void atfork_parent(void)
{
	pthread_mutex_unlock(&lock);
}

static void atfork_child(void)
{
	pthread_mutex_unlock(&lock);
	forked = 1; /* no pump here, and the protocol socket belongs to the worker */
}

/* See worker_channel.h. */
bool channel_in_worker(void)
{
	return !forked;
}

/* Write a whole buffer to fd (a forked child's stdout/stderr). */
static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t r = write(fd, s, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		s += r;
		n -= (size_t)r;
	}
}

/* ---- what the _weft module and the process setup call (see worker_channel.h) ---- */

/* See worker_channel.h. */
void channel_write_stream(int fd, const char *s, size_t n)
{
	if (!channel_in_worker()) {
		write_all(fd, s, n);
		return;
	}
	bool drain = pipes_pending(); /* what C code wrote before comes first */
	pthread_mutex_lock(&lock);
	if (drain)
		drain_pipes();
	pend_add_bytes(fd, s, n, 1);
	if (pend.len >= FLUSH_BYTES)
		pend_flush();
	pthread_mutex_unlock(&lock);
}

/* See worker_channel.h. */
void channel_sync(void)
{
	fflush(NULL);
	if (!channel_in_worker())
		return; /* the pipes and the socket are the worker's */
	pthread_mutex_lock(&lock);
	drain_pipes();
	pend_flush();
	pthread_mutex_unlock(&lock);
}

/*
 * Before a reply: one "truncated" event per stream whose text was cut
 * during the request (see worker.h), then the counts start afresh for the
 * next request. Caller holds lock, after pend_flush.
 */
static void send_truncations(struct rawout *w)
{
	for (int fd = 1; fd <= 2; fd++) {
		if (dropped_bytes[fd]) {
			char line[160];
			snprintf(line, sizeof(line),
				 "{\"ev\":\"truncated\",\"name\":\"%s\",\"limit\":%llu,"
				 "\"dropped\":%llu}\n",
				 fd == 1 ? "stdout" : "stderr", WORKER_STREAM_LIMIT_BYTES,
				 dropped_bytes[fd]);
			raw_puts(w, line);
		}
		sent_bytes[fd] = dropped_bytes[fd] = 0;
	}
}

/* See worker_channel.h. */
int channel_send_line(const char *s, size_t n, bool reply)
{
	if (!channel_in_worker())
		return 0;
	fflush(NULL);
	pthread_mutex_lock(&lock);
	drain_pipes();
	pend_flush();
	struct rawout w;
	w.n = 0;
	w.failed = 0;
	if (reply)
		send_truncations(&w);
	raw_put(&w, s, n);
	raw_put(&w, "\n", 1);
	raw_flush(&w);
	pthread_mutex_unlock(&lock);
	return w.failed ? -1 : 0;
}

/* See worker_channel.h. */
void channel_set_statement(int statement)
{
	if (!channel_in_worker())
		return;
	fflush(NULL);
	pthread_mutex_lock(&lock);
	drain_pipes();
	pend_flush();
	cur_statement = statement;
	pthread_mutex_unlock(&lock);
}

/* See worker_channel.h. */
const char *channel_next_line(size_t *len)
{
	char *nl = memchr(rbuf.buf, '\n', rbuf.len);
	if (!nl)
		return NULL;
	*len = (size_t)(nl - rbuf.buf);
	return rbuf.buf;
}

/* See worker_channel.h. */
void channel_drop_line(size_t len)
{
	memmove(rbuf.buf, rbuf.buf + len + 1, rbuf.len - len - 1);
	strbuf_setlen(&rbuf, rbuf.len - len - 1);
}

/* Keep the descriptors of an SCM_RIGHTS message for channel_take_fds (one we cannot keep is closed). */
static void keep_fds(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nrfds == rfds_alloc) {
				size_t n = rfds_alloc ? rfds_alloc * 2 : 16;
				int *grown = realloc(rfds, n * sizeof(int));
				if (!grown) { /* the request then finds too few and fails */
					close(fd);
					continue;
				}
				rfds = grown;
				rfds_alloc = n;
			}
			rfds[nrfds++] = fd;
		}
	}
}

/* See worker_channel.h. */
ssize_t channel_read_more(void)
{
	ssize_t r;
	strbuf_grow(&rbuf, 65536);
	/* recvmsg, not read: a request may carry descriptors (python_engine.c send_fds) */
	union {
		char buf[CMSG_SPACE(sizeof(int) * 253)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = rbuf.buf + rbuf.len, .iov_len = 65536};
	struct msghdr mh;
	do {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		r = recvmsg(PROTO_FD, &mh, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r > 0) {
		strbuf_setlen(&rbuf, rbuf.len + (size_t)r);
		keep_fds(&mh);
	}
	return r;
}

/* See worker_channel.h. */
size_t channel_take_fds(int **fds)
{
	size_t n = nrfds;
	*fds = n ? rfds : NULL;
	if (n) {
		rfds = NULL;
		nrfds = rfds_alloc = 0;
	}
	return n;
}

/* See worker_channel.h. */
void channel_fatal_flush(void)
{
	if (!channel_in_worker())
		return;
	bool locked = false;
	for (int i = 0; i < 200 && !(locked = pthread_mutex_trylock(&lock) == 0); i++) {
		struct timespec pause = {0, 1000000};
		nanosleep(&pause, NULL);
	}
	if (locked)
		pend_flush();
}

/* See worker_channel.h. */
_Noreturn void channel_fail_start(const char *what, const char *detail)
{
	struct rawout w;
	w.n = 0;
	w.failed = 0;
	raw_puts(&w, "{\"ok\":false,\"error\":\"");
	raw_json_text(&w, what, strlen(what));
	if (detail) {
		raw_puts(&w, ": ");
		raw_json_text(&w, detail, strlen(detail));
	}
	raw_puts(&w, "\"}\n");
	raw_flush(&w);
	_exit(70);
}

/* See worker_channel.h. */
int channel_start(void)
{
	strbuf_init(&pend);
	strbuf_init(&rbuf);
	int wp[2];
	if (pipe2(wp, O_CLOEXEC | O_NONBLOCK) == 0) {
		wake_rd = wp[0];
		wake_wr = wp[1];
	}
	fcntl(OUT_RD, F_SETFL, fcntl(OUT_RD, F_GETFL) | O_NONBLOCK);
	fcntl(ERR_RD, F_SETFL, fcntl(ERR_RD, F_GETFL) | O_NONBLOCK);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	pthread_t pump;
	return pthread_create(&pump, NULL, pump_main, NULL) == 0 ? 0 : -1;
}
