import PeriscopeModel
import Synchronization

/// What OTLP ingest did since the process started, per signal, for `GET /metrics`: items
/// stored, items refused one by one (partial success), batches acknowledged as duplicates, and
/// requests refused whole by their HTTP status (gRPC refusals by the status they map from).
/// Shared by HTTP and gRPC ingest; counts only grow, and stop at `Int.max`.
public final class IngestCounters: Sendable {
    /// The statuses ingest refuses whole requests with: undecodable, too slow, too large,
    /// unsupported type, unavailable (store failure, full disk, memory budget).
    public static let refusalStatuses = [400, 408, 413, 415, 503]

    public struct Snapshot: Sendable, Equatable {
        public var storedItems: [Signal: Int] = [:]
        public var rejectedItems: [Signal: Int] = [:]
        public var duplicateBatches: [Signal: Int] = [:]
        /// Keyed by signal and HTTP status code.
        public var refusedRequests: [Signal: [Int: Int]] = [:]

        public init() {}
    }

    private let state = Mutex(Snapshot())

    public init() {}

    /// A request whose items were stored (`rejected` of them refused one by one), or a batch
    /// stored before and acknowledged again.
    public func accepted(_ signal: Signal, stored: Int, rejected: Int, duplicate: Bool) {
        state.withLock { counts in
            // A duplicate's items were counted, rejected ones included, when it was first stored.
            if duplicate {
                counts.duplicateBatches[signal, default: 0].addSaturating(1)
            } else {
                counts.storedItems[signal, default: 0].addSaturating(stored)
                counts.rejectedItems[signal, default: 0].addSaturating(rejected)
            }
        }
    }

    /// A request refused whole, answered `status`.
    public func refused(_ signal: Signal, status: Int) {
        state.withLock { $0.refusedRequests[signal, default: [:]][status, default: 0].addSaturating(1) }
    }

    public var snapshot: Snapshot { state.withLock { $0 } }
}
