/// Builds OTLP `ExportTraceServiceRequest` and `ExportLogsServiceRequest` protobuf bodies.
///
/// Field numbers are those of opentelemetry-proto (trace.proto, logs.proto, common.proto,
/// resource.proto). Spans look like a small service's: a server root and client/internal
/// children with the attributes people search on; logs are `INFO` lines tied to a trace.
public enum OTLPPayloads {
    /// One span to encode.
    public struct SpanSpec: Sendable {
        /// 16 bytes.
        public var traceID: [UInt8]
        public var spanID: [UInt8]
        public var parentSpanID: [UInt8]?
        public var name: String
        public var kind: UInt64
        public var startNanos: UInt64
        public var endNanos: UInt64
        public var attributes: [(String, String)]
        public var isError: Bool

        public init(traceID: [UInt8], spanID: [UInt8], parentSpanID: [UInt8]?, name: String, kind: UInt64,
                    startNanos: UInt64, endNanos: UInt64, attributes: [(String, String)], isError: Bool) {
            self.traceID = traceID
            self.spanID = spanID
            self.parentSpanID = parentSpanID
            self.name = name
            self.kind = kind
            self.startNanos = startNanos
            self.endNanos = endNanos
            self.attributes = attributes
            self.isError = isError
        }
    }

    /// One log record to encode.
    public struct LogSpec: Sendable {
        public var timeNanos: UInt64
        public var traceID: [UInt8]
        public var spanID: [UInt8]
        public var body: String
        public var attributes: [(String, String)]

        public init(timeNanos: UInt64, traceID: [UInt8], spanID: [UInt8], body: String, attributes: [(String, String)]) {
            self.timeNanos = timeNanos
            self.traceID = traceID
            self.spanID = spanID
            self.body = body
            self.attributes = attributes
        }
    }

    /// `ExportTraceServiceRequest` with one resource (`service`) and one scope.
    public static func traces(service: String, spans: [SpanSpec]) -> [UInt8] {
        var request = ProtobufWriter()
        request.messageField(1) { resourceSpans in
            resourceSpans.messageField(1) { resource(&$0, service: service) }
            resourceSpans.messageField(2) { scopeSpans in
                scopeSpans.messageField(1) { scope(&$0) }
                for span in spans {
                    scopeSpans.messageField(2) { encode(span, into: &$0) }
                }
            }
        }
        return request.bytes
    }

    /// `ExportTraceServiceRequest` with one resource per service (`groups` in order).
    public static func traces(groups: [(service: String, spans: [SpanSpec])]) -> [UInt8] {
        var request = ProtobufWriter()
        for group in groups where !group.spans.isEmpty {
            request.messageField(1) { resourceSpans in
                resourceSpans.messageField(1) { resource(&$0, service: group.service) }
                resourceSpans.messageField(2) { scopeSpans in
                    scopeSpans.messageField(1) { scope(&$0) }
                    for span in group.spans {
                        scopeSpans.messageField(2) { encode(span, into: &$0) }
                    }
                }
            }
        }
        return request.bytes
    }

    /// `ExportLogsServiceRequest` with one resource per service (`groups` in order).
    public static func logs(groups: [(service: String, records: [LogSpec])]) -> [UInt8] {
        var request = ProtobufWriter()
        for group in groups where !group.records.isEmpty {
            request.messageField(1) { resourceLogs in
                resourceLogs.messageField(1) { resource(&$0, service: group.service) }
                resourceLogs.messageField(2) { scopeLogs in
                    scopeLogs.messageField(1) { scope(&$0) }
                    for record in group.records {
                        scopeLogs.messageField(2) { encode(record, into: &$0) }
                    }
                }
            }
        }
        return request.bytes
    }

    /// `ExportLogsServiceRequest` with one resource (`service`) and one scope.
    public static func logs(service: String, records: [LogSpec]) -> [UInt8] {
        var request = ProtobufWriter()
        request.messageField(1) { resourceLogs in
            resourceLogs.messageField(1) { resource(&$0, service: service) }
            resourceLogs.messageField(2) { scopeLogs in
                scopeLogs.messageField(1) { scope(&$0) }
                for record in records {
                    scopeLogs.messageField(2) { encode(record, into: &$0) }
                }
            }
        }
        return request.bytes
    }

    private static func encode(_ span: SpanSpec, into message: inout ProtobufWriter) {
        message.bytesField(1, span.traceID)
        message.bytesField(2, span.spanID)
        if let parent = span.parentSpanID { message.bytesField(4, parent) }
        message.stringField(5, span.name)
        message.varintField(6, span.kind)
        message.fixed64Field(7, span.startNanos)
        message.fixed64Field(8, span.endNanos)
        for (key, value) in span.attributes { message.messageField(9) { keyValue(&$0, key, value) } }
        message.messageField(15) { status in
            if span.isError { status.stringField(2, "downstream failed") }
            status.varintField(3, span.isError ? 2 : 1)
        }
    }

    private static func encode(_ record: LogSpec, into message: inout ProtobufWriter) {
        message.fixed64Field(1, record.timeNanos)
        message.varintField(2, 9)  // SEVERITY_NUMBER_INFO
        message.stringField(3, "INFO")
        message.messageField(5) { $0.stringField(1, record.body) }
        for (key, value) in record.attributes { message.messageField(6) { keyValue(&$0, key, value) } }
        message.bytesField(9, record.traceID)
        message.bytesField(10, record.spanID)
        message.fixed64Field(11, record.timeNanos)
    }

    private static func resource(_ message: inout ProtobufWriter, service: String) {
        message.messageField(1) { keyValue(&$0, "service.name", service) }
        message.messageField(1) { keyValue(&$0, "host.name", "bench-host") }
    }

    private static func scope(_ message: inout ProtobufWriter) {
        message.stringField(1, "periscope-load")
        message.stringField(2, "1.0")
    }

    private static func keyValue(_ message: inout ProtobufWriter, _ key: String, _ value: String) {
        message.stringField(1, key)
        message.messageField(2) { $0.stringField(1, value) }
    }
}
