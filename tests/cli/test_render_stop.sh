#!/bin/sh
# End to end: where execution stops (a crash, a timeout), every renderer still
# writes the report, with a visible note after the chunk that stopped and the
# later chunks' code without outputs; weft exits 1. Also YAML front matter and
# inline code in the report.
. "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1

cat >stop.pmd <<'DOC'
---
title: Stop test
---

Intro with <%= 6*7 %>.

```python
print("before")
```

```{python, name="crash"}
import os, sys
print("partial")
sys.stdout.flush()
os._exit(3)
```

```python
print("never")
```
DOC

"$WEFT" weave -q -f pandoc -o stop.md stop.pmd >log 2>&1
rc=$?
if [ "$rc" -eq 1 ]; then ok "crash: exit status 1"; else not_ok "crash: exit status 1" "rc=$rc $(cat log)"; fi
check_contains "crash: front matter kept" stop.md "---
title: Stop test
---"
check_contains "crash: inline value" stop.md "Intro with 42."
check_contains "crash: output before the crash" stop.md "partial"
check_contains "crash: note after the chunk" stop.md \
	"> **weft: execution stopped here: chunk 2 (crash) at stop.pmd:15 crashed"
check_contains "crash: later chunk's code shown" stop.md 'print("never")'
if grep -qx 'never' stop.md; then not_ok "crash: later chunk not run"; else ok "crash: later chunk not run"; fi
# the note sits between the crashed chunk and the later chunk
order=$(grep -n -e '^partial$' -e 'execution stopped here' -e 'print("never")' stop.md | cut -d: -f1 | tr '\n' ' ')
set -- $order
if [ $# -eq 3 ] && [ "$1" -lt "$2" ] && [ "$2" -lt "$3" ]; then ok "crash: note in place"; else not_ok "crash: note in place" "$order"; fi

"$WEFT" weave -q -f notebook -o stop.ipynb stop.pmd >log 2>&1
check "crash notebook: nbformat-valid" /usr/bin/python3 -c \
	'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))' stop.ipynb
check_contains "crash notebook: note cell" stop.ipynb "weft: execution stopped here: chunk 2 (crash)"

cat >slow.pmd <<'DOC'
```python
import time
print("start")
```

```python
time.sleep(30)
```

```python
print("after")
```
DOC
start=$(date +%s)
"$WEFT" weave -q --timeout 1 -f rst -o slow.rst slow.pmd >log 2>&1
rc=$?
if [ "$rc" -eq 1 ] && [ $(( $(date +%s) - start )) -lt 20 ]; then
	ok "timeout: stopped with status 1"
else
	not_ok "timeout: stopped with status 1" "rc=$rc $(cat log)"
fi
check_contains "timeout rst: warning directive" slow.rst ".. warning::

   weft: execution stopped here: chunk 2 at slow.pmd:7 timed out"
check_contains "timeout rst: later code shown" slow.rst '    print("after")'
if grep -qx '    after' slow.rst; then not_ok "timeout rst: later chunk not run"; else ok "timeout rst: later chunk not run"; fi
