/*
 * worker_json: Python objects <-> JSON (jansson) for the worker's channel,
 * so the runtime never imports json (and re) to talk to the parent.
 * Needs the GIL; every function that can fail returns NULL with a Python
 * exception set, never a value with a part left out.
 */
#ifndef WEFT_WORKER_JSON_H
#define WEFT_WORKER_JSON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <jansson.h>

/* UTF-8 of a str (unpaired surrogates replaced), or the bytes object itself; new reference. */
PyObject *utf8_bytes(PyObject *obj);

/*
 * A Python value as JSON: dicts, lists/tuples, str, int, float, bool, None;
 * anything else as its str(). NaN and infinities become null. Fails past a
 * nesting depth of 200.
 */
json_t *py_to_json(PyObject *obj, int depth);

/* A JSON value as the matching Python object (invalid UTF-8 replaced). */
PyObject *json_to_py(json_t *j);

#endif
