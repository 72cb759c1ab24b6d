import PeriscopeModel

extension QueryAPI {
    /// `GET /api/v1/traces/{traceID}`: every stored span of one trace.
    public struct Trace: Codable, Hashable, Sendable {
        public var traceID: TraceID
        /// The trace's spans by start time: all of them, or the first `limit` when it has more.
        public var spans: [Span]
        /// Spans the trace has; more than `spans.count` when the answer was cut at the limit.
        public var totalSpans: Int?

        public init(traceID: TraceID, spans: [Span], totalSpans: Int? = nil) {
            self.traceID = traceID
            self.spans = spans
            self.totalSpans = totalSpans
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

        /// Whether the span failed as the collector counts failures (`SpanFailure`).
        public var isFailed: Bool {
            SpanFailure.isFailed(
                isError: status.isError, isServer: kind == "server",
                httpStatus: attributes["http.response.status_code"].flatMap(SpanFailure.status)
                    ?? attributes["http.status_code"].flatMap(SpanFailure.status))
        }

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

    /// `GET /api/v1/traces?…`: matching traces, newest first.
    public struct TraceList: Codable, Hashable, Sendable {
        public var traces: [TraceSummary]
        /// The collector's search budget ran out before every candidate was checked: fewer
        /// traces than asked for may be listed though more match. A narrower range or a more
        /// selective filter (an operation, an indexed attribute) searches whole.
        public var truncated: Bool

        public init(traces: [TraceSummary], truncated: Bool = false) {
            self.traces = traces
            self.truncated = truncated
        }

        /// Also reads the answers of collectors from before `truncated`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            traces = try container.decode([TraceSummary].self, forKey: .traces)
            truncated = try container.decodeIfPresent(Bool.self, forKey: .truncated) ?? false
        }
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
}
