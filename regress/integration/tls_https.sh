#!/bin/sh
# The HTTPS API: one agent (index 65) with ports.http = -1 and
# ports.https, client certificates required.  curl with --cacert and a
# client certificate works, without one it is refused with a log line;
# plain HTTP is closed; openssl s_client -tls1_1 is refused; consulctl
# speaks HTTPS by flags and by Consul's environment variables.  A
# stalled handshake is timed out, garbage in a handshake record is
# refused, and beyond 256 handshakes in progress new ones are refused
# at once until the stalled ones time out.  A certificate rotated by
# SIGHUP and by PUT /v1/agent/reload during a write loop fails no
# request; a reload with a broken file keeps the certificate in use.
# Files that do not fit together are configuration errors naming the
# file.
. "$(dirname "$0")/../lib/agent.sh"

if ! command -v openssl >/dev/null; then
	skip "https (no openssl command; make deps installs it)"
	tap_done; exit 0
fi

pki="$test_tmp/pki"
mkdir -p "$pki"
(cd "$pki" && "$CONSULCTL" tls ca create >/dev/null &&
    "$CONSULCTL" tls cert create -server >/dev/null &&
    "$CONSULCTL" tls cert create -server >/dev/null &&
    "$CONSULCTL" tls cert create -client >/dev/null &&
    "$CONSULCTL" tls cert create -cli >/dev/null)
ca="$pki/consul-agent-ca.pem"
check "openssl verify -CAfile accepts the server, client and cli certificates" \
    sh -c "openssl verify -CAfile '$ca' '$pki/dc1-server-consul-0.pem' \
    '$pki/dc1-server-consul-1.pem' '$pki/dc1-client-consul-0.pem' \
    '$pki/dc1-cli-consul-0.pem' >/dev/null"

agent_ports 65
https_port=$((base + 5))
conf="$test_tmp/tls.json"
# tlsconf CERT KEY [CA]: the agent's TLS configuration.
tlsconf() {
	cat >"$conf" <<EOC
{"ports": {"http": -1, "https": $https_port},
 "limits": {"https_handshake_timeout": "1s"},
 "tls": {"defaults": {"ca_file": "${3:-$ca}", "cert_file": "$1",
  "key_file": "$2"}, "https": {"verify_incoming": true}}}
EOC
}

# Configuration errors, each naming its file.
tlsconf "$pki/dc1-server-consul-0.pem" "$pki/dc1-server-consul-1-key.pem"
out=$("$CONSULD" -n -dev -config-file="$conf" 2>&1)
check "a key that does not match its certificate is a config error" \
    sh -c "[ $? = 1 ] && echo '$out' | grep -q 'key_file \"$pki/dc1-server-consul-1-key.pem\" does not match cert_file'"
tlsconf "$pki/dc1-server-consul-0.pem" "$pki/nonexistent-key.pem"
out=$("$CONSULD" -n -dev -config-file="$conf" 2>&1)
check "an unreadable key file is a config error naming it" \
    sh -c "[ $? = 1 ] && echo '$out' | grep -q 'key_file \"$pki/nonexistent-key.pem\": cannot read'"
echo "not a certificate" >"$test_tmp/empty-ca.pem"
tlsconf "$pki/dc1-server-consul-0.pem" "$pki/dc1-server-consul-0-key.pem" \
    "$test_tmp/empty-ca.pem"
out=$("$CONSULD" -n -dev -config-file="$conf" 2>&1)
check "a CA file with no certificate is a config error naming it" \
    sh -c "[ $? = 1 ] && echo '$out' | grep -q 'ca_file \"$test_tmp/empty-ca.pem\": no certificate'"

# The agent, serving HTTPS only.
cp "$pki/dc1-server-consul-0.pem" "$test_tmp/server.pem"
cp "$pki/dc1-server-consul-0-key.pem" "$test_tmp/server-key.pem"
tlsconf "$test_tmp/server.pem" "$test_tmp/server-key.pem"
log="$test_tmp/agent.log"
agent_start 65 "$log" -config-file="$conf" -http-port=-1
url="https://127.0.0.1:$https_port"
cc="--cacert $ca --cert $pki/dc1-client-consul-0.pem --key $pki/dc1-client-consul-0-key.pem"
up() { curl -sf --max-time 2 $cc "$url/v1/status/leader" | grep -q :; }
i=0; while [ $i -lt 100 ] && ! up; do sleep 0.1; i=$((i + 1)); done
check "curl over HTTPS with --cacert and a client certificate works" up
check "without a client certificate: refused" sh -c \
    "! curl -sf --max-time 2 --cacert '$ca' '$url/v1/status/leader'"
check "the log says the peer gave no certificate" wait_for_log \
    "tls: from 127.0.0.1: refused: .*did not return a certificate" 5
