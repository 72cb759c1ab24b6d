import HTTPTypes
import Hummingbird
import Logging
import NIOPosix
import PeriscopeServer
import PeriscopeTelemetry

/// The header a Periscope agent puts on every batch; a batch ID seen before is acknowledged
/// without being stored again, so a retry never duplicates data.
public let batchIDHeader = HTTPField.Name("X-Periscope-Batch-ID")!

/// OTLP/HTTP ingest: `POST /v1/traces`, `/v1/logs`, `/v1/metrics`.
struct IngestRoutes: Sendable {
    let store: TelemetryStore
    let ingest: OTLPIngest
    let logger: Logger

    func register(on router: Router<BasicRequestContext>) {
        for signal in Signal.allCases {
            router.post(RouterPath(signal.path)) { request, _ in
                await self.handle(request, signal: signal)
            }
        }
    }

    func handle(_ request: Request, signal: Signal) async -> Response {
        let received: OTLPIngestRequest
        do {
            received = try await ingest.read(request, signal: signal)
        } catch {
            logger.warning("refused \(signal.path): \(error.message)", metadata: ["status": "\(error.status.code)"])
            return error.response
        }
        let batchID = request.headers[batchIDHeader]
        if let batchID, batchID.isEmpty || batchID.utf8.count > 128 {
            return OTLPIngestFailure(status: .badRequest, message: "X-Periscope-Batch-ID must be 1–128 characters", format: received.format).response
        }
        do {
            let store = self.store
            let batch = received.decoded.batch
            let outcome = try await NIOThreadPool.singleton.runIfActive {
                try store.ingest(batch, batchID: batchID)
            }
            var response = Response.bytes(
                OTLPEncoder.response(signal, rejected: received.decoded.rejectedItems,
                                     message: received.decoded.rejectionReason, format: received.format),
                contentType: received.format.rawValue)
            if outcome == .duplicate { response.headers[.init("X-Periscope-Duplicate")!] = "true" }
            return response
        } catch {
            logger.error("store failed for \(signal.path): \(error)")
            var response = OTLPIngestFailure(
                status: .serviceUnavailable, message: "the store could not write this batch; retry later",
                format: received.format).response
            response.headers[HTTPField.Name("Retry-After")!] = "5"
            return response
        }
    }
}
