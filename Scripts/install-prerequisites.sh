#!/usr/bin/env bash
# Installs what building and testing Periscope needs beyond the Swift toolchain:
# the system C libraries (zstd, SQLite, zlib), PostgreSQL 15 (the tests start a private server) and Python's OpenTelemetry SDK, the test peer.
# Fast when everything is already there.
set -euo pipefail

packages=(libzstd-dev libsqlite3-dev zlib1g-dev postgresql-15)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, opentelemetry.exporter.otlp.proto.grpc" >/dev/null 2>&1; then
  echo "installing the Python OpenTelemetry SDK (test peer)"
  python3 -m pip install -q --disable-pip-version-check \
    "opentelemetry-sdk==1.45.2" "opentelemetry-exporter-otlp-proto-http==1.45.2" "opentelemetry-exporter-otlp-proto-grpc==1.45.2"
fi
