#!/usr/bin/env python3
"""Writes the seed corpus (Fuzz/Corpus/…): small valid OTLP requests of every signal in
protobuf and OTLP/JSON, built with the opentelemetry-proto package (a peer no one here
wrote), and compressed bodies. The first byte of each seed selects what the fuzz target
does with the rest (see its source)."""
import base64, gzip, json, os, subprocess
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_service
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_service
from opentelemetry.proto.common.v1 import common_pb2 as common

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Corpus")

def attributes():
    return [
        common.KeyValue(key="service.name", value=common.AnyValue(string_value="checkout")),
        common.KeyValue(key="http.response.status_code", value=common.AnyValue(int_value=503)),
        common.KeyValue(key="ratio", value=common.AnyValue(double_value=0.25)),
        common.KeyValue(key="ok", value=common.AnyValue(bool_value=True)),
        common.KeyValue(key="raw", value=common.AnyValue(bytes_value=b"\x00\x01")),
        common.KeyValue(key="list", value=common.AnyValue(array_value=common.ArrayValue(values=[common.AnyValue(string_value="a")]))),
        common.KeyValue(key="map", value=common.AnyValue(kvlist_value=common.KeyValueList(values=[common.KeyValue(key="k", value=common.AnyValue(int_value=1))]))),
    ]

def traces():
    request = trace_service.ExportTraceServiceRequest()
    group = request.resource_spans.add()
    group.resource.attributes.extend(attributes())
    scope = group.scope_spans.add()
    scope.scope.name = "seed"
    for index in range(2):
        span = scope.spans.add()
        span.trace_id = bytes(range(1, 17))
        span.span_id = bytes([index + 1] * 8)
        if index:
            span.parent_span_id = bytes([1] * 8)
        span.name = "GET /inventory/{sku}"
        span.kind = 2
        span.start_time_unix_nano = 1_700_000_000_000_000_000
        span.end_time_unix_nano = 1_700_000_000_250_000_000
        span.attributes.extend(attributes())
        span.status.code = 2
        span.status.message = "boom"
        event = span.events.add()
        event.name = "exception"
        event.time_unix_nano = 1_700_000_000_100_000_000
        link = span.links.add()
        link.trace_id = bytes(range(17, 33))
        link.span_id = bytes([9] * 8)
    return request

def logs():
    request = logs_service.ExportLogsServiceRequest()
    group = request.resource_logs.add()
    group.resource.attributes.extend(attributes())
    record = group.scope_logs.add().log_records.add()
    record.time_unix_nano = 1_700_000_000_000_000_000
    record.severity_number = 17
    record.severity_text = "ERROR"
    record.body.string_value = "payment failed for user@example.com"
    record.attributes.extend(attributes())
    record.trace_id = bytes(range(1, 17))
    record.span_id = bytes([1] * 8)
    return request

def metrics():
    request = metrics_service.ExportMetricsServiceRequest()
    group = request.resource_metrics.add()
    group.resource.attributes.extend(attributes())
    scope = group.scope_metrics.add()
    counter = scope.metrics.add()
    counter.name = "requests"
    counter.sum.is_monotonic = True
    counter.sum.aggregation_temporality = 2
    point = counter.sum.data_points.add()
    point.as_int = 42
    point.time_unix_nano = 1_700_000_000_000_000_000
    gauge = scope.metrics.add()
    gauge.name = "system.cpu.utilization"
    gauge.gauge.data_points.add(as_double=0.5, time_unix_nano=1_700_000_000_000_000_000)
    histogram = scope.metrics.add()
    histogram.name = "http.server.duration"
    histogram.histogram.aggregation_temporality = 1
    h = histogram.histogram.data_points.add(count=3, sum=1.5, time_unix_nano=1_700_000_000_000_000_000)
    h.explicit_bounds.extend([0.1, 1.0])
    h.bucket_counts.extend([1, 1, 1])
    return request

def write(folder, name, data):
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    with open(os.path.join(root, folder, name), "wb") as file:
        file.write(data)

def hex_ids(node):
    """OTLP/JSON carries trace and span IDs as hex, where protobuf JSON has base64."""
    if isinstance(node, dict):
        return {key: (base64.b64decode(value).hex() if key in ("traceId", "spanId", "parentSpanId") else hex_ids(value))
                for key, value in node.items()}
    if isinstance(node, list):
        return [hex_ids(item) for item in node]
    return node

for index, (name, request) in enumerate([("traces", traces()), ("logs", logs()), ("metrics", metrics())]):
    body = request.SerializeToString()
    # OTLPDecodeFuzz: selector % 3 is the signal, (selector / 3) % 2 the format (0 protobuf, 1 JSON).
    write("OTLPDecodeFuzz", f"{name}.pb", bytes([index]) + body)
    text = json.dumps(hex_ids(json_format.MessageToDict(request)))
    write("OTLPDecodeFuzz", f"{name}.json", bytes([index + 3]) + text.encode())
    # DecompressFuzz: even selectors zstd, odd gzip; 128 and up a plain body for the round trip.
    zstd = subprocess.run(["zstd", "-q", "-c"], input=body, capture_output=True, check=True).stdout
    write("DecompressFuzz", f"{name}.zst", bytes([0]) + zstd)
    write("DecompressFuzz", f"{name}.gz", bytes([1]) + gzip.compress(body))
    write("DecompressFuzz", f"{name}.plain", bytes([128 + index % 2]) + body)
