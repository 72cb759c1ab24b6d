#!/usr/bin/env python3
"""Times one large trace's web UI page in headless Chromium for two or more collector builds,
alternated round by round, each on a collector holding only that trace: a quicker, tighter A/B
than a whole `periscope-store-bench` run, whose figures drift with the machine from minute to minute.

    trace_page_ab.py --bin-dir DIR_A --bin-dir DIR_B [--spans 10000] [--rounds 4] [--runs 9]
        [--collector-cpu 1] [--browser-cpu 0] [--save-dir DIR]

Each round, for each build in turn: a fresh collector (`--insecure-no-auth`, a temporary data
directory, a free loopback port, pinned with `taskset` when there are two CPUs), one trace of
`--spans` spans over five services (an eight-way tree, every 17th span failed) posted over
OTLP/JSON, then `web_ui_timing.py --runs N` on its page. Prints one line per build and round,
and the median of each build's rounds. `--save-dir` keeps each build's page and stylesheet
(linked relatively), to time variants of it as `file://` pages with `web_ui_timing.py`."""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TRACE_ID = "019dc5403406fbd861bc11ca2c48f02d"
SERVICES = ["checkout", "inventory", "payments", "shipping", "frontend"]


def trace_body(spans):
    """One trace as OTLP/JSON, a resource per service; the same spans every time (seeded)."""
    rng = random.Random(3)
    start = time.time_ns() - 600 * 10**9
    ids = ["%016x" % (rng.getrandbits(64) | 1) for _ in range(spans)]
    by_service = {service: [] for service in SERVICES}
    for index, span_id in enumerate(ids):
        begin = start + index * 100_000
        span = {
            "traceId": TRACE_ID, "spanId": span_id, "kind": 2,
            "name": "GET /api/v1/items/{id}" if index % 3 else "SELECT items",
            "startTimeUnixNano": str(begin), "endTimeUnixNano": str(begin + rng.randrange(10**5, 10**8)),
            "attributes": [{"key": "http.route", "value": {"stringValue": "/api/v1/items/{id}"}}],
            "status": {"code": 2 if index % 17 == 0 else 0},
        }
        if index > 0:
            span["parentSpanId"] = ids[(index - 1) // 8]
        by_service[SERVICES[index % len(SERVICES)]].append(span)
    return json.dumps({"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
         "scopeSpans": [{"spans": spans}]} for service, spans in by_service.items()]}).encode()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pinned(cpu):
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) >= 2 else []


def wait_ready(url, process, deadline):
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the collector for {url} exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url + "/ui/style.css", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the collector at {url} did not answer within 20 s")


def time_build(bin_dir, body, args, label, round_number):
    collector = os.path.join(bin_dir, "periscope-collector")
    with tempfile.TemporaryDirectory(prefix="periscope-page-ab-") as work:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with open(os.path.join(work, "collector.log"), "wb") as log:
            process = subprocess.Popen(pinned(args.collector_cpu) + [
                collector, "--listen", f"127.0.0.1:{port}", "--data", os.path.join(work, "data"), "--insecure-no-auth"],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(url, process, time.monotonic() + 20)
            # The port was free when picked; a collector that lost it to another process exits.
            if process.poll() is not None:
                raise RuntimeError(f"the collector for {url} exited with {process.returncode}")
            request = urllib.request.Request(url + "/v1/traces", data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"posting the trace got {answer.status}")
            page = f"{url}/ui/traces/{TRACE_ID}"
            if args.save_dir:
                save(page, url, os.path.join(args.save_dir, label))
            timing = subprocess.run(pinned(args.browser_cpu) + [
                sys.executable, os.path.join(HERE, "web_ui_timing.py"), "--url", page, "--runs", str(args.runs),
                "--count-selector", "div.waterfall > div.row:not(.head)"], capture_output=True, text=True, timeout=400)
            if timing.returncode != 0:
                raise RuntimeError(f"web_ui_timing.py failed: {timing.stderr.strip()}")
            result = json.loads(timing.stdout)
            if result["rows"] != min(args.spans, 10_000):
                raise RuntimeError(f"the page drew {result['rows']} rows")
            return result
        finally:
            process.kill()
            process.wait()


def save(page, url, directory):
    os.makedirs(directory, exist_ok=True)
    with urllib.request.urlopen(page, timeout=60) as answer:
        html = answer.read().decode()
    start = html.index('href="/ui/style.css')
    end = html.index('"', start + 6)
    with urllib.request.urlopen(url + html[start + 6:end], timeout=10) as answer:
        with open(os.path.join(directory, "style.css"), "wb") as css:
            css.write(answer.read())
    with open(os.path.join(directory, "page.html"), "w") as out:
        out.write(html[:start] + 'href="style.css' + html[end:])


def main():
    # A SIGTERM ends the script through its `finally` blocks, so no collector is left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", action="append", required=True, help="a directory holding periscope-collector; give two or more")
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--collector-cpu", type=int, default=1)
    parser.add_argument("--browser-cpu", type=int, default=0)
    parser.add_argument("--save-dir")
    args = parser.parse_args()
    # About 360 bytes of OTLP/JSON a span, in one request under the collector's 16 MiB body limit.
    if not 1 <= args.spans <= 40_000 or not 1 <= args.rounds <= 50 or not 1 <= args.runs <= 100:
        parser.error("--spans 1…40,000, --rounds 1…50, --runs 1…100")
    body = trace_body(args.spans)
    labels = [f"{index}:{os.path.basename(os.path.normpath(directory))}" for index, directory in enumerate(args.bin_dir)]
    ready = {label: [] for label in labels}
    for round_number in range(1, args.rounds + 1):
        for label, directory in zip(labels, args.bin_dir):
            result = time_build(directory, body, args, label.replace(":", "-"), round_number)
            median = result["median"]
            ready[label].append(median["ready"])
            print(f"round {round_number} {label}: ready {median['ready']:.0f} ms, DOM content loaded {median['contentLoaded']:.0f} ms, "
                  f"server {median['server']:.0f} ms, {result['bytes']} bytes", flush=True)
    for label in labels:
        values = ready[label]
        print(f"{label}: ready {statistics.median(values):.0f} ms median of {len(values)} rounds ({min(values):.0f}–{max(values):.0f})")


if __name__ == "__main__":
    main()
