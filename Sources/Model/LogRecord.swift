/// A log record, as the OpenTelemetry log data model defines it.
/// See https://opentelemetry.io/docs/specs/otel/logs/data-model/
public struct LogRecord: Hashable, Sendable {
    public var timeUnixNano: UInt64
    public var observedTimeUnixNano: UInt64
    public var severityNumber: Severity
    public var severityText: String
    public var body: AttributeValue
    public var attributes: [Attribute]
    public var traceID: TraceID?
    public var spanID: SpanID?
    public var flags: UInt32
    public var eventName: String

    public init(
        timeUnixNano: UInt64, observedTimeUnixNano: UInt64 = 0, severityNumber: Severity = .unspecified,
        severityText: String = "", body: AttributeValue, attributes: [Attribute] = [],
        traceID: TraceID? = nil, spanID: SpanID? = nil, flags: UInt32 = 0, eventName: String = ""
    ) {
        self.timeUnixNano = timeUnixNano
        self.observedTimeUnixNano = observedTimeUnixNano
        self.severityNumber = severityNumber
        self.severityText = severityText
        self.body = body
        self.attributes = attributes
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
        self.eventName = eventName
    }

    /// The time to order by: the event time, or when it was observed if the source gave none.
    public var effectiveTimeUnixNano: UInt64 { timeUnixNano != 0 ? timeUnixNano : observedTimeUnixNano }
}

/// OTLP severity numbers 1–24 in six ranges of four.
/// See https://opentelemetry.io/docs/specs/otel/logs/data-model/#field-severitynumber
public struct Severity: RawRepresentable, Hashable, Sendable, Comparable {
    public var rawValue: Int

    @inlinable
    public init(rawValue: Int) { self.rawValue = rawValue }

    // Computed, not stored: a stored static is a lazy global, reached through a once-check on
    // every use from another module (the tailer compares severities per line).
    @inlinable public static var unspecified: Severity { Severity(rawValue: 0) }
    @inlinable public static var trace: Severity { Severity(rawValue: 1) }
    @inlinable public static var debug: Severity { Severity(rawValue: 5) }
    @inlinable public static var info: Severity { Severity(rawValue: 9) }
    @inlinable public static var warn: Severity { Severity(rawValue: 13) }
    @inlinable public static var error: Severity { Severity(rawValue: 17) }
    @inlinable public static var fatal: Severity { Severity(rawValue: 21) }

    /// The short name of the range this number falls in (`INFO` for 9–12, …).
    public var name: String {
        switch rawValue {
        case 1...4: return "TRACE"
        case 5...8: return "DEBUG"
        case 9...12: return "INFO"
        case 13...16: return "WARN"
        case 17...20: return "ERROR"
        case 21...24: return "FATAL"
        default: return "UNSPECIFIED"
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rawValue < rhs.rawValue }
}

public struct ScopeLogs: Hashable, Sendable {
    public var scope: InstrumentationScope
    public var records: [LogRecord]

    public init(scope: InstrumentationScope = InstrumentationScope(), records: [LogRecord]) {
        self.scope = scope
        self.records = records
    }
}

/// Log records of one resource, grouped by scope — the unit of an OTLP logs export.
public struct ResourceLogs: Hashable, Sendable {
    public var resource: Resource
    public var scopes: [ScopeLogs]

    public init(resource: Resource, scopes: [ScopeLogs]) {
        self.resource = resource
        self.scopes = scopes
    }
}
