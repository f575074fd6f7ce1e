#!/bin/sh
# Service discovery and health on 3 servers (127.0.0.51-53) and 2 client
# agents, A (127.0.0.55) and B (127.0.0.56), each its own privsep tree
# (issue 6, Tests).  A local HTTP server that the test controls (python3,
# on 127.0.0.55 and .56) answers /health with the status code read from
# a file the test rewrites.
#   - The example web service, defined in A's -config-dir in the issue's
#     form with an http check on that endpoint, becomes passing; it is
#     visible on every server; consulctl lists it.
#   - A second instance of web on B: health shows both.
#   - A TTL check registered on B through /v1/agent/check/register is
#     passed, then lapses: critical, with Consul's TTL output.
#   - The endpoint answering 500 turns A's check critical (output in
#     Consul's form) and takes A's instance out of ?passing on every
#     server; /v1/health/state/critical lists it; 200 brings it back.
#   - A killed with SIGKILL (its whole tree): its serfHealth goes
#     critical and web drops from ?passing on every server within the
#     gossip failure time, while the catalog keeps the failed node; the
#     KV lock A's session held is released, and B's session takes it
#     once the lock delay has passed.
#   - Anti-entropy: a service registered on B through the agent API and
#     deleted from the catalog behind B's back (PUT /v1/catalog/deregister
#     on a server) comes back through B's periodic sync (60 s plus up to
#     1/8 of stagger at this size, raftd/antientropy.c); nothing changes
#     on B meanwhile, so no change-triggered sync does it.  The steps on
#     A run during that wait.
# Every wait is a bounded poll derived from the configured intervals;
# the times measured are printed as diagnostics, never asserted.
. "$(dirname "$0")/../lib/cluster.sh"

A=55 B=56
servers="51 52 53"
web_port=19885		# the health endpoint, on 127.0.0.$A and 127.0.0.$B
interval=1		# the http checks' interval, s
ttl=2			# the TTL check's, s
# A check result reaches the agent within an interval (plus checkd's
# timeout, but the endpoint answers at once) and the servers after a
# sync: 10 intervals is generous, twice as much for the servers.
agent_bound=$((10 * interval))
server_bound=$((20 * interval))
# Gossip (gossip_lan defaults): a probe round over the 5 members at
# probe_interval 1 s, the probe timeout (0.5 s, counted as 1), the longest
# suspicion (suspicion_max_mult 6 x suspicion_mult 4 x probe_interval, as
# log10(5) < 1), the leader's reconcile pass (1 s); doubled for the
# sanitizer build on 2 cores.
fail_bound=$((2 * (5 * 1 + 1 + 6 * 4 * 1 + 1)))
# Anti-entropy: the periodic sync every 60 s plus a stagger of up to
# 60/8 s, a failed one retried after 3 s; and a generous margin.
ae_bound=$((60 + 60 / 8 + 3 + 30))

web_pid=""
web_stop() {
	if [ -n "$web_pid" ]; then
		kill -KILL "$web_pid" 2>/dev/null
		wait "$web_pid" 2>/dev/null
		web_pid=""
	fi
}
trap 'web_stop; cluster_cleanup' EXIT

# The health endpoint: "ADDR PORT STATUSFILE" triples, one listener each.
cat >"$test_tmp/websrv.py" <<'EOF'
import http.server, sys, threading

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/health":
            code, body = 404, b"not found\n"
        else:
            with open(self.server.status_file) as f:
                code = int(f.read().strip())
            body = b"health %d\n" % code
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.server.server_address[0],
            fmt % args))
        sys.stderr.flush()

a = sys.argv[1:]
srvs = []
for i in range(0, len(a), 3):
    s = http.server.ThreadingHTTPServer((a[i], int(a[i + 1])), H)
    s.status_file = a[i + 2]
    srvs.append(s)
for s in srvs[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
srvs[0].serve_forever()
EOF

# set_status N CODE: the endpoint on 127.0.0.N answers CODE from now on.
set_status() {
	echo "$2" >"$test_tmp/status$1.tmp" &&
	    mv "$test_tmp/status$1.tmp" "$test_tmp/status$1"
}
endpoint() { echo "http://127.0.0.$1:$web_port/health"; }
endpoint_says() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
	    "$(endpoint "$1")")" = "$2" ]
}

