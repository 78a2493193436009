"""Which Python runs a document, and every CPython 3.9+ as itself (issue 11).

Selection order: --python > front matter `python:` > VIRTUAL_ENV > CONDA_PREFIX >
the built-in interpreter (the one weft's libpython belongs to, never PATH's).
A pyenv CPython 3.9 .. 3.13 (shared-library builds, without numpy) runs as
itself: sys.version, sys.prefix and sys.path are what that interpreter reports
when run directly, and the cache works with it (soundlib: an edit re-runs one
chunk, the other comes from the cache, byte-identical to --no-cache).
Tests that need pyenv SKIP where it is absent (CI's fresh Debian machine).
"""

import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import WEFT, Scratch, check, finish, skip  # noqa: E402

BUILTIN = "/usr/bin/python3.11"
PYENV_ROOT = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")


def pyenv_python(minor):
    """The newest pyenv CPython 3.<minor> executable, or None."""
    found = sorted(glob.glob(os.path.join(PYENV_ROOT, "versions", f"3.{minor}.*", "bin", f"python3.{minor}")),
                   key=lambda p: [int(x) for x in p.split("/versions/")[1].split("/")[0].split(".")])
    return found[-1] if found else None


def itself(python):
    """What `python` reports when run directly: version, prefix, path (without the script's folder)."""
    code = "import sys, json; print(json.dumps([sys.version, sys.prefix, sys.executable, sys.path[1:]]))"
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, env=clean_env(), cwd="/")
    return json.loads(r.stdout)


def clean_env(**extra):
    """The environment without an activated venv or conda environment, plus extra."""
    e = dict(os.environ)
    for k in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONHOME"):
        e.pop(k, None)
    e.update(extra)
    return e


# The chunk that says which interpreter runs it, as JSON in who.json (chunks run in the document's folder).
REPORT = ("who", "import sys, json\n"
          "with open('who.json', 'w') as f:\n"
          "    f.write(json.dumps([sys.version, sys.prefix, sys.executable, sys.path[1:]]))")


def who(work, doc_text, *args, env=None):
    """Render doc_text (noweb) with args; returns (CompletedProcess, [version, prefix, executable, path] or None)."""
    doc = work.file("doc.mdw", doc_text)
    out = os.path.join(work.path, "out.md")
    said = os.path.join(work.path, "who.json")
    for old in (out, said):
        if os.path.exists(old):
            os.remove(old)
    r = subprocess.run([WEFT, "--no-cache", "-f", "markdown", "-o", out, *args, doc],
                       capture_output=True, text=True, env=env if env is not None else clean_env(), timeout=300)
    seen = None
    if os.path.exists(said):
        with open(said) as f:
            seen = json.load(f)
    return r, seen


def front(python):
    """A noweb document's front matter choosing `python`."""
    return f"---\nweft:\n  python: {python}\n---\n"


work = Scratch()
have_pyenv = os.path.isdir(os.path.join(PYENV_ROOT, "versions")) and pyenv_python(12) is not None
NO_PYENV = f"pyenv's CPythons not found under {PYENV_ROOT}/versions"

# ---- every pyenv CPython 3.9 .. 3.13 runs as itself, with the cache ----
for minor in range(9, 14):
    py = pyenv_python(minor)
    name = f"pyenv CPython 3.{minor}"
    if not py:
        skip(f"{name} runs as itself", NO_PYENV if not have_pyenv else f"no pyenv 3.{minor} installed")
        skip(f"{name}: cache scenario", NO_PYENV if not have_pyenv else f"no pyenv 3.{minor} installed")
        continue
    want = itself(py)
    r, seen = who(work, chunks(REPORT), "--python", py)
    check(f"{name} runs as itself: sys.version, sys.prefix, sys.executable, sys.path its own",
          r.returncode == 0 and seen == want, f"status {r.returncode}\n{r.stderr}\nseen {seen}\nwant {want}")
    check(f"{name}: not the embedded 3.11 (no hybrid)", seen is not None and not seen[1].startswith("/usr"),
          str(seen))
    A = ("a", "import sys\nv = sys.version_info[:2]\nx = [n * n for n in range(5)]\nprint(v, x)")
    B = ("b", "print(sum(x), sys.version.split()[0])")
    C = ("c", "import pickle\nd = {'k': x, 's': set(x)}\nprint(sorted(d['s']))")
    head = front(py)
    run_scenario(f"{name}: cache", [
        Step(head + chunks(A, B, C), {"a", "b", "c"}),
        Step(head + chunks(A, ("b", "print(sum(x) + 1, sys.version.split()[0])"), C), {"b"},
             note="edit b: a restored from the cache"),
        Step(head + chunks(A, ("b", "print(sum(x) + 1, sys.version.split()[0])"), C), set(),
             note="nothing changed", no_python=True),
    ])

