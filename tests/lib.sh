# Shared helpers for weft's shell tests (sourced by tests/cli/*.sh).
# Each check prints one numbered TAP line, "ok N - name", "not ok N - name" or
# "ok N - name # SKIP why"; tests/run.sh counts passed, failed and skipped
# apart. The plan "1..N" is printed at exit. Call checks from the main shell
# (not from a pipe or a subshell) so the numbering stays right.
# WEFT is the binary under test; TMP a scratch folder removed at exit.
# COMPAT is Pweave's own test corpus (not in the repository): tests/run.sh
# passes what tools/fetch_pweave_tests.py fetched as $WEFT_COMPAT; a test that
# needs it calls require_compat first.

: "${WEFT_BUILD:=build}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
WEFT="$TOP/$WEFT_BUILD/weft"
COMPAT="${WEFT_COMPAT:-$TOP/build/pweave-tests}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/weft-test.XXXXXX")
TAP_N=0
trap 'rm -rf "$TMP"; echo "1..$TAP_N"' EXIT
export WEFT_CACHE_DIR_DEFAULT_OFF=1

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1"; }
not_ok() {
	TAP_N=$((TAP_N + 1)); echo "not ok $TAP_N - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /' | head -40
	return 0
}
# skip NAME WHY: NAME could not run here (counted apart from passed).
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }

# have_compat: true when Pweave's corpus is there; else COMPAT_WHY says why not.
have_compat() {
	[ -f "$COMPAT/formats/formatters_test_executed.json" ] && return 0
	COMPAT_WHY="${WEFT_COMPAT_MISSING:-Pweave's test corpus not found at $COMPAT (tools/fetch_pweave_tests.py fetches it)}"
	return 1
}

# require_compat NAME: when Pweave's corpus is unavailable, report NAME skipped and exit.
require_compat() {
	have_compat && return 0
	skip "$1" "$COMPAT_WHY"
	exit 0
}

# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
	name=$1; shift
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}

# check_fails NAME COMMAND...: passes when COMMAND fails.
check_fails() {
	name=$1; shift
	if out=$("$@" 2>&1); then not_ok "$name" "expected failure, got success: $out"; else ok "$name"; fi
}

# check_same NAME EXPECTED_FILE ACTUAL_FILE: passes when the files are identical.
check_same() {
	if diff -u "$2" "$3" >"$TMP/diff.out" 2>&1; then ok "$1"; else not_ok "$1" "$(cat "$TMP/diff.out")"; fi
}

# check_contains NAME FILE TEXT: passes when FILE contains TEXT (fixed string).
check_contains() {
	if grep -qF -- "$3" "$2"; then ok "$1"; else not_ok "$1" "'$3' not in $2: $(head -c 2000 "$2")"; fi
}

# check_not_contains NAME FILE TEXT
check_not_contains() {
	if grep -qF -- "$3" "$2"; then not_ok "$1" "'$3' unexpectedly in $2"; else ok "$1"; fi
}
