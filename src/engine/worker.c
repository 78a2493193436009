/* worker: the forked child that hosts CPython; see worker.h. */
#include "engine/worker.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <xxhash.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "cache/store_fault.h"
#include "engine/embedded.h"
#include "engine/worker_channel.h"
#include "engine/worker_json.h"
#include "engine/worker_nsdiff.h"

#if defined(Py_LIMITED_API) && Py_LIMITED_API + 0 < 0x030b0000
/*
 * The abi3 build (foreign_python.h) targets 3.9, whose limited API leaves
 * out the buffer struct that "y*" fills (it joined the stable ABI in 3.11,
 * unchanged since 3.3): the same struct, field for field, and the release
 * function every CPython from 3.3 on exports.
 */
typedef struct {
	void *buf;
	PyObject *obj;
	Py_ssize_t len;
	Py_ssize_t itemsize;
	int readonly;
	int ndim;
	char *format;
	Py_ssize_t *shape;
	Py_ssize_t *strides;
	Py_ssize_t *suboffsets;
	void *internal;
} Py_buffer;
PyAPI_FUNC(void) PyBuffer_Release(Py_buffer *view);
#endif

/* ---- the _weft builtin module (the runtime's primitives) ---- */

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
	channel_write_stream(fd, PyBytes_AsString(b), (size_t)PyBytes_Size(b));
	Py_DECREF(b);
	Py_RETURN_NONE;
}


/* Is msg (a dict, or its JSON text) an event rather than a request's reply? */
static bool is_event(PyObject *obj)
{
	if (PyDict_Check(obj))
		return PyDict_GetItemString(obj, "ev") != NULL;
	PyObject *b = PyUnicode_Check(obj) || PyBytes_Check(obj) ? utf8_bytes(obj) : NULL;
	const char *s = b ? PyBytes_AsString(b) : NULL;
	bool ev = s && !strncmp(s, "{\"ev\"", 5);
	if (!s)
		PyErr_Clear();
	Py_XDECREF(b);
	return ev;
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
	int failed;
	Py_BEGIN_ALLOW_THREADS
	failed = channel_send_line(PyBytes_AsString(b), (size_t)PyBytes_Size(b), reply);
	Py_END_ALLOW_THREADS
	Py_DECREF(b);
	if (failed)
		return PyErr_SetFromErrno(PyExc_OSError);
	Py_RETURN_NONE;
}

/* _weft.sync(): send all output written so far (C stdio, pipes, pending text). */
static PyObject *py_sync(PyObject *self, PyObject *args)
{
	Py_BEGIN_ALLOW_THREADS
	channel_sync();
	Py_END_ALLOW_THREADS
	Py_RETURN_NONE;
}

/* _weft.set_statement(i): tag following stream text with term-mode statement i (-1: none). */
static PyObject *py_set_statement(PyObject *self, PyObject *args)
{
	int st;
	if (!PyArg_ParseTuple(args, "i", &st))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	channel_set_statement(st);
	Py_END_ALLOW_THREADS
	Py_RETURN_NONE;
}

/*
 * Give a request the descriptors that came with it, as its "fds" list (the
 * parent's numbers, sent as text, never reach here: a request without
 * descriptors loses the field). Descriptors no request can take are closed.
 */
static PyObject *attach_fds(PyObject *req)
{
	int *fds;
	size_t n = channel_take_fds(&fds);
	PyObject *list = NULL;
	if (req && PyDict_Check(req) && n) {
		list = PyList_New((Py_ssize_t)n);
		for (size_t i = 0; list && i < n; i++) {
			PyObject *v = PyLong_FromLong(fds[i]);
			/* PyList_SetItem, not the macro: this file is built for the stable ABI too */
			if (!v || PyList_SetItem(list, (Py_ssize_t)i, v) < 0) {
				Py_CLEAR(list);
				break;
			}
		}
		if (list && PyDict_SetItemString(req, "fds", list) == 0) {
			Py_DECREF(list);
			free(fds);
			return req;
		}
		Py_XDECREF(list);
		Py_CLEAR(req); /* an error is set: the request fails rather than lose its files */
	} else if (req && PyDict_Check(req) && PyDict_GetItemString(req, "fds") &&
		   PyDict_DelItemString(req, "fds") < 0) {
		Py_CLEAR(req);
	}
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return req;
}

