import PeriscopeModel
import Synchronization

/// The span IDs of the few large traces a partition is writing now, so that a trace growing
/// batch by batch (a 200,000-span batch job) is checked for re-sent spans against a set in
/// memory instead of reading every earlier block of it again: per-batch ingest stays flat
/// instead of growing with the trace. Only traces of `threshold` spans or more are kept, at
/// most `maxIDs` IDs in all (least recently written out first). The writer updates a set
/// inside its transaction; a transaction that fails must call `removeAll()`.
final class LargeTraceSpanIDs: Sendable {
    static let threshold = 4_096
    static let maxIDs = 500_000

    private struct Entry {
        var ids: Set<UInt64>
        var lastUse: UInt64
    }

    private struct State {
        var traces: [TraceID: Entry] = [:]
        var count = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Which of `candidates` the trace already has stored, when it is one of the large traces
    /// kept (`nil` otherwise). The set itself never leaves the lock: a copy held outside would
    /// make the next `add` copy all of it.
    func alreadyStored(_ candidates: some Sequence<UInt64>, in trace: TraceID) -> Set<UInt64>? {
        state.withLock { state in
            guard state.traces[trace] != nil else { return nil }
            state.clock += 1
            state.traces[trace]!.lastUse = state.clock
            var found = Set<UInt64>()
            for id in candidates where state.traces[trace]!.ids.contains(id) { found.insert(id) }
            return found
        }
    }

    /// Keeps `ids` as the trace's stored span IDs, making room if needed.
    func store(_ ids: Set<UInt64>, of trace: TraceID) {
        guard ids.count <= Self.maxIDs else { return }
        state.withLock { state in
            if let old = state.traces.removeValue(forKey: trace) { state.count -= old.ids.count }
            while state.count + ids.count > Self.maxIDs,
                  let oldest = state.traces.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.traces[oldest.key] = nil
                state.count -= oldest.value.ids.count
            }
            state.clock += 1
            state.traces[trace] = Entry(ids: ids, lastUse: state.clock)
            state.count += ids.count
        }
    }

    /// Adds spans just stored to a kept trace (no-op for others).
    func add(_ ids: some Sequence<UInt64>, to trace: TraceID) {
        state.withLock { state in
            guard var entry = state.traces.removeValue(forKey: trace) else { return }
            state.count -= entry.ids.count
            entry.ids.formUnion(ids)
            guard state.count + entry.ids.count <= Self.maxIDs else { return }
            state.traces[trace] = entry
            state.count += entry.ids.count
        }
    }

    func removeAll() {
        state.withLock { $0 = State() }
    }

    var count: Int { state.withLock { $0.count } }
}
