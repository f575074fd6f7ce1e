#!/bin/sh
# Consul's DNS interface on a real cluster (issue 7, Tests): 3 servers
# (127.0.0.51-53) and 2 client agents, A (127.0.0.55) and B (.56), each
# agent answering DNS on its own address, port $cl_dns.  A client's dnsd
# gets its view from a server through raftd's feed, so every name form
# and record type is asked of a server (51) and of client A with dig:
#   node A/AAAA/TXT/ANY (meta TXT in the additional section), service
#   A/SRV (target addresses in the additional section), tags, RFC 2782
#   (_tcp, and a tag), addr names (IPv4 and IPv6 hex), PTR under
#   in-addr.arpa and ip6.arpa (node and service addresses), SOA and NS,
#   alt_domain, any case, with and without the trailing dot; NXDOMAIN
#   with the SOA for unknown names, NOERROR without records for known
#   names without the type; node_ttl and service_ttl (exact, prefix*, *).
# Services come from A's -config-dir, from B's agent API
# (/v1/agent/service/register) and from /v1/catalog/register for nodes
# outside the cluster.  Then:
#   - B's instance of web has a TTL check: passed through B's agent API
#     it joins the answers, failed it leaves them on the server and on A
#     (bounded polls; the times are printed, not asserted), passed again
#     it comes back.
#   - A 40-instance service over plain UDP is trimmed to
#     udp_answer_limit (3) silently on 51, with TC on A (enable_truncate
#     in A's config), complete over TCP, more with EDNS0 4096.
#   - only_passing (B's config) drops an instance whose check warns; the
#     server, without it, keeps it.
#   - unbound(8), run here in the foreground on 127.0.0.73 with its
#     config in the test's directory, as the box's resolver would be: a
#     stub zone for consul. pointing at 127.0.0.51's dnsd, every other
#     name static (nothing leaves loopback), local-data for
#     example.test.  Asked with dig, it resolves web.service.consul A and
#     SRV (the targets' addresses too) and passes NXDOMAIN on; B, whose
#     recursor it is, forwards example.test to it (RA set), while A,
#     without recursors, refuses such names.
. "$(dirname "$0")/../lib/cluster.sh"

export LC_ALL=C
A=55 B=56 S=51
servers="51 52 53"

# Every cluster script uses ports 19880-19884 on 127.0.0.51-56; on a
# machine shared with other runs, take the first free set of five from
# there (cluster.sh's port variables are plain globals).
ports_free() {
	! ss -Hlntu 2>/dev/null |
	    grep -Eq "127\.0\.0\.5[1-6]:($1|$(($1 + 1))|$(($1 + 2))|$(($1 + 3))|$(($1 + 4))) "
}
base=${DNS_CLUSTER_PORT_BASE:-19880}
tries=0
until ports_free "$base"; do
	tries=$((tries + 1))
	if [ $tries -ge 8 ]; then
		ok "dns_cluster # SKIP no free ports on 127.0.0.51-56"
		tap_done
		exit 0
	fi
	base=$((base + 10))
done
[ "$base" = 19880 ] || diag "ports $base-$((base + 4)) (19880 is in use)"
cl_http=$base cl_dns=$((base + 1)) cl_lan=$((base + 2))
cl_wan=$((base + 3)) cl_rpc=$((base + 4))

# unbound: 127.0.0.73, the port after the cluster's.
ub_addr=127.0.0.73 ub_port=$((base + 6)) ub_pid=""
ub_stop() {
	if [ -n "$ub_pid" ]; then
		kill -TERM "$ub_pid" 2>/dev/null
		poll 5 gone "$ub_pid" || kill -KILL "$ub_pid" 2>/dev/null
		wait "$ub_pid" 2>/dev/null
		ub_pid=""
	fi
}
trap 'ub_stop; cluster_cleanup' EXIT

cluster_init "$servers" "$A $B" '{
 "alt_domain": "alt.test.",
 "dns_config": {"node_ttl": "7s",
  "service_ttl": {"web": "11s", "api*": "13s", "*": "5s"}}}'

