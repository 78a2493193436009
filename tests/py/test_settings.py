"""Tests of weft_settings (the process-state registry: snapshots, changes,
value hashes, save in one process and apply in another, pending values for
modules not imported yet, resets, and the tracking record of weft_state).

Run with /usr/bin/python3 tests/py/test_settings.py; prints ok/not ok lines.
Each test runs its code in a new Python process (settings are process-wide),
from a scratch folder that plays the document's folder.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.realpath(os.path.join(HERE, "..", "..", "src", "engine", "py"))
sys.path.insert(0, HERE)

from tap import test  # noqa: E402
import tap  # noqa: E402

TMP = os.path.realpath(tempfile.mkdtemp(prefix="weft-test-settings-"))
PRELUDE = f"""
import json, os, sys
sys.path.insert(0, {PYDIR!r})
import weft_settings as S
P = S.pseudo
def out(v):
    print("RESULT " + json.dumps(v))
"""


def py(code, cwd=TMP, env=None):
    """Run code (after PRELUDE) in a new process in `cwd`; the value it passed to out()."""
    e = dict(os.environ, MPLBACKEND="Agg")
    e.update(env or {})
    p = subprocess.run(["/usr/bin/python3", "-c", PRELUDE + textwrap.dedent(code)], cwd=cwd,
                       capture_output=True, text=True, env=e)
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, p.stdout + p.stderr
    return json.loads(lines[-1][7:])


def eq(got, want):
    assert got == want, f"got {got!r}, want {want!r}"


def save_in(code, names_expr="list(changed)"):
    """Run code between a snapshot and changes(); save what changed; returns (changes, items)."""
    d = tempfile.mkdtemp(dir=TMP)
    return py(f"""
        before = S.snapshot_all()
        {textwrap.indent(textwrap.dedent(code), '        ').strip()}
        changed = S.changes(before)
        items = S.op_settings_save({{"names": {names_expr}, "dir": {d!r}}})["items"]
        out([changed, items])
    """)


@test
def absent_module_costs_nothing():
    r = py("""
        calls = []
        def snap():
            calls.append(1)
            return 1
        key = S.register("weftfake.option", snap, lambda v: None, module="weftfake_not_here")
        s = S.snapshot_all()
        out([key, s[key], calls, "numpy" in sys.modules, "pandas" in sys.modules])
    """)
    eq(r, ["<setting:weftfake.option>", None, [], False, False])


@test
def register_custom_setting_roundtrip():
    d = tempfile.mkdtemp(dir=TMP)
    r = py(f"""
        import types
        mod = types.ModuleType("weftlib_opts"); mod.OPTS = {{"mode": "a"}}
        sys.modules["weftlib_opts"] = mod
        key = S.register("weftlib.opts", lambda: dict(mod.OPTS), lambda v: mod.OPTS.update(v),
                         module="weftlib_opts")
        b = S.snapshot_all()
        mod.OPTS["mode"] = "b"
        ch = S.changes(b)
        items = S.op_settings_save({{"names": [key], "dir": {d!r}}})["items"]
        mod.OPTS["mode"] = "z"
        errs = S.op_settings_apply({{"items": [{{"name": key, "path": items[key]["path"]}}]}})["errors"]
        out([key in ch, ch[key] is not None, errs, mod.OPTS["mode"]])
    """)
    eq(r, [True, True, {}, "b"])


@test
def unchanged_settings_are_not_reported():
    r = py("""
        import numpy as np, warnings, os
        b = S.snapshot_all()
        x = np.arange(3) * 2
        with np.printoptions(precision=2):
            str(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
        out(S.changes(b))
    """)
    eq(r, {})


@test
def first_import_counts_as_a_write_with_a_stable_hash():
    code = """
        b = S.snapshot_all()
        import numpy
        out(S.changes(b))
    """
    a, b = py(code), py(code, env={"PYTHONHASHSEED": "123"})
    assert "<setting:numpy.printoptions>" in a, a
    eq(a, b)


@test
def value_hash_tracks_the_value():
    r = py("""
        import numpy as np
        out([None,
             S.value_hash(P("x"), {"a": 1, "b": [1, 2]}) == S.value_hash(P("x"), {"b": [1, 2], "a": 1}),
             S.value_hash(P("x"), {"a": 1}) == S.value_hash(P("x"), {"a": 2}),
             S.value_hash(P("x"), {1, 2, 3}) == S.value_hash(P("x"), {3, 2, 1}),
             S.value_hash(P("x"), lambda: 1),
             S.value_hash(P("x"), [object()]),
             S.value_hash(P("x"), (1, 2)) == S.value_hash(P("x"), [1, 2])])
    """)
    eq(r, [None, True, False, True, None, None, False])


@test
def numpy_printoptions_saved_and_applied_elsewhere():
    ch, items = save_in("import numpy as np\nnp.set_printoptions(precision=2, suppress=True)")
    key = "<setting:numpy.printoptions>"
    assert key in ch and ch[key], ch
    r = py(f"""
        import numpy as np
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": {items[key]['path']!r}}}]}})
        out(str(np.array([1/3, 1e-9])))
    """)
    eq(r, "[0.33 0.  ]")


@test
def pending_value_waits_for_the_import():
    ch, items = save_in("import numpy as np\nnp.set_printoptions(precision=3)")
    key = "<setting:numpy.printoptions>"
    r = py(f"""
        key = {key!r}
        S.op_settings_apply({{"items": [{{"name": key, "path": {items[key]['path']!r}}}]}})
        was = "numpy" in sys.modules
        b = S.snapshot_all()
        import numpy as np
        out([was, str(np.array([1/3])), key in S.changes(b)])
    """)
    eq(r, [False, "[0.333]", False])


@test
def pandas_options_roundtrip():
    ch, items = save_in("import pandas as pd\npd.set_option('display.precision', 2)\n"
                        "pd.set_option('display.max_rows', 3)")
    key = "<setting:pandas.options>"
    r = py(f"""
        import pandas as pd
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": {items[key]['path']!r}}}]}})
        out([pd.get_option('display.precision'), pd.get_option('display.max_rows')])
    """)
    eq(r, [2, 3])


@test
def rcparams_without_weft_own_keys():
    ch, items = save_in("import matplotlib as mpl\nmpl.rcParams['figure.figsize'] = [1, 1]\n"
                        "mpl.rcParams['figure.dpi'] = 10")
    eq(ch.get("<setting:matplotlib.rcParams>") is not None, True)   # the first import
    r = py("""
        import matplotlib as mpl
        b = S.snapshot_all()
        mpl.rcParams['figure.figsize'] = [1, 1]
        a = S.changes(b)
        b = S.snapshot_all()
        mpl.rcParams['lines.linewidth'] = 9
        mpl.rcParams['font.sans-serif'].insert(0, 'Nonexistent')   # in place
        out([a, list(S.changes(b))])
    """)
    eq(r, [{}, ["<setting:matplotlib.rcParams>"]])


@test
def style_use_roundtrip():
    ch, items = save_in("import matplotlib.pyplot as plt\nplt.style.use('ggplot')")
    key = "<setting:matplotlib.rcParams>"
    r = py(f"""
        import matplotlib.pyplot as plt
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": {items[key]['path']!r}}}]}})
        out([plt.rcParams['axes.facecolor'], plt.rcParams['axes.grid']])
    """)
    eq(r, ["#E5E5E5", True])


@test
def warnings_filters_roundtrip_and_document_classes():
    ch, items = save_in("import warnings\nwarnings.filterwarnings('error', message='boom')")
    key = "<setting:warnings.filters>"
    r = py(f"""
        import warnings
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": {items[key]['path']!r}}}]}})
        try:
            warnings.warn("boom")
            out("no error")
        except UserWarning:
            out("raised")
    """)
    eq(r, "raised")
    ch, items = save_in("import warnings\nclass Mine(Warning): pass\nwarnings.simplefilter('error', Mine)")
    eq(ch[key], None)
    assert "unsaveable" in items[key], items


@test
def environ_and_putenv():
    ch, items = save_in("os.environ['WEFT_T1'] = 'a'\nos.putenv('WEFT_T2', 'b')\nos.environ.pop('HOME', None)")
    key = "<setting:os.environ>"
    r = py(f"""
        import subprocess
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": {items[key]['path']!r}}}]}})
        sh = subprocess.run(["sh", "-c", "echo $WEFT_T1 $WEFT_T2 ${{HOME:-nohome}}"], capture_output=True,
                            text=True).stdout.split()
        out([os.environ.get("WEFT_T1"), os.environ.get("WEFT_T2"), "HOME" in os.environ, sh])
    """, env={"HOME": "/root"})
    eq(r, ["a", None, False, ["a", "b", "nohome"]])


@test
def putenv_alone_is_a_change():
    r = py("""
        b = S.snapshot_all()
        os.putenv("WEFT_T3", "x")
        out(list(S.changes(b)))
    """)
    eq(r, ["<setting:os.environ>"])


@test
def cwd_relative_to_the_document_folder():
    os.makedirs(os.path.join(TMP, "sub"), exist_ok=True)
    ch, items = save_in("os.chdir('sub')")
    key = "<setting:os.chdir>"
    other = tempfile.mkdtemp(dir=TMP)        # a copy of the document elsewhere
    os.makedirs(os.path.join(other, "sub"))
    r = py(f"""
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": {items[key]['path']!r}}}]}})
        here = os.getcwd()
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": None}}]}})
        out([here, os.getcwd()])
    """, cwd=other)
    eq(r, [os.path.join(other, "sub"), other])


@test
def sys_path_relative_and_reset():
    ch, items = save_in("sys.path.insert(0, os.path.join(os.getcwd(), 'lib'))\nsys.path.append('/opt/x')")
    key = "<setting:sys.path>"
    other = tempfile.mkdtemp(dir=TMP)
    r = py(f"""
        start = list(sys.path)
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": {items[key]['path']!r}}}]}})
        got = [sys.path[0], sys.path[-1]]
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": None}}]}})
        out([got, sys.path == start])
    """, cwd=other)
    eq(r, [[os.path.join(other, "lib"), "/opt/x"], True])


@test
def sys_modules_assigned_is_unsaveable():
    ch, items = save_in("import types\nsys.modules['weftfakemod'] = types.ModuleType('weftfakemod')")
    key = "<setting:sys.modules>"
    eq(ch.get(key, "missing"), None)
    assert "unsaveable" in items[key], items


@test
def sys_modules_library_entries_are_not_settings():
    r = py("""
        b = S.snapshot_all()
        import numpy, pandas, matplotlib.pyplot, xml.dom.minidom, typing, decimal, json
        ch = S.changes(b)
        out([P("sys.modules") in ch, [d[0] for d in S._modules_snapshot()]])
    """)
    eq(r, [False, []])


@test
def sys_modules_local_module_imported_quietly():
    d = tempfile.mkdtemp(dir=TMP)
    with open(os.path.join(d, "chatty_local.py"), "w") as f:
        f.write("print('loaded!')\nN = 7\n")
    r = py("""
        import io
        b = S.snapshot_all()
        import chatty_local
        ch = S.changes(b)
        items = S.op_settings_save({"names": list(ch), "dir": "."})["items"]
        out([ch, items])
    """, cwd=d)
    ch, items = r
    key = "<setting:sys.modules>"
    assert ch[key], ch
    r = py(f"""
        import io
        buf = io.StringIO(); real = sys.stdout; sys.stdout = buf
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": {items[key]['path']!r}}}]}})
        sys.stdout = real
        import chatty_local
        out([buf.getvalue(), chatty_local.N, [d[:3] for d in S._modules_snapshot()]])
    """, cwd=d)
    eq(r, ["", 7, [["chatty_local", "local", "chatty_local.py"]]])


@test
def decimal_context_roundtrip_and_reset():
    ch, items = save_in("import decimal\ndecimal.getcontext().prec = 4\n"
                        "decimal.getcontext().rounding = decimal.ROUND_DOWN")
    key = "<setting:decimal.context>"
    r = py(f"""
        import decimal
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": {items[key]['path']!r}}}]}})
        a = str(decimal.Decimal(2) / 3)
        S.op_settings_apply({{"items": [{{"name": {key!r}, "path": None}}]}})
        out([a, str(decimal.Decimal(2) / 3)])
    """)
    eq(r, ["0.6666", "0.6666666666666666666666666667"])


@test
def numpy_formatter_lambda_is_unsaveable():
    ch, items = save_in("import numpy as np\nnp.set_printoptions(formatter={'float': lambda x: 'f'})")
    key = "<setting:numpy.printoptions>"
    eq(ch[key], None)
    assert "unsaveable" in items[key], items


@test
def tracking_record_carries_settings():
    r = py("""
        import weft_state as ws
        ns = {}
        tok = ws.begin_tracking(ns, {"reads": []})
        exec("import warnings\\nwarnings.simplefilter('ignore')\\nv = 1", ns)
        rec = ws.end_tracking(tok, ns)
        out(sorted(rec["settings"]))
    """)
    eq(r, ["<setting:warnings.filters>"])


@test
def snapshot_cost_is_small():
    r = py("""
        import time, numpy, pandas, matplotlib.pyplot
        t = time.perf_counter()
        for _ in range(50):
            S.changes(S.snapshot_all())
        out((time.perf_counter() - t) / 50 * 1000)
    """)
    print(f"# snapshot + changes with numpy, pandas, matplotlib imported: {r:.2f} ms per chunk")
    assert r < 20, r      # generous: a loaded 2-core machine


shutil.rmtree(TMP, ignore_errors=True)
tap.finish()
