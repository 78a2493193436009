/* worker_json: Python objects <-> JSON for the worker; see worker_json.h. */
#include "engine/worker_json.h"

/* See worker_json.h. */
PyObject *utf8_bytes(PyObject *obj)
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

#define MAX_DEPTH 200

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

/* See worker_json.h. */
json_t *py_to_json(PyObject *obj, int depth)
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

/* See worker_json.h. */
PyObject *json_to_py(json_t *j)
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
