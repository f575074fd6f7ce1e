#!/bin/sh
# The /v1/kv HTTP API of a -dev agent, through curl: every verb and
# parameter, Consul's status codes and bodies, the X-Consul-* headers,
# blocking queries (woken by a write, timed out by wait, a thousand at
# once while writes go on), the size limit, and durability across a
# kill -9 and restart.
. "$(dirname "$0")/../lib/agent.sh"

data_dir="$test_tmp/data"
agent_start_server 6 "$test_tmp/agent.log" "$data_dir"
if ! wait_for_log "agent: running" || ! wait_for_log "raft: leader" 10; then
	not_ok "agent starts and leads"; cat "$agent_log"; tap_done; exit 1
fi
ok "agent starts and leads"
api="http://127.0.0.1:$http_port/v1"

# req METHOD PATH [curl args...]: sets code, body (file $test_tmp/b),
# headers (file $test_tmp/h).
req() {
	m=$1; p=$2; shift 2
	code=$(curl -s -o "$test_tmp/b" -D "$test_tmp/h" -w '%{http_code}' \
	    -X "$m" "$@" "$api$p")
	body=$(cat "$test_tmp/b")
}
hdr() { sed -n "s/^$1: *//ip" "$test_tmp/h" | tr -d '\r'; }

check "status/leader names this server" \
    [ "$(curl -s "$api/status/leader")" = "\"127.0.0.1:$server_port\"" ]
check "status/peers lists it" \
    [ "$(curl -s "$api/status/peers" | jq -r '.[0]')" = "127.0.0.1:$server_port" ]

req PUT /kv/web/config --data-binary 'port=80'
check "PUT a key answers true" [ "$code" = 200 -a "$body" = true ]
req GET /kv/web/config
check "GET returns one KVPair" [ "$code" = 200 ] 
check "GET Key, Value (base64), Flags" [ "$(echo "$body" | jq -r \
    '.[0] | [.Key, (.Value | @base64d), .Flags, .LockIndex] | join(" ")')" = \
    "web/config port=80 0 0" ]
check "GET has no Session for an unlocked key" \
    [ "$(echo "$body" | jq -r '.[0] | has("Session")')" = false ]
idx=$(echo "$body" | jq -r '.[0].ModifyIndex')
check "X-Consul-Index is the key's ModifyIndex" [ "$(hdr X-Consul-Index)" = "$idx" ]
check "X-Consul-KnownLeader is true" [ "$(hdr X-Consul-KnownLeader)" = true ]
check "X-Consul-LastContact is 0 on the leader" [ "$(hdr X-Consul-LastContact)" = 0 ]

req GET "/kv/web/config?raw"
check "?raw returns the bare value" [ "$body" = "port=80" ]
check "?raw is text/plain with nosniff" sh -c \
    "grep -qi '^Content-Type: text/plain' '$test_tmp/h' &&
     grep -qi '^X-Content-Type-Options: nosniff' '$test_tmp/h'"

req PUT "/kv/web/flags?flags=42" --data-binary ''
req GET /kv/web/flags
check "?flags is stored; an empty value is null" [ "$(echo "$body" | jq -r \
    '.[0] | "\(.Flags) \(.Value)"')" = "42 null" ]

req GET /kv/missing
check "a missing key is 404 with an empty body" [ "$code" = 404 -a -z "$body" ]
check "a 404 still carries X-Consul-Index" [ -n "$(hdr X-Consul-Index)" ]

for k in web/sub/a web/sub/b web/top; do
	curl -s -X PUT --data-binary "$k" "$api/kv/$k" >/dev/null
done
req GET "/kv/web?recurse"
check "?recurse returns every pair under the prefix, sorted" \
    [ "$(echo "$body" | jq -r 'map(.Key) | join(",")')" = \
    "web/config,web/flags,web/sub/a,web/sub/b,web/top" ]
req GET "/kv/web/?keys&separator=/"
check "?keys&separator=/ collapses to the next separator" \
    [ "$(echo "$body" | jq -r 'join(",")')" = "web/config,web/flags,web/sub/,web/top" ]
req GET "/kv/web/?keys"
check "?keys lists every key" [ "$(echo "$body" | jq length)" = 5 ]
req GET "/kv/nothing/?keys"
check "?keys on an empty non-root prefix is 404" [ "$code" = 404 ]

