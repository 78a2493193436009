"""A short, fixed-seed run of the random-edit soundness fuzzer
(tests/soundness_fuzz.py), so CI exercises it: 24 edit sequences, at least
two of each issue 8 class (each mixed with plain-name fragments); every cached render must
equal a --no-cache render.
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
    status = soundness_fuzz.main(["--sequences", "24", "--seed", "2026", "--out", out, "--shrink", "10"])
text = buf.getvalue()
check("fuzzer ran 24 sequences", "24 sequences" in text, text)
check("no stale render in 24 random edit sequences, every class", status == 0,
      text + "\nfailing sequences written to " + out)
if status == 0:
    shutil.rmtree(out, ignore_errors=True)
finish()
