import PeriscopeModel
import PeriscopeSDK
import Synchronization

/// Collects what the tracer and log handler produce, for assertions.
final class InMemorySink: TelemetrySink {
    private let state = Mutex<(spans: [PeriscopeModel.Span], records: [LogRecord])>(([], []))

    func submit(_ span: PeriscopeModel.Span) { state.withLock { $0.spans.append(span) } }
    func submit(_ record: LogRecord) { state.withLock { $0.records.append(record) } }

    var spans: [PeriscopeModel.Span] { state.withLock { $0.spans } }
    var records: [LogRecord] { state.withLock { $0.records } }

    func span(named name: String) -> PeriscopeModel.Span? { spans.first { $0.name == name } }
}
