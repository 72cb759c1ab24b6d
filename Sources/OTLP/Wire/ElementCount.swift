/// How many elements (spans, records, points, attributes, values…) a request could decode to,
/// counted on its bytes before the generic decoder builds anything (the direct readers count as
/// they build, `ElementTally`), so that `OTLPLimits.maxElementsPerRequest` holds whichever
/// decoder runs: an element can cost 2 bytes on the wire and tens of bytes once decoded.
enum ElementCount {
    /// Deeper than any OTLP message goes with values nested `OTLPLimits.maxValueDepth` deep (up to
    /// three levels a value, `AnyValue`, `KeyValueList`, `KeyValue`, below nine of request, groups,
    /// metric, point and exemplar). The generic decoder refuses messages nested deeper, so nothing
    /// below it is ever built.
    static let maxDepth = 64

    /// Refuses `bytes` when it may hold more than `limit` elements.
    static func check(_ bytes: [UInt8], format: OTLPFormat, limit: Int) throws(OTLPError) {
        let count = bytes.withUnsafeBytes { buffer in
            format == .protobuf ? protobufMessages(in: buffer, limit: limit) : jsonObjects(in: buffer, limit: limit)
        }
        guard count <= limit else {
            throw OTLPError(.invalid, "the request holds more than \(limit) elements (spans, records, points, attributes and "
                + "values together): send smaller batches")
        }
    }

    /// Length-delimited fields whose content is itself well-formed protobuf, at every depth: at
    /// least the messages a decoder builds (a string that happens to parse counts too). Stops
    /// once past `limit`. Counts add up: a concatenation of requests counts their sum.
    static func protobufMessages(in buffer: UnsafeRawBufferPointer, limit: Int) -> Int {
        var count = 0
        _ = messages(in: buffer, depth: 0, count: &count, limit: limit)
        return count
    }

    /// Whether `buffer` is well-formed protobuf; if it is, adds the messages inside it to `count`
    /// (and once `count` is past `limit`, whatever was found so far, and stops).
    private static func messages(in buffer: UnsafeRawBufferPointer, depth: Int, count: inout Int, limit: Int) -> Bool {
        var reader = ProtobufReader(buffer)
        var inner = 0
        guard fields(&reader, until: nil, depth: depth, count: count, inner: &inner, limit: limit), !reader.failed else {
            // Past the limit a partial count is enough: it is refused either way.
            if count + inner > limit { count += inner; return true }
            return false
        }
        count += inner
        return true
    }

    /// Reads fields to the end of the buffer, or (a group, which a decoder keeps as an unknown
    /// field with what it holds) to the end tag of field `group`; false when malformed or past the limit.
    private static func fields(
        _ reader: inout ProtobufReader, until group: Int?, depth: Int, count: Int, inner: inout Int, limit: Int
    ) -> Bool {
        while let field = reader.field() {
            switch field.wireType {
            case 2:
                guard let content = reader.lengthDelimited() else { return false }
                var nested = count + inner
                if depth >= maxDepth || messages(in: content, depth: depth + 1, count: &nested, limit: limit) {
                    inner = nested - count + 1
                }
            case 3:
                guard depth < maxDepth, fields(&reader, until: field.number, depth: depth + 1, count: count, inner: &inner, limit: limit) else {
                    return false
                }
            case 4:
                return field.number == group
            default:
                guard reader.skip(field) else { return false }
            }
            if count + inner > limit { return false }
        }
        return group == nil
    }

    /// `{` outside strings: every element of OTLP/JSON is an object. Stops once past `limit`.
    static func jsonObjects(in buffer: UnsafeRawBufferPointer, limit: Int) -> Int {
        var count = 0
        var inString = false
        var escaped = false
        for byte in buffer {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "{") {
                count += 1
                if count > limit { return count }
            }
        }
        return count
    }
}

/// What a direct reader has built of one request (spans, events, links, records, attributes,
/// array values): past `OTLPLimits.maxElementsPerRequest` it leaves the request to the generic
/// path, whose `ElementCount` (which counts at least as many) refuses it. One request at a time.
final class ElementTally {
    private var count = 0
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts one more element; false once past the limit.
    func add() -> Bool {
        count += 1
        return count <= limit
    }

    func reset() { count = 0 }
}
