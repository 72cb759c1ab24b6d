#!/usr/bin/env python3
"""Rewrites BENCHMARKS.md from the files Benchmarks/run.sh left in its results directory.

Only figures found in those files are written; a target with nothing measured says why.
Usage: render_benchmarks.py RESULTS_DIR OUTPUT_MD
"""
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_verdict import fresh as fresh_run, sustained  # noqa: E402  (the ladder in run.sh uses the same)

RESULTS, OUTPUT = sys.argv[1], sys.argv[2]


def read(name, default=""):
    try:
        with open(os.path.join(RESULTS, name)) as handle:
            return handle.read().strip()
    except OSError:
        return default


def load_json(name):
    text = read(name)
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return None


ROOT = os.path.dirname(os.path.abspath(OUTPUT))


def command(name):
    """The recorded command line, with paths shown relative to the repository root."""
    text = read(name + ".command")
    if not text:
        return "—"
    text = text.replace(ROOT + "/", "").replace("/opt/swift/usr/bin/swift ", "swift ")
    return f"`{text}`"


def verdict(ok):
    return "met" if ok else "**not met**"


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def missing_runs(results, *patterns):
    """"" when the runs started under these names (globs; a .status file each, written whatever the
    outcome) all left a result, else a clause naming how many did not; `results` is how many did."""
    started = len({path for pattern in patterns for path in glob.glob(os.path.join(RESULTS, pattern + ".status"))})
    names = ", ".join(f"`{pattern}.err`" for pattern in patterns)
    return "" if results >= started else (f"; **{started - results} of {started} runs left no result** (see {names} in "
                                          f"`Benchmarks/.results`)")


def spread(values, digits=0, scale=1.0, suffix=""):
    """A figure over several runs: the value of a single run, else median (min–max); "—" for none."""
    values = sorted(v * scale for v in values if v is not None)
    if not values:
        return "—"
    text = f"{median(values):,.{digits}f}{suffix}"
    low, high = f"{values[0]:,.{digits}f}", f"{values[-1]:,.{digits}f}"
    return text if low == high else f"{text} ({low}–{high})"


machine = dict(line.split("=", 1) for line in read("machine.env").splitlines() if "=" in line)
lines = []
out = lines.append

out("# Benchmarks")
out("")
out("Written by `make bench` (`Benchmarks/run.sh`); do not edit by hand — rerun it. Every figure below")
out("was measured in that run, with the command that produced it. Targets are DESIGN §9's.")
out("")
memory_gib = int(machine.get("memory_kib", "0") or 0) / 1048576
out(f"- **date:** {machine.get('date', '?')} (UTC)")
out(f"- **machine:** {machine.get('cores', '?')} cores (`nproc`), {memory_gib:.1f} GiB memory (`/proc/meminfo`), "
    f"{machine.get('cpu', '?')}; shared with other work while measured")
out(f"- **toolchain:** {machine.get('swift', '?')}; commit `{machine.get('commit', '?')}` (plus uncommitted changes, if any)")


def machine_reports():
    """(run name, MachineReport dict) for every JSON result that recorded the machine during its run."""
    found = []
    for name in sorted(os.listdir(RESULTS)):
        if not name.endswith(".json"):
            continue
        report = load_json(name)
        if not isinstance(report, dict):
            continue
        watch = report.get("machine") or ((report.get("store") or {}).get("ingest") or {}).get("machine")
        if watch:
            found.append((name[:-5], watch))
    return found


