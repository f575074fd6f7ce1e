#!/bin/sh
# Runs every test for each build directory given (. for the normal build,
# build/san for the ASan+UBSan one): the C unit tests (TAP), the unit
# tests again under valgrind (normal build only), the fuzz corpus smoke
# runs, and the integration scripts (TAP).  Prints each test's TAP lines
# and ends with "N passed, N failed, N skipped"; exits 1 on any failure.
#
# The unit tests, valgrind and fuzz runs keep a CPU busy and need no
# fixed port, while the integration scripts mostly wait on agents: the
# first group runs in the background beside the second, and its output
# is printed after it.  RUN_SERIAL=1 runs them one after the other.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
pass=0 fail=0 skip=0
failed_names=""
log=$(mktemp)

# run NAME CMD...: a TAP producer; counts its ok / not ok lines.
run() {
	name=$1; shift
	echo "# == $name"
	t0=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	echo "# time $name $(($(date +%s) - t0)) s"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	s=$(grep -c '^ok .*# *SKIP' "$log")
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	[ "$f" -gt 0 ] && failed_names="$failed_names $name"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}

# label BUILD: sets label and the environment the tests read.
label_of() {
	case $1 in
	.) label=normal ;;
	*) label=$(basename "$1") ;;
	esac
	export CONSULD_BUILD="$top/$1"
	export CONSULD_BUILD_LABEL="$label"
}

# The CPU-bound group; ends with its own tally line.
cpu_group() {
	for build in "$@"; do
		label_of "$build"
		for t in "$build"/regress/unit/test_*; do
			[ -x "$t" ] || continue
			run "$label/unit/$(basename "$t")" "$t"
		done
		[ "$label" = normal ] && command -v valgrind >/dev/null || continue
		for t in "$build"/regress/unit/test_*; do
			[ -x "$t" ] || continue
			# valgrind cannot run code under a seccomp filter.
			[ "$(basename "$t")" = test_sandbox ] && continue
			run "valgrind/$(basename "$t")" valgrind -q \
			    --leak-check=full --errors-for-leak-kinds=definite \
			    --error-exitcode=99 "$t"
		done
	done
	# A short bounded fuzz run of every target; `make fuzz` runs longer.
	if command -v clang-14 >/dev/null; then
		run fuzz sh regress/fuzz/run.sh "${FUZZ_CHECK_SECONDS:-10}"
	fi
	echo "# tally $pass $fail $skip$failed_names"
}

integration_group() {
	for build in "$@"; do
		label_of "$build"
		for t in regress/integration/*.sh; do
			run "$label/integration/$(basename "$t" .sh)" sh "$t"
		done
	done
}

if [ -n "${RUN_SERIAL:-}" ]; then
	cpu_group "$@"
	integration_group "$@"
else
	cpu_log=$(mktemp)
	( log=$(mktemp); cpu_group "$@" >"$cpu_log" 2>&1; rm -f "$log" ) &
	cpu_pid=$!
	integration_group "$@"
	wait "$cpu_pid"
	grep -v '^# tally ' "$cpu_log"
	tally=$(sed -n 's/^# tally //p' "$cpu_log")
	if [ -z "$tally" ]; then
		echo "not ok - the unit, valgrind and fuzz group did not finish"
		fail=$((fail + 1)); failed_names="$failed_names cpu-group"
	else
		set -- $tally
		pass=$((pass + $1)); fail=$((fail + $2)); skip=$((skip + $3))
		shift 3
		failed_names="$failed_names${*:+ $*}"
	fi
	rm -f "$cpu_log"
fi
rm -f "$log"
[ -n "$failed_names" ] && echo "# failed:$failed_names"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
