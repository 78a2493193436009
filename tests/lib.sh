# Shared helpers for weft's shell tests (sourced by tests/cli/*.sh).
# Each check prints "ok - name" or "not ok - name"; tests/run.sh counts them.
# WEFT is the binary under test; TMP a scratch folder removed at exit.

: "${WEFT_BUILD:=build}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
WEFT="$TOP/$WEFT_BUILD/weft"
COMPAT="$TOP/../shared/compat/pweave"
[ -d "$COMPAT" ] || COMPAT="$TOP/shared/compat/pweave"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/weft-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export WEFT_CACHE_DIR_DEFAULT_OFF=1

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /' | head -40; }

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
