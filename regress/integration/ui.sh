#!/bin/sh
# The web UI (issue 13).  With curl: / redirects to /ui/, the assets come
# with their type, an ETag (304 on a match), gzip when accepted and a
# Content-Security-Policy; a deep link is sent to the page's fragment;
# ui_config.content_path is honoured (agent 62); an agent without the UI
# answers Consul's banner and 404 (agent 61); apid/ui/embed.sh writes the
# same C file twice over and the build's copy matches it.
# In Debian's headless Chromium (regress/lib/ui_driver.py), against a
# -dev agent (60) with services whose health the test controls (a local
# HTTP endpoint answering the status code in a file), data full of markup
# and KV keys large, binary and hostile: services -> service -> node, a
# check failing and recovering on the open page, a key created, edited
# and deleted through the UI and each step confirmed with curl, a
# concurrent edit reported as a conflict, a large value cut with a
# download of the whole, a binary one in hexadecimal, markup shown as
# text with no script run, use by keyboard, the token sent as
# X-Consul-Token, ?dc on every request, no request to another origin,
# phone width, no console error or warning; against agent 63, with ACLs
# on (default deny, an initial management token): the Tokens and
# Policies pages say "Permission denied" without a token and "ACL not
# found" with an unknown one, list the management token (AccessorID,
# description, policy names) and global-management with it, and show a
# policy made by curl on the open page; and, once agent 60 is killed,
# the banner and retries that back off.  Screenshots go to
# regress/out/ui/<build>/.  Ports follow CONSULD_PORT_SHIFT.
# Without Chromium the browser part is skipped, except under CI=true,
# where it fails.
. "$(dirname "$0")/../lib/agent.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/regress/out/ui/${CONSULD_BUILD_LABEL:-normal}"
PY=/usr/bin/python3
# web1's health endpoint, on 127.0.0.1, moves with the agents' ports.
web_port=$((18606 + ${CONSULD_PORT_SHIFT:-0}))
acl_mgmt=5e3f0c1a-7b2d-4c8e-9f10-2a4b6c8d0e12
web_pid="" pid61="" pid62="" pid63=""

stop_all() {
	for p in "$web_pid" "$pid61" "$pid62" "$pid63"; do
		[ -n "$p" ] || continue
		for c in $(pgrep -P "$p" 2>/dev/null); do
			kill -KILL "$c" 2>/dev/null
		done
		kill -KILL "$p" 2>/dev/null
	done
	cleanup
}
trap stop_all EXIT INT TERM

# The generator: deterministic, and what the build compiled.
sh "$top/apid/ui/embed.sh" "$top"/apid/ui/index.html "$top"/apid/ui/app.css \
    "$top"/apid/ui/app.js "$top"/apid/ui/favicon.svg >"$test_tmp/a1.c"
sleep 1
sh "$top/apid/ui/embed.sh" "$top"/apid/ui/index.html "$top"/apid/ui/app.css \
    "$top"/apid/ui/app.js "$top"/apid/ui/favicon.svg >"$test_tmp/a2.c"
check "embed.sh writes the same C file each time" \
    cmp -s "$test_tmp/a1.c" "$test_tmp/a2.c"
check "the build compiled the assets as they are now" \
    cmp -s "$test_tmp/a1.c" "$CONSULD_BUILD/apid/ui/assets.c"

# Agents 61 (a server without the UI) and 62 (-dev, UI under /console/)
# start beside 60.
agent_start_server 61 "$test_tmp/a61.log" "$test_tmp/d61"
pid61=$agent_pid
echo '{"ui_config": {"content_path": "console"}}' >"$test_tmp/c62.json"
agent_start 62 "$test_tmp/a62.log" -config-file="$test_tmp/c62.json"
pid62=$agent_pid
url62="http://127.0.0.1:$http_port"
# Agent 63: ACLs on, default deny, a management token from the start,
# for the browser's Tokens and Policies pages.
cat >"$test_tmp/c63.json" <<EOF
{"primary_datacenter": "dc1",
 "acl": {"enabled": true, "default_policy": "deny",
  "tokens": {"initial_management": "$acl_mgmt"}}}
EOF
agent_start 63 "$test_tmp/a63.log" -config-file="$test_tmp/c63.json"
pid63=$agent_pid
url63="http://127.0.0.1:$http_port"
agent_ports 61
url61="http://127.0.0.1:$http_port"

# web1's health endpoint: the status code in a file.
echo 200 >"$test_tmp/status"
cat >"$test_tmp/websrv.py" <<'EOF'
import http.server, sys

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[2]) as f:
            code = int(f.read().strip())
        body = b"health %d\n" % code
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
"$PY" "$test_tmp/websrv.py" $web_port "$test_tmp/status" &
web_pid=$!

