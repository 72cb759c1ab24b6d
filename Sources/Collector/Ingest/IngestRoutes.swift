import HTTPTypes
import Hummingbird
import Logging
import PeriscopeDelivery
import PeriscopeModel
import PeriscopeServer

/// The header a Periscope agent puts on every batch; a batch ID seen before is acknowledged
/// without being stored again, so a retry never duplicates data.
public let batchIDHeader = HTTPField.Name(EncodedBatch.idHeader)!

/// OTLP/HTTP ingest: `POST /v1/traces`, `/v1/logs`, `/v1/metrics`.
struct IngestRoutes: Sendable {
    let store: any TelemetryStore
    let ingest: OTLPIngest
    /// Items older than this are refused at ingest (retention would drop them anyway).
    var retentionNanos: UInt64 = 7 * 86_400 * 1_000_000_000
    let logger: Logger
    /// Store failures come in floods (every client retrying against a full disk): one line a minute.
    let failureLog = LogThrottle()

    func register(on router: Router<BasicRequestContext>) {
        ingest.register(on: router, logger: logger) { received, request in
            await self.store(received, batchID: request.headers[batchIDHeader])
        }
    }

    func store(_ received: OTLPIngestRequest, batchID: String?) async -> OTLPAnswer {
        let signal = received.signal
        if let batchID, batchID.isEmpty || batchID.utf8.count > 128 {
            ingest.counters?.refused(signal, status: 400)
            return .failed(OTLPIngestFailure(status: .badRequest, message: "X-Periscope-Batch-ID must be 1–128 characters", format: received.format))
        }
        let now = WallClock.nowUnixNano()
        let window = IngestTimeWindow(nowUnixNano: now, retentionNanos: retentionNanos, maxFutureNanos: ingest.decoder.limits.maxFutureSkewNanos)
        let filtered = window.filter(received.decoded.batch, nowUnixNano: now)
        if filtered.rejected > 0 {
            logger.warning("\(signal.path): \(filtered.reason)")
        }
        do {
            let store = self.store
            let batch = SeverityFromText.apply(to: filtered.batch)
            let outcome: IngestOutcome = batch.itemCount == 0 ? .stored(items: 0) : try await BlockingIO.run {
                try store.ingest(batch, batchID: batchID)
            }
            var answered = received
            answered.decoded.rejectedItems += filtered.rejected
            if filtered.rejected > 0 {
                answered.decoded.rejectionReason = [received.decoded.rejectionReason, filtered.reason].filter { !$0.isEmpty }.joined(separator: "; ")
            }
            let stored = if case .stored(let items) = outcome { items } else { 0 }
            ingest.counters?.accepted(signal, stored: stored, rejected: answered.decoded.rejectedItems, duplicate: outcome == .duplicate)
            return .accepted(answered, duplicate: outcome == .duplicate)
        } catch is CancellationError {
            // The client gave up (a gRPC deadline): a store already running finishes; one not yet
            // started never runs. Either way the client retries, so this is no store failure.
            logger.debug("\(signal.path): the client went away before the batch was stored")
            ingest.counters?.refused(signal, status: 503)
            return .failed(
                OTLPIngestFailure(status: .serviceUnavailable, message: "cancelled before stored; retry", format: received.format),
                retryAfterSeconds: 1)
        } catch {
            if let held = failureLog.admit() {
                logger.error("store failed for \(signal.path): \(error)\(LogThrottle.heldBack(held, "failures"))")
            }
            ingest.counters?.refused(signal, status: 503)
            let refused = (error as? SQLiteError)?.isWriteRefused == true
            let message = refused ? "the collector cannot write to its disk (full?); retry later" : "the store could not write this batch; retry later"
            return .failed(OTLPIngestFailure(status: .serviceUnavailable, message: message, format: received.format), retryAfterSeconds: 5)
        }
    }
}
