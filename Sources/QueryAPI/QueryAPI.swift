import Foundation
import PeriscopeModel

/// The collector's JSON query API (`/api/v1/...`): the documents it returns, shared by the
/// collector that writes them and the CLI that reads them. Times are Unix nanoseconds,
/// IDs lowercase hex, attributes plain JSON values (bytes as hex strings).
public enum QueryAPI {
    /// JSON coders for these documents: non-finite numbers (an infinite burn rate) are the
    /// strings `Infinity`, `-Infinity` and `NaN`.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }

    /// The body of every 4xx/5xx answer of the query API.
    public struct ErrorBody: Codable, Hashable, Sendable {
        public var error: String

        public init(error: String) { self.error = error }
    }
}

extension Array where Element == Attribute {
    /// Attributes as a JSON object; on a repeated key the first wins, as OTLP readers do.
    public var dictionary: [String: AttributeValue] {
        var out = [String: AttributeValue](minimumCapacity: count)
        for attribute in self where out[attribute.key] == nil { out[attribute.key] = attribute.value }
        return out
    }
}