agent_start 60 "$test_tmp/a60.log"
url="http://127.0.0.1:$http_port"
# poll SECONDS CMD...: until CMD succeeds.
poll() {
	limit=$(($1 * 10)) i=0; shift
	while [ $i -lt $limit ]; do
		"$@" && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
leader() { [ "$(curl -s "$url/v1/status/leader")" != '""' ] &&
    curl -sf -o /dev/null "$url/v1/status/leader"; }
check "agent 60 is up with a leader" poll 20 leader

# Served by apid, with curl.
# get PATH [curl args]: the headers in $test_tmp/h, the body in $test_tmp/b.
get() {
	p=$1; shift
	curl -s -D "$test_tmp/h.raw" -o "$test_tmp/b" "$@" "$url$p"
	tr -d '\r' <"$test_tmp/h.raw" >"$test_tmp/h"
}
# header NAME: its value in the last get's answer.
header() { sed -n "s/^$1: //p" "$test_tmp/h"; }
# redirect PATH: "status location".
redirect() { curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$1"; }

check "/ redirects to /ui/ (301)" [ "$(redirect "$url/")" = "301 $url/ui/" ]
check "/ui redirects to /ui/" [ "$(redirect "$url/ui")" = "301 $url/ui/" ]
get /ui/
check "/ui/ is the page, text/html" [ "$(head -1 "$test_tmp/h")" = \
    "HTTP/1.1 200 OK" -a "$(header Content-Type)" = \
    "text/html; charset=utf-8" ]
check "with a Content-Security-Policy allowing only the agent" [ \
    "$(header Content-Security-Policy)" = "default-src 'none'; \
script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'" ]
check "revalidated before each use" [ "$(header Cache-Control)" = no-cache ]
check "the body is index.html" cmp -s "$test_tmp/b" "$top/apid/ui/index.html"
get /ui/app.js
check "app.js is text/javascript" [ \
    "$(header Content-Type)" = "text/javascript; charset=utf-8" ]
check "  byte for byte the source" cmp -s "$test_tmp/b" "$top/apid/ui/app.js"
etag=$(header ETag)
check "with an ETag" [ -n "$etag" ]
check "a matching If-None-Match gets 304" [ "$(curl -s -o /dev/null \
    -w '%{http_code}' -H "If-None-Match: $etag" "$url/ui/app.js")" = 304 ]
check "another gets 200" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    -H 'If-None-Match: "0"' "$url/ui/app.js")" = 200 ]
get /ui/app.js -H 'Accept-Encoding: gzip'
check "gzip when accepted" [ "$(header Content-Encoding)" = gzip ]
check "  the same bytes, fewer" sh -c "gzip -dc '$test_tmp/b' |
    cmp -s - '$top/apid/ui/app.js' && [ \$(wc -c <'$test_tmp/b') -lt \
    \$(wc -c <'$top/apid/ui/app.js') ]"
check "  with its own ETag" [ -n "$(header ETag)" -a "$(header ETag)" != "$etag" ]
get /ui/app.js -H 'Accept-Encoding: gzip;q=0, identity'
check "no gzip when refused (q=0)" [ -z "$(header Content-Encoding)" ]
h=$(curl -s -I "$url/ui/app.css" | tr -d '\r')
check "HEAD of an asset answers its headers" sh -c "echo \"\$1\" |
    grep -qx 'Content-Type: text/css; charset=utf-8'" - "$h"
get /ui/app.css
check "app.css is text/css" [ "$(header Content-Type)" = \
    "text/css; charset=utf-8" ]
check "a deep link goes to the page's fragment" [ \
    "$(redirect "$url/ui/dc1/services/web")" = "302 $url/ui/#/dc1/services/web" ]
check "a write to the UI's path is 405" [ "$(curl -s -o /dev/null \
    -w '%{http_code}' -X PUT "$url/ui/")" = 405 ]
check "the API's unknown paths stay 404" [ "$(curl -s -o /dev/null \
    -w '%{http_code}' "$url/v1/nonesuch")" = 404 ]
check "bad ?index on /v1/internal/ui/services is 400" [ "$(curl -s \
    -o /dev/null -w '%{http_code}' "$url/v1/internal/ui/services?index=x")" = 400 ]

up() { curl -s -o /dev/null "$1/v1/agent/self"; }
poll 20 up "$url61"
check "without the UI, / is Consul's banner" sh -c "curl -s '$url61/' |
    grep -q 'UI disabled'"
check "  and /ui/ is 404" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$url61/ui/")" = 404 ]
poll 20 up "$url62"
check "content_path: / redirects to /console/" [ \
    "$(redirect "$url62/")" = "301 $url62/console/" ]
check "  the page is there" sh -c "curl -sf '$url62/console/' |
    grep -q '<script src=\"app.js\"'"
