#!/usr/bin/env python3
"""Drives Debian's Chromium (headless, through selenium and chromedriver) through the
collector's web UI and checks what it shows against the query API's own answers.

    web_ui_check.py --url http://127.0.0.1:PORT --token TOKEN --hostile-trace HEX \
        --correlation req-42 --hostile-name 'GET /x <img src=x onerror=alert(1)>'

Prints one JSON line of what it checked; exits 1 with a sentence on the first mismatch."""

import argparse
import http.client
import json
import re
import signal
import sys
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def fail(message):
    print(f"web UI check failed: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def api(base, token, path, **params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-extensions", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_for_url(driver, predicate, what):
    """Waits (up to 15 s) for a navigation a click started, so no element of the page before is read."""
    try:
        WebDriverWait(driver, 15).until(lambda d: predicate(d.current_url))
    except Exception:
        fail(f"{what}: still at {driver.current_url}")


def no_alert(driver, where):
    try:
        alert = driver.switch_to.alert
        fail(f"{where}: a script ran (alert '{alert.text}')")
    except NoAlertPresentException:
        pass


def visible(text):
    """A value as the UI shows it: controls, line separators and bidirectional overrides as \\u{...}."""
    def shown(character):
        value = ord(character)
        escaped = (value < 0x20 or 0x7F <= value <= 0x9F or value in (0x2028, 0x2029)
                   or 0x202A <= value <= 0x202E or 0x2066 <= value <= 0x2069)
        return f"\\u{{{value:x}}}" if escaped and character not in "\n\t" else character
    return "".join(shown(character) for character in text)


def call_paths(spans):
    """Each span's chain of `service: operation` from its root, as the comparison lines calls up."""
    by_id = {}
    for span in spans:
        by_id.setdefault(span["spanID"], span)
    paths = set()
    for span in spans:
        path, current, seen = [], span, set()
        while current is not None and current["spanID"] not in seen:
            seen.add(current["spanID"])
            path.append(f'{current["service"]}: {current["name"]}')
            current = by_id.get(current.get("parentSpanID"))
        paths.add(tuple(reversed(path)))
    return paths


def policy_violations(driver):
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--hostile-trace", required=True)
    parser.add_argument("--hostile-name", required=True)
    parser.add_argument("--correlation", required=True)
    args = parser.parse_args()
    base = args.url.rstrip("/")
    # Ends by itself: a hang raises here, and `finally` below still stops chromedriver and Chromium.
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("web UI check ran past 110 s")))
    signal.alarm(110)

    # Paths that look like the UI's but climb out of it, sent byte for byte without a token:
    # none reaches the API's data.
    address = urllib.parse.urlsplit(base)
    for path in ("/ui/../api/v1/traces", "/ui/%2e%2e/api/v1/traces", "/ui/..%2fapi/v1/traces", "//api/v1/traces",
                 "/ui/./../api/v1/services", "/api/v1/traces?x=/ui/", "/UI/../api/v1/traces"):
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        connection.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
        connection.endheaders()
        reply = connection.getresponse()
        body = reply.read()
        connection.close()
        check(reply.status != 200 or b'"traces"' not in body and b'"services"' not in body,
              f"GET {path} without a token answered {reply.status} with data")

    now_ns = time.time_ns()
    listed = api(base, args.token, "/api/v1/traces", start=now_ns - 3_600_000_000_000, limit=50)
    api_trace_ids = [trace["traceID"] for trace in listed["traces"]]
    hostile = api(base, args.token, f"/api/v1/traces/{args.hostile_trace}")
    request_logs = api(base, args.token, "/api/v1/logs", correlation_id=args.correlation, order="desc", limit=200)
    signals = api(base, args.token, "/api/v1/signals", start=now_ns - 3_600_000_000_000)
    slos = api(base, args.token, "/api/v1/slos")
    dependencies = api(base, args.token, "/api/v1/dependencies", start=now_ns - 3_600_000_000_000)
    check(len(api_trace_ids) >= 2 and request_logs["logs"] and signals["rows"] and slos["slos"] and dependencies["edges"],
          "the API has no data to compare with")

    driver = None
    try:
        driver = browser()
        # Signing in: a page asks for the token; a wrong one is refused, the right one sets the cookie.
        driver.get(f"{base}/ui/")
        check("/ui/login?next=" in driver.current_url, f"an unsigned browser was not sent to sign in: {driver.current_url}")
        driver.find_element(By.NAME, "token").send_keys("not-the-token")
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        try:
            WebDriverWait(driver, 15).until(lambda d: "does not accept that token" in d.page_source)
        except Exception:
            fail("a wrong token was not refused")
        check(driver.get_cookie("periscope_session") is None, "a wrong token got a session")
        driver.find_element(By.NAME, "token").send_keys(args.token)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        wait_for_url(driver, lambda url: url.endswith("/ui/"), "signing in did not lead to the traces")
        check(driver.current_url.endswith("/ui/"), f"signing in did not lead to the traces: {driver.current_url}")
        cookie = driver.get_cookie("periscope_session")
        check(cookie is not None and cookie["httpOnly"] and cookie.get("sameSite") == "Strict",
              f"the session cookie is not HttpOnly and SameSite=Strict: {cookie}")

        # The trace list: the same traces as the API's search over the same hour.
        shown_ids = [link.text for link in driver.find_elements(By.CSS_SELECTOR, "table.results a.trace-id")]
        check(shown_ids == api_trace_ids, f"the trace list {shown_ids} is not the API's {api_trace_ids}")
        header = driver.find_element(By.TAG_NAME, "header")
        check(header.value_of_css_property("display") == "flex", "the stylesheet was not applied")

        # A dot per listed trace in the scatter plot.
        check(len(driver.find_elements(By.CSS_SELECTOR, "svg.scatter circle.trace")) == len(api_trace_ids), "a listed trace has no dot")

        # Two traces ticked in the list and compared: a row per call path either has, marked
        # where only one has it (paths computed here from the API's spans).
        boxes = driver.find_elements(By.CSS_SELECTOR, "form.compare input[type=checkbox]")
        check(len(boxes) == len(api_trace_ids), "a listed trace cannot be chosen to compare")
        boxes[0].click()
        boxes[1].click()
        driver.find_element(By.CSS_SELECTOR, "form.compare > button").click()
        wait_for_url(driver, lambda url: "/ui/compare?" in url, "the comparison did not open")
        first, second = (call_paths(api(base, args.token, f"/api/v1/traces/{trace_id}")["spans"]) for trace_id in api_trace_ids[:2])
        compared = driver.find_elements(By.CSS_SELECTOR, "table.compare tbody tr")
        check(len(compared) == len(first | second), f"the comparison has {len(compared)} rows, the two traces {len(first | second)} call paths")
        check(len(driver.find_elements(By.CSS_SELECTOR, "table.compare tr.only-a")) == len(first - second), "calls only in A are not marked")
        check(len(driver.find_elements(By.CSS_SELECTOR, "table.compare tr.only-b")) == len(second - first), "calls only in B are not marked")
        driver.back()
        wait_for_url(driver, lambda url: url.endswith("/ui/"), "back did not return to the traces")

        # The hostile trace: its name shows as text, no element or script comes from it.
        driver.find_element(By.CSS_SELECTOR, f"a.trace-id[href='/ui/traces/{args.hostile_trace}']").click()
        wait_for_url(driver, lambda url: url.endswith(f"/ui/traces/{args.hostile_trace}"), "the trace did not open")
        no_alert(driver, "the hostile trace")
        check(not driver.find_elements(By.TAG_NAME, "img") and not driver.find_elements(By.TAG_NAME, "script"),
              "a span's name became an element")
        rows = driver.find_elements(By.CSS_SELECTOR, "div.waterfall > div.row:not(.head)")
        check(len(rows) == len(hostile["spans"]), f"the waterfall has {len(rows)} rows, the trace {len(hostile['spans'])} spans")
        summaries = [row.find_element(By.TAG_NAME, "summary").text for row in rows]
        check(any(args.hostile_name in text for text in summaries), f"the hostile name is not shown as text: {summaries}")
        bars = driver.find_elements(By.CSS_SELECTOR, "div.waterfall i.bar")
        check(len(bars) == len(hostile["spans"]), "a span has no bar")
        # Bars are placed by the stylesheet's classes (the CSP allows no inline style): each is its
        # row's third cell, lies in that column (the header's third cell spans it), and the root's,
        # as long as the trace, fills it.
        track = driver.find_element(By.CSS_SELECTOR, "div.waterfall > div.row.head > :nth-child(3)").rect
        check(track["width"] > 100, f"the waterfall's bar column is {track['width']} px wide")
        for row in rows:
            bar = row.find_element(By.CSS_SELECTOR, ":scope > i.bar").rect
            check(bar["width"] >= 1 and bar["x"] >= track["x"] - 1 and bar["x"] + bar["width"] <= track["x"] + track["width"] + 1,
                  f"a bar {bar} outside its column {track}")
            check(abs(bar["y"] - row.rect["y"]) < row.rect["height"], f"a bar {bar} outside its row {row.rect}")
        root_bar = rows[0].find_element(By.CSS_SELECTOR, ":scope > i.bar").rect
        check(root_bar["width"] >= 0.95 * track["width"], f"the root's bar {root_bar} does not fill its column {track}")
        failed = sum(1 for span in hostile["spans"] if span["status"]["code"] == "error")
        check(len(driver.find_elements(By.CSS_SELECTOR, "div.waterfall i.bar.failed")) == failed,
              "failed spans are not the red bars")
        # The hostile trace is one chain (root → client → callee): all of it is the critical path.
        check(len(driver.find_elements(By.CSS_SELECTOR, "div.waterfall i.bar.critical")) == len(hostile["spans"]),
              "the critical path is not outlined")
        statistics = driver.find_element(By.CSS_SELECTOR, "details.statistics")
        statistics.find_element(By.TAG_NAME, "summary").click()
        operations = {(span["service"], span["name"]) for span in hostile["spans"]}
        check(len(statistics.find_elements(By.CSS_SELECTOR, "tbody tr")) == len(operations),
              "the trace statistics do not have a row per service and operation")
        # A span's attributes open in place.
        rows[0].find_element(By.TAG_NAME, "summary").click()
        check(rows[0].find_element(By.CSS_SELECTOR, "table.attributes").is_displayed(), "a span's details do not open")
        # The hostile span's own page (what a row links to in a trace past 2,000 spans): its name and
        # attributes as text, and its child's page links back to it.
        named = next(span for span in hostile["spans"] if span["name"] == args.hostile_name)
        driver.get(f"{base}/ui/traces/{args.hostile_trace}/spans/{named['spanID']}")
        no_alert(driver, "the hostile span's page")
        check(not driver.find_elements(By.TAG_NAME, "img") and not driver.find_elements(By.TAG_NAME, "script"),
              "a span's name or attribute became an element on its page")
        check(args.hostile_name in driver.find_element(By.TAG_NAME, "h2").text, "the span page does not show its name as text")
        shown = driver.find_element(By.CSS_SELECTOR, "table.attributes").text
        strings = {key: value for key, value in named["attributes"].items() if isinstance(value, str)}
        check(strings, "the hostile span has no string attribute to look for")
        for key, value in strings.items():
            check(visible(key) in shown and visible(value) in shown, f"the span page does not show {key}={value}: {shown}")
        child = next(span for span in hostile["spans"] if span.get("parentSpanID") == named["spanID"])
        driver.get(f"{base}/ui/traces/{args.hostile_trace}/spans/{child['spanID']}")
        driver.find_element(By.CSS_SELECTOR, f"a[href='/ui/traces/{args.hostile_trace}/spans/{named['spanID']}']").click()
        wait_for_url(driver, lambda url: url.endswith(f"/spans/{named['spanID']}"), "a child's page does not lead to its parent's")

        # Find in the request's trace: the spans whose text holds "card" (in the API's answer) are
        # marked, the rest dimmed; each span that wrote some of the request's log lines counts them.
        checkout_id = request_logs["logs"][0]["traceID"]
        checkout = api(base, args.token, f"/api/v1/traces/{checkout_id}")
        driver.get(f"{base}/ui/traces/{checkout_id}")
        driver.find_element(By.NAME, "find").send_keys("CARD")
        driver.find_element(By.CSS_SELECTOR, "form.find button").click()
        wait_for_url(driver, lambda url: "find=CARD" in url, "the find did not run")
        def has_card(span):
            texts = [span["service"], span["name"], span["status"].get("message", ""), json.dumps(span["attributes"])]
            texts += [event["name"] for event in span["events"]]
            return any("card" in text.lower() for text in texts)
        expected = sum(1 for span in checkout["spans"] if has_card(span))
        check(expected >= 1, "the request's trace has no span to find")
        check(len(driver.find_elements(By.CSS_SELECTOR, "div.waterfall div.row.match")) == expected, "the spans found are not marked")
        check(len(driver.find_elements(By.CSS_SELECTOR, "div.waterfall div.row.unmatched")) == len(checkout["spans"]) - expected,
              "the spans not found are not dimmed")
        trace_logs = api(base, args.token, "/api/v1/logs", trace_id=checkout_id)["logs"]
        per_span = {}
        for log in trace_logs:
            if log.get("spanID"):
                per_span[log["spanID"]] = per_span.get(log["spanID"], 0) + 1
        counted = sorted(int(found.group(1)) for summary in driver.find_elements(By.CSS_SELECTOR, "div.waterfall summary")
                         for found in [re.search(r"· (\d+) logs?$", summary.text)] if found)
        check(per_span and counted == sorted(per_span.values()), f"spans' log counts {counted}, the API's {per_span}")

        # Logs by correlation ID, through the form: the API's lines, newest first.
        driver.find_element(By.LINK_TEXT, "Logs").click()
        wait_for_url(driver, lambda url: url.endswith("/ui/logs"), "the logs did not open")
        driver.find_element(By.NAME, "correlation_id").send_keys(args.correlation)
        driver.find_element(By.CSS_SELECTOR, "form.search button").click()
        wait_for_url(driver, lambda url: "correlation_id=" in url, "the log search did not run")
        messages = [cell.text.split("\n")[0] for cell in driver.find_elements(By.CSS_SELECTOR, "table.logs td.message")]
        expected = [log["body"] if isinstance(log["body"], str) else json.dumps(log["body"]) for log in request_logs["logs"]]
        check(messages == expected, f"the request's log lines {messages} are not the API's {expected}")
        # Followed, the search reloads by itself.
        driver.find_element(By.NAME, "follow").click()
        driver.find_element(By.CSS_SELECTOR, "form.search button").click()
        wait_for_url(driver, lambda url: "follow=on" in url, "the followed search did not run")
        check(len(driver.find_elements(By.CSS_SELECTOR, "meta[http-equiv=refresh]")) == 1, "a followed search does not reload")
        driver.get(f"{base}/ui/logs")  # away from the reloading page before its next reload

        # Golden signals: one row per service the API counts.
        driver.find_element(By.LINK_TEXT, "Signals").click()
        wait_for_url(driver, lambda url: url.endswith("/ui/signals"), "the signals did not open")
        services = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "table.results tbody tr td:first-child")]
        check(services == [visible(row["service"]) for row in signals["rows"]], f"the signals' services {services} are not the API's")

        # Dependencies: the API's calls in the table; a box per service and a curve per call in the
        # graph, red for the calls that failed; no service's name becomes an element.
        driver.find_element(By.LINK_TEXT, "Dependencies").click()
        wait_for_url(driver, lambda url: url.endswith("/ui/dependencies"), "the dependencies did not open")
        no_alert(driver, "the dependencies")
        check(not driver.find_elements(By.TAG_NAME, "script") and not driver.find_elements(By.CSS_SELECTOR, "svg.graph svg"),
              "a service's name became an element")
        call_rows = [row.find_elements(By.TAG_NAME, "td") for row in driver.find_elements(By.CSS_SELECTOR, "table.calls tbody tr")]
        shown_calls = sorted((cells[0].text, cells[1].text, int(cells[2].text), int(cells[3].text.split(" ")[0])) for cells in call_rows)
        api_calls = sorted((visible(edge["caller"]), visible(edge["callee"]), edge["calls"], edge["errors"]) for edge in dependencies["edges"])
        check(shown_calls == api_calls, f"the calls {shown_calls} are not the API's {api_calls}")
        named = {name for edge in dependencies["edges"] for name in (edge["caller"], edge["callee"])}
        drawn = driver.find_elements(By.CSS_SELECTOR, "svg.graph rect.service")
        check(len(drawn) == len(named), f"the graph has {len(drawn)} services, the calls {len(named)}")
        check(len(driver.find_elements(By.CSS_SELECTOR, "svg.graph g.call")) == len(api_calls), "a call is not drawn")
        check(len(driver.find_elements(By.CSS_SELECTOR, "svg.graph g.call.failed")) == sum(1 for edge in dependencies["edges"] if edge["errors"]),
              "failed calls are not the red ones")
        check(all(box.size["width"] > 100 for box in drawn), "a service's box is not drawn")

        driver.find_element(By.LINK_TEXT, "SLOs").click()
        wait_for_url(driver, lambda url: url.endswith("/ui/slos"), "the SLOs did not open")
        check(driver.find_element(By.TAG_NAME, "h1").text == "Service level objectives", "the SLO page did not open")
        slo_names = [link.text for link in driver.find_elements(By.CSS_SELECTOR, "table.results td:first-child a")]
        check(slo_names == [slo["name"] for slo in slos["slos"]], f"the SLOs {slo_names} are not the API's")
        driver.find_elements(By.CSS_SELECTOR, "table.results td:first-child a")[0].click()
        wait_for_url(driver, lambda url: "/ui/slos/" in url, "an SLO's page did not open")
        check(driver.find_element(By.TAG_NAME, "h1").text == f"SLO {slos['slos'][0]['name']}", "the SLO's page names another")
        rates = driver.find_elements(By.CSS_SELECTOR, "table.narrow")[0].find_elements(By.CSS_SELECTOR, "tbody tr")
        check(len(rates) == len(slos["slos"][0]["burnRates"]), "a burn rate is missing from the SLO's page")
        # Its service's requests and failures over the window, from the signals: payments failed once.
        check(slos["slos"][0]["service"] == "payments", "the first SLO is not the payments one")
        payments = api(base, args.token, "/api/v1/signals", service="payments", start=now_ns - 7 * 86_400_000_000_000)
        failed = sum(row["errors"] for row in payments["rows"])
        check(failed >= 1 and len(driver.find_elements(By.CSS_SELECTOR, "svg.traffic polyline.errors")) == 1,
              f"the SLO's page does not draw its service's {failed} failures")

        violations = policy_violations(driver)
        check(not violations, f"the pages broke their own Content Security Policy: {violations}")

        # Signing out ends the session: the traces ask to sign in again.
        driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
        wait_for_url(driver, lambda url: url.endswith("/ui/login"), "signing out did not lead to the sign-in page")
        driver.get(f"{base}/ui/")
        check("/ui/login" in driver.current_url, "the session outlived signing out")

        # A link to a trace followed while signed out: sign in, and the trace opens.
        driver.get(f"{base}/ui/traces/{args.hostile_trace}")
        check("/ui/login?next=" in driver.current_url, f"a signed-out link did not ask to sign in: {driver.current_url}")
        driver.find_element(By.NAME, "token").send_keys(args.token)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        wait_for_url(driver, lambda url: url.endswith(f"/ui/traces/{args.hostile_trace}"), "signing in did not go on to the linked trace")
    finally:
        signal.alarm(0)
        if driver is not None:
            driver.quit()
    print(json.dumps({"traces": len(shown_ids), "spans": len(rows), "logs": len(messages), "services": len(services), "slos": len(slo_names),
                      "calls": len(shown_calls), "drawnServices": len(drawn)}))


if __name__ == "__main__":
    main()
