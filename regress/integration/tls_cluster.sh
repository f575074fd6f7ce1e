#!/bin/sh
# Mutual TLS on server RPC (:8300) as Consul's production walkthrough
# sets it up: certificates made by consulctl tls (and accepted by
# openssl verify), three servers on 127.0.0.101 .. 103 with gossip
# encryption, verify_incoming, verify_outgoing and
# verify_server_hostname elect a leader and replicate; a client agent
# (104) with a client certificate joins and forwards.  Refused, each
# with its log line: an agent with no certificate (105), a server with
# a client certificate (106), a certificate of another CA (107), an
# expired certificate (108), a plaintext agent (109), and garbage or a
# stalled handshake on :8300.  A server's certificate rotated by SIGHUP
# during a write loop through every agent fails no request.
. "$(dirname "$0")/../lib/cluster.sh"

if ! command -v openssl >/dev/null; then
	skip "tls cluster (no openssl command; make deps installs it)"
	tap_done; exit 0
fi

pki="$test_tmp/pki"
mkdir -p "$pki" "$pki/other"
(cd "$pki" && "$CONSULCTL" tls ca create >/dev/null &&
    for i in 1 2 3 4; do
	"$CONSULCTL" tls cert create -server -dc dc1 >/dev/null || exit 1
    done &&
    "$CONSULCTL" tls cert create -client -dc dc1 >/dev/null &&
    "$CONSULCTL" tls cert create -client -dc dc1 >/dev/null)
check "consulctl tls makes a CA, three server and two client certificates" \
    test -s "$pki/dc1-server-consul-2.pem" -a -s "$pki/dc1-client-consul-1.pem"
(cd "$pki/other" && "$CONSULCTL" tls ca create >/dev/null &&
    "$CONSULCTL" tls cert create -client -dc dc1 >/dev/null)
# An expired client certificate, signed by the right CA.
openssl ecparam -name prime256v1 -genkey -noout -out "$pki/old-key.pem" \
    2>/dev/null
openssl req -new -key "$pki/old-key.pem" -subj "/CN=client.dc1.consul" \
    -out "$pki/old.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=DNS:client.dc1.consul,DNS:localhost\n' \
    >"$pki/old.ext"
mkdir -p "$pki/ca.db"
: >"$pki/ca.db/index.txt"
echo 63 >"$pki/ca.db/serial"
cat >"$pki/ca.cnf" <<EOC
[ca]
default_ca = c
[c]
database = $pki/ca.db/index.txt
new_certs_dir = $pki/ca.db
serial = $pki/ca.db/serial
default_md = sha256
policy = p
[p]
commonName = supplied
EOC
openssl ca -batch -config "$pki/ca.cnf" -cert "$pki/consul-agent-ca.pem" \
    -keyfile "$pki/consul-agent-ca-key.pem" -startdate 20200101000000Z \
    -enddate 20210101000000Z -extfile "$pki/old.ext" -notext \
    -in "$pki/old.csr" -out "$pki/old.pem" >/dev/null 2>&1
verified=1
for f in dc1-server-consul-0 dc1-server-consul-1 dc1-server-consul-2 \
    dc1-client-consul-0 dc1-client-consul-1; do
	openssl verify -CAfile "$pki/consul-agent-ca.pem" "$pki/$f.pem" \
	    >/dev/null 2>&1 || verified=0
done
check "openssl verify -CAfile accepts every certificate" test $verified = 1
check "openssl verify says the hand-made one has expired" sh -c \
    "openssl verify -CAfile '$pki/consul-agent-ca.pem' '$pki/old.pem' 2>&1 |
    grep -q 'certificate has expired'"

key=$("$CONSULCTL" keygen)
cluster_init "101 102 103" "104 105 107 108 109" \
    "{\"encrypt\": \"$key\", \"verify_incoming\": true,
      \"verify_outgoing\": true, \"verify_server_hostname\": true,
      \"ca_file\": \"$pki/consul-agent-ca.pem\"}"
# tlsconf N JSON: node N's own configuration.
tlsconf() {
	mkdir -p "$cl_dir/conf$1.d"
	echo "$2" >"$cl_dir/conf$1.d/tls.json"
}
i=0
for n in 101 102 103; do
	tlsconf $n "{\"cert_file\": \"$pki/dc1-server-consul-$i.pem\",
	    \"key_file\": \"$pki/dc1-server-consul-$i-key.pem\"}"
	i=$((i + 1))