check "  and not under /ui/" [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "$url62/ui/")" = 404 ]
for p in "$pid61" "$pid62"; do
	for c in $(pgrep -P "$p"); do kill -KILL "$c" 2>/dev/null; done
	kill -KILL "$p" 2>/dev/null
done
pid61="" pid62=""

# The data the browser sees.
xss='\"><img src=x onerror=window.__xss=1>'
scr='<script>window.__xss=1</script>'
reg() { curl -sf -X PUT --data-binary "$2" "$url$1" >/dev/null; }
reg /v1/agent/service/register "{\"Name\": \"web\", \"ID\": \"web1\",
    \"Port\": $web_port, \"Tags\": [\"v1\", \"$scr\", \"$xss\"],
    \"Check\": {\"HTTP\": \"http://127.0.0.1:$web_port/health\",
    \"Interval\": \"1s\", \"Timeout\": \"1s\"}}"
reg /v1/agent/service/register '{"Name": "web", "ID": "web2", "Port": 18607,
    "Tags": ["v2"], "Check": {"TTL": "300s", "Status": "passing"}}'
reg /v1/catalog/register "{\"Node\": \"db-1\", \"Address\": \"127.0.0.2\",
    \"NodeMeta\": {\"rack\": \"$scr\"},
    \"Service\": {\"Service\": \"db\", \"ID\": \"db-a\", \"Port\": 5432},
    \"Checks\": [{\"CheckID\": \"alive\", \"Name\": \"db alive\",
      \"Status\": \"passing\", \"ServiceID\": \"db-a\"},
     {\"CheckID\": \"lag\", \"Name\": \"db replica lag\",
      \"Status\": \"warning\", \"ServiceID\": \"db-a\",
      \"Output\": \"lag 3s $xss\"}]}"
reg /v1/catalog/register "{\"Node\": \"db-1\", \"Address\": \"127.0.0.2\",
    \"NodeMeta\": {\"rack\": \"$scr\"},
    \"Service\": {\"Service\": \"x$xss\", \"ID\": \"x1\", \"Port\": 1}}"
reg /v1/kv/ui-test/keep "kept"
reg /v1/kv/ui-test/xss "$scr\"><img src=x onerror=window.__xss=1>"
head -c 600000 /dev/zero | tr '\0' 'a' | head -c 524288 >"$test_tmp/big"
curl -sf -X PUT --data-binary @"$test_tmp/big" "$url/v1/kv/ui-test/big" \
    >/dev/null
printf '\000\001\002\377\376binary' >"$test_tmp/bin"
curl -sf -X PUT --data-binary @"$test_tmp/bin" "$url/v1/kv/ui-test/bin" \
    >/dev/null
passing() { curl -s "$url/v1/health/checks/web" | jq -e \
    '[.[] | select(.Status == "passing")] | length == 2' >/dev/null; }
check "web's two checks pass" poll 20 passing
# Agent 63's leader has made global-management and the initial
# management token once the token may list policies.
acl_ready() { curl -s -H "X-Consul-Token: $acl_mgmt" \
    "$url63/v1/acl/tokens" | jq -e '[.[].Policies[]?.Name] |
    index("global-management") != null' >/dev/null 2>&1; }
check "agent 63 (ACLs on) has its management token" poll 20 acl_ready

# The browser.
browser=yes
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
    ! "$PY" -c 'import selenium' 2>/dev/null; then
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    chromium chromium-driver python3-selenium >/dev/null 2>&1
	fi
	if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
	    ! "$PY" -c 'import selenium' 2>/dev/null; then
		browser=no
	fi
fi
if [ "$browser" = no ] && [ "${CI:-}" = true ]; then
	not_ok "chromium, chromium-driver and python3-selenium are needed"
elif [ "$browser" = no ]; then
	skip "the browser tests: chromium, chromium-driver or python3-selenium missing"
else
	rm -rf "$out"
	mkdir -p "$out"
	kill_agent="kill -KILL $(pgrep -P "$agent_pid" | tr '\n' ' ') $agent_pid"
	start=$(date +%s)
	"$PY" "$top/regress/lib/ui_driver.py" "$url" "$out" "$test_tmp/status" \
	    "$kill_agent" "$web_port" "$url63" "$acl_mgmt" \
	    >"$test_tmp/driver.out" 2>"$test_tmp/driver.err"
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*)	ok "${line#ok - }" ;;
		"not ok - "*)	not_ok "${line#not ok - }" ;;
		*)		echo "$line" ;;
		esac
	done <"$test_tmp/driver.out"
	if [ $rc -ne 0 ]; then
		sed 's/^/# /' "$test_tmp/driver.err" | tail -20
		not_ok "the browser driver ran to its end"
	fi
	diag "browser part: $(($(date +%s) - start)) s; screenshots in $out"
fi
tap_done
