#!/usr/bin/env python3
"""When a `periscope-load` run counts as sustained, for `run.sh`'s rate ladder and the report alike.

As a program: load_verdict.py RESULTS_DIR NAME RUNS exits 0 when RUNS runs of NAME (NAME.json,
NAME-run2.json, …) left a result and every one of them was sustained and fresh; 1 otherwise.
"""
import glob
import json
import os
import sys

FRESHNESS_P99_LIMIT_MS = 2000


def sustained(report):
    """Every accepted item stored, nothing refused, and at least 95 % of the offered rate accepted."""
    shape = report["shape"]
    offered_spans = shape["services"] * shape["spansPerSecond"]
    offered_logs = shape["services"] * shape["logsPerSecond"]
    return (report["noLoss"] and report["refusedSpans"] == 0 and report["refusedLogs"] == 0
            and report["acceptedSpansPerSecond"] >= 0.95 * offered_spans
            and report["acceptedLogsPerSecond"] >= 0.95 * offered_logs)


def fresh(report):
    """Traces were probed, every probe became queryable (one still missing after the probe's
    timeout is left out of the percentiles, so it must count against), and their p99 from send
    to queryable stayed within DESIGN §9's 2 s."""
    probes = report["freshnessFromSendMs"]
    return (bool(probes["count"]) and report.get("freshnessTimeouts", 0) == 0
            and probes["p99"] <= FRESHNESS_P99_LIMIT_MS)


def main(directory, name, runs):
    paths = glob.glob(os.path.join(directory, f"{name}.json")) + glob.glob(os.path.join(directory, f"{name}-run*.json"))
    if len(paths) < runs:
        return 1
    for path in paths:
        with open(path) as handle:
            report = json.load(handle)
        if not (sustained(report) and fresh(report)):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
