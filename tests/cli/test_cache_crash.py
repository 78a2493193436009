"""Crash safety of the cache: kill -9 weft (and its worker) at random moments of
a caching render, repeatedly; every following render must complete and be
byte-identical to a fresh render with an empty cache.

The seed is printed so a failure can be reproduced: WEFT_CRASH_SEED=N.
"""

import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from weftlib import WEFT, Scratch, check, finish, weft  # noqa: E402

DOC = """Chunks that save arrays and frames and write a file, so a kill can land while
blobs, entries or files are being written.

<<make>>=
import numpy as np
arr = np.arange(200000, dtype=np.float64) * {k}
print(arr.sum())
@

<<frame>>=
import pandas as pd
df = pd.DataFrame({{"a": arr[:1000], "b": arr[:1000] ** 2}})
df.to_csv("frame.csv")
print(df.shape)
@

<<derive>>=
total = float(df["b"].sum()) + len(open("frame.csv").read())
print(total)
@

<<last>>=
print(round(total / 7, 3))
@
"""

seed = int(os.environ.get("WEFT_CRASH_SEED", random.randrange(1 << 30)))
print(f"# seed {seed}")
rng = random.Random(seed)
work = Scratch()
cache = os.path.join(work.path, "cache")


def render(folder, cache_dir):
    out = os.path.join(folder, "report.md")
    r = weft("weave", "--cache", "-q", "-f", "markdown", "--cache-dir", cache_dir, "-o", out, "doc.mdw",
             cwd=folder)
    return r, (open(out).read() if os.path.exists(out) else None)


def killed_render(folder, delay):
    """Start a caching render and kill -9 its whole process group after `delay` seconds."""
    p = subprocess.Popen([WEFT, "weave", "--cache", "-q", "-f", "markdown", "--cache-dir", cache, "-o",
                          os.path.join(folder, "report.md"), "doc.mdw"], cwd=folder,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


# How long does a full caching render take here? Kills land anywhere in it.
doc_dir = os.path.join(work.path, "doc")
os.makedirs(doc_dir)
with open(os.path.join(doc_dir, "doc.mdw"), "w") as f:
    f.write(DOC.format(k=1))
t0 = time.monotonic()
render(doc_dir, os.path.join(work.path, "timing-cache"))
full = time.monotonic() - t0

rounds = int(os.environ.get("WEFT_CRASH_ROUNDS", "12"))
fresh_cache = {}
for i in range(rounds):
    k = rng.randrange(1, 4)  # a few versions of the document, so entries are made and reused
    with open(os.path.join(doc_dir, "doc.mdw"), "w") as f:
        f.write(DOC.format(k=k))
    delay = rng.uniform(0, full)
    killed_render(doc_dir, delay)
    r, text = render(doc_dir, cache)
    if k not in fresh_cache:
        fresh_dir = os.path.join(work.path, f"fresh{k}")
        os.makedirs(fresh_dir)
        with open(os.path.join(fresh_dir, "doc.mdw"), "w") as f:
            f.write(DOC.format(k=k))
        fresh_cache[k] = render(fresh_dir, os.path.join(work.path, f"empty{k}"))[1]
    check(f"round {i + 1}: render after kill -9 at {delay:.2f}s (k={k}) succeeds",
          r.returncode == 0 and text is not None, r.stderr)
    check(f"round {i + 1}: identical to a fresh render", text == fresh_cache[k],
          f"--- after kill\n{text}\n--- fresh\n{fresh_cache[k]}")

# The store is still coherent: gc and status work, and a last render is all cached.
r = weft("cache", "gc", "--cache-dir", cache)
check("gc after the crashes", r.returncode == 0, r.stderr)
# Killed writers leave temporary files named for their (now dead) process: gc removes them at once.
left = os.listdir(os.path.join(cache, "tmp")) if os.path.isdir(os.path.join(cache, "tmp")) else []
check("gc leaves no temporary file of a killed render", left == [], f"{left}\n{r.stdout}")
r = weft("cache", "status", "--cache", "--cache-dir", cache, "doc.mdw", cwd=doc_dir)
check("status after the crashes", r.returncode == 0 and "fresh" in r.stdout, r.stdout + r.stderr)
work.cleanup()
finish()
