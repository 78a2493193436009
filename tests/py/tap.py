"""TAP runner shared by the Python tests: each test prints one numbered line,
"ok N - name", "not ok N - name" (the traceback follows as "#" lines) or
"ok N - name # SKIP why" for a test that could not run (it raised tap.Skip);
tests/run.sh counts passed, failed and skipped apart. Call tap.finish() last:
it prints the plan "1..N" and exits 1 if any test failed."""

import sys
import traceback

failed = 0
number = 0


class Skip(Exception):
    """Raised by a test that cannot run here (a missing tool, a missing corpus); the message says why."""


def _line(status, name):
    global number
    number += 1
    print(f"{status} {number} - {name}", flush=True)


def skip(name, why):
    """Report `name` as skipped, saying why."""
    _line("ok", f"{name} # SKIP {why}")


def run(name, fn):
    """Run fn(); report it under `name`."""
    global failed
    try:
        fn()
    except Skip as s:
        skip(name, s)
    except Exception:  # a failing test must not stop the others
        failed += 1
        _line("not ok", name)
        for line in traceback.format_exc().splitlines():
            print("#   " + line)
    else:
        _line("ok", name)


def test(fn):
    """Decorator: run the function now, named after itself."""
    run(fn.__name__, fn)
    return fn


def finish():
    """Print the plan; exit with status 1 if any test failed."""
    print(f"1..{number}", flush=True)
    sys.exit(1 if failed else 0)
