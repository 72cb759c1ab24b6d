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
        var correlations = [String](), correlationKeys = [Int16](), textBodies = [Bool]()
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
                    let bodyText = PostgresText.clean(record.body.text)
                    // A text body is kept once, in `body_text` (`body` NULL says so; an empty
                    // `body` is the encoding of no body at all).
                    if case .string(let text) = record.body, text == bodyText {
                        bodies.append(ByteBuffer())
                        textBodies.append(true)
                    } else {
                        bodies.append(ByteBuffer(bytes: CompactEncoding.encode(value: record.body)))
                        textBodies.append(false)
                    }
                    bodyTexts.append(bodyText)
                    let correlation = LogCorrelation(record.attributes)
                    attributes.append(ByteBuffer(bytes: CompactEncoding.encode(attributes: correlation.otherAttributes)))
                    traceIDs.append(ByteBuffer(bytes: record.traceID?.bytes ?? []))
                    spanIDs.append(Int64(bitPattern: record.spanID?.value ?? 0))
                    correlations.append(correlation.id ?? "")
                    correlationKeys.append(correlation.keyIndex ?? -1)
                }
            }
        }
        guard !times.isEmpty else { return 0 }
        try session.query("""
            INSERT INTO periscope.logs (day, id, time_ns, observed_ns, service, severity_number, severity_text, body, body_text,
                attributes, trace_id, span_id, correlation_id, correlation_key)
            SELECT \(day.index), nextval('periscope.log_ids'), t, o, s, n, st, CASE WHEN tb THEN NULL ELSE b END, bt, a,
                NULLIF(tr, ''::bytea), NULLIF(sp, 0), NULLIF(c, ''), NULLIF(k, -1)
            FROM unnest(\(times), \(observed), \(services), \(severities), \(severityTexts), \(bodies), \(textBodies), \(bodyTexts),
                \(attributes), \(traceIDs), \(spanIDs), \(correlations), \(correlationKeys)) AS u(t, o, s, n, st, b, tb, bt, a, tr, sp, c, k)
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

/// A log record's correlation ID (DESIGN §6) as the `logs` row keeps it: in `correlation_id`
/// for its index, and — when the attribute is plain text that fits the index whole, under one
/// key only — not a second time in the attributes: `keyIndex` (in
/// `PartitionWriter.correlationKeys`) says which attribute to put back when the row is read.
struct LogCorrelation {
    var id: String?
    var keyIndex: Int16?
    var otherAttributes: [Attribute]

    init(_ attributes: [Attribute]) {
        otherAttributes = attributes
        id = PartitionWriter.correlationID(attributes).map(PostgresText.key)
        guard let id else { return }
        for (index, key) in PartitionWriter.correlationKeys.enumerated() {
            let matching = attributes.indices.filter { attributes[$0].key == key }
            guard let first = matching.first else { continue }
            // The key `correlationID` took its value from, if that value is the column's, alone.
            if matching.count == 1, case .string(let text) = attributes[first].value, text == id {
                keyIndex = Int16(index)
                otherAttributes.remove(at: first)
            }
            return
        }
    }

    /// The attributes as recorded: `stored` with the correlation attribute put back.
    static func attributes(_ stored: [String: AttributeValue], id: String?, keyIndex: Int16?) -> [String: AttributeValue] {
        guard let id, let keyIndex, PartitionWriter.correlationKeys.indices.contains(Int(keyIndex)) else { return stored }
        var attributes = stored
        attributes[PartitionWriter.correlationKeys[Int(keyIndex)]] = .string(id)
        return attributes
    }
}
