import Hummingbird
import Instrumentation

/// Reads propagation headers (`traceparent`, `tracestate`, `baggage`, `x-request-id`…) from
/// Hummingbird's `HTTPFields`. Repeated fields are joined with commas, as HTTP list headers
/// such as `tracestate` and `baggage` require.
public struct HTTPFieldsExtractor: Extractor {
    /// A stateless extractor.
    public init() {}

    /// The value of header `key` (case-insensitive), repeated fields joined by `,`.
    public func extract(key: String, from fields: HTTPFields) -> String? {
        let name = key.lowercased()
        var result: String?
        for field in fields where field.name.canonicalName == name {
            if let existing = result { result = existing + "," + field.value } else { result = field.value }
        }
        return result
    }
}
