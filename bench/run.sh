#!/bin/sh
# weft's benchmarks (make bench, or standalone: WEFT_BUILD=build-x sh bench/run.sh [NAME...]).
#
# Every benchmark measures weft against a baseline in the same invocation
# (runs alternated, medians), because the machine may be shared and noisy,
# and prints one line "RESULT <what>: <figures, ratio, target> -> PASS|MISS".
# NAMEs (substrings) select benchmarks: twochunk rerender chain bigarray
# cached50 jobs rchain kernel manynames state_bigarray store_write tracking (the last needs WEFT_BASELINE). The whole set takes a few minutes;
# bigarray and state_bigarray need about 4 GiB free under $TMPDIR (or /tmp).
# On a quiet 2-CPU machine the set takes about 4 minutes; Pweave's runs
# dominate and stretch with the machine's load.
# Exit status: 0 all PASS, 1 some MISS, 2 a benchmark could not run.
# BENCH_QUICK=1 runs each briefly (a smoke test of the benchmarks themselves).
# To see where one render's time goes: bench/phases.py -- $WEFT_BUILD/weft ARGS.
: "${WEFT_BUILD:=build}"
export WEFT_BUILD
cd "$(dirname "$0")/.." || exit 2
PY=/usr/bin/python3
if [ ! -x "$WEFT_BUILD/weft" ]; then
	echo "bench: no $WEFT_BUILD/weft; build it first (make BUILD=$WEFT_BUILD all)" >&2
	exit 2
fi
out=$(mktemp); results=$(mktemp); trap 'rm -f "$out" "$results"' EXIT
FILTER="$*"
missed=0; broken=0

wanted() {
	[ -z "$FILTER" ] && return 0
	for w in $FILTER; do case "$1" in *"$w"*) return 0 ;; esac; done
	return 1
}

# bench NAME COMMAND...: run one benchmark, show its output, keep its RESULT lines.
bench() {
	name=$1; shift
	wanted "$name" || return 0
	echo "== $name"
	start=$(date +%s)
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	grep '^RESULT' "$out" >>"$results"
	case $rc in
	0) ;;
	1) missed=$((missed + 1)) ;;
	*) broken=$((broken + 1)); echo "RESULT $name: could not run (exit $rc) -> ERROR" | tee -a "$results" ;;
	esac
	echo "   ($(( $(date +%s) - start ))s)"
}

echo "weft benchmarks: $WEFT_BUILD/weft, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M) UTC"
# BENCH_QUICK=1: fewer rounds and a 64 MiB array, to check the benchmarks
# themselves work (the figures are then not the ones to report)
if [ -n "${BENCH_QUICK:-}" ]; then
	R="--rounds 2"; MIB="--mib 64"; REP="--repeat 1"; NAMES="--chunks 300 --rounds 1"
else
	R=""; MIB=""; REP=""; NAMES="--chunks 2000 --rounds 2"
fi
# shellcheck disable=SC2086
{
bench twochunk "$PY" bench/bench_twochunk.py $R
bench rerender "$PY" bench/bench_rerender.py $R
bench chain "$PY" bench/bench_chain.py $R
bench bigarray "$PY" bench/bench_bigarray.py $R $MIB
bench state_bigarray "$PY" bench/state_bigarray.py $REP $MIB
bench cached50 "$PY" bench/bench_cached50.py $R
bench jobs "$PY" bench/bench_jobs.py $R
bench rchain "$PY" bench/bench_rchain.py $R
bench kernel "$PY" bench/bench_kernel.py $R
bench manynames "$PY" bench/bench_manynames.py $NAMES
}
# the state tracking's cost against an older weft: only with WEFT_BASELINE=old/weft
if [ -n "${WEFT_BASELINE:-}" ]; then
	bench tracking "$PY" bench/bench_tracking.py $R
elif [ -n "$FILTER" ] && wanted tracking; then
	echo "== tracking: set WEFT_BASELINE to an older weft binary to compare against"
fi
if wanted store_write; then
	# the store's blob throughput (no target): built against this build's library
	sw="$WEFT_BUILD/bench/store_write"
	mkdir -p "$WEFT_BUILD/bench"
	# shellcheck disable=SC2046
	if ${CC:-cc} -O2 -std=c17 -D_GNU_SOURCE -Isrc -o "$sw" bench/store_write.c "$WEFT_BUILD/libweft.a" \
		$(pkg-config --cflags --libs python3-embed sqlite3 jansson libsodium libxxhash yaml-0.1 md4c md4c-html libzmq) -lm; then
		bench store_write "$sw"
	else
		broken=$((broken + 1)); echo "RESULT store_write: does not build -> ERROR" | tee -a "$results"
	fi
fi

echo "== summary (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$results"
[ "$broken" -gt 0 ] && exit 2
[ "$missed" -gt 0 ] && exit 1
exit 0
