import PeriscopeModel

extension QueryAPI {
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
}