# CAS: 0 creates only, an index must match.
req PUT "/kv/cas?cas=0" --data-binary one
check "cas=0 creates an absent key" [ "$body" = true ]
req PUT "/kv/cas?cas=0" --data-binary two
check "cas=0 on an existing key is false" [ "$body" = false ]
ci=$(curl -s "$api/kv/cas" | jq -r '.[0].ModifyIndex')
req PUT "/kv/cas?cas=$((ci - 1))" --data-binary two
check "cas with a stale index is false" [ "$body" = false ]
req PUT "/kv/cas?cas=$ci" --data-binary two
check "cas with the current index is true" [ "$body" = true ]

# Two writers race with the same index: exactly one wins.
ci=$(curl -s "$api/kv/cas" | jq -r '.[0].ModifyIndex')
curl -s -X PUT --data-binary A "$api/kv/cas?cas=$ci" >"$test_tmp/w1" &
w1=$!
curl -s -X PUT --data-binary B "$api/kv/cas?cas=$ci" >"$test_tmp/w2" &
w2=$!
wait $w1 $w2
r1=$(cat "$test_tmp/w1"); r2=$(cat "$test_tmp/w2")
check "a CAS race has exactly one winner" \
    [ "$r1 $r2" = "true false" -o "$r1 $r2" = "false true" ]

req DELETE "/kv/cas?cas=1"
check "DELETE with a stale cas is false" [ "$body" = false ]
req DELETE /kv/cas
check "DELETE answers true" [ "$body" = true ]
req DELETE /kv/cas
check "DELETE of a missing key is still true" [ "$body" = true ]
req DELETE "/kv/web/sub?recurse"
req GET "/kv/web/sub?recurse"
check "DELETE ?recurse removes the prefix" [ "$code" = 404 ]

# Bad input: 400 with a reason, nothing written.
req PUT "/kv/bad?flags=abc" --data-binary x
check "non-numeric flags is 400" [ "$code" = 400 -a -n "$body" ]
req PUT "/kv/bad?cas=-1" --data-binary x
check "non-numeric cas is 400" [ "$code" = 400 ]
req GET "/kv/bad?index=x"
check "a bad index is 400 Invalid index" [ "$code" = 400 -a "$body" = "Invalid index" ]
req GET "/kv/bad?index=1&wait=10x"
check "a bad wait is 400 Invalid wait time" [ "$code" = 400 -a "$body" = "Invalid wait time" ]
req GET "/kv/bad?stale&consistent"
check "stale with consistent is 400" [ "$code" = 400 ]
req PUT "/kv/bad?cas=1&acquire=x" --data-binary x
check "cas with acquire is 400" [ "$code" = 400 ]
req PUT "/kv/bad?acquire=0d2f3b6a-0000-0000-0000-000000000000" --data-binary x
check "acquire with an unknown session is 500 invalid session" \
    sh -c "[ '$code' = 500 ] && echo '$body' | grep -q '^invalid session'"
req PUT /kv/ --data-binary x
check "PUT without a key is 400 Missing key name" [ "$code" = 400 -a "$body" = "Missing key name" ]
req GET "/kv/bad?dc=elsewhere"
check "an unknown datacenter is 500 No path to datacenter" \
    [ "$code" = 500 -a "$body" = "No path to datacenter" ]
check "none of the bad requests wrote" [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/kv/bad")" = 404 ]
req PUT "/kv/..%2F..%2Fetc%2Fpasswd" --data-binary x
check "a key with path traversal is just a key" [ "$body" = true ]
req GET "/kv/../../etc/passwd?raw" --path-as-is
check "and reads back" [ "$body" = x ]

head -c 524288 /dev/zero | tr '\0' v > "$test_tmp/max"
head -c 524289 /dev/zero | tr '\0' v > "$test_tmp/over"
req PUT /kv/big --data-binary @"$test_tmp/max"
check "a 512 KiB value is accepted" [ "$body" = true ]
check "and reads back whole" [ "$(curl -s "$api/kv/big?raw" | wc -c)" = 524288 ]
req PUT /kv/big2 --data-binary @"$test_tmp/over"
check "512 KiB + 1 is 413 with the limit in the reason" \
    sh -c "[ '$code' = 413 ] && echo '$body' | grep -q 'max size: 524288 bytes'"