# get N PATH: GET PATH from node N's HTTP API.
get() { curl -s --max-time 5 "$(cl_url "$1" "$2")"; }
# put N PATH [BODY]: PUT; prints the body, a blank and the status.
put() {
	curl -s --max-time 5 -w ' %{http_code}' -X PUT \
	    --data-binary "${3:-}" "$(cl_url "$1" "$2")"
}
# ctl N ARGS...: consulctl ARGS against node N.
ctl() {
	local n=$1
	shift
	"$CONSULCTL" "$@" -http-addr="127.0.0.$n:$cl_http"
}

# passing_nodes N SERVICE: the nodes of the passing instances of SERVICE
# in node N's own state (?stale), sorted, on one line ("?" when N does
# not answer with a list).
passing_nodes() {
	local j
	j=$(get "$1" "/v1/health/service/$2?passing&stale") &&
	    printf '%s\n' "$j" | jq -er 'if type == "array" then
	    [.[].Node.Node] | sort | join(" ") else error end' 2>/dev/null ||
	    echo "?"
}
# passing_on_all SERVICE "NODES": every server has NODES as the passing
# instances of SERVICE.
passing_on_all() {
	local s
	for s in $servers; do
		[ "$(passing_nodes "$s" "$1")" = "$2" ] || return 1
	done
}
# check_field N SERVICE NODE CHECKID FIELD: FIELD of a check of SERVICE in
# node N's own state.
check_field() {
	get "$1" "/v1/health/checks/$2?stale" | jq -r ".[] |
	    select(.Node == \"$3\" and .CheckID == \"$4\") | .$5" 2>/dev/null
}
# check_is_on_all SERVICE NODE CHECKID STATUS: on every server.
check_is_on_all() {
	local s
	for s in $servers; do
		[ "$(check_field "$s" "$1" "$2" "$3" Status)" = "$4" ] ||
		    return 1
	done
}
# agent_check N CHECKID FIELD: FIELD of the check in agent N's own state.
agent_check() {
	get "$1" /v1/agent/checks | jq -r ".[\"$2\"].$3" 2>/dev/null
}
agent_check_is() { [ "$(agent_check "$1" "$2" Status)" = "$3" ]; }
# critical_has N NODE CHECKID: /v1/health/state/critical on N lists it.
critical_has() {
	get "$1" "/v1/health/state/critical?stale" | jq -e ".[] |
	    select(.Node == \"$2\" and .CheckID == \"$3\" and
	    .Status == \"critical\")" >/dev/null 2>&1
}
critical_has_on_all() {
	local s
	for s in $servers; do critical_has "$s" "$1" "$2" || return 1; done
}
# catalog_service_on_all NAME NODE: every server's catalog has an instance
# of NAME on NODE.
catalog_service_on_all() {
	local s
	for s in $servers; do
		get "$s" "/v1/catalog/service/$1?stale" | jq -e ".[] |
		    select(.Node == \"$2\")" >/dev/null 2>&1 || return 1
	done
}
secs_since() { echo "$(($(now_ms) - $1))" | awk '{ printf "%.1f", $1 / 1000 }'; }

# The web service on A, exactly in the issue's form (a short interval).
cluster_init "$servers" "$A $B"
mkdir -p "$cl_dir/conf$A.d"
cat >"$cl_dir/conf$A.d/web.json" <<EOF
{"service":{"name":"web","tags":["primary"],"address":"127.0.0.$A","port":$web_port,"checks":[{"http":"$(endpoint $A)","interval":"${interval}s"}]}}
EOF
set_status "$A" 200
set_status "$B" 200
python3 "$test_tmp/websrv.py" 127.0.0.$A $web_port "$test_tmp/status$A" \
    127.0.0.$B $web_port "$test_tmp/status$B" \
    2>"$test_tmp/websrv.log" &
web_pid=$!
if ! poll 10 endpoint_says "$A" 200 || ! poll 10 endpoint_says "$B" 200; then
	not_ok "the local health endpoint answers 200 on 127.0.0.$A and 127.0.0.$B"
	sed 's/^/#   /' "$test_tmp/websrv.log" | head -20
	tap_done
	exit 1
fi
ok "the local health endpoint answers 200 on 127.0.0.$A and 127.0.0.$B"

t_start=$(now_ms)
if ! cluster_start; then
	not_ok "3 servers and 2 clients start and agree on a leader"
	cl_keep_logs
	tap_done
	exit 1
fi
ok "3 servers and 2 clients start and agree on a leader (f$cl_leader)"

members_alive() {
	[ "$(ctl 51 members | awk 'NR > 1 && $3 == "alive" { print $1 }' |
	    sort | tr '\n' ' ')" = "f51 f52 f53 f$A f$B " ]
}
check "consulctl members: the 3 servers and 2 clients alive" \
    poll 15 members_alive

# The web service of A's configuration directory.
check "A's agent has web from its configuration directory" \
    [ "$(get $A /v1/agent/services | jq -c '.web | [.Service, .Tags,
    .Address, .Port]')" = "[\"web\",[\"primary\"],\"127.0.0.$A\",$web_port]" ]
if poll $server_bound passing_on_all web "f$A"; then
	ok "web on A is passing on every server (?passing, $(secs_since "$t_start") s from the start)"
else
	not_ok "web on A is passing on every server (?passing)"
	for s in $servers; do diag "f$s: $(passing_nodes $s web)"; done
	diag "A: $(get $A /v1/agent/checks)"
fi
check "its one check is service:web (no :1 suffix for a single check, as Consul names it)" \
    [ "$(check_field 51 web "f$A" service:web Name)" = "Service 'web' check" ]
check "with Consul's http output" \
    [ "$(check_field 52 web "f$A" service:web Output)" = \
    "HTTP GET $(endpoint $A): 200 OK Output: health 200" ]
check "consulctl catalog services -tags lists web with its tag" \
    [ "$(ctl 53 catalog services -tags | awk '$1 == "web" { print $2 }')" = primary ]
check "consulctl catalog nodes -service=web lists A" \
    [ "$(ctl 52 catalog nodes -service=web | awk 'NR > 1 { print $1 }')" = "f$A" ]

# A second instance, on B, through the agent API.
check "register a second web instance on B through /v1/agent/service/register" \
    [ "$(put $B /v1/agent/service/register "{\"Name\":\"web\",\"ID\":\"web-b\",
    \"Address\":\"127.0.0.$B\",\"Port\":$web_port,\"Check\":{\"HTTP\":
    \"$(endpoint $B)\",\"Interval\":\"${interval}s\"}}")" = ' 200' ]
if poll $server_bound passing_on_all web "f$A f$B"; then
	ok "health of web shows both instances passing, on every server"
else
	not_ok "health of web shows both instances passing, on every server"
	for s in $servers; do diag "f$s: $(passing_nodes $s web)"; done
fi
check "consulctl catalog nodes -service=web lists A and B" \
    [ "$(ctl 53 catalog nodes -service=web | awk 'NR > 1 { print $1 }' |
    sort | tr '\n' ' ')" = "f$A f$B " ]
check "B's instance carries its own address and check" \
    [ "$(get 51 '/v1/health/service/web?passing' | jq -c ".[] |
    select(.Node.Node == \"f$B\") | [.Service.ID, .Service.Address,
    (.Checks[] | select(.CheckID == \"service:web-b\") | .Status)]")" = \
    "[\"web-b\",\"127.0.0.$B\",\"passing\"]" ]

# A TTL check on B.
register_worker() {
	[ "$(put $B /v1/agent/service/register \
	    '{"Name":"worker","Port":7001}')" = ' 200' ] &&
	    [ "$(put $B /v1/agent/check/register "{\"Name\":\"worker-ttl\",
	    \"ServiceID\":\"worker\",\"TTL\":\"${ttl}s\"}")" = ' 200' ]
}
check "register a service on B, and a TTL check (${ttl}s) for it through /v1/agent/check/register" \
    register_worker
check "a new TTL check is critical until it is updated (on every server)" \
    poll $server_bound check_is_on_all worker "f$B" worker-ttl critical
# ttl_beat: pass the check (as a live service would) and see it passing
# with its note on a server.
ttl_beat() {
	[ "$(put $B /v1/agent/check/pass/worker-ttl?note=beat)" = ' 200' ] &&
	    [ "$(check_field 52 worker "f$B" worker-ttl Status)" = passing ] &&
	    [ "$(check_field 52 worker "f$B" worker-ttl Output)" = beat ] &&
	    [ "$(passing_nodes 52 worker)" = "f$B" ]
}
check "passed with a note, it is passing in the catalog with the note as output" \
    poll $server_bound ttl_beat
t_beat=$(now_ms)
if poll $((ttl + server_bound)) check_is_on_all worker "f$B" worker-ttl critical; then
	ok "not passed again, it lapses: critical on every server ($(secs_since "$t_beat") s after the last pass, TTL ${ttl}s)"
else
	not_ok "not passed again, it lapses: critical on every server"
	diag "B: $(get $B /v1/agent/checks)"
fi
# spec/consul-api.md 4.2, Consul's CheckTTL.getExpiredOutput().
out=$(check_field 51 worker "f$B" worker-ttl Output)
check "with Consul's TTL output for a check that had output" \
    [ "$out" = "TTL expired (last output before timeout follows): beat" ]
diag "TTL check output: \"$out\""
check "and the worker is gone from ?passing on every server" \
    poll $server_bound passing_on_all worker ""

# Anti-entropy, part 1: a service on B deleted behind B's back.  From
# here on nothing changes on B until the repair is seen.
check "register the service ae on B through the agent API" \
    [ "$(put $B /v1/agent/service/register '{"Name":"ae","Port":7002,
    "Tags":["drift"]}')" = ' 200' ]
t_ae=$(now_ms)
check "ae reaches the catalog of every server" \
    poll $server_bound catalog_service_on_all ae "f$B"
ae_index=$(get 51 '/v1/catalog/service/ae?consistent' | jq -r '.[0].ModifyIndex')
check "PUT /v1/catalog/deregister of ae on a server, behind B's back" \
    [ "$(put 52 /v1/catalog/deregister "{\"Node\":\"f$B\",\"ServiceID\":\"ae\"}")" = 'true 200' ]
t_del=$(now_ms)
check "the catalog no longer has it" \
    [ "$(get 53 '/v1/catalog/service/ae?consistent')" = '[]' ]
check "B's agent still has it" \
    [ "$(get $B /v1/agent/services | jq -r '.ae.Service')" = ae ]

# The http check failing and recovering on A.
set_status "$A" 500
t0=$(now_ms)
if poll $agent_bound agent_check_is $A service:web critical; then
	ok "the endpoint answering 500 turns A's check critical ($(secs_since "$t0") s, interval ${interval}s)"
else
	not_ok "the endpoint answering 500 turns A's check critical"
	diag "A: $(get $A /v1/agent/checks)"
fi
check "with Consul's http output" \
    [ "$(agent_check $A service:web Output)" = \
    "HTTP GET $(endpoint $A): 500 Internal Server Error Output: health 500" ]
if poll $server_bound passing_on_all web "f$B"; then
	ok "A's instance is gone from ?passing on every server ($(secs_since "$t0") s)"
else
	not_ok "A's instance is gone from ?passing on every server"
	for s in $servers; do diag "f$s: $(passing_nodes $s web)"; done
fi
check "but still registered, critical (health without ?passing)" \
    [ "$(get 53 '/v1/health/service/web' | jq -r ".[] |
    select(.Node.Node == \"f$A\") | .Checks[] |
    select(.CheckID == \"service:web\") | .Status")" = critical ]
check "/v1/health/state/critical lists it on every server" \
    poll $server_bound critical_has_on_all "f$A" service:web
set_status "$A" 200
t0=$(now_ms)
if poll $server_bound passing_on_all web "f$A f$B"; then
	ok "answering 200 again brings it back into ?passing ($(secs_since "$t0") s)"
else
	not_ok "answering 200 again brings it back into ?passing"
	for s in $servers; do diag "f$s: $(passing_nodes $s web)"; done
fi

# A lock held by a session of A's node; B wants it too.
sa=$(put $A /v1/session/create '{"Name":"a-lock","LockDelay":"15s"}' |
    sed 's/ [0-9]*$//' | jq -r .ID)
sb=$(put $B /v1/session/create '{"Name":"b-lock"}' | sed 's/ [0-9]*$//' |
    jq -r .ID)
check "A's session takes the lock" \
    [ "$(put $A "/v1/kv/locks/leader?acquire=$sa" a)" = "true 200" ]
check "B's session cannot while A holds it" \
    [ "$(put $B "/v1/kv/locks/leader?acquire=$sb" b)" = "false 200" ]

# A killed with SIGKILL, its whole tree.
t0=$(now_ms)
check "kill -9 of A's whole process group" node_kill $A
if poll $fail_bound passing_on_all web "f$B"; then
	ok "web on A drops out of ?passing on every server ($(secs_since "$t0") s; bound ${fail_bound}s)"
else
	not_ok "web on A drops out of ?passing on every server (bound ${fail_bound}s)"
	for s in $servers; do diag "f$s: $(passing_nodes $s web)"; done
fi
check "A's serfHealth is critical on every server (/v1/health/state/critical)" \
    poll $server_bound critical_has_on_all "f$A" serfHealth
check "with Consul's output" \
    [ "$(get 51 "/v1/health/node/f$A" | jq -r '.[] |
    select(.CheckID == "serfHealth") | .Output')" = \
    "Agent not live or unreachable" ]
check "A's own web check is left as it was, passing: serfHealth alone takes it out" \
    [ "$(check_field 52 web "f$A" service:web Status)" = passing ]
lock_free() {
	[ "$(get 51 /v1/kv/locks/leader | jq -r '.[0].Session // "none"')" = \
	    none ]
}
check "A's failure invalidates its session: the lock is released" \
    poll $server_bound lock_free
check "and A's session is gone" \
    [ "$(get 52 "/v1/session/info/$sa")" = "[]" ]
t_free=$(now_ms)
check "within the lock delay B still cannot take it" \
    [ "$(put $B "/v1/kv/locks/leader?acquire=$sb" b)" = "false 200" ]
b_locks() { [ "$(put $B "/v1/kv/locks/leader?acquire=$sb" b)" = "true 200" ]; }
if poll 60 b_locks; then
	ok "after the lock delay B takes it ($(secs_since "$t_free") s after the release, LockDelay 15s)"
else
	not_ok "after the lock delay B takes it"
fi
check "with LockIndex 2" [ "$(get 53 /v1/kv/locks/leader |
    jq -r '.[0] | "\(.Session) \(.LockIndex)"')" = "$sb 2" ]
a_failed() {
	[ "$(ctl 51 members | awk -v a="f$A" '$1 == a { print $3 }')" = failed ]
}
check "consulctl members on a server shows A failed" \
    poll $server_bound a_failed
check "a failed node stays in the catalog (consulctl catalog nodes -service=web)" \
    [ "$(ctl 52 catalog nodes -service=web | awk 'NR > 1 { print $1 }' |
    sort | tr '\n' ' ')" = "f$A f$B " ]

# Anti-entropy, part 2: B's periodic sync puts ae back.
ae_back() {
	local s i
	for s in $servers; do
		i=$(get "$s" '/v1/catalog/service/ae?stale' | jq -r ".[] |
		    select(.Node == \"f$B\" and .ServiceID == \"ae\" and
		    .ServicePort == 7002 and .ServiceTags == [\"drift\"]) |
		    .CreateIndex" 2>/dev/null)
		[ -n "$i" ] && [ "$i" -gt "$ae_index" ] || return 1
	done
}
left=$(((t_ae + ae_bound * 1000 - $(now_ms)) / 1000))
[ "$left" -gt 0 ] || left=1
if poll "$left" ae_back; then
	ok "anti-entropy puts ae back on every server ($(secs_since "$t_del") s after the deletion, $(secs_since "$t_ae") s after B's last sync)"
	[ $(($(now_ms) - t_ae)) -lt 60000 ] &&
	    diag "ae came back before B's periodic sync was due: something changed on B"
else
	not_ok "anti-entropy puts ae back on every server (bound ${ae_bound}s from B's last sync)"
	for s in $servers; do diag "f$s: $(get $s '/v1/catalog/service/ae?stale')"; done
fi
check "consulctl catalog services -node=f$B lists it" \
    sh -c "'$CONSULCTL' catalog services -node=f$B \
    -http-addr=127.0.0.53:$cl_http | grep -qx ae"
check "B's instance of web is still passing" passing_on_all web "f$B"

check_alive "service health"
web_stop
cluster_stop
tap_done
