/* worker: the forked child that hosts CPython; see worker.h. */
#include "engine/worker.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>
#include <xxhash.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cache/store_fault.h"
#include "engine/embedded.h"
#include "util/strbuf.h"

/* Fixed fd numbers in the child, so nothing depends on what the parent had open. */
enum { PROTO_FD = 3, OUT_RD = 4, ERR_RD = 5, FIRST_FREE_FD = 6 };

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

/* True in the worker itself, false in a process a chunk forked from it. */
static int in_worker(void)
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

/* ---- JSON <-> Python, with jansson: the runtime never imports json (and re) ---- */

#define MAX_DEPTH 200

/* UTF-8 of a str (unpaired surrogates replaced); returns a new bytes object. */
static PyObject *utf8_bytes(PyObject *obj);

/* A str as a JSON string (invalid code points replaced). */
static json_t *str_to_json(PyObject *obj)
{
	PyObject *b = utf8_bytes(obj);
	if (!b)
		return NULL;
	json_t *j = json_stringn(PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b));
	Py_DECREF(b);
	if (!j)
		PyErr_SetString(PyExc_ValueError, "string is not valid UTF-8");
	return j;
}

/* Anything else: its str(), as json.dumps(default=str) would. */
static json_t *fallback_to_json(PyObject *obj)
{
	PyObject *s = PyObject_Str(obj);
	if (!s)
		return NULL;
	json_t *j = str_to_json(s);
	Py_DECREF(s);
	return j;
}

/* A Python value as JSON: dicts, lists/tuples, str, int, float, bool, None; else str(). */
static json_t *py_to_json(PyObject *obj, int depth)
{
	if (depth > MAX_DEPTH) {
		PyErr_SetString(PyExc_ValueError, "object too deeply nested for JSON");
		return NULL;
	}
	if (obj == Py_None)
		return json_null();
	if (PyBool_Check(obj))
		return json_boolean(obj == Py_True);
	if (PyLong_Check(obj)) {
		int overflow = 0;
		long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
		if (overflow)
			return fallback_to_json(obj);
		if (v == -1 && PyErr_Occurred())
			return NULL;
		return json_integer(v);
	}
	if (PyFloat_Check(obj)) {
		double d = PyFloat_AS_DOUBLE(obj);
		json_t *j = json_real(d);
		return j ? j : json_null(); /* NaN and infinities have no JSON form */
	}
	if (PyUnicode_Check(obj))
		return str_to_json(obj);
	if (PyDict_Check(obj)) {
		json_t *o = json_object();
		PyObject *k, *v;
		Py_ssize_t pos = 0;
		while (PyDict_Next(obj, &pos, &k, &v)) {
			PyObject *ks = PyUnicode_Check(k) ? (Py_INCREF(k), k) : PyObject_Str(k);
			PyObject *kb = ks ? utf8_bytes(ks) : NULL;
			Py_XDECREF(ks);
			json_t *jv = kb ? py_to_json(v, depth + 1) : NULL;
			if (!jv) {
				Py_XDECREF(kb);
				json_decref(o);
				return NULL;
			}
			/* by length: a key may hold a NUL byte; a failed set is an error, never a dropped key */
			int set = json_object_setn_new(o, PyBytes_AS_STRING(kb), (size_t)PyBytes_GET_SIZE(kb), jv);
			Py_DECREF(kb);
			if (set < 0) {
				json_decref(o);
				PyErr_SetString(PyExc_ValueError, "cannot encode a dict key as JSON");
				return NULL;
			}
		}
		return o;
	}
	if (PyList_Check(obj) || PyTuple_Check(obj)) {
		json_t *a = json_array();
		Py_ssize_t n = PySequence_Fast_GET_SIZE(obj);
		for (Py_ssize_t i = 0; i < n; i++) {
			json_t *jv = py_to_json(PySequence_Fast_GET_ITEM(obj, i), depth + 1);
			if (!jv) {
				json_decref(a);
				return NULL;
			}
			if (json_array_append_new(a, jv) < 0) {
				json_decref(a);
				PyErr_NoMemory();
				return NULL;
			}
		}
		return a;
	}
	return fallback_to_json(obj);
}