# Blocking: woken by a write to the key, not by others; wait expires.
idx=$(curl -s -D - -o /dev/null "$api/kv/block" | sed -n 's/^X-Consul-Index: *//ip' | tr -d '\r')
start=$(date +%s%N)
curl -s -D "$test_tmp/bh" -o "$test_tmp/bb" "$api/kv/block?index=$idx&wait=10s" &
bq=$!
sleep 0.5
curl -s -X PUT --data-binary other "$api/kv/unrelated" >/dev/null
sleep 0.3
check "a write to another key does not wake the query" alive $bq
t0=$(date +%s%N)
curl -s -X PUT --data-binary now "$api/kv/block" >/dev/null
wait $bq
t1=$(date +%s%N)
check "a write to the key wakes the query" \
    [ "$(jq -r '.[0].Value | @base64d' "$test_tmp/bb")" = now ]
diag "blocking query answered $(( (t1 - t0) / 1000000 )) ms after the write"
check "the woken answer returned well before wait" [ $(( (t1 - start) / 1000000000 )) -lt 5 ]
nidx=$(sed -n 's/^X-Consul-Index: *//ip' "$test_tmp/bh" | tr -d '\r')
t0=$(date +%s%N)
code=$(curl -s -o /dev/null -w '%{http_code}' "$api/kv/block?index=$nidx&wait=1s")
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "with no write the query returns after wait (1s..1.5s)" \
    [ "$code" = 200 -a "$ms" -ge 1000 -a "$ms" -lt 1600 ]

# A thousand parked queries cost nothing while writes go on.
nidx=$(curl -s -D - -o /dev/null "$api/kv/parked" | sed -n 's/^X-Consul-Index: *//ip' | tr -d '\r')
"$CONSULD_BUILD/regress/tools/parkq" 127.0.0.1 "$http_port" \
    "/v1/kv/parked?index=$nidx&wait=60s" 1000 30 >"$test_tmp/parkq" 2>&1 &
pq=$!
i=0; until grep -q '^sent' "$test_tmp/parkq" || [ $i -gt 100 ]; do sleep 0.1; i=$((i+1)); done
for i in $(seq 1 20); do
	curl -s -X PUT --data-binary "$i" "$api/kv/churn/$i" >/dev/null
done
check "writes go on while 1000 queries are parked" \
    [ "$(curl -s "$api/kv/churn/20?raw")" = 20 ]
rss=0
for p in $(pgrep -P "$agent_pid"); do
	[ "$(cat /proc/$p/comm)" = raftd ] && rss=$(awk '/^VmRSS/ {print $2}' /proc/$p/status)
done
diag "raftd RSS with 1000 parked queries: $rss KiB"
curl -s -X PUT --data-binary go "$api/kv/parked" >/dev/null
wait $pq
check "all 1000 parked queries are answered by one write" \
    grep -q '^answered 1000 of 1000, status 200: 1000' "$test_tmp/parkq"
diag "$(cat "$test_tmp/parkq" | tail -1)"

# kill -9 during a write storm; every acknowledged write survives.
: > "$test_tmp/acked"
(
	i=0
	while [ $i -lt 3000 ]; do
		r=$(curl -s -m 2 -X PUT --data-binary "v$i" "$api/kv/storm/$i")
		[ "$r" = true ] && echo "$i" >> "$test_tmp/acked"
		i=$((i + 1))
	done
) &
storm=$!
sleep 2
kill -KILL "$(child_pid raftd)"
wait $storm
wait_exit "$agent_pid" 50 >/dev/null
wait "$agent_pid"
check "kill -9 of raftd takes the agent down non-zero" [ $? -ne 0 ]
n=$(wc -l < "$test_tmp/acked")
diag "$n writes were acknowledged before the kill"
check "writes were acknowledged before the kill" [ "$n" -gt 0 ]

agent_start_server 6 "$test_tmp/agent2.log" "$data_dir"
if wait_for_log "raft: leader" 15; then
	ok "the agent restarts on the same data and leads"
else
	not_ok "the agent restarts on the same data and leads"; cat "$agent_log"
fi
curl -s "$api/kv/storm/?recurse" |
    jq -r '.[] | "\(.Key | ltrimstr("storm/")) \(.Value | @base64d)"' |
    sort -n > "$test_tmp/stored"
missing=0
while read -r i; do
	grep -qx "$i v$i" "$test_tmp/stored" || missing=$((missing + 1))
done < "$test_tmp/acked"
check "every acknowledged write is there after the restart" [ "$missing" -eq 0 ]
check "the earlier keys survived too" \
    [ "$(curl -s "$api/kv/web/config?raw")" = "port=80" ]
kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
wait "$agent_pid"
check "SIGTERM exits 0" [ $? -eq 0 ]
tap_done
