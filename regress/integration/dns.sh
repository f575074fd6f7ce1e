#!/bin/sh
# The DNS interface of a real agent, asked with dig(1): the SOA and addr
# names (which need no catalog), REFUSED for other names without
# recursors, FORMERR and NOTIMP for bad queries sent raw, TCP, then an
# agent whose recursors are small responders this test runs on
# 127.0.0.71 and 127.0.0.72: a failing recursor is passed over, a
# truncated reply is asked again over TCP, SERVFAIL when all fail.
# Names from the catalog come from the view raftd feeds dnsd, kept
# current as the catalog changes (a check going critical included).
. "$(dirname "$0")/../lib/agent.sh"

resp_pid=""
trap 'kill "$resp_pid" 2>/dev/null; cleanup' EXIT INT TERM

q() {
	dig +time=3 +tries=1 -p "$dns_port" @127.0.0.1 "$@"
}
status() {
	q "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}
flags() {
	q "$@" | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p'
}

# raw HEX: send a hand-made packet over UDP, print the reply's rcode
# (or "none" when nothing comes back within two seconds).
raw() {
	python3 - "$dns_port" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(bytes.fromhex(sys.argv[2]), ("127.0.0.1", int(sys.argv[1])))
try:
    r = s.recv(65535)
    print("rcode=%d id=%s" % (r[3] & 15, r[:2].hex()))
except socket.timeout:
    print("none")
EOF
}

agent_start 45 "$test_tmp/a45.log"
i=0
until [ "$(status SOA consul)" = NOERROR ] || [ $i -gt 50 ]; do
	sleep 0.2; i=$((i + 1))
done

soa=$(q +short SOA consul)
check "SOA for the domain: ns. and hostmaster., refresh 3600 retry 600 expire 86400 min 0" \
    sh -c "echo '$soa' | grep -q '^ns.consul. hostmaster.consul. [0-9]* 3600 600 86400 0\$'"
check "SOA for any name in the domain, authoritative" \
    [ "$(flags SOA nosuch.service.consul)" = "qr aa rd" ]
check "SOA over TCP" [ "$(status +tcp SOA Consul.)" = NOERROR ]
check "an addr name gives its address" \
    [ "$(q +short 7f000001.addr.consul A)" = 127.0.0.1 ]
check "an IPv6 addr name" \
    [ "$(q +short 20010db8000000000000000000000001.addr.dc1.consul AAAA)" = 2001:db8::1 ]
check "another datacenter is NXDOMAIN" \
    [ "$(status 7f000001.addr.dc9.consul A)" = NXDOMAIN ]
check "a name outside the domain without recursors: REFUSED" \
    [ "$(status example.com A)" = REFUSED ]
check "no RA without recursors" [ "$(flags example.com A)" = "qr rd" ]

# A header: id 0xbeef, RD.  The question: web.service.consul A IN.
hdr1=beef01000001000000000000
question=03776562077365727669636506636f6e73756c0000010001
check "a good query sent raw is answered" \
    [ "$(raw $hdr1$question | cut -c9-)" = "id=beef" ]
check "AXFR: NOTIMP" \
    [ "$(raw ${hdr1}06636f6e73756c0000fc0001)" = "rcode=4 id=beef" ]
check "another class in the domain: NOTIMP" \
    [ "$(raw ${hdr1}0178046e6f646506636f6e73756c0000100003)" = "rcode=4 id=beef" ]
check "two questions: FORMERR" \
    [ "$(raw beef01000002000000000000$question$question)" = "rcode=1 id=beef" ]
check "a compression loop: FORMERR" \
    [ "$(raw beef01000001000000000000c00c00010001)" = "rcode=1 id=beef" ]
check "a label running past the end: FORMERR" \
    [ "$(raw beef0100000100000000000040414243)" = "rcode=1 id=beef" ]
check "a huge QDCOUNT: FORMERR" \
    [ "$(raw beef0100ffff000000000000$question | cut -c1-7)" = "rcode=1" ]
check "a truncated header is dropped" [ "$(raw beef0100)" = none ]
check "a response is dropped" [ "$(raw beef81000001000000000000$question)" = none ]
check "an unknown opcode: NOTIMP" \
    [ "$(raw beef11000001000000000000$question)" = "rcode=4 id=beef" ]
check "EDNS version 1: BADVERS, in the OPT" \
    [ "$(q +edns=1 +noednsnegotiation SOA consul | grep -c BADVERS)" -ge 1 ]
# burst NAMES...: send 300 queries at once from one socket (the names in
# turn, ids 1..300) with a bad packet and a response among them, then
# read the replies: dnsd reads and answers UDP in batches.  Prints
# "replies N wrong W rcodes R", W counting a reply whose id or question
# does not match a query sent, R the distinct rcodes.
burst() {
	python3 - "$dns_port" "$@" <<'EOF'
import socket, struct, sys
port, names = int(sys.argv[1]), sys.argv[2:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:	# SO_RCVBUFFORCE (as root): room for all 300 replies
    s.setsockopt(socket.SOL_SOCKET, 33, 1 << 22)
except OSError:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.settimeout(5)
def q(i, name):
    qn = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + qn + b"\0\1\0\1"
sent = {}
for i in range(1, 301):
    name = names[i % len(names)]
    sent[i] = q(i, name)[12:]
    s.sendto(q(i, name), ("127.0.0.1", port))
    if i % 50 == 0:
        s.sendto(b"\xde\xad\x81\x00", ("127.0.0.1", port))
        s.sendto(q(0xfffe, name)[:2] + b"\x81\x00" + q(0, name)[4:],
            ("127.0.0.1", port))
got, wrong, rcodes = set(), 0, set()
try:
    while len(got) < 300:
        r = s.recv(65535)
        i = struct.unpack(">H", r[:2])[0]
        if i not in sent or i in got or not r[12:].startswith(sent[i]):
            wrong += 1
        got.add(i)
        rcodes.add(r[3] & 15)
except socket.timeout:
    pass
print("replies %d wrong %d rcodes %s" % (len(got), wrong,
    ",".join(str(c) for c in sorted(rcodes))))
EOF
}
b=$(burst consul 7f000001.addr.consul nosuch.service.consul)
check "300 queries at once, bad packets among them: each answered once, in kind ($b)" \
    [ "$b" = "replies 300 wrong 0 rcodes 0,3" ]
# A datagram longer than any query (5000 bytes) is dropped.
check "a 5000-byte UDP query is dropped" \
    [ "$(raw $hdr1$question$(head -c 4976 /dev/zero | od -An -v -tx1 | tr -d ' \n'))" = none ]
check "dnsd is still there" [ "$(status SOA consul)" = NOERROR ]

# What needs the catalog: raftd's feed.
url="http://127.0.0.1:$http_port"
check "raftd feeds dnsd its view of the catalog" \
    wait_for_log "dns: answering from the catalog" 15
curl -s -X PUT --data-binary '{"Node":"web1","Address":"10.7.0.1",
    "NodeMeta":{"rack":"r1"},"Service":{"Service":"web",
    "Tags":["v1"],"Port":8080}}' "$url/v1/catalog/register" >/dev/null
i=0
until [ "$(status web.service.consul A)" = NOERROR ] || [ $i -gt 50 ]; do
	sleep 0.2; i=$((i + 1))
done
check "a registered service answers A" \
    [ "$(q +short web.service.consul A)" = 10.7.0.1 ]
check "and SRV, with its node as the target" \
    [ "$(q +short web.service.consul SRV)" = "1 1 8080 web1.node.dc1.consul." ]
check "a tag" [ "$(q +short v1.web.service.consul A)" = 10.7.0.1 ]
check "RFC 2782" [ "$(q +short _web._tcp.service.consul SRV | wc -l)" = 1 ]
check "the node" [ "$(q +short WEB1.node.consul A)" = 10.7.0.1 ]
check "its meta as TXT" [ "$(q +short web1.node.consul TXT)" = '"rack=r1"' ]
check "PTR" [ "$(q +short -x 10.7.0.1)" = web1.node.dc1.consul. ]
check "NS: the server" [ "$(q +short NS consul)" = node45.node.dc1.consul. ]
check "an unknown service: NXDOMAIN with the SOA" \
    sh -c "dig +time=3 +tries=1 -p $dns_port @127.0.0.1 nope.service.consul |
    grep -q 'status: NXDOMAIN' && dig +time=3 +tries=1 -p $dns_port \
    @127.0.0.1 nope.service.consul | grep -A1 'AUTHORITY SECTION' |
    grep -q 'IN.SOA.ns.consul'"
# A second instance whose check goes critical leaves the answers.
curl -s -X PUT --data-binary '{"Node":"web2","Address":"10.7.0.2",
    "Service":{"Service":"web","Port":8080},"Check":{"CheckID":"c",
    "Name":"c","ServiceID":"web","Status":"passing"}}' \
    "$url/v1/catalog/register" >/dev/null