done
# The client agent, as the walkthrough has it: the newer tls block.
tlsconf 104 "{\"encrypt\": \"$key\", \"tls\": {\"defaults\": {
    \"ca_file\": \"$pki/consul-agent-ca.pem\",
    \"cert_file\": \"$pki/dc1-client-consul-0.pem\",
    \"key_file\": \"$pki/dc1-client-consul-0-key.pem\",
    \"verify_incoming\": true, \"verify_outgoing\": true},
    \"internal_rpc\": {\"verify_server_hostname\": true}}}"

start=$(now_ms)
for n in 101 102 103 104; do node_start $n; done
check "three TLS servers elect a leader" poll 40 agreed none 101 102 103
cl_client=104
check "the client agent with a client certificate forwards" \
    poll 20 client_ready
diag "leader and client ready in $(( $(now_ms) - start )) ms"
check "a write through the client agent is acknowledged" sh -c \
    "curl -sf -X PUT -d tls-ok '$(cl_url 104 /v1/kv/tls/a)' | grep -q true"
replicated() {
	for n in 101 102 103; do
		[ "$(curl -sf "$(cl_url $n '/v1/kv/tls/a?stale&raw')")" = \
		    tls-ok ] || return 1
	done
}
check "the write is replicated to every server" poll 10 replicated
check "the servers' RPC runs TLS with the name checked" \
    grep -q "rpc: tls: incoming tls required, outgoing tls, checking the name" \
    "$cl_dir/n101.log"

# The refused.  Each is a client agent whose anti-entropy dials a server.
cl_client="104 105 107 108 109"
tlsconf 105 "{\"encrypt\": \"$key\", \"verify_outgoing\": true,
    \"ca_file\": \"$pki/consul-agent-ca.pem\"}"
tlsconf 107 "{\"encrypt\": \"$key\", \"verify_outgoing\": true,
    \"ca_file\": \"$pki/consul-agent-ca.pem\",
    \"cert_file\": \"$pki/other/dc1-client-consul-0.pem\",
    \"key_file\": \"$pki/other/dc1-client-consul-0-key.pem\"}"
tlsconf 108 "{\"encrypt\": \"$key\", \"verify_outgoing\": true,
    \"ca_file\": \"$pki/consul-agent-ca.pem\",
    \"cert_file\": \"$pki/old.pem\", \"key_file\": \"$pki/old-key.pem\"}"
tlsconf 109 "{\"encrypt\": \"$key\"}"
for n in 105 107 108 109; do node_start $n; done
# refused N PATTERN: a server logged PATTERN about node N.
refused() {
	cat "$cl_dir"/n101.log "$cl_dir"/n102.log "$cl_dir"/n103.log |
	    grep "rpc: from 127.0.0.$1: refused: " | grep -q "$2"
}
check "no certificate: refused, the log says the peer gave none" \
    poll 20 refused 105 "did not return a certificate\|certificate required\|no certificate"
check "another CA's certificate: refused, the log says it is not trusted" \
    poll 20 refused 107 "unable to get local issuer certificate\|unknown ca\|certificate verify failed"
check "an expired certificate: refused by the servers" \
    poll 20 refused 108 "certificate verify failed"
check "an expired certificate: the agent's log says it was refused" \
    poll 10 grep -q "rpc: to 127.0.0.10[123]:$cl_rpc: refused: .*certificate" \
    "$cl_dir/n108.log"
check "a plaintext agent: refused, the log says it is not TLS" \
    poll 20 refused 109 "plaintext peer"
l=$cl_leader
check "none of them got a write in: the cluster still has one leader" \
    poll 5 agreed none 101 102 103

