/*
 * foreign_python: the worker in a CPython that is not the one weft embeds
 * (another version, a pyenv or conda build, a virtualenv of one), run as
 * itself: its own sys.version, sys.prefix, sys.path and packages.
 *
 * Design: the forked child puts the channel on the worker's fixed fds
 * (worker_channel.h: protocol socket 3, stdout/stderr pipes' read ends 4 and
 * 5, the pipes' write ends on 1 and 2) and execs
 *
 *     <python> -c "exec(__import__('sys').argv[1], {...})" <bootstrap> <document>
 *
 * The bootstrap (foreign_python.c; nothing lands in __main__, where chunks
 * run) imports `_weft` from fd 6: weft-abi3.so, the module's own C code
 * (worker.c, worker_json.c, worker_channel.c) built a second time for the
 * stable ABI (Py_LIMITED_API=0x03090000, weft_module_abi3.c) and carried in
 * weft (foreign_image.S), written to a memory file (or, where those cannot
 * be mapped executable, an unlinked temporary file). Its import starts the
 * stream pump; then the bootstrap runs weft_runtime.py from the embedded
 * source (the build's bytecode is used only when the magic number matches)
 * and serves, exactly as the embedded worker does. Why not a worker linked
 * against each libpython: weft would have to be built against every version
 * a user might have; one abi3 object loads into any CPython >= 3.9 that has
 * `python -c` (shared-library builds or not). The cost is one exec and the
 * interpreter's own start-up, paid only when the Python is not weft's own:
 * the built-in interpreter and its virtualenvs keep the embedded worker.
 */
#ifndef WEFT_FOREIGN_PYTHON_H
#define WEFT_FOREIGN_PYTHON_H

#include "engine/worker.h"

/*
 * In the child python_engine.c forked: become ws->python running weft's
 * runtime. Never returns; a failure before the runtime answers is sent to
 * the parent as the hello reply.
 */
_Noreturn void foreign_python_exec(const struct worker_setup *ws);

#endif