# Client A: enable_truncate, the same TTLs and alt_domain, and its
# services in its config dir: web (tag v1, the node's address), api
# (an IPv4 service address), db.
mkdir -p "$cl_dir/conf$A.d" "$cl_dir/conf$B.d"
cat >"$cl_dir/conf$A.d/dns.json" <<'EOF'
{"alt_domain": "alt.test",
 "dns_config": {"enable_truncate": true, "node_ttl": "7s",
  "service_ttl": {"web": "11s", "api*": "13s", "*": "5s"}}}
EOF
cat >"$cl_dir/conf$A.d/services.json" <<'EOF'
{"services": [
  {"name": "web", "port": 80, "tags": ["v1", "primary"]},
  {"name": "api", "port": 90, "address": "10.1.2.3"},
  {"name": "db", "port": 5432}]}
EOF
# Client B: only_passing.
cat >"$cl_dir/conf$B.d/dns.json" <<EOF
{"dns_config": {"only_passing": true, "recursor_timeout": "2s"},
 "recursors": ["$ub_addr:$ub_port"]}
EOF

t0=$(now_ms)
if cluster_start; then
	ok "3 servers and 2 clients up, leader 127.0.0.$cl_leader ($(($(now_ms) - t0)) ms)"
else
	not_ok "3 servers and 2 clients up"
	cl_keep_logs
	tap_done
	exit 1
fi

url() { cl_url "$1" "$2"; }
put() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X PUT \
	    --data-binary "$2" "$1"
}

# B's services, through its agent API: web (tag v2) with a TTL check,
# and api6 on an IPv6 service address.
r1=$(put "$(url $B /v1/agent/service/register)" '{"Name": "web",
    "ID": "web-b", "Port": 81, "Tags": ["v2"],
    "Check": {"TTL": "300s"}}')
r2=$(put "$(url $B /v1/agent/service/register)" '{"Name": "api6",
    "Port": 91, "Address": "2001:db8::a"}')
r3=$(put "$(url $B /v1/agent/check/pass/service:web-b)" '')
check "B registers web (TTL check) and api6, passes the check ($r1 $r2 $r3)" \
    [ "$r1$r2$r3" = 200200200 ]

# Nodes outside the cluster, through the catalog: ext1 with meta and web
# (tag v1), ext2 with web warning, ext6 on an IPv6 address, and 40
# nodes of the service big.
cat_ok=0
r=$(put "$(url $S /v1/catalog/register)" '{"Node": "ext1",
    "Address": "10.9.0.1", "NodeMeta": {"rack": "r1", "env": "prod"},
    "Service": {"Service": "web", "ID": "web", "Port": 8080,
    "Tags": ["v1"]}}')
[ "$r" = 200 ] && cat_ok=$((cat_ok + 1))
r=$(put "$(url $S /v1/catalog/register)" '{"Node": "ext2",
    "Address": "10.9.0.2", "Service": {"Service": "web", "ID": "web",
    "Port": 8080}, "Check": {"CheckID": "w", "Name": "w",
    "ServiceID": "web", "Status": "warning"}}')
[ "$r" = 200 ] && cat_ok=$((cat_ok + 1))
r=$(put "$(url $S /v1/catalog/register)" '{"Node": "ext6",
    "Address": "2001:db8::6", "Service": {"Service": "v6svc",
    "Port": 99}}')
[ "$r" = 200 ] && cat_ok=$((cat_ok + 1))
i=1
while [ $i -le 40 ]; do
	r=$(put "$(url $S /v1/catalog/register)" "{\"Node\": \"big$i\",
	    \"Address\": \"10.40.0.$i\", \"Service\": {\"Service\": \"big\",
	    \"Port\": 9000}}")
	[ "$r" = 200 ] && cat_ok=$((cat_ok + 1))
	i=$((i + 1))
done
check "43 nodes registered through /v1/catalog/register ($cat_ok)" \
    [ "$cat_ok" = 43 ]

