#!/bin/sh
# ACL benchmark (`make bench acl`): two single-server agents side by
# side, one with ACLs off and one with ACLs on (default deny), each with
# the same KV key and a service of 3 instances.  Prints KV reads/s and
# catalog/health reads/s on both (on: with a token whose policy has 20
# rules), alternating the runs so that both see the same machine; then
# fills the ACL agent with 1,000 policies and 10,000 tokens and prints
# reads/s with one token against 10,000 tokens in turn (most of them
# past the resolution cache), and raftd's resident memory before and
# after 100,000 requests with random unknown tokens.  Prints numbers;
# asserts nothing.  Loopback only, on ports 17390-17404: the benches
# stay below the tests' ports (18000 up), so that an agent a killed
# bench leaves behind cannot answer a later test.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=${CONSULD_BUILD:-$top}
secs=${BENCH_SECONDS:-5}
npol=${BENCH_ACL_POLICIES:-1000}
ntok=${BENCH_ACL_TOKENS:-10000}
off_port=17390
on_port=17400
mgmt=5b1c0a3e-7d5e-4c1b-9a43-000000000b0b
for t in wrk python3 curl; do
	command -v $t >/dev/null || { echo "acl bench: needs $t"; exit 1; }
done
data=$(mktemp -d /tmp/consuld-bench.XXXXXX)
chmod 755 "$data"
pids=""
cleanup() {
	for p in $pids; do kill -TERM $p 2>/dev/null; done
	for p in $pids; do wait $p 2>/dev/null; done
	rm -rf "$data"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start NAME PORT [CONFIG]
start() {
	"$build/consuld/consuld" -d -server -bootstrap -node="$1" \
	    -data-dir="$data/$1" -bind=127.0.0.1 -client=127.0.0.1 \
	    -http-port=$2 -dns-port=$(($2 + 1)) -serf-lan-port=$(($2 + 2)) \
	    -serf-wan-port=$(($2 + 3)) -server-port=$(($2 + 4)) \
	    -log-level=warn ${3:+-config-file="$3"} >"$data/$1.log" 2>&1 &
	pids="$pids $!"
}
cat >"$data/acl.json" <<JSON
{"acl": {"enabled": true, "default_policy": "deny",
 "tokens": {"initial_management": "$mgmt"}}}
JSON
start off $off_port
start on $on_port "$data/acl.json"
i=0
until [ "$(curl -s "http://127.0.0.1:$off_port/v1/status/leader")" != '""' ] &&
    [ "$(curl -s "http://127.0.0.1:$on_port/v1/status/leader")" != '""' ] &&
    curl -sf -o /dev/null -H "X-Consul-Token: $mgmt" \
    "http://127.0.0.1:$on_port/v1/acl/token/self"; do
	i=$((i + 1)); [ $i -gt 600 ] && { echo "no leader"; exit 1; }
	sleep 0.05
done

# The policy: 20 rules, the reads the benchmark makes granted by
# rules in the middle of the list.
rules='key "bench/secret" { policy = "deny" }'
i=1
while [ $i -le 8 ]; do
	rules="$rules
key_prefix \"app$i/\" { policy = \"write\" }"
	i=$((i + 1))
done
rules="$rules
key_prefix \"bench/\" { policy = \"read\" }
service_prefix \"\" { policy = \"read\" }
node_prefix \"\" { policy = \"read\" }"
i=9
while [ $i -le 16 ]; do
	rules="$rules
service_prefix \"svc$i-\" { policy = \"write\" }"
	i=$((i + 1))
done
tok=$(python3 - "$on_port" "$mgmt" "$rules" <<'PY'
import http.client, json, sys
port, mgmt, rules = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
def put(path, body):
    c.request("PUT", path, json.dumps(body), {"X-Consul-Token": mgmt})
    r = c.getresponse(); b = r.read()
    if r.status != 200:
        sys.exit("acl bench: %s: %d %s" % (path, r.status, b))
    return json.loads(b)
put("/v1/acl/policy", {"Name": "bench-20", "Rules": rules})
print(put("/v1/acl/token", {"Policies": [{"Name": "bench-20"}]})["SecretID"])
PY
) || exit 1
nrules=$(printf '%s\n' "$rules" | grep -c policy)

value=$(head -c 100 /dev/zero | tr '\0' v)
for port in $off_port $on_port; do
	curl -sf -o /dev/null -X PUT -H "X-Consul-Token: $mgmt" \
	    --data-binary "$value" "http://127.0.0.1:$port/v1/kv/bench/read" ||
	    { echo "acl bench: KV write failed"; exit 1; }
	for n in 1 2 3; do
		curl -sf -o /dev/null -X PUT -H "X-Consul-Token: $mgmt" \
		    -d "{\"Node\":\"n$n\",\"Address\":\"127.0.0.$n\",
		    \"Service\":{\"Service\":\"web\",\"Port\":80}}" \
		    "http://127.0.0.1:$port/v1/catalog/register" ||
		    { echo "acl bench: register failed"; exit 1; }
	done
done
# The token must see what it reads, or the "on" numbers measure 403s.
for p in /v1/kv/bench/read /v1/health/service/web; do
	n=$(curl -s -H "X-Consul-Token: $tok" "http://127.0.0.1:$on_port$p" |
	    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	[ "$n" -ge 1 ] || { echo "acl bench: token reads nothing at $p"; exit 1; }
done

# rps URL [wrk args...]: requests/s of a run.
rps() {
	u=$1; shift
	wrk "$@" -d${secs}s "$u" | awk '/Requests\/sec/ { printf "%.0f", $2 }'
}
off_pid=$(echo $pids | awk '{ print $1 }')
on_pid=$(echo $pids | awk '{ print $2 }')
# ticks PID: user + system clock ticks of an agent's processes so far.
ticks() {
	for p in $1 $(pgrep -P $1); do cat /proc/$p/stat; done |
	    awk '{ t += $14 + $15 } END { print t }'
}
hz=$(getconf CLK_TCK)
# run PID URL [wrk args...]: "requests/s CPU-microseconds/request" of a
# run; the CPU time is the agent's own (all its processes), which other
# load on the machine changes less than it changes requests/s.
run() {
	p=$1; u=$2; shift 2
	c0=$(ticks $p)
	wrk "$@" -d${secs}s "$u" >"$data/w"
	c1=$(ticks $p)
	awk -v c=$((c1 - c0)) -v hz=$hz '
	/requests in/ { n = $1 }
	/Requests\/sec/ { r = $2 }
	END { printf "%.0f %.1f\n", r, n ? c * 1e6 / hz / n : 0 }' "$data/w"
}
# compare WHAT PATH CONNS: off and on twice each, alternating.
compare() {
	t=$([ $3 -lt 2 ] && echo 1 || echo 2)
	o1=$(run $off_pid "http://127.0.0.1:$off_port$2" -t$t -c$3)
	a1=$(run $on_pid "http://127.0.0.1:$on_port$2" -t$t -c$3 \
	    -H "X-Consul-Token: $tok")
	o2=$(run $off_pid "http://127.0.0.1:$off_port$2" -t$t -c$3)
	a2=$(run $on_pid "http://127.0.0.1:$on_port$2" -t$t -c$3 \
	    -H "X-Consul-Token: $tok")
	echo "$o1 $a1 $o2 $a2" | awk -v w="$1" -v c=$3 '
	{ o = ($1 + $5) / 2; a = ($3 + $7) / 2
	  oc = ($2 + $6) / 2; ac = ($4 + $8) / 2
	  printf "acl %-12s %2d conns: off %6.0f req/s %5.1f us CPU/req," \
	      "  on %6.0f req/s %5.1f us CPU/req;  cost %+.1f%% req/s," \
	      " %+.1f%% CPU\n", w, c, o, oc, a, ac,
	      o ? (o - a) * 100 / o : 0, oc ? (ac - oc) * 100 / oc : 0 }'
}
echo "token with $nrules rules; each figure the mean of 2 alternating runs" \
    "of ${secs} s"
for c in 1 16; do
	compare "kv read" /v1/kv/bench/read $c
	compare "catalog read" /v1/catalog/service/web $c
	compare "health read" /v1/health/service/web $c
done

raftd_of() {
	for p in $(pgrep -P "$1"); do
		[ "$(cat /proc/$p/comm)" = raftd ] && echo $p
	done
}
raftd=$(raftd_of "$on_pid")
rss() { awk '/^VmRSS:/ { print $2 }' /proc/$raftd/status; }

# 1,000 policies, 10,000 tokens with 3 of them each.
t0=$(date +%s.%N)
python3 - "$on_port" "$mgmt" "$npol" "$ntok" "$data/tokens" <<'PY' || exit 1
import http.client, json, sys, threading
port, mgmt, npol, ntok, out = (int(sys.argv[1]), sys.argv[2],
    int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
def worker(items, fn, res):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in items:
        c.request("PUT", fn[0], json.dumps(fn[1](i)),
            {"X-Consul-Token": mgmt})
        r = c.getresponse(); b = r.read()
        if r.status != 200:
            print("acl bench: %d %s" % (r.status, b[:200]), file=sys.stderr)
            sys.exit(1)
        res.append(json.loads(b))
def run(n, fn):
    res = []
    ts = [threading.Thread(target=worker, args=(range(k, n, 16), fn, res))
        for k in range(16)]
    for t in ts: t.start()
    for t in ts: t.join()
    return res
pol = lambda i: {"Name": "p%d" % i,
    "Rules": 'key_prefix "p%d/" { policy = "write" }\n'
    'key_prefix "bench/" { policy = "read" }' % i}
run(npol, ("/v1/acl/policy", pol))
tokf = lambda i: {"Policies": [{"Name": "p%d" % ((i + k * 7) % npol)}
    for k in range(3)]}
toks = run(ntok, ("/v1/acl/token", tokf))
with open(out, "w") as f:
    for t in toks:
        f.write(t["SecretID"] + "\n")
PY
t1=$(date +%s.%N)
made=$(wc -l <"$data/tokens")
awk -v p=$npol -v t=$made -v s0=$t0 -v s1=$t1 'BEGIN {
	printf "made %d policies and %d tokens in %.1f s (%.0f/s)\n",
	    p, t, s1 - s0, (p + t) / (s1 - s0) }'
cat >"$data/many.lua" <<LUA
-- Each request with the next token of the file, in turn.
local toks = {}
local n = 0
init = function(args)
	for l in io.lines("$data/tokens") do toks[#toks + 1] = l end
	n = math.random(#toks)
end
request = function()
	n = n % #toks + 1
	return wrk.format("GET", "/v1/kv/bench/read",
	    { ["X-Consul-Token"] = toks[n] })
end
LUA
cat >"$data/random.lua" <<'LUA'
-- Each request with a random token nobody made.
math.randomseed(os.time())
local function hex(n)
	local s = {}
	for i = 1, n do s[i] = string.format("%x", math.random(0, 15)) end
	return table.concat(s)
end
request = function()
	return wrk.format("GET", "/v1/kv/bench/read", { ["X-Consul-Token"] =
	    hex(8) .. "-" .. hex(4) .. "-" .. hex(4) .. "-" .. hex(4) ..
	    "-" .. hex(12) })
end
LUA
for c in 1 16; do
	t=$([ $c -lt 2 ] && echo 1 || echo 2)
	one=$(rps "http://127.0.0.1:$on_port/v1/kv/bench/read" -t$t -c$c \
	    -H "X-Consul-Token: $tok")
	many=$(rps "http://127.0.0.1:$on_port" -t$t -c$c -s "$data/many.lua")
	echo "acl kv read, $made tokens/$npol policies made, $c conns:" \
	    "one token $one req/s, all $made in turn $many req/s"
done
before=$(rss)
n=0
start_s=$(date +%s.%N)
while [ $n -lt 100000 ]; do
	wrk -t2 -c16 -d2s -s "$data/random.lua" \
	    "http://127.0.0.1:$on_port" >"$data/w"
	r=$(awk '/requests in/ { print $1 }' "$data/w")
	n=$((n + ${r:-0}))
	[ "${r:-0}" -gt 0 ] || break
done
after=$(rss)
code=$(curl -s -o /dev/null -w '%{http_code}' \
    -H "X-Consul-Token: 00000000-0000-4000-8000-000000000000" \
    "http://127.0.0.1:$on_port/v1/kv/bench/read")
echo "raftd RSS before $n random unknown tokens ${before} KiB, after" \
    "${after} KiB (answer to an unknown token: $code)"
