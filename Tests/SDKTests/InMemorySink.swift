import PeriscopeSDK
import PeriscopeTelemetry
import Synchronization

/// Collects what the tracer and log handler produce, for assertions.
final class InMemorySink: TelemetrySink {
    private let state = Mutex<(spans: [PeriscopeTelemetry.Span], records: [LogRecord])>(([], []))

    func submit(_ span: PeriscopeTelemetry.Span) { state.withLock { $0.spans.append(span) } }
    func submit(_ record: LogRecord) { state.withLock { $0.records.append(record) } }

    var spans: [PeriscopeTelemetry.Span] { state.withLock { $0.spans } }
    var records: [LogRecord] { state.withLock { $0.records } }

    func span(named name: String) -> PeriscopeTelemetry.Span? { spans.first { $0.name == name } }
}
