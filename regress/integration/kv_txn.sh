#!/bin/sh
# PUT /v1/txn against a real server agent, through curl: every KV verb,
# the 200 and 409 documents with Consul's What texts and OpIndex, that a
# rolled back transaction writes nothing, the read-only fields, the
# limits (128 operations, the value size, the body size), bad bodies,
# and uint64 Flags kept exact.
. "$(dirname "$0")/../lib/agent.sh"

# A 512 KiB value is 683 KiB in base64: raise the body limit to fit it.
echo '{"limits": {"txn_max_req_len": 1048576}}' > "$test_tmp/limits.json"
agent_start_server 7 "$test_tmp/agent.log" "$test_tmp/data" \
    -config-file="$test_tmp/limits.json"
if ! wait_for_log "agent: running" || ! wait_for_log "raft: leader" 10; then
	not_ok "agent starts and leads"; cat "$agent_log"; tap_done; exit 1
fi
ok "agent starts and leads"
api="http://127.0.0.1:$http_port/v1"

# txn BODY [QUERY]: PUT /v1/txn[QUERY]; sets code and body.
txn() {
	code=$(curl -s -o "$test_tmp/b" -D "$test_tmp/h" -w '%{http_code}' \
	    -X PUT --data-binary "$1" "$api/txn${2:-}")
	body=$(cat "$test_tmp/b")
}
hdr() { sed -n "s/^$1: *//ip" "$test_tmp/h" | tr -d '\r'; }
# jqb FILTER: FILTER applied to the last body.
jqb() { echo "$body" | jq -r "$1"; }
# what: "OpIndex What" of the only error of a 409.
what() { jqb '.Errors | if length == 1 then .[0] | "\(.OpIndex) \(.What)" else "count \(length)" end'; }
# absent KEY: GET /v1/kv/KEY is 404.
absent() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/kv/$1")" = 404 ]
}
raw() { curl -s "$api/kv/$1?raw"; }
b64() { printf '%s' "$1" | base64 -w0; }

# --- set and get in one transaction -----------------------------------
txn '[{"KV":{"Verb":"set","Key":"app/a","Value":"'"$(b64 hello)"'","Flags":7}},
      {"KV":{"Verb":"get","Key":"app/a"}}]'
check "set+get is 200" [ "$code" = 200 ]
check "two results, Errors null" \
    [ "$(jqb '"\(.Results | length) \(.Errors)"')" = "2 null" ]
check "the set's result has Key and Flags, Value null" \
    [ "$(jqb '.Results[0].KV | "\(.Key) \(.Flags) \(.Value)"')" = "app/a 7 null" ]
check "the get's result has the value" \
    [ "$(jqb '.Results[1].KV.Value | @base64d')" = hello ]
check "both results carry the transaction's index" \
    [ "$(jqb '.Results | map(.KV.ModifyIndex) | unique | length')" = 1 ]
check "a write transaction has no Index, LastContact, KnownLeader" \
    [ "$(jqb 'has("Index") or has("LastContact") or has("KnownLeader")')" = false ]
check "KVPair fields in Consul's order" [ "$(jqb '.Results[1].KV | keys_unsorted | join(",")')" = \
    "LockIndex,Key,Flags,Value,CreateIndex,ModifyIndex" ]
check "the value is in the store" [ "$(raw app/a)" = hello ]
idx=$(curl -s "$api/kv/app/a" | jq -r '.[0].ModifyIndex')

# --- a read-only transaction ------------------------------------------
txn '[{"KV":{"Verb":"get","Key":"app/a"}},
      {"KV":{"Verb":"check-index","Key":"app/a","Index":'"$idx"'}}]'
check "a read-only transaction is 200" [ "$code" = 200 ]
check "it carries Index, LastContact 0, KnownLeader true" \
    [ "$(jqb '"\(.Index > 0) \(.LastContact) \(.KnownLeader)"')" = "true 0 true" ]
