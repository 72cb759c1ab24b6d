import Foundation
import PeriscopeModel

/// OTLP/JSON writes trace and span IDs as hex, where canonical protobuf JSON (which
/// swift-protobuf speaks) writes bytes as base64. This rewrites just those values, in one
/// pass over the text, so everything else keeps swift-protobuf's exact JSON rules.
/// See https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
enum OTLPJSONIDs {
    /// ID fields and their hex length. Nothing else in OTLP uses these key names.
    private static let idKeys: [String: Int] = [
        "traceId": 32, "spanId": 16, "parentSpanId": 16,
        "trace_id": 32, "span_id": 16, "parent_span_id": 16,
    ]

    /// Hex IDs → base64, validating each: for decoding with swift-protobuf.
    static func hexToBase64(_ json: [UInt8]) throws(OTLPError) -> [UInt8] {
        try rewrite(json) { (key, value) throws(OTLPError) -> String in
            guard let length = idKeys[key] else { return value }
            if value.isEmpty { return value }
            guard value.utf8.count == length, let bytes = Hex.decode(value) else {
                throw OTLPError(.invalid, "\(key) must be \(length) hex digits, got '\(value.prefix(80))'")
            }
            return Data(bytes).base64EncodedString()
        }
    }

    /// Base64 IDs → hex: for the JSON swift-protobuf wrote.
    static func base64ToHex(_ json: [UInt8]) -> [UInt8] {
        let result = try? rewrite(json) { (key, value) throws(OTLPError) -> String in
            guard idKeys[key] != nil, let bytes = Data(base64Encoded: value) else { return value }
            return Hex.encode(bytes)
        }
        return result ?? json
    }

    /// Calls `transform(key, value)` for every string value directly under an object key and
    /// splices its result in. Strings with escapes are never IDs and are passed through.
    private static func rewrite(
        _ json: [UInt8], _ transform: (String, String) throws(OTLPError) -> String
    ) throws(OTLPError) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(json.count + json.count / 8)
        var index = 0
        var pendingKey: String?
        while index < json.count {
            let byte = json[index]
            guard byte == UInt8(ascii: "\"") else {
                out.append(byte)
                index += 1
                continue
            }
            let start = index + 1
            var end = start
            var escaped = false
            while end < json.count, json[end] != UInt8(ascii: "\"") {
                if json[end] == UInt8(ascii: "\\") { escaped = true; end += 1 }
                end += 1
            }
            guard end < json.count else {
                throw OTLPError(.malformed, "invalid JSON: unterminated string")
            }
            var after = end + 1
            while after < json.count, json[after] == 0x20 || json[after] == 0x0a || json[after] == 0x0d || json[after] == 0x09 {
                after += 1
            }
            let isKey = after < json.count && json[after] == UInt8(ascii: ":")
            if isKey {
                pendingKey = escaped ? nil : String(decoding: json[start..<end], as: UTF8.self)
                out.append(contentsOf: json[index...end])
            } else if let key = pendingKey, !escaped, idKeys[key] != nil {
                let replaced = try transform(key, String(decoding: json[start..<end], as: UTF8.self))
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: replaced.utf8)
                out.append(UInt8(ascii: "\""))
                pendingKey = nil
            } else {
                out.append(contentsOf: json[index...end])
                pendingKey = nil
            }
            index = end + 1
        }
        return out
    }
}
