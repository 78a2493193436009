"""The chunk cache through a Python Jupyter kernel (issue 11, ipykernel part):
soundness scenarios rendered with `--kernel python3`, every step's cached
report compared byte for byte with a `--kernel python3 --no-cache` render
(soundlib.py), plus scenarios of what only a kernel has (IPython's history
names, "Cell In[n]" tracebacks, figures from the inline backend).

The scenarios of the embedded engine's suites are run from their own files
(SUITES: which ones, by name), with weft's command line given the kernel;
those whose set of chunks that run differs through a kernel (a chunk that
shows kernel cell numbers or paths is volatile there) are in RAN_DIFFERS and
keep the byte-for-byte comparison only. Reported skipped when Debian's
python3-ipykernel (kernelspec python3) is not installed.
"""

import ast
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import soundlib  # noqa: E402
import weftlib  # noqa: E402
from soundlib import Step, chunks  # noqa: E402

KERNEL = "python3"

# A selection (each step starts the kernel twice): values, mutation, arrays
# restored by mapping, functions, replay, random state, files, edits that move
# chunks, term mode, inline code, settings.
SUITES = {
    "test_cache_soundness.py": {
        "upstream value change", "in-place mutation", "numpy += and pandas column assignment",
        "restored memory-mapped array, read and mutated in place",
        "function reading a global from another chunk", "generator (unsaveable) rebuilt by replay",
        "random numbers continue after a cached chunk", "data file edit",
        "files a chunk wrote are restored on a hit", "insert, delete and reorder chunks",
    },
    "test_soundness_keys.py": {
        "identical appends are two positions", "comment added in a term=True chunk",
        "traceback through a function from a cached chunk", "inline code binds a name a chunk reads",
        "replay reads the version it saw",
    },
    "test_soundness_settings.py": {
        "numpy printoptions, reader's array from a third chunk", "os.chdir",
        "sys.path insert and a module in a subfolder",
    },
}

# Scenarios whose chunks that run differ through a kernel, and why; their
# reports are still compared byte for byte at every step.
RAN_DIFFERS = {}


def kernel_missing():
    """Why the python3 kernel cannot run here, or None."""
    try:
        r = subprocess.run(["/usr/bin/python3", "-c", "import ipykernel"], capture_output=True, timeout=60)
    except OSError as exc:
        return str(exc)
    if r.returncode != 0:
        return "ipykernel is not installed for /usr/bin/python3 (Debian: python3-ipykernel)"
    if not any(os.path.isfile(os.path.join(d, "kernels", KERNEL, "kernel.json"))
               for d in ("/usr/share/jupyter", "/usr/local/share/jupyter",
                         os.path.expanduser("~/.local/share/jupyter"))):
        return f"no kernelspec named {KERNEL}"
    return None


_weft = soundlib.weft


def _kernel_weft(cmd, *args, **kw):
    """soundlib's weft, with the kernel on every weave."""
    return _weft(cmd, "--kernel", KERNEL, *args, **kw)


_run = soundlib.run_scenario
_wanted = set()


def _selected(name, steps):
    """Run the scenario if the suite being read is asked for it (SUITES)."""
    if name not in _wanted:
        return 0
    if name in RAN_DIFFERS:
        for st in steps:
            st.ran = None
    return _run(f"{name} [kernel]", steps)


def _scenario_module(path):
    """A suite's file with its top-level calls other than run_scenario(...)
    left out (its own checks with the embedded engine, finish())."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    keep = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if isinstance(call, ast.Call) and not (isinstance(call.func, ast.Name) and call.func.id == "run_scenario"):
            continue
        keep.append(node)
    tree.body = keep
    return compile(tree, path, "exec")


def run_suites():
    """Each suite's selected scenarios, from its own file."""
    soundlib.run_scenario = _selected
    try:
        for fname, names in SUITES.items():
            _wanted.clear()
            _wanted.update(names)
            path = os.path.join(HERE, fname)
            exec(_scenario_module(path), {"__name__": "kernel_suite", "__file__": path})  # noqa: S102
    finally:
        soundlib.run_scenario = _run


def run_own():
    """Scenarios of what only a kernel has."""
    hist = [("a", "x = 6\nx * 7"), ("b", "y = 2\nprint(y)"), ("c", "print(_, _i.strip(), _1)")]
    _run("a document reading IPython's history (_, _i, _N) renders without the cache", [
        Step(chunks(*hist), {"a", "b", "c"}),
        Step(chunks(*hist), {"a", "b", "c"}, note="unchanged: every chunk runs"),
        Step(chunks(("a", "x = 6\nx * 8"), *hist[1:]), {"a", "b", "c"}, note="edit a"),
    ])
    _run("eval reads any name, the history too: no cache", [
        Step(chunks(("a", "x = 6\nx * 7"), ("b", "print(eval('_'))")), {"a", "b"}),
        Step(chunks(("a", "x = 6\nx * 7"), ("b", "print(eval('_'), 1)")), {"a", "b"}, note="edit b"),
    ])
    _run("tracebacks show the cell numbers of a run without cache", [
        Step(chunks(("a", "v = [1]"), ("bad, error=True", "v.append(2)\n1 / 0"), ("c", "print(v)"),
                    ("d", "w = 3\nprint(w)")), {"a", "bad", "c", "d"}),
        Step(chunks(("a", "v = [1]"), ("bad, error=True", "v.append(2)\n1 / 0"), ("c", "print(v)"),
                    ("d", "w = 3\nprint(w)")), {"bad", "c"}, note="unchanged: a chunk that raised is not cached"),
        Step(chunks(("a", "v = [5]"), ("bad, error=True", "v.append(2)\n1 / 0"), ("c", "print(v)"),
                    ("d", "w = 3\nprint(w)")), {"a", "bad", "c"}, note="edit a"),
        Step(chunks(("a", "v = [5]"), ("bad, error=True", "v.append(2)\n1 / 0"), ("c", "print(v)"),
                    ("d", "w = 4\nprint(w)\nv.pop(7)")), {"bad", "c", "d"}, note="a later chunk raises: In[4]",
             status=1),
    ])
    _run("a matplotlib figure and a value drawn from its data", [
        Step(chunks(("data", "import numpy as np\nys = np.arange(5) ** 2"),
                    ("plot", "import matplotlib.pyplot as plt\nplt.plot(ys)\nplt.show()"),
                    ("total", "print(ys.sum())")), {"data", "plot", "total"}),
        Step(chunks(("data", "import numpy as np\nys = np.arange(5) ** 2"),
                    ("plot", "import matplotlib.pyplot as plt\nplt.plot(ys)\nplt.show()"),
                    ("total", "print(ys.sum() + 1)")), {"total"}, note="edit the reader"),
        Step(chunks(("data", "import numpy as np\nys = np.arange(6) ** 2"),
                    ("plot", "import matplotlib.pyplot as plt\nplt.plot(ys)\nplt.show()"),
                    ("total", "print(ys.sum() + 1)")), {"data", "plot", "total"}, note="edit the data"),
    ])
    _run("rich display of a DataFrame restored into the kernel", [
        Step(chunks(("df", "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})"), ("show", "df")),
             {"df", "show"}),
        Step(chunks(("df", "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})"), ("show", "df.T")),
             {"show"}, note="edit the display"),
        Step(chunks(("df", "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})"), ("show", "df.T")),
             set(), note="unchanged", no_python=True),
    ])


def main():
    why = kernel_missing()
    if why:
        weftlib.skip("the chunk cache through --kernel python3", why)
        weftlib.finish()
    soundlib.weft = _kernel_weft
    run_own()
    run_suites()
    weftlib.finish()


main()
