import NIOCore
import PeriscopeModel
import PeriscopeOTLP
import PostgresNIO

/// Stores one day's log records or metric points of a batch inside the caller's transaction:
/// one multi-row insert per batch (columns as arrays, binary binds) rather than a statement
/// per row.
struct PostgresRowWriter {
    let session: PostgresSession
    let day: PartitionDay

    /// Stores the records; returns how many.
    func insert(_ groups: [ResourceLogs]) throws -> Int {
        var times = [Int64](), observed = [Int64](), services = [String](), severities = [Int32](), severityTexts = [String]()
        var bodies = [ByteBuffer](), bodyTexts = [String](), attributes = [ByteBuffer](), traceIDs = [ByteBuffer](), spanIDs = [Int64]()
        var correlations = [String]()
        var serviceNames = Set<String>()
        for group in groups {
            let service = PostgresText.key(group.resource.serviceName)
            serviceNames.insert(service)
            for scope in group.scopes {
                for record in scope.records {
                    times.append(Int64(clamping: record.effectiveTimeUnixNano))
                    observed.append(Int64(clamping: record.observedTimeUnixNano))
                    services.append(service)
                    severities.append(Int32(clamping: record.severityNumber.rawValue))
                    severityTexts.append(PostgresText.clean(record.severityText))
                    bodies.append(ByteBuffer(bytes: CompactEncoding.encode(value: record.body)))
                    bodyTexts.append(PostgresText.clean(record.body.text))
                    attributes.append(ByteBuffer(bytes: CompactEncoding.encode(attributes: record.attributes)))
                    traceIDs.append(ByteBuffer(bytes: record.traceID?.bytes ?? []))
                    spanIDs.append(Int64(bitPattern: record.spanID?.value ?? 0))
                    correlations.append(PartitionWriter.correlationID(record.attributes).map(PostgresText.key) ?? "")
                }
            }
        }
        guard !times.isEmpty else { return 0 }
        try session.query("""
            INSERT INTO periscope.logs (day, id, time_ns, observed_ns, service, severity_number, severity_text, body, body_text,
                attributes, trace_id, span_id, correlation_id)
            SELECT \(day.index), nextval('periscope.log_ids'), t, o, s, n, st, b, bt, a, NULLIF(tr, ''::bytea), NULLIF(sp, 0), NULLIF(c, '')
            FROM unnest(\(times), \(observed), \(services), \(severities), \(severityTexts), \(bodies), \(bodyTexts), \(attributes),
                \(traceIDs), \(spanIDs), \(correlations)) AS u(t, o, s, n, st, b, bt, a, tr, sp, c)
            """, "storing log records")
        let sorted = serviceNames.sorted()
        try session.query("""
            INSERT INTO periscope.log_services (day, service) SELECT \(day.index), s FROM unnest(\(sorted)) AS u(s)
            ON CONFLICT DO NOTHING
            """, "listing log services")
        return times.count
    }

    /// Stores the points; returns how many.
    func insert(_ groups: [ResourceMetrics]) throws -> Int {
        var names = [String](), services = [String](), kinds = [String](), times = [Int64](), values = [Double]()
        var attributes = [ByteBuffer](), histograms = [ByteBuffer]()
        func add(_ name: String, _ service: String, _ kind: String, _ time: UInt64, _ value: Double, _ pointAttributes: [Attribute], _ histogram: [UInt8]) {
            names.append(PostgresText.key(name))
            services.append(service)
            kinds.append(kind)
            times.append(Int64(clamping: time))
            values.append(value)
            attributes.append(ByteBuffer(bytes: CompactEncoding.encode(attributes: pointAttributes)))
            histograms.append(ByteBuffer(bytes: histogram))
        }
        for group in groups {
            let service = PostgresText.key(group.resource.serviceName)
            for scope in group.scopes {
                for metric in scope.metrics {
                    switch metric.data {
                    case .gauge(let points), .sum(let points, _, _):
                        let kind = if case .gauge = metric.data { "gauge" } else { "sum" }
                        for point in points { add(metric.name, service, kind, point.timeUnixNano, point.value.asDouble, point.attributes, []) }
                    case .histogram(let points, let temporality):
                        for point in points {
                            let single = Metric(name: metric.name, data: .histogram([point], temporality: temporality))
                            let encoded = OTLPEncoder.encode(.metrics([ResourceMetrics(resource: Resource(), scopes: [ScopeMetrics(metrics: [single])])]))
                            add(metric.name, service, "histogram", point.timeUnixNano, point.sum ?? 0, point.attributes, encoded)
                        }
                    }
                }
            }
        }
        guard !names.isEmpty else { return 0 }
        try session.query("""
            INSERT INTO periscope.metric_points (day, id, name, service, kind, time_ns, value, attributes, histogram)
            SELECT \(day.index), nextval('periscope.metric_point_ids'), n, s, k, t, v, a, NULLIF(h, ''::bytea)
            FROM unnest(\(names), \(services), \(kinds), \(times), \(values), \(attributes), \(histograms)) AS u(n, s, k, t, v, a, h)
            """, "storing metric points")
        return names.count
    }
}
