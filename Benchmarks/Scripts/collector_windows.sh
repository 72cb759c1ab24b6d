#!/usr/bin/env bash
# Steady span load for SECONDS through `periscope-load` (2 services × RATE spans/s, no logs), and
# every 20 s the collector's CPU per span and bytes written per span in that window (utime+stime
# from /proc/PID/stat, wchar from /proc/PID/io): how the collector's cost changes as a day's
# indexes grow, which a 20 s load run does not show. Writes OUT.json and OUT.txt (periscope-load's
# report) and prints one line per full window the collector was up for (the load stops it at the end).
#
#   Benchmarks/Scripts/collector_windows.sh BIN_DIR SECONDS RATE OUT
#
# BIN_DIR holds periscope-agent and periscope-collector (release builds). FRESHNESS_SAMPLES
# (default 100) is passed to periscope-load; 0 turns the freshness probes off.
set -euo pipefail

[ $# -eq 4 ] || { echo "usage: $0 BIN_DIR SECONDS RATE OUT" >&2; exit 2; }
bin="$(cd "$1" && pwd)"; seconds="$2"; rate="$3"; out="$4"
[[ "$seconds" =~ ^[0-9]+$ && "$rate" =~ ^[0-9]+$ && "$seconds" -ge 20 && "$rate" -ge 1 ]] \
  || { echo "SECONDS (at least 20) and RATE must be whole numbers" >&2; exit 2; }
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOAD="$(ls "$BENCH"/.build/*/release/periscope-load 2>/dev/null | head -n 1)"
[ -x "$LOAD" ] || { echo "build the benchmarks first: swift build -c release --package-path Benchmarks --product periscope-load" >&2; exit 2; }

"$LOAD" --bin-dir "$bin" --freshness-samples "${FRESHNESS_SAMPLES:-100}" --services 2 --spans-per-second "$rate" \
  --logs-per-second 0 --duration "$seconds" --max-spans $((rate * seconds + 1)) --json-out "$out.json" > "$out.txt" 2>&1 &
load=$!

pid=""
for _ in $(seq 1 120); do
  pid="$(pgrep -f "^$bin/periscope-collector" | head -n 1 || true)"
  [ -n "$pid" ] && break
  sleep 0.5
done
[ -n "$pid" ] || { echo "the collector did not start; see $out.txt" >&2; wait "$load" || true; exit 1; }

ticks="$(getconf CLK_TCK)"
window_spans=$((2 * rate * 20))
previous_cpu=""; previous_written=""; elapsed=0
while [ "$elapsed" -lt "$seconds" ] && kill -0 "$pid" 2> /dev/null; do
  sleep 20
  elapsed=$((elapsed + 20))
  cpu="$(awk '{print $14 + $15}' "/proc/$pid/stat" 2> /dev/null || true)"
  written="$(awk '/^wchar/ {print $2}' "/proc/$pid/io" 2> /dev/null || true)"
  [ -n "$cpu" ] && [ -n "$written" ] || break
  if [ -n "$previous_cpu" ] || [ "$elapsed" = 20 ]; then
    awk -v t="$elapsed" -v c="$cpu" -v pc="${previous_cpu:-0}" -v w="$written" -v pw="${previous_written:-0}" \
      -v hz="$ticks" -v n="$window_spans" 'BEGIN {
        printf "t=%4d s  collector CPU-µs per span %.2f  written MB/s %.1f  bytes written per span %.0f\n",
          t, (c - pc) / hz / n * 1e6, (w - pw) / 20 / 1e6, (w - pw) / n }'
  fi
  previous_cpu="$cpu"; previous_written="$written"
done
wait "$load" || echo "periscope-load exited with $? (see $out.txt)" >&2
grep -v "^{" "$out.txt" | tail -n 11
