#!/bin/sh
# The Raft simulation (regress/unit/test_raft) over thousands of seeds:
# SOAK_SEEDS of them (5000 unless told) from SOAK_SEED_START (1) for 3
# and for 5 servers, SOAK_ROUNDS rounds each (400), split over SOAK_JOBS
# processes (one a CPU unless told).  Prints what the runs covered, the
# replay command of every seed that failed, and exits 1 if any did.
#
# Usage: sh regress/soak.sh [build directory]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
build=${1:-.}
bin=$build/regress/unit/test_raft
seeds=${SOAK_SEEDS:-5000}
start=${SOAK_SEED_START:-1}
rounds=${SOAK_ROUNDS:-400}
jobs=${SOAK_JOBS:-$(nproc 2>/dev/null || echo 1)}

if [ ! -x "$bin" ]; then
	echo "soak: $bin not built" >&2
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
chunk=$(((seeds + jobs - 1) / jobs))
status=0
t0=$(date +%s)

for n in 3 5; do
	pids=""
	j=0
	while [ "$j" -lt "$jobs" ]; do
		first=$((start + j * chunk))
		count=$((start + seeds - first))
		[ "$count" -gt "$chunk" ] && count=$chunk
		[ "$count" -le 0 ] && break
		RAFT_SIM_N=$n RAFT_SIM_SEED_START=$first RAFT_SIM_SEEDS=$count \
		    RAFT_SIM_ROUNDS=$rounds "$bin" >"$tmp/$n.$j" 2>&1 &
		pids="$pids $!"
		j=$((j + 1))
	done
	for p in $pids; do
		wait "$p" || status=1
	done
	grep -h '^# replay:' "$tmp/$n".* | sed 's/^# /soak: /'
	# Add up the key=value counts of every process's "# sim:" line.
	grep -h '^# sim:' "$tmp/$n".* | awk -v n="$n" '
	{
		for (i = 3; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] != "first" && kv[1] != "rounds")
				sum[kv[1]] += kv[2]
			if (kv[1] == "rounds")
				rounds = kv[2]
		}
		procs++
	}
	END {
		if (procs == 0) {
			printf "soak: n=%s: no results\n", n
			exit 1
		}
		printf "soak: n=%s: %d seeds of %d rounds, %d failed " \
		    "(%.1f s of runs)\n", n, sum["seeds"], rounds,
		    sum["failed"], sum["secs"]
		printf "soak: n=%s:   %d leaders, %d entries committed, " \
		    "%d reads, %d lease reads\n", n, sum["leaders"],
		    sum["commits"], sum["reads"], sum["leasereads"]
		printf "soak: n=%s:   %d commands, %d acknowledged, %d retried " \
		    "(%d operations applied twice)\n", n, sum["cmds"],
		    sum["acked"], sum["retried"], sum["dupops"]
		printf "soak: n=%s:   %d membership changes committed " \
		    "(%d adds, %d removes, %d flips proposed), %d retired\n",
		    n, sum["confs"], sum["adds"], sum["removes"],
		    sum["flips"], sum["retires"]
		printf "soak: n=%s:   %d crashes (%d in a ready), %d " \
		    "partitions, %d transfers, %d snapshots (%d installed)\n",
		    n, sum["crashes"], sum["readycrashes"], sum["partitions"],
		    sum["transfers"], sum["snapshots"], sum["installs"]
		printf "soak: n=%s:   %d messages duplicated, %d delayed\n", n,
		    sum["dups"], sum["delayed"]
		exit sum["failed"] > 0
	}' || status=1
	if grep -q '^not ok' "$tmp/$n".*; then
		grep -h '^# .*CHECK' "$tmp/$n".* | sort | uniq -c | sort -rn |
		    head -10 | sed 's/^/soak: /'
		status=1
	fi
done

echo "soak: $((2 * seeds)) seeds in $(($(date +%s) - t0)) s," \
    "$([ "$status" -eq 0 ] && echo passed || echo FAILED)"
exit "$status"