check "and ConsistencyLevel, NotModified, Backend, ResultsFilteredByACLs" \
    [ "$(jqb '[has("ConsistencyLevel"), has("NotModified"), has("Backend"), has("ResultsFilteredByACLs")] | all')" = true ]
check "but no X-Consul-Index header" [ -z "$(hdr X-Consul-Index)" ]
check "X-Consul-KnownLeader and -LastContact headers" \
    [ "$(hdr X-Consul-KnownLeader) $(hdr X-Consul-LastContact)" = "true 0" ]
check "check-index gives a result with Value null" \
    [ "$(jqb '.Results[1].KV | "\(.Key) \(.Value)"')" = "app/a null" ]

# --- cas ---------------------------------------------------------------
txn '[{"KV":{"Verb":"cas","Key":"app/a","Value":"'"$(b64 v2)"'","Index":'"$idx"'}}]'
check "cas with the current index is 200" [ "$code" = 200 -a "$(raw app/a)" = v2 ]
txn '[{"KV":{"Verb":"cas","Key":"app/a","Value":"'"$(b64 v3)"'","Index":'"$idx"'}}]'
check "cas with a stale index is 409" [ "$code" = 409 ]
check "with Results null and Consul's What" [ "$(jqb .Results) $(what)" = \
    'null 0 failed to set key "app/a", index is stale' ]
check "and the value is unchanged" [ "$(raw app/a)" = v2 ]
txn '[{"KV":{"Verb":"cas","Key":"app/a","Value":"'"$(b64 v3)"'","Index":0}}]'
check "cas index 0 on an existing key is 409" [ "$code" = 409 -a "$(raw app/a)" = v2 ]
txn '[{"KV":{"Verb":"cas","Key":"app/new","Value":"'"$(b64 n)"'","Index":0}}]'
check "cas index 0 creates an absent key" [ "$code" = 200 -a "$(raw app/new)" = n ]

# --- failed checks roll the whole transaction back --------------------
idx=$(curl -s "$api/kv/app/a" | jq -r '.[0].ModifyIndex')
txn '[{"KV":{"Verb":"set","Key":"rb/1","Value":"'"$(b64 x)"'"}},
      {"KV":{"Verb":"check-index","Key":"app/a","Index":1}}]'
check "check-index with a wrong index is 409" [ "$code" = 409 ]
check "OpIndex 1, Consul's What" [ "$(what)" = \
    "1 failed index check for key \"app/a\", current modify index $idx != 1" ]
check "the set before it was rolled back" absent rb/1
txn '[{"KV":{"Verb":"set","Key":"rb/2","Value":"'"$(b64 x)"'"}},
      {"KV":{"Verb":"check-index","Key":"nope","Index":1}}]'
check "check-index on a missing key" [ "$code $(what)" = \
    '409 1 failed to check index, key "nope" doesn'"'"'t exist' ]
check "rolled back" absent rb/2
txn '[{"KV":{"Verb":"set","Key":"rb/3","Value":"'"$(b64 x)"'"}},
      {"KV":{"Verb":"check-session","Key":"app/a","Session":"0d2f3b6a-0000-0000-0000-000000000000"}}]'
check "check-session with another session is 409" [ "$code $(what)" = \
    '409 1 failed session check for key "app/a", current session "" != "0d2f3b6a-0000-0000-0000-000000000000"' ]
check "rolled back" absent rb/3
txn '[{"KV":{"Verb":"check-session","Key":"nope"}}]'
check "check-session on a missing key" [ "$code $(what)" = \
    '409 0 failed to check session, key "nope" doesn'"'"'t exist' ]
txn '[{"KV":{"Verb":"check-session","Key":"app/a"}}]'
check "check-session without a session on an unlocked key is 200" \
    [ "$code $(jqb '.Results[0].KV.Value')" = "200 null" ]
