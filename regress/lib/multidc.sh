# Two datacenters of real consuld agents on 127.0.0.x, WAN-joined, for
# the multi-datacenter scripts: the nodes, ports, process groups and
# helpers of cluster.sh, with a configuration per node (its datacenter,
# its own servers to join on the LAN, every server of both on the WAN).
#
# Usage: . "$(dirname "$0")/../lib/multidc.sh", then
# mdc_init "DC1 SERVERS" "DC1 CLIENTS" "DC2 SERVERS", mdc_start, the
# checks, tap_done.  $mdc_s1 and $mdc_s2 are the servers of each.
. "$(dirname "$0")/../lib/cluster.sh"

mdc_s1="" mdc_s2="" mdc_wan=""

# mdc_list PORT NODES: "127.0.0.N:PORT", ... as JSON strings.
mdc_list() {
	local s="" a
	for a in $2; do s="$s${s:+, }\"127.0.0.$a:$1\""; done
	echo "$s"
}

# mdc_server_conf N DC SERVERS: node N's configuration, a server of DC
# with the servers listed; the WAN pool is $mdc_wan.
mdc_server_conf() {
	local n=$1 dc=$2 count
	count=$(echo $3 | wc -w)
	cat >"$cl_dir/node$n.json" <<JSON
{"server": true, "datacenter": "$dc", "bootstrap_expect": $count,
 "retry_interval": "1s", "retry_interval_wan": "1s",
 "retry_join": [$(mdc_list "$cl_lan" "$3")],
 "retry_join_wan": [$(mdc_list "$cl_wan" "$mdc_wan")],
 "performance": {"raft_multiplier": 1, "rpc_hold_timeout": "${cl_hold}s"},
 "autopilot": {"server_stabilization_time": "1s",
  "cleanup_dead_servers": false}}
JSON
}

# mdc_init "DC1 SERVERS" "DC1 CLIENTS" "DC2 SERVERS"
mdc_init() {
	local n
	cluster_init "$1 $3" "$2" || return 1
	mdc_s1=$1 mdc_s2=$3 mdc_wan="$1 $3"
	for n in $1; do mdc_server_conf "$n" dc1 "$1"; done
	for n in $3; do mdc_server_conf "$n" dc2 "$3"; done
	for n in $2; do
		cat >"$cl_dir/node$n.json" <<JSON
{"datacenter": "dc1", "retry_interval": "1s",
 "retry_join": [$(mdc_list "$cl_lan" "$1")],
 "performance": {"rpc_hold_timeout": "${cl_hold}s"}}
JSON
	done
}

# mdc_ready: each datacenter has one leader, the clients know it.
mdc_ready() {
	agreed none $mdc_s1 && agreed none $mdc_s2 && client_ready
}

# mdc_start: start every node, wait for both leaders and the clients,
# and for every tree to have its processes.
mdc_start() {
	local n
	for n in $mdc_s1 $mdc_s2 $cl_client; do node_start "$n"; done
	poll 40 mdc_ready || return 1
	for n in $mdc_s1 $mdc_s2 $cl_client; do
		poll 5 node_settled "$n" || return 1
	done
}
