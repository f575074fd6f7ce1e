"""
Drives the web UI in Debian's headless Chromium (python3-selenium with
chromium-driver) for regress/integration/ui.sh, against the agent that
script started and prepared.  Prints "ok - ..." and "not ok - ..." lines
for the script to number, "# ..." diagnostics, and saves a screenshot of
each page in OUT.  Confirmations go through curl, as a user's would.

usage: ui_driver.py BASE_URL OUT_DIR STATUS_FILE KILL_COMMAND WEB_PORT
    [ACL_URL ACL_TOKEN]
  BASE_URL      the agent, e.g. http://127.0.0.1:18600
  STATUS_FILE   holds the status code web1's health endpoint answers
  KILL_COMMAND  a shell command that takes the agent away, at the end
  WEB_PORT      the port of web1's health endpoint
  ACL_URL       a second agent, with ACLs on (default deny), whose
  ACL_TOKEN     initial management token this is
"""
import json
import os
import shutil
import subprocess
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

base, out, status_file, kill_command, web_port = sys.argv[1:6]
acl_base, acl_token = (sys.argv[6:8] + [None, None])[:2]
XSS = '"><img src=x onerror=window.__xss=1>'
logs = []


def ok(cond, desc):
    print(("ok - " if cond else "not ok - ") + desc, flush=True)
    return cond


def diag(s):
    print("# " + s, flush=True)


def curl(*args):
    return subprocess.run(["curl", "-s", "--max-time", "10"] + list(args),
                          capture_output=True, text=True).stdout


def curl_bytes(url):
    return subprocess.run(["curl", "-s", "--max-time", "10", url],
                          capture_output=True).stdout


def until(fn, timeout=10.0):
    """fn's first true value within timeout seconds, or None."""
    end = time.monotonic() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except WebDriverException:
            pass
        if time.monotonic() > end:
            return None
        time.sleep(0.1)


def drain():
    """Keep the console messages: each read empties Chromium's buffer."""
    logs.extend(d.get_log("browser"))


def shot(name):
    d.save_screenshot("%s/%s.png" % (out, name))
    drain()


def css(sel):
    return d.find_elements(By.CSS_SELECTOR, sel)


def text_of(sel):
    e = css(sel)
    return e[0].text if e else None


def go(fragment):
    d.get(base + "/ui/#/dc1/" + fragment)


def xss_ran():
    return d.execute_script("return window.__xss !== undefined")


def heading():
    return text_of("main h1")


def kv_get(key):
    return curl(base + "/v1/kv/" + key + "?raw")


def kv_index(key):
    r = curl(base + "/v1/kv/" + key)
    return json.loads(r)[0]["ModifyIndex"] if r.startswith("[") else None


def card(sid):
    e = css('section[aria-label="instance %s"]' % sid)
    return e[0] if e else None


def card_status(sid):
    c = card(sid)
    if c is None:
        return None
    for s in ("passing", "warning", "critical"):
        if s in c.get_attribute("class").split():
            return s
    return None


def set_status(code):
    with open(status_file, "w") as f:
        f.write("%d\n" % code)


def service_row(name):
    for row in css("table.services tbody tr"):
        if row.find_elements(By.LINK_TEXT, name):
            return row
    return None


def row_badges(name):
    row = service_row(name)
    if row is None:
        return None
    return sorted(b.get_attribute("class").split()[1]
                  for b in row.find_elements(By.CSS_SELECTOR, ".badge"))


def acl_rows(sel, col):
    """The text of column col in each row of the table sel."""
    return [r.find_elements(By.CSS_SELECTOR, "td")[col].text
            for r in css(sel + " tbody tr")]


def acl_token_row(accessor):
    for r in css("main table tbody tr"):
        cells = [c.text for c in r.find_elements(By.CSS_SELECTOR, "td")]
        if cells and cells[0] == accessor:
            return cells
    return None


