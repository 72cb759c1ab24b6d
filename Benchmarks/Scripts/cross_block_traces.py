"""Sends traces whose services export their own batches (each request one service's spans),
so every call between services has its parent in another block: the dependency graph's
parent lookups on a store of that shape. Usage: xblock.py PORT TRACES"""
import http.client, json, os, sys, time

port, traces = int(sys.argv[1]), int(sys.argv[2])
services = ["frontend", "checkout", "inventory", "payments"]
# frontend root -> checkout -> (inventory, payments)
parent_of = {0: None, 1: 0, 2: 1, 3: 1}
now = time.time_ns() - 3_600_000_000_000
batch = 1000
conn = http.client.HTTPConnection("127.0.0.1", port)
sent = 0
for service_index, service in enumerate(services):
    spans = []
    def flush():
        global sent
        if not spans:
            return
        body = json.dumps({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                                              "scopeSpans": [{"spans": spans}]}]})
        conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/json"})
        reply = conn.getresponse(); reply.read()
        assert reply.status == 200, reply.status
        sent += len(spans)
        spans.clear()
    for t in range(traces):
        start = now + t * 1000
        span = {"traceId": "%032x" % (t + 1), "spanId": "%016x" % ((t + 1) * 16 + service_index + 1),
                "name": service + " op", "kind": 2, "startTimeUnixNano": str(start + service_index * 100),
                "endTimeUnixNano": str(start + 10_000)}
        p = parent_of[service_index]
        if p is not None:
            span["parentSpanId"] = "%016x" % ((t + 1) * 16 + p + 1)
        spans.append(span)
        if len(spans) >= batch:
            flush()
    flush()
print("sent", sent, "spans in", traces, "traces")
