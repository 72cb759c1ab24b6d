import Hummingbird
import Tracing

/// Reads propagation headers (`traceparent`, `tracestate`) from a Hummingbird request.
/// Repeated fields are joined with commas, as HTTP list headers such as `tracestate` require.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from fields: HTTPFields) -> String? {
        let name = key.lowercased()
        var values: [String] = []
        for field in fields where field.name.canonicalName == name {
            values.append(field.value)
        }
        return values.isEmpty ? nil : values.joined(separator: ",")
    }
}
