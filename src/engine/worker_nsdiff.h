/*
 * worker_nsdiff: the `_weft.ns_diff` primitive of the worker's module (worker.c).
 *
 *   ns_diff(old, new) -> (changed, deleted, same_order)
 *
 * `old` and `new` are dicts (a namespace and an earlier copy of it):
 * changed: the str keys of `new` that `old` lacks or binds to another
 * object (identity, never ==), in `new`'s order; deleted: the str keys of
 * `old` that `new` lacks, in `old`'s order; same_order: True when `old`'s
 * keys are, by identity, the first keys of `new` in the same order.
 *
 * Why in C: weft tracks every chunk with the cache on, and Python 3.11 has no
 * dict watchers, so finding the names a chunk rebound (through globals(),
 * exec, a function's `global` statement, as well as plain assignments) means
 * comparing every binding; a render of 20,000 chunks, each binding a new
 * name, spent about 2 s of its 23 s of CPU on it (measured on a busy
 * machine), where the Python scans it replaced took about half the CPU of a
 * render of only 5,000. Both dicts are walked in step (PyDict_Next) while
 * their keys are the same objects in the same order, the usual case; from
 * the first difference on, by lookup. Only
 * str keys are looked up (user names are str), and nothing else calls back
 * into Python. weft_nsindex.py has the same function in Python for when this
 * module is not there (the kernel stand-in, tests).
 *
 *   dict_version(d) -> int or None
 *
 * The dict's version tag (PEP 509: CPython gives a dict a new one at every
 * change of it), or None where it cannot be read (the stable-ABI build,
 * CPython 3.12 on). Equal tags mean an unchanged dict: between two chunks
 * where nothing touched the namespace, tracking skips the comparison.
 */
#ifndef WEFT_WORKER_NSDIFF_H
#define WEFT_WORKER_NSDIFF_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* _weft.ns_diff(old, new): METH_VARARGS; see above. */
PyObject *worker_ns_diff(PyObject *self, PyObject *args);

/* _weft.dict_version(d): METH_VARARGS; see above. */
PyObject *worker_dict_version(PyObject *self, PyObject *args);

#endif
