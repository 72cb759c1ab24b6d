#!/usr/bin/env bash
# Regenerates the Swift code for the OTLP messages from Sources/OTLP/Proto.
# Needs protoc (apt-get install protobuf-compiler). protoc-gen-swift is built from the
# swift-protobuf checkout this package resolved, so the generated code matches the runtime.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
proto_dir="$root/Sources/OTLP/Proto"
out_dir="$root/Sources/OTLP/Generated"

plugin=${PROTOC_GEN_SWIFT:-}
if [ -z "$plugin" ]; then
  (cd "$root" && swift package resolve)
  checkout="$root/.build/checkouts/swift-protobuf"
  (cd "$checkout" && swift build -c release --product protoc-gen-swift --scratch-path "$root/.build-protoc")
  plugin="$root/.build-protoc/release/protoc-gen-swift"
fi

rm -rf "$out_dir"
mkdir -p "$out_dir"
cd "$proto_dir"
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_out="$out_dir" \
  --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=PathToUnderscores \
  $(find opentelemetry google -name '*.proto' | sort)
echo "generated: $(ls "$out_dir" | wc -l) files in $out_dir"
