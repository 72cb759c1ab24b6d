#!/usr/bin/env python3
"""Times how long Debian's Chromium (headless, through selenium and chromedriver) takes to make
one of the collector's web UI pages usable: the page is loaded `--runs` times after one warm-up,
each in a fresh tab state, and each time the browser's own Navigation Timing is read.

    web_ui_timing.py --url http://127.0.0.1:PORT/ui/traces/HEX [--token TOKEN] [--runs 5]
        [--count-selector 'div.waterfall > div.row:not(.head)']

For each run: the server's answer (requestStart → responseEnd), DOM interactive, DOMContentLoaded,
the load event, and a layout forced right after the load event (the time until the browser could
answer a click anywhere on the page). "ready" = load event end + that forced layout, from the
start of the navigation. Prints one JSON line; exits 1 with a sentence when a page does not load."""

import argparse
import json
import os
import signal
import statistics
import sys

from selenium.webdriver.common.by import By

# The same Chromium, started the same way, as the web UI's test drives.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Peers"))
from web_ui_check import browser  # noqa: E402


def fail(message):
    print(f"web UI timing failed: {message}", file=sys.stderr)
    sys.exit(1)


# Runs through DevTools (not subject to the page's CSP, which allows no script at all).
MEASURE = """
const entry = performance.getEntriesByType('navigation')[0];
const before = performance.now();
document.body.getBoundingClientRect();
const layout = performance.now() - before;
const rows = arguments[0] ? document.querySelectorAll(arguments[0]).length : null;
return {
  server: entry.responseEnd - entry.requestStart,
  interactive: entry.domInteractive,
  contentLoaded: entry.domContentLoadedEventEnd,
  load: entry.loadEventEnd,
  forcedLayout: layout,
  ready: entry.loadEventEnd + layout,
  bytes: entry.decodedBodySize,
  rows: rows,
};
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count-selector", default="")
    args = parser.parse_args()
    if not 1 <= args.runs <= 100:
        fail("--runs must be 1 to 100")
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("web UI timing ran past 300 s")))
    signal.alarm(300)

    driver = None
    try:
        driver = browser()
        driver.set_page_load_timeout(120)
        if args.token:
            base = args.url.split("/ui/")[0]
            driver.get(f"{base}/ui/login")
            driver.find_element(By.NAME, "token").send_keys(args.token)
            driver.find_element(By.CSS_SELECTOR, "form.login button").click()
            if driver.get_cookie("periscope_session") is None:
                fail("signing in gave no session cookie")
        runs = []
        for attempt in range(args.runs + 1):
            driver.get("about:blank")
            driver.get(args.url)
            if driver.title.startswith("Sign in"):
                fail(f"{args.url} asked to sign in")
            figures = driver.execute_script(MEASURE, args.count_selector)
            if attempt > 0:  # the first load warms the browser and the collector
                runs.append(figures)
        summary = {key: statistics.median(run[key] for run in runs)
                   for key in ("server", "interactive", "contentLoaded", "load", "forcedLayout", "ready")}
        print(json.dumps({"url": args.url, "title": driver.title, "bytes": runs[-1]["bytes"], "rows": runs[-1]["rows"],
                          "median": summary, "runs": runs}))
    finally:
        signal.alarm(0)
        if driver is not None:
            driver.quit()


if __name__ == "__main__":
    main()
