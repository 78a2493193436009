/*
 * weft_module_abi3: the `_weft` module as a stable-ABI (abi3) extension, for
 * a CPython that is not the one weft embeds (foreign_python.h). The Makefile
 * builds it with Py_LIMITED_API=0x03090000 from the same sources as the
 * embedded worker (worker.c, worker_json.c, worker_channel.c), linked with no
 * libpython: the interpreter importing it provides the symbols, so one .so
 * serves CPython 3.9 to 3.13 and later.
 */
#include "engine/worker.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>

/*
 * Import hook: the first import also sets the process up as the embedded
 * worker's start does (worker_prepare_process: stream pump, signal handlers).
 */
PyMODINIT_FUNC PyInit__weft(void)
{
	static int prepared;
	if (!prepared) {
		if (worker_prepare_process() < 0)
			return PyErr_Format(PyExc_ImportError, "_weft: cannot start the output pump thread: %s",
					    strerror(errno));
		prepared = 1;
	}
	return worker_module_create();
}
