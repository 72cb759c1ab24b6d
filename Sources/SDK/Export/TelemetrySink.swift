import PeriscopeModel

/// Where finished spans and log records go. `OTLPExporter` is the production sink; tests and
/// later processors (redaction, tail sampling) can stand in. Must never block the caller.
/// Class-bound: a sink is shared by every span and logger, and a reference is cheaper to carry
/// in each span than an existential value box.
public protocol TelemetrySink: AnyObject, Sendable {
    /// Takes one finished, sampled span (consumed: a queue can keep it without copying).
    func submit(_ span: consuming PeriscopeModel.Span)
    /// Takes one log record (consumed, like a span).
    func submit(_ record: consuming LogRecord)
}