two() { [ "$(q +short web.service.consul A | sort | tr '\n' ' ')" = \
    "10.7.0.1 10.7.0.2 " ]; }
check "a second passing instance joins the answers" poll 10 two
curl -s -X PUT --data-binary '{"Node":"web2","Address":"10.7.0.2",
    "Check":{"CheckID":"c","Name":"c","ServiceID":"web",
    "Status":"critical"}}' "$url/v1/catalog/register" >/dev/null
one() { [ "$(q +short web.service.consul A)" = 10.7.0.1 ]; }
check "its check going critical takes it out" poll 10 one
# Prepared queries answer under .query, with their filters and TTL.
curl -s -X PUT --data-binary '{"Node":"web3","Address":"10.7.0.3",
    "Service":{"Service":"web","Tags":["canary"],"Port":8080}}' \
    "$url/v1/catalog/register" >/dev/null
curl -s -X POST --data-binary '{"Name":"stable","Service":{"Service":"web",
    "Tags":["!canary"]},"DNS":{"TTL":"30s"}}' "$url/v1/query" >/dev/null
stable() { [ "$(q +short stable.query.consul A)" = 10.7.0.1 ]; }
check "a prepared query answers under .query, with its tag filter" \
    poll 10 stable
check "with its DNS TTL" [ "$(q +noall +answer stable.query.consul A |
    awk '{ print $2 }')" = 30 ]
