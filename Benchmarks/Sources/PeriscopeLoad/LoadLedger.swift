import PeriscopeBenchKit
import Synchronization

/// What the driver saw, shared by all services' tasks: counts of accepted and refused items,
/// the agent's answer latencies, freshness delays and which traces can be checked later.
final class LoadLedger: Sendable {
    /// A copy of the ledger's contents at one moment.
    struct Snapshot: Sendable {
        var acceptedSpans = 0
        var refusedSpans = 0
        var acceptedLogs = 0
        var refusedLogs = 0
        /// Agent answer latencies in milliseconds, one per request.
        var latenciesMs: [Double] = []
        /// Request start to queryable, milliseconds, per probed trace.
        var freshnessFromSendMs: [Double] = []
        /// Agent 200 to queryable, milliseconds, per probed trace.
        var freshnessFromAckMs: [Double] = []
        /// Probed traces that never became queryable within the probe's time limit.
        var freshnessTimeouts = 0
        /// Trace numbers of accepted requests' first traces, for the final spot check.
        var acceptedTraceNumbers: [UInt64] = []
        /// Status codes other than 200 and how often they came.
        var refusals: [Int: Int] = [:]
    }

    private let state = Mutex(Snapshot())

    /// Records one answered (or failed) request of `items` spans or logs.
    func recordRequest(isTraces: Bool, items: Int, status: Int, latencyMs: Double, firstTrace: UInt64?) {
        state.withLock { ledger in
            ledger.latenciesMs.append(latencyMs)
            let accepted = status == 200
            switch (isTraces, accepted) {
            case (true, true): ledger.acceptedSpans += items
            case (true, false): ledger.refusedSpans += items
            case (false, true): ledger.acceptedLogs += items
            case (false, false): ledger.refusedLogs += items
            }
            if !accepted { ledger.refusals[status, default: 0] += 1 }
            if accepted, let firstTrace { ledger.acceptedTraceNumbers.append(firstTrace) }
        }
    }

    /// Records one probed trace's delays, or a timeout when `fromSendMs` is nil.
    func recordFreshness(fromSendMs: Double?, fromAckMs: Double?) {
        state.withLock { ledger in
            if let fromSendMs, let fromAckMs {
                ledger.freshnessFromSendMs.append(fromSendMs)
                ledger.freshnessFromAckMs.append(fromAckMs)
            } else {
                ledger.freshnessTimeouts += 1
            }
        }
    }

    /// Adds items accepted by an external client (the Python peer), which reports its own count.
    func recordExternal(spans: Int, logs: Int) {
        state.withLock { ledger in
            ledger.acceptedSpans += spans
            ledger.acceptedLogs += logs
        }
    }

    /// The current contents.
    var snapshot: Snapshot { state.withLock { $0 } }
}