/* A JSON value as the matching Python object. */
static PyObject *json_to_py(json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		PyObject *d = PyDict_New();
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			PyObject *pv = json_to_py(v);
			if (!pv || PyDict_SetItemString(d, k, pv) < 0) {
				Py_XDECREF(pv);
				Py_DECREF(d);
				return NULL;
			}
			Py_DECREF(pv);
		}
		return d;
	}
	case JSON_ARRAY: {
		PyObject *l = PyList_New((Py_ssize_t)json_array_size(j));
		for (size_t i = 0; l && i < json_array_size(j); i++) {
			PyObject *pv = json_to_py(json_array_get(j, i));
			if (!pv) {
				Py_DECREF(l);
				return NULL;
			}
			PyList_SET_ITEM(l, (Py_ssize_t)i, pv);
		}
		return l;
	}
	case JSON_STRING:
		return PyUnicode_DecodeUTF8(json_string_value(j), (Py_ssize_t)json_string_length(j),
					    "replace");
	case JSON_INTEGER:
		return PyLong_FromLongLong(json_integer_value(j));
	case JSON_REAL:
		return PyFloat_FromDouble(json_real_value(j));
	case JSON_TRUE:
		Py_RETURN_TRUE;
	case JSON_FALSE:
		Py_RETURN_FALSE;
	default:
		Py_RETURN_NONE;
	}
}

/* _weft.dumps(obj): compact JSON text (what send() would write). */
static PyObject *py_dumps(PyObject *self, PyObject *args)
{
	PyObject *obj;
	if (!PyArg_ParseTuple(args, "O", &obj))
		return NULL;
	json_t *j = py_to_json(obj, 0);
	if (!j)
		return NULL;
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (!text)
		return PyErr_NoMemory();
	PyObject *r = PyUnicode_FromString(text);
	free(text);
	return r;
}

/* _weft.loads(text): parse JSON text. */
static PyObject *py_loads(PyObject *self, PyObject *args)
{
	const char *s;
	Py_ssize_t n;
	if (!PyArg_ParseTuple(args, "s#", &s, &n))
		return NULL;
	json_error_t jerr;
	json_t *j = json_loadb(s, (size_t)n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!j)
		return PyErr_Format(PyExc_ValueError, "bad JSON: %s (column %d)", jerr.text, jerr.column);
	PyObject *r = json_to_py(j);
	json_decref(j);
	return r;
}

/* ---- the _weft builtin module ---- */

/* UTF-8 of a str (unpaired surrogates replaced); returns a new bytes object. */
static PyObject *utf8_bytes(PyObject *obj)
{
	if (PyBytes_Check(obj)) {
		Py_INCREF(obj);
		return obj;
	}
	if (!PyUnicode_Check(obj)) {
		PyErr_SetString(PyExc_TypeError, "expected str");
		return NULL;
	}
	return PyUnicode_AsEncodedString(obj, "utf-8", "replace");
}

/* _weft.write(fd, text): stream text from Python's sys.stdout (1) / sys.stderr (2). */
static PyObject *py_write(PyObject *self, PyObject *args)
{
	int fd;
	PyObject *obj;
	if (!PyArg_ParseTuple(args, "iO", &fd, &obj))
		return NULL;
	if (fd != 1 && fd != 2) {
		PyErr_SetString(PyExc_ValueError, "fd must be 1 or 2");
		return NULL;
	}
	PyObject *b = utf8_bytes(obj);
	if (!b)
		return NULL;
	const char *s = PyBytes_AS_STRING(b);
	size_t n = (size_t)PyBytes_GET_SIZE(b);
	if (!in_worker()) {
		write_all(fd, s, n);
	} else {
		bool drain = pipes_pending(); /* what C code wrote before comes first */
		pthread_mutex_lock(&lock);
		if (drain)
			drain_pipes();
		pend_add_bytes(fd, s, n, 1);
		if (pend.len >= FLUSH_BYTES)
			pend_flush();
		pthread_mutex_unlock(&lock);
	}
	Py_DECREF(b);
	Py_RETURN_NONE;
}

/* Flush C stdio and everything pending (call without the lock: stdio may block on the pipes). */
static void sync_all(void)
{
	fflush(NULL);
	if (!in_worker())
		return; /* the pipes and the socket are the worker's */
	pthread_mutex_lock(&lock);
	drain_pipes();
	pend_flush();
	pthread_mutex_unlock(&lock);
}

