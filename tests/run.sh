#!/bin/sh
# Run every weft test and end with "N passed, N failed".
#   C unit tests      $WEFT_BUILD/tests/test_*    (built by make)
#   CLI tests         tests/cli/*.sh, tests/cli/test_*.py (drive the weft binary)
#   Python tests      tests/py/test_*.py          (the embedded runtime's modules)
# Each prints "ok - name" / "not ok - name" lines. A program that exits non-zero
# without reporting a failure counts as one failed test. Pass names (substrings)
# to run only matching tests: sh tests/run.sh cache reader
: "${WEFT_BUILD:=build}"
export WEFT_BUILD
cd "$(dirname "$0")/.." || exit 2
log=$(mktemp); trap 'rm -f "$log"' EXIT
passed=0; failed=0

wanted() { # path: true when no filter was given or the path matches one
	[ -z "$FILTER" ] && return 0
	for w in $FILTER; do case "$1" in *"$w"*) return 0 ;; esac; done
	return 1
}
FILTER="$*"

run_one() { # label command...
	label=$1; shift
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1; echo "not ok - $label exited with status $rc" >>"$log"
	fi
	passed=$((passed + p)); failed=$((failed + f))
	echo "== $label: $p passed, $f failed ($(( $(date +%s) - start ))s)"
	if [ "$f" -gt 0 ]; then grep -v '^ok ' "$log" | tail -60; fi
}

for t in "$WEFT_BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	wanted "$t" && run_one "unit/$(basename "$t")" "$t"
done
for t in tests/cli/*.sh; do
	[ -f "$t" ] || continue
	wanted "$t" && run_one "cli/$(basename "$t")" sh "$t"
done
for t in tests/cli/test_*.py; do
	[ -f "$t" ] || continue
	wanted "$t" && run_one "cli/$(basename "$t")" /usr/bin/python3 "$t"
done
for t in tests/py/test_*.py; do
	[ -f "$t" ] || continue
	wanted "$t" && run_one "py/$(basename "$t")" /usr/bin/python3 "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
