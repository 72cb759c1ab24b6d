/// The collector's JSON query API (`/api/v1/...`): the documents it returns, shared by the
/// collector that writes them and the CLI that reads them. Times are Unix nanoseconds,
/// IDs lowercase hex, attributes plain JSON values (bytes as hex strings).
public enum QueryAPI {
    /// `GET /api/v1/traces/{traceID}`: every stored span of one trace.
    public struct Trace: Codable, Hashable, Sendable {
        public var traceID: TraceID
        public var spans: [Span]

        public init(traceID: TraceID, spans: [Span]) {
            self.traceID = traceID
            self.spans = spans
        }
    }

    public struct Span: Codable, Hashable, Sendable {
        public var traceID: TraceID
        public var spanID: SpanID
        public var parentSpanID: SpanID?
        public var service: String
        public var name: String
        /// `internal`, `server`, `client`, `producer`, `consumer` or `unspecified`.
        public var kind: String
        public var startTimeUnixNano: UInt64
        public var endTimeUnixNano: UInt64
        public var durationNanos: UInt64
        public var status: Status
        public var attributes: [String: AttributeValue]
        public var resource: [String: AttributeValue]
        public var events: [Event]
        public var links: [Link]

        public init(
            traceID: TraceID, spanID: SpanID, parentSpanID: SpanID?, service: String, name: String, kind: String,
            startTimeUnixNano: UInt64, endTimeUnixNano: UInt64, status: Status,
            attributes: [String: AttributeValue], resource: [String: AttributeValue], events: [Event], links: [Link]
        ) {
            self.traceID = traceID
            self.spanID = spanID
            self.parentSpanID = parentSpanID
            self.service = service
            self.name = name
            self.kind = kind
            self.startTimeUnixNano = startTimeUnixNano
            self.endTimeUnixNano = endTimeUnixNano
            self.durationNanos = endTimeUnixNano >= startTimeUnixNano ? endTimeUnixNano - startTimeUnixNano : 0
            self.status = status
            self.attributes = attributes
            self.resource = resource
            self.events = events
            self.links = links
        }
    }

    public struct Status: Codable, Hashable, Sendable {
        /// `unset`, `ok` or `error`.
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }

