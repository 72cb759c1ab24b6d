#!/usr/bin/env bash
# `make demo`: builds Periscope, starts a collector (embedded SQLite store) and an agent on
# free loopback ports, runs the instrumented example service (two services, over HTTP)
# under load, then shows traces, logs by correlation ID, golden signals and SLO burn rates
# through the CLI — and stops all it started.
# DEMO_STORE=postgres: two collectors share a private PostgreSQL 15 store instead; the agent
# ships to both, and one of them is killed (kill -9) before the queries, which the other answers.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

requests=${DEMO_REQUESTS:-120}
store=${DEMO_STORE:-sqlite}
case "$store" in sqlite|postgres) ;; *) echo "DEMO_STORE must be sqlite or postgres, got '$store'" >&2; exit 2 ;; esac
bash Scripts/install-prerequisites.sh
echo "==> building (debug; first build takes a few minutes)"
swift build 2>&1 | grep -E "error|warning: .*Sources|Compiling|Build complete" | grep -v "^\[" || true
bin=$(swift build --show-bin-path)

demo=.demo
rm -rf "$demo"
mkdir -p "$demo"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$demo/token"
echo >> "$demo/token"

pids=()
pg_pid=""
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_pid" ]; then kill -INT "$pg_pid" 2>/dev/null || true; wait "$pg_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# Waits for "listening on HOST:PORT" in a process's output file and prints PORT.
wait_port() {
  local file=$1 name=$2
  for _ in $(seq 1 300); do
    if line=$(grep -m1 "listening on" "$file" 2>/dev/null); then
      echo "${line##*:}"
      return 0
    fi
    sleep 0.1
  done
  echo "$name did not start; its log:" >&2
  cat "$file" "$file.err" >&2 || true
  exit 1
}

store_args=()
if [ "$store" = postgres ]; then
  pg_bin=/usr/lib/postgresql/15/bin
  echo "==> starting a private PostgreSQL 15 in $demo/postgres"
  mkdir -p "$demo/postgres"
  pg_dir=$(realpath "$demo/postgres")
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$demo/postgres"
    as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
  (cd /tmp && "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U periscope -A trust -E UTF8 --locale=C) >"$demo/postgres.init.log" 2>&1
  pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd /tmp && exec "${as_pg[@]}" "$pg_bin/postgres" -D "$pg_dir/data" -p "$pg_port" -k "$pg_dir" -c listen_addresses=127.0.0.1) \
    >"$demo/postgres.log" 2>&1 &
  pg_pid=$!
  for _ in $(seq 1 100); do "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.1; done
  "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U periscope periscope
  store_args=(--store "postgres://periscope@127.0.0.1:$pg_port/periscope")
  echo "    PostgreSQL on 127.0.0.1:$pg_port, database periscope"
fi

echo "==> periscope-collector --check   (the configuration and SLO file as the collector reads them; a CI step)"
"$bin/periscope-collector" --listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --data "$demo/collector-data" --token-file "$demo/token" \
  --slo Examples/slo.yaml "${store_args[@]}" --check | sed 's/^/  /'

echo "==> starting periscope-collector"
"$bin/periscope-collector" --listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --data "$demo/collector-data" --token-file "$demo/token" \
  --slo Examples/slo.yaml "${store_args[@]}" \
  >"$demo/collector.out" 2>"$demo/collector.out.err" &
pids+=($!)
collector_port=$(wait_port "$demo/collector.out" periscope-collector)
collector="http://127.0.0.1:$collector_port"
collectors="$collector"
if [ "$store" = postgres ]; then
  echo "    collector A on $collector (store: PostgreSQL)"
  "$bin/periscope-collector" --listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --data "$demo/collector-b-data" --token-file "$demo/token" \
    --slo Examples/slo.yaml "${store_args[@]}" \
    >"$demo/collector-b.out" 2>"$demo/collector-b.out.err" &
  collector_b_pid=$!
  pids+=($collector_b_pid)
  collector_b="http://127.0.0.1:$(wait_port "$demo/collector-b.out" periscope-collector)"
  collectors="$collector,$collector_b"
  echo "    collector B on $collector_b (the same store); the agent ships to both"
else
  echo "    collector on $collector (data in $demo/collector-data)"
fi

echo "==> starting periscope-agent (sidecar of checkout: host metrics every 2 s are its saturation)"
cat > "$demo/agent.yaml" <<YAML
service: checkout
host_metrics_interval: 2s
YAML
"$bin/periscope-agent" --config "$demo/agent.yaml" --otlp-listen 127.0.0.1:0 --otlp-grpc-listen 127.0.0.1:0 --collector "$collectors" \
  --token-file "$demo/token" --data "$demo/agent-data" >"$demo/agent.out" 2>"$demo/agent.out.err" &
pids+=($!)
agent_port=$(wait_port "$demo/agent.out" periscope-agent)
echo "    agent OTLP/HTTP receiver on http://127.0.0.1:$agent_port"

echo "==> running the example service: $requests checkout requests (checkout → inventory over HTTP);"
echo "    in the second half an error burst and a latency spike (--fault both) burn the SLOs' budgets"
"$bin/periscope-example" demo --agent "http://127.0.0.1:$agent_port" --requests "$requests" --fault both \
  >"$demo/example.out" 2>"$demo/example.err"
