#!/usr/bin/env python3
"""Python's OTLP/gRPC log exporter (gzip) sending COUNT records one export at a time, as a
service with SimpleLogRecordProcessor does: each export retries as the server's RetryInfo
says until its timeout. Prints how many exports succeeded and failed as JSON."""
import argparse
import json
import logging
import random
import string

from grpc import Compression
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource


class CountingExporter(OTLPLogExporter):
    succeeded = 0
    failed = 0

    def export(self, batch):
        result = super().export(batch)
        if result == LogRecordExportResult.SUCCESS:
            CountingExporter.succeeded += 1
        else:
            CountingExporter.failed += 1
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--body-bytes", type=int, default=0, help="random text of this length after each record's number")
    args = parser.parse_args()
    provider = LoggerProvider(resource=Resource.create({"service.name": args.service}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(
        CountingExporter(endpoint=args.target, insecure=True, compression=Compression.Gzip, timeout=args.timeout)))
    log = logging.getLogger("burst")
    log.propagate = False
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    log.setLevel(logging.INFO)
    for index in range(args.count):
        padding = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(args.body_bytes))
        log.warning("burst record %d %s", index, padding)
    provider.shutdown()
    print(json.dumps({"succeeded": CountingExporter.succeeded, "failed": CountingExporter.failed}))


if __name__ == "__main__":
    main()
