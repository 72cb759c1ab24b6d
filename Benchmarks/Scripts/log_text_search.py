#!/usr/bin/env python3
"""Times a log text search that matches nothing against a collector holding RECORDS log records.

Usage: log_text_search.py PORT RECORDS [RUNS]

Sends RECORDS log records of one service to the collector on 127.0.0.1:PORT (started with
--insecure-no-auth), as OTLP/HTTP protobuf requests of 5,000 records, timed in order over the
last six hours. Then asks GET /api/v1/logs?contains=<text no record has> over those six hours
RUNS times (default 3) and prints, for each, the seconds it took, whether the answer was
truncated and where it says to resume. Protobuf is written by hand: the Python SDK's encoder
would take minutes for ten million records.
"""
import http.client
import json
import struct
import sys
import time
import urllib.parse

BATCH = 5_000


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def record(time_ns, body):
    text = field(1, body)  # AnyValue.string_value
    return field(2, b"\x09" + struct.pack("<Q", time_ns) + b"\x10\x09" + field(5, text))  # ScopeLogs.log_records


def request(first, count, base, step):
    records = b"".join(
        record(base + (first + index) * step, b"GET /api/items/%d answered 200 in %d ms" % (first + index, (first + index) % 97))
        for index in range(count))
    service = field(1, field(1, b"service.name") + field(2, field(1, b"bench-logs")))  # Resource.attributes
    return field(1, field(1, service) + field(2, records))  # ExportLogsServiceRequest.resource_logs


def main():
    port, total = int(sys.argv[1]), int(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    now = time.time_ns()
    start = now - 6 * 3600 * 10**9
    step = max(1, (now - start) // total)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    began = time.monotonic()
    for first in range(0, total, BATCH):
        body = request(first, min(BATCH, total - first), start, step)
        connection.request("POST", "/v1/logs", body=body, headers={"Content-Type": "application/x-protobuf"})
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            sys.exit(f"ingest answered {answer.status}")
    print(f"sent {total} records in {time.monotonic() - began:.1f} s")
    query = urllib.parse.urlencode({"contains": "no record says this", "start": start, "end": now, "limit": 100})
    for run in range(runs):
        began = time.monotonic()
        connection.request("GET", "/api/v1/logs?" + query)
        answer = connection.getresponse()
        document = json.loads(answer.read())
        elapsed = time.monotonic() - began
        print(json.dumps({"run": run + 1, "status": answer.status, "seconds": round(elapsed, 3),
                          "logs": len(document.get("logs", [])), "truncated": document.get("truncated"),
                          "resumeUnixNano": document.get("resumeUnixNano"), "rangeStart": start, "rangeEnd": now}))


if __name__ == "__main__":
    main()
