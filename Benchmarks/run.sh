#!/usr/bin/env bash
# `make bench`: builds the main package and the benchmarks in release mode, runs the SDK
# micro-benchmarks (ordo-one/benchmark, Periscope next to swift-otel), the end-to-end load
# runs (periscope-load against the release agent and collector, plus the Python
# opentelemetry-sdk peer), the agent's file-tailing throughput (periscope-tail-bench), the
# collector's store (periscope-store-bench), and rewrites BENCHMARKS.md from what was measured.
#
# Every step is bounded, and every figure comes from several runs (3 by default), shown as the
# median with its range. Once dependencies are built the whole run takes about 50–90 minutes on a 2-core machine
# (53 on 2026-12-06),
# most of it the load ladder, the tailing peers and the store benchmarks (a first build from
# scratch adds the compile time of swift-otel and the harness); LOAD_RUNS, SDK_RUNS, TAIL_BENCH_MIB,
# STORE_BENCH_RUNS, STORE_BENCH_SPANS, PG_BENCH_RUNS and PG_BENCH_LARGE_SPANS make it shorter.
set -euo pipefail

# Run counts are checked before anything runs: a bad one found an hour in would leave no report.
for count in LOAD_RUNS SDK_RUNS STORE_BENCH_RUNS PG_BENCH_RUNS; do
  value="${!count:-3}"
  [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "$count must be a whole number of at least 1 (got '$value')" >&2; exit 2; }
done

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
SWIFT="${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}"
RESULTS="$BENCH/.results"
RELEASE_SCRATCH="$ROOT/.build-release"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

step() { printf '\n=== %s\n' "$*"; }

# The name of run N of a benchmark: NAME for the first, NAME-runN after it (what the report groups by).
run_name() { if [ "$2" = 1 ]; then echo "$1"; else echo "$1-run$2"; fi; }

# Runs one command line, recording it (for BENCHMARKS.md) and its output under $RESULTS/$1.
record() {
  local name="$1"; shift
  printf '%q ' "$@" | sed 's/ $//' > "$RESULTS/$name.command"
  echo "+ $(cat "$RESULTS/$name.command")"
  set +e
  timeout "${STEP_TIMEOUT:-600}" "$@" > "$RESULTS/$name.out" 2> "$RESULTS/$name.err"
  local status=$?
  set -e
  echo "$status" > "$RESULTS/$name.status"
  tail -n 25 "$RESULTS/$name.out"
  [ "$status" = 0 ] || { echo "(exit $status; stderr tail:)"; tail -n 5 "$RESULTS/$name.err"; }
}

