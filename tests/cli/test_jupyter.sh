#!/bin/sh
# weft weave --kernel: documents run in a Jupyter kernel (the ZeroMQ client).
# One python3 (ipykernel) render covers outputs, inline code, a figure and an
# error; the cache is refused with a warning; a missing kernel is a clean error;
# an R document runs in IRkernel when r-cran-irkernel is installed.
. "$(dirname "$0")/../lib.sh"

if [ ! -f /usr/share/jupyter/kernels/python3/kernel.json ] ||
	! /usr/bin/python3 -c 'import ipykernel' 2>/dev/null; then
	skip "jupyter kernel checks" "python3-ipykernel is not installed"
	exit 0
fi

cd "$TMP" || exit 2
cat >doc.pmd <<'EOF'
# Kernel test

```python
import sys
x = 21
print("out 1")
sys.stdout.flush()
print("err 1", file=sys.stderr)
sys.stderr.flush()
x * 2
```

The answer is <%= x * 2 %>.

```python
import matplotlib
import matplotlib.pyplot as plt
plt.plot([1, 3, 2])
plt.show()
```

```python, error=True
def f():
    return undefined_name
f()
```
EOF

# The run: error=True lets the raising chunk through, so weft exits 0.
"$WEFT" weave --kernel python3 -f markdown -o out.md doc.pmd >run.log 2>&1
rc=$?
if [ "$rc" = 0 ]; then ok "python3 kernel render"; else not_ok "python3 kernel render" "rc=$rc $(cat run.log)"; fi
check_contains "stdout captured" out.md "out 1"
check_contains "stderr captured" out.md "err 1"
check_contains "execute_result shown" out.md "42"
check_contains "inline expression from user_expressions" out.md "The answer is 42."
if [ -n "$(find figures -name '*.png' -size +1k 2>/dev/null)" ]; then
	ok "matplotlib figure written"
else
	not_ok "matplotlib figure written" "$(ls -R . ; cat out.md)"
fi
check_contains "figure linked" out.md "figures/"
check_contains "error traceback" out.md "NameError"
check_contains "error names the code" out.md "return undefined_name"
if grep -q "$(printf '\033')" out.md; then not_ok "no ANSI codes in the report"; else ok "no ANSI codes in the report"; fi
# stdout before stderr, as they happened
if awk '/out 1/{o=NR} /err 1/{e=NR} END{exit !(o && e && o < e)}' out.md; then
	ok "stream order kept"
else
	not_ok "stream order kept" "$(cat out.md)"
fi
check_not_contains "no kernel connection file left" run.log "kernel-"

# --cache with --kernel: warned, nothing cached, every chunk runs
cat >small.pmd <<'EOF'
```python
print(6 * 7)
```
EOF
"$WEFT" weave --kernel python3 --cache -f markdown -o small.md small.pmd >cache.log 2>&1
rc=$?
if [ "$rc" = 0 ]; then ok "--cache with --kernel renders"; else not_ok "--cache with --kernel renders" "$(cat cache.log)"; fi
check_contains "--cache with --kernel still runs" small.md "42"
# a Python kernel has the cache (issue 11; tests/cli/test_kernel_python_cache.py): the second render runs nothing
"$WEFT" weave --kernel python3 --cache -f markdown -o small.md small.pmd >cache2.log 2>&1
check_contains "--cache with the python3 kernel: cached the second time" cache2.log "chunk 1 [1/1] cached"
check_fails "--frozen with --kernel refused" "$WEFT" weave --kernel python3 --frozen -o x.md small.pmd

# an unknown kernel: a clear error, exit status not 0, no report
"$WEFT" weave --kernel no-such-kernel -f markdown -o none.md small.pmd >missing.log 2>&1
rc=$?
if [ "$rc" != 0 ]; then ok "missing kernel fails"; else not_ok "missing kernel fails" "$(cat missing.log)"; fi
check_contains "missing kernel named" missing.log "no Jupyter kernel named 'no-such-kernel'"
check_contains "missing kernel lists installed ones" missing.log "python3"

# a chunk past --timeout is interrupted; later chunks are skipped
cat >slow.pmd <<'EOF'
```python
import time
print("before")
time.sleep(60)
```

```python
print("never")
```
EOF
"$WEFT" weave --kernel python3 --timeout 2 -f markdown -o slow.md slow.pmd >slow.log 2>&1
rc=$?
if [ "$rc" = 1 ]; then ok "timeout exits 1"; else not_ok "timeout exits 1" "rc=$rc $(cat slow.log)"; fi
check_contains "timeout reported" slow.log "timed out after 2 s"
check_contains "output before the timeout kept" slow.md "before"
if grep -qx never slow.md; then not_ok "later chunk not run" "$(cat slow.md)"; else ok "later chunk not run"; fi
check_contains "later chunk shown as not run" slow.md "later chunks were not run"

# R through IRkernel (optional package r-cran-irkernel)
if [ -f /usr/share/jupyter/kernels/ir/kernel.json ] || [ -f /usr/local/share/jupyter/kernels/ir/kernel.json ]; then
	cat >doc.texw <<'EOF'
\section{R}
<<>>=
x <- c(1, 2, 3)
cat("sum is", sum(x), "\n")
mean(x)
@
<<>>=
stop("boom")
@
EOF
	"$WEFT" weave --kernel ir -f tex -o r.tex doc.texw >r.log 2>&1
	rc=$?
	if [ "$rc" = 1 ]; then ok "R render (error chunk exits 1)"; else not_ok "R render (error chunk exits 1)" "rc=$rc $(cat r.log)"; fi
	check_contains "R stdout" r.tex "sum is 6"
	# mean(x): IRkernel's bundle has text/latex "2" (chosen for LaTeX) beside text/plain "[1] 2"
	if grep -qx 2 r.tex; then ok "R value"; else not_ok "R value" "$(cat r.tex)"; fi
	check_contains "R error" r.tex "boom"
	check_contains "R error located" r.log "doc.texw:"
else
	skip "R kernel checks" "IRkernel is not installed"
fi