/* _weft.recv(): the next request (decoded JSON), or None at end of input. */
static PyObject *py_recv(PyObject *self, PyObject *args)
{
	/*
	 * A process forked by chunk code that ran off the end of the chunk
	 * lands back in the serve loop: it must leave, not take the worker's
	 * requests. EOF makes serve() return and the process _exit.
	 */
	if (!channel_in_worker())
		Py_RETURN_NONE;
	for (;;) {
		size_t n;
		const char *line = channel_next_line(&n);
		if (line) {
			json_error_t jerr;
			/* NUL bytes are data (a chunk's code or a name may hold one) */
			json_t *j = json_loadb(line, n, JSON_ALLOW_NUL, &jerr);
			channel_drop_line(n);
			if (!j)
				return PyErr_Format(PyExc_ValueError, "bad request: %s", jerr.text);
			PyObject *req = json_to_py(j);
			json_decref(j);
			return attach_fds(req);
		}
		ssize_t r;
		Py_BEGIN_ALLOW_THREADS
		r = channel_read_more();
		Py_END_ALLOW_THREADS
		if (r < 0)
			return PyErr_SetFromErrno(PyExc_OSError);
		if (r == 0)
			Py_RETURN_NONE;
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
 * Through the marshal module (builtin, already imported by importlib), not
 * PyMarshal_*: the abi3 build (foreign_python.h) may use the limited API only.
 */
static PyObject *embedded_code(const struct embedded_file *f)
{
	if (!f->code || embedded_code_magic != PyImport_GetMagicNumber())
		return NULL;
	PyObject *marshal = PyImport_ImportModule("marshal");
	PyObject *data = marshal ? PyBytes_FromStringAndSize((const char *)f->code, (Py_ssize_t)f->code_len)
				 : NULL;
	PyObject *code = data ? PyObject_CallMethod(marshal, "loads", "O", data) : NULL;
	Py_XDECREF(data);
	Py_XDECREF(marshal);
	if (!code || !PyObject_HasAttrString(code, "co_code")) {
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
	return PyBool_FromLong(channel_in_worker());
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
	{"ns_diff", worker_ns_diff, METH_VARARGS,
	 "ns_diff(old, new): (changed, deleted, same_order) between two namespace dicts"},
	{"dict_version", worker_dict_version, METH_VARARGS, "dict_version(d): its PEP 509 version tag, or None"},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef weft_module = {
	PyModuleDef_HEAD_INIT, "_weft", "weft worker channel primitives", -1, weft_methods,
	NULL, NULL, NULL, NULL,
};

/* See worker.h: the embedded worker's inittab hook, and the abi3 module's PyInit__weft. */
PyObject *worker_module_create(void)
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
	channel_fatal_flush();
	signal(sig, SIG_DFL);
	raise(sig);
}


/* See worker.h: what the embedded worker and the abi3 module's import both set up. */
int worker_prepare_process(void)
{
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
	/* the channel's fds stay out of what chunks exec (the abi3 worker got them across an exec) */
	for (int fd = PROTO_FD; fd < FIRST_FREE_FD; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return channel_start();
}

#ifndef Py_LIMITED_API /* the embedded worker only: the abi3 module runs in a python started as itself */

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
		channel_fail_start("python failed to start", st.err_msg ? st.err_msg : "unknown error");
}

/* Load weft_runtime.py from the embedded files into sys.modules and call serve(). */
static void run_runtime(void)
{
	const struct embedded_file *f = embedded_find("weft_runtime.py");
	if (!f)
		channel_fail_start("weft_runtime.py is not embedded in this binary", NULL);
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
		channel_sync();
		channel_fail_start("the weft runtime failed", "see the worker's stderr above");
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

	if (ws->workdir && chdir(ws->workdir) < 0)
		channel_fail_start("cannot enter the document's folder", strerror(errno));
	setenv("MPLBACKEND", "Agg", 1); /* before anything can import matplotlib */

	if (worker_prepare_process() < 0)
		channel_fail_start("cannot start the output pump thread", strerror(errno));

	if (PyImport_AppendInittab("_weft", worker_module_create) < 0)
		channel_fail_start("cannot register the _weft module", NULL);
	start_python(ws);
	run_runtime();
	channel_sync();
	_exit(0); /* no finalisation: the parent is done with us */
}

#endif /* !Py_LIMITED_API */
