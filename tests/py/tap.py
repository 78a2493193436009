"""TAP-style runner shared by the Python tests: each test prints
"ok - name" or "not ok - name" with the traceback as "#" lines; tests/run.sh
counts them. Call tap.finish() last: it exits 1 if any test failed."""

import sys
import traceback

failed = 0


def run(name, fn):
    """Run fn(); report it under `name`."""
    global failed
    try:
        fn()
        print(f"ok - {name}", flush=True)
    except Exception:  # a failing test must not stop the others
        failed += 1
        print(f"not ok - {name}", flush=True)
        for line in traceback.format_exc().splitlines():
            print("#   " + line)


def test(fn):
    """Decorator: run the function now, named after itself."""
    run(fn.__name__, fn)
    return fn


def finish():
    """Exit with status 1 if any test failed."""
    sys.exit(1 if failed else 0)