def acl_pages():
    """The Tokens and Policies pages against the agent with ACLs on."""
    t0 = time.monotonic()
    drain()
    del logs[:]
    d.set_window_size(1280, 900)

    def acl_go(fragment):
        d.get(acl_base + "/ui/#/dc1/" + fragment)

    def error_text():
        e = css("main div.msg.error")
        return e[0].text if e else ""

    # No token: the pages are there (the agent says ACLs are on), and
    # say that reading them needs one.
    acl_go("acl/tokens")
    ok(until(lambda: d.execute_script(
        "return !document.getElementById('nav-acl-tokens-item').hidden && "
        "!document.getElementById('nav-acl-policies-item').hidden")),
       "ACLs on: the Tokens and Policies pages are in the menu")
    ok(until(lambda: heading() == "Tokens" and
             "Permission denied" in error_text() and
             "no token is set" in error_text()),
       "no token: Tokens says permission denied, none set")
    ok(not css("main table"), "  and lists nothing")
    shot("13-acl-no-token")
    acl_go("acl/policies")
    ok(until(lambda: heading() == "Policies" and
             "Permission denied" in error_text()),
       "no token: so does Policies")

    # An unknown token.
    acl_go("settings")
    until(lambda: css("#token"))
    css("#token")[0].send_keys("99999999-9999-9999-9999-999999999999")
    css("#token-save")[0].click()
    ok(until(lambda: "Token saved" in text_of("main")),
       "Settings says the token is saved")
    acl_go("acl/tokens")
    ok(until(lambda: heading() == "Tokens" and
             "ACL not found" in error_text()),
       "an unknown token: Tokens says ACL not found")
    shot("14-acl-bad-token")
    css("main div.msg.error a")[0].click()
    ok(until(lambda: heading() == "Settings"),
       "  with a link to Settings")

    # The management token: both lists, as the API has them (curl).
    inp = css("#token")[0]
    inp.clear()
    inp.send_keys(acl_token)
    css("#token-save")[0].click()
    until(lambda: "Token saved" in text_of("main"))
    hdr = ["-H", "X-Consul-Token: " + acl_token]
    toks = json.loads(curl(*hdr, acl_base + "/v1/acl/tokens") or "[]")
    mgmt = [t for t in toks if any(p.get("Name") == "global-management"
                                   for p in t.get("Policies") or [])]
    ok(mgmt, "the API lists the management token (curl)")
    d.find_element(By.ID, "nav-acl-tokens").click()
    row = mgmt and until(lambda: acl_token_row(mgmt[0]["AccessorID"]))
    ok(row and row[1] == mgmt[0].get("Description", "") and
       row[1] != "" and "global-management" in row[2],
       "Tokens shows it: AccessorID, description, its policy by name")
    ok(not error_text(), "  and no error")
    ok(acl_token_row("00000000-0000-0000-0000-000000000002"),
       "  beside the anonymous token")
    ok(acl_token not in d.find_element(By.TAG_NAME, "main").text,
       "  and no SecretID in the page")
    shot("15-acl-tokens")
    d.find_element(By.ID, "nav-acl-policies").click()
    ok(until(lambda: heading() == "Policies" and
             "global-management" in acl_rows("main table", 0)),
       "Policies lists global-management")
    # One made by curl while the page is open.
    name = "ui-" + XSS
    r = curl("-X", "PUT", *hdr, "--data-binary", json.dumps(
        {"Name": "ui-made", "Description": name,
         "Rules": 'key_prefix "" { policy = "read" }'}),
        acl_base + "/v1/acl/policy")
    ok(r.startswith("{"), "a policy made with curl")
    t1 = time.monotonic()
    live = until(lambda: "ui-made" in acl_rows("main table", 0))
    ok(live, "appears on the open Policies page")
    diag("shown %.1f s after it was made" % (time.monotonic() - t1))
    ok(until(lambda: name in acl_rows("main table", 1)) and not xss_ran(),
       "its description with markup is shown as text")
    shot("16-acl-policies")

    # Chromium logs every answer of 4xx as a console error, "Failed to
    # load resource: ... status of 403": here they are the point, so
    # those for /v1/acl/ on this agent are expected, and for
    # /v1/agent/self (agent read, which the UI asks to learn whether
    # ACLs are on); anything else fails.
    drain()
    bad = [e for e in logs if e["level"] in ("SEVERE", "WARNING") and not
           ((e["message"].startswith(acl_base + "/v1/acl/") or
             e["message"].startswith(acl_base + "/v1/agent/self")) and
            "status of 403" in e["message"])]
    for e in bad:
        diag("console: %s %s" % (e["level"], e["message"]))
    ok(not bad, "ACL pages: no console error but the expected 403s")
    diag("ACL pages: %.1f s" % (time.monotonic() - t0))


opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage", "--window-size=1280,900",
          "--no-first-run", "--disable-extensions",
          "--disable-background-networking", "--disable-sync",
          "--disable-component-update", "--disable-default-apps"):
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs",
                    {"browser": "ALL", "performance": "ALL"})
shutil.rmtree(out + "/downloads", ignore_errors=True)
os.makedirs(out + "/downloads")
opts.add_experimental_option("prefs", {
    "download.default_directory": out + "/downloads",
    "download.prompt_for_download": False})
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
d.set_page_load_timeout(20)

try:
    # The agent's root leads to the services list.
    d.get(base + "/")
    ok(until(lambda: d.current_url.endswith("/ui/#/dc1/services")),
       "/ redirects to /ui/ and the page routes to #/dc1/services")
    ok(until(lambda: service_row("web") and service_row("db")),
       "the services list shows web and db")
    ok(until(lambda: row_badges("web") == ["passing"]) and
       service_row("web").find_elements(By.CSS_SELECTOR, "td")[2].text == "2",
       "web: 2 instances, passing as a green badge")
    ok(until(lambda: row_badges("db") == ["passing", "warning"]),
       "db: its warning check shows as a warning badge beside passing")
    ok(until(lambda: service_row("x" + XSS)) and not xss_ran(),
       "a service named with markup is shown as text; nothing ran")
    tags = [t.text for t in service_row("web").find_elements(
        By.CSS_SELECTOR, ".tag")]
    ok("<script>window.__xss=1</script>" in tags and XSS in tags,
       "tags with markup are shown as text")
    ok(css("#dc option") and css("#dc option")[0].text == "dc1",
       "the datacenter switcher lists dc1")
    ok(d.execute_script("return document.getElementById("
                        "'nav-acl-tokens-item').hidden"),
       "no ACL pages while the agent has ACLs off")
    unlabelled = d.execute_script(
        "return Array.from(document.querySelectorAll('input, select, "
        "textarea')).filter(function (e) { return !e.labels || "
        "!e.labels.length; }).length")
    ok(unlabelled == 0, "every form control has a label")
    shot("01-services")

    # The filter box.
    box = css(".filter input")[0]
    box.send_keys("db")
    ok(until(lambda: len(css("table.services tbody tr")) == 1 and
             service_row("db")), "the filter box narrows the list to db")
    ok("filter=db" in d.current_url, "the filter is kept in the URL")
    box.send_keys(Keys.BACKSPACE, Keys.BACKSPACE)
    until(lambda: len(css("table.services tbody tr")) >= 3)

    # By keyboard: the skip link comes first; links open views, whose
    # heading then has the focus.
    d.refresh()
    until(lambda: service_row("web"))
    ActionChains(d).send_keys(Keys.TAB).perform()
    ok(d.execute_script("return document.activeElement.id") == "skip",
       "Tab reaches the skip link first")
    ActionChains(d).send_keys(Keys.ENTER).perform()
    ok(d.execute_script("return document.activeElement.id") == "main",
       "which moves the focus to the content")
    service_row("db").find_element(By.LINK_TEXT, "db").send_keys(Keys.ENTER)
    ok(until(lambda: heading() == "db" and d.execute_script(
        "return document.activeElement.tagName") == "H1"),
       "Enter on a service's link opens it, focus on its heading")
    d.back()
    ok(until(lambda: heading() == "Services" and service_row("web")),
       "Back returns to the list")

    # Service -> instance -> node, by clicking.
    service_row("web").find_element(By.LINK_TEXT, "web").click()
    ok(until(lambda: heading() == "web" and card("web1") and card("web2")),
       "the web page lists its two instances")
    c1 = card("web1")
    ok(until(lambda: "127.0.0.1:" + web_port in card("web1").text and
             "health 200" in card("web1").text),
       "an instance shows address:port and its check's output")
    ok(until(lambda: card_status("web1") == "passing"),
       "web1 is passing")
    shot("02-service")
    d.refresh()
    ok(until(lambda: heading() == "web" and card("web1")),
       "a reload lands on the same service")

    # A failing health endpoint turns the open page critical, no reload.
    t0 = time.monotonic()
    set_status(500)
    turned = until(lambda: card_status("web1") == "critical" and
                   "health 500" in card("web1").text, timeout=15)
    ok(turned, "web1 turns critical on the open page without a reload")
    diag("critical shown %.1f s after the endpoint failed" %
         (time.monotonic() - t0))
    shot("03-service-critical")
    ok(d.execute_script("return performance.getEntriesByType('navigation')"
                        ".length") == 1 and heading() == "web",
       "the page was not reloaded meanwhile")
    css("p.crumbs a")[0].click()
    ok(until(lambda: row_badges("web") == ["critical", "passing"]),
       "the services list shows web's critical check")
    t0 = time.monotonic()
    set_status(200)
    ok(until(lambda: row_badges("web") == ["passing"], timeout=15),
       "and web back to passing on the open list")
    diag("passing shown %.1f s after the endpoint recovered" %
         (time.monotonic() - t0))

    service_row("db").find_element(By.LINK_TEXT, "db").click()
    ok(until(lambda: card("db-a")), "the db page shows its instance")
    card("db-a").find_element(By.LINK_TEXT, "db-1").click()
    ok(until(lambda: heading() == "db-1"), "its node link opens db-1")
    body = until(lambda: "rack" in d.find_element(By.TAG_NAME, "main").text
                 and d.find_element(By.TAG_NAME, "main").text)
    ok(body and "<script>window.__xss=1</script>" in body and
       "127.0.0.2" in body, "the node page shows its address and metadata")
    ok(until(lambda: "db replica lag" in d.find_element(
        By.TAG_NAME, "main").text and "lag 3s " + XSS in d.find_element(
        By.TAG_NAME, "main").text), "and its checks with their output")
    ok(not xss_ran(), "no script from the data ran")
    shot("04-node")
    go("nodes")
    ok(until(lambda: len(css("table.nodes tbody tr")) == 2 and
             "db-1" in text_of("table.nodes")), "the nodes list shows both")
    shot("05-nodes")

    # Key/value: create, edit, conflict, delete; each confirmed by curl.
    go("kv/ui-test/")
    ok(until(lambda: css('ul.kv a') and "keep" in text_of("ul.kv")),
       "the ui-test/ folder lists its keys")
    shot("06-kv-folder")
    css("#kv-new-key")[0].send_keys("created")
    css("#kv-new-value")[0].send_keys("v1")
    css("#kv-create")[0].click()
    ok(until(lambda: kv_get("ui-test/created") == "v1"),
       "a key created in the UI is in the store (curl)")
    ok(until(lambda: d.current_url.endswith("/kv/ui-test/created") and
             css("#kv-value") and
             css("#kv-value")[0].get_attribute("value") == "v1"),
       "the UI shows the new key")
    idx = kv_index("ui-test/created")
    ed = css("#kv-value")[0]
    ed.clear()
    ed.send_keys("v2")
    css("#kv-save")[0].click()
    ok(until(lambda: kv_get("ui-test/created") == "v2"),
       "an edit in the UI is saved (curl)")
    ok(until(lambda: "Saved" in text_of("main")), "and reported as saved")
    idx2 = kv_index("ui-test/created")
    until(lambda: ("Modify index\n%d" % idx2) in text_of("main") or
          str(idx2) in text_of("dl.facts"))
    ed = css("#kv-value")[0]
    ed.send_keys(" from the UI")
    curl("-X", "PUT", "--data-binary", "v3 from curl",
         base + "/v1/kv/ui-test/created")
    until(lambda: "changed on the agent" in text_of("main"), 5)
    css("#kv-save")[0].click()
    ok(until(lambda: "Conflict" in text_of("main")),
       "a concurrent change is reported as a conflict")
    ok(kv_get("ui-test/created") == "v3 from curl",
       "and the other writer's value is kept (curl)")
    shot("07-kv-conflict")
    css("div.msg.error a")[0].click()
    ok(until(lambda: css("#kv-value") and css("#kv-value")[0].
             get_attribute("value") == "v3 from curl"),
       "showing the current value after the conflict")
    ok(idx != idx2, "each save moved the ModifyIndex")
    css("#kv-delete")[0].click()
    css("#kv-delete-confirm")[0].click()
    ok(until(lambda: d.current_url.endswith("/kv/ui-test/")),
       "delete goes back to the folder")
    ok(until(lambda: curl("-o", "/dev/null", "-w", "%{http_code}",
                          base + "/v1/kv/ui-test/created") == "404"),
       "a key deleted in the UI is gone (curl)")

    go("kv/ui-test/xss")
    ok(until(lambda: css("#kv-value") and css("#kv-value")[0].
             get_attribute("value") == "<script>window.__xss=1</script>" +
             XSS), "a value with markup is shown as text")
    go("kv/ui-test/big")
    ok(until(lambda: "Large value" in text_of("main")),
       "a 512 KiB value is shown truncated")
    shown = until(lambda: len(text_of("#kv-value") or ""))
    ok(shown and shown <= 64 * 1024 + 1,
       "no more than 64 KiB of it is in the page")
    link = css("a.download")
    ok(link and link[0].get_attribute("href").startswith("blob:") and
       "524288 bytes" in link[0].text, "with a link to download it whole")
    shot("08-kv-large")
    link[0].click()
    path = out + "/downloads/big"
    got = until(lambda: os.path.exists(path) and
                os.path.getsize(path) == 524288 and path)
    ok(got and open(path, "rb").read() == curl_bytes(base +
       "/v1/kv/ui-test/big?raw"), "the download is the whole value")
    go("kv/ui-test/bin")
    ok(until(lambda: "Binary value" in text_of("main") and
             text_of("#kv-hex").startswith("00000000  00 01 02 ff fe")),
       "a binary value is shown as binary, in hexadecimal")
    shot("09-kv-binary")

    # The token goes out as X-Consul-Token.
    go("settings")
    until(lambda: css("#token"))
    css("#token")[0].send_keys("ui-test-token")
    css("#token-save")[0].click()
    until(lambda: "Token saved" in text_of("main"))
    d.get_log("performance")
    go("services")
    until(lambda: service_row("web"))
    sent = []
    for e in d.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m.get("method") == "Network.requestWillBeSent":
            sent.append(m["params"]["request"])
    api = [r for r in sent if "/v1/" in r["url"]]
    ok(api and all(r["headers"].get("X-Consul-Token") == "ui-test-token"
                   for r in api), "a saved token is sent as X-Consul-Token")
    ok(all("dc=dc1" in r["url"] for r in api
           if "/agent/self" not in r["url"] and
           "/catalog/datacenters" not in r["url"]),
       "the API requests name the datacenter shown (?dc=dc1)")
    ok(sent and all(r["url"].startswith(base + "/") or
                    r["url"].startswith(("data:", "blob:")) for r in sent),
       "every request goes to the agent itself")
    go("settings")
    until(lambda: css("#token-clear"))
    css("#token-clear")[0].click()
    ok(d.execute_script("return localStorage.getItem('consuld.token')") is
       None, "clearing the token removes it from the browser")

    # A phone-width window.
    d.set_window_size(390, 844)
    go("services")
    until(lambda: service_row("web"))
    ok(d.execute_script("return document.documentElement.scrollWidth <= "
                        "window.innerWidth + 1"),
       "the services list fits a phone-width window")
    shot("10-phone-services")
    go("services/web")
    until(lambda: card("web1"))
    ok(d.execute_script("return document.documentElement.scrollWidth <= "
                        "window.innerWidth + 1"),
       "so does a service page")
    shot("11-phone-service")

    ok(not xss_ran(), "no script from the data ran anywhere")
    drain()
    bad = [e for e in logs if e["level"] in ("SEVERE", "WARNING")]
    for e in bad:
        diag("console: %s %s" % (e["level"], e["message"]))
    ok(not bad, "no console errors or warnings")

    if acl_base:
        acl_pages()

    # The agent goes away: the banner says so.
    go("services")
    until(lambda: service_row("web"))
    subprocess.run(kill_command, shell=True)
    ok(until(lambda: css("#banner") and css("#banner")[0].is_displayed() and
             "Cannot reach" in css("#banner")[0].text, timeout=10),
       "a banner shows while the agent is unreachable")
    shot("12-unreachable")
    d.get_log("performance")
    time.sleep(7)
    tries = [json.loads(e["message"])["message"]
             for e in d.get_log("performance")]
    tries = [m for m in tries if m.get("method") ==
             "Network.requestWillBeSent" and
             "/v1/" in m["params"]["request"]["url"]]
    diag("%d requests to the agent in the 7 s after the banner" %
         len(tries))
    ok(1 <= len(tries) <= 4,
       "meanwhile the page retries, backing off (1, 2, 4 s...)")
finally:
    d.quit()
