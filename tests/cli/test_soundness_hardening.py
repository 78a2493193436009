"""Hardening of the cache's restore path and of the store under faults (issue 13).

1. The worker reads the blob the parent verified, never a file put in its
   place afterwards: restores, the random state and settings reach the worker
   as open descriptors (SCM_RIGHTS), not paths. The test hook
   WEFT_TEST_BLOB_SWAP (src/cache/store_fault.h) renames another pickle over
   every blob right after its check; the render must still equal --no-cache,
   restore (not replay) the names, and the replaced files must really be on
   disk (so a reader that re-opened the path would have been fooled).
2. Store faults (WEFT_STORE_FAULT: ENOSPC, EIO) active during whole renders of
   a multi-step scenario, restores included: each render exits 0 and equals
   --no-cache; once the faults are gone the cache fills, `weft cache status`
   says every chunk is fresh, and a --frozen render (from the cache alone)
   equals --no-cache: nothing corrupt was ever stored.
"""

import os
import pickle
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
from soundlib import Step, chunks, run_scenario  # noqa: E402
from weftlib import Scratch, check, finish, summary, weft  # noqa: E402

# ---- 1. a blob replaced after its check is never read ----

DOC = """A chunk whose names, random state and numpy settings later chunks need.

```python
import random
import numpy as np
random.seed(3)
np.set_printoptions(precision=3)
x = 41
a = np.arange(5) / 3
```

```python
print(x + {k}, a, random.random())
```
"""


def render(folder, cache, tag, env=None):
    """Render doc.pmd to report-TAG.md: with the cache folder `cache`, or none (None)."""
    out, summ = f"report-{tag}.md", f"summary-{tag}.json"
    cache_args = ["--cache", "--cache-dir", cache] if cache else ["--no-cache"]
    r = weft("weave", *cache_args, "-f", "markdown", "-o", out, "--summary-json", summ, "doc.pmd",
             cwd=folder, env=env)
    p = os.path.join(folder, out)
    text = open(p).read() if os.path.exists(p) else None
    s = summary(os.path.join(folder, summ)) if os.path.exists(os.path.join(folder, summ)) else {"chunks": []}
    return r, text, [c["state"] for c in s["chunks"]]


w = Scratch()
cache = os.path.join(w.path, "cache")
evil = os.path.join(w.path, "evil.pickle")
with open(evil, "wb") as f:
    f.write(pickle.dumps(1000))   # a valid pickle of another value: x would print 1001
with open(evil, "rb") as f:
    evil_bytes = f.read()
w.file("doc.pmd", DOC.format(k=1))
r1, t1, s1 = render(w.path, cache, "c1")
check("blob swap: first render fills the cache", r1.returncode == 0 and s1[:1] == ["ran"], r1.stderr)

w.file("doc.pmd", DOC.format(k=2))
r2, t2, s2 = render(w.path, cache, "c2", env={"WEFT_TEST_BLOB_SWAP": evil})
rf, tf, _ = render(w.path, None, "fresh2")
swapped = r2.stderr.count("test hook WEFT_TEST_BLOB_SWAP: replaced")
check("blob swap: the hook replaced the blobs after their check (names, random state, settings)",
      swapped >= 3, r2.stderr)
on_disk = 0
for root, _, files in os.walk(os.path.join(cache, "blobs")):
    for name in files:
        with open(os.path.join(root, name), "rb") as f:
            on_disk += f.read() == evil_bytes
check("blob swap: the replaced files are what the blob paths now hold", on_disk == swapped,
      f"{on_disk} of {swapped}")
check("blob swap: the render equals --no-cache (43, never 1002)",
      r2.returncode == 0 and t2 is not None and t2 == tf and "43 " in t2,
      f"{r2.stderr}\n--- cached\n{t2}\n--- uncached\n{tf}")
check("blob swap: chunk 1 restored from the cache, not replayed, without a failed restore",
      s2[:1] == ["cached"] and "could not" not in r2.stderr, f"{s2}\n{r2.stderr}")

