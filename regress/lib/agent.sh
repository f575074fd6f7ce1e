# Start and stop real consuld agents for the integration tests.  Every
# agent listens on loopback only, on ports chosen from its index so that
# tests can run beside a `make dev` agent on the default ports.
. "$(dirname "$0")/../lib/tap.sh"

CONSULD="$CONSULD_BUILD/consuld/consuld"
CONSULCTL="$CONSULD_BUILD/consulctl/consulctl"
# Children under a sanitizer build: leak checks need ptrace, which the
# sandbox forbids; the unit tests under valgrind cover leaks.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

test_tmp=$(mktemp -d /tmp/consuld-test.XXXXXX)
chmod 755 "$test_tmp"
agent_pid=""

cleanup() {
	if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
		kill -KILL "$agent_pid" 2>/dev/null
		for p in $(pgrep -P "$agent_pid" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	fi
	rm -rf "$test_tmp"
}
trap cleanup EXIT INT TERM

# agent_ports N: sets http/dns/serf/server ports for agent N.
agent_ports() {
	base=$((18000 + $1 * 10))
	http_port=$((base + 0)); dns_port=$((base + 1))
	serf_lan_port=$((base + 2)); serf_wan_port=$((base + 3))
	server_port=$((base + 4))
}

# agent_start N LOG [extra flags...]: a -dev agent in the background.
agent_start() {
	n=$1; agent_log=$2; shift 2
	agent_ports "$n"
	: >"$agent_log"
	"$CONSULD" -dev -node="node$n" -datacenter=dc1 \
	    -http-port=$http_port -dns-port=$dns_port \
	    -serf-lan-port=$serf_lan_port -serf-wan-port=$serf_wan_port \
	    -server-port=$server_port "$@" >"$agent_log" 2>&1 &
	agent_pid=$!
}

# agent_start_server N LOG DATA_DIR [extra flags...]: a single server
# that bootstraps itself and keeps its data in DATA_DIR.
agent_start_server() {
	n=$1; agent_log=$2; dd=$3; shift 3
	agent_ports "$n"
	: >>"$agent_log"
	"$CONSULD" -d -server -bootstrap -node="node$n" -datacenter=dc1 \
	    -data-dir="$dd" -bind=127.0.0.1 -client=127.0.0.1 \
	    -http-port=$http_port -dns-port=$dns_port \
	    -serf-lan-port=$serf_lan_port -serf-wan-port=$serf_wan_port \
	    -server-port=$server_port "$@" >>"$agent_log" 2>&1 &
	agent_pid=$!
}

# poll SECONDS CMD...: run CMD every 100 ms until it succeeds, at most
# SECONDS; fails when it never did.  (cluster.sh has its own, by clock.)
poll() {
	local limit=$(($1 * 10)) i=0
	shift
	while [ $i -lt $limit ]; do
		"$@" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# wait_leader_at URL [SECONDS]: until the agent at URL (its
# http://host:port/v1) knows a leader (15 s at most).
wait_leader_at() {
	local i=0 limit=$(( ${2:-15} * 10 ))
	until [ "$(curl -s "$1/status/leader")" != '""' ] &&
	    curl -sf -o /dev/null "$1/status/leader"; do
		i=$((i + 1)); [ $i -ge $limit ] && return 1; sleep 0.1
	done
}

# wait_node_at URL NODE [SECONDS]: until the leader has registered NODE
# with its serfHealth check (a session on it needs that; 15 s at most).
wait_node_at() {
	local i=0 limit=$(( ${3:-15} * 10 ))
	until curl -s "$1/health/node/$2" | grep -q serfHealth; do
		i=$((i + 1)); [ $i -ge $limit ] && return 1; sleep 0.1
	done
}

# wait_for_log PATTERN [seconds]: until the agent's log has PATTERN.
wait_for_log() {
	i=0; limit=$(( ${2:-15} * 10 ))
	while [ $i -lt $limit ]; do
		grep -q "$1" "$agent_log" && return 0
		gone "$agent_pid" && return 1
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# gone PID: the process has exited (a zombie waiting for wait(1) counts).
gone() {
	[ ! -r "/proc/$1/stat" ] && return 0
	[ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

alive() { ! gone "$1"; }

# wait_exit PID TENTHS: until PID is gone; prints how long it took.
wait_exit() {
	i=0
	while [ $i -lt "$2" ]; do
		gone "$1" && { echo "$i"; return 0; }
		sleep 0.1; i=$((i + 1))
	done
	echo "$i"
	return 1
}

child_pid() {
	for p in $(pgrep -P "$agent_pid"); do
		if [ "$(cat /proc/$p/comm)" = "$1" ]; then echo "$p"; return; fi
	done
}
