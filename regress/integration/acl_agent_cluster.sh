#!/bin/sh
# ACLs on client agents: one server (127.0.0.121) and three clients,
# 122 (down_policy extend-cache, the default), 123 (down_policy deny)
# and 124 (async-cache), acl.token_ttl 2s, default deny.  A client resolves tokens through the
# server: on 122 a service token (service_prefix "web" write) registers
# web through /v1/agent/service/register and anti-entropy puts it in
# the catalog (read on the server with a read token); db is refused.
# A service from the client's configuration has no token: the server
# treats anti-entropy's registration of it as anonymous and refuses it,
# until consulctl acl set-agent-token gives the client an agent token
# (client 2 registers its own with config_file_service_registration).
# A token deleted on the server: past the TTL, 122 (extend-cache) asks
# again first and refuses it; 124 (async-cache) answers once more from
# its stale entry while it asks, then refuses it.
# Then the server is stopped: past the TTL, 122 still serves the token
# it had cached (extend-cache) and refuses a token it never saw; 123
# refuses even the one it had (deny); 124 serves it too (async-cache);
# 122's agent_recovery token still reads 122.
. "$(dirname "$0")/../lib/cluster.sh"

server=121
c1=122
c2=123
c3=124
acl='{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny"}}'
cluster_init "$server" "$c1 $c2 $c3" "$acl"
for n in $c1 $c2 $c3; do
	mkdir -p "$cl_dir/conf$n.d"
done
cat >"$cl_dir/conf$c1.d/acl.json" <<'EOF'
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny", "token_ttl": "2s",
         "tokens": {"agent_recovery": "77777777-7777-7777-7777-777777777777"}},
 "services": [{"name": "cfgsvc", "port": 9}]}
EOF
cat >"$cl_dir/conf$c2.d/acl.json" <<'EOF'
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny", "token_ttl": "2s",
         "down_policy": "deny", "tokens": {"config_file_service_registration":
         "66666666-6666-6666-6666-666666666666"}},
 "services": [{"name": "cfg2", "port": 9}]}
EOF
cat >"$cl_dir/conf$c3.d/acl.json" <<'EOF'
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny", "token_ttl": "2s",
         "down_policy": "async-cache"}}
EOF
if ! cluster_start; then
	not_ok "the cluster starts and elects a leader"
	cl_keep_logs
	tap_done
	exit 1
fi

tok=""
# req N METHOD PATH [BODY]: sets code and body; with $tok as the token.
req() {
	body=$(curl -s --max-time 20 -w '\n%{http_code}' -X "$2" \
	    ${4:+--data-binary "$4"} ${tok:+-H "X-Consul-Token: $tok"} \
	    "$(cl_url "$1" "/v1/$3")")
	code=$(echo "$body" | tail -n 1)
	body=$(echo "$body" | sed '$d')
}
denied() { [ "$code" = 403 ] && case $body in "Permission denied: token with AccessorID"*) ;; *) false ;; esac; }