step "machine"
{
  echo "cores=$(nproc)"
  echo "memory_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
  echo "cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "swift=$("$SWIFT" --version 2>/dev/null | head -n 1)"
  echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$RESULTS/machine.env"

step "release build of the main package (scratch path .build-release)"
timeout 1500 "$SWIFT" build -c release --package-path "$ROOT" --scratch-path "$RELEASE_SCRATCH" \
  --product periscope-collector
timeout 1500 "$SWIFT" build -c release --package-path "$ROOT" --scratch-path "$RELEASE_SCRATCH" \
  --product periscope-agent
BIN="$("$SWIFT" build -c release --package-path "$ROOT" --scratch-path "$RELEASE_SCRATCH" --show-bin-path)"

step "release build of the benchmarks package"
timeout 2400 "$SWIFT" build -c release --package-path "$BENCH"
LOAD="$("$SWIFT" build -c release --package-path "$BENCH" --show-bin-path)/periscope-load"

step "SDK micro-benchmarks (ordo-one/benchmark)"
# One process per SDK and run: a single run of both was killed by the kernel's OOM killer at 24 GiB,
# and either alone stays far below that. SDK_RUNS runs (default 3) of each, the two SDKs in turn so
# that both share the machine's moments; BENCHMARKS.md shows each figure's median (min–max) over the
# runs. Each run's JMH file is rendered later; the plugin's own text tables are in .results/sdk-*.out.
for run in $(seq 1 "${SDK_RUNS:-3}"); do
  for sdk in Periscope swift-otel; do
    name="$(run_name "sdk-$sdk" "$run")"
    rm -rf "$RESULTS/$name"
    mkdir -p "$RESULTS/$name"
    STEP_TIMEOUT=900 record "$name" "$SWIFT" package --package-path "$BENCH" --allow-writing-to-package-directory \
      benchmark --target SDKBenchmarks --filter "$sdk .*" --format jmh --path "$RESULTS/$name" --no-progress
    if [ -f "$RESULTS/$name/Current_run.jmh.json" ]; then
      mv "$RESULTS/$name/Current_run.jmh.json" "$RESULTS/$name.jmh.json"
    fi
  done
done

step "end-to-end load (periscope-load)"
LOAD_COMMON=(--bin-dir "$BIN" --freshness-samples 100)
# Each load runs LOAD_RUNS times (default 3), as NAME, NAME-run2, …; BENCHMARKS.md shows the median
# and the range of each figure.
load_runs() {
  local name="$1"; shift
  for run in $(seq 1 "${LOAD_RUNS:-3}"); do
    local as; as="$(run_name "$name" "$run")"
    record "$as" "$LOAD" "${LOAD_COMMON[@]}" "$@" --json-out "$RESULTS/$as.json"
  done
}
# Spans only: bytes on the wire and on disk per span.
load_runs load-spans --services 2 --spans-per-second 2000 --logs-per-second 0 --duration 20
# Logs only: the same per log record.
load_runs load-logs --services 2 --spans-per-second 0 --logs-per-second 2000 --duration 20
# The mixed load of the brief, then higher rates until one loses data, falls behind or lets the
# freshness p99 pass 2 s (DESIGN §9's end-to-end row asks for 100k + 100k; the rates past it find the knee).
for rate in 2000 5000 7500 10000 15000 20000 25000 35000 50000 65000 80000; do
  # --max-spans: periscope-load's default cap (1M spans per service) would cut the rates past 50k short of 20 s.
  load_runs "load-mixed-$rate" --services 2 --spans-per-second "$rate" --logs-per-second "$rate" --duration 20 \
    --max-spans $((rate * 20 + 1))
  # Stop at the first rate not sustained and fresh in every run: higher ones only take longer to fail.
  python3 "$BENCH/Scripts/load_verdict.py" "$RESULTS" "load-mixed-$rate" "${LOAD_RUNS:-3}" || break
done

# The answer row's rate again with each service's traces and logs at their own moment of the tick,
# as independent exporters' timers fall (the ladder sends all four streams at the same instant).
load_runs load-spread-7500 --services 2 --spans-per-second 7500 --logs-per-second 7500 --duration 20 --phase spread

step "answer latency: sequential one-span requests, agent against the collector directly"
# Three runs, interleaved request by request, so both sides share the machine's moment.
for run in 1 2 3; do
  record "latency-sequential-$run" "$LOAD" --bin-dir "$BIN" --sequential-requests 150 \
    --json-out "$RESULTS/latency-sequential-$run.json"
done

step "Python opentelemetry-sdk at its defaults: through the agent against straight to the collector"
# BatchSpanProcessor defaults (queue 2048, batches of 512): spans made faster than exported are
# dropped by the SDK. Three pairs of runs; what the collector stored is the measure.
for run in 1 2 3; do
  for target in collector agent; do
    record "python-defaults-$target-$run" "$LOAD" "${LOAD_COMMON[@]}" --client-target "$target" --client-may-drop \
      --client-command "python3 '$BENCH/Peers/otel_python_client.py' --spans 50000 --sdk-defaults" \
      --json-out "$RESULTS/python-defaults-$target-$run.json"
  done
done

step "Periscope's SDK at its defaults: the highest lossless rate of spans + logs through the agent"
# The bench process is the instrumented service; lossless = the exporter dropped and failed
# nothing, and the collector stored every item. LOAD_RUNS runs of each rate; stops after the first
# rate that loses in any of its runs.
for rate in 50000 100000 150000 200000; do
  held=yes
  for run in $(seq 1 "${LOAD_RUNS:-3}"); do
    name="$(run_name "sdk-rate-$rate" "$run")"
    record "$name" "$LOAD" --bin-dir "$BIN" --sdk-spans-per-second "$rate" --sdk-logs-per-second "$rate" \
      --duration 10 --json-out "$RESULTS/$name.json"
    [ "$(cat "$RESULTS/$name.status")" = 0 ] || held=no
  done
  [ "$held" = yes ] || break
done

step "peer: Python opentelemetry-sdk as the client"
# LOAD_RUNS runs of each, the two clients in turn (peer-python, peer-generator, peer-python-run2, …).
for run in $(seq 1 "${LOAD_RUNS:-3}"); do
  name="$(run_name peer-python "$run")"
  record "$name" "$LOAD" "${LOAD_COMMON[@]}" \
    --client-command "python3 '$BENCH/Peers/otel_python_client.py' --spans 20000" \
    --json-out "$RESULTS/$name.json"
  # The same number of spans from periscope-load's own client, side by side.
  name="$(run_name peer-generator "$run")"
  record "$name" "$LOAD" "${LOAD_COMMON[@]}" --services 1 --spans-per-second 20000 --logs-per-second 0 \
    --duration 1 --requests-per-second 40 --json-out "$RESULTS/$name.json"
done

step "agent file tailing beside rsyslog and syslog-ng, pinned to one core (periscope-tail-bench, tail_peers.py)"
# DESIGN §9 row 2: the release agent pinned to CPU 1 tails a TAIL_BENCH_MIB MiB file of JSON lines
# (~250 B, written and fsynced before the agent starts) from its beginning and ships it to a counting
# OTLP/HTTP sink in the bench process (CPU 0), which checks every line off by its correlation ID.
# Not the collector as the receiver: it stores ~5k items per CPU-second, far below the ~400k lines/s
# of 100 MiB/s. Fluent Bit and Vector are not installable here (neither Debian's archive nor PyPI).
#
# The peers (Debian's rsyslog and syslog-ng) read the very same file, pinned the same way. The
# machine's speed drifts from minute to minute, so each of the three runs is a round: the agent,
# then at once every forwarding-only peer on that round's file (round 2 the other way round); the
# report takes the ratio per round. The parsing peers, far slower, run three times afterwards on
# the first round's file.
TAIL_BENCH="$("$SWIFT" build -c release --package-path "$BENCH" --show-bin-path)/periscope-tail-bench"
# rsyslog is installed from Debian if missing. syslog-ng conflicts with it as a package (both
# provide system-log-daemon), so its Debian package is unpacked under Benchmarks/.peers instead
# of installed; neither runs as a system service — each run starts its own process by PID.
PEER_CONFIGS="$ROOT/../shared/peers/tail"
forwarding=""; parsing=""
if [ -d "$PEER_CONFIGS" ]; then
  if ! command -v rsyslogd > /dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rsyslog > "$RESULTS/peers-apt.log" 2>&1 || true
  fi
  PEERS="$BENCH/.peers"
  if ! command -v syslog-ng > /dev/null && [ ! -x "$PEERS/syslog-ng/usr/sbin/syslog-ng" ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PEERS"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libivykis0 libnet1 libwrap0 libjson-c5 \
      libglib2.0-0 libpcre3 >> "$RESULTS/peers-apt.log" 2>&1 || true
    (cd "$PEERS" && apt-get download syslog-ng-core >> "$RESULTS/peers-apt.log" 2>&1 \
      && dpkg -x syslog-ng-core_*.deb syslog-ng) || true
  fi
  if [ -x "$PEERS/syslog-ng/usr/sbin/syslog-ng" ]; then
    export SYSLOG_NG="$PEERS/syslog-ng/usr/sbin/syslog-ng" SYSLOG_NG_MODULES="$PEERS/syslog-ng/usr/lib/syslog-ng/3.38" \
      SYSLOG_NG_LIBRARY_PATH="$PEERS/syslog-ng/usr/lib/syslog-ng"
  fi
  command -v rsyslogd > /dev/null && { forwarding="rsyslog-forward"; parsing="rsyslog-mmjsonparse"; }
  if command -v syslog-ng > /dev/null || [ -n "${SYSLOG_NG:-}" ]; then
    forwarding="$forwarding,syslog-ng-forward,syslog-ng-forward-tuned"; parsing="$parsing,syslog-ng-json"
  fi
  forwarding="${forwarding#,}"; parsing="${parsing#,}"
fi
[ -n "$forwarding" ] || echo "skipped: no ../shared/peers/tail configurations, or neither rsyslog nor syslog-ng" \
  | tee "$RESULTS/tail-peers.err"
forward_peers() {
  # tail_peers.py gives each peer run up to 300 s: the step outlasts three that hang.
  [ -n "$forwarding" ] && [ -f "$2/logs/app.log" ] || return 0
  STEP_TIMEOUT=1200 record "tail-peers-forward-$1" python3 "$BENCH/Peers/tail_peers.py" --file "$2/logs/app.log" \
    --peers-dir "$PEER_CONFIGS" --configs "$forwarding" --runs 1 --cpu 1 --sink-cpu 0
}
for run in 1 2 3; do
  name=tail-bench; [ "$run" = 1 ] || name="tail-bench-$run"
  work="$RESULTS/tail-work-$run"
  pin=(); agent_cpus=""
  if command -v taskset > /dev/null && [ "$(nproc)" -ge 2 ]; then pin=(taskset -c 0); agent_cpus=1; fi
  tail_run=("${pin[@]}" "$TAIL_BENCH" --bin-dir "$BIN" --mib "${TAIL_BENCH_MIB:-512}" --agent-cpus "$agent_cpus" \
    --timeout 500 --work-dir "$work" --keep-data --json-out "$RESULTS/$name.json")
  if [ "$run" = 2 ] && [ -n "$forwarding" ]; then
    # Round 2 turns the order round, so that neither side always reads the file first: the file is
    # written alone (--write-only), the peers read it, then the agent (--reuse-file).
    "$TAIL_BENCH" --mib "${TAIL_BENCH_MIB:-512}" --work-dir "$work" --write-only --bin-dir "$BIN" \
      > "$RESULTS/tail-write-$run.out" 2>&1 || echo "writing round $run's file failed: $RESULTS/tail-write-$run.out"
    forward_peers "$run" "$work"
    record "$name" "${tail_run[@]}" --reuse-file
  else
    record "$name" "${tail_run[@]}"
    forward_peers "$run" "$work"
  fi
  # The first round's file stays for the parsing peers.
  [ "$run" = 1 ] || rm -rf "$work"
done
if [ -n "$parsing" ] && [ -f "$RESULTS/tail-work-1/logs/app.log" ]; then
  STEP_TIMEOUT=1500 record tail-peers python3 "$BENCH/Peers/tail_peers.py" --file "$RESULTS/tail-work-1/logs/app.log" \
    --peers-dir "$PEER_CONFIGS" --configs "$parsing" --runs 3 --cpu 1 --sink-cpu 0
elif [ -n "$parsing" ]; then
  echo "skipped: the parsing peers had no file (the first tail-bench run kept none)" | tee "$RESULTS/tail-peers.err"
fi
rm -rf "$RESULTS/tail-work-1"

step "store: the collector alone, pinned to one core (periscope-store-bench)"
# Bulk ingest of STORE_BENCH_SPANS spans (traces of 10, plus a log per trace) into a collector
# pinned to CPU 1, then trace by ID, searches, logs by correlation ID, bytes per span, the web UI's
# pages (and a 10,000-span trace's page in headless Chromium, on the client's CPU), and 30 days
# of hourly server spans for golden signals / SLO status (plus the same spans as kind=internal for
# the rollup cost). The client is pinned to CPU 0. Span start times follow the spans' numbers
# across the day (a day replayed as live traffic arrives); the backfill run below spreads them at
# random. DESIGN §9 states 10M spans, the default here (a few minutes of ingest on one core);
# smaller for a quick look: STORE_BENCH_SPANS=2000000 make bench.
STORE_BENCH="$("$SWIFT" build -c release --package-path "$BENCH" --show-bin-path)/periscope-store-bench"
# STORE_BENCH_RUNS runs (default 3), as store-bench, store-bench-run2, …; BENCHMARKS.md shows each
# figure's median (min–max). The rollup comparison (five rounds of its own, median shown) runs in the
# first only. Then the same ingest as a backfill: start times random over the day, so every batch
# touches the whole day's indexes and rollups (a smaller run; ingest only), as often.
pin=(); collector_cpus=""
if command -v taskset > /dev/null && [ "$(nproc)" -ge 2 ]; then pin=(taskset -c 0); collector_cpus=1; fi
for run in $(seq 1 "${STORE_BENCH_RUNS:-3}"); do
  name="$(run_name store-bench "$run")"
  rollups=(); [ "$run" = 1 ] || rollups=(--skip-rollup-comparison)
  STEP_TIMEOUT="${STORE_BENCH_TIMEOUT:-1500}" record "$name" "${pin[@]}" "$STORE_BENCH" --bin-dir "$BIN" \
    --spans "${STORE_BENCH_SPANS:-10000000}" "${rollups[@]}" --collector-cpus "$collector_cpus" \
    --web-timing-script "$BENCH/Scripts/web_ui_timing.py" --json-out "$RESULTS/$name.json"
done
for run in $(seq 1 "${STORE_BENCH_RUNS:-3}"); do
  name="$(run_name store-bench-random "$run")"
  STEP_TIMEOUT=900 record "$name" "${pin[@]}" "$STORE_BENCH" --bin-dir "$BIN" --spans 200000 \
    --arrival random --skip-signals --skip-rollup-comparison --skip-web --repetitions 50 --collector-cpus "$collector_cpus" \
    --json-out "$RESULTS/$name.json"
done

step "store: PostgreSQL beside SQLite, 1, 2 and 3 collectors (periscope-store-bench --postgres)"
# Issue 19's figures: a private PostgreSQL 15 in the work directory (pinned to CPU 0, collectors
# to CPU 1), PG_BENCH_RUNS runs (default 3) of PG_BENCH_SPANS spans (default 2M) with 1, 2 and 3
# collectors on one database, golden signals and SLO status on it too; then PG_BENCH_RUNS runs of
# PG_BENCH_LARGE_SPANS spans (default 10M, 0 to skip) with one collector, for trace by ID at that size.
if ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1; then
  for run in $(seq 1 "${PG_BENCH_RUNS:-3}"); do
    STEP_TIMEOUT="${STORE_BENCH_TIMEOUT:-1500}" record "store-bench-postgres-$run" "$STORE_BENCH" --bin-dir "$BIN" \
      --spans "${PG_BENCH_SPANS:-2000000}" --skip-store --skip-rollup-comparison --postgres --postgres-collectors 1,2,3 \
      --json-out "$RESULTS/store-bench-postgres-$run.json"
  done
  if [ "${PG_BENCH_LARGE_SPANS:-10000000}" != 0 ]; then
    for run in $(seq 1 "${PG_BENCH_RUNS:-3}"); do
      name="$(run_name store-bench-postgres-large "$run")"
      STEP_TIMEOUT="${STORE_BENCH_TIMEOUT:-1500}" record "$name" "$STORE_BENCH" --bin-dir "$BIN" \
        --spans "${PG_BENCH_LARGE_SPANS:-10000000}" --skip-store --skip-signals --skip-rollup-comparison --postgres \
        --postgres-collectors 1 --json-out "$RESULTS/$name.json"
    done
  fi
else
  echo "skipped: no PostgreSQL server binaries (make prerequisites installs them)" | tee "$RESULTS/store-bench-postgres.err"
fi

step "rewriting BENCHMARKS.md"
python3 "$BENCH/Scripts/render_benchmarks.py" "$RESULTS" "$ROOT/BENCHMARKS.md"
echo "wrote $ROOT/BENCHMARKS.md"
