"""Cache soundness, issue 8 classes 7 and 8: inputs the open() audit hook does
not see (listings, existence checks, optional files, environment variables,
the working directory, subprocesses) and files a chunk deletes, writes into a
folder the user removes, or writes through a memory map. Every step compares
the cached render with a --no-cache one (soundlib.py) and asserts the chunks
that ran; "nothing changed" steps assert that Python did not start.
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import Scratch, check, finish, summary, weft  # noqa: E402


def scenario(name, steps):
    """run_scenario, where a step whose doc is None keeps the previous step's document."""
    doc = None
    for st in steps:
        if st.doc is None:
            st.doc = doc
        doc = st.doc
    return run_scenario(name, steps)


# ---- listings ----

LS = ("ls", "import glob\nfiles = sorted(glob.glob('data/*.csv'))\nprint(files)")
USE = ("use", "print(len(files), 'files')")
scenario("glob listing", [
    Step(chunks(LS, USE), {"ls", "use"}, files={"data/a.csv": "1\n", "data/b.csv": "2\n"}),
    Step(chunks(LS, USE), set(), note="nothing changed", no_python=True),
    Step(chunks(LS, USE), {"ls", "use"}, files={"data/c.csv": "3\n"}, note="a file added to the folder"),
    Step(chunks(LS, USE), set(), note="nothing changed again", no_python=True),
    Step(chunks(LS, USE), {"ls", "use"}, files={"data/a.csv": None}, note="a file removed"),
    Step(chunks(LS, ("use", "print(len(files), 'files', files[0])")), {"use"}, note="only the reader edited"),
])

WALK = ("walk", """
import os
tree = []
for root, dirs, names in os.walk('data'):
    dirs.sort()
    tree.append((root, sorted(names)))
print(tree)
""")
scenario("os.walk, os.listdir, scandir and pathlib iterdir", [
    Step(chunks(WALK, ("lst", "import os\nprint(sorted(os.listdir('data/sub')))"),
                ("scan", "import os\nwith os.scandir('other') as it:\n    print(sorted(e.name for e in it))"),
                ("path", "import pathlib\nprint(sorted(p.name for p in pathlib.Path('more').iterdir()))")),
         {"walk", "lst", "scan", "path"},
         files={"data/x.txt": "x", "data/sub/y.txt": "y", "other/o.txt": "o", "more/m.txt": "m"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"walk", "lst"}, files={"data/sub/z.txt": "z"}, note="a file in a subfolder"),
    Step(None, {"scan"}, files={"other/p.txt": "p"}, note="scandir's folder"),
    Step(None, {"path"}, files={"more/m.txt": None}, note="pathlib's folder"),
    Step(None, {"walk"}, files={"data/newdir/q.txt": "q"}, note="a new subfolder"),
])

RGLOB = ("rglob", "import glob, pathlib\nprint(sorted(glob.glob('data/**/*.csv', recursive=True)))\n"
                  "print(sorted(p.name for p in pathlib.Path('data').glob('*/*.csv')))")
scenario("recursive glob and pathlib glob", [
    Step(chunks(RGLOB), {"rglob"}, files={"data/a.csv": "1", "data/x/b.csv": "2"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"rglob"}, files={"data/x/y/c.csv": "3"}, note="a file two folders down"),
    Step(None, {"rglob"}, files={"data/z/d.csv": "4"}, note="a new folder with a match"),
])

# ---- existence checks, optional files ----

OPT = ("opt", """
import os
if os.path.exists('extra.csv'):
    extra = open('extra.csv').read().split()
else:
    extra = []
print('extra:', extra)
""")
TOTAL = ("total", "print(len(extra))")
scenario("optional file that appears later", [
    Step(chunks(OPT, TOTAL), {"opt", "total"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"opt", "total"}, files={"extra.csv": "1 2 3\n"}, note="the file appears"),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"opt", "total"}, files={"extra.csv": "1 2\n"}, note="its content changes"),
    Step(None, {"opt"}, files={"extra.csv": None},
         note="it goes away: the reader's entry from step 1 matches again"),
])

