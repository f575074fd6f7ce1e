# TAP helpers for the shell tests.  Source it; call ok/not_ok/check, then
# tap_done at the end.  CONSULD_BUILD is the build directory under test.
: "${CONSULD_BUILD:=$(cd "$(dirname "$0")/../.." && pwd)}"
tap_n=0
tap_failed=0

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() {
	tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $* # SKIP"; }
# check "description" command...: ok when the command succeeds.
check() {
	d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
diag() { echo "# $*"; }
tap_done() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
