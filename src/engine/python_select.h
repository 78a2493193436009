/*
 * python_select: which Python interpreter runs a document's chunks, and why.
 *
 * Order (the first that is set wins):
 *   1. --python PATH|NAME     a NAME (python3, python3.12) is looked up on PATH
 *   2. `python:` under `weft:` in the document's front matter (same forms)
 *   3. $VIRTUAL_ENV/bin/python   (an activated virtualenv)
 *   4. $CONDA_PREFIX/bin/python  (an activated conda environment)
 *   5. the built-in one: the installation of the libpython weft was built
 *      against (/usr/bin/python3.11), found from libpython's folder, never
 *      from PATH, so the default does not depend on what PATH holds.
 *
 * A wrapper script (a pyenv shim: `#!` first) is resolved to the interpreter
 * it runs by asking it (`-I -S -c 'print(sys.executable)'`).
 *
 * The choice is "native" when it is the built-in installation or a
 * virtualenv made from it (its executable resolves to the built-in one, or
 * its pyvenv.cfg's `home` holds it): the embedded worker runs it, as before
 * (weft-worker.so, worker_loader.h), with no extra process. Anything else is
 * "foreign" and runs as itself (foreign_python.h): its version is asked once
 * (the same probe; CPython 3.9 or newer, else an error), so the cache
 * identity, known before any chunk runs, names its exact version.
 *
 * Costs: the native case reads a few paths (realpath, pyvenv.cfg); a foreign
 * interpreter costs one short run of it (10-30 ms) per weft process,
 * remembered for the rest of the process.
 */
#ifndef WEFT_PYTHON_SELECT_H
#define WEFT_PYTHON_SELECT_H

#include <stdbool.h>

#include "util/error.h"
#include "util/strbuf.h"

struct python_choice {
	char *path;      /* the interpreter to run: absolute; a venv's own path (not resolved) */
	char *source;    /* why: "--python python3.12", "front matter python: ...", "VIRTUAL_ENV", ... */
	char *version;   /* "3.12.1" */
	bool native;     /* the built-in installation or a venv of it: the embedded worker */
	bool builtin;    /* nothing selected one: the built-in interpreter itself */
	char *path_note; /* the python3 first on PATH is another interpreter: a sentence, or NULL */
};

/*
 * Choose the interpreter from the flag (--python, or NULL), the front
 * matter's `python:` (or NULL) and the environment, as above. Returns 0 and
 * fills *out (free with python_choice_free), or -1 with err saying which
 * setting named what and why it cannot run (missing, not CPython >= 3.9).
 */
int python_select(const char *flag, const char *front_matter, struct python_choice *out,
		  struct weft_error *err);

void python_choice_free(struct python_choice *c);

/*
 * The cache identity part for the choice: "CPython 3.11.2" for the built-in
 * interpreter, "CPython 3.12.1 /root/.pyenv/versions/3.12.1/bin/python3.12"
 * (or a venv's path) for any other, so two environments never share keys.
 */
void python_choice_identity(const struct python_choice *c, struct strbuf *out);

/*
 * True the first time this user meets `note` (a path_note): it is recorded
 * in $XDG_STATE_HOME/weft/python-notes (~/.local/state/weft/...), so weft
 * says it once, not on every render. Where that file cannot be read or
 * written, true (the note is shown rather than lost).
 */
bool python_note_first_time(const char *note);

/* One line for --explain: "python /usr/bin/python3.11 (CPython 3.11.2, built-in: ...)". */
void python_choice_describe(const struct python_choice *c, struct strbuf *out);

/*
 * The built-in interpreter (<prefix>/bin/pythonX.Y of the libpython weft
 * was built against); the embedded worker's default sys.executable.
 */
void python_builtin(struct strbuf *out);

#endif