/* Is msg (a dict, or its JSON text) an event rather than a request's reply? */
static bool is_event(PyObject *obj)
{
	if (PyDict_Check(obj))
		return PyDict_GetItemString(obj, "ev") != NULL;
	const char *s = NULL;
	if (PyUnicode_Check(obj))
		s = PyUnicode_AsUTF8(obj);
	else if (PyBytes_Check(obj))
		s = PyBytes_AS_STRING(obj);
	if (!s) {
		PyErr_Clear();
		return false;
	}
	return !strncmp(s, "{\"ev\"", 5);
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

/* _weft.send(msg): flush stream text, then send one protocol message (a dict, or JSON text). */
static PyObject *py_send(PyObject *self, PyObject *args)
{
	PyObject *obj;
	if (!PyArg_ParseTuple(args, "O", &obj))
		return NULL;
	bool reply = !is_event(obj);
	PyObject *b;
	if (PyUnicode_Check(obj) || PyBytes_Check(obj)) {
		b = utf8_bytes(obj);
	} else {
		json_t *j = py_to_json(obj, 0);
		char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (!text && !PyErr_Occurred())
			PyErr_SetString(PyExc_ValueError, "cannot encode the message as JSON");
		b = text ? PyBytes_FromString(text) : NULL;
		free(text);
	}
	if (!b)
		return NULL;
	if (in_worker()) {
		const char *s = PyBytes_AS_STRING(b);
		size_t n = (size_t)PyBytes_GET_SIZE(b);
		int failed;
		Py_BEGIN_ALLOW_THREADS
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
		failed = w.failed;
		pthread_mutex_unlock(&lock);
		Py_END_ALLOW_THREADS
		if (failed) {
			Py_DECREF(b);
			return PyErr_SetFromErrno(PyExc_OSError);
		}
	}
	Py_DECREF(b);
	Py_RETURN_NONE;
}

/* _weft.sync(): send all output written so far (C stdio, pipes, pending text). */
static PyObject *py_sync(PyObject *self, PyObject *args)
{
	if (in_worker()) {
		Py_BEGIN_ALLOW_THREADS
		sync_all();
		Py_END_ALLOW_THREADS
	}
	Py_RETURN_NONE;
}

/* _weft.set_statement(i): tag following stream text with term-mode statement i (-1: none). */
static PyObject *py_set_statement(PyObject *self, PyObject *args)
{
	int st;
	if (!PyArg_ParseTuple(args, "i", &st))
		return NULL;
	if (in_worker()) {
		Py_BEGIN_ALLOW_THREADS
		fflush(NULL);
		pthread_mutex_lock(&lock);
		drain_pipes();
		pend_flush();
		cur_statement = st;
		pthread_mutex_unlock(&lock);
		Py_END_ALLOW_THREADS
	}
	Py_RETURN_NONE;
}

/* _weft.recv(): the next request (decoded JSON), or None at end of input. */
static PyObject *py_recv(PyObject *self, PyObject *args)
{
	/*
	 * A process forked by chunk code that ran off the end of the chunk
	 * lands back in the serve loop: it must leave, not take the worker's
	 * requests. EOF makes serve() return and the process _exit.
	 */
	if (!in_worker())
		Py_RETURN_NONE;
	for (;;) {
		char *nl = memchr(rbuf.buf, '\n', rbuf.len);
		if (nl) {
			size_t n = (size_t)(nl - rbuf.buf);
			json_error_t jerr;
			/* NUL bytes are data (a chunk's code or a name may hold one) */
			json_t *j = json_loadb(rbuf.buf, n, JSON_ALLOW_NUL, &jerr);
			memmove(rbuf.buf, nl + 1, rbuf.len - n - 1);
			strbuf_setlen(&rbuf, rbuf.len - n - 1);
			if (!j)
				return PyErr_Format(PyExc_ValueError, "bad request: %s", jerr.text);
			PyObject *req = json_to_py(j);
			json_decref(j);
			return req;
		}
		ssize_t r;
		strbuf_grow(&rbuf, 65536);
		Py_BEGIN_ALLOW_THREADS
		do
			r = read(PROTO_FD, rbuf.buf + rbuf.len, 65536);
		while (r < 0 && errno == EINTR);
		Py_END_ALLOW_THREADS
		if (r < 0)
			return PyErr_SetFromErrno(PyExc_OSError);
		if (r == 0)
			Py_RETURN_NONE;
		strbuf_setlen(&rbuf, rbuf.len + (size_t)r);
	}
}

/* _weft.source(name): the embedded file's text, or None. */
static PyObject *py_source(PyObject *self, PyObject *args)
{
	const char *name;
	if (!PyArg_ParseTuple(args, "s", &name))
		return NULL;
	const struct embedded_file *f = embedded_find(name);
	if (!f)
		Py_RETURN_NONE;
	return PyUnicode_DecodeUTF8(f->data, (Py_ssize_t)f->len, "strict");
}

/*
 * The code object of embedded file `f`, unmarshalled from the build's
 * bytecode; NULL with no exception set when there is none or it was made by a
 * Python with another bytecode format (the caller compiles the source then).
 */
static PyObject *embedded_code(const struct embedded_file *f)
{
	if (!f->code || embedded_code_magic != PyImport_GetMagicNumber())
		return NULL;
	PyObject *code = PyMarshal_ReadObjectFromString((const char *)f->code, (Py_ssize_t)f->code_len);
	if (!code || !PyCode_Check(code)) {
		Py_XDECREF(code);
		PyErr_Clear();
		return NULL;
	}
	return code;
}

/* _weft.code(name): the embedded file's precompiled code object, or None. */
static PyObject *py_code(PyObject *self, PyObject *args)
{
	const char *name;
	if (!PyArg_ParseTuple(args, "s", &name))
		return NULL;
	const struct embedded_file *f = embedded_find(name);
	PyObject *code = f ? embedded_code(f) : NULL;
	if (!code)
		Py_RETURN_NONE;
	return code;
}

/* _weft.in_worker(): False in a process forked from the worker by chunk code. */
static PyObject *py_in_worker(PyObject *self, PyObject *args)
{
	return PyBool_FromLong(in_worker());
}

/* _weft.names(): base names of all embedded files. */
static PyObject *py_names(PyObject *self, PyObject *args)
{
	PyObject *list = PyList_New(0);
	for (unsigned i = 0; list && i < embedded_file_count; i++) {
		PyObject *s = PyUnicode_FromString(embedded_files[i].name);
		if (!s || PyList_Append(list, s) < 0) {
			Py_XDECREF(s);
			Py_DECREF(list);
			return NULL;
		}
		Py_DECREF(s);
	}
	return list;
}

/* An XXH3-128 digest as its 16 canonical (big-endian) bytes, the store's hex order. */
static PyObject *digest_bytes(XXH128_hash_t h)
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, h);
	return PyBytes_FromStringAndSize((const char *)c.digest, sizeof(c.digest));
}

