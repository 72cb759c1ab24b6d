#!/usr/bin/env bash
# Steady span load for SECONDS through `periscope-load` (2 services × RATE spans/s, no logs), and
# for every 20 s window the collector's CPU per span and the bytes it passed to write calls per
# span (utime+stime from /proc/PID/stat, wchar from /proc/PID/io, the window timed by
# /proc/uptime): how the collector's cost changes as a day's indexes grow, which a 20 s load run
# does not show. Windows count from the moment the collector is found. "Per span" is per span offered
# in the window; the load's own report (OUT.txt, OUT.json), printed at the end, says whether every
# span was stored and how fresh they were, so a collector that fell behind shows there.
#
#   Benchmarks/Scripts/collector_windows.sh BIN_DIR SECONDS RATE OUT
#
# BIN_DIR holds periscope-agent and periscope-collector (release builds). FRESHNESS_SAMPLES
# (default 100) is passed to periscope-load; 0 turns the freshness probes (traces by ID) off.
set -euo pipefail

[ $# -eq 4 ] || { echo "usage: $0 BIN_DIR SECONDS RATE OUT" >&2; exit 2; }
bin="$(cd "$1" && pwd)"; seconds="$2"; rate="$3"; out="$4"
# Few enough digits that the shell's 64-bit arithmetic below cannot overflow.
[[ "$seconds" =~ ^[0-9]{1,6}$ && "$rate" =~ ^[0-9]{1,7}$ ]] && [ "$seconds" -ge 20 ] && [ "$seconds" -le 86400 ] && [ "$rate" -ge 1 ] \
  || { echo "SECONDS (20 to 86400) and RATE (1 to 9999999) must be whole numbers" >&2; exit 2; }
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOAD="$(ls "$BENCH"/.build/*/release/periscope-load 2> /dev/null | head -n 1 || true)"
[ -n "$LOAD" ] && [ -x "$LOAD" ] \
  || { echo "build the benchmarks first: swift build -c release --package-path Benchmarks --product periscope-load" >&2; exit 2; }

# Bounded: the load plus its drain and checks, with room to spare.
timeout $((seconds * 3 + 300)) "$LOAD" --bin-dir "$bin" --freshness-samples "${FRESHNESS_SAMPLES:-100}" --services 2 \
  --spans-per-second "$rate" --logs-per-second 0 --duration "$seconds" --max-spans $((rate * seconds + 1)) \
  --json-out "$out.json" > "$out.txt" 2>&1 &
runner=$!
trap 'kill "$runner" 2> /dev/null || true' EXIT

# The collector this load started (a child of periscope-load, serving), not a `--help` probe or
# another run's collector from the same directory.
load_pid=""; pid=""
for _ in $(seq 1 120); do
  [ -n "$load_pid" ] || load_pid="$(pgrep -P "$runner" -f periscope-load | head -n 1 || true)"
  [ -n "$load_pid" ] && pid="$(pgrep -P "$load_pid" -f "periscope-collector --listen" | head -n 1 || true)"
  [ -n "$pid" ] && break
  kill -0 "$runner" 2> /dev/null || break
  sleep 0.5
done
[ -n "$pid" ] || { echo "the load's collector did not start; see $out.txt" >&2; exit 1; }

ticks="$(getconf CLK_TCK)"
read_window() {
  cpu="$(awk '{print $14 + $15}' "/proc/$pid/stat" 2> /dev/null || true)"
  written="$(awk '/^wchar/ {print $2}' "/proc/$pid/io" 2> /dev/null || true)"
  now="$(awk '{print $1}' /proc/uptime)"
}
read_window
[ -n "$cpu" ] && [ -n "$written" ] || { echo "cannot read /proc/$pid/stat or /proc/$pid/io" >&2; exit 1; }
previous_cpu="$cpu"; previous_written="$written"; previous_now="$now"; elapsed=0
while [ "$elapsed" -lt "$seconds" ]; do
  sleep 20
  elapsed=$((elapsed + 20))
  read_window
  [ -n "$cpu" ] && [ -n "$written" ] || break
  awk -v t="$elapsed" -v c="$cpu" -v pc="$previous_cpu" -v w="$written" -v pw="$previous_written" \
    -v now="$now" -v before="$previous_now" -v hz="$ticks" -v rate="$rate" 'BEGIN {
      spans = 2 * rate * (now - before)
      printf "t=%4d s  collector CPU-µs per span %.2f  written MB/s %.1f  bytes written per span %.0f\n",
        t, (c - pc) / hz / spans * 1e6, (w - pw) / (now - before) / 1e6, (w - pw) / spans }'
  previous_cpu="$cpu"; previous_written="$written"; previous_now="$now"
done
status=0
wait "$runner" || status=$?
trap - EXIT
grep -v "^{" "$out.txt" | tail -n 11
[ "$status" = 0 ] || { echo "periscope-load exited with $status (see $out.txt)" >&2; exit "$status"; }
