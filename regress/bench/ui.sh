#!/bin/sh
# Web UI benchmark (`make bench ui`): the bytes of its HTML, CSS and
# JavaScript, plain and gzipped, and the time Debian's headless Chromium
# takes from navigation to a rendered services page (the mark the page
# sets once the list is in the DOM) with 1,000 services x 3 instances
# registered on one server, over BENCH_TRIALS loads (default 5; the
# first is cold, the rest revalidate with ETags).  Prints numbers;
# asserts nothing.  Loopback only: the agent on ports 17630-17634
# (below the tests' ports).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
build=${CONSULD_BUILD:-$top}
trials=${BENCH_TRIALS:-5}
port=17630
addr=127.0.0.1:$port
url=http://$addr
PY=/usr/bin/python3
for t in /usr/bin/chromium /usr/bin/chromedriver curl; do
	command -v $t >/dev/null || { echo "ui bench: needs $t"; exit 1; }
done
$PY -c 'import selenium' 2>/dev/null ||
    { echo "ui bench: needs python3-selenium"; exit 1; }

files="apid/ui/index.html apid/ui/app.css apid/ui/app.js"
raw=$(cat $files | wc -c)
gz=0
for f in $files; do
	gz=$((gz + $(gzip -9 -n -c "$f" | wc -c)))
done
echo "ui: HTML+CSS+JS $raw bytes ($(echo "$raw" | awk '{ printf "%.1f",
    $1 / 1024 }') KiB), $gz bytes gzipped; favicon.svg $(wc -c \
    <apid/ui/favicon.svg) bytes"

data=$(mktemp -d /tmp/consuld-bench.XXXXXX)
chmod 755 "$data"
"$build/consuld/consuld" -d -server -bootstrap -ui -node=bench \
    -data-dir="$data/d" -bind=127.0.0.1 -client=127.0.0.1 \
    -http-port=$port -dns-port=$((port + 1)) -serf-lan-port=$((port + 2)) \
    -serf-wan-port=$((port + 3)) -server-port=$((port + 4)) \
    -log-level=warn >"$data/log" 2>&1 &
pid=$!
cleanup() {
	kill -TERM $pid 2>/dev/null
	wait $pid
	rm -rf "$data"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
i=0
until [ "$(curl -s "$url/v1/status/leader")" != '""' ] &&
    curl -sf -o /dev/null "$url/v1/status/leader"; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "no leader"; exit 1; }
	sleep 0.05
done

$PY regress/bench/catalog_load.py register "$addr" 1000 3 8
n=$(curl -s "$url/v1/internal/ui/services" | jq length)
t=$(curl -s -o /dev/null -w '%{time_total} %{size_download}' \
    "$url/v1/internal/ui/services")
echo "ui: /v1/internal/ui/services lists $n services in ${t%% *} s" \
    "(${t##* } bytes)"

$PY - "$url" "$trials" "$((n))" <<'EOF'
import statistics, sys, time
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

url, trials, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage", "--window-size=1280,900",
          "--no-first-run", "--disable-extensions"):
    o.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
times = []
try:
    for k in range(trials):
        d.get("about:blank")
        d.get(url + "/ui/#/dc1/services")
        end = time.monotonic() + 60
        while time.monotonic() < end:
            r = d.execute_script(
                "var m = performance.getEntriesByName('consuld:services');"
                "var n = document.querySelectorAll("
                "'table.services tbody tr').length;"
                "return m.length && n ? [m[0].startTime, n] : null;")
            if r:
                break
            time.sleep(0.02)
        if not r or r[1] != want:
            sys.exit("ui bench: the page showed %s rows, not %d" %
                     (r and r[1], want))
        api = d.execute_script(
            "var e = performance.getEntriesByType('resource').filter("
            "function (e) { return e.name.indexOf("
            "'/v1/internal/ui/services') >= 0; })[0];"
            "return e ? e.responseEnd - e.startTime : -1;")
        times.append(r[0])
        print("ui: load %d: services page rendered %.0f ms after "
              "navigation (%d rows; the API call took %.0f ms)" %
              (k + 1, r[0], r[1], api))
finally:
    d.quit()
print("ui: navigation to rendered services page, %d services x 3: "
      "median %.0f ms, first %.0f ms, best %.0f ms" %
      (want, statistics.median(times), times[0], min(times)))
EOF
