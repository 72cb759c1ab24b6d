/// A finished span, as OpenTelemetry defines it.
/// See https://opentelemetry.io/docs/specs/otel/trace/api/#span
public struct Span: Hashable, Sendable {
    public enum Kind: Int, Hashable, Sendable, CaseIterable {
        case unspecified = 0, `internal`, server, client, producer, consumer

        public var name: String {
            switch self {
            case .unspecified: return "unspecified"
            case .internal: return "internal"
            case .server: return "server"
            case .client: return "client"
            case .producer: return "producer"
            case .consumer: return "consumer"
            }
        }
    }

    public struct Status: Hashable, Sendable {
        public enum Code: Int, Hashable, Sendable {
            case unset = 0, ok, error
        }

        public var code: Code
        public var message: String

        public init(code: Code = .unset, message: String = "") {
            self.code = code
            self.message = message
        }
    }

    public struct Event: Hashable, Sendable {
        public var timeUnixNano: UInt64
        public var name: String
        public var attributes: [Attribute]

        public init(timeUnixNano: UInt64, name: String, attributes: [Attribute] = []) {
            self.timeUnixNano = timeUnixNano
            self.name = name
            self.attributes = attributes
        }
    }

    public struct Link: Hashable, Sendable {
        public var traceID: TraceID
        public var spanID: SpanID
        public var traceState: String
        public var attributes: [Attribute]

        public init(traceID: TraceID, spanID: SpanID, traceState: String = "", attributes: [Attribute] = []) {
            self.traceID = traceID
            self.spanID = spanID
            self.traceState = traceState
            self.attributes = attributes
        }
    }

    public var traceID: TraceID
    public var spanID: SpanID
    public var parentSpanID: SpanID?
    public var traceState: String
    public var flags: UInt32
    public var name: String
    public var kind: Kind
    public var startTimeUnixNano: UInt64
    public var endTimeUnixNano: UInt64
    public var attributes: [Attribute]
    public var events: [Event]
    public var links: [Link]
    public var status: Status

    public init(
        traceID: TraceID, spanID: SpanID, parentSpanID: SpanID? = nil, traceState: String = "",
        flags: UInt32 = 0, name: String, kind: Kind = .internal,
        startTimeUnixNano: UInt64, endTimeUnixNano: UInt64,
        attributes: [Attribute] = [], events: [Event] = [], links: [Link] = [], status: Status = Status()
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.traceState = traceState
        self.flags = flags
        self.name = name
        self.kind = kind
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.attributes = attributes
        self.events = events
        self.links = links
        self.status = status
    }

    public var durationNanos: UInt64 {
        endTimeUnixNano >= startTimeUnixNano ? endTimeUnixNano - startTimeUnixNano : 0
    }
}

/// Spans of one instrumentation scope.
public struct ScopeSpans: Hashable, Sendable {
    public var scope: InstrumentationScope
    public var spans: [Span]

    public init(scope: InstrumentationScope = InstrumentationScope(), spans: [Span]) {
        self.scope = scope
        self.spans = spans
    }
}

/// Spans of one resource, grouped by scope — the unit of an OTLP trace export.
public struct ResourceSpans: Hashable, Sendable {
    public var resource: Resource
    public var scopes: [ScopeSpans]

    public init(resource: Resource, scopes: [ScopeSpans]) {
        self.resource = resource
        self.scopes = scopes
    }
}
