#!/usr/bin/env python3
"""Load and probe a consuld agent for regress/bench/catalog.sh.

  catalog_load.py register ADDR SERVICES INSTANCES CONNS
      register SERVICES services x INSTANCES instances, each with a
      passing check, through PUT /v1/catalog/register over CONNS
      keep-alive connections; print the rate
  catalog_load.py checks ADDR N URL
      register N http checks against URL, 10 s apart, on the agent
  catalog_load.py passing ADDR PREFIX SECONDS
      wait until every agent check whose ID starts with PREFIX passes
  catalog_load.py latency ADDR TRIALS
      the delay from PUT /v1/agent/check/fail to the return of a
      blocking /v1/health/service query that was waiting for it

ADDR is host:port on loopback.  Prints numbers; asserts nothing.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def connect(addr):
    host, port = addr.rsplit(":", 1)
    if not host.startswith("127."):
        sys.exit("catalog_load.py: loopback addresses only")
    return http.client.HTTPConnection(host, int(port), timeout=120)


def call(c, method, path, body=None):
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    return r.status, r.getheader("X-Consul-Index"), data


def register(addr, services, instances, conns):
    work = [(s, i) for s in range(services) for i in range(instances)]
    failed = []

    def run(part):
        c = connect(addr)
        for s, i in part:
            node = (s + i * 101) % 300
            name = "svc-%04d" % s
            sid = "%s-%d" % (name, i)
            st, _, data = call(c, "PUT", "/v1/catalog/register", {
                "Node": "bn-%03d" % node,
                "Address": "10.9.%d.%d" % (node // 256, node % 256),
                "Service": {"Service": name, "ID": sid, "Port": 8000 + i,
                            "Tags": ["bench", "i%d" % i]},
                "Check": {"Name": "alive", "CheckID": sid + ":alive",
                          "ServiceID": sid, "Status": "passing"}})
            if st != 200:
                failed.append((st, data))
        c.close()

    start = time.monotonic()
    threads = [threading.Thread(target=run, args=(work[k::conns],))
               for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - start
    print("catalog: registered %d services x %d instances in %.1f s "
          "(%.0f registrations/s over %d connections, %d failed)" %
          (services, instances, secs, len(work) / secs, conns, len(failed)))


def checks(addr, n, url):
    c = connect(addr)
    bad = 0
    for k in range(n):
        st, _, _ = call(c, "PUT", "/v1/agent/check/register", {
            "ID": "bench-http-%04d" % k, "Name": "bench http %d" % k,
            "HTTP": url, "Interval": "10s", "Timeout": "5s"})
        bad += st != 200
    print("checkd: registered %d http checks at 10s (%d refused)" %
          (n, bad))


def passing(addr, prefix, secs):
    c = connect(addr)
    q = urllib.parse.quote(
        'CheckID matches "^%s" and Status != passing' % prefix)
    start = time.monotonic()
    while True:
        st, _, data = call(c, "GET", "/v1/agent/checks?filter=" + q)
        left = len(json.loads(data)) if st == 200 else -1
        waited = time.monotonic() - start
        if left == 0 or waited > secs:
            break
        time.sleep(0.5)
    if left == 0:
        print("checkd: every check passing after %.1f s" % waited)
    else:
        print("checkd: %d checks not passing after %.0f s" % (left, waited))


def entries(data):
    return len(json.loads(data))


def wait_entries(c, path, want):
    """Block on path until it lists `want` entries; its index."""
    st, idx, data = call(c, "GET", path)
    while entries(data) != want:
        st, idx, data = call(c, "GET", "%s&index=%s&wait=30s" % (path, idx))
    return idx


def latency(addr, trials):
    c = connect(addr)
    path = "/v1/health/service/lat?passing"
    st, _, data = call(c, "PUT", "/v1/agent/service/register", {
        "Name": "lat", "ID": "lat", "Port": 1,
        "Check": {"CheckID": "lat-ttl", "TTL": "600s"}})
    if st != 200:
        sys.exit("catalog_load.py: cannot register lat: %s" % data)
    delays = []
    for _ in range(trials):
        call(c, "PUT", "/v1/agent/check/pass/lat-ttl")
        idx = wait_entries(c, path, 1)
        done = {}

        def block(index):
            b = connect(addr)
            while True:
                _, index, data = call(b, "GET", "%s&index=%s&wait=60s" %
                                      (path, index))
                if entries(data) == 0:
                    break
            done["t"] = time.monotonic()
            b.close()

        t = threading.Thread(target=block, args=(idx,))
        t.start()
        # Let the query reach raftd and park there.
        time.sleep(0.05)
        start = time.monotonic()
        call(c, "PUT", "/v1/agent/check/fail/lat-ttl")
        t.join()
        delays.append((done["t"] - start) * 1000)
    delays.sort()

    def rank(p):
        return delays[min(len(delays) - 1,
                          max(0, int(round(p / 100 * len(delays))) - 1))]

    print("check critical -> blocking health query returns, %d trials: "
          "median %.1f ms, p99 %.1f ms (min %.1f, max %.1f)" %
          (trials, rank(50), rank(99), delays[0], delays[-1]))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, addr, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "register" and len(args) == 3:
        register(addr, int(args[0]), int(args[1]), int(args[2]))
    elif cmd == "checks" and len(args) == 2:
        checks(addr, int(args[0]), args[1])
    elif cmd == "passing" and len(args) == 2:
        passing(addr, args[0], float(args[1]))
    elif cmd == "latency" and len(args) == 1:
        latency(addr, int(args[0]))
    else:
        sys.exit(__doc__)


main()
