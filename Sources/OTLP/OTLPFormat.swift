import Foundation

/// The body formats OTLP/HTTP allows.
public enum OTLPFormat: String, Sendable {
    case protobuf = "application/x-protobuf"
    case json = "application/json"

    /// Reads a `Content-Type` header, ignoring parameters such as `charset`; `nil` if unsupported.
    public init?(contentType: String?) {
        guard let contentType else { return nil }
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        switch media {
        case "application/x-protobuf", "application/protobuf": self = .protobuf
        case "application/json": self = .json
        default: return nil
        }
    }
}