TRY = ("try", """
try:
    with open('settings.txt') as f:
        mode = f.read().strip()
except FileNotFoundError:
    mode = 'default'
print('mode', mode)
""")
scenario("open() of a missing file caught, file appears later", [
    Step(chunks(TRY), {"try"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"try"}, files={"settings.txt": "fast\n"}, note="the file appears"),
    Step(None, {"try"}, files={"settings.txt": None}, note="and goes"),
])

PROBES = ("probes", """
import os, pathlib
print(os.path.isfile('a.txt'), os.path.isdir('d'), os.path.getsize('b.txt'))
print(pathlib.Path('c.txt').exists(), pathlib.Path('d').is_dir())
""")
scenario("isfile, isdir, getsize and pathlib checks", [
    Step(chunks(PROBES), {"probes"}, files={"b.txt": "bb"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"probes"}, files={"a.txt": "a"}, note="isfile turns true"),
    Step(None, {"probes"}, files={"d/k.txt": "k"}, note="a folder appears"),
    Step(None, {"probes"}, files={"b.txt": "bbbb"}, note="size changes"),
    Step(None, {"probes"}, files={"c.txt": "c"}, note="pathlib exists turns true"),
    Step(None, set(), note="nothing changed", no_python=True),
])

# ---- environment ----

ENV = ("env", "import os\nlevel = os.environ.get('WEFT_T_LEVEL', 'low')\nprint('level', level)")
ENV2 = ("getenv", "import os\nprint(os.getenv('WEFT_T_OTHER'), 'WEFT_T_FLAG' in os.environ)")
SHOW = ("show", "print(level.upper())")
scenario("environment variables read", [
    Step(chunks(ENV, ENV2, SHOW), {"env", "getenv", "show"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"env", "show"}, env={"WEFT_T_LEVEL": "high"}, note="a variable set"),
    Step(None, set(), env={"WEFT_T_LEVEL": "high"}, note="same value", no_python=True),
    Step(None, {"env", "show"}, env={"WEFT_T_LEVEL": "mid"}, note="value changed"),
    Step(None, {"getenv"}, env={"WEFT_T_LEVEL": "mid", "WEFT_T_FLAG": ""}, note="membership test"),
    Step(None, {"getenv"}, env={"WEFT_T_LEVEL": "mid", "WEFT_T_FLAG": "", "WEFT_T_OTHER": "o"},
         note="getenv"),
    Step(None, {"env", "getenv"}, note="all unset again: the reader's first entry matches"),
])

DEF = ("deff", "import os\ndef threshold():\n    return float(os.environ.get('WEFT_T_THRESHOLD', '0.5'))")
CALL = ("call", "t = threshold()\nprint('threshold', t)")
AFTER = ("after", "print(t * 2)")
scenario("environment read inside a function defined in an earlier chunk", [
    Step(chunks(DEF, CALL, AFTER), {"deff", "call", "after"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"call", "after"}, env={"WEFT_T_THRESHOLD": "0.9"}, note="the chunk calling it re-runs"),
])

ALL = ("all", "import os\nprint(sorted(k for k in dict(os.environ) if k.startswith('WEFT_T_')))")
scenario("whole environment read", [
    Step(chunks(ALL), {"all"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"all"}, env={"WEFT_T_NEW": "1"}, note="a variable added"),
])

SETS = ("sets", "import os\nos.environ['WEFT_T_MINE'] = 'x'\nprint(os.environ['WEFT_T_MINE'])")
scenario("a variable the chunk sets itself is not an outside input", [
    Step(chunks(SETS), {"sets"}),
    Step(None, set(), note="nothing changed", no_python=True),
])

# ---- subprocesses ----

