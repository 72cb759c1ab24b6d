import PeriscopeTelemetry

/// Where finished spans and log records go. `OTLPExporter` is the production sink; tests and
/// later processors (redaction, tail sampling) can stand in. Must never block the caller.
public protocol TelemetrySink: Sendable {
    /// Takes one finished, sampled span.
    func submit(_ span: PeriscopeTelemetry.Span)
    /// Takes one log record.
    func submit(_ record: LogRecord)
}