txn '[{"KV":{"Verb":"set","Key":"rb/4","Value":"'"$(b64 x)"'"}},
      {"KV":{"Verb":"delete","Key":"app/new"}},
      {"KV":{"Verb":"check-not-exists","Key":"app/a"}}]'
check "check-not-exists on an existing key is 409" [ "$code $(what)" = \
    '409 2 key "app/a" exists' ]
check "neither the set nor the delete happened" \
    sh -c "[ \"\$(curl -s '$api/kv/app/new?raw')\" = n ] &&
    [ \"\$(curl -s -o /dev/null -w '%{http_code}' '$api/kv/rb/4')\" = 404 ]"
txn '[{"KV":{"Verb":"check-not-exists","Key":"nope"}}]'
check "check-not-exists on a missing key is 200 with no result" \
    [ "$code $(jqb '.Results | length')" = "200 0" ]
txn '[{"KV":{"Verb":"get","Key":"nope"}}]'
check "get of a missing key is 409" [ "$code $(what)" = \
    '409 0 key "nope" doesn'"'"'t exist' ]
txn '[{"KV":{"Verb":"get-or-empty","Key":"nope"}}]'
check "get-or-empty of a missing key is an empty pair" \
    [ "$code $(jqb '.Results[0].KV | "\(.Key) \(.Value) \(.CreateIndex)"')" = "200 nope null 0" ]
txn '[{"KV":{"Verb":"lock","Key":"app/a"}}]'
check "lock without a session is 409 missing session" \
    [ "$code $(what)" = "409 0 missing session" ]
txn '[{"KV":{"Verb":"lock","Key":"app/a","Session":"0d2f3b6a-0000-0000-0000-000000000000"}}]'
check "lock with an unknown session is 409 invalid session" [ "$code $(what)" = \
    '409 0 invalid session "0d2f3b6a-0000-0000-0000-000000000000"' ]

# --- deletes -----------------------------------------------------------
for k in t/1 t/2 t/sub/3 tx; do
	curl -s -X PUT --data-binary "$k" "$api/kv/$k" >/dev/null
done
txn '[{"KV":{"Verb":"delete","Key":"t/1"}}]'
check "delete is 200 with no result" \
    [ "$code $(jqb '"\(.Results | length) \(.Errors)"')" = "200 0 null" ]
check "and the key is gone" absent t/1
txn '[{"KV":{"Verb":"delete","Key":"t/1"}}]'
check "delete of a missing key is still 200" [ "$code" = 200 ]
txn '[{"KV":{"Verb":"get-tree","Key":"t/"}}]'
check "get-tree returns every pair under the prefix, sorted, with values" \
    [ "$(jqb '.Results | map("\(.KV.Key)=\(.KV.Value | @base64d)") | join(",")')" = \
    "t/2=t/2,t/sub/3=t/sub/3" ]
txn '[{"KV":{"Verb":"delete-tree","Key":"t/"}}]'
check "delete-tree is 200 with no result" [ "$code $(jqb '.Results | length')" = "200 0" ]
check "and removes the prefix" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$api/kv/t/?recurse')\" = 404 ]"
check "but not a key beside it" [ "$(raw tx)" = tx ]
di=$(curl -s "$api/kv/tx" | jq -r '.[0].ModifyIndex')
txn '[{"KV":{"Verb":"delete-cas","Key":"tx","Index":'"$((di - 1))"'}}]'
check "delete-cas with a stale index is 409" [ "$code $(what)" = \
    '409 0 failed to delete key "tx", index is stale' ]
check "and keeps the key" [ "$(raw tx)" = tx ]
txn '[{"KV":{"Verb":"delete-cas","Key":"tx","Index":'"$di"'}}]'
check "delete-cas with the current index deletes" [ "$code" = 200 ]
check "the key is gone" absent tx

# --- limits ------------------------------------------------------------
ops() {	# ops N PREFIX: N set operations as a JSON array
	i=0; printf '['
	while [ "$i" -lt "$1" ]; do
		[ "$i" -gt 0 ] && printf ','
		printf '{"KV":{"Verb":"set","Key":"%s/%d","Value":"eA=="}}' "$2" "$i"
		i=$((i + 1))
	done
	printf ']'
}
ops 128 ok128 > "$test_tmp/ops128"
txn @"$test_tmp/ops128"
check "128 operations are accepted" [ "$code $(jqb '.Results | length')" = "200 128" ]
check "and all written" [ "$(curl -s "$api/kv/ok128/?keys" | jq length)" = 128 ]
ops 129 no129 > "$test_tmp/ops129"
txn @"$test_tmp/ops129"
check "129 operations are 413" [ "$code" = 413 -a \
    "$body" = "Transaction contains too many operations (129 > 128)" ]
check "and nothing is written" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$api/kv/no129/?keys')\" = 404 ]"

head -c 524288 /dev/zero | tr '\0' v > "$test_tmp/max"
head -c 524289 /dev/zero | tr '\0' v > "$test_tmp/over"
printf '[{"KV":{"Verb":"set","Key":"big","Value":"%s"}}]' \
    "$(base64 -w0 "$test_tmp/max")" > "$test_tmp/maxbody"
printf '[{"KV":{"Verb":"set","Key":"big2","Value":"%s"}}]' \
    "$(base64 -w0 "$test_tmp/over")" > "$test_tmp/overbody"
txn @"$test_tmp/maxbody"
check "a 512 KiB value is accepted" [ "$code" = 200 ]
check "and reads back whole" [ "$(curl -s "$api/kv/big?raw" | wc -c)" = 524288 ]
txn @"$test_tmp/overbody"
check "512 KiB + 1 is 413 with Consul's text" [ "$code" = 413 -a \
    "$body" = 'Value for key "big2" is too large (524289 > 524288 bytes)' ]
check "and is not written" absent big2
head -c 1048577 /dev/zero | tr '\0' ' ' > "$test_tmp/huge"
txn @"$test_tmp/huge"
check "a body over txn_max_req_len is 413" sh -c "[ '$code' = 413 ] &&
    echo '$body' | grep -q '^Request body(1048577 bytes) too large, max size: 1048576 bytes'"

# --- bad bodies: 400 or 409, nothing written ---------------------------
txn '[{"KV":{"Verb":"set","Key":"bad/1","Value":"aGVsbG8"}}]'
check "invalid base64 is 400 with Go's offset" [ "$code" = 400 -a \
    "$body" = "Failed to parse body: illegal base64 data at input byte 4" ]
txn '[{"KV":{"Verb":"set","Key":"bad/2"'
check "bad JSON is 400 Failed to parse body" sh -c \
    "[ '$code' = 400 ] && echo '$body' | grep -q '^Failed to parse body: '"
txn '{"KV":{"Verb":"set","Key":"bad/3"}}'
check "an object instead of an array is 400" [ "$code" = 400 ]
txn '[{"KV":{"Verb":"set","Key":"bad/4","Flags":"5"}}]'
check "a string Flags is 400" [ "$code" = 400 -a "$body" = \
    "Failed to parse body: json: cannot unmarshal string into Go struct field KVTxnOp.KV.Flags of type uint64" ]
txn '[{"KV":{"Verb":"set","Key":"bad/5","Flags":1.5}}]'
check "a fractional Flags is 400" [ "$code" = 400 ]
txn '[{"KV":{"Verb":"set","Key":"bad/6","Index":-1}}]'
check "a negative Index is 400" [ "$code" = 400 ]
txn '[{"KV":{"Verb":"set","Key":"bad/7","Flags":18446744073709551616}}]'
check "Flags above 2^64-1 is 400" [ "$code" = 400 ]
txn '[{"KV":{"Verb":"set","Key":"bad/8","Value":"eA=="}},
      {"KV":{"Verb":"frobnicate","Key":"bad/8"}}]'
