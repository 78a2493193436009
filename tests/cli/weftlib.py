"""Helpers for weft's Python-driven CLI tests (tests/cli/test_*.py).

Each check prints one numbered TAP line, "ok N - name", "not ok N - name" or
"ok N - name # SKIP why" (tests/run.sh counts passed, failed and skipped apart);
finish() prints the plan "1..N".

COMPAT is Pweave's own test corpus, which is not in the repository:
tools/fetch_pweave_tests.py fetches it (from Debian's python-pweave source
package) into build/pweave-tests and tests/run.sh passes its folder as
$WEFT_COMPAT. A test that needs it calls require_compat() first.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("WEFT_BUILD", "build")
WEFT = os.path.join(TOP, BUILD, "weft")
COMPAT = os.environ.get("WEFT_COMPAT") or os.path.join(TOP, "build", "pweave-tests")

failures = 0
number = 0


def _line(status, name):
    global number
    number += 1
    print(f"{status} {number} - {name}", flush=True)


def ok(name):
    _line("ok", name)


def not_ok(name, why=""):
    global failures
    failures += 1
    _line("not ok", name)
    for line in str(why).splitlines()[:60]:
        print(f"#   {line}", flush=True)


def skip(name, why):
    """Report `name` as not run here, saying why (counted apart from passed)."""
    _line("ok", f"{name} # SKIP {why}")


def compat_missing():
    """Why Pweave's test corpus is unavailable, or None when it is there."""
    if os.path.isfile(os.path.join(COMPAT, "formats", "formatters_test_executed.json")):
        return None
    return os.environ.get("WEFT_COMPAT_MISSING") or \
        f"Pweave's test corpus not found at {COMPAT} (tools/fetch_pweave_tests.py fetches it)"


def require_compat(name):
    """Exit now, reporting `name` skipped, when the corpus is unavailable."""
    why = compat_missing()
    if why:
        skip(name, why)
        finish()


def check(name, cond, why=""):
    if cond:
        ok(name)
    else:
        not_ok(name, why)
    return cond


def weft(*args, cwd=None, env=None, timeout=300):
    """Run weft; return CompletedProcess with text output."""
    e = dict(os.environ)
    e.pop("WEFT_CACHE_DIR", None)
    if env:
        e.update(env)
    return subprocess.run([WEFT, *args], cwd=cwd, env=e, capture_output=True, text=True,
                          timeout=timeout)


class Scratch:
    """A temporary folder removed at exit."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="weft-test-")
        os.chmod(self.path, 0o700)

    def file(self, name, text):
        p = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def finish():
    print(f"1..{number}", flush=True)
    sys.exit(1 if failures else 0)


def summary(path):
    with open(path) as f:
        return json.load(f)