check "plain HTTP is closed (ports.http = -1)" sh -c \
    "! curl -s --max-time 2 http://127.0.0.1:$http_port/v1/status/leader"
check "plain HTTP to the HTTPS port is refused" sh -c \
    "! curl -sf --max-time 2 http://127.0.0.1:$https_port/v1/status/leader"
check "the log says it was plaintext" wait_for_log \
    "tls: from 127.0.0.1: refused: a plaintext peer" 5
check "openssl s_client -tls1_1 is refused" sh -c \
    "! echo | openssl s_client -tls1_1 -connect 127.0.0.1:$https_port \
    >'$test_tmp/s11' 2>&1"
check "the log says the protocol is not supported" wait_for_log \
    "tls: from 127.0.0.1: refused: .*unsupported protocol" 5
check "openssl s_client -tls1_2 is served" sh -c \
    "echo | openssl s_client -tls1_2 -CAfile '$ca' \
    -cert '$pki/dc1-cli-consul-0.pem' -key '$pki/dc1-cli-consul-0-key.pem' \
    -connect 127.0.0.1:$https_port 2>&1 | grep -q 'Verify return code: 0'"

# consulctl, by flags and by the environment.
check "consulctl kv put over https:// with -ca-file, -client-cert, -client-key" \
    sh -c "'$CONSULCTL' kv put -http-addr='$url' -ca-file='$ca' \
    -client-cert='$pki/dc1-cli-consul-0.pem' \
    -client-key='$pki/dc1-cli-consul-0-key.pem' tls/flags yes >/dev/null"
got=$(CONSUL_HTTP_ADDR=127.0.0.1:$https_port CONSUL_HTTP_SSL=true \
    CONSUL_CACERT="$ca" CONSUL_CLIENT_CERT="$pki/dc1-cli-consul-0.pem" \
    CONSUL_CLIENT_KEY="$pki/dc1-cli-consul-0-key.pem" \
    "$CONSULCTL" kv get tls/flags 2>&1)
check "consulctl kv get with CONSUL_HTTP_SSL and CONSUL_CACERT etc." \
    test "$got" = yes
mkdir -p "$test_tmp/capath"
cp "$ca" "$test_tmp/capath/ca.pem"
got=$(CONSUL_HTTP_ADDR="https://localhost:$https_port" \
    CONSUL_CAPATH="$test_tmp/capath" \
    CONSUL_TLS_SERVER_NAME=server.dc1.consul \
    CONSUL_CLIENT_CERT="$pki/dc1-cli-consul-0.pem" \
    CONSUL_CLIENT_KEY="$pki/dc1-cli-consul-0-key.pem" \
    "$CONSULCTL" kv get tls/flags 2>&1)
check "consulctl with CONSUL_CAPATH and CONSUL_TLS_SERVER_NAME" \
    test "$got" = yes
got=$("$CONSULCTL" kv get -http-addr="$url" -ca-file="$ca" \
    -client-cert="$pki/dc1-cli-consul-0.pem" \
    -client-key="$pki/dc1-cli-consul-0-key.pem" \
    -tls-server-name=wrong.example tls/flags 2>&1); rc=$?
echo "$got" >"$test_tmp/got"
check "a server name the certificate lacks: exit 1, the reason printed" \
    sh -c "[ $rc = 1 ] && grep -q 'Get \"https://127.0.0.1:$https_port/v1/kv/tls/flags\": tls: .*wrong.example' '$test_tmp/got'"
got=$(CONSUL_HTTP_SSL_VERIFY=false "$CONSULCTL" kv get -http-addr="$url" \
    -client-cert="$pki/dc1-cli-consul-0.pem" \
    -client-key="$pki/dc1-cli-consul-0-key.pem" tls/flags 2>&1)
check "CONSUL_HTTP_SSL_VERIFY=false skips the check" test "$got" = yes

# A stalled handshake is timed out (limits.https_handshake_timeout 1s).
t0=$(date +%s%N)
python3 - "$https_port" <<'EOP'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x16\x03\x01")
s.settimeout(10)
try:
    s.recv(1)
except Exception:
    pass
EOP
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a stalled handshake is closed after the timeout ($ms ms)" \
    test "$ms" -lt 5000
check "the log says it timed out" wait_for_log \
    "tls: from 127.0.0.1: refused: tls handshake timed out" 5

# Garbage that starts like a handshake record: refused at once.
failed() { grep -c "tls: from 127.0.0.1: refused: tls handshake failed" \
    "$log"; }
before=$(failed)
t0=$(date +%s%N)
python3 - "$https_port" <<'EOP'
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x16\x03\x01\x00\x40" + os.urandom(64))
s.settimeout(10)
try:
    s.recv(100)
except Exception:
    pass