check "an unknown verb is refused as Consul does: 409, its What" \
    [ "$code $(what)" = '409 1 unknown KV verb "frobnicate"' ]
txn '[{"KV":{"Verb":"set","Key":"bad/9","Value":"eA=="}},
      {"KV":{"Verb":"set","Value":"eA=="}}]'
check "a missing key is 409 Must provide key" \
    [ "$code $(what)" = "409 1 Must provide key" ]
txn '[{"KV":{"Verb":"get","Key":""}}]'
check "a refused read-only transaction has Index 0, KnownLeader false" \
    [ "$code $(jqb '"\(.Index) \(.KnownLeader)"')" = "409 0 false" ]
txn '[{"Node":{"Verb":"set","Node":{"Node":"n1","Address":"10.0.0.1"}}}]'
check "a Node operation is 400 until the catalog lands" sh -c \
    "[ '$code' = 400 ] && echo '$body' | grep -q 'Node operations are not supported'"
txn '[{"Service":{"Verb":"get","Node":"n1"}}]'
check "a Service operation too" [ "$code" = 400 ]
check "none of the bad transactions wrote" sh -c \
    "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$api/kv/bad/?recurse')\" = 404 ]"

# --- shapes and edges --------------------------------------------------
txn '[{"kv":{"verb":"set","KEY":"ci","vAlUe":"'"$(b64 yes)"'"}}]'
check "JSON keys match without regard to case" [ "$code $(raw ci)" = "200 yes" ]
txn '[]'
check "an empty transaction is 200 with no result" \
    [ "$code $(jqb '"\(.Results | length) \(.Errors) \(.KnownLeader)"')" = "200 0 null true" ]
