import HTTPTypes
import Hummingbird
import Logging
import PeriscopeOTLP
import PeriscopeServer

/// The agent's OTLP/HTTP receiver (`/v1/traces`, `/v1/logs`, `/v1/metrics`): validates
/// like the collector does, hands each request to the sink as one batch, and answers 200
/// only after the sink accepted it.
struct OTLPReceiver: Sendable {
    let ingest: OTLPIngest
    let sink: any BatchSink
    let logger: Logger
    /// Refusals come in floods (every client retrying against a full disk or queue): one line a minute.
    let refusalLog = LogThrottle()

    func register(on router: Router<BasicRequestContext>) {
        ingest.register(on: router, logger: logger) { received, _ in
            await self.accept(received)
        }
    }

    func accept(_ received: OTLPIngestRequest) async -> OTLPAnswer {
        let signal = received.signal
        let payload = OTLPRequestPayload(
            batch: received.decoded.batch, protobuf: received.format == .protobuf ? received.payload : nil)
        do {
            try await sink.accept(payload)
        } catch {
            if let held = refusalLog.admit() {
                logger.warning("could not accept \(signal.path) batch: \(error)\(LogThrottle.heldBack(held, "refusals"))")
            }
            return Self.answer(for: error, format: received.format)
        }
        return .accepted(received)
    }

    /// 429 for a full queue and 503 for trouble that passes, each with `Retry-After`, so OTLP
    /// clients retry (https://opentelemetry.io/docs/specs/otlp/#otlphttp-throttling); 400 for a refusal.
    static func answer(for error: DeliveryError, format: OTLPFormat) -> OTLPAnswer {
        let status: HTTPResponse.Status
        let retryAfter: Int?
        switch error {
        case .rejected(let code, _):
            // 413 stays 413 (too large for the queue), so the client knows to send less, not to give up on the data's shape.
            return .failed(OTLPIngestFailure(status: code == 413 ? .contentTooLarge : .badRequest, message: error.description, format: format))
        case .queueFull(let seconds):
            (status, retryAfter) = (.tooManyRequests, seconds)
        case .unavailable(_, let wait):
            (status, retryAfter) = (.serviceUnavailable, wait.map { Int(clamping: $0.components.seconds) + 1 } ?? 1)
        case .storage:
            (status, retryAfter) = (.serviceUnavailable, 5)
        }
        return .failed(OTLPIngestFailure(status: status, message: error.description + "; retry later", format: format), retryAfterSeconds: retryAfter)
    }
}
