import HTTPTypes
import Hummingbird
import PeriscopeOTLP

/// What a server did with one OTLP export request, before it is said in OTLP/HTTP or OTLP/gRPC
/// terms: both protocols share the receiving code and differ only in how they answer.
public enum OTLPAnswer: Sendable {
    /// Stored (or queued); the request's `decoded.rejectedItems` were refused (partial success).
    /// `duplicate`: the batch ID was seen before and nothing was stored again.
    case accepted(OTLPIngestRequest, duplicate: Bool = false)
    /// Refused or failed; `retryAfterSeconds` when trying again later can succeed.
    case failed(OTLPIngestFailure, retryAfterSeconds: Int? = nil)

    /// The OTLP/HTTP answer (https://opentelemetry.io/docs/specs/otlp/#otlphttp-response).
    public var response: Response {
        switch self {
        case .accepted(let request, let duplicate):
            var response = request.successResponse
            if duplicate { response.headers[HTTPField.Name("X-Periscope-Duplicate")!] = "true" }
            return response
        case .failed(let failure, let retryAfter):
            var response = failure.response
            response.headers[.retryAfter] = retryAfter.map(String.init)
            return response
        }
    }
}
