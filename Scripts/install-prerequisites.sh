#!/usr/bin/env bash
# Installs what building and testing Periscope needs beyond the Swift toolchain:
# the system C libraries (zstd, SQLite, zlib), PostgreSQL 15, Prometheus and Alertmanager (the tests
# start private servers of each), Chromium and its WebDriver (the web UI's tests), Python's
# OpenTelemetry SDK, the test peer, and selenium, which drives Chromium.
# Fast when everything is already there.
set -euo pipefail

packages=(libzstd-dev libsqlite3-dev zlib1g-dev postgresql-15 prometheus prometheus-alertmanager chromium chromium-driver)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing ${missing[*]}"
  $sudo apt-get update -qq
  # The packages would start their own servers (PostgreSQL on 5432, Prometheus on every
  # address's 9090): the tests start private ones on free loopback ports instead.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # Removed however the install ends, so later packages on this machine start as usual.
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, opentelemetry.exporter.otlp.proto.grpc" >/dev/null 2>&1; then
  echo "installing the Python OpenTelemetry SDK (test peer)"
  python3 -m pip install -q --disable-pip-version-check \
    "opentelemetry-sdk==1.45.2" "opentelemetry-exporter-otlp-proto-http==1.45.2" "opentelemetry-exporter-otlp-proto-grpc==1.45.2"
fi

if ! python3 -c "import selenium" >/dev/null 2>&1; then
  echo "installing selenium (drives Chromium in the web UI's tests)"
  python3 -m pip install -q --disable-pip-version-check "selenium==4.40.0"
fi
