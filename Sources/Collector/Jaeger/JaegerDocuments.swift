import PeriscopeModel
import PeriscopeQueryAPI

/// The documents of Jaeger's HTTP query API (`jaeger-query`'s `/api/…`, which the Jaeger UI and
/// Grafana's Jaeger data source read), built from the collector's own. Times are microseconds,
/// IDs lowercase hex, attributes typed tags; each trace names its processes (service and
/// resource attributes) once and its spans point at them.
enum JaegerDocuments {
    /// Every answer: `data` and, for a failure, `errors`.
    struct Envelope<Payload: Encodable & Sendable>: Encodable, Sendable {
        var data: Payload?
        var total: Int
        var limit = 0
        var offset = 0
        var errors: [Failure]?

        init(_ data: Payload, total: Int) {
            self.data = data
            self.total = total
        }

        init(failure: Failure) {
            data = nil
            total = 0
            errors = [failure]
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            // Jaeger writes `null` rather than leaving the keys out.
            try container.encode(data, forKey: .data)
            try container.encode(total, forKey: .total)
            try container.encode(limit, forKey: .limit)
            try container.encode(offset, forKey: .offset)
            try container.encode(errors, forKey: .errors)
        }

        enum CodingKeys: String, CodingKey { case data, total, limit, offset, errors }
    }

    struct Failure: Encodable, Sendable {
        var code: Int
        var msg: String
    }

    struct Tag: Encodable, Sendable, Hashable {
        var key: String
        /// `string`, `bool`, `int64`, `float64` or `binary`.
        var type: String
        var value: Value

        enum Value: Encodable, Sendable, Hashable {
            case string(String)
            case bool(Bool)
            case int(Int64)
            case double(Double)

            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .string(let text): try container.encode(text)
                case .bool(let flag): try container.encode(flag)
                case .int(let number): try container.encode(number)
                case .double(let number): try container.encode(number)
                }
            }
        }

        init(_ key: String, _ value: AttributeValue) {
            self.key = key
            switch value {
            case .string(let text): (type, self.value) = ("string", .string(text))
            case .bool(let flag): (type, self.value) = ("bool", .bool(flag))
            case .int(let number): (type, self.value) = ("int64", .int(number))
            // JSON has no NaN or infinity: those go as text, as Jaeger's own JSON marshalling cannot.
            case .double(let number) where number.isFinite: (type, self.value) = ("float64", .double(number))
            default: (type, self.value) = ("string", .string(value.text))
            }
        }
    }

    struct Reference: Encodable, Sendable, Equatable {
        /// `CHILD_OF` or `FOLLOWS_FROM` (a link).
        var refType: String
        var traceID: String
        var spanID: String
    }

    struct Log: Encodable, Sendable, Equatable {
        var timestamp: UInt64
        var fields: [Tag]
    }

    struct Span: Encodable, Sendable {
        var traceID: String
        var spanID: String
        var operationName: String
        var references: [Reference]
        var flags = 1
        var startTime: UInt64
        var duration: UInt64
        var tags: [Tag]
        var logs: [Log]
        var processID: String
        var warnings: [String]?
    }

    struct Process: Encodable, Sendable, Hashable {
        var serviceName: String
        var tags: [Tag]
    }

    struct Trace: Encodable, Sendable {
        var traceID: String
        var spans: [Span]
        var processes: [String: Process]
        var warnings: [String]?
    }

    struct Operation: Encodable, Sendable {
        var name: String
        var spanKind: String
    }

    struct Dependency: Encodable, Sendable {
        var parent: String
        var child: String
        var callCount: Int
    }

    static func micros(_ nanos: UInt64) -> UInt64 { nanos / 1_000 }

    /// A trace ID as Jaeger writes it: a 64-bit ID (the high half zero) as 16 hex digits.
    static func hex(_ id: TraceID) -> String {
        let text = id.hex
        return text.hasPrefix("0000000000000000") ? String(text.dropFirst(16)) : text
    }

    /// Tags from attributes, in key order (the collector's are a dictionary).
    static func tags(_ attributes: [String: AttributeValue]) -> [Tag] {
        attributes.sorted { $0.key < $1.key }.map { Tag($0.key, $0.value) }
    }

    /// One of the collector's traces as Jaeger's: the parent as a `CHILD_OF` reference, links as
    /// `FOLLOWS_FROM`; kind and status as the tags Jaeger's OTLP receiver writes (`span.kind`,
    /// `error`, `otel.status_code`, `otel.status_description`); events as logs (`event` = name).
    static func trace(_ trace: QueryAPI.Trace) -> Trace {
        var processes = [String: Process]()
        var processIDs = [Process: String]()
        let spans = trace.spans.map { span -> Span in
            let process = Process(serviceName: span.service, tags: tags(span.resource.filter { $0.key != "service.name" }))
            let processID = processIDs[process] ?? {
                let id = "p\(processIDs.count + 1)"
                processIDs[process] = id
                processes[id] = process
                return id
            }()
            var references = [Reference]()
            if let parent = span.parentSpanID, !parent.isZero {
                references.append(Reference(refType: "CHILD_OF", traceID: hex(span.traceID), spanID: parent.hex))
            }
            references += span.links.map { Reference(refType: "FOLLOWS_FROM", traceID: hex($0.traceID), spanID: $0.spanID.hex) }
            var spanTags = tags(span.attributes)
            if span.kind != "unspecified" { spanTags.append(Tag("span.kind", .string(span.kind))) }
            if span.status.isError {
                spanTags.append(Tag("error", .bool(true)))
                spanTags.append(Tag("otel.status_code", .string("ERROR")))
            } else if span.status.code == "ok" {
                spanTags.append(Tag("otel.status_code", .string("OK")))
            }
            if !span.status.message.isEmpty { spanTags.append(Tag("otel.status_description", .string(span.status.message))) }
            let logs = span.events.map { event in
                Log(timestamp: micros(event.timeUnixNano), fields: [Tag("event", .string(event.name))] + tags(event.attributes))
            }
            let duration = span.endTimeUnixNano >= span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0
            return Span(
                traceID: hex(span.traceID), spanID: span.spanID.hex, operationName: span.name, references: references,
                startTime: micros(span.startTimeUnixNano), duration: micros(duration), tags: spanTags, logs: logs, processID: processID)
        }
        // A cut trace says so, as Jaeger's UI shows a trace's warnings above it.
        let cut = (trace.totalSpans ?? 0) > trace.spans.count
            ? ["showing the first \(trace.spans.count) of \(trace.totalSpans ?? 0) spans by start time"] : nil
        return Trace(traceID: hex(trace.traceID), spans: spans, processes: processes, warnings: cut)
    }
}