SUB = ("sub", "import subprocess\nout = subprocess.run(['cat', 'data/a.csv'], capture_output=True, "
              "text=True).stdout\nprint(out)")
READ = ("read", "print(out.upper())")
OTHER = ("other", "print('unrelated')")
scenario("subprocess without declared inputs re-runs every time", [
    Step(chunks(SUB, READ, OTHER), {"sub", "read", "other"}, files={"data/a.csv": "one\n"}),
    Step(None, {"sub", "read"}, note="nothing changed: the subprocess chunk still runs, and its reader"),
    Step(None, {"sub", "read"}, files={"data/a.csv": "two\n"}, note="what it reads changed"),
])

SUBD = ("sub, depends_on_files=['data/*.csv']", SUB[1])
scenario("subprocess with depends_on_files", [
    Step(chunks(SUBD, READ), {"sub", "read"}, files={"data/a.csv": "one\n"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"sub", "read"}, files={"data/a.csv": "two\n"}, note="a declared file changed"),
    Step(None, {"sub", "read"}, files={"data/b.csv": "b\n"}, note="a file now matches the pattern"),
    Step(None, set(), files={"data/notes.txt": "n\n"}, note="a file the pattern does not match",
         no_python=True),
])

WC = ("wc, depends_on_files='data.csv'",
      "import subprocess\nn = int(subprocess.check_output(['wc', '-l', 'data.csv']).split()[0])\nprint(n, 'lines')")
