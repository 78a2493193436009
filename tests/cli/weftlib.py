"""Helpers for weft's Python-driven CLI tests (tests/cli/test_*.py).

Each check prints "ok - name" or "not ok - name" (tests/run.sh counts them).
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
COMPAT = os.path.abspath(os.path.join(TOP, "..", "shared", "compat", "pweave"))

failures = 0


def ok(name):
    print(f"ok - {name}", flush=True)


def not_ok(name, why=""):
    global failures
    failures += 1
    print(f"not ok - {name}", flush=True)
    for line in str(why).splitlines()[:60]:
        print(f"#   {line}", flush=True)


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
    sys.exit(1 if failures else 0)


def summary(path):
    with open(path) as f:
        return json.load(f)