# ---- the runtime's bytecode, compiled once per interpreter format, kept in XDG_CACHE_HOME ----
if p12 := pyenv_python(12):
    xdg = os.path.join(work.path, "xdg-cache")
    env = clean_env(XDG_CACHE_HOME=xdg)
    r, seen = who(work, chunks(REPORT), "--python", p12, env=env)
    kept = sorted(glob.glob(os.path.join(xdg, "weft", "bytecode", "weft_runtime.py-cpython-312-*")))
    check("foreign python: the runtime's compiled code is kept in $XDG_CACHE_HOME/weft/bytecode",
          r.returncode == 0 and len(kept) == 1, f"{r.stderr}\n{kept}")
    for f in kept:
        with open(f, "wb") as fh:
            fh.write(b"not marshal data")
    r, seen2 = who(work, chunks(REPORT), "--python", p12, env=env)
    check("a damaged kept file is compiled again, the render unchanged",
          r.returncode == 0 and seen2 == seen and open(kept[0], "rb").read() != b"not marshal data", r.stderr)
else:
    skip("foreign python: the runtime's compiled code is kept", NO_PYENV)
    skip("a damaged kept file is compiled again", NO_PYENV)

# ---- switching interpreters never reuses another one's results ----
p13 = pyenv_python(13)
if p12 and p13:
    X = ("x", "import sys\nprint(sys.version.split()[0])")
    run_scenario("switching interpreter re-runs everything", [
        Step(front(p12) + chunks(X, ("y", "print(1)")), {"x", "y"}),
        Step(front(p13) + chunks(X, ("y", "print(1)")), {"x", "y"}, note="3.12 -> 3.13"),
        Step(front(p12) + chunks(X, ("y", "print(1)")), set(), note="back to 3.12: its entries", no_python=True),
    ])
else:
    skip("switching interpreter re-runs everything", NO_PYENV)

# ---- selection order ----
venv = os.path.join(work.path, "venv311")
subprocess.run([BUILTIN, "-m", "venv", "--without-pip", venv], check=True)
venv_py = os.path.join(venv, "bin", "python")

r, seen = who(work, chunks(REPORT))
check("built-in: nothing chosen -> weft's own python", r.returncode == 0 and seen and seen[2] == BUILTIN
      and seen[1] == "/usr", f"{r.stderr}\n{seen}")

r, seen = who(work, chunks(REPORT), env=clean_env(VIRTUAL_ENV=venv))
check("VIRTUAL_ENV beats built-in (3.11 venv, embedded worker)",
      r.returncode == 0 and seen and seen[1] == venv and seen[2] == venv_py, f"{r.stderr}\n{seen}")

r, seen = who(work, chunks(REPORT), "--python", BUILTIN, env=clean_env(VIRTUAL_ENV=venv))
check("--python beats VIRTUAL_ENV", r.returncode == 0 and seen and seen[1] == "/usr", f"{r.stderr}\n{seen}")

r, seen = who(work, front(BUILTIN) + chunks(REPORT), env=clean_env(VIRTUAL_ENV=venv))
check("front matter python: beats VIRTUAL_ENV", r.returncode == 0 and seen and seen[1] == "/usr",
      f"{r.stderr}\n{seen}")

r, seen = who(work, front("venv311/bin/python") + chunks(REPORT))
check("front matter python: a relative path is the document's folder's",
      r.returncode == 0 and seen and seen[1] == venv, f"{r.stderr}\n{seen}")

r, _ = who(work, front("/nonexistent/python3") + chunks(REPORT))
check("front matter python: that does not exist is an error naming it",
      r.returncode != 0 and "front matter python: /nonexistent/python3" in r.stderr, r.stderr)

r, _ = who(work, front("[1, 2]") + chunks(REPORT))
check("front matter python: must be a string", r.returncode != 0 and "'python:' must name" in r.stderr, r.stderr)

r, _ = who(work, chunks(REPORT), "--explain", env=clean_env(VIRTUAL_ENV=venv))
check("--explain says which python and why (VIRTUAL_ENV)",
      f"python {venv_py} (CPython 3.11" in r.stderr and f"VIRTUAL_ENV={venv}" in r.stderr, r.stderr)

# the python3 first on PATH is another interpreter: --explain says so, with the flag
shim_dir = os.path.join(work.path, "pathbin")
os.makedirs(shim_dir)
with open(os.path.join(shim_dir, "python3"), "w") as f:
    f.write(f"#!/bin/sh\nexec {venv_py} \"$@\"\n")
os.chmod(os.path.join(shim_dir, "python3"), 0o755)
path_env = clean_env(PATH=shim_dir + ":" + os.environ.get("PATH", ""))
r, seen = who(work, chunks(REPORT), "--explain", env=path_env)
check("the python3 first on PATH does not change the default",
      r.returncode == 0 and seen and seen[2] == BUILTIN, f"{r.stderr}\n{seen}")
check("--explain notes the python3 first on PATH, with the flag that selects it",
      r.stderr.count("the python3 first on PATH") == 1 and "--python python3 selects it" in r.stderr, r.stderr)
