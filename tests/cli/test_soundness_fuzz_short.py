"""A short, fixed-seed run of the random-edit soundness fuzzer
(tests/soundness_fuzz.py), so CI exercises it: 15 edit sequences over the
classes this suite holds sound (plain names, namespace listings and dunders,
restore fidelity); every cached render must equal a --no-cache render.
The long run (1000 sequences, every class) is run by hand, outside CI.
"""

import contextlib
import io
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from weftlib import check, finish  # noqa: E402
import soundness_fuzz  # noqa: E402

out = tempfile.mkdtemp(prefix="weft-fuzz-short-")
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    status = soundness_fuzz.main(["--sequences", "15", "--seed", "2026", "--classes", "basic,namespace,fidelity",
                                  "--out", out, "--shrink", "10"])
text = buf.getvalue()
check("fuzzer ran 15 sequences", "15 sequences" in text, text)
check("no stale render in 15 random edit sequences (basic, namespace, fidelity)", status == 0,
      text + "\nfailing sequences written to " + out)
if status == 0:
    shutil.rmtree(out, ignore_errors=True)
finish()
