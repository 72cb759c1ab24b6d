import Synchronization

/// The tailer's counters, for the agent's self-telemetry.
struct TailStatistics: Equatable, Sendable {
    var linesRead = 0
    var bytesRead = 0
    var recordsSent = 0
    var parseFailures = 0
    var filesWatched = 0
    var redactions = 0
    var truncatedLines = 0
    var invalidUTF8Lines = 0
    /// Records whose time field was unreadable or out of `LogTimeBounds`: placed at their read time.
    var unusableTimes = 0
    /// Times a file paused because the queue was full.
    var backPressurePauses = 0
    var rotations = 0
    var truncations = 0
}

/// Counters shared between the tailer and whoever reports them.
final class TailCounters: Sendable {
    private let state = Mutex(TailStatistics())

    func update(_ body: (inout TailStatistics) -> Void) { state.withLock { body(&$0) } }

    var snapshot: TailStatistics { state.withLock { $0 } }
}