txn '[{"KV":{"Verb":"set","Key":"f","Flags":16210313421097356768}},
      {"KV":{"Verb":"get","Key":"f"}}]'
check "Flags 16210313421097356768 in the set and get results" \
    [ "$(grep -o '"Flags":16210313421097356768' "$test_tmp/b" | wc -l)" = 2 ]
check "and through GET /v1/kv" sh -c "curl -s '$api/kv/f' |
    grep -q '\"Flags\":16210313421097356768,'"
txn '[{"KV":{"Verb":"set","Key":"f2","Flags":18446744073709551615}}]'
check "Flags 2^64-1 round trips" sh -c "curl -s '$api/kv/f2' |
    grep -q '\"Flags\":18446744073709551615,'"
txn '[{"KV":{"Verb":"get","Key":"app/a"}}]' '?pretty'
check "?pretty indents" grep -q '^    "Results": \[' "$test_tmp/b"
txn '[{"KV":{"Verb":"get","Key":"app/a"}}]' '?dc=elsewhere'
check "an unknown datacenter is 500" [ "$code $body" = "500 No path to datacenter" ]
txn '[{"KV":{"Verb":"get","Key":"app/a"}}]' '?stale&consistent'
check "stale with consistent on a read-only transaction is 400" [ "$code" = 400 -a \
    "$body" = "Cannot specify ?stale with ?consistent, conflicting semantics." ]
txn '[{"KV":{"Verb":"get","Key":"app/a"}}]' '?dc=dc1&stale'
check "?dc of this datacenter and ?stale are accepted" [ "$code" = 200 ]
code=$(curl -s -o /dev/null -D "$test_tmp/h" -w '%{http_code}' "$api/txn")
check "GET /v1/txn is 405, Allow: OPTIONS,PUT" \
    [ "$code $(hdr Allow)" = "405 OPTIONS,PUT" ]

# --- still healthy -----------------------------------------------------
check "apid and raftd are still up" \
    sh -c "[ -n \"$(child_pid apid)\" ] && [ -n \"$(child_pid raftd)\" ]"
kill -TERM "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null
wait "$agent_pid"
check "SIGTERM exits 0" [ $? -eq 0 ]
tap_done
