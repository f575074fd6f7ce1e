#!/bin/sh
# Gossip encryption between real agents on 127.0.0.11 .. 127.0.0.14:
#   - three agents that share a key see each other; a fourth without
#     the key cannot join, and the logs on both sides say why;
#   - Consul's rolling roll-out on a live plaintext pool of three (key
#     installed with both verifications off, then outgoing on, then
#     incoming on, one restart at a time) never marks a member failed;
#   - consulctl keyring -install/-use/-remove works across the pool, the
#     rotated keyring survives a restart and wins over `encrypt`.
. "$(dirname "$0")/../lib/agent.sh"

pshift=${CONSULD_PORT_SHIFT:-0}
port_http=$((19710 + pshift)) port_dns=$((19711 + pshift)) port_lan=$((19712 + pshift))
port_wan=$((19713 + pshift)) port_rpc=$((19714 + pshift))
pids=""

# estart N CONFIG [flags]: agent N on 127.0.0.N with data in $test_tmp/dN.
estart() {
	n=$1 conf=$2; shift 2
	if [ "$n" -eq 11 ]; then
		role="-server -bootstrap"
	else
		role=""
	fi
	"$CONSULD" -d $role -node="e$n" -data-dir="$test_tmp/d$n" \
	    -bind=127.0.0.$n -client=127.0.0.$n -http-port=$port_http \
	    -dns-port=$port_dns -serf-lan-port=$port_lan \
	    -serf-wan-port=$port_wan -server-port=$port_rpc \
	    -config-file="$conf" "$@" >>"$test_tmp/e$n.log" 2>&1 &
	eval "epid$n=$!"
	pids="$pids $!"
}