state = os.path.join(work.path, "state")
path_env["XDG_STATE_HOME"] = state
r1, _ = who(work, chunks(REPORT), env=path_env)
r2, _ = who(work, chunks(REPORT), env=path_env)
check("without --explain the PATH note is said once (the first render that runs Python), not on every render",
      r1.stderr.count("the python3 first on PATH") == 1 and "--python python3 selects it" in r1.stderr
      and "python3 first on PATH" not in r2.stderr, f"first: {r1.stderr}\nsecond: {r2.stderr}")
home = os.path.join(work.path, "home")  # no ~/.local yet: made on the way
os.makedirs(home)
home_env = dict(path_env, HOME=home)
home_env.pop("XDG_STATE_HOME")
r1, _ = who(work, chunks(REPORT), env=home_env)
r2, _ = who(work, chunks(REPORT), env=home_env)
check("the PATH note's record goes to ~/.local/state/weft when XDG_STATE_HOME is unset (folders made)",
      "python3 first on PATH" in r1.stderr and "python3 first on PATH" not in r2.stderr
      and os.path.isfile(os.path.join(home, ".local", "state", "weft", "python-notes")), r1.stderr + r2.stderr)
r, seen = who(work, chunks(REPORT), "--python", "python3", env=path_env)
check("--python python3: a wrapper script on PATH is resolved to the interpreter it runs",
      r.returncode == 0 and seen and seen[1] == venv, f"{r.stderr}\n{seen}")
r, _ = who(work, chunks(REPORT), "--explain", "--python", BUILTIN, env=path_env)
check("no PATH note once a python is chosen", "python3 first on PATH" not in r.stderr, r.stderr)

if have_pyenv:
    conda = os.path.dirname(os.path.dirname(p12))  # a whole installation, as a conda prefix is
    r, seen = who(work, chunks(REPORT), env=clean_env(CONDA_PREFIX=conda))
    check("CONDA_PREFIX beats built-in (runs as itself)", r.returncode == 0 and seen and seen[1] == conda
          and seen[0].startswith("3.12"), f"{r.stderr}\n{seen}")
    r, seen = who(work, chunks(REPORT), env=clean_env(CONDA_PREFIX=conda, VIRTUAL_ENV=venv))
    check("VIRTUAL_ENV beats CONDA_PREFIX", r.returncode == 0 and seen and seen[1] == venv, f"{r.stderr}\n{seen}")
    p10 = pyenv_python(10)
    r, seen = who(work, front(p10) + chunks(REPORT), "--python", p12)
    check("--python beats front matter python:", r.returncode == 0 and seen and seen[0].startswith("3.12"),
          f"{r.stderr}\n{seen}")
    r, seen = who(work, front(p10) + chunks(REPORT), env=clean_env(VIRTUAL_ENV=venv))
    check("front matter python: beats VIRTUAL_ENV (pyenv 3.10)", r.returncode == 0 and seen
          and seen[0].startswith("3.10"), f"{r.stderr}\n{seen}")
    # a name: looked up on PATH, pyenv's shim resolved to the real interpreter
    shims = os.path.join(PYENV_ROOT, "shims")
    r, seen = who(work, chunks(REPORT), "--python", "python3.12",
                  env=clean_env(PATH=shims + ":/usr/bin:/bin"))
    check("--python python3.12 through pyenv's shims: the real interpreter, as itself",
          r.returncode == 0 and seen and seen[2] == p12, f"{r.stderr}\n{seen}")
    # a venv of a pyenv python: its own prefix, its own packages
    v12 = os.path.join(work.path, "venv312")
    subprocess.run([p12, "-m", "venv", "--without-pip", v12], check=True)
    site = glob.glob(os.path.join(v12, "lib", "python3.12", "site-packages"))[0]
    with open(os.path.join(site, "weft_select_probe.py"), "w") as f:
        f.write("WHERE = 'venv312'\n")
    r, seen = who(work, chunks(REPORT, ("probe", "import weft_select_probe\nprint(weft_select_probe.WHERE)")),
                  env=clean_env(VIRTUAL_ENV=v12))
    out = open(os.path.join(work.path, "out.md")).read() if os.path.exists(os.path.join(work.path, "out.md")) else ""
    check("VIRTUAL_ENV of a pyenv 3.12 venv: its prefix and its packages",
          r.returncode == 0 and seen and seen[1] == v12 and seen[0].startswith("3.12") and "venv312" in out,
          f"{r.stderr}\n{seen}")
    p8 = pyenv_python(8)
    if p8:
        r, _ = who(work, chunks(REPORT), "--python", p8)
        check("CPython 3.8 is refused, saying 3.9 or newer", r.returncode != 0 and "3.9 or newer" in r.stderr
              and "3.8" in r.stderr, r.stderr)
    else:
        skip("CPython 3.8 is refused", "no pyenv 3.8 installed")
else:
    for n in ("CONDA_PREFIX beats built-in", "VIRTUAL_ENV beats CONDA_PREFIX", "--python beats front matter",
              "front matter beats VIRTUAL_ENV (pyenv)", "--python python3.12 through pyenv's shims",
              "VIRTUAL_ENV of a pyenv venv", "CPython 3.8 is refused"):
        skip(n, NO_PYENV)

work.cleanup()
finish()
