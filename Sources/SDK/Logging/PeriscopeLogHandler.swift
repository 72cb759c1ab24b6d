import Instrumentation
import Logging
import PeriscopeModel
import ServiceContextModule

/// The swift-log backend: each log call becomes an OTLP `LogRecord` carrying the merged metadata
/// (handler, then metadata provider, then call site), the source location, and the trace and span
/// IDs of the span active in `ServiceContext.current` — which is what joins logs to traces — and
/// the request's correlation ID as `correlation_id` (unless the metadata already names one).
public struct PeriscopeLogHandler: LogHandler {
    /// Metadata attached to every record from this handler (`logger[metadataKey:]`).
    public var metadata: Logger.Metadata = [:]
    /// Records below this level are not created.
    public var logLevel: Logger.Level
    /// Contextual metadata (e.g. a correlation ID) read at each log call.
    public var metadataProvider: Logger.MetadataProvider?
    /// The logger's label, as given to `Logger(label:)`.
    public let label: String

    private let sink: any TelemetrySink
    private let mirror: JSONLinesMirror?
    private let serviceName: String

    /// - Parameters:
    ///   - sink: where records go, normally the `OTLPExporter`.
    ///   - mirror: optional JSON-lines copy of every record, for file-tailing agents.
    ///   - serviceName: written as `service` in mirror lines.
    public init(
        label: String, sink: any TelemetrySink, logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil, mirror: JSONLinesMirror? = nil, serviceName: String = ""
    ) {
        self.label = label
        self.sink = sink
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
        self.mirror = mirror
        self.serviceName = serviceName
    }

    /// One entry of the handler metadata.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Builds the `LogRecord`, submits it, and mirrors it as a JSON line if configured.
    public func log(event: LogEvent) {
        let now = WallClock.nowUnixNano()
        let merged = mergedMetadata(event.metadata)
        // An empty context (no span, no correlation ID) needs no lookups.
        let current = ServiceContext.current.flatMap { $0.isEmpty ? nil : $0 }
        let correlationID = current?.correlationID

        var attributes: [Attribute] = []
        attributes.reserveCapacity(merged.count + 6)
        merged.appendTelemetryAttributes(to: &attributes)
        if let correlationID { attributes.stampCorrelationID(correlationID) }
        attributes.append(Attribute("code.filepath", .string(event.file)))
        attributes.append(Attribute("code.function", .string(event.function)))
        attributes.append(Attribute("code.lineno", .int(Int64(event.line))))
        if let error = event.error {
            attributes.append(Attribute("exception.type", .string(String(reflecting: type(of: error)))))
            attributes.append(Attribute("exception.message", .string(String(describing: error))))
        }

        let active = current?.spanContext
        let record = LogRecord(
            timeUnixNano: now, observedTimeUnixNano: now,
            severityNumber: event.level.severity, severityText: event.level.severityText,
            body: .string(event.message.description), attributes: attributes,
            traceID: active?.traceID, spanID: active?.spanID,
            flags: UInt32(active?.traceFlags ?? 0))
        if let mirror {
            var mirrored = merged
            if let correlationID, merged[CorrelationID.attributeKey] == nil {
                mirrored[CorrelationID.attributeKey] = .string(correlationID)
            }
            mirror.write(record, level: event.level, service: serviceName, logger: label, metadata: mirrored)
        }
        sink.submit(record)
    }

    /// Handler, then provider, then call-site metadata, later ones winning; a dictionary is only
    /// copied when two of them have entries.
    private func mergedMetadata(_ callMetadata: Logger.Metadata?) -> Logger.Metadata {
        var merged = metadata
        Self.overlay(metadataProvider?.get(), on: &merged)
        Self.overlay(callMetadata, on: &merged)
        return merged
    }

    private static func overlay(_ layer: Logger.Metadata?, on merged: inout Logger.Metadata) {
        guard let layer, !layer.isEmpty else { return }
        if merged.isEmpty {
            merged = layer
        } else {
            merged.merge(layer) { _, new in new }
        }
    }
}