watched = machine_reports()
if watched:
    out("- **what else ran, per run** (`/proc/stat` over the run: CPU-seconds busy on all CPUs, of which the "
        "measured processes and the benchmark tool, the rest by anything else; steal; load average at the start):")
    out("")
    out("  | run | CPU | busy CPU-s | measured | other | steal % | load avg at start |")
    out("  | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, m in watched:
        out(f"  | {name} | {m['cpuModel']}, {m['logicalCPUs']} CPUs, {m['threadsPerCore']} per core | "
            f"{m['busyCPUSeconds']:.1f} | {m['measuredCPUSeconds']:.1f} | {m['otherCPUSeconds']:.1f} | "
            f"{m['stealPercent']:.1f} | {m['loadAverageAtStart']:.2f} |")
out("")

# ---------------------------------------------------------------- SDK micro-benchmarks
# One JMH file per SDK and run (sdk-Periscope.jmh.json, sdk-Periscope-run2.jmh.json, …): per benchmark,
# the metrics of each run by run number.
def load_base(name):
    """NAME for NAME and NAME-runN."""
    head, _, tail = name.rpartition("-run")
    return head if head and tail.isdigit() else name


def run_index(name):
    """1 for NAME, N for NAME-runN."""
    head, _, tail = name.rpartition("-run")
    return int(tail) if head and tail.isdigit() else 1


sdk = {}
for path in glob.glob(os.path.join(RESULTS, "sdk-*.jmh.json")):
    try:
        with open(path) as handle:
            elements = json.load(handle)
    except (OSError, json.JSONDecodeError):
        continue
    run = run_index(os.path.basename(path)[:-len(".jmh.json")])
    for element in elements if isinstance(elements, list) else []:
        name = element["benchmark"].split(".")[-1].replace("_", " ")
        metrics = dict(element.get("secondaryMetrics", {}))
        metrics["Throughput (# / s)"] = element["primaryMetric"]
        sdk.setdefault(name, {})[run] = metrics
sdk_attempts = {name: len(glob.glob(os.path.join(RESULTS, f"sdk-{name}*.status"))) for name in ["Periscope", "swift-otel"]}
sdk_run_count = max(sdk_attempts.values())

sdk_command = " and ".join(command(f"sdk-{name}") for name in ["Periscope", "swift-otel"])


def metric(metrics, key):
    for label, values in metrics.items():
        if label.lower().startswith(key):
            return values
    return None


def sdk_figure(name, key, percentile, scale, digits):
    """A percentile of one benchmark's metric over its runs: median (min–max), or "—"."""
    values = [metric(m, key) for m in sdk.get(name, {}).values()]
    return spread([v["scorePercentiles"][percentile] for v in values if v], digits, scale)


# ordo-one's JMH export gives, per 1,000-call sample, wall clock in µs and mallocs as counts:
# µs per 1,000 calls is numerically ns per call; mallocs per call are the count / 1,000.
out("## SDK hot paths (`SDKBenchmarks`, ordo-one/benchmark)")
out("")
out(f"Periscope and swift-otel 1.6.0 on the same machine, {sdk_run_count} run(s) of each, one process per SDK and run")
out("(together, a run was OOM-killed), the two in turn; each configured alike: every span")
out("sampled, a batch processor with a 1,048,576-item queue (so nothing is dropped during a run), batches")
out("of 512 every 200 ms. Periscope's")
out("exporter runs against a closed loopback port (exports fail at once, nothing waits on a network);")
out("swift-otel gets its no-op exporter, so it never pays for encoding — a conservative comparison for")
out("Periscope. A sample is 1,000 calls; figures are per call (p99 is that of 1,000-call samples), each the")
out("median over the runs with the lowest and highest in brackets.")
out("")
if sdk:
    out("| benchmark | runs | wall p50 (ns) | wall p99 (ns) | mallocs p50 | mallocs p99 | samples per run |")
    out("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in sorted(sdk):
        samples = [len(w["rawData"][0]) for w in (metric(m, "time (wall clock)") for m in sdk[name].values()) if w]
        out(f"| {name} | {len(sdk[name])} | {sdk_figure(name, 'time (wall clock)', '50.0', 1, 0)} "
            f"| {sdk_figure(name, 'time (wall clock)', '99.0', 1, 0)} | {sdk_figure(name, 'malloc (total)', '50.0', 0.001, 2)} "
            f"| {sdk_figure(name, 'malloc (total)', '99.0', 0.001, 2)} | {spread(samples)} |")
    out("")
    counters = [line for line in (read("sdk-Periscope.out") + read("sdk-Periscope.err")).splitlines()
                if line.startswith("periscope exporter:")]
    if counters:
        out("Periscope's exporter counters at the end of each of its benchmarks in the first run (named in brackets):")
        out("")
        for line in counters:
            out(f"- {line}")
        out("")
    failed = []
    for path in sorted(glob.glob(os.path.join(RESULTS, "sdk-*.status"))):
        run = os.path.basename(path)[:-len(".status")]
        if run.startswith("sdk-rate-") or read(os.path.basename(path)) == "0":
            continue
        errors = [line.strip() for line in read(run + ".err").splitlines() if line.strip().startswith("error:")]
        failed.append(f"`{run}` exited {read(os.path.basename(path)) or '?'}" + (f" (`{errors[-1]}`)" if errors else ""))
    if failed:
        out(f"Runs that failed: {', '.join(failed)}; a benchmark it did not finish has fewer runs in the table "
            "(see `Benchmarks/.results/sdk-*.err`).")
        out("")
    out(f"Commands: {sdk_command} (each run the same, with `-runN` in the path)")
else:
    out(f"No results: the benchmark runs failed (see `Benchmarks/.results/sdk-*.err`). Commands: {sdk_command}")
out("")

# ---------------------------------------------------------------- load runs
# A load run named NAME may be repeated as NAME-run2, NAME-run3, …: the tables show each figure's
# median (min–max) over the runs of a name.
# Every run recorded (a .status file), with or without a result: a run that left no JSON (it timed
# out or crashed) counts as a failed run of its load, never as one run fewer.
groups = {}
missing = {}
recorded = sorted({os.path.basename(p).rsplit(".", 1)[0]
                   for p in glob.glob(os.path.join(RESULTS, "load-*.status")) + glob.glob(os.path.join(RESULTS, "peer-*.status"))
                   + glob.glob(os.path.join(RESULTS, "load-*.json")) + glob.glob(os.path.join(RESULTS, "peer-*.json"))},
                  key=lambda name: (load_base(name), run_index(name)))
for name in recorded:
    report = load_json(name + ".json")
    if report:
        groups.setdefault(load_base(name), []).append(report)
    else:
        missing.setdefault(load_base(name), []).append(f"{name}: no result (exit {read(name + '.status', '?')})")

def order(item):
    name, reports = item
    kind = 0 if name == "load-spans" else 1 if name == "load-logs" else 2 if name.startswith("load-mixed") else 3
    return (kind, reports[0]["shape"]["spansPerSecond"], name)


runs = sorted(groups.items(), key=order)
mixed = [(name, g) for name, g in runs if name.startswith("load-mixed-")]
# Every rate of the mixed ladder that was run, in order, including one whose runs all left no result.
ladder = sorted({n for n, _ in mixed} | {n for n in missing if n.startswith("load-mixed-")},
                key=lambda name: int(name.rsplit("-", 1)[1]) if name.rsplit("-", 1)[1].isdigit() else 0)


def figure(reports, get, digits=0):
    """One figure over a group of load runs (see `spread`)."""
    return spread([get(r) for r in reports], digits)


def all_fresh(reports):
    return all(fresh_run(r) for r in reports)


lossless = [(n, g) for n, g in mixed if not missing.get(n) and all(sustained(r) for r in g)]
fresh = [(n, g) for n, g in lossless if all_fresh(g)]
spans_only = dict(runs).get("load-spans")
logs_only = dict(runs).get("load-logs")


def offered(report):
    shape = report["shape"]
    # 'spread': each service's traces and logs streams send at their own moment of the tick.
    phase = ", streams spread over the tick" if shape.get("phase") == "spread" else ""
    return (f"{shape['services']} × ({shape['spansPerSecond']} spans/s + {shape['logsPerSecond']} logs/s), "
            f"{shape['durationSeconds']:.0f} s{phase}")


def stored_all(name, reports):
    lost = [r for r in reports if not r["noLoss"]]
    failed = len(missing.get(name, []))
    refused = sum(r["refusedSpans"] + r["refusedLogs"] for r in reports)
    whole = sum(r["spotCheckComplete"] for r in reports)
    checked = sum(r["spotChecked"] for r in reports)
    first = reports[0]
    runs = len(reports) + failed
    return (f"{'yes' if not lost and not failed else 'NO'} ({len(reports) - len(lost)} of {runs} runs stored every accepted "
            f"item{f', {failed} left no result' if failed else ''}; a run {first['acceptedSpans']:,} spans + "
            f"{first['acceptedLogs']:,} logs; {whole}/{checked} traces whole{', refused ' + str(refused) if refused else ''})")


def freshness(reports, key="freshnessFromSendMs"):
    if not all(r[key]["count"] for r in reports):
        return "— (no traces)"
    return f"{figure(reports, lambda r: r[key]['p50'])} / {figure(reports, lambda r: r[key]['p99'])} ms"


out("## End to end: client → agent → collector (`periscope-load`)")
out("")
out("Release binaries on loopback. `periscope-load` sends OTLP/HTTP protobuf (its own encoder; traces of 4")
out("spans, 10 requests per second per service and signal), then waits until `/api/v1/status` counts every")
out("accepted item and fetches 50 accepted traces by ID. Freshness: ~100 traces spread over the run are")
out("polled every 10 ms from the moment their request was sent until `/api/v1/traces/{id}` returns them")
out("whole. CPU is utime+stime from `/proc/PID/stat` over load + drain; RSS is `VmHWM`. Wire bytes are")
out("counted by a relay between agent and collector (zstd bodies + HTTP framing); disk is the collector's")
out("data directory (databases, WAL, SHM) right after the run. Where a load ran more than once, a figure is")
out("the median of its runs with the lowest and highest in brackets; each run is listed in the machine table above.")
out("")
if runs:
    out("| load | runs | offered load | accepted spans/s | accepted logs/s | stored all | agent answer p50 / p99 | "
        "freshness p50 / p99 | agent CPU s / RSS MiB | collector CPU s / RSS MiB |")
    out("| --- | ---: | --- | ---: | ---: | --- | --- | --- | --- | --- |")
    for name, g in runs:
        if name.startswith("peer-"):
            continue
        out(f"| {name} | {len(g) + len(missing.get(name, []))} | {offered(g[0])} | {figure(g, lambda r: r['acceptedSpansPerSecond'])} "
            f"| {figure(g, lambda r: r['acceptedLogsPerSecond'])} | {stored_all(name, g)} "
            f"| {figure(g, lambda r: r['agentLatencyMs']['p50'], 1)} / {figure(g, lambda r: r['agentLatencyMs']['p99'], 1)} ms "
            f"| {freshness(g)} "
            f"| {figure(g, lambda r: r['agent']['cpuSeconds'], 1)} / {figure(g, lambda r: r['agent']['peakRSSMiB'])} "
            f"| {figure(g, lambda r: r['collector']['cpuSeconds'], 1)} / {figure(g, lambda r: r['collector']['peakRSSMiB'])} |")
    out("")
    failures = [text for name in sorted(missing) for text in missing[name]]
    if failures:
        out("Runs that left no result (counted as failed runs of their load; see `Benchmarks/.results/NAME.err`): "
            + "; ".join(failures) + ".")
        out("")
    out("Commands (each run of a load the same):")
    out("")
    for name, g in runs:
        if not name.startswith("peer-"):
            out(f"- {name}: {command(name)}")
    out("")
else:
    out("No load results (see `Benchmarks/.results/*.err`).")
    out("")

# ---------------------------------------------------------------- targets
# Each row's target is DESIGN §9's, word for word where it is a number; a row DESIGN has and this
# run did not measure says so.
out("## DESIGN §9 targets")
out("")
out("| what | target | measured | verdict | command |")
out("| --- | --- | --- | --- | --- |")
def sdk_p50s(name):
    """The wall-clock p50 of one benchmark, by run number."""
    walls = {run: metric(m, "time (wall clock)") for run, m in sdk.get(name, {}).items()}
    return {run: w["scorePercentiles"]["50.0"] for run, w in walls.items() if w}


SDK_TARGET = "≤ 200 ns median, far ahead of swift-otel in the same run (read here as ≥ 10× faster)"
p_runs, o_runs = sdk_p50s("Periscope span start+end"), sdk_p50s("swift-otel span start+end")
# Run N of each SDK ran one after the other, so each ratio is of one moment; only runs both have are paired.
paired = sorted(set(p_runs) & set(o_runs))
if paired and all(p_runs[run] for run in paired):
    ratios = [o_runs[run] / p_runs[run] for run in paired]
    p50, ratio = median(list(p_runs.values())), median(ratios)
    out(f"| SDK span start+end | {SDK_TARGET} | {spread(list(p_runs.values()))} ns median over {len(p_runs)} run(s); "
        f"swift-otel {spread(list(o_runs.values()))} ns over {len(o_runs)}; swift-otel {spread(ratios, 1, suffix='×')} slower "
        f"({len(paired)} pair(s) of runs side by side) | {verdict(p50 <= 200 and ratio >= 10)} | {sdk_command} |")
elif p_runs:
    # Without swift-otel the comparison is open, but Periscope's own median can already miss the 200 ns.
    p50 = median(list(p_runs.values()))
    out(f"| SDK span start+end | {SDK_TARGET} | {spread(list(p_runs.values()))} ns median over {len(p_runs)} run(s); "
        f"swift-otel: no run finished this benchmark | {verdict(False) if p50 > 200 else '— (no comparison)'} | {sdk_command} |")
else:
    out(f"| SDK span start+end | {SDK_TARGET} | not measured: a benchmark run failed | — | {sdk_command} |")

sequential_runs = [r for r in (load_json(f"latency-sequential-{n}.json") for n in (1, 2, 3)) if r]
sequential_short = missing_runs(len(sequential_runs), "latency-sequential-[0-9]*")
if sequential_runs:
    ratio = median([r["medianRatio"] for r in sequential_runs])
    out(f"| agent OTLP answer, sequential requests | ≤ 3× the collector's direct answer | "
        f"{spread([r['medianRatio'] for r in sequential_runs], 2, suffix='×')} (agent p50 "
        f"{spread([r['agentMs']['p50'] for r in sequential_runs], 2)} ms, collector p50 "
        f"{spread([r['collectorMs']['p50'] for r in sequential_runs], 2)} ms; {len(sequential_runs)} runs of "
        f"{sequential_runs[0]['requests']} one-span requests each{sequential_short}) | {verdict(ratio <= 3 and not sequential_short)} "
        f"| {command('latency-sequential-1')} |")
else:
    out(f"| agent OTLP answer, sequential requests | ≤ 3× the collector's direct answer | not measured: the runs failed "
        f"| — | {command('latency-sequential-1')} |")


def items_per_second(report):
    shape = report["shape"]
    return shape["services"] * (shape["spansPerSecond"] + shape["logsPerSecond"])


def offered_per_signal(report):
    shape = report["shape"]
    return (shape["services"] * shape["spansPerSecond"], shape["services"] * shape["logsPerSecond"])


def answer_within_target(reports):
    """DESIGN's answer target on the medians of a load's runs, every run sustained (a quick
    refusal is an answer too, so a run that refused or lost anything does not count); False
    without runs."""
    if not reports or not all(sustained(r) for r in reports):
        return False
    return (median([r["agentLatencyMs"]["p50"] for r in reports]) <= 5
            and median([r["agentLatencyMs"]["p99"] for r in reports]) <= 25)


def answer_figures(reports):
    return (f"p50 {figure(reports, lambda r: r['agentLatencyMs']['p50'], 1)} ms, "
            f"p99 {figure(reports, lambda r: r['agentLatencyMs']['p99'], 1)} ms")


answer_loads = [(n, g) for n, g in mixed if items_per_second(g[0]) >= 30_000]
# The same rate with each stream at its own moment of the tick (`--phase spread`), as independent
# exporters' timers fall; the ladder sends all four streams at once, a burst no real fleet keeps in step.
independent = [(n, g) for n, g in runs if n.startswith("load-spread-") and items_per_second(g[0]) >= 30_000]
if independent:
    name, g = independent[0]
    ok = answer_within_target(g) and not missing.get(name)
    unsustained = "" if all(sustained(r) for r in g) else " (not every run sustained: refusals or loss, see the load table)"
    if answer_loads:
        burst_name, burst_g = answer_loads[0]
        burst_ok = answer_within_target(burst_g) and not missing.get(burst_name)
        held = "within" if burst_ok else "**not** within"
        burst = (f"; with all four streams sending at the same instant of every tick (the ladder's shape, "
                 f"{burst_name}): {answer_figures(burst_g)}, {held} the target")
    else:
        burst_ok = False
        burst = "; the burst shape (all four streams at the same instant, the ladder's) did not run at this rate"
    shown = verdict(ok) if not ok or burst_ok else "met with streams spread over the tick; **not met** in the burst"
    out(f"| agent OTLP answer under load | p50 ≤ 5 ms, p99 ≤ 25 ms at 30k items/s with `fsync: always` | "
        f"{answer_figures(g)} at {offered(g[0])} ({items_per_second(g[0]):,} items/s), {len(g)} run(s){unsustained}{burst}; agent, "
        f"collector and load generator on the same 2 cores | {shown} | {command(name)} |")
elif any(n.startswith("load-spread-") for n in missing):
    failed = sorted(n for n in missing if n.startswith("load-spread-"))[0]
    out(f"| agent OTLP answer under load | p50 ≤ 5 ms, p99 ≤ 25 ms at 30k items/s with `fsync: always` | not measured: "
        f"every run of {failed} failed ({'; '.join(missing[failed])}) | **not met** | {command(failed)} |")
elif answer_loads:
    name, g = answer_loads[0]
    out(f"| agent OTLP answer under load | p50 ≤ 5 ms, p99 ≤ 25 ms at 30k items/s with `fsync: always` | "
        f"{answer_figures(g)} at {offered(g[0])} ({items_per_second(g[0]):,} items/s), {len(g)} run(s); agent, collector and "
        f"load generator on the same 2 cores | {verdict(answer_within_target(g) and not missing.get(name))} | {command(name)} |")
else:
    out("| agent OTLP answer under load | p50 ≤ 5 ms, p99 ≤ 25 ms at 30k items/s with `fsync: always` | not measured: "
        "no mixed load of 30k items/s or more ran | — | — |")

def held_failures(name, reports):
    """Why a rate of the ladder was not held in every run; empty when it was."""
    reasons = []
    if missing.get(name):
        reasons.append(f"{len(missing[name])} of {len(reports) + len(missing[name])} run(s) left no result")
    if any(not r["noLoss"] for r in reports):
        reasons.append(f"data lost in {sum(1 for r in reports if not r['noLoss'])} run(s)")
    if any(r["refusedSpans"] or r["refusedLogs"] for r in reports):
        reasons.append("items refused (429/5xx)")
    if any(not sustained(r) for r in reports) and not reasons:
        reasons.append(f"only {figure(reports, lambda r: r['acceptedSpansPerSecond'])} spans/s accepted "
                       f"(client, agent and collector share the cores)")
    if reports and not all_fresh(reports):
        late = sum(r.get("freshnessTimeouts", 0) for r in reports)
        reasons.append(f"freshness p99 {figure(reports, lambda r: r['freshnessFromSendMs']['p99'])} ms"
                       + (f", {late} probe(s) never queryable" if late else ""))
    return reasons


if ladder:
    best = fresh[-1] if fresh else None
    fresh_names = {n for n, _ in fresh}
    first_failed = next((n for n in ladder if n not in fresh_names), None)
    best_text = (f"{figure(best[1], lambda r: r['acceptedSpansPerSecond'])} spans/s + "
                 f"{figure(best[1], lambda r: r['acceptedLogsPerSecond'])} logs/s, freshness p99 "
                 f"{figure(best[1], lambda r: r['freshnessFromSendMs']['p99'])} ms ({offered(best[1][0])}, "
                 f"{len(best[1])} of {len(best[1])} runs sustained, lossless and fresh); agent "
                 f"{figure(best[1], lambda r: r['agent']['cpuSeconds'] / max(1, r['acceptedSpans'] + r['acceptedLogs']) * 1e6, 1)} "
                 f"CPU-µs per item, collector "
                 f"{figure(best[1], lambda r: r['collector']['cpuSeconds'] / max(1, r['acceptedSpans'] + r['acceptedLogs']) * 1e6, 1)}"
                 if best else "no rate tried was sustained, lossless and fresh in every run")
    if first_failed:
        g = dict(mixed).get(first_failed, [])
        rate = offered(g[0]) if g else f"`{first_failed}`"
        failed_text = (f"; the {'next' if best else 'first'} rate tried, {rate}, was not: "
                       f"{', '.join(held_failures(first_failed, g)) or 'see its runs'}")
    else:
        failed_text = "; every rate tried held (the ladder in `Benchmarks/run.sh` ends there)"
    # Held = sustained (≥ 95 % of the offered rate accepted, nothing lost or refused) and fresh in
    # every run; the target is met when the rate held was an offered 100k spans/s + 100k logs/s.
    ok = bool(best) and offered_per_signal(best[1][0]) >= (100_000, 100_000)
    out(f"| end to end, agent → collector on 2 cores | ≥ 100k spans/s + 100k logs/s lossless, freshness p99 ≤ 2 s | "
        f"{best_text}{failed_text} | {verdict(ok)} | {command(best[0] if best else ladder[0])} |")
else:
    out("| end to end, agent → collector on 2 cores | ≥ 100k spans/s + 100k logs/s lossless, freshness p99 ≤ 2 s | "
        "not measured: no mixed load ran | — | — |")

tail_bench = load_json("tail-bench.json")
# Round N: the agent's run N, then each forwarding-only peer once on the same file (run.sh).
tail_by_round = {n: r for n, r in ((1, tail_bench), (2, load_json("tail-bench-2.json")), (3, load_json("tail-bench-3.json"))) if r}
tail_runs = [tail_by_round[n] for n in sorted(tail_by_round)]
tail_short = missing_runs(len(tail_runs), "tail-bench", "tail-bench-[0-9]*")
# The forwarding-only peers every round must have: without one (not installed, failed), the agent
# would be compared with a weaker peer alone.
FORWARDING_PEERS = ["rsyslog-forward", "syslog-ng-forward", "syslog-ng-forward-tuned"]


def peer_report(name):
    """A tail_peers.py report, or None when it is missing or not of that shape."""
    report = load_json(name)
    if not isinstance(report, dict) or not isinstance(report.get("configs"), dict):
        return None
    configs = {}
    for config, figures in report["configs"].items():
        if isinstance(figures, dict):
            # A run counts as finished only with a figure to show.
            configs[config] = dict(figures, runs=[
                dict(r, complete=bool(r.get("complete")) and isinstance(r.get("mibPerCPUSecond"), (int, float)))
                for r in figures.get("runs") or [] if isinstance(r, dict)])
    return dict(report, configs=configs)


forward_rounds = {}
for path in glob.glob(os.path.join(RESULTS, "tail-peers-forward-*.status")):
    match = re.fullmatch(r"tail-peers-forward-(\d+)\.status", os.path.basename(path))
    if match:
        forward_rounds[int(match.group(1))] = peer_report(f"tail-peers-forward-{match.group(1)}.out")


def rounds_peers_first():
    """The rounds in which the peers read the file before the agent (its run reused their file)."""
    def reused(run):
        file = run.get("file") if isinstance(run, dict) else None
        return isinstance(file, dict) and file.get("reused") is True
    return [n for n in sorted(tail_by_round) if reused(tail_by_round[n])]


def rounds_text(numbers):
    return ("round " if len(numbers) == 1 else "rounds ") + ", ".join(map(str, numbers))


def finished_runs(figures):
    return [r for r in (figures or {}).get("runs") or [] if r.get("complete")]


def merged_peers(rounds, rest):
    """Every peer configuration with all its runs: the forwarding ones gathered from the rounds
    (each round without a finished run of one is named), the parsing ones as they ran."""
    names = list(FORWARDING_PEERS) + sorted({name for report in rounds.values() for name in ((report or {}).get("configs") or {})}
                                            - set(FORWARDING_PEERS))
    configs = {}
    for name in names:
        runs, errors, exact = [], [], True
        for n in sorted(rounds):
            figures = ((rounds[n] or {}).get("configs") or {}).get(name)
            finished = finished_runs(figures)
            runs += finished
            if not finished:
                errors.append(f"round {n}: {(figures or {}).get('error') or ('no result' if figures is None else 'incomplete')}")
            elif not figures.get("exactlyOnce"):
                exact = False
        entry = {"runs": runs, "exactlyOnce": exact, "error": "; ".join(errors) or None, "medianMiBPerCPUSecond": None}
        if runs:
            per_cpu = [r["mibPerCPUSecond"] for r in runs]
            entry.update(medianMiBPerCPUSecond=median(per_cpu), minMiBPerCPUSecond=min(per_cpu), maxMiBPerCPUSecond=max(per_cpu),
                         medianMiBPerSecond=median([r.get("mibPerSecond") or 0 for r in runs]))
        configs[name] = entry
    configs.update(((rest or {}).get("configs") or {}))
    return {"configs": configs}


# Results of an older run.sh have no rounds: every peer configuration ran in `tail-peers` then.
tail_peers = merged_peers(forward_rounds, peer_report("tail-peers.out")) if forward_rounds else peer_report("tail-peers.out")


def round_ratios():
    """Per round that counts, the agent's MiB per CPU-second over the best forwarding-only peer's in
    that round, with that peer's name and figure; and the rounds that do not count. A round counts
    when the agent's run finished with every line once and every forwarding peer finished too."""
    ratios, unpaired = {}, []
    for n in sorted(set(range(1, 4)) | set(tail_by_round) | set(forward_rounds)):
        configs = ((forward_rounds.get(n) or {}).get("configs")) or {}
        finished = {name: finished_runs(f) for name, f in configs.items()}
        agent = tail_by_round.get(n)
        if agent and agent.get("complete") and agent.get("noLoss") and all(finished.get(name) for name in FORWARDING_PEERS) \
                and all(finished.values()):
            best, name = max((r["mibPerCPUSecond"], name) for name, runs in finished.items() for r in runs)
            ratios[n] = (agent["mibPerAgentCPUSecond"] / best, name, best)
        else:
            unpaired.append(n)
    return ratios, unpaired


def tail_beats_peers():
    """The target's comparison: three rounds that all count, and a median ratio of at least 2."""
    ratios, unpaired = round_ratios()
    return len(ratios) >= 3 and not unpaired and median([ratios[n][0] for n in ratios]) >= 2


def tail_core(report):
    return f"pinned to CPU {report['agentCPUs']} (`taskset`)" if report.get("agentCPUs") else "unpinned"


def best_forwarding_peer(peers):
    """The best forwarding-only peer's median MiB per CPU-second, and its configuration's name."""
    figures = [(f["medianMiBPerCPUSecond"], n) for n, f in ((peers or {}).get("configs") or {}).items()
               if f.get("medianMiBPerCPUSecond") is not None and n in FORWARDING_PEERS]
    return max(figures) if figures else (None, None)


TAIL_TARGET = "≥ 2× the best of rsyslog / syslog-ng per CPU-second in the same run, durable"
if tail_runs:
    t = tail_runs[0]
    mine = median([r["mibPerAgentCPUSecond"] for r in tail_runs])
    peer, peer_name = best_forwarding_peer(tail_peers)
    once = all(r["noLoss"] for r in tail_runs)
    # "always" or "always (the agent's default)": every batch is fsynced before its offset moves.
    durable = all(r["fsync"].startswith("always") for r in tail_runs)
    loss = "every line received once" if once else "**lines lost or duplicated** (see the tailing section)"
    if forward_rounds:
        ratios, unpaired = round_ratios()
        values = [ratios[n][0] for n in sorted(ratios)]
        versus = (f"{spread(values, 2, suffix='×')} the best forwarding-only peer of the same round over {len(values)} "
                  f"round(s) ({'; '.join(f'round {n}: {ratios[n][1]} {ratios[n][2]:.1f}' for n in sorted(ratios))}, "
                  "same file and pinning)" if values else "no peer result in this run")
        if unpaired:
            versus += (f"; **round(s) {', '.join(map(str, unpaired))} do not count** (the agent's run did not finish with every "
                       "line once, or a forwarding peer's run did not finish)")
        beats = tail_beats_peers()
        peer_commands = f"{command('tail-peers-forward-1')} (each round)"
    else:
        versus = (f"{mine / peer:.2f}× the best peer ({peer_name}, {peer:.1f} MiB per CPU-second, same file and pinning)"
                  if peer else "no peer result in this run")
        beats = bool(peer) and mine >= 2 * peer
        peer_commands = command('tail-peers')
    out(f"| agent tail → parse → queue → ship (JSON lines ~250 B) | {TAIL_TARGET} | "
        f"{spread([r['mibPerAgentCPUSecond'] for r in tail_runs], 1)} MiB per agent CPU-second over {len(tail_runs)} run(s), "
        f"{versus}; {spread([r['mibPerSecond'] for r in tail_runs], 1)} MiB/s wall; {t['file']['bytes'] / 1048576:.0f} MiB "
        f"of {t['file']['meanLineBytes']:.0f} B lines; agent {tail_core(t)}; fsync {t['fsync']}; {loss}{tail_short} "
        f"| {verdict(beats and once and durable and not tail_short)} | {command('tail-bench')}; {peer_commands} |")
    rss = max(r["agentPeakRSSMiB"] for r in tail_runs)
    out(f"| agent RSS while tailing | ≤ 50 MiB | {rss:.1f} MiB highest peak of {len(tail_runs)} run(s) (`VmHWM`; in the first, "
        f"at the largest 50 ms sample {t['agentPeakSampleAnonMiB']:.1f} MiB anonymous + {t['agentPeakSampleFileMiB']:.1f} MiB "
        f"file-backed: binary, Swift runtime, Foundation, ICU{tail_short}) | {verdict(rss <= 50 and not tail_short)} | {command('tail-bench')} |")
else:
    out(f"| agent tail → parse → queue → ship | {TAIL_TARGET}, RSS ≤ 50 MiB | not measured: the tail "
        f"benchmark did not run or failed (see `Benchmarks/.results/tail-bench.err`) | — | {command('tail-bench')} |")
INGEST_TARGET = "≥ 250k spans per collector CPU-second"
STORAGE_TARGET = "≤ 60 bytes per span"
if spans_only:
    per_cpu = figure(spans_only, lambda r: r["storedSpans"] / r["collector"]["cpuSeconds"] if r["collector"]["cpuSeconds"] else 0)
    per_cpu_median = median([r["storedSpans"] / r["collector"]["cpuSeconds"] if r["collector"]["cpuSeconds"] else 0 for r in spans_only])
    out(f"| collector ingest, spans with indexes, light load | {INGEST_TARGET} | {per_cpu} spans per collector "
        f"CPU-second at an offered {spans_only[0]['shape']['services'] * spans_only[0]['shape']['spansPerSecond']} spans/s, "
        f"{len(spans_only)} run(s) with a result (CPU cost incl. serving the freshness probes; not a saturation test) "
        f"| {verdict(per_cpu_median >= 250_000)} | {command('load-spans')} |")
    disk = median([r["diskBytesPerItem"] for r in spans_only])
    out(f"| storage, after a light load | {STORAGE_TARGET} | {figure(spans_only, lambda r: r['diskBytesPerItem'])} bytes per span on disk "
        f"({spans_only[0]['storedSpans']} spans a run, WAL included, right after the run; "
        f"{figure(spans_only, lambda r: r.get('databaseBytesPerItem', 0))} without the WAL) "
        f"| {verdict(disk <= 60)} | {command('load-spans')} |")
else:
    out(f"| collector ingest, light load | {INGEST_TARGET} | not measured: the spans-only run failed | — | — |")
    out(f"| storage, after a light load | {STORAGE_TARGET} | not measured: the spans-only run failed | — | — |")
def arrival_text(store):
    if store.get("arrival", "random") == "ordered":
        return "in arrival order, a day replayed as live traffic arrives (±1 min)"
    return "random over the day"


def numbered_runs(name):
    """The results of NAME, NAME-run2, NAME-run3, … that left one, in run order."""
    found = []
    for path in glob.glob(os.path.join(RESULTS, f"{name}.json")) + glob.glob(os.path.join(RESULTS, f"{name}-run*.json")):
        base = os.path.basename(path)[:-5]
        report = load_json(base + ".json") if load_base(base) == name else None
        if report:
            found.append((run_index(base), report))
    return [report for _, report in sorted(found, key=lambda item: item[0])]


def shortfall(name, results):
    """`missing_runs` for NAME, NAME-run2, …"""
    return missing_runs(results, name, f"{name}-run[0-9]*")


store_benches = numbered_runs("store-bench")
store_bench = store_benches[0] if store_benches else None
stores = [r["store"] for r in store_benches if r.get("store")]
store = stores[0] if stores else None
signal_runs_sqlite = [r["signals"] for r in store_benches if r.get("signals")]
signals = signal_runs_sqlite[0] if signal_runs_sqlite else None
pinned = f"collector pinned to CPU {store_bench['collectorCPUs']} (`taskset`)" if store_bench and store_bench.get("collectorCPUs") else "collector unpinned"


def latency_row(what, target, queries, limit_ms, context, missing_runs=""):
    """A query's latency over the runs that measured it: p99 and p50 as median (min–max); the verdict on the
    median p99, and not met when a run left no result (`missing_runs`, from `shortfall`)."""
    p99s = [q["latencyMs"]["p99"] for q in queries]
    ok = median(p99s) <= limit_ms and all(q["errors"] == 0 for q in queries) and not missing_runs
    errors = sum(q["errors"] for q in queries)
    errors = f", {errors} errors" if errors else ""
    out(f"| {what} | {target} | p99 {spread(p99s, 2, suffix=' ms')}, p50 {spread([q['latencyMs']['p50'] for q in queries], 2, suffix=' ms')} "
        f"({len(queries)} run(s), n={queries[0]['latencyMs']['count']} each, "
        f"{median([q['meanResults'] for q in queries]):.1f} results per answer{errors}; {context}{missing_runs}) | {verdict(ok)} | {command('store-bench')} |")


def store_query(key, runs):
    return [r["queries"][key] for r in runs if key in r["queries"]]


store_short = shortfall("store-bench", len(stores))
if store:
    rates = [s["ingest"]["spansPerCPUSecond"] for s in stores]
    ingest = store["ingest"]
    n = f"{store['spans']:,} spans stored" + (" — fewer than the 10M of the target" if store["spans"] < 10_000_000 else "")
    out(f"| collector ingest, spans with indexes (saturated) | {INGEST_TARGET} | {spread(rates)} spans "
        f"per collector CPU-second, {spread([s['ingest']['spansPerSecond'] for s in stores])} spans/s over the whole ingest of "
        f"{ingest['storedSpans']:,} spans + {ingest['storedLogs']:,} logs, {len(stores)} run(s) ({pinned}; {store['inFlight']} "
        f"requests of {store['batchSpans']} spans in flight; start times {arrival_text(store)}{store_short}) | "
        f"{verdict(median(rates) >= 250_000 and not store_short)} | {command('store-bench')} |")
    for key, what, target, limit, context in [
        ("traceByID", "trace by ID, 10M spans stored", "p99 ≤ 2 ms", 2, n),
        ("searchServiceOperationDuration", "trace search (service+operation+duration, 24h)", "≤ 50 ms", 50,
         n + ", `min_duration=100ms`, `limit=20`; verdict on p99"),
        ("searchAttribute", "attribute search (24h)", "≤ 200 ms", 200, n + ", `attr=http.route=/route/K`, `limit=20`; verdict on p99"),
        ("logsByCorrelationID", "logs by correlation ID", "≤ 10 ms (brief)", 10, n),
        ("logsRecentByService", "a service's latest 100 logs (last 15 min, newest first)", "≤ 50 ms (ours)", 50, n),
        ("logsTextScan", "log text search matching nothing (24h: every record read)", "≤ 1 s (ours)", 1000, n),
    ]:
        queries = store_query(key, stores)
        if queries:
            latency_row(what, target, queries, limit, context, store_short)
    out(f"| storage (store benchmark) | {STORAGE_TARGET} | {spread([s['bytesPerSpan'] for s in stores])} bytes per span on disk "
        f"({store['spans']:,} spans plus {store['logs']:,} log records, {len(stores)} run(s), data directory incl. -wal/-shm, "
        f"right after ingest; {spread([s['bytesPerSpanExcludingWAL'] for s in stores])} without them{store_short}) | "
        f"{verdict(median([s['bytesPerSpan'] for s in stores]) <= 60 and not store_short)} | {command('store-bench')} |")
else:
    out(f"| trace by ID, 10M spans stored | p99 ≤ 2 ms | not measured: the store benchmark did not run or failed "
        f"(see `Benchmarks/.results/store-bench.err`) | — | {command('store-bench')} |")
    out("| trace search (service+operation+duration, 24h) | ≤ 50 ms; attribute search ≤ 200 ms | not measured: the "
        f"store benchmark did not run or failed | — | {command('store-bench')} |")
backfills = [r["store"] for r in numbered_runs("store-bench-random") if r.get("store")]
backfill_short = shortfall("store-bench-random", len(backfills))
if backfills:
    ingest = backfills[0]["ingest"]
    rates = [b["ingest"]["spansPerCPUSecond"] for b in backfills]
    out(f"| collector ingest, backfill (start times random over the day) | {INGEST_TARGET} | "
        f"{spread(rates)} spans per collector CPU-second, {spread([b['ingest']['spansPerSecond'] for b in backfills])} "
        f"spans/s over {ingest['storedSpans']:,} spans + {ingest['storedLogs']:,} logs, {len(backfills)} run(s) (every "
        f"batch touches the whole day's indexes and rollups{backfill_short}) | {verdict(median(rates) >= 250_000 and not backfill_short)} "
        f"| {command('store-bench-random')} |")
elif backfill_short:
    out(f"| collector ingest, backfill (start times random over the day) | {INGEST_TARGET} | not measured: no run left a result "
        f"(see `Benchmarks/.results/store-bench-random*.err`) | — | {command('store-bench-random')} |")
if signals:
    context = (f"{signals['services'] * signals['operations']} (service, operation) keys, one server span per key per "
               f"hour over {signals['days']} d = {signals['spans']:,} spans, {signals['sloCount']} availability SLOs")
    names = {"signals": f"golden signals per service over {signals['days']} days",
             "signalsByOperation": f"golden signals per operation over {signals['days']} days",
             "slos": f"SLO status ({signals['days']} days of data, 30-day windows)"}
    for key in ["signals", "signalsByOperation", "slos"]:
        queries = store_query(key, signal_runs_sqlite)
        if queries:
            latency_row(names[key], "≤ 100 ms", queries, 100, context, shortfall("store-bench", len(signal_runs_sqlite)))


def rollup_row(what, cost):
    """A rollup-cost row: the median ratio over the rounds, each round's, and the median round's figures."""
    rounds = cost.get("rounds", [])
    each = ", ".join(f"{r['asGenerated']['seconds'] / r['allInternal']['seconds']:.2f}×" for r in rounds)
    g, i = cost["asGenerated"], cost["allInternal"]
    ratio = cost["ingestTimeRatio"]
    out(f"| rollup cost at ingest, {what} | ≤ 10 % of ingest time | {ratio:.2f}× the ingest time of the same "
        f"{cost['spans']:,} spans all kind=internal, median of {len(rounds)} rounds ({each}); median round "
        f"{g['seconds']:.1f} s vs {i['seconds']:.1f} s; CPU {cost['cpuRatio']:.2f}×, {g['collectorCPUSeconds']:.1f} vs "
        f"{i['collectorCPUSeconds']:.1f} CPU-s; {pinned} | {verdict(ratio <= 1.10)} | {command('store-bench')} |")


# The rollup comparison runs in the first store run only (its five rounds are its repetitions).
first_store_run = load_json("store-bench.json") or {}
worst_rollups = (first_store_run.get("signals") or {}).get("rollupCost")
store_rollups = first_store_run.get("storeRollups")
for what, cost in [("worst case (every span a request; one request per operation per hour, so each minute and hour "
                    "aggregate holds one)", worst_rollups),
                   (f"ordinary traffic (the store workload: {store_rollups['requestShare']:.0%} of spans are requests, "
                    "100 operations; an availability and a latency SLO per service)" if store_rollups else
                    "ordinary traffic (the store workload)", store_rollups)]:
    if cost:
        rollup_row(what, cost)
    else:
        out(f"| rollup cost at ingest, {what} | ≤ 10 % of ingest time | not measured: the first store run, the only one with "
            f"the rollup comparison, left no result (see `Benchmarks/.results/store-bench.err`) | — | {command('store-bench')} |")
if not signals:
    out("| golden signals and SLO status over 30 days | ≤ 100 ms | not measured: the store benchmark's signals part did "
        f"not run or failed | — | {command('store-bench')} |")
if fresh:
    name, g = fresh[-1]
    out(f"| freshness | p99 ≤ 2 s from emit to queryable | p50 / p99 {freshness(g)} at {offered(g[0])}, "
        f"{len(g)} run(s) (highest lossless rate that keeps p99 ≤ 2 s in every run) | met | {command(name)} |")
elif mixed:
    name, g = mixed[0]
    out(f"| freshness | p99 ≤ 2 s from emit to queryable | p50 / p99 {freshness(g)} at {offered(g[0])}, {len(g)} run(s) | "
        f"{verdict(all_fresh(g) and not missing.get(name))} | {command(name)} |")
else:
    out("| freshness | p99 ≤ 2 s from emit to queryable | not measured: no mixed load left a result | — | — |")
pg_runs = [r for r in (load_json(os.path.basename(p)) for p in sorted(glob.glob(os.path.join(RESULTS, "store-bench-postgres-[0-9]*.json")))) if r]
pg_single = [report["postgresStore"] for report in pg_runs if report.get("postgresStore")]
pg_short = missing_runs(len(pg_single), "store-bench-postgres-[0-9]*")
PG_TARGET = "≥ 100k spans per collector CPU-second, ≥ 150k per PostgreSQL CPU-second, ≤ 85 B/span"
if pg_single:
    collector_rate = median([pg["ingest"]["spansPerCPUSecond"] for pg in pg_single])
    postgres_rate = median([pg["ingest"].get("spansPerPostgresCPUSecond") or 0 for pg in pg_single])
    pg_bytes = median([pg["bytesPerSpan"] for pg in pg_single])
    out(f"| PostgreSQL store, one collector | {PG_TARGET} | {spread([pg['ingest']['spansPerCPUSecond'] for pg in pg_single])} "
        f"per collector CPU-second, {spread([pg['ingest'].get('spansPerPostgresCPUSecond') for pg in pg_single])} per "
        f"PostgreSQL CPU-second, {spread([pg['bytesPerSpan'] for pg in pg_single], 2)} B/span ({len(pg_single)} run(s) of "
        f"{pg_single[0]['spans']:,} spans; more collectors in the PostgreSQL section{pg_short}) "
        f"| {verdict(collector_rate >= 100_000 and postgres_rate >= 150_000 and pg_bytes <= 85 and not pg_short)} "
        f"| {command('store-bench-postgres-1')} |")
else:
    out(f"| PostgreSQL store | {PG_TARGET} | not measured: no PostgreSQL run (see "
        f"`Benchmarks/.results/store-bench-postgres*.err`) | — | — |")
WEB_TARGET = "10,000-span trace interactive < 1 s in headless Chromium; pages < 300 ms server time at 10M spans"
web_runs = [((r.get("store") or {}).get("webPages") or {}, (r.get("signals") or {}).get("webPages") or {})
            for r in store_benches]
web_pages = {}
for store_pages, signal_pages in web_runs:
    for key, query in list(store_pages.items()) + [("signals-" + k, q) for k, q in signal_pages.items()]:
        web_pages.setdefault(key, []).append(query)
large = [s["largeTrace"] for s in stores if s.get("largeTrace")]
browser = [t["browser"] for t in large if t.get("browser")]
if web_pages:
    slowest_key = max(web_pages, key=lambda k: median([q["latencyMs"]["p99"] for q in web_pages[k]]))
    slowest = web_pages[slowest_key]
    pages_ok = all(median([q["latencyMs"]["p99"] for q in qs]) <= 300 and all(q["errors"] == 0 for q in qs)
                   for qs in web_pages.values())
    spans = large[0]["spans"] if large else 0
    if browser:
        drawn = min(b["rows"] or 0 for b in browser)
        ready = [b["median"]["ready"] for b in browser]
        browser_text = (f"a {spans:,}-span trace ready in headless Chromium in {spread(ready, suffix=' ms')} (load event plus a "
                        f"forced layout; median of {len(browser[0]['runs'])} loads a run; {drawn:,} of {spans:,} spans in the page, "
                        f"{median([b['bytes'] for b in browser]) / 1e6:.1f} MB of HTML), its page "
                        f"p99 {spread([t['page']['latencyMs']['p99'] for t in large], 1, suffix=' ms')} on the server")
        browser_ok = median(ready) <= 1000 and drawn >= spans
    elif large:
        browser_text = f"the {spans:,}-span trace not timed in Chromium: {large[0].get('browserError') or 'no result'}"
        browser_ok = False
    else:
        browser_text = "the large trace not timed: it was not stored (see the run's output)"
        browser_ok = False
    out(f"| web UI | {WEB_TARGET} | {browser_text}; slowest of {len(web_pages)} pages: {slowest[0]['name'].removeprefix('web UI: ')} "
        f"p99 {spread([q['latencyMs']['p99'] for q in slowest], 1, suffix=' ms')} ({len(slowest)} run(s); every page in the "
        f"web UI section) | {verdict(pages_ok and browser_ok and not store_short)} | {command('store-bench')} |")
else:
    out(f"| web UI | {WEB_TARGET} | not measured: no store run timed the web UI (`--skip-web`, or see "
        f"`Benchmarks/.results/store-bench.err`) | — | {command('store-bench')} |")
out("")
if ladder:
    def outcome(name):
        reports = dict(mixed).get(name, [])
        reasons = held_failures(name, reports)
        runs = len(reports) + len(missing.get(name, []))
        return f"held in {runs} of {runs} runs" if not reasons else "not held: " + ", ".join(reasons)
    if fresh:
        name, g = fresh[-1]
        highest = (f"**{figure(g, lambda r: r['acceptedSpansPerSecond'])} spans/s + "
                   f"{figure(g, lambda r: r['acceptedLogsPerSecond'])} logs/s** ({offered(g[0])}; `{name}`)")
    else:
        highest = "**none**"
    out(f"Highest mixed rate held in every run (all accepted items stored, nothing refused, ≥ 95 % of the offered "
        f"rate accepted, every freshness probe queryable with p99 ≤ 2 s): {highest}. Rates tried: "
        + "; ".join(f"`{nn}`: {outcome(nn)}" for nn in ladder) + ".")
    out("")

# ---------------------------------------------------------------- agent queue
out("## Agent durable queue: append + ship")
out("")
out("From the same runs: items and MiB the agent shipped per second (relay bytes over the time from the first")
out("request until the collector held everything), the latency the queue adds (freshness from the agent's 200 to")
out("queryable), and the agent's answer latency as the client sees it (it answers once the batch is on disk).")
out("")
out("| load | runs | items/s shipped | MiB/s shipped (zstd) | wire bytes per item | disk bytes per item; without WAL | added latency p50 / p99 (200 → queryable) | agent answer p50 / p99 |")
out("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
for name, g in runs:
    if name.startswith("peer-"):
        continue
    out(f"| {name} | {len(g) + len(missing.get(name, []))} | {figure(g, lambda r: r['shippedItemsPerSecond'])} | {figure(g, lambda r: r['shippedMiBPerSecond'], 3)} "
        f"| {figure(g, lambda r: r['wireBytesPerItem'], 1)} "
        f"| {figure(g, lambda r: r['diskBytesPerItem'], 1)}; {figure(g, lambda r: r.get('databaseBytesPerItem', 0), 1)} without "
        f"| {freshness(g, 'freshnessFromAckMs')} | "
        f"{figure(g, lambda r: r['agentLatencyMs']['p50'], 1)} / {figure(g, lambda r: r['agentLatencyMs']['p99'], 1)} ms |")
out("")
out("(`load-spans` items are spans, `load-logs` items are log records, mixed runs count both.)")
out("")

# ---------------------------------------------------------------- file tailing
out("## Agent file tailing: tail → parse → queue → ship (`periscope-tail-bench`)")
out("")
out("The release `periscope-agent`, pinned to one core, follows one file of JSON lines (`tail:` with")
out("`start_at: beginning`, `format: json`; everything else the agent's defaults: redaction rules on, queue")
out("`fsync: always`, 4 batches in flight). The file is written and fsynced before the agent starts, one line")
out("per request of a made-up service: RFC 3339 time with ms, level, message, service, 32-hex `trace_id`,")
out("16-hex `span_id`, `correlation_id`, `http.route`, `duration_ms`, `user`. The agent ships to a counting")
out("OTLP/HTTP sink in the benchmark process (on the other core), which decodes each zstd body, checks every")
store_rate = (f"{median([s['ingest']['spansPerCPUSecond'] for s in stores]):,.0f} spans per CPU-second in this run's store benchmark"
              if store else "far fewer items per second, see the store benchmark")
out("line off by its `correlation_id` (its sequence number) and answers 200 at once. The collector would be")
out(f"the bottleneck ({store_rate}, against the ~400k lines/s of 100 MiB/s), so the agent is what is")
out("measured. Time runs from the agent's start until the sink holds every line. CPU is utime+stime from")
out("`/proc/PID/stat`; RSS is `VmHWM`, cross-checked by `VmRSS` sampled every 50 ms.")
out("")
if tail_runs:
    t = tail_runs[0]
    f = t["file"]
    counts = [r["counts"] for r in tail_runs]
    def each(get, digits=0):
        return spread([get(r) for r in tail_runs], digits)
    steady = [r for r in tail_runs if r.get("steadyMiBPerSecond") is not None and r.get("firstRecordSeconds") is not None]
    out(f"{len(tail_runs)} run(s) of the same command on the same machine; each figure is the median with the lowest and "
        f"highest in brackets (peak RSS: the highest){tail_short}.")
    out("")
    out("| what | measured |")
    out("| --- | --- |")
    out(f"| file | {f['bytes'] / 1048576:.0f} MiB, {f['lines']:,} JSON lines, {f['meanLineBytes']:.1f} B mean (written anew for each run) |")
    out(f"| agent | {tail_core(t)}; fsync {t['fsync']}; redaction defaults {'on' if t['redactDefaults'] else 'off'} |")
    out(f"| throughput, agent start → last line acknowledged | **{each(lambda r: r['mibPerSecond'], 1)} MiB/s**, "
        f"{each(lambda r: r['linesPerSecond'])} lines/s ({each(lambda r: r['seconds'], 2)} s) |")
    if steady:
        out(f"| steady state, first record → last | {spread([r['steadyMiBPerSecond'] for r in steady], 1)} MiB/s (first record after "
            f"{spread([r['firstRecordSeconds'] for r in steady], 2)} s; its `listening on` line was seen after "
            f"{spread([r['startupSeconds'] for r in steady], 2)} s) |")
    out(f"| agent CPU | {each(lambda r: r['agentCPUSeconds'], 2)} CPU-s, {each(lambda r: r['agentCPUUtilization'] * 100)} % of one "
        f"core over the run, **{each(lambda r: r['mibPerAgentCPUSecond'], 1)} MiB per CPU-second** |")
    peak = max(tail_runs, key=lambda r: r["agentPeakRSSMiB"])
    out(f"| agent peak RSS | **{peak['agentPeakRSSMiB']:.1f} MiB** `VmHWM`, the highest of the runs (target ≤ 50 MiB: "
        f"{verdict(all(r['meetsRSS'] for r in tail_runs))}); in that run the largest of {peak['rssSamples']} samples "
        f"{peak['agentMaxSampledRSSMiB']:.1f} MiB = {peak['agentPeakSampleAnonMiB']:.1f} anonymous + "
        f"{peak['agentPeakSampleFileMiB']:.1f} file-backed |")
    out(f"| lines received | every line once in {sum(1 for r in tail_runs if r['noLoss'])} of {len(tail_runs)} runs; over all runs "
        f"{sum(r['linesReceived'] for r in tail_runs):,} of {sum(r['linesWritten'] for r in tail_runs):,}: lost "
        f"{sum(r['lostLines'] for r in tail_runs):,}, duplicated {sum(c['duplicateRecords'] for c in counts):,}, unreadable "
        f"{sum(c['unknownRecords'] for c in counts):,}; {sum(c['resentBatches'] for c in counts)} batches re-sent "
        f"({sum(c['resentRecords'] for c in counts):,} records, which the collector would drop by batch ID) |")
    out(f"| shipped, per run | {spread([c['logRequests'] for c in counts])} log requests, "
        f"{spread([c['wireBytes'] / 1048576 for c in counts], 1)} MiB zstd "
        f"({spread([c['wireBytes'] / max(c['records'], 1) for c in counts], 1)} B per line) → "
        f"{spread([c['decodedBytes'] / 1048576 for c in counts], 1)} MiB OTLP protobuf |")
    out("")
    if forward_rounds:
        turned = rounds_peers_first()
        out(f"Command: {command('tail-bench')} (runs 2 and 3 the same with their own work directory; right after each run the "
            "forwarding-only peers below read that run's file" + (
                f", except in {rounds_text(turned)}: {command(f'tail-bench-{turned[0]}')} after the peers)" if turned else ")"))
    else:
        out(f"Command: {command('tail-bench')} (runs 2 and 3 the same without `--work-dir … --keep-data`: the first keeps its "
            "file for the peers below)")
else:
    out(f"Not measured: the tail benchmark did not run or failed (see `Benchmarks/.results/tail-bench.err`). "
        f"Command: {command('tail-bench')}")
out("")
peers = tail_peers
if peers and peers.get("configs"):
    out("**Peers on the same file**, each pinned to CPU 1 like the agent, forwarding every line over TCP to a counting")
    out("sink on CPU 0 (configurations: `../shared/peers/tail`; `Benchmarks/Peers/tail_peers.py`). Neither peer's")
    out("queue is durable; Periscope's parses, redacts, compresses and `fdatasync`s as well.")
    if forward_rounds:
        turned = rounds_peers_first()
        out("The runs go in rounds: the agent, then at once each forwarding-only peer on the file the agent just read, so")
        out("a round's figures share a moment of the machine (its speed drifts from minute to minute); the parsing peers")
        out("run three times afterwards on the first round's file." + (
            f" In {rounds_text(turned)} the order is turned round, so that neither side always reads first: the file is "
            "written alone (`--write-only`), the forwarding peers read it, then the agent (`--reuse-file`)." if turned else ""))
    out("")
    out("| tail → ship | MiB per CPU-second, median (min–max) | MiB/s wall, median | peak RSS MiB | every line once |")
    out("| --- | --- | ---: | ---: | --- |")
    if tail_runs:
        per_cpu = sorted(r["mibPerAgentCPUSecond"] for r in tail_runs)
        wall = sorted(r["mibPerSecond"] for r in tail_runs)
        out(f"| periscope-agent (parse, redact, zstd, durable queue, OTLP/HTTP) | **{per_cpu[len(per_cpu) // 2]:.1f}** "
            f"({per_cpu[0]:.1f}–{per_cpu[-1]:.1f}) | {wall[len(wall) // 2]:.1f} | "
            f"{max(r['agentPeakRSSMiB'] for r in tail_runs):.1f} | {'yes' if all(r['noLoss'] for r in tail_runs) else 'NO'} |")
    names = {
        "rsyslog-forward": "rsyslog: imfile → omfwd TCP, no parsing",
        "rsyslog-mmjsonparse": "rsyslog: imfile → mmjsonparse → omfwd TCP",
        "syslog-ng-forward": "syslog-ng: file() → network(), defaults, no parsing",
        "syslog-ng-forward-tuned": "syslog-ng: the same, tuned fetch/window/fifo",
        "syslog-ng-json": "syslog-ng: file() → json-parser → network()",
    }
    for name, figures in peers["configs"].items():
        if figures.get("medianMiBPerCPUSecond") is None:
            out(f"| {names.get(name, name)} | failed: {figures.get('error') or 'incomplete'} | — | — | — |")
            continue
        failed = f"; **no finished run in {figures['error']}**" if figures.get("error") else ""
        out(f"| {names.get(name, name)} | {figures['medianMiBPerCPUSecond']:.1f} ({figures['minMiBPerCPUSecond']:.1f}–"
            f"{figures['maxMiBPerCPUSecond']:.1f}), {len(figures['runs'])} run(s){failed} | {figures['medianMiBPerSecond']:.1f} | "
            f"{max(r.get('peakRSSMiB') or 0 for r in figures['runs']):.1f} | {'yes' if figures['exactlyOnce'] else 'NO'} |")
    if forward_rounds and tail_runs:
        ratios, unpaired = round_ratios()
        values = [ratios[n][0] for n in sorted(ratios)]
        out("")
        if values:
            rounds_text = "; ".join(f"round {n}: {tail_by_round[n]['mibPerAgentCPUSecond']:.1f} ÷ {ratios[n][1]} {ratios[n][2]:.1f} = "
                                    f"{ratios[n][0]:.2f}×" for n in sorted(ratios))
            without = (f"; round(s) {', '.join(map(str, unpaired))} do not count: the agent's run did not finish with every line "
                       "once, or a forwarding peer's run did not finish" if unpaired else "")
            out(f"Periscope ÷ best forwarding-only peer of the same round: {spread(values, 2, suffix='×')} ({rounds_text}{without}; "
                f"DESIGN §9: ≥ 2×, {verdict(tail_beats_peers() and not tail_short)}).")
        else:
            out("Periscope ÷ best forwarding-only peer: no round counts (the agent's run did not finish with every line once, or a forwarding peer's run did not finish).")
        out(f"Commands: {command('tail-peers-forward-1')} in round 1 (the other rounds the same on their own file); "
            f"the parsing peers {command('tail-peers')}")
    else:
        best_peer, _ = best_forwarding_peer(peers)
        if best_peer and tail_runs:
            mine = median([r["mibPerAgentCPUSecond"] for r in tail_runs])
            out("")
            out(f"Periscope ÷ best forwarding-only peer: {mine / best_peer:.2f}× (DESIGN §9: ≥ 2×, "
                f"{verdict(mine >= 2 * best_peer)}). Command: {command('tail-peers')}")
    out("")
else:
    out(f"Peers on the same file (rsyslog, syslog-ng): not measured in this run (see `Benchmarks/.results/tail-peers.err`).")
    out("")
out("Fluent Bit and Vector are not installable on this machine (not in Debian's archive, not on PyPI).")
out("")

# ---------------------------------------------------------------- peers
out("## Peer client: Python opentelemetry-sdk → agent")
out("")
peers_python = [r for r in dict(runs).get("peer-python", []) if r.get("clientReport")]
own_runs = dict(runs).get("peer-generator", [])
if peers_python:
    def stored_text(name, reports):
        """Whether every run stored every span; a run that left no result (or no client report) counts as one that did not."""
        started = len(dict(runs).get(name, [])) + len(missing.get(name, []))
        whole = sum(1 for r in reports if r["noLoss"])
        return (f"{'yes' if whole == started else 'NO'} ({whole} of {started} runs; "
                f"{spread([r['storedSpans'] for r in reports])}/{spread([r['acceptedSpans'] for r in reports])})")
    clients = [r["clientReport"] for r in peers_python]
    out("| client | runs | spans | client spans/s | client CPU s | stored all | agent CPU s | collector CPU s |")
    out("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    out(f"| Python opentelemetry-sdk 1.45.2, BatchSpanProcessor (batches of 512) | {len(dict(runs).get('peer-python', [])) + len(missing.get('peer-python', []))} "
        f"| {spread([c.get('spans', 0) for c in clients])} | {spread([c.get('spans_per_second', 0) for c in clients])} "
        f"| {spread([c.get('cpu_seconds', 0) for c in clients], 2)} | {stored_text('peer-python', peers_python)} "
        f"| {spread([r['agent']['cpuSeconds'] for r in peers_python], 2)} | {spread([r['collector']['cpuSeconds'] for r in peers_python], 2)} |")
    if own_runs:
        out(f"| periscope-load's own client (pre-built spans, paced over {own_runs[0]['shape']['durationSeconds']:.0f} s) "
            f"| {len(own_runs) + len(missing.get('peer-generator', []))} | {spread([r['acceptedSpans'] for r in own_runs])} | {spread([r['acceptedSpansPerSecond'] for r in own_runs])} "
            f"| — | {stored_text('peer-generator', own_runs)} | {spread([r['agent']['cpuSeconds'] for r in own_runs], 2)} "
            f"| {spread([r['collector']['cpuSeconds'] for r in own_runs], 2)} |")
    failed = missing.get("peer-python", []) + missing.get("peer-generator", [])
    if failed:
        out("")
        out("Runs that left no result: " + "; ".join(failed) + ".")
    out("")
    out(f"Median (min–max) over the runs. Commands: {command('peer-python')}; {command('peer-generator')} (each run the same)")
else:
    out(f"Not measured: the Python peer run failed (see `Benchmarks/.results/peer-python.err`). Command: {command('peer-python')}")
out("")
out("## Answer latency: agent against collector, one request at a time")
out("")
out("One-span OTLP/HTTP protobuf requests sent one at a time, alternately to the agent (answer = in its")
out("durable queue, `fsync: always`) and straight to the collector (answer = committed to SQLite). Issue")
out("20's target: agent ≤ 3× the collector.")
out("")
sequential = [(n, load_json(f"latency-sequential-{n}.json")) for n in (1, 2, 3)]
sequential = [(n, r) for n, r in sequential if r]
if sequential:
    out("| run | requests each | agent p50 / p99 ms | collector p50 / p99 ms | agent p50 ÷ collector p50 |")
    out("| --- | ---: | --- | --- | ---: |")
    for n, r in sequential:
        out(f"| {n} | {r['requests']} | {r['agentMs']['p50']:.2f} / {r['agentMs']['p99']:.2f} | "
            f"{r['collectorMs']['p50']:.2f} / {r['collectorMs']['p99']:.2f} | {r['medianRatio']:.2f} |")
    ratios = sorted(r["medianRatio"] for _, r in sequential)
    out("")
    out(f"Median ratio {ratios[len(ratios) // 2]:.2f} (min {ratios[0]:.2f}, max {ratios[-1]:.2f}): {verdict(ratios[len(ratios) // 2] <= 3)}. "
        f"Command: {command('latency-sequential-1')} (runs 2 and 3 the same)")
else:
    out(f"Not measured: the runs failed (see `Benchmarks/.results/latency-sequential-1.err`).")
out("")

out("## Python opentelemetry-sdk at its defaults: through the agent against straight to the collector")
out("")
out("50,000 spans made as fast as the program makes them, exported by a `BatchSpanProcessor` at its defaults")
out("(queue 2,048, batches of 512): what does not fit the queue is dropped by the SDK. Stored spans are the")
out("collector's count. Issue 20's target: through the agent ≥ 95 % of straight to the collector.")
out("")
pairs = []
for n in (1, 2, 3):
    direct = load_json(f"python-defaults-collector-{n}.json")
    via = load_json(f"python-defaults-agent-{n}.json")
    if direct and via:
        pairs.append((n, direct, via))
if pairs:
    out("| run | stored, straight to collector | stored, through agent | agent ÷ direct |")
    out("| --- | ---: | ---: | ---: |")
    for n, direct, via in pairs:
        out(f"| {n} | {direct['storedSpans']:,} of 50,000 | {via['storedSpans']:,} of 50,000 | "
            f"{via['storedSpans'] / max(1, direct['storedSpans']):.1%} |")
    total_direct = sum(d["storedSpans"] for _, d, _ in pairs)
    total_via = sum(v["storedSpans"] for _, _, v in pairs)
    out("")
    left = sum(1 for path in glob.glob(os.path.join(RESULTS, "python-defaults-*-[0-9]*.json")) if load_json(os.path.basename(path)))
    pairs_short = missing_runs(left, "python-defaults-collector-[0-9]*", "python-defaults-agent-[0-9]*")
    out(f"All runs: {total_via:,} through the agent against {total_direct:,} direct = {total_via / max(1, total_direct):.1%}"
        f"{pairs_short}: {verdict(total_via >= 0.95 * total_direct and not pairs_short)}. Commands: {command('python-defaults-collector-1')}; "
        f"{command('python-defaults-agent-1')}")
else:
    out("Not measured: the runs failed (see `Benchmarks/.results/python-defaults-*.err`).")
out("")
out("## Periscope's SDK at its defaults: spans + logs a service can make through the agent without loss")
out("")
out("The bench process is the instrumented service: `OTLPExporter` at its defaults (2,048-item queues, batches")
out("of 512, 4 exports in flight) sending to the agent, spans and logs made at a steady rate for 10 s. Lossless")
out("means the exporter's own counters show nothing dropped or failed and the collector stored every item.")
out("")
# sdk-rate-RATE, sdk-rate-RATE-run2, …: the runs of each rate.
rate_runs = {}
for path in glob.glob(os.path.join(RESULTS, "sdk-rate-*.status")):
    name = os.path.basename(path)[:-len(".status")]
    rate = name[len("sdk-rate-"):].split("-run")[0]
    if rate.isdigit():
        rate_runs.setdefault(int(rate), []).append((name, load_json(name + ".json")))
if rate_runs:
    out("| offered spans/s + logs/s | runs | dropped | failed | stored spans + logs | service CPU s | lossless |")
    out("| --- | ---: | ---: | ---: | --- | ---: | --- |")
    best = 0
    for rate in sorted(rate_runs):
        reports = [r for _, r in rate_runs[rate] if r]
        without = len(rate_runs[rate]) - len(reports)
        held = sum(1 for r in reports if r["lossless"])
        lossless = held == len(rate_runs[rate])
        if lossless:
            best = max(best, rate)
        note = f", {without} left no result" if without else ""
        out(f"| {rate:,} + {rate:,} | {len(rate_runs[rate])} | {spread([r['droppedSpans'] + r['droppedLogs'] for r in reports])} | "
            f"{spread([r['failedSpans'] + r['failedLogs'] for r in reports])} | {spread([r['storedSpans'] for r in reports])} + "
            f"{spread([r['storedLogs'] for r in reports])} | {spread([r['serviceCPUSeconds'] for r in reports], 2)} | "
            f"{'yes' if lossless else 'no'} ({held} of {len(rate_runs[rate])} runs{note}) |")
    out("")
    out(f"Median (min–max) over the runs. Highest rate lossless in every run: {best:,} spans/s + as many logs/s: "
        f"{verdict(best >= 100_000)} (target ≥ 100k spans/s). Command: {command('sdk-rate-' + str(min(rate_runs)))} "
        f"(other rates and runs the same)")
else:
    out("Not measured: the runs failed (see `Benchmarks/.results/sdk-rate-*.err`).")
out("")
out("## Web UI: its pages over the store benchmark's data (`periscope-store-bench`)")
out("")
if web_pages:
    out("Each page timed as the API's queries are (one request at a time, the whole exchange on loopback, after a "
        "warm-up), over the SQLite store part's data (the store workload's day of traces) and the signals part's "
        "(30 days of hourly requests and their SLOs). DESIGN §9 asks < 300 ms per page at 10M spans.")
    out("")
    out("| page | p50 | p99 | HTML | runs | example |")
    out("| --- | ---: | ---: | ---: | ---: | --- |")
    for key in sorted(web_pages, key=lambda k: (k.startswith("signals-"), k)):
        qs = web_pages[key]
        errors = sum(q["errors"] for q in qs)
        out(f"| {qs[0]['name'].removeprefix('web UI: ')}{f' ({errors} errors)' if errors else ''} "
            f"| {spread([q['latencyMs']['p50'] for q in qs], 2, suffix=' ms')} | {spread([q['latencyMs']['p99'] for q in qs], 2, suffix=' ms')} "
            f"| {median([q.get('meanBytes') or 0 for q in qs]) / 1e3:,.0f} kB | {len(qs)} | `{qs[0]['exampleURL'].split('?')[0]}` |")
    for t in large:
        out("")
        b = t.get("browser")
        if b:
            m = b["median"]
            out(f"A {t['spans']:,}-span trace (`{b['url'].split('/ui/')[1][:20]}…`): {b['rows'] or 0:,} rows in the page, {b['bytes'] / 1e6:.1f} MB of "
                f"HTML; in headless Chromium, median of {len(b['runs'])} loads: server {m['server']:.0f} ms, DOM interactive "
                f"{m['interactive']:.0f} ms, load event {m['load']:.0f} ms, forced layout after it {m['forcedLayout']:.0f} ms, "
                f"ready {m['ready']:.0f} ms (`Benchmarks/Scripts/web_ui_timing.py`).")
        else:
            out(f"A {t['spans']:,}-span trace: not timed in Chromium: {t.get('browserError') or 'no result'}.")
    out("")
    out("Jaeger UI, the peer DESIGN names, is an npm build; npm is not reachable here, so it did not run beside these.")
else:
    out("Not measured: no store run timed the web UI (`--skip-web`, or see `Benchmarks/.results/store-bench.err`).")
out("")
out("## The PostgreSQL store beside the SQLite store (`periscope-store-bench --postgres`)")
out("")
out("Issue 19's goals, on the store workload (traces of 10 spans + a log each, batches of 2,000 spans, 3")
out("requests in flight): a private PostgreSQL 15 in the work directory pinned to CPU 0 (`fsync` and")
out("`synchronous_commit` on), 1, 2 and 3 collectors on one database pinned to CPU 1, batches sent to them in")
out("turn. PostgreSQL CPU is the postmaster's and every backend's from /proc; bytes are `pg_total_relation_size`")
out("of every table; lock waits are the share of busy backends waiting on a heavyweight lock, sampled every")
out("100 ms. Median (min–max) of the runs.")
out("")


if pg_runs:
    by_count = {}
    for report in pg_runs:
        for pg_store in [report.get("postgresStore")] + report.get("postgresScaling", []):
            if pg_store:
                by_count.setdefault(pg_store["collectors"], []).append(pg_store)
    out(f"| collectors | spans per collector CPU-s (≥ 100k) | spans per PostgreSQL CPU-s (≥ 150k) | bytes per span (≤ 85) | lock waits (< 1 %) | deadlocks | trace by ID p99 (autovacuum running / done) | search p99 | attribute search p99 | logs by correlation ID p99 |")
    out("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for count in sorted(by_count):
        stores = by_count[count]
        def q(key):
            return spread([s["queries"][key]["latencyMs"]["p99"] for s in stores if key in s["queries"]], 2, suffix=" ms")
        out(f"| {count} | {spread([s['ingest']['spansPerCPUSecond'] for s in stores])} | "
            f"{spread([s['ingest'].get('spansPerPostgresCPUSecond') for s in stores])} | {spread([s['bytesPerSpan'] for s in stores], 1)} | "
            f"{spread([s['ingest'].get('postgresLockWaitShare') for s in stores], 2, 100, ' %')} | "
            f"{spread([s['ingest'].get('postgresDeadlocks') for s in stores])} | {q('traceByID')} / {q('traceByIDSettled')} | {q('searchServiceOperationDuration')} | "
            f"{q('searchAttribute')} | {q('logsByCorrelationID')} |")
    out("")
    signal_runs = [r["postgresSignals"] for r in pg_runs if r.get("postgresSignals")]
    if signal_runs:
        first = signal_runs[0]
        parts = []
        for key, name in [("signals", "signals per service"), ("signalsByOperation", "signals per operation"), ("slos", "SLO status")]:
            parts.append(f"{name} p99 {spread([r['queries'][key]['latencyMs']['p99'] for r in signal_runs if key in r['queries']], 2, suffix=' ms')}")
        out(f"Golden signals and SLO status on PostgreSQL ({first['services'] * first['operations']} keys, hourly over "
            f"{first['days']} d = {first['spans']:,} spans, {first['sloCount']} SLOs; target ≤ 100 ms): " + "; ".join(parts) + ".")
        out("")
    spans = (pg_runs[0].get("postgresStore") or {}).get("spans", 0)
    out(f"{len(pg_runs)} run(s) of {spans:,} spans{pg_short}. Command: {command('store-bench-postgres-1')} (each run the same)")
    out("")
    larges = [r["postgresStore"] for r in numbered_runs("store-bench-postgres-large") if r.get("postgresStore")]
    large_short = shortfall("store-bench-postgres-large", len(larges))
    if larges:
        def large_query(key, percentile):
            return [l["queries"][key]["latencyMs"][percentile] for l in larges if key in l["queries"]]
        settled_p99 = large_query("traceByIDSettled", "p99")
        settled = median(settled_p99) if settled_p99 else 1e9
        out(f"At {larges[0]['spans']:,} spans, 1 collector, {len(larges)} run(s), median (min–max): "
            f"{spread([l['ingest']['spansPerCPUSecond'] for l in larges])} spans per collector CPU-second, "
            f"{spread([l['ingest'].get('spansPerPostgresCPUSecond') for l in larges])} per PostgreSQL CPU-second, "
            f"{spread([l['bytesPerSpan'] for l in larges], 1)} B/span, trace by ID p50 {spread(large_query('traceByID', 'p50'), 2)} / "
            f"p99 {spread(large_query('traceByID', 'p99'), 2)} ms while autovacuum ran, p50 "
            f"{spread(large_query('traceByIDSettled', 'p50'), 2)} / p99 {spread(settled_p99, 2)} ms once it was done "
            f"(issue 19's ≤ 5 ms at 10M: {verdict(settled <= 5 and not large_short)}; DESIGN §9's ≤ 2 ms: "
            f"{verdict(settled <= 2 and not large_short)}){large_short}. "
            f"Command: {command('store-bench-postgres-large')} (each run the same)")
        out("")
else:
    out("Not measured: no PostgreSQL run (see `Benchmarks/.results/store-bench-postgres*.err`).")
    out("")

# Sections measured by hand ("hand-written" in their heading, or "written by hand" in their
# text, as the soak's) are kept from the file being replaced, after the generated ones: a rerun
# does not erase them.
previous = ""
if os.path.exists(OUTPUT):
    with open(OUTPUT) as handle:
        previous = handle.read()
kept = [part for part in previous.split("\n## ")[1:]
        if "hand-written" in part.split("\n", 1)[0] or "written by hand" in part]
for part in kept:
    out("## " + part.rstrip("\n"))
    out("")

out("## Not measured yet")
out("")
if not tail_runs:
    out("- File tailing throughput and the agent's RSS under it (DESIGN §9 row 2): the tail benchmark did not run or failed.")
out("- A peer tailing the same file (Fluent Bit, Vector): not installable here.")
out("- Jaeger UI beside the web UI (DESIGN §9's last row): an npm build; npm is not reachable here.")
if not store:
    out("- Trace by ID on a 10M-span store, trace search, golden signals / SLO status over 30 days.")
    out("- The collector's saturation rate: runs above offer a fixed rate; the ingest row is CPU cost per span.")
elif store["spans"] < 10_000_000:
    out(f"- Trace by ID and searches on a 10M-span store: this run stored {store['spans']:,} spans "
        f"(`--spans` of `periscope-store-bench`; `STORE_BENCH_SPANS` of `make bench`).")
out("")

with open(OUTPUT, "w") as handle:
    handle.write("\n".join(lines) + "\n")