# Garbage and a stalled handshake on :8300 are timed out.
garbage=$(head -c 300 /dev/urandom | base64 | tr -d '\n' |
    timeout 10 curl -s --max-time 8 -o /dev/null -w '%{time_total}' \
    telnet://127.0.0.101:$cl_rpc 2>/dev/null; true)
check "garbage on :8300 is refused" sh -c \
    "grep -q 'rpc: from 127.0.0.1: refused: a plaintext peer' '$cl_dir/n101.log'"
t0=$(now_ms)
python3 - "$cl_rpc" <<'EOP' &
import socket, sys, time
s = socket.create_connection(("127.0.0.101", int(sys.argv[1])))
s.sendall(b"\x16\x03\x01")	# the start of a record, then nothing
s.settimeout(15)
try:
    s.recv(1)
except Exception:
    pass
EOP
stall=$!
wait $stall
t=$(( $(now_ms) - t0 ))
check "a stalled handshake is closed by the server within its timeout" \
    test "$t" -lt 9000
check "the log says it timed out" \
    grep -q "rpc: from 127.0.0.1: refused: tls handshake timed out" \
    "$cl_dir/n101.log"
check "the cluster serves on" sh -c \
    "curl -sf -X PUT -d after '$(cl_url 104 /v1/kv/tls/b)' | grep -q true"

# Rotation of server 101's certificate by SIGHUP during a write loop.
new_serial=$(openssl x509 -noout -serial -in "$pki/dc1-server-consul-3.pem")
: >"$cl_dir/fails"
(
	n=0
	while [ ! -e "$cl_dir/stop" ]; do
		for w in 101 102 103 104; do
			curl -sf --max-time 5 -X PUT -d "v$n" \
			    "$(cl_url $w /v1/kv/tls/loop)" >/dev/null ||
			    echo "$w $n" >>"$cl_dir/fails"
		done
		n=$((n + 1))
	done
	echo "$n" >"$cl_dir/writes"
) &
loop=$!
sleep 0.5
tlsconf 101 "{\"cert_file\": \"$pki/dc1-server-consul-3.pem\",
    \"key_file\": \"$pki/dc1-server-consul-3-key.pem\"}"
kill -HUP "$(node_pgid 101)"
check "after SIGHUP server 101 presents its new certificate on :8300" \
    poll 5 sh -c "[ \"\$(echo | openssl s_client -connect 127.0.0.101:$cl_rpc -cert '$pki/dc1-client-consul-0.pem' -key '$pki/dc1-client-consul-0-key.pem' 2>/dev/null | openssl x509 -noout -serial 2>/dev/null)\" = '$new_serial' ]"
sleep 1
touch "$cl_dir/stop"
wait $loop
check "the write loop ($(cat "$cl_dir/writes") rounds on 4 agents) had no failed request" \
    test ! -s "$cl_dir/fails"
[ -s "$cl_dir/fails" ] && diag "failed: $(tr '\n' ' ' <"$cl_dir/fails")"
# A server with a client certificate: the others will not talk Raft to
# it, nor take Raft from it (bootstrap_expect makes it ask them first).
cat >"$cl_dir/rogue.json" <<EOR
{"server": true, "bootstrap_expect": 3, "encrypt": "$key",
 "retry_interval": "1s",
 "retry_join": ["127.0.0.101:$cl_lan"],
 "verify_incoming": true, "verify_outgoing": true,
 "verify_server_hostname": true, "ca_file": "$pki/consul-agent-ca.pem",
 "cert_file": "$pki/dc1-client-consul-1.pem",
 "key_file": "$pki/dc1-client-consul-1-key.pem"}
EOR
setsid "$CONSULD" -d -node=f106 -data-dir="$cl_dir/d106" \
    -bind=127.0.0.106 -client=127.0.0.106 -http-port=$cl_http \
    -dns-port=$cl_dns -serf-lan-port=$cl_lan -serf-wan-port=$cl_wan \
    -server-port=$cl_rpc -config-file="$cl_dir/rogue.json" \
    >>"$cl_dir/n106.log" 2>&1 &
cl_pgids="$cl_pgids $!"
rogue() {
	cat "$cl_dir"/n101.log "$cl_dir"/n102.log "$cl_dir"/n103.log |
	    grep -q "rpc: to 127.0.0.106:$cl_rpc: refused: .*server.dc1.consul"
}
check "a server with a client certificate: the leader refuses it by name" \
    poll 20 rogue
rogue_in() {
	cat "$cl_dir"/n101.log "$cl_dir"/n102.log "$cl_dir"/n103.log |
	    grep -q "rpc: from 127.0.0.106:.*refused: its certificate names no server"
}
check "and its Raft messages are refused: its certificate names no server" \
    poll 20 rogue_in

check_alive "tls cluster"
cluster_stop
tap_done