check "and SRV" [ "$(q +short stable.query.consul SRV)" = \
    "1 1 8080 web1.node.dc1.consul." ]
curl -s -X POST --data-binary '{"Name":"pick-","Template":{"Type":
    "name_prefix_match"},"Service":{"Service":"${name.suffix}"}}' \
    "$url/v1/query" >/dev/null
tpl() { [ "$(q +short pick-web.query.consul A | sort | tr '\n' ' ')" = \
    "10.7.0.1 10.7.0.3 " ]; }
check "a template query by its name prefix" poll 10 tpl
check "an unknown query is NXDOMAIN" \
    [ "$(status nosuch.query.consul A)" = NXDOMAIN ]
kill "$agent_pid"
wait_exit "$agent_pid" 100 >/dev/null

# Recursors: .72 always fails, .71 answers.
rport=18466
python3 - "$rport" >"$test_tmp/resp.log" 2>&1 <<'EOF' &
import socket, struct, sys, threading
port = int(sys.argv[1])

def qname(p):
    i, labels = 12, []
    while p[i]:
        labels.append(p[i + 1:i + 1 + p[i]].decode())
        i += 1 + p[i]
    return ".".join(labels).lower(), i + 5

def reply(p, tcp, addr):
    name, end = qname(p)
    flags = 0x8180
    ans = b""
    if addr == "127.0.0.72" or name == "refused.example":
        flags |= 5 if name == "refused.example" else 2
    elif name == "nx.example":
        flags |= 3
    elif name == "tc.example" and not tcp:
        flags |= 0x0200
    else:
        ip = "192.0.2.2" if name == "tc.example" else "192.0.2.1"
        ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + \
            socket.inet_aton(ip)
    return p[:2] + struct.pack(">HHHHH", flags, 1, 1 if ans else 0, 0, 0) + \
        p[12:end] + ans

def udp(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        p, peer = s.recvfrom(65535)
        s.sendto(reply(p, False, addr), peer)

def tcp(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        n = struct.unpack(">H", c.recv(2))[0]
        p = b""
        while len(p) < n:
            p += c.recv(n - len(p))
        r = reply(p, True, addr)
        c.sendall(struct.pack(">H", len(r)) + r)
        c.close()

for a in ("127.0.0.71", "127.0.0.72"):
    for f in (udp, tcp):
        threading.Thread(target=f, args=(a,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
EOF
resp_pid=$!
i=0
until grep -qs ready "$test_tmp/resp.log" || [ $i -gt 50 ]; do
	sleep 0.1; i=$((i + 1))
done

cat >"$test_tmp/rec.json" <<EOF
{"recursors": ["127.0.0.72:$rport", "127.0.0.71:$rport"],
 "dns_config": {"recursor_timeout": "1s"}}
EOF
agent_start 46 "$test_tmp/a46.log" -config-file="$test_tmp/rec.json"
i=0
until [ "$(status SOA consul)" = NOERROR ] || [ $i -gt 50 ]; do
	sleep 0.2; i=$((i + 1))
done
check "a failing recursor is passed over for the next" \
    [ "$(q +short ok.example A)" = 192.0.2.1 ]
check "RA with recursors" [ "$(flags ok.example A)" = "qr rd ra" ]
check "over TCP too" [ "$(q +tcp +short ok.example A)" = 192.0.2.1 ]
check "NXDOMAIN from a recursor is passed on" \
    [ "$(status nx.example A)" = NXDOMAIN ]
check "a truncated UDP reply is asked again over TCP" \
    [ "$(q +ignore +short tc.example A)" = 192.0.2.2 ]
check "all recursors failing: SERVFAIL" \
    [ "$(status refused.example A)" = SERVFAIL ]
check "the domain is still answered here" [ "$(status SOA consul)" = NOERROR ]
b=$(burst ok.example consul nx.example)
check "a burst of names for the recursors and for the domain: all answered ($b)" \
    [ "$b" = "replies 300 wrong 0 rcodes 0,3" ]
check "dnsd is alive after all of it" [ -n "$(child_pid dnsd)" ]
tap_done