EOP
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "garbage in a handshake record is refused at once ($ms ms)" \
    test "$ms" -lt 1000
more() { [ "$(failed)" -gt "$before" ]; }
i=0; while [ $i -lt 50 ] && ! more; do sleep 0.1; i=$((i + 1)); done
check "the log says the handshake failed" more

# 300 stalled handshakes at once: beyond 256 in progress, refused at
# once; the slots come back after the timeout.
python3 - "$https_port" "$test_tmp/quick" <<'EOP' &
import select, socket, sys, time
socks = []
for i in range(300):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"\x16\x03\x01")
    socks.append(s)
time.sleep(0.5)
r, _, _ = select.select(socks, [], [], 0)
closed = sum(1 for s in r if s.recv(1) == b"")
open(sys.argv[2], "w").write("%d\n" % closed)
time.sleep(3)	# hold the stalled ones past their timeout
EOP
flood=$!
i=0; while [ $i -lt 50 ] && [ ! -s "$test_tmp/quick" ]; do
	sleep 0.1; i=$((i + 1)); done
quick=$(cat "$test_tmp/quick")
check "beyond 256 pending handshakes new ones are refused at once ($quick of 300)" \
    test "${quick:-0}" -ge 40 -a "${quick:-0}" -le 60
check "the log says how many are in progress" wait_for_log \
    "tls: from 127.0.0.1: refused: 256 tls handshakes in progress already" 5
sleep 1
check "after the timeout the slots are free, the stalled peers still there" \
    sh -c "kill -0 $flood && curl -sf --max-time 2 $cc '$url/v1/status/leader' >/dev/null"
wait $flood

# serial: the serial of the certificate the agent presents now.
serial() {
	echo | openssl s_client -connect 127.0.0.1:$https_port \
	    -cert "$pki/dc1-cli-consul-0.pem" \
	    -key "$pki/dc1-cli-consul-0-key.pem" 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null
}
want0=$(openssl x509 -noout -serial -in "$pki/dc1-server-consul-0.pem")
want1=$(openssl x509 -noout -serial -in "$pki/dc1-server-consul-1.pem")
check "the agent presents the first certificate" test "$(serial)" = "$want0"

# Rotation during a write loop: no request fails.
fails="$test_tmp/fails"
: >"$fails"
(
	n=0
	while [ ! -e "$test_tmp/stop" ]; do
		curl -sf --max-time 5 $cc -X PUT -d "v$n" \
		    "$url/v1/kv/tls/loop" >/dev/null || echo "$n" >>"$fails"
		n=$((n + 1))
	done
	echo "$n" >"$test_tmp/writes"
) &
loop=$!
sleep 0.5
cp "$pki/dc1-server-consul-1.pem" "$test_tmp/server.pem"
cp "$pki/dc1-server-consul-1-key.pem" "$test_tmp/server-key.pem"
kill -HUP "$agent_pid"
rotated() { [ "$(serial)" = "$want1" ]; }
i=0; while [ $i -lt 50 ] && ! rotated; do sleep 0.1; i=$((i + 1)); done
check "after SIGHUP new connections get the new certificate" rotated
sleep 0.5
# A broken file: the reload keeps the certificate in use.
echo broken >"$test_tmp/server-key.pem"
kill -HUP "$agent_pid"
check "a reload with a broken key file logs why and keeps the old one" \
    wait_for_log "tls: reload: key_file \"$test_tmp/server-key.pem\": no private key in it; keeping the certificates in use" 5
check "the agent still presents the rotated certificate" rotated
# Back to the first by PUT /v1/agent/reload.
cp "$pki/dc1-server-consul-0.pem" "$test_tmp/server.pem"
cp "$pki/dc1-server-consul-0-key.pem" "$test_tmp/server-key.pem"
check "PUT /v1/agent/reload answers 200" sh -c \
    "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $cc -X PUT \
    '$url/v1/agent/reload')\" = 200 ]"
check "after the API reload new connections get the first certificate" \
    sh -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$https_port \
    -cert '$pki/dc1-cli-consul-0.pem' -key '$pki/dc1-cli-consul-0-key.pem' \
    2>/dev/null | openssl x509 -noout -serial)\" = '$want0' ]"
sleep 0.3
touch "$test_tmp/stop"
wait $loop
writes=$(cat "$test_tmp/writes")
check "the write loop ($writes writes) had no failed request" \
    sh -c "[ ! -s '$fails' ] && [ '$writes' -gt 10 ]"
[ -s "$fails" ] && diag "failed writes: $(tr '\n' ' ' <"$fails")"
check "the agent is alive" alive "$agent_pid"
check "no sanitizer report" sh -c \
    "! grep -q 'AddressSanitizer\|runtime error' '$log'"
tap_done