# dig helpers: T is the agent's last octet.
D() {
	local t=$1
	shift
	dig +time=2 +tries=2 -p "$cl_dns" "@127.0.0.$t" "$@"
}
# The answer's data, sorted, one line.
short() { D "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
status() { D "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
flags() { D "$@" | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p'; }
# section T WHICH ARGS: "owner type data" of a section, sorted.
section() {
	local t=$1 w=$2
	shift 2
	D "$t" +noall "+$w" "$@" | awk '$1 !~ /^;/ && NF {
	    $2 = ""; $3 = ""; print }' | tr -s ' ' | sort
}
count() {
	local t=$1 w=$2
	shift 2
	D "$t" +noall "+$w" "$@" | awk '$1 !~ /^;/ && NF' | wc -l
}
ttls() {
	local t=$1
	shift
	D "$t" +noall +answer "$@" | awk '$1 !~ /^;/ && NF { print $2 }' |
	    sort -u | tr '\n' ' ' | sed 's/ $//'
}
# is_nx T ARGS: NXDOMAIN with the domain's SOA in authority.
is_nx() {
	local t=$1 out
	shift
	out=$(D "$t" "$@")
	echo "$out" | grep -q 'status: NXDOMAIN' &&
	    echo "$out" | grep -q 'ANSWER: 0,' &&
	    echo "$out" | sed -n '/AUTHORITY SECTION/,/^$/p' |
	    grep -Eq 'IN[[:space:]]+SOA[[:space:]]+ns\.'
}
# nodata T SOA ARGS: NOERROR and no answer; with the SOA in authority
# when SOA is 1, without any authority record when 0.
nodata() {
	local t=$1 soa=$2 out
	shift 2
	out=$(D "$t" "$@")
	echo "$out" | grep -q 'status: NOERROR' &&
	    echo "$out" | grep -q 'ANSWER: 0,' || return 1
	if [ "$soa" = 1 ]; then
		echo "$out" | sed -n '/AUTHORITY SECTION/,/^$/p' |
		    grep -Eq 'IN[[:space:]]+SOA[[:space:]]+ns\.'
	else
		echo "$out" | grep -q 'AUTHORITY: 0,'
	fi
}
# is T WANT ARGS: short answer equals WANT.
is() {
	local t=$1 want=$2
	shift 2
	[ "$(short "$t" "$@")" = "$want" ]
}

web_all="10.9.0.1 10.9.0.2 127.0.0.$A 127.0.0.$B"
web_passing="10.9.0.1 127.0.0.$A 127.0.0.$B"
# The view is complete on an agent when web has its 4 instances, big
# its 40 (over TCP), and the 3 servers their consul service (the
# leader's reconcile registers it, in its own time).
ns_all="f51.node.dc1.consul. f52.node.dc1.consul. f53.node.dc1.consul."
view_ready() {
	is "$1" "$ns_all" NS consul &&
	    is "$1" "$web_all" web.service.consul A &&
	    [ "$(count "$1" answer +tcp big.service.consul A)" = 40 ] &&
	    is "$1" "10.1.2.3" api.service.consul A &&
	    is "$1" "2001:db8::a" api6.service.consul AAAA
}
for n in $S $A; do
	t0=$(now_ms)
	if poll 30 view_ready "$n"; then
		ok "127.0.0.$n: every instance registered is answered ($(($(now_ms) - t0)) ms)"
	else
		not_ok "127.0.0.$n: every instance registered is answered"
		diag "web: $(short "$n" web.service.consul A)"
		diag "big: $(count "$n" answer +tcp big.service.consul A)"
		diag "NS: $(short "$n" NS consul)"
	fi
done

# The battery, asked of agent T (the server, then client A).
battery() {
	local t=$1 w
	w="127.0.0.$t"

	# SOA and NS.
	check "$w: SOA: ns. and hostmaster. of the domain, Consul's timers" \
	    [ "$(short "$t" SOA consul | awk '{ print $1, $2, $4, $5, $6, $7 }')" = \
	    "ns.consul. hostmaster.consul. 3600 600 86400 0" ]
	check "$w: SOA answer with the servers as NS in authority" \
	    [ "$(section "$t" authority SOA consul | awk '{ print $2, $3 }' |
	    tr '\n' ' ')" = "NS f51.node.dc1.consul. NS f52.node.dc1.consul. NS f53.node.dc1.consul. " ]
	check "$w: SOA for a name under the domain too" \
	    [ "$(status "$t" SOA nosuch.service.consul)" = NOERROR ]
	check "$w: NS: the 3 servers" is "$t" "$ns_all" NS consul
	check "$w: NS glue: the servers' addresses in the additional section" \
	    [ "$(section "$t" additional NS consul | awk '$2 == "A" { print $1, $3 }' |
	    tr '\n' ' ')" = "f51.node.dc1.consul. 127.0.0.51 f52.node.dc1.consul. 127.0.0.52 f53.node.dc1.consul. 127.0.0.53 " ]
	check "$w: flags: authoritative, no RA without recursors" \
	    [ "$(flags "$t" web.service.consul A)" = "qr aa rd" ]

	# Nodes.
	check "$w: node A" is "$t" "127.0.0.$A" f$A.node.consul A
	check "$w: node A with the datacenter" is "$t" "127.0.0.$A" \
	    f$A.node.dc1.consul A
	check "$w: node A, <dc>.dc form" is "$t" "127.0.0.$A" \
	    f$A.node.dc1.dc.consul A
	check "$w: node A, trailing dot and upper case" is "$t" "127.0.0.$A" \
	    F$A.NODE.CONSUL. A
	check "$w: a catalog node's A" is "$t" 10.9.0.1 ext1.node.consul A
	check "$w: node AAAA" is "$t" 2001:db8::6 ext6.node.consul AAAA
	check "$w: node TXT: its meta, key=value" \
	    is "$t" '"env=prod" "rack=r1"' ext1.node.consul TXT
	check "$w: node A: the meta TXT in the additional section" \
	    [ "$(section "$t" additional ext1.node.consul A |
	    awk '$2 == "TXT" { print $1, $3 }' | tr '\n' ' ')" = \
	    'ext1.node.consul. "env=prod" ext1.node.consul. "rack=r1" ' ]
	check "$w: node ANY: A and TXT" \
	    is "$t" '"env=prod" "rack=r1" 10.9.0.1' ext1.node.consul ANY
	check "$w: node ANY on an IPv6 node: AAAA" \
	    is "$t" 2001:db8::6 ext6.node.consul ANY
	check "$w: node without the type (AAAA of an IPv4 node): NOERROR, no SOA" \
	    nodata "$t" 0 ext1.node.consul AAAA
	check "$w: node without the type (A of an IPv6 node): NOERROR, no SOA" \
	    nodata "$t" 0 ext6.node.consul A
	check "$w: node MX: NOERROR, no SOA" nodata "$t" 0 f$A.node.consul MX
	check "$w: node_ttl on node records" [ "$(ttls "$t" f$A.node.consul A)" = 7 ]
	check "$w: unknown node: NXDOMAIN with the SOA" \
	    is_nx "$t" nosuch.node.consul A

	# Services.
	check "$w: service A: every healthy instance's address" \
	    is "$t" "$web_all" web.service.consul A
	check "$w: service A with the datacenter, upper case, trailing dot" \
	    is "$t" "$web_all" WEB.Service.DC1.Consul. A
	check "$w: service TXT gives its A records" \
	    is "$t" "$web_all" web.service.consul TXT
	check "$w: service SRV: priority 1, weight 1, the port, node targets" \
	    is "$t" "1 1 80 f$A.node.dc1.consul. 1 1 8080 ext1.node.dc1.consul. 1 1 8080 ext2.node.dc1.consul. 1 1 81 f$B.node.dc1.consul." \
	    web.service.consul SRV
	check "$w: SRV additional: each target's A" \
	    [ "$(section "$t" additional web.service.consul SRV |
	    awk '$2 == "A" { print $1, $3 }' | tr '\n' ' ')" = \
	    "ext1.node.dc1.consul. 10.9.0.1 ext2.node.dc1.consul. 10.9.0.2 f$A.node.dc1.consul. 127.0.0.$A f$B.node.dc1.consul. 127.0.0.$B " ]
	check "$w: SRV additional: the target node's meta as TXT" \
	    [ "$(section "$t" additional web.service.consul SRV |
	    awk '$2 == "TXT" && $1 ~ /^ext/ { print $1, $3 }' | tr '\n' ' ')" = \
	    'ext1.node.dc1.consul. "env=prod" ext1.node.dc1.consul. "rack=r1" ' ]
	check "$w: tag: only the tagged instances" \
	    is "$t" "10.9.0.1 127.0.0.$A" v1.web.service.consul A
	check "$w: tag, SRV" is "$t" "1 1 81 f$B.node.dc1.consul." \
	    v2.web.service.consul SRV
	check "$w: tag in any case" is "$t" "127.0.0.$A" PRIMARY.web.service.consul A
	check "$w: RFC 2782 with _tcp: every instance" \
	    [ "$(short "$t" _web._tcp.service.consul SRV)" = \
	    "$(short "$t" web.service.consul SRV)" ]
	check "$w: RFC 2782 with a tag" \
	    is "$t" "1 1 80 f$A.node.dc1.consul. 1 1 8080 ext1.node.dc1.consul." \
	    _web._v1.service.consul SRV
	check "$w: RFC 2782 without .service, with the datacenter" \
	    is "$t" "1 1 81 f$B.node.dc1.consul." _web._v2.dc1.consul SRV
	check "$w: service address: A" is "$t" 10.1.2.3 api.service.consul A
	check "$w: service address: SRV target an addr name" \
	    is "$t" "1 1 90 0a010203.addr.dc1.consul." api.service.consul SRV
	check "$w: service address: the addr target's A in additional" \
	    [ "$(section "$t" additional api.service.consul SRV |
	    awk '{ print $1, $2, $3 }' | tr '\n' ' ')" = \
	    "0a010203.addr.dc1.consul. A 10.1.2.3 " ]
	check "$w: IPv6 service address: AAAA" \
	    is "$t" 2001:db8::a api6.service.consul AAAA
	check "$w: IPv6 service address: SRV target the 32-digit addr name" \
	    is "$t" "1 1 91 20010db800000000000000000000000a.addr.dc1.consul." \
	    api6.service.consul SRV
	check "$w: IPv6 service address: the target's AAAA in additional" \
	    [ "$(section "$t" additional api6.service.consul SRV |
	    awk '{ print $1, $2, $3 }' | tr '\n' ' ')" = \
	    "20010db800000000000000000000000a.addr.dc1.consul. AAAA 2001:db8::a " ]
	check "$w: service on an IPv6 node: AAAA" \
	    is "$t" 2001:db8::6 v6svc.service.consul AAAA
	check "$w: service without the type (AAAA, IPv4 only): NOERROR with the SOA" \
	    nodata "$t" 1 web.service.consul AAAA
	check "$w: unknown service: NXDOMAIN with the SOA" \
	    is_nx "$t" nosuch.service.consul A
	check "$w: unknown tag: NXDOMAIN with the SOA" \
	    is_nx "$t" v9.web.service.consul SRV
	check "$w: unknown kind of name: NXDOMAIN with the SOA" \
	    is_nx "$t" web.bogus.consul A
	check "$w: another datacenter: NXDOMAIN" \
	    is_nx "$t" web.service.dc9.consul A
	check "$w: service_ttl, exact name" \
	    [ "$(ttls "$t" web.service.consul SRV)" = 11 ]
	check "$w: service_ttl, prefix*" \
	    [ "$(ttls "$t" api.service.consul A) $(ttls "$t" api6.service.consul AAAA)" = "13 13" ]
	check "$w: service_ttl, *" [ "$(ttls "$t" db.service.consul A)" = 5 ]

	# addr and PTR.
	check "$w: addr, IPv4 hex" is "$t" "127.0.0.$A" \
	    7f0000$(printf %02x $A).addr.consul A
	check "$w: addr, IPv6 hex, with the datacenter" is "$t" 2001:db8::6 \
	    20010db8000000000000000000000006.addr.dc1.consul AAAA
	check "$w: addr, IPv4 hex asked AAAA: NOERROR with the SOA" \
	    nodata "$t" 1 0a010203.addr.consul AAAA
	check "$w: addr, bad hex: NXDOMAIN" is_nx "$t" 0a01020g.addr.consul A
	check "$w: PTR in-addr.arpa of a node address" \
	    is "$t" "f$A.node.dc1.consul." -x 127.0.0.$A
	check "$w: PTR of a catalog node" is "$t" "ext1.node.dc1.consul." \
	    -x 10.9.0.1
	check "$w: PTR of a service address" is "$t" "api.service.dc1.consul." \
	    -x 10.1.2.3
	check "$w: PTR ip6.arpa of a node address" \
	    is "$t" "ext6.node.dc1.consul." -x 2001:db8::6
	check "$w: PTR ip6.arpa of a service address" \
	    is "$t" "api6.service.dc1.consul." -x 2001:db8::a
	check "$w: PTR TTL 0" [ "$(ttls "$t" -x 127.0.0.$A)" = 0 ]
	check "$w: PTR of an unknown address: NXDOMAIN with the SOA" \
	    is_nx "$t" -x 10.99.99.99

	# alt_domain.
	check "$w: alt_domain: service A" is "$t" "$web_all" \
	    web.service.alt.test A
	check "$w: alt_domain: SRV targets in the domain asked" \
	    is "$t" "1 1 80 f$A.node.dc1.alt.test. 1 1 8080 ext1.node.dc1.alt.test." \
	    v1.web.service.alt.test. SRV
	check "$w: alt_domain: node A, upper case" is "$t" "127.0.0.$A" \
	    F$A.NODE.ALT.TEST A
	check "$w: alt_domain: SOA of the alt domain" \
	    [ "$(short "$t" SOA alt.test | cut -d' ' -f1-2)" = \
	    "ns.alt.test. hostmaster.alt.test." ]
	check "$w: alt_domain: unknown name NXDOMAIN with the SOA" \
	    is_nx "$t" nosuch.service.alt.test A
	check "$w: a name outside both domains: REFUSED" \
	    [ "$(status "$t" web.service.example A)" = REFUSED ]
}

battery $S
battery $A

# A check going critical: B's TTL check, failed and passed through B's
# agent API; the instance leaves and comes back, on the server and on A.
without_b() {
	local n
	for n in $S $A; do
		case " $(short "$n" web.service.consul A) " in
		*" 127.0.0.$B "*) return 1 ;;
		esac
		[ "$(short "$n" web.service.consul A)" = "10.9.0.1 10.9.0.2 127.0.0.$A" ] ||
		    return 1
	done
}
with_b() {
	local n
	for n in $S $A; do
		is "$n" "$web_all" web.service.consul A || return 1
	done
}
r=$(put "$(url $B /v1/agent/check/fail/service:web-b?note=down)" '')
t0=$(now_ms)
if [ "$r" = 200 ] && poll 30 without_b; then
	ok "B's check failed: its instance leaves the answers of 51 and of A"
	diag "critical check out of the answers in $(($(now_ms) - t0)) ms"
else
	not_ok "B's check failed: its instance leaves the answers of 51 and of A (PUT $r)"
	diag "51: $(short $S web.service.consul A); A: $(short $A web.service.consul A)"
fi
check "critical: the tag only B had is NXDOMAIN" \
    is_nx $S v2.web.service.consul SRV
check "critical: B's SRV is gone too" \
    [ "$(short $A web.service.consul SRV | grep -c "f$B.node")" = 0 ]
r=$(put "$(url $B /v1/agent/check/pass/service:web-b)" '')
t0=$(now_ms)
if [ "$r" = 200 ] && poll 30 with_b; then
	ok "B's check passing again: the instance comes back"
	diag "passing check back in the answers in $(($(now_ms) - t0)) ms"
else
	not_ok "B's check passing again: the instance comes back (PUT $r)"
fi

# 40 instances: plain UDP, TC, TCP, EDNS0.
big_all=$(i=1; while [ $i -le 40 ]; do echo 10.40.0.$i; i=$((i + 1)); done |
    sort | tr '\n' ' ' | sed 's/ $//')
check "40 instances over TCP from 51: all of them (A)" \
    is $S "$big_all" +tcp big.service.consul A
check "40 instances over TCP from A: all of them (SRV)" \
    [ "$(count $A answer +tcp big.service.consul SRV)" = 40 ]
check "over TCP: the 40 targets' A in the additional section" \
    [ "$(section $A additional +tcp big.service.consul SRV |
    awk '$2 == "A"' | wc -l)" = 40 ]
check "plain UDP on 51: trimmed to udp_answer_limit 3 (A)" \
    [ "$(count $S answer +noedns +ignore big.service.consul A)" = 3 ]
check "plain UDP on 51: 3 SRV" \
    [ "$(count $S answer +noedns +ignore big.service.consul SRV)" = 3 ]
check "plain UDP on 51: each SRV with its target's A, no more" \
    [ "$(section $S additional +noedns +ignore big.service.consul SRV |
    awk '$2 == "A"' | wc -l)" = 3 ]
check "plain UDP on 51 (no enable_truncate): no TC" \
    [ "$(flags $S +noedns +ignore big.service.consul A)" = "qr aa rd" ]
check "plain UDP on A (enable_truncate): 3 answers" \
    [ "$(count $A answer +noedns +ignore big.service.consul A)" = 3 ]
check "plain UDP on A (enable_truncate): TC set" \
    [ "$(flags $A +noedns +ignore big.service.consul A)" = "qr aa tc rd" ]
check "enable_truncate: dig retries over TCP and gets all 40" \
    [ "$(count $A answer +noedns big.service.consul A)" = 40 ]
check "plain UDP on A: no TC when nothing was trimmed" \
    [ "$(flags $A +noedns +ignore api.service.consul A)" = "qr aa rd" ]
check "each reply differs in order: answers are shuffled" \
    sh -c "for i in 1 2 3 4 5 6 7 8; do dig +time=2 +tries=2 -p $cl_dns \
    @127.0.0.$S +noedns +short big.service.consul A | tr '\n' ' '; echo; \
    done | sort -u | [ \$(wc -l) -gt 1 ]"
n=$(count $S answer +bufsize=4096 big.service.consul A)
check "EDNS0 4096 over UDP: more than 3 A ($n)" [ "$n" -gt 3 ]
n2=$(count $S answer +bufsize=4096 big.service.consul SRV)
check "EDNS0 4096 over UDP: more than 3 SRV ($n2)" [ "$n2" -gt 3 ]
sz=$(D $S +bufsize=4096 big.service.consul SRV | sed -n 's/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p')
check "EDNS0 4096: the reply within 4096 bytes and over 512 ($sz)" \
    [ "${sz:-0}" -le 4096 -a "${sz:-0}" -gt 512 ]
n3=$(count $S answer +bufsize=1232 big.service.consul SRV)
check "EDNS0 1232 gives fewer SRV than 4096 ($n3 < $n2)" [ "$n3" -lt "$n2" ]
check "EDNS0: the OPT record echoed with the server's size" \
    sh -c "dig +time=2 +tries=2 -p $cl_dns @127.0.0.$S +bufsize=4096 \
    big.service.consul A | grep -q 'EDNS: version: 0, flags:; udp: 4096'"

# only_passing on B: the warning instance (ext2) is left out there, kept
# on the server and on A.
check "only_passing (B): the warning instance is not answered" \
    poll 10 is $B "$web_passing" web.service.consul A
check "only_passing (B): nor in SRV" \
    [ "$(short $B web.service.consul SRV | grep -c ext2)" = 0 ]
check "without only_passing (51, A): the warning instance is answered" \
    is $S "$web_all" web.service.consul A
check "B's defaults: TTL 0" [ "$(ttls $B web.service.consul A)" = 0 ]

# unbound as the system resolver.
if command -v unbound >/dev/null 2>&1; then
	ub_dir="$test_tmp/unbound"
	mkdir -p "$ub_dir"
	cat >"$ub_dir/unbound.conf" <<EOF
server:
	interface: $ub_addr
	port: $ub_port
	outgoing-interface: $ub_addr
	access-control: 127.0.0.0/8 allow
	do-ip6: no
	chroot: ""
	username: ""
	directory: "$ub_dir"
	pidfile: "$ub_dir/unbound.pid"
	logfile: ""
	use-syslog: no
	verbosity: 1
	num-threads: 1
	module-config: "iterator"
	do-not-query-localhost: no
	local-zone: "." static
	local-zone: "consul." transparent
	local-zone: "example.test." static
	local-data: "www.example.test. 60 IN A 192.0.2.10"
stub-zone:
	name: "consul."
	stub-addr: 127.0.0.$S@$cl_dns
EOF
	unbound -d -c "$ub_dir/unbound.conf" >"$ub_dir/log" 2>&1 &
	ub_pid=$!
	U() { dig +time=3 +tries=2 -p "$ub_port" "@$ub_addr" "$@"; }
	ub_up() { U +short www.example.test A | grep -qx 192.0.2.10; }
	if poll 15 ub_up; then
		ok "unbound answers on $ub_addr:$ub_port"
	else
		not_ok "unbound answers on $ub_addr:$ub_port"
		sed 's/^/#   /' "$ub_dir/log" | tail -20
	fi
	ushort() { U "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
	uflags() { U "$@" | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p'; }
	ustatus() { U "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
	t0=$(now_ms)
	check "unbound resolves web.service.consul A through the stub zone" \
	    [ "$(ushort web.service.consul A)" = "$web_all" ]
	diag "first answer through unbound in $(($(now_ms) - t0)) ms"
	check "unbound: web.service.consul SRV" \
	    [ "$(ushort web.service.consul SRV)" = "$(short $S web.service.consul SRV)" ]
	check "unbound: an SRV target resolves (f$A.node.dc1.consul A)" \
	    [ "$(ushort f$A.node.dc1.consul A)" = "127.0.0.$A" ]
	check "unbound: RFC 2782 SRV with a tag" \
	    [ "$(ushort _web._v2.service.consul SRV)" = "1 1 81 f$B.node.dc1.consul." ]
	check "unbound: a recursive answer (qr rd ra)" \
	    [ "$(uflags web.service.consul A)" = "qr rd ra" ]
	check "unbound: an unknown service is NXDOMAIN" \
	    [ "$(ustatus nosuch.service.consul A)" = NXDOMAIN ]
	# unbound asks with EDNS0 1232 and gets what fits, as dig would.
	n=$(U +noall +answer big.service.consul A | grep -c 'IN.A')
	n2=$(count $S answer +bufsize=1232 +norecurse big.service.consul A)
	check "unbound: a 40-instance service, as much as fits 1232 bytes ($n = $n2)" \
	    [ "$n" = "$n2" -a "$n" -gt 3 ]
	check "unbound: a TTL at most the service_ttl (5 s)" \
	    [ "$(U +noall +answer db.service.consul A | awk '{ print $2 }')" -le 5 ]
	# B's recursor.
	check "B forwards a name outside its domain to its recursor (unbound)" \
	    is $B 192.0.2.10 www.example.test A
	check "B: the recursor's reply, RA set" \
	    sh -c "echo ' $(flags $B www.example.test A) ' | grep -q ' ra '"
	check "B: the recursor's NXDOMAIN passed on" \
	    [ "$(status $B nosuch.example.test A)" = NXDOMAIN ]
	check "B still answers its own domain itself" \
	    is $B "$web_passing" web.service.consul A
	check "A, without recursors: REFUSED for the same name" \
	    [ "$(status $A www.example.test A)" = REFUSED ]
	check "unbound still running" alive "$ub_pid"
	ub_stop
else
	not_ok "unbound is installed (make deps installs it)"
fi

check_alive "dns_cluster"
tap_done