grep -c '^trace ' "$demo/example.out" | xargs -I{} echo "    {} traces emitted"
sed -n 's/^\(.*: exported .*\)$/    \1/p' "$demo/example.err"

export PERISCOPE_COLLECTOR="$collector"
export PERISCOPE_TOKEN="$(cat "$demo/token")"
# Give the agent's batcher and shipper a moment to deliver the backend's last spans.
sleep 1
if [ "$store" = postgres ]; then
  kill -9 "$collector_b_pid"
  wait "$collector_b_pid" 2>/dev/null || true
  echo
  echo "==> collector B killed (kill -9); the queries below ask collector A, which reads everything from the shared store"
fi
ok_trace=$(grep '^trace ' "$demo/example.out" | sed -n 1p | cut -d' ' -f2)
error_trace=$(grep '^trace ' "$demo/example.out" | sed -n 7p | cut -d' ' -f2)

echo
echo "==> periscope trace $ok_trace"
"$bin/periscope" trace "$ok_trace"
echo
echo "==> periscope logs --trace $ok_trace"
"$bin/periscope" logs --trace "$ok_trace"
if [ -n "$error_trace" ]; then
  echo
  echo "==> periscope trace $error_trace -v   (a request that failed downstream)"
  "$bin/periscope" trace "$error_trace" -v
  correlation=$("$bin/periscope" --json trace "$error_trace" | python3 -c '
import json, sys
def find(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "correlation_id" and isinstance(value, str):
                return value
            found = find(value)
            if found:
                return found
    elif isinstance(node, list):
        for item in node:
            found = find(item)
            if found:
                return found
    return None
print(find(json.load(sys.stdin)) or "")')
  if [ -n "$correlation" ]; then
    echo
    echo "==> periscope logs --correlation $correlation   (every log line of that request, across services)"
    "$bin/periscope" logs --correlation "$correlation"
  fi
fi
echo
echo "==> periscope traces --status error --limit 5   (the newest failed requests)"
"$bin/periscope" traces --status error --limit 5
echo
echo "==> periscope signals --by operation --since 5m   (golden signals from the rollups)"
"$bin/periscope" signals --by operation --since 5m
echo
echo "==> periscope slo   (error budgets and burn-rate alerts from Examples/slo.yaml)"
"$bin/periscope" slo
echo
echo "==> GET $collector/metrics   (the same SLOs for Prometheus to scrape; the 1h burn rates and alerts shown)"
python3 - "$collector/metrics" "$demo/token" <<'PY'
import sys, urllib.request
token = open(sys.argv[2]).read().strip()
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + token})
lines = urllib.request.urlopen(request, timeout=30).read().decode().splitlines()
for line in sorted(lines):
    if line.startswith("periscope_slo_alert_firing") or (line.startswith("periscope_slo_burn_rate") and 'window="1h"' in line):
        print("  " + line)
PY
echo
echo "==> $collector/ui/   (the web UI: sign in with the token in $demo/token; traces, waterfalls, comparisons, logs, dependencies, signals, SLOs)"
python3 - "$collector" "$demo/token" <<'PY'
import html, http.cookiejar, re, sys, urllib.parse, urllib.request
base, token = sys.argv[1], open(sys.argv[2]).read().strip()
browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
page = browser.open(base + "/ui/login", data=urllib.parse.urlencode({"token": token}).encode(), timeout=30).read().decode()
traces = re.findall(r'class="trace-id" href="/ui/traces/([0-9a-f]{32})"', page)
print(f"  signed in; the trace list shows {len(traces)} traces of the last hour, newest {traces[0] if traces else 'none'}")
deps = browser.open(base + "/ui/dependencies?since=1h", timeout=30).read().decode()
cell = r'<td>(?:<a [^>]*>)?([^<]*)(?:</a>)?</td>'
calls = re.findall(r'<tr(?: class="failed")?>' + cell + cell + r'<td class="number">(\d+)</td><td class="number">(\d+)', deps)
for caller, callee, count, failed in calls:
    print(f"  dependencies page: {html.unescape(caller)} → {html.unescape(callee)}, {count} calls, {failed} failed")
if not calls:
    print("  dependencies page: no calls between services yet")
PY
echo
if [ "$store" = postgres ]; then
  echo "Demo done; stopping the collector, the agent and PostgreSQL. Data stays in $demo/postgres — to look again:"
  echo "  setpriv --reuid=postgres --regid=postgres --init-groups -- $pg_bin/postgres -D $pg_dir/data -p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 &   (without setpriv unless root)"
  echo "  $bin/periscope-collector --listen 127.0.0.1:4400 --data $demo/collector-data --token-file $demo/token ${store_args[*]} &"
else
  echo "Demo done; stopping the collector and the agent. Data stays in $demo/ — to look again:"
  echo "  $bin/periscope-collector --listen 127.0.0.1:4400 --data $demo/collector-data --token-file $demo/token &"
fi
echo "  PERISCOPE_TOKEN=\$(cat $demo/token) $bin/periscope trace $ok_trace"
echo "  or open http://127.0.0.1:4400/ui/ in a browser and sign in with the token in $demo/token"