booted() { req $server PUT acl/bootstrap; [ "$code" = 200 ]; }
poll 15 booted
mgmt=$(echo "$body" | jq -r .SecretID)
check "bootstrap on the server" [ ${#mgmt} = 36 ]
tok=$mgmt
req $server PUT acl/policy '{"Name":"web","Rules":"service_prefix \"web\" { policy = \"write\" }"}'
req $server PUT acl/token '{"Policies":[{"Name":"web"}]}'
web=$(echo "$body" | jq -r .SecretID)
req $server PUT acl/policy '{"Name":"ro","Rules":"service_prefix \"\" { policy = \"read\" }\nnode_prefix \"\" { policy = \"read\" }"}'
req $server PUT acl/token '{"Policies":[{"Name":"ro"}]}'
ro=$(echo "$body" | jq -r .SecretID)
req $server PUT acl/policy '{"Name":"ag","Rules":"node_prefix \"\" { policy = \"write\" }\nservice_prefix \"\" { policy = \"write\" }"}'
req $server PUT acl/token '{"Policies":[{"Name":"ag"}]}'
ag=$(echo "$body" | jq -r .SecretID)
both() { [ ${#web} = 36 ] && [ ${#ro} = 36 ] && [ ${#ag} = 36 ]; }
check "tokens made" both

tok=$web
req $c1 PUT agent/service/register '{"Name":"web","Port":80}'
check "on the client the web token registers web" [ "$code" = 200 ]
req $c1 PUT agent/service/register '{"Name":"db","Port":5432}'
check "and not db" denied
req $c1 GET agent/self
check "nor reads the agent" denied
tok=""
req $c1 GET agent/services
check "anonymous sees nothing on the client" [ "$body" = "{}" ]
tok=$mgmt
req $c1 GET agent/self
both() { \
    [ "$code" = 200 ] && [ "$(echo "$body" | jq -r .Config.NodeName)" = \
    "f$c1" ]; }
check "the management token reads the client agent" both
tok=99999999-9999-9999-9999-999999999999
req $c1 GET agent/self
both() { \
    [ "$code" = 403 ] && [ "$body" = "ACL not found" ]; }
check "a token the servers do not know: 403 ACL not found" both

# in_catalog NAME: the server's catalog has NAME on the client's node.
in_catalog() {
	[ "$(curl -s -H "X-Consul-Token: $ro" \
	    "$(cl_url $server "/v1/catalog/service/$1")" |
	    jq -r '.[0].Node' 2>/dev/null)" = "f$c1" ]
}
check "anti-entropy puts web in the catalog, with the web token" \
    poll 15 in_catalog web
check "not cfgsvc: no token, anonymous, refused by the server" \
    sh -c "sleep 3; ! curl -s -H 'X-Consul-Token: $ro' \
    '$(cl_url $server /v1/catalog/service/cfgsvc)' | grep -q cfgsvc"
out=$(CONSUL_HTTP_ADDR="127.0.0.$c1:$cl_http" "$CONSULCTL" acl \
    set-agent-token -token="$mgmt" agent "$ag" 2>&1)
check "consulctl acl set-agent-token agent on the client" \
    [ "$out" = 'ACL token "agent" set successfully' ]
check "with the agent token anti-entropy registers cfgsvc" \
    poll 15 in_catalog cfgsvc
tok=$mgmt
req $server PUT acl/token '{"SecretID":"66666666-6666-6666-6666-666666666666","Policies":[{"Name":"ag"}]}'
on_c2() {
	[ "$(curl -s -H "X-Consul-Token: $ro" \
	    "$(cl_url $server "/v1/catalog/service/cfg2")" |
	    jq -r '.[0].Node' 2>/dev/null)" = "f$c2" ]
}
check "client 2 registers cfg2 with config_file_service_registration" \
    poll 15 on_c2

# Both clients resolve (and cache) the web token.
tok=$web
services() {
	req "$1" GET agent/services
	echo "$body" | jq -r 'keys | join(",")' 2>/dev/null
}
check "client 1 lists web to the web token" [ "$(services $c1)" = web ]
both() { [ "$(services $c2)" = "" ] && \
    [ "$code" = 200 ]; }
check "client 2 resolves it too" both
both() { [ "$(services $c3)" = "" ] && \
    [ "$code" = 200 ]; }
check "client 3 resolves it too" both

# A token deleted on the server, past the TTL: extend-cache asks first,
# async-cache answers from its stale entry while it asks.
tok=$mgmt
req $server PUT acl/token '{"Policies":[{"Name":"ro"}]}'
gone=$(echo "$body" | jq -r .SecretID)
gone_acc=$(echo "$body" | jq -r .AccessorID)
tok=$gone
req $c1 GET agent/services
check "extend-cache client: the short-lived token reads" [ "$code" = 200 ]
req $c3 GET agent/services
check "async-cache client: the short-lived token reads" [ "$code" = 200 ]
tok=$mgmt
req $server DELETE "acl/token/$gone_acc"
check "the token is deleted on the server" [ "$code" = 200 ]
sleep 2.5
tok=$gone
unknown() { req "$1" GET agent/services; [ "$code" = 403 ] && \
    [ "$body" = "ACL not found" ]; }
check "past the TTL, extend-cache refuses it at once: ACL not found" \
    unknown $c1
req $c3 GET agent/services
check "past the TTL, async-cache answers once more from its stale entry" \
    [ "$code" = 200 ]
check "and refuses it once its refresh came back" poll 5 unknown $c3
tok=$web
req $c3 GET agent/services
check "async-cache: the web token reads again" [ "$code" = 200 ]

node_kill $server
sleep 3
check "servers down, past the TTL: extend-cache still serves the token" \
    [ "$(services $c1)" = web ]
req $c1 PUT agent/service/register '{"Name":"web","Port":81}'
check "and still lets it register web" [ "$code" = 200 ]
req $c1 PUT agent/service/register '{"Name":"db","Port":5432}'
check "and not db" denied
tok=88888888-8888-8888-8888-888888888888
req $c1 PUT agent/service/register '{"Name":"web","Port":82}'
check "a token it never saw is refused" denied
tok=99999999-9999-9999-9999-999999999999
req $c1 PUT agent/service/register '{"Name":"web","Port":82}'
both() { \
    [ "$code" = 403 ] && [ "$body" = "ACL not found" ]; }
check "one the server said it did not know stays unknown" both
tok=$web
req $c2 PUT agent/service/register '{"Name":"web","Port":80}'
check "down_policy deny: the cached token is refused past its TTL" denied
req $c3 PUT agent/service/register '{"Name":"web","Port":80}'
check "down_policy async-cache: the cached token registers web" \
    [ "$code" = 200 ]
tok=77777777-7777-7777-7777-777777777777
req $c1 GET agent/self
check "the agent recovery token reads the client without servers" \
    [ "$code" = 200 ]
req $c2 GET agent/self
check "only on the agent it is configured on" [ "$code" = 403 ]

cluster_stop
check "no secret in any log" \
    sh -c "! cat '$cl_dir'/n*.log | grep -q -e '$mgmt' -e '$web' \
    -e '$ro' -e '$ag' -e '$gone' -e 77777777-7777 -e 66666666-6666"
tap_done
