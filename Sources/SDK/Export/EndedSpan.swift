import PeriscopeTelemetry

/// A span that has ended, as it waits in the export queue: turned into its OTLP form only when
/// its batch is encoded, so the thread that ended it does not pay for the conversion.
protocol EndedSpan: AnyObject, Sendable {
    /// The span as exported.
    var telemetrySpan: PeriscopeTelemetry.Span { get }
}

/// A span handed to the exporter already in its OTLP form (`submit(_:)`), queued like the
/// tracer's own.
final class SubmittedSpan: EndedSpan {
    let telemetrySpan: PeriscopeTelemetry.Span

    init(_ span: consuming PeriscopeTelemetry.Span) {
        self.telemetrySpan = span
    }
}