# The next render, hook off: the replaced blobs fail their hash and are rebuilt.
w.file("doc.pmd", DOC.format(k=3))
r3, t3, s3 = render(w.path, cache, "c3")
rf3, tf3, _ = render(w.path, None, "fresh3")
check("blob swap: the next render sees the replaced blobs as corrupt and equals --no-cache",
      r3.returncode == 0 and t3 == tf3 and "corrupt" in r3.stderr, f"{s3}\n{r3.stderr}")
w.cleanup()


# ---- 2. store faults during whole renders, restores included ----

def fault_steps(fault):
    """Edits that run, restore and re-save chunks, with `fault` active in the middle renders."""
    env = {"WEFT_STORE_FAULT": fault}
    base = [("a", "import numpy as np\narr = np.arange(300000) * 2\nlst = [1, 2]\nprint(arr.sum())"),
            ("b", "lst.append(int(arr[3]))\nprint(lst)"),
            ("c", "print(len(lst), arr[:3])")]
    edit_c = base[:2] + [("c", "print(len(lst) + 1, arr[:4])")]
    edit_b = [base[0], ("b", "lst.append(int(arr[5]))\nprint(lst)"), edit_c[2]]
    return [
        Step(chunks(*base), ran=None, env=env, note=f"{fault}, empty cache"),
        Step(chunks(*edit_c), ran=None, env=env, note=f"{fault}, edit c"),
        Step(chunks(*edit_b), ran=None, env=env, note=f"{fault}, edit b"),
        Step(chunks(*edit_b), ran=None, note="faults off: the cache fills"),
        Step(chunks(*edit_b), ran=set(), note="faults off: all from the cache"),
    ]


def check_store(fault, doc_dir, cache):
    """`weft cache status` says fresh for every chunk, the index is sound, --frozen equals --no-cache."""
    st = weft("cache", "status", "--cache", "--cache-dir", cache, "doc.mdw", cwd=doc_dir)
    rows = [ln for ln in st.stdout.splitlines() if ln.strip()]
    check(f"store fault {fault}: cache status exits 0, every chunk fresh",
          st.returncode == 0 and rows and all("stale" not in ln and "not cached" not in ln for ln in rows),
          st.stdout + st.stderr)
    db = sqlite3.connect(os.path.join(cache, "index.sqlite"))
    try:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    fr = weft("weave", "--frozen", "--cache-dir", cache, "-q", "-f", "markdown", "-o", "frozen.md", "doc.mdw",
              cwd=doc_dir)
    nc = weft("weave", "--no-cache", "-q", "-f", "markdown", "-o", "nocache.md", "doc.mdw", cwd=doc_dir)
    same = fr.returncode == 0 and nc.returncode == 0 and \
        open(os.path.join(doc_dir, "frozen.md")).read() == open(os.path.join(doc_dir, "nocache.md")).read()
    check(f"store fault {fault}: index intact, a --frozen render equals --no-cache", ok and same,
          fr.stderr + nc.stderr)


for fault in ("write=ENOSPC", "write=EIO@4", "fsync=EIO", "rename=ENOSPC@2", "create=EIO@3"):
    steps = fault_steps(fault)
    # run_scenario compares every render with --no-cache (exit status 0 included).
    run_scenario(f"store fault {fault}", steps)
    # It removes its folder: the store checks render the last document again in one of our own.
    w = Scratch()
    cache = os.path.join(w.path, "cache")
    w.file("doc.mdw", steps[-1].doc)
    for env in ({"WEFT_STORE_FAULT": fault}, {}):
        r = weft("weave", "--cache", "--cache-dir", cache, "-q", "-f", "markdown", "-o", "r.md", "doc.mdw",
                 cwd=w.path, env=env)
        if env:
            check(f"store fault {fault}: the fault fired; the render warns and exits 0",
                  r.returncode == 0 and "not cached" in r.stderr and
                  ("No space left" in r.stderr or "Input/output error" in r.stderr), r.stderr)
    check_store(fault, w.path, cache)
    w.cleanup()

finish()
