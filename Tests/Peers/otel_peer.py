#!/usr/bin/env python3
"""A real OpenTelemetry client that Periscope did not write: Python's opentelemetry-sdk
with the OTLP/HTTP protobuf exporters or the OTLP/gRPC exporters (gzip). It sends one known
trace (two spans in two requests, every attribute value type, an event, a link, an error
status), one log record inside the child span and one counter, then prints what it sent as
JSON so the test can compare exactly."""
import argparse
import json
import logging
import time

from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True,
                        help="http: the base URL (http://127.0.0.1:4318); grpc: HOST:PORT (127.0.0.1:4317)")
    parser.add_argument("--protocol", choices=["http", "grpc"], default="http")
    parser.add_argument("--token", help="bearer token sent as the authorization header or metadata")
    parser.add_argument("--service", default="py-orders")
    args = parser.parse_args()
    headers = {"authorization": f"Bearer {args.token}"} if args.token else None

    if args.protocol == "grpc":
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        common = {"endpoint": args.endpoint, "insecure": True, "compression": Compression.Gzip, "timeout": 10, "headers": headers}
        span_exporter = OTLPSpanExporter(**common)
        log_exporter = OTLPLogExporter(**common)
        metric_exporter = OTLPMetricExporter(**common)
    else:
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        span_exporter = OTLPSpanExporter(endpoint=f"{args.endpoint}/v1/traces", compression=Compression.Gzip, timeout=10, headers=headers)
        log_exporter = OTLPLogExporter(endpoint=f"{args.endpoint}/v1/logs", timeout=10, headers=headers)
        metric_exporter = OTLPMetricExporter(endpoint=f"{args.endpoint}/v1/metrics", timeout=10, headers=headers)

    resource = Resource.create({"service.name": args.service, "service.instance.id": "py-1", "host.name": "peer-host"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    tracer = tracer_provider.get_tracer("periscope-peer-test", "1.0.0")

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))

    meter_provider = MeterProvider(resource=resource, metric_readers=[
        PeriodicExportingMetricReader(metric_exporter, export_interval_millis=60_000)])
    orders = meter_provider.get_meter("periscope-peer-test").create_counter("py.orders.processed", unit="{order}")
    orders.add(3, {"order.kind": "online"})
    log = logging.getLogger("peer")
    log.propagate = False
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
    log.setLevel(logging.INFO)

    base = time.time_ns() - 5_000_000_000
    linked = SpanContext(trace_id=0x0AF7651916CD43DD8448EB211C80319C, span_id=0xB7AD6B7169203331,
                         is_remote=True, trace_flags=TraceFlags(1))
    root = tracer.start_span("GET /orders/{id}", kind=SpanKind.SERVER, start_time=base, attributes={
        "http.request.method": "GET",
        "http.route": "/orders/{id}",
        "http.response.status_code": 200,
        "cache.hit": True,
        "sample.ratio": 0.25,
        "tags": ["a", "b"],
        "counts": [1, 2, 3],
    })
    child = tracer.start_span("SELECT orders", kind=SpanKind.CLIENT, context=trace.set_span_in_context(root),
                              start_time=base + 1_000_000, links=[Link(linked, {"link.kind": "follows"})],
                              attributes={"db.system": "postgresql"})
    child.add_event("retry", attributes={"attempt": 2}, timestamp=base + 2_000_000)
    child.set_status(Status(StatusCode.ERROR, "connection reset"))
    with trace.use_span(child, end_on_exit=False):
        log.warning("order lookup failed", extra={"order.id": "o-42"})
    child.end(end_time=base + 3_500_000)
    root.end(end_time=base + 10_000_000)
    tracer_provider.shutdown()
    logger_provider.shutdown()
    meter_provider.shutdown()

    print(json.dumps({
        "trace_id": format(root.get_span_context().trace_id, "032x"),
        "root_span_id": format(root.get_span_context().span_id, "016x"),
        "child_span_id": format(child.get_span_context().span_id, "016x"),
        "base_ns": base,
    }))


if __name__ == "__main__":
    main()