/*
 * xxh128(buffer) -> 16 bytes: XXH3-128 of any contiguous buffer, with the GIL
 * released. The cache fingerprints a chunk's inputs before and after it runs
 * to notice in-place mutation; for large arrays a cryptographic hash was the
 * whole cost of the chunk, and this runs at memory speed.
 */
static PyObject *py_xxh128(PyObject *self, PyObject *args)
{
	Py_buffer view;
	if (!PyArg_ParseTuple(args, "y*", &view))
		return NULL;
	XXH128_hash_t h;
	Py_BEGIN_ALLOW_THREADS
	h = XXH3_128bits(view.buf, (size_t)view.len);
	Py_END_ALLOW_THREADS
	PyBuffer_Release(&view);
	return digest_bytes(h);
}

/*
 * write_file(fd, buffer, writeback) -> 16 bytes: write the whole buffer and
 * return its XXH3-128, computed piece by piece as the pieces go out (the
 * store then need not read a saved 1 GiB array back to name its blob).
 * With writeback, each piece's writeback to disk starts at once
 * (sync_file_range), so the store's fdatasync at the end finds most of the
 * file on disk already instead of starting a 1 GiB write then. GIL released.
 */
static PyObject *py_write_file(PyObject *self, PyObject *args)
{
	int fd, writeback;
	Py_buffer view;
	if (!PyArg_ParseTuple(args, "iy*p", &fd, &view, &writeback))
		return NULL;
	const size_t piece = (size_t)32 << 20;
	XXH3_state_t *st = XXH3_createState();
	if (!st) {
		PyBuffer_Release(&view);
		return PyErr_NoMemory();
	}
	XXH3_128bits_reset(st);
	const char *p = view.buf;
	size_t left = (size_t)view.len;
	off_t off = lseek(fd, 0, SEEK_CUR);
	if (off < 0)
		writeback = 0; /* not a regular file: nothing to write back */
	int saved = 0;
	Py_BEGIN_ALLOW_THREADS
	while (left && !saved) {
		size_t n = left < piece ? left : piece;
		XXH3_128bits_update(st, p, n);
		for (size_t done = 0; done < n;) {
			/* the store's test hook (store_fault.h) covers the worker's blob writes too */
			ssize_t w = store_fault(STORE_FAULT_WRITE) ? -1 : write(fd, p + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				saved = w < 0 ? errno : EIO;
				break;
			}
			done += (size_t)w;
		}
		if (!saved && writeback)
			sync_file_range(fd, off, (off_t)n, SYNC_FILE_RANGE_WRITE); /* a hint: errors come at fsync */
		off += (off_t)n;
		p += n;
		left -= n;
	}
	Py_END_ALLOW_THREADS
	PyBuffer_Release(&view);
	XXH128_hash_t h = XXH3_128bits_digest(st);
	XXH3_freeState(st);
	if (saved) {
		errno = saved;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	return digest_bytes(h);
}

static PyMethodDef weft_methods[] = {
	{"write", py_write, METH_VARARGS, "write(fd, text): stream text for stdout (1) or stderr (2)"},
	{"send", py_send, METH_VARARGS, "send(msg): send one protocol message after pending output"},
	{"sync", py_sync, METH_NOARGS, "sync(): send all output written so far"},
	{"set_statement", py_set_statement, METH_VARARGS, "set_statement(i): tag stream text (term mode)"},
	{"recv", py_recv, METH_NOARGS, "recv(): next request (decoded), or None at EOF"},
	{"dumps", py_dumps, METH_VARARGS, "dumps(obj): compact JSON text"},
	{"loads", py_loads, METH_VARARGS, "loads(text): parse JSON"},
	{"source", py_source, METH_VARARGS, "source(name): embedded file text or None"},
	{"code", py_code, METH_VARARGS, "code(name): embedded file's code object or None"},
	{"names", py_names, METH_NOARGS, "names(): embedded file names"},
	{"in_worker", py_in_worker, METH_NOARGS, "in_worker(): False in a fork made by chunk code"},
	{"xxh128", py_xxh128, METH_VARARGS, "xxh128(buffer): XXH3-128 digest (16 bytes)"},
	{"write_file", py_write_file, METH_VARARGS,
	 "write_file(fd, buffer, writeback): write it all; its XXH3-128 digest (16 bytes)"},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef weft_module = {
	PyModuleDef_HEAD_INIT, "_weft", "weft worker channel primitives", -1, weft_methods,
	NULL, NULL, NULL, NULL,
};

/* PyImport_AppendInittab hook creating the _weft module. */
static PyObject *weft_module_init(void)
{
	return PyModule_Create(&weft_module);
}

/* ---- process setup ---- */

/*
 * Last words, after faulthandler's dump: send the buffered text, then die of
 * the same signal. The pump thread may have read part of the dump into its
 * buffer: taking its lock (held only briefly; kept, so the pump reads no
 * more) and sending that buffer leaves the rest of the dump in the pipe,
 * where the parent reads it after the death, in order. This runs on
 * faulthandler's small alternate signal stack: no big locals here.
 */
static void fatal_signal(int sig)
{
	if (in_worker()) {
		bool locked = false;
		for (int i = 0; i < 200 && !(locked = pthread_mutex_trylock(&lock) == 0); i++) {
			struct timespec pause = {0, 1000000};
			nanosleep(&pause, NULL);
		}
		if (locked)
			pend_flush();
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Report a startup failure to the parent as the hello reply, then exit. */
static _Noreturn void fail_start(const char *what, const char *detail)
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

/* Move `fd` to `target` (close-on-exec unless target is 0..2). */
static void move_fd(int fd, int target)
{
	if (fd == target) {
		if (target > 2)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		return;
	}
	if (dup2(fd, target) < 0)
		_exit(71);
	if (target > 2)
		fcntl(target, F_SETFD, FD_CLOEXEC);
}

/* Put the channels on fixed fds and close everything else inherited from weft. */
static void setup_fds(const struct worker_setup *ws)
{
	/* first out of the way of 0..5, so the dup2s below cannot clobber a source */
	int proto = fcntl(ws->proto_fd, F_DUPFD_CLOEXEC, 100);
	int outr = fcntl(ws->out_rd, F_DUPFD_CLOEXEC, 100);
	int errr = fcntl(ws->err_rd, F_DUPFD_CLOEXEC, 100);
	int outw = fcntl(ws->out_wr, F_DUPFD_CLOEXEC, 100);
	int errw = fcntl(ws->err_wr, F_DUPFD_CLOEXEC, 100);
	if (proto < 0 || outr < 0 || errr < 0 || outw < 0 || errw < 0)
		_exit(71);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		move_fd(devnull, 0);
	move_fd(outw, 1);
	move_fd(errw, 2);
	move_fd(proto, PROTO_FD);
	move_fd(outr, OUT_RD);
	move_fd(errr, ERR_RD);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, FIRST_FREE_FD, ~0U, 0) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = FIRST_FREE_FD; fd < (max > 0 ? max : 1024); fd++)
		close((int)fd);
}

/* Start CPython the way a `python` run from the venv/executable would be. */
static void start_python(const struct worker_setup *ws)
{
	PyConfig config;
	PyConfig_InitPythonConfig(&config);
	config.parse_argv = 0;
	config.install_signal_handlers = 1;
	config.faulthandler = 1;
	PyStatus st;
	const char *argv0 = ws->doc_path ? ws->doc_path : "";
	st = PyConfig_SetBytesArgv(&config, 1, (char *const[]){(char *)argv0});
	if (!PyStatus_Exception(st) && ws->python)
		st = PyConfig_SetBytesString(&config, &config.program_name, ws->python);
	if (!PyStatus_Exception(st))
		st = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(st))
		fail_start("python failed to start", st.err_msg ? st.err_msg : "unknown error");
}

/* Load weft_runtime.py from the embedded files into sys.modules and call serve(). */
static void run_runtime(void)
{
	const struct embedded_file *f = embedded_find("weft_runtime.py");
	if (!f)
		fail_start("weft_runtime.py is not embedded in this binary", NULL);
	PyObject *code = embedded_code(f);
	if (!code)
		code = Py_CompileString(f->data, "<weft>/weft_runtime.py", Py_file_input);
	PyObject *mod = code ? PyImport_ExecCodeModuleEx("weft_runtime", code,
							 "<weft>/weft_runtime.py")
			     : NULL;
	Py_XDECREF(code);
	PyObject *res = mod ? PyObject_CallMethod(mod, "serve", NULL) : NULL;
	if (!res) {
		PyErr_Print();
		sync_all();
		fail_start("the weft runtime failed", "see the worker's stderr above");
	}
	Py_DECREF(res);
	Py_XDECREF(mod);
}

/* See worker.h. */
_Noreturn void worker_main(const struct worker_setup *ws)
{
	pid_t parent = getppid();
	setpgid(0, 0); /* own process group: a timeout kills the chunk's subprocesses too */
	/* if weft dies (Ctrl-C, crash), a chunk still computing must not live on */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	setup_fds(ws);
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

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fatal_signal;
	sa.sa_flags = SA_NODEFER | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	for (size_t i = 0; i < sizeof(fatal) / sizeof(*fatal); i++)
		sigaction(fatal[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* as python does: EPIPE becomes BrokenPipeError */
	/* a crashing chunk must not leave a core file in the document's folder */
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore);

	if (ws->workdir && chdir(ws->workdir) < 0)
		fail_start("cannot enter the document's folder", strerror(errno));
	setenv("MPLBACKEND", "Agg", 1); /* before anything can import matplotlib */

	pthread_t pump;
	if (pthread_create(&pump, NULL, pump_main, NULL) != 0)
		fail_start("cannot start the output pump thread", strerror(errno));

	if (PyImport_AppendInittab("_weft", weft_module_init) < 0)
		fail_start("cannot register the _weft module", NULL);
	start_python(ws);
	run_runtime();
	sync_all();
	_exit(0); /* no finalisation: the parent is done with us */
}
