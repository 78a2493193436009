/* worker_nsdiff: `_weft.ns_diff`, the namespace comparison of cache tracking; see worker_nsdiff.h. */
#include "engine/worker_nsdiff.h"

/* Append `key` to `list` when it is a str (user names are): 0, or -1 with an exception. */
static int add_str(PyObject *list, PyObject *key)
{
	return PyUnicode_CheckExact(key) ? PyList_Append(list, key) : 0;
}

/*
 * After the keys stopped matching in step: does `old` bind `key` to `value`?
 * 1 yes, 0 no, -1 with an exception. Key and value are held while the
 * lookup runs (a lookup may compare keys with ==).
 */
static int bound_to(PyObject *old, PyObject *key, PyObject *value)
{
	Py_INCREF(key);
	Py_INCREF(value);
	PyObject *v = PyDict_GetItemWithError(old, key);
	int rc = v == value ? 1 : PyErr_Occurred() ? -1 : 0;
	Py_DECREF(value);
	Py_DECREF(key);
	return rc;
}

/* The keys of `old` that `new` lacks (str keys only) appended to `deleted`: 0, or -1. */
static int add_deleted(PyObject *old, PyObject *new, PyObject *deleted)
{
	Py_ssize_t pos = 0;
	PyObject *k, *v;
	while (PyDict_Next(old, &pos, &k, &v)) {
		if (!PyUnicode_CheckExact(k))
			continue;
		Py_INCREF(k);
		int has = PyDict_Contains(new, k);
		int rc = has == 0 ? PyList_Append(deleted, k) : has;
		Py_DECREF(k);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* See worker_nsdiff.h. */
PyObject *worker_ns_diff(PyObject *self, PyObject *args)
{
	PyObject *old, *new;
	if (!PyArg_ParseTuple(args, "O!O!", &PyDict_Type, &old, &PyDict_Type, &new))
		return NULL;
	PyObject *changed = PyList_New(0), *deleted = PyList_New(0);
	if (!changed || !deleted)
		goto fail;
	Py_ssize_t n_old = PyDict_Size(old), matched = 0, po = 0, pn = 0;
	PyObject *ko, *vo, *kn, *vn;
	int in_step = 1;
	while (PyDict_Next(new, &pn, &kn, &vn)) {
		if (in_step) {
			if (matched == n_old) {
				/* every old key matched: the rest of `new` was inserted after them */
				if (add_str(changed, kn) < 0)
					goto fail;
				continue;
			}
			if (PyDict_Next(old, &po, &ko, &vo) && ko == kn) {
				matched++;
				if (vo != vn && add_str(changed, kn) < 0)
					goto fail;
				continue;
			}
			in_step = 0;
		}
		if (!PyUnicode_CheckExact(kn))
			continue;
		int same = bound_to(old, kn, vn);
		if (same < 0 || (!same && PyList_Append(changed, kn) < 0))
			goto fail;
	}
	int same_order = in_step && matched == n_old;
	if (!same_order && add_deleted(old, new, deleted) < 0)
		goto fail;
	return Py_BuildValue("(NNO)", changed, deleted, same_order ? Py_True : Py_False);
fail:
	Py_XDECREF(changed);
	Py_XDECREF(deleted);
	return NULL;
}

/* See worker_nsdiff.h. */
PyObject *worker_dict_version(PyObject *self, PyObject *args)
{
	PyObject *d;
	if (!PyArg_ParseTuple(args, "O!", &PyDict_Type, &d))
		return NULL;
#if !defined(Py_LIMITED_API) && PY_VERSION_HEX < 0x030C0000
	return PyLong_FromUnsignedLongLong(((PyDictObject *)d)->ma_version_tag);
#else
	/* the stable ABI has no dict internals, and 3.12 deprecates the tag: callers diff instead */
	Py_RETURN_NONE;
#endif
}