estop() {
	eval "p=\$epid$1"
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# alive N: how many members agent N sees alive in the LAN pool.
alive() {
	curl -s "http://127.0.0.$1:$port_http/v1/agent/members" |
	    jq '[.[] | select(.Status == 1)] | length' 2>/dev/null || echo 0
}

# until_alive COUNT SECONDS AGENTS...: every agent sees COUNT alive.
until_alive() {
	want=$1 limit=$(($2 * 10)) i=0; shift 2
	while [ $i -lt $limit ]; do
		all=1
		for n in "$@"; do
			[ "$(alive "$n")" = "$want" ] || all=0
		done
		[ $all -eq 1 ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

stop_all() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
}
trap 'stop_all; cleanup' EXIT INT TERM

key1=$("$CONSULCTL" keygen)
key2=$("$CONSULCTL" keygen)
check "keygen prints base64 of 32 bytes" \
    [ "$(printf %s "$key1" | base64 -d | wc -c)" -eq 32 ]

# conf FILE KEY VERIFY_IN VERIFY_OUT: the config every step uses.
conf() {
	if [ -n "$2" ]; then
		printf '{"retry_interval":"1s","retry_join":["127.0.0.11:%s",'\
'"127.0.0.12:%s","127.0.0.13:%s"],"encrypt":"%s",'\
'"encrypt_verify_incoming":%s,"encrypt_verify_outgoing":%s}\n' \
		    $port_lan $port_lan $port_lan "$2" "$3" "$4" >"$1"
	else
		printf '{"retry_interval":"1s","retry_join":["127.0.0.11:%s",'\
'"127.0.0.12:%s","127.0.0.13:%s"]}\n' \
		    $port_lan $port_lan $port_lan >"$1"
	fi
}

# 1. A keyed pool refuses a node without the key.
conf "$test_tmp/keyed.json" "$key1" true true
conf "$test_tmp/plain.json" ""
for n in 11 12 13; do estart $n "$test_tmp/keyed.json"; done
check "three agents sharing a key see three alive" until_alive 3 15 11 12 13
estart 14 "$test_tmp/plain.json"
sleep 4
check "an agent without the key sees only itself" [ "$(alive 14)" = 1 ]
check "and the keyed agents never list it" \
    sh -c "curl -s http://127.0.0.11:$port_http/v1/agent/members |
    jq -e 'map(.Name) | index(\"e14\") == null' >/dev/null"
check "the keyless agent's log says its join got no answer" \
    grep -q "joining through 127.0.0.1[123]:$port_lan failed: no answer" \
    "$test_tmp/e14.log"
check "a keyed agent's log says plaintext was refused" \
    sh -c "grep -h 'not encrypted, and encrypt_verify_incoming requires' \
    '$test_tmp'/e1[123].log | grep -q 127.0.0.14"
check "the keyring file was written from encrypt" \
    grep -q "$key1" "$test_tmp/d11/serf/local.keyring"
check "and the WAN one on the server" \
    grep -q "$key1" "$test_tmp/d11/serf/remote.keyring"
check "the keyring file is private" \
    [ "$(stat -c %a "$test_tmp/d11/serf/local.keyring")" = 600 ]

# 2. Keyring operations across the pool.
check "consulctl info says the LAN pool is encrypted" \
    sh -c "'$CONSULCTL' info -http-addr=127.0.0.12:$port_http |
    sed -n '/^serf_lan:/,/^[a-z]/p' | grep -qx '	encrypted = true'"
out=$("$CONSULCTL" keyring -list -http-addr=127.0.0.12:$port_http)
check "keyring -list counts the key on all three" \
    sh -c "echo '$out' | grep -q '^  $key1 \\[3/3\\]$'"
check "keyring -install of a second key" \
    "$CONSULCTL" keyring -install="$key2" -http-addr=127.0.0.12:$port_http
out=$("$CONSULCTL" keyring -list -http-addr=127.0.0.13:$port_http)
check "both keys on all three" \
    sh -c "echo '$out' | grep -q '$key2 \\[3/3\\]' &&
    echo '$out' | grep -q '$key1 \\[3/3\\]'"
check "keyring -use makes it primary" \
    "$CONSULCTL" keyring -use="$key2" -http-addr=127.0.0.11:$port_http
out=$("$CONSULCTL" keyring -list-primary -http-addr=127.0.0.11:$port_http 2>&1)
check "keyring -list-primary shows the new key only" \
    sh -c "echo '$out' | grep -q '$key2 \\[3/3\\]' &&
    ! echo '$out' | grep -q '$key1'"
out=$("$CONSULCTL" keyring -remove="$key2" -http-addr=127.0.0.11:$port_http 2>&1)
check "removing the primary key fails" [ $? -ne 0 ]
check "and says why" sh -c "echo '$out' | grep -q 'primary key'"
check "keyring -remove of the old key" \
    "$CONSULCTL" keyring -remove="$key1" -http-addr=127.0.0.11:$port_http
out=$("$CONSULCTL" keyring -list -http-addr=127.0.0.12:$port_http)
check "the old key is gone everywhere" \
    sh -c "! echo '$out' | grep -q '$key1' &&
    echo '$out' | grep -q '$key2 \\[3/3\\]'"
check "the keyring file holds the new key" \
    sh -c "grep -q '$key2' '$test_tmp/d13/serf/local.keyring' &&
    ! grep -q '$key1' '$test_tmp/d13/serf/local.keyring'"
sleep 2
check "the three still see each other under the new key" \
    until_alive 3 5 11 12 13
estop 13
estart 13 "$test_tmp/keyed.json"
check "restarted with encrypt still naming the old key, it rejoins" \
    until_alive 3 15 11 12 13
check "its log says the keyring file won" \
    grep -q 'keyring file serf/local.keyring exists: the "encrypt" key is ignored' \
    "$test_tmp/e13.log"
"$CONSULCTL" keyring -list -http-addr=127.0.0.11:$port_http \
    >"$test_tmp/list" 2>&1
check "and it still has the rotated key" \
    grep -q "$key2 \\[3/3\\]" "$test_tmp/list"
check "keyring with a bad key is refused" \
    sh -c "! '$CONSULCTL' keyring -install=notakey \
    -http-addr=127.0.0.11:$port_http 2>/dev/null"
stop_all
pids=""

# 3. Rolling roll-out on a live plaintext pool: no member ever failed.
rm -rf "$test_tmp"/d1[1-4]
for n in 11 12 13; do : >"$test_tmp/e$n.log"; done
for n in 11 12 13; do estart $n "$test_tmp/plain.json"; done
check "a plaintext pool of three" until_alive 3 15 11 12 13
conf "$test_tmp/step1.json" "$key1" false false
conf "$test_tmp/step2.json" "$key1" false true
conf "$test_tmp/step3.json" "$key1" true true
step=0
for c in step1 step2 step3; do
	step=$((step + 1))
	for n in 11 12 13; do
		estop $n
		estart $n "$test_tmp/$c.json"
		until_alive 3 15 11 12 13 || break
	done
	check "step $step ($c): all three alive after each restart" \
	    until_alive 3 1 11 12 13
done
check "no member was ever marked failed" \
    sh -c "! grep -h 'gossip: lan: e1[123] failed' '$test_tmp'/e1[123].log"
check "the pool is encrypted at the end" \
    grep -q "lan: encrypted, 1 key, verify incoming on, outgoing on" \
    "$test_tmp/e12.log"

tap_done
