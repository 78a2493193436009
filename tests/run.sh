#!/bin/bash
# Run every weft test and end with "N passed, N failed, N skipped".
#   C unit tests      $WEFT_BUILD/tests/test_*    (built by make)
#   CLI tests         tests/cli/*.sh, tests/cli/test_*.py (drive the weft binary)
#   Python tests      tests/py/test_*.py          (the embedded runtime's modules)
# Each prints TAP lines: "ok N - name", "not ok N - name", and "ok N - name # SKIP
# why" for a test that could not run here (counted as skipped, not passed). A
# program that exits non-zero without reporting a failure counts as one failed test.
# Pweave's own test documents (the compat corpus) are fetched first by
# tools/fetch_pweave_tests.py into build/pweave-tests (once; reused after) and
# passed as $WEFT_COMPAT; if that fails, the tests that need them SKIP, with the
# reason ($WEFT_COMPAT_MISSING), and this script says so loudly. Set WEFT_COMPAT
# to use another copy of the corpus. Programs run
# WEFT_TEST_JOBS at a time (default 2); their reports print in a fixed order.
# Pass names (substrings) to run only matching tests: tests/run.sh cache reader
: "${WEFT_BUILD:=build}"
: "${WEFT_TEST_JOBS:=2}"
export WEFT_BUILD
cd "$(dirname "$0")/.." || exit 2
logs=$(mktemp -d); trap 'rm -rf "$logs"' EXIT
FILTER="$*"

compat_missing=""
if [ -n "${WEFT_COMPAT:-}" ]; then
	[ -f "$WEFT_COMPAT/formats/formatters_test_executed.json" ] ||
		compat_missing="WEFT_COMPAT=$WEFT_COMPAT holds no Pweave test corpus"
elif ! WEFT_COMPAT=$(/usr/bin/python3 tools/fetch_pweave_tests.py build/pweave-tests 2>"$logs/fetch.err"); then
	WEFT_COMPAT=""
	compat_missing="Pweave's test documents could not be fetched: $(tail -c 300 "$logs/fetch.err" | tr '\n' ' ')"
fi
export WEFT_COMPAT WEFT_COMPAT_MISSING="$compat_missing"
[ -n "$compat_missing" ] && echo "# WARNING: $compat_missing; the tests that compare with Pweave will SKIP" >&2

wanted() { # path: true when no filter was given or the path matches one
	[ -z "$FILTER" ] && return 0
	for w in $FILTER; do case "$1" in *"$w"*) return 0 ;; esac; done
	return 1
}

labels=(); commands=()
add() { labels+=("$1"); shift; commands+=("$*"); }
for t in "$WEFT_BUILD"/tests/test_*; do
	[ -x "$t" ] && wanted "$t" && add "unit/$(basename "$t")" "$t"
done
for t in tests/cli/*.sh; do
	[ -f "$t" ] && wanted "$t" && add "cli/$(basename "$t")" sh "$t"
done
for t in tests/cli/test_*.py tests/py/test_*.py; do
	[ -f "$t" ] && wanted "$t" && add "${t#tests/}" /usr/bin/python3 "$t"
done

run_one() { # index: run command i, leaving its output, status and seconds in $logs
	local i=$1 start=$SECONDS
	case "${labels[$i]}" in
	*jupyter* | *kernel*)
		# Programs that start Jupyter kernels run one at a time: several kernels
		# starting at once on two CPUs made IRkernel miss its start-up deadline.
		flock "$logs/kernels.lock" ${commands[$i]} >"$logs/$i.out" 2>&1 ;;
	*)
		${commands[$i]} >"$logs/$i.out" 2>&1 ;;
	esac
	echo $? >"$logs/$i.rc"
	echo $((SECONDS - start)) >"$logs/$i.sec"
}

running=0
for i in "${!commands[@]}"; do
	run_one "$i" &
	running=$((running + 1))
	if [ "$running" -ge "$WEFT_TEST_JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

passed=0; failed=0; skipped=0
for i in "${!commands[@]}"; do
	out="$logs/$i.out"; rc=$(cat "$logs/$i.rc")
	s=$(grep -c '^ok .*# SKIP' "$out"); p=$(($(grep -c '^ok ' "$out") - s)); f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1; echo "not ok - ${labels[$i]} exited with status $rc" >>"$out"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	echo "== ${labels[$i]}: $p passed, $f failed, $s skipped ($(cat "$logs/$i.sec")s)"
	grep '^ok .*# SKIP' "$out" | sed 's/^/   /'
	if [ "$f" -gt 0 ]; then grep -v '^ok ' "$out" | tail -60; fi
done
[ -n "$compat_missing" ] && echo "# WARNING: $compat_missing; the tests that compare with Pweave were skipped"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