        public var isError: Bool { code == "error" }
    }

    public struct Event: Codable, Hashable, Sendable {
        public var timeUnixNano: UInt64
        public var name: String
        public var attributes: [String: AttributeValue]

        public init(timeUnixNano: UInt64, name: String, attributes: [String: AttributeValue]) {
            self.timeUnixNano = timeUnixNano
            self.name = name
            self.attributes = attributes
        }
    }

    public struct Link: Codable, Hashable, Sendable {
        public var traceID: TraceID
        public var spanID: SpanID
        public var attributes: [String: AttributeValue]

        public init(traceID: TraceID, spanID: SpanID, attributes: [String: AttributeValue]) {
            self.traceID = traceID
            self.spanID = spanID
            self.attributes = attributes
        }
    }

    /// `GET /api/v1/logs?trace_id=…`: log records, oldest first.
    public struct Logs: Codable, Hashable, Sendable {
        public var logs: [Log]

        public init(logs: [Log]) { self.logs = logs }
    }

    public struct Log: Codable, Hashable, Sendable {
        public var timeUnixNano: UInt64
        public var observedTimeUnixNano: UInt64
        public var service: String
        public var severityNumber: Int
        /// The source's own level text, or the OTLP range name (`INFO`, `ERROR`, …) when it gave none.
        public var severityText: String
        public var body: AttributeValue
        public var attributes: [String: AttributeValue]
        public var traceID: TraceID?
        public var spanID: SpanID?

        public init(
            timeUnixNano: UInt64, observedTimeUnixNano: UInt64, service: String, severityNumber: Int,
            severityText: String, body: AttributeValue, attributes: [String: AttributeValue],
            traceID: TraceID?, spanID: SpanID?
        ) {
            self.timeUnixNano = timeUnixNano
            self.observedTimeUnixNano = observedTimeUnixNano
            self.service = service
            self.severityNumber = severityNumber
            self.severityText = severityText
            self.body = body
            self.attributes = attributes
            self.traceID = traceID
            self.spanID = spanID
        }
    }

    /// `GET /api/v1/metrics?name=…[&service=…]`: points of one metric, oldest first.
    public struct MetricPoints: Codable, Hashable, Sendable {
        public var points: [MetricPoint]

        public init(points: [MetricPoint]) { self.points = points }
    }

    public struct MetricPoint: Codable, Hashable, Sendable {
        public var name: String
        public var service: String
        /// `gauge`, `sum` or `histogram` (for histograms `value` is the sum of the observations).
        public var kind: String
        public var timeUnixNano: UInt64
        public var value: Double
        public var attributes: [String: AttributeValue]

        public init(name: String, service: String, kind: String, timeUnixNano: UInt64, value: Double, attributes: [String: AttributeValue]) {
            self.name = name
            self.service = service
            self.kind = kind
            self.timeUnixNano = timeUnixNano
            self.value = value
            self.attributes = attributes
        }
    }

    /// `GET /api/v1/traces?…`: matching traces, newest first.
    public struct TraceList: Codable, Hashable, Sendable {
        public var traces: [TraceSummary]

        public init(traces: [TraceSummary]) { self.traces = traces }
    }

    /// A trace at a glance, maintained at ingest.
    public struct TraceSummary: Codable, Hashable, Sendable {
        public var traceID: TraceID
        public var startTimeUnixNano: UInt64
        public var durationNanos: UInt64
        /// The root span's service and name; `nil` while the root span has not arrived.
        public var rootService: String?
        public var rootName: String?
        public var spanCount: Int
        public var errorCount: Int
        public var services: [String]

        public init(
            traceID: TraceID, startTimeUnixNano: UInt64, durationNanos: UInt64, rootService: String?, rootName: String?,
            spanCount: Int, errorCount: Int, services: [String]
        ) {
            self.traceID = traceID
            self.startTimeUnixNano = startTimeUnixNano
            self.durationNanos = durationNanos
            self.rootService = rootService
            self.rootName = rootName
            self.spanCount = spanCount
            self.errorCount = errorCount
            self.services = services
        }
    }

    /// `GET /api/v1/services`: every service seen, with its operations.
    public struct Services: Codable, Hashable, Sendable {
        public var services: [Service]

        public init(services: [Service]) { self.services = services }
    }

    public struct Service: Codable, Hashable, Sendable {
        public var name: String
        public var operations: [Operation]

        public init(name: String, operations: [Operation]) {
            self.name = name
            self.operations = operations
        }
    }

    public struct Operation: Codable, Hashable, Sendable {
        public var name: String
        public var kind: String

        public init(name: String, kind: String) {
            self.name = name
            self.kind = kind
        }
    }

    /// `GET /api/v1/dependencies`: caller → callee edges from parent/child spans across services.
    public struct Dependencies: Codable, Hashable, Sendable {
        public var edges: [Dependency]

        public init(edges: [Dependency]) { self.edges = edges }
    }

    public struct Dependency: Codable, Hashable, Sendable {
        public var caller: String
        public var callee: String
        public var calls: Int
        public var errors: Int

        public init(caller: String, callee: String, calls: Int, errors: Int) {
            self.caller = caller
            self.callee = callee
            self.calls = calls
            self.errors = errors
        }
    }

    /// The body of every 4xx/5xx answer of the query API.
    public struct ErrorBody: Codable, Hashable, Sendable {
        public var error: String

        public init(error: String) { self.error = error }
    }
}

extension Array where Element == Attribute {
    /// Attributes as a JSON object; on a repeated key the first wins, as OTLP readers do.
    public var dictionary: [String: AttributeValue] {
        var out = [String: AttributeValue](minimumCapacity: count)
        for attribute in self where out[attribute.key] == nil { out[attribute.key] = attribute.value }
        return out
    }
}
