#!/bin/sh
# Builds every regress/fuzz/fuzz_*.c with clang's libFuzzer, ASan and
# UBSan, and runs each for SECONDS (default 300; `make check` uses a short
# bounded run).  Corpora grow in regress/fuzz/corpus-<target>/, which git
# ignores; seeds, when a target has them, are in regress/fuzz/seeds-<target>/.
# Prints "N passed, N failed" and exits 1 if any target found a crash.
set -u
secs=${1:-300}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
out=build/fuzz
mkdir -p "$out"
pkgs="libevent yaml-0.1 msgpack libbsd-overlay jansson libsodium"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -I common $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lm"
common="common/config.c common/config_keys.c common/duration.c common/log.c common/mpack.c common/imsg.c common/kv_codec.c common/snapshot_format.c common/goquote.c"
pass=0 fail=0
for src in regress/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	echo "# == $name ($secs s)"
	if ! clang-14 $cflags -o "$out/$name" "$src" $common $libs; then
		echo "not ok - $name builds"; fail=$((fail + 1)); continue
	fi
	corpus="regress/fuzz/corpus-$name"
	seeds="regress/fuzz/seeds-$name"
	mkdir -p "$corpus"
	[ -d "$seeds" ] || seeds=""
	if "$out/$name" -max_total_time="$secs" -max_len=65536 \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$out/$name-" "$corpus" $seeds \
	    >"$out/$name.log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$out/$name.log")
		echo "ok - $name: $execs runs, no crash"
		pass=$((pass + 1))
	else
		tail -40 "$out/$name.log"
		echo "not ok - $name found a crash (see $out/$name-*)"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