scenario("subprocess reading one declared file", [
    Step(chunks(WC), {"wc"}, files={"data.csv": "a\nb\n"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(None, {"wc"}, files={"data.csv": "a\nb\nc\n"}, note="the file changed"),
    Step(None, {"wc"}, files={"data.csv": None}, status=1, note="the file removed: an error, as fresh"),
])

TMPF = ("tmpf", "import tempfile, os\nwith tempfile.TemporaryDirectory() as d:\n"
                "    p = os.path.join(d, 'x.txt')\n    open(p, 'w').write('hello')\n"
                "    size = os.path.getsize(p)\n    names = os.listdir(d)\nprint(size, names)")
scenario("scratch work in a temporary folder is not an input", [
    Step(chunks(TMPF), {"tmpf"}),
    Step(None, set(), note="nothing changed", no_python=True),
])

SYS = ("sys, cache_extra=open('data/a.csv').read()",
       "import os\nrc = os.system('cat data/a.csv > copy.txt')\nprint(open('copy.txt').read())")
scenario("os.system with cache_extra", [
    Step(chunks(SYS), {"sys"}, files={"data/a.csv": "one\n"}),
    Step(None, set(), note="nothing changed"),
    Step(None, {"sys"}, files={"data/a.csv": "two\n"}, note="cache_extra's value changed"),
])

# ---- written files ----

MAKE_TMP = ("make", "with open('tmp.txt', 'w') as f:\n    f.write('scratch')")
CONSUME = ("consume", "import os\ntext = open('tmp.txt').read()\nos.remove('tmp.txt')")
CHECK = ("check", "import os\nprint(text, os.path.exists('tmp.txt'))")
scenario("temp file written, then deleted by a later chunk", [
    Step(chunks(MAKE_TMP, CONSUME, CHECK), {"make", "consume", "check"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(chunks(MAKE_TMP, CONSUME, ("check", "import os\nprint(text, os.path.exists('tmp.txt'), 1)")),
         {"check"}, note="a later chunk edited: the hits redo the write and the deletion, in order"),
])

TREE = ("tree", "import os\nos.makedirs('scratch/deep', exist_ok=True)\n"
                "open('scratch/deep/f.txt', 'w').write('f')\nopen('keep.txt', 'w').write('k')")
RMTREE = ("rmtree", "import shutil\nshutil.rmtree('scratch')")
LOOK = ("look", "import os\nprint(os.path.exists('scratch'), open('keep.txt').read())")
scenario("folder made, then removed with shutil.rmtree", [
    Step(chunks(TREE, RMTREE, LOOK), {"tree", "rmtree", "look"}),
    Step(chunks(TREE, RMTREE, ("look", "import os\nprint(os.path.isdir('scratch'), open('keep.txt').read())")),
         {"look"}, note="the reader edited"),
])

MKDIR = ("mk", "import os\nos.makedirs('out/sub', exist_ok=True)\nopen('out/sub/r.txt', 'w').write('result')")
RD = ("rd", "print(open('out/sub/r.txt').read())")
scenario("written file whose folder the user removed", [
    Step(chunks(MKDIR, RD), {"mk", "rd"}),
    Step(chunks(MKDIR, ("rd", "print(open('out/sub/r.txt').read(), 2)")), {"rd"}, files={"out": None},
         note="folder removed and the reader edited: the hit makes the folder again"),
    Step(chunks(MKDIR, ("rd", "import os\nprint(open('out/sub/r.txt').read(), os.listdir('out'))")), {"rd"},
         files={"out": None}, note="again, the reader also lists the folder"),
])

MOVE = ("move", "import os\nopen('part.tmp', 'w').write('done')\nos.replace('part.tmp', 'final.txt')")
SEE = ("see", "import os\nprint(sorted(n for n in os.listdir('.') if n.endswith(('.tmp', '.txt'))))")
scenario("file written then renamed", [
    Step(chunks(MOVE, SEE), {"move", "see"}),
    Step(chunks(MOVE, ("see", "import os\nprint(sorted(n for n in os.listdir('.') if n.endswith('.txt')))")),
         {"see"}, note="reader edited"),
])

PL = ("pl", "import pathlib\np = pathlib.Path('work')\np.mkdir(exist_ok=True)\n(p / 'a.tmp').write_text('a')\n"
            "(p / 'a.tmp').rename(p / 'a.txt')\n(p / 'b.txt').write_text('b')")
PL2 = ("pl2", "import pathlib\npathlib.Path('work/b.txt').unlink()")
PLS = ("pls", "import os\nprint(sorted(os.listdir('work')))")
scenario("pathlib mkdir, rename and unlink", [
    Step(chunks(PL, PL2, PLS), {"pl", "pl2", "pls"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(chunks(PL, PL2, ("pls", "import os\nprint(sorted(os.listdir('work')), 'again')")), {"pls"},
         files={"work": None}, note="folder removed, reader edited: the hits redo it all"),
])

MM = ("mm", "import numpy as np\nmm = np.memmap('m.dat', dtype='float64', mode='w+', shape=(4,))\nmm[:] = 1.0\n"
            "mm.flush()")
BUMP = ("bump", "mm[1] = 5.0")
DUMP = ("dump", "import numpy as np\nprint(np.fromfile('m.dat', dtype='float64'))")
scenario("writes through np.memmap in a later chunk", [
    Step(chunks(MM, BUMP, DUMP), {"mm", "bump", "dump"}),
    Step(None, set(), note="nothing changed", no_python=True),
    Step(chunks(MM, BUMP, ("dump", "import numpy as np\nprint(np.fromfile('m.dat', dtype='float64').sum())")),
         {"dump"}, note="the reader of the file edited"),
])

MMR = ("mmr", "import numpy as np\nm2 = np.memmap('w.dat', dtype='int64', mode='r+', shape=(3,))\nm2[0] += 1\n"
              "del m2")
scenario("a file opened r+ through np.memmap and updated in place", [
    Step(chunks(MMR, ("dump", "import numpy as np\nprint(np.fromfile('w.dat', dtype='int64'))")), {"mmr", "dump"},
         files={"w.dat": lambda p: open(p, "wb").write(bytes(24))}),
    Step(chunks(MMR, ("dump", "import numpy as np\nprint(np.fromfile('w.dat', dtype='int64').tolist())")),
         {"mmr", "dump"}, note="the file it updated changed since (it read it): it runs again"),
])


# ---- the working directory ----

def cwd_scenario():
    """A chunk printing os.getcwd(): a cached render in a moved copy of the folder must re-run it."""
    work = Scratch()
    cache = os.path.join(work.path, "cache")
    a = os.path.join(work.path, "a")
    os.makedirs(a)
    with open(os.path.join(a, "doc.mdw"), "w") as f:
        f.write(chunks(("here, cache=True", "import os\nprint(os.getcwd())"), ("other, cache=True", "print(1 + 1)"),
                       ("rel, cache=True", "import os\nprint(os.path.abspath('x.txt'))")))
    args = ["weave", "--cache", "--cache-dir", cache, "-q", "-f", "markdown", "-o", "r.md", "--summary-json",
            "s.json", "--explain", "doc.mdw"]
    r1 = weft(*args, cwd=a)
    r2 = weft(*args, cwd=a)
    s2 = summary(os.path.join(a, "s.json"))
    check("cwd: unchanged folder, Python not started", r2.returncode == 0 and s2["engine_started"] is False,
          r2.stderr)
    b = os.path.join(work.path, "b")
    shutil.copytree(a, b)
    r3 = weft(*args, cwd=b)
    s3 = summary(os.path.join(b, "s.json"))
    ran = {c["name"] for c in s3["chunks"] if c["state"] == "ran"}
    check("cwd: moved folder re-runs the chunks that read the working directory", ran == {"here", "rel"},
          f"{ran}: {r3.stderr}")
    why = {c["name"]: c["why"] for c in s3["chunks"]}
    check("cwd: the reason", why.get("here") == "the working directory changed", str(why))
    text = open(os.path.join(b, "r.md")).read()
    check("cwd: the report names the new folder", os.path.realpath(b) in text and os.path.realpath(a) not in text,
          text)
    fresh = weft("weave", "--no-cache", "-q", "-f", "markdown", "-o", "f.md", "doc.mdw", cwd=b)
    check("cwd: identical to an uncached render", fresh.returncode == 0 and
          open(os.path.join(b, "f.md")).read() == text)
    st = weft("cache", "status", "--cache-dir", cache, "doc.mdw", cwd=a)
    check("cwd: cache status in the first folder says stale with the reason",
          "stale      the working directory changed" in st.stdout, st.stdout + st.stderr)
    del r1
    work.cleanup()


cwd_scenario()


def explain_scenario():
    """--explain and cache status give the recorded input that changed."""
    work = Scratch()
    d = work.path
    os.makedirs(os.path.join(d, "data"))
    open(os.path.join(d, "data", "a.csv"), "w").write("1")
    with open(os.path.join(d, "doc.mdw"), "w") as f:
        f.write(chunks(("ls, cache=True", LS[1]), ("env, cache=True", ENV[1]),
                       ("sub, cache=True", "import subprocess\nsubprocess.run(['true'])")))
    args = ["weave", "--cache", "-q", "-f", "markdown", "-o", "r.md", "--explain", "doc.mdw"]
    weft(*args, cwd=d)
    open(os.path.join(d, "data", "b.csv"), "w").write("2")
    st = weft("cache", "status", "doc.mdw", cwd=d, env={"WEFT_T_LEVEL": "x"})
    check("status: listing reason", "folder data/ listing changed" in st.stdout, st.stdout + st.stderr)
    check("status: environment reason", "environment variable WEFT_T_LEVEL changed" in st.stdout, st.stdout)
    check("status: subprocess reason", "starts a subprocess (true)" in st.stdout, st.stdout)
    r = weft(*args, cwd=d, env={"WEFT_T_LEVEL": "x"})
    check("explain: listing reason", "ls: folder data/ listing changed" in r.stdout + r.stderr, r.stdout + r.stderr)
    check("explain: subprocess warning", "chunk sub re-runs every render" in r.stderr, r.stderr)
    work.cleanup()


explain_scenario()

finish()
