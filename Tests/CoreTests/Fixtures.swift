import PeriscopeModel

/// Batches that use every field and every value type, for round-trip tests.
enum Fixtures {
    static let allValues: [Attribute] = [
        Attribute("s", .string("text with ünïcode ✓")),
        Attribute("b", .bool(true)),
        Attribute("i", .int(-42)),
        Attribute("big", .int(Int64.max)),
        Attribute("d", .double(3.25)),
        Attribute("bytes", .bytes([0, 1, 254, 255])),
        Attribute("array", .array([.string("a"), .int(1), .double(2.5), .bool(false)])),
        Attribute("kv", .keyValueList([Attribute("inner", .string("x")), Attribute("nested", .array([.int(7)]))])),
        Attribute("empty", .empty),
    ]

    static let resource = Resource(serviceName: "checkout", instanceID: "i-1", hostName: "host-a", attributes: [Attribute("deployment.environment", .string("test"))])
    static let scope = InstrumentationScope(name: "lib", version: "1.2.3", attributes: [Attribute("scope.attr", .int(1))])

    static let traceID = TraceID(hex: "0af7651916cd43dd8448eb211c80319c")!

    static var span: Span {
        Span(
            traceID: traceID, spanID: SpanID(hex: "b7ad6b7169203331")!, parentSpanID: SpanID(hex: "00f067aa0ba902b7")!,
            traceState: "rojo=00f067aa0ba902b7", flags: 1, name: "GET /cart", kind: .server,
            startTimeUnixNano: 1_700_000_000_000_000_000, endTimeUnixNano: 1_700_000_000_250_000_000,
            attributes: allValues,
            events: [Span.Event(timeUnixNano: 1_700_000_000_100_000_000, name: "exception", attributes: [Attribute("exception.message", .string("boom"))])],
            links: [Span.Link(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), traceState: "k=v", attributes: [Attribute("l", .bool(true))])],
            status: Span.Status(code: .error, message: "boom"))
    }

    static var traces: TelemetryBatch {
        .traces([ResourceSpans(resource: resource, scopes: [ScopeSpans(scope: scope, spans: [span])])])
    }

    static var logs: TelemetryBatch {
        .logs([ResourceLogs(resource: resource, scopes: [ScopeLogs(scope: scope, records: [
            LogRecord(
                timeUnixNano: 1_700_000_000_000_000_001, observedTimeUnixNano: 1_700_000_000_000_000_002,
                severityNumber: Severity(rawValue: 18), severityText: "ERROR2", body: .keyValueList([Attribute("msg", .string("hi"))]),
                attributes: allValues, traceID: traceID, spanID: SpanID(9), flags: 1, eventName: "cart.failed"),
            LogRecord(timeUnixNano: 5, body: .string("no trace")),
        ])])])
    }

    static var metrics: TelemetryBatch {
        .metrics([ResourceMetrics(resource: resource, scopes: [ScopeMetrics(scope: scope, metrics: [
            Metric(name: "queue.depth", description: "records", unit: "{record}", data: .gauge([
                NumberPoint(attributes: [Attribute("q", .string("a"))], timeUnixNano: 10, value: .int(5)),
                NumberPoint(timeUnixNano: 11, value: .double(0.5)),
            ])),
            Metric(name: "requests", data: .sum([NumberPoint(startTimeUnixNano: 1, timeUnixNano: 10, value: .int(100))], temporality: .cumulative, isMonotonic: true)),
            Metric(name: "latency", unit: "s", data: .histogram([
                HistogramPoint(startTimeUnixNano: 1, timeUnixNano: 10, count: 6, sum: 1.5, bucketCounts: [1, 2, 3], explicitBounds: [0.1, 0.5], min: 0.01, max: 0.9),
            ], temporality: .delta)),
        ])])])
    }
}
