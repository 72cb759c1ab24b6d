#!/usr/bin/env bash
# `make fuzz`: builds the fuzz targets with libFuzzer and AddressSanitizer and runs each for
# FUZZ_SECONDS (default 60) from the seed corpus in Fuzz/Corpus. A crash, a sanitizer report
# or a broken invariant stops the run with the input that caused it under Fuzz/.findings/;
# replay it with `Fuzz/.build/release/TARGET Fuzz/.findings/TARGET/crash-…`.
set -euo pipefail
FUZZ="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SWIFT="${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}"
seconds="${FUZZ_SECONDS:-60}"
targets=(OTLPDecodeFuzz DecompressFuzz LogLinesFuzz TextFuzz QueueRecordFuzz CheckedLineFuzz StoredSpanBlockFuzz StoredLogBlockFuzz PartitionHeaderFuzz RollupBucketFuzz ProtocolFuzz OTelEnvironmentFuzz StoreURLFuzz JaegerQueryFuzz WebUIFuzz)

for target in "${targets[@]}"; do
  "$SWIFT" build -c release --package-path "$FUZZ" --product "$target" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld -Xswiftc -g 2>&1 | grep -Ev "^\[|Cannot export local symbol|unhandled|CMakeLists" || true
done
bin="$("$SWIFT" build -c release --package-path "$FUZZ" --show-bin-path)"

status=0
for target in "${targets[@]}"; do
  findings="$FUZZ/.findings/$target"
  work="$FUZZ/.corpus/$target"  # what libFuzzer learns; the committed seeds stay as they are
  mkdir -p "$findings" "$work"
  echo "=== $target for ${seconds}s"
  if ! "$bin/$target" "$work" "$FUZZ/Corpus/$target" -max_total_time="$seconds" -max_len=65536 \
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" 2>"$findings/log"; then
    status=1
    echo "$target failed; its log ends:"
  fi
  grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|Fatal|Test unit written" "$findings/log" || true
done
exit $status
