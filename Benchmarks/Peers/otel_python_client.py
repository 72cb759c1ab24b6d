#!/usr/bin/env python3
"""The peer client: Python's opentelemetry-sdk sending spans to periscope-agent.

Creates --spans spans (traces of --spans-per-trace: a server root and its children, like
periscope-load's) as fast as the SDK allows, exported by a BatchSpanProcessor over OTLP/HTTP
protobuf to $PERISCOPE_AGENT_URL, then flushes. Its queue holds every span, so nothing is
dropped client-side; periscope-load checks that the collector stored them all.

With --sdk-defaults the processor keeps the SDK's defaults instead, so a span made while its
queue is full is dropped, as in a real service; `spans` is then what was made, and the
collector's count says how many arrived.

Prints, as its last line, one JSON object of numbers: spans, seconds (creation + flush),
spans_per_second, cpu_seconds (this process's user + system time).
"""
import argparse
import json
import os
import sys
import time

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20000)
    parser.add_argument("--spans-per-trace", type=int, default=4)
    parser.add_argument(
        "--sdk-defaults", action="store_true",
        help="BatchSpanProcessor at the SDK's defaults (queue 2048, batches of 512, 5 s delay): "
             "spans that do not fit its queue are dropped, as in a real service")
    args = parser.parse_args()
    agent = os.environ.get("PERISCOPE_AGENT_URL")
    if not agent:
        print("PERISCOPE_AGENT_URL is not set", file=sys.stderr)
        return 2

    provider = TracerProvider(resource=Resource.create({"service.name": "python-peer"}))
    exporter = OTLPSpanExporter(endpoint=agent.rstrip("/") + "/v1/traces", timeout=30)
    if args.sdk_defaults:
        processor = BatchSpanProcessor(exporter)
    else:
        processor = BatchSpanProcessor(
            exporter,
            max_queue_size=max(2048, args.spans),
            max_export_batch_size=512,
            schedule_delay_millis=200,
        )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("periscope-peer")

    traces = max(1, args.spans // args.spans_per_trace)
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    for number in range(traces):
        with tracer.start_as_current_span("GET /api/orders/{id}", kind=SpanKind.SERVER) as root:
            root.set_attribute("http.request.method", "GET")
            root.set_attribute("http.route", "/api/orders/{id}")
            root.set_attribute("http.response.status_code", 200)
            root.set_attribute("correlation_id", f"corr-{number}")
            for position in range(1, args.spans_per_trace):
                kind = SpanKind.CLIENT if position % 2 else SpanKind.INTERNAL
                with tracer.start_as_current_span("SELECT orders" if position % 2 else "render order", kind=kind):
                    pass
    flushed = provider.force_flush(timeout_millis=120_000)
    seconds = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    provider.shutdown()
    spans = traces * args.spans_per_trace
    print(json.dumps({
        "spans": spans,
        "seconds": round(seconds, 3),
        "spans_per_second": round(spans / seconds, 1),
        "cpu_seconds": round(cpu, 3),
        "flushed": 1 if flushed else 0,
    }))
    return 0 if flushed else 1


if __name__ == "__main__":
    sys.exit(main())
