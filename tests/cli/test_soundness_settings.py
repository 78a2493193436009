"""Cache soundness, process-wide settings (issue 8, class 1): a setting made by
a cached chunk is in force when a later chunk runs, and a change of a setting
re-runs the cached chunks after it. Every step's cached render is compared
byte for byte with a --no-cache render (soundlib.py), and the chunks that ran
are asserted.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import finish  # noqa: E402


def scenario(name, setup_v1, setup_v2, reader, other=("other", "print('independent')"),
             setup_same=None, reader2=None, same_also_runs=()):
    """The common shape: a setup chunk makes a setting, a reader depends on it.

    1. first render: all run;  2. edit the reader only: the setup chunk is
    cached and its setting must be in force;  3. change the setting: every
    later chunk re-runs;  4. (setup_same) edit the setup chunk so the value is
    unchanged: later chunks stay cached (keys hash the setting's value), except
    `same_also_runs`: chunks whose output shows document lines (a warning) are
    valid only while the text above them is the same (test_soundness_keys.py).
    """
    reader2 = reader2 or (reader[0], reader[1] + "\nprint('edited')")
    rname = reader[0].split(",")[0]
    steps = [
        Step(chunks(("setup", setup_v1), reader, other), {"setup", rname, "other"}),
        Step(chunks(("setup", setup_v1), reader2, other), {rname},
             note="edit the reader; setup cached"),
        Step(chunks(("setup", setup_v2), reader2, other), {"setup", rname, "other"},
             note="change the setting: later chunks re-run"),
    ]
    if setup_same:
        steps.append(Step(chunks(("setup", setup_same), reader2, other), {"setup", *same_also_runs},
                          note="edit setup, same setting value: nothing downstream re-runs"))
    run_scenario(name, steps)


# ---- numpy print options ----
scenario("numpy printoptions",
         "import numpy as np\nnp.set_printoptions(precision=2)",
         "import numpy as np\nnp.set_printoptions(precision=3)",
         ("show", "import numpy as np\nprint(np.array([1/3, 2/3]))"),
         setup_same="import numpy as np\nnp.set_printoptions(precision=3)\nunused = 1")

run_scenario("numpy printoptions, reader's array from a third chunk", [
    Step(chunks(("setup", "import numpy as np\nnp.set_printoptions(suppress=True, precision=3)"),
                ("make", "arr = np.array([1e-8, 1/7, 12345.678])"), ("show", "print(arr)")),
         {"setup", "make", "show"}),
    Step(chunks(("setup", "import numpy as np\nnp.set_printoptions(suppress=True, precision=3)"),
                ("make", "arr = np.array([1e-8, 1/7, 12345.678])"), ("show", "print(arr, arr.sum())")),
         {"show"}, note="reader edited: setting and array both restored"),
    Step(chunks(("setup", "import numpy as np\nnp.set_printoptions(suppress=False, precision=3)"),
                ("make", "arr = np.array([1e-8, 1/7, 12345.678])"), ("show", "print(arr, arr.sum())")),
         {"setup", "make", "show"}, note="suppress changed"),
])

run_scenario("numpy printoptions reset by a later chunk", [
    Step(chunks(("a", "import numpy as np\nnp.set_printoptions(precision=1)\nx = np.array([1/3])"),
                ("b", "print(x)"), ("c", "np.set_printoptions(precision=5)"), ("d", "print(x)")),
         {"a", "b", "c", "d"}),
    Step(chunks(("a", "import numpy as np\nnp.set_printoptions(precision=1)\nx = np.array([1/3])"),
                ("b", "print(x, 'b')"), ("c", "np.set_printoptions(precision=5)"), ("d", "print(x, 'd')")),
         {"b", "d"}, note="both readers edited: each sees its own precision"),
])

run_scenario("numpy errstate", [
    Step(chunks(("setup", "import numpy as np\nold = np.seterr(divide='ignore')"),
                ("div", "r = np.array([1.0]) / 0\nprint(r)")), {"setup", "div"}),
    Step(chunks(("setup", "import numpy as np\nold = np.seterr(divide='ignore')"),
                ("div", "r = np.array([2.0]) / 0\nprint(r)")), {"div"}, note="no warning either way"),
    Step(chunks(("setup", "import numpy as np\nold = np.seterr(divide='raise')"),
                ("div", "try:\n    r = np.array([2.0]) / 0\nexcept FloatingPointError as e:\n    print('raised', e)")),
         {"setup", "div"}),
])

# ---- pandas options ----
scenario("pandas options",
         "import pandas as pd\npd.set_option('display.max_rows', 4)",
         "import pandas as pd\npd.set_option('display.max_rows', 6)",
         ("show", "import pandas as pd\nprint(pd.DataFrame({'a': range(10)}))"),
         setup_same="import pandas as pd\npd.set_option('display.max_rows', 6)\n# same\nk = 2")

run_scenario("pandas float format and precision", [
    Step(chunks(("setup", "import pandas as pd\npd.options.display.precision = 2"),
                ("df", "df = pd.DataFrame({'x': [1/3, 2/3]})"), ("show", "print(df)")),
         {"setup", "df", "show"}),
    Step(chunks(("setup", "import pandas as pd\npd.options.display.precision = 2"),
                ("df", "df = pd.DataFrame({'x': [1/3, 2/3]})"), ("show", "print(df)\nprint(df.x.sum())")),
         {"show"}),
    Step(chunks(("setup", "import pandas as pd\npd.options.display.precision = 4"),
                ("df", "df = pd.DataFrame({'x': [1/3, 2/3]})"), ("show", "print(df)\nprint(df.x.sum())")),
         {"setup", "df", "show"}),
])

# ---- matplotlib ----
scenario("matplotlib rcParams",
         "import matplotlib\nmatplotlib.rcParams['lines.linewidth'] = 7",
         "import matplotlib\nmatplotlib.rcParams['lines.linewidth'] = 2",
         ("show", "import matplotlib.pyplot as plt\nprint(plt.rcParams['lines.linewidth'])\n"
                  "line, = plt.plot([1, 2])\nprint(line.get_linewidth())\nplt.close('all')"))

scenario("matplotlib style.use",
         "import matplotlib.pyplot as plt\nplt.style.use('ggplot')",
         "import matplotlib.pyplot as plt\nplt.style.use('classic')",
         ("show", "import matplotlib.pyplot as plt\nprint(plt.rcParams['axes.facecolor'], "
                  "plt.rcParams['axes.grid'])"))

run_scenario("matplotlib rc set by weft is not the document's", [
    Step(chunks(("imp", "import matplotlib.pyplot as plt"), ("fig", "import matplotlib.pyplot as plt\nf = plt.figure()\nprint(f.get_size_inches())")),
         {"imp", "fig"}),
    Step(chunks(("imp", "import matplotlib.pyplot as plt\nq = 1"),
                ("fig", "import matplotlib.pyplot as plt\nf = plt.figure()\nprint(f.get_size_inches())")),
         {"imp"}, note="importing pyplot again writes the same rc value"),
])

# ---- warnings ----
WARN = ("warn", "import warnings\nwarnings.warn('careful', UserWarning)\nprint('after')")
scenario("warnings simplefilter",
         "import warnings\nwarnings.simplefilter('ignore')",
         "import warnings\nwarnings.simplefilter('default')",
         WARN, setup_same="import warnings; z = 0\nwarnings.simplefilter('default')", same_also_runs={"warn"})

scenario("warnings filterwarnings error",
         "import warnings\nwarnings.filterwarnings('error', message='careful')",
         "import warnings\nwarnings.filterwarnings('ignore', message='careful')",
         ("warn", "import warnings\ntry:\n    warnings.warn('careful')\n    print('no error')\n"
                  "except UserWarning as e:\n    print('raised', e)"))

run_scenario("warnings filter with a document's warning class", [
    Step(chunks(("cls", "class MyWarn(UserWarning):\n    pass"),
                ("setup", "import warnings\nwarnings.simplefilter('error', MyWarn)"),
                ("warn", "try:\n    warnings.warn('x', MyWarn)\nexcept MyWarn:\n    print('raised')")),
         {"cls", "setup", "warn"}),
    Step(chunks(("cls", "class MyWarn(UserWarning):\n    pass"),
                ("setup", "import warnings\nwarnings.simplefilter('error', MyWarn)"),
                ("warn", "try:\n    warnings.warn('y', MyWarn)\nexcept MyWarn:\n    print('raised again')")),
         {"warn"}, replayed={"setup"}, note="a filter naming a document class is rebuilt by replay"),
])

# ---- environment ----
scenario("os.environ",
         "import os\nos.environ['WEFT_T_MODE'] = 'fast'",
         "import os\nos.environ['WEFT_T_MODE'] = 'slow'",
         ("show", "import os\nprint(os.environ.get('WEFT_T_MODE'))"),
         setup_same="import os\nos.environ['WEFT_T_MODE'] = 'slow'\nn = 3")

scenario("os.environ seen by a subprocess",
         "import os\nos.environ['WEFT_T_GREETING'] = 'hello'",
         "import os\nos.environ['WEFT_T_GREETING'] = 'bye'",
         ("show", "import subprocess\nprint(subprocess.run(['sh', '-c', 'echo $WEFT_T_GREETING'], "
                  "capture_output=True, text=True).stdout.strip())"))

scenario("os.putenv",
         "import os\nos.putenv('WEFT_T_PUT', 'one')",
         "import os\nos.putenv('WEFT_T_PUT', 'two')",
         ("show", "import subprocess\nprint(subprocess.run(['sh', '-c', 'echo ${WEFT_T_PUT:-unset}'], "
                  "capture_output=True, text=True).stdout.strip())"))

scenario("os.environ deletion",
         "import os\nos.environ['WEFT_T_DEL'] = '1'\ndel os.environ['WEFT_T_DEL']",
         "import os\nos.environ['WEFT_T_DEL'] = '2'",
         ("show", "import os\nprint(os.environ.get('WEFT_T_DEL', 'absent'))"))

# ---- working directory ----
run_scenario("os.chdir", [
    Step(chunks(("cd", "import os\nos.chdir('data')"), ("read", "print(open('v.txt').read())"),
                ("where", "import os\nprint(os.path.basename(os.getcwd()))")),
         {"cd", "read", "where"}, files={"data/v.txt": "in data\n", "data2/v.txt": "in data2\n"}),
    Step(chunks(("cd", "import os\nos.chdir('data')"), ("read", "print(open('v.txt').read().upper())"),
                ("where", "import os\nprint(os.path.basename(os.getcwd()))")),
         {"read"}, note="reader edited: cwd restored from the cached chunk"),
    Step(chunks(("cd", "import os\nos.chdir('data2')"), ("read", "print(open('v.txt').read().upper())"),
                ("where", "import os\nprint(os.path.basename(os.getcwd()))")),
         {"cd", "read", "where"}, note="chdir elsewhere"),
    Step(chunks(("cd", "import os\nos.chdir('data2')"), ("read", "print(open('v.txt').read().upper())"),
                ("where", "import os\nprint(os.path.basename(os.getcwd()), 1)")),
         {"where"}),
])

# ---- sys.path ----
run_scenario("sys.path insert and a module in a subfolder", [
    Step(chunks(("path", "import sys\nsys.path.insert(0, 'lib')"),
                ("use", "import helper\nprint(helper.VALUE)")),
         {"path", "use"}, files={"lib/helper.py": "VALUE = 41\n"}),
    Step(chunks(("path", "import sys\nsys.path.insert(0, 'lib')"),
                ("use", "import helper\nprint(helper.VALUE + 1)")),
         {"use"}, note="reader edited: sys.path restored"),
    Step(chunks(("path", "import sys\nsys.path.insert(0, 'lib2')"),
                ("use", "import helper\nprint(helper.VALUE + 1)")),
         {"path", "use"}, files={"lib2/helper.py": "VALUE = 99\n"}, note="path changed"),
])

run_scenario("sys.path append, printed", [
    Step(chunks(("path", "import sys, os\nsys.path.append(os.path.abspath('extra'))"),
                ("show", "import sys, os\nprint([os.path.basename(p) for p in sys.path if p.endswith('extra')])")),
         {"path", "show"}),
    Step(chunks(("path", "import sys, os\nsys.path.append(os.path.abspath('extra'))"),
                ("show", "import sys, os\nprint(len([p for p in sys.path if p.endswith('extra')]))")),
         {"show"}),
])

# ---- sys.modules ----
FAKE = ("fake", "import sys, types\nm = types.ModuleType('fakecfg')\nm.LEVEL = 3\nsys.modules['fakecfg'] = m\ndel m")
run_scenario("a fake module put in sys.modules", [
    Step(chunks(FAKE, ("use", "import fakecfg\nprint(fakecfg.LEVEL)")), {"fake", "use"}),
    Step(chunks(FAKE, ("use", "import fakecfg\nprint(fakecfg.LEVEL * 2)")), {"use"}, replayed={"fake"},
         note="reader edited: the module cannot be saved, its chunk is replayed"),
    Step(chunks(("fake", FAKE[1].replace("LEVEL = 3", "LEVEL = 5")), ("use", "import fakecfg\nprint(fakecfg.LEVEL * 2)")),
         {"fake", "use"}, note="the fake module changed"),
])

run_scenario("a local module imported once (import side effects)", [
    Step(chunks(("imp", "import chatty"), ("again", "import chatty\nprint(chatty.N)")),
         {"imp", "again"}, files={"chatty.py": "print('chatty loaded')\nN = 1\n"}),
    Step(chunks(("imp", "import chatty"), ("again", "import chatty\nprint(chatty.N, 'x')")),
         {"again"}, note="second import must not print again"),
    Step(chunks(("imp", "import chatty"), ("again", "import chatty\nprint(chatty.N, 'x')")),
         {"imp", "again"}, files={"chatty.py": "print('chatty loaded')\nN = 2\n"}, note="module file edited"),
])

# ---- decimal ----
scenario("decimal context precision",
         "import decimal\ndecimal.getcontext().prec = 5",
         "import decimal\ndecimal.getcontext().prec = 8",
         ("show", "from decimal import Decimal\nprint(Decimal(1) / Decimal(7))"),
         setup_same="import decimal\ndecimal.getcontext().prec = 8\nw = 0")

scenario("decimal rounding",
         "import decimal\ndecimal.getcontext().rounding = decimal.ROUND_DOWN",
         "import decimal\ndecimal.getcontext().rounding = decimal.ROUND_UP",
         ("show", "from decimal import Decimal\nprint(Decimal('1.25').quantize(Decimal('0.1')))"))

# ---- cache=False setup chunk ----
run_scenario("cache=False setup chunk sets a setting", [
    Step(chunks(("setup, cache=False", "import numpy as np\nnp.set_printoptions(precision=2)"),
                ("show", "print(np.array([1/3]))")), {"setup", "show"}),
    Step(chunks(("setup, cache=False", "import numpy as np\nnp.set_printoptions(precision=2)"),
                ("show", "print(np.array([1/3]))")), {"setup"}, note="setting value unchanged: reader cached"),
    Step(chunks(("setup, cache=False", "import numpy as np\nnp.set_printoptions(precision=4)"),
                ("show", "print(np.array([1/3]))")), {"setup", "show"}, note="value changed: reader re-runs"),
])

# ---- a chunk before the setting is unaffected by it, also when replayed ----
run_scenario("replay of a chunk before the setting sees the old setting", [
    Step(chunks(("gen", "import numpy as np\nparts = (p for p in str(np.array([1/3, 2/3])).split())"),
                ("setup", "np.set_printoptions(precision=2)"),
                ("use", "print(next(parts))")), {"gen", "setup", "use"}),
    Step(chunks(("gen", "import numpy as np\nparts = (p for p in str(np.array([1/3, 2/3])).split())"),
                ("setup", "np.set_printoptions(precision=2)"),
                ("use", "print(next(parts), 'again')")), {"use"}, replayed={"gen"},
         note="gen replayed at the default precision"),
])

# ---- several settings from one setup chunk ----
SETUP = ("import numpy as np, pandas as pd, warnings, os\nnp.set_printoptions(precision=3)\n"
         "pd.set_option('display.width', 40)\nwarnings.simplefilter('ignore', FutureWarning)\n"
         "os.environ['WEFT_T_ALL'] = 'yes'")
run_scenario("report setup chunk with several settings", [
    Step(chunks(("setup", SETUP), ("a", "print(np.pi * np.ones(2))"), ("b", "print(os.environ['WEFT_T_ALL'])")),
         {"setup", "a", "b"}),
    Step(chunks(("setup", SETUP), ("a", "print(np.e * np.ones(2))"), ("b", "print(os.environ['WEFT_T_ALL'])")),
         {"a"}),
    Step(chunks(("setup", SETUP.replace("yes", "no")), ("a", "print(np.e * np.ones(2))"),
                ("b", "print(os.environ['WEFT_T_ALL'])")), {"setup", "a", "b"}),
])

# ---- logging (not saved: replayed) ----
run_scenario("logging.basicConfig in a setup chunk", [
    Step(chunks(("setup", "import logging\nlogging.basicConfig(level=logging.INFO, format='%(levelname)s|%(message)s')"),
                ("log", "import logging\nlogging.info('hello')\nprint('done')")), {"setup", "log"}),
    Step(chunks(("setup", "import logging\nlogging.basicConfig(level=logging.INFO, format='%(levelname)s|%(message)s')"),
                ("log", "import logging\nlogging.info('hello again')\nprint('done')")), {"log"}, replayed={"setup"},
         note="handlers cannot be saved: the setup chunk is replayed"),
    Step(chunks(("setup", "import logging\nlogging.basicConfig(level=logging.WARNING, format='%(levelname)s|%(message)s')"),
                ("log", "import logging\nlogging.info('hello again')\nprint('done')")), {"setup", "log"}),
])

# ---- locale ----
scenario("locale.setlocale",
         "import locale\nlocale.setlocale(locale.LC_ALL, 'C.UTF-8')",
         "import locale\nlocale.setlocale(locale.LC_ALL, 'C')",
         ("show", "import locale\nprint(locale.setlocale(locale.LC_CTYPE))"))

# ---- values without a stable text ----
run_scenario("numpy formatter lambda (unsaveable value: replay)", [
    Step(chunks(("setup", "import numpy as np\nnp.set_printoptions(formatter={'float': lambda x: f'<{x:.1f}>'})"),
                ("show", "print(np.array([1/3, 2.5]))")), {"setup", "show"}),
    Step(chunks(("setup", "import numpy as np\nnp.set_printoptions(formatter={'float': lambda x: f'<{x:.1f}>'})"),
                ("show", "print(np.array([1/3, 2.5]), 'x')")), {"show"}, replayed={"setup"}),
    Step(chunks(("setup", "import numpy as np\nnp.set_printoptions(formatter={'float': lambda x: f'[{x:.2f}]'})"),
                ("show", "print(np.array([1/3, 2.5]), 'x')")), {"setup", "show"}),
])

run_scenario("pandas float_format bound method", [
    Step(chunks(("setup", "import pandas as pd\npd.options.display.float_format = '{:.1f}'.format"),
                ("show", "print(pd.DataFrame({'v': [1/3, 2/3]}))")), {"setup", "show"}),
    Step(chunks(("setup", "import pandas as pd\npd.options.display.float_format = '{:.1f}'.format"),
                ("show", "print(pd.DataFrame({'v': [1/3, 2/7]}))")), {"show"}),
    Step(chunks(("setup", "import pandas as pd\npd.options.display.float_format = '{:.3f}'.format"),
                ("show", "print(pd.DataFrame({'v': [1/3, 2/7]}))")), {"setup", "show"}),
])

# ---- the writer goes away, or moves ----
run_scenario("setup chunk removed, then moved after the reader", [
    Step(chunks(("setup", "import numpy as np\nnp.set_printoptions(precision=2)"),
                ("show", "import numpy as np\nprint(np.array([1/3]))")), {"setup", "show"}),
    Step(chunks(("show", "import numpy as np\nprint(np.array([1/3]))")), {"show"}, note="setup removed"),
    Step(chunks(("show", "import numpy as np\nprint(np.array([1/3]))"),
                ("setup", "import numpy as np\nnp.set_printoptions(precision=2)"),
                ("after", "print(np.array([2/3]))")), {"setup", "after"}, note="setup after the reader"),
    Step(chunks(("show", "import numpy as np\nprint(np.array([1/3]))"),
                ("setup", "import numpy as np\nnp.set_printoptions(precision=2)"),
                ("after", "print(np.array([2/3]))")), set(), no_python=True, note="nothing changed"),
])

# ---- term=True reader, inline expression reader ----
scenario("term=True reader",
         "import numpy as np\nnp.set_printoptions(precision=2)",
         "import numpy as np\nnp.set_printoptions(precision=4)",
         ("show, term=True", "import numpy as np\nnp.array([1/3, 1/7])"),
         reader2=("show, term=True", "import numpy as np\nnp.array([1/3, 1/7])\n1 + 1"))

INLINE_DOC = ("<<setup>>=\nimport numpy as np\nnp.set_printoptions(precision={p})\n@\n\n"
              "The value is <%= np.array([1/3]) %> here.\n\n<<show>>=\nprint(np.array([2/3]){extra})\n@\n")
run_scenario("inline expression after a setting", [
    Step(INLINE_DOC.format(p=2, extra=""), {"setup", "show"}),
    Step(INLINE_DOC.format(p=2, extra=", 1"), {"show"}),
    Step(INLINE_DOC.format(p=5, extra=", 1"), {"setup", "show"}),
])

# ---- a chunk that changes a setting and raises ----
run_scenario("setting made by a chunk that raised (error=True)", [
    Step(chunks(("setup, error=True", "import numpy as np\nnp.set_printoptions(precision=2)\nraise ValueError('x')"),
                ("show", "import numpy as np\nprint(np.array([1/3]))")), {"setup", "show"}),
    Step(chunks(("setup, error=True", "import numpy as np\nnp.set_printoptions(precision=2)\nraise ValueError('x')"),
                ("show", "import numpy as np\nprint(np.array([1/3]), 2)")), None),
])

# ---- local modules that import each other, found through sys.path ----
LIBS = {"lib/alpha.py": "import beta\nA = beta.B + 1\nprint('alpha loaded')\n", "lib/beta.py": "B = 10\nprint('beta loaded')\n"}
run_scenario("local modules importing each other through sys.path", [
    Step(chunks(("setup", "import sys\nsys.path.insert(0, 'lib')\nimport alpha"),
                ("use", "import alpha, beta\nprint(alpha.A, alpha.beta is beta)")), {"setup", "use"}, files=LIBS),
    Step(chunks(("setup", "import sys\nsys.path.insert(0, 'lib')\nimport alpha"),
                ("use", "import alpha, beta\nprint(alpha.A, alpha.beta is beta, 2)")), {"use"}),
    Step(chunks(("setup", "import sys\nsys.path.insert(0, 'lib')\nimport alpha"),
                ("use", "import alpha, beta\nprint(alpha.A, alpha.beta is beta, 2)")), {"setup", "use"},
         files={"lib/beta.py": "B = 20\nprint('beta loaded')\n"}, note="an imported module's file changed"),
])

finish()
