import PeriscopeModel

/// Bounds a decoder enforces so hostile payloads fail fast instead of exhausting memory.
public struct OTLPLimits: Hashable, Sendable {
    /// Attributes on one span, event, link, record, point, resource or scope.
    public var maxAttributesPerItem: Int
    /// Bytes in one attribute key or string/bytes value.
    public var maxValueBytes: Int
    /// Nesting of arrays and key/value lists inside one value.
    public var maxValueDepth: Int
    /// Items timed more than this far past `now` are refused one by one, as OTLP partial
    /// success, by the collector's `IngestTimeWindow` (the clock skew allowance).
    public var maxFutureSkewNanos: UInt64
    /// Elements (spans, records, points, attributes, values…) in one request, counted by the
    /// direct readers as they build (`ElementTally`) and on the bytes before the generic decoder
    /// runs (`ElementCount`). Decoding builds tens of bytes per element, and an
    /// element can cost 2 bytes on the wire: without this a 64 MiB body of empty attributes
    /// takes gigabytes. 2^21 is 2 MiB of the densest protobuf, far above what a 1 MiB export holds.
    public var maxElementsPerRequest: Int

    public init(
        maxAttributesPerItem: Int = 1024, maxValueBytes: Int = 1 << 20, maxValueDepth: Int = 16,
        maxFutureSkewNanos: UInt64 = 24 * 3600 * 1_000_000_000, maxElementsPerRequest: Int = 1 << 21
    ) {
        self.maxElementsPerRequest = maxElementsPerRequest
        self.maxAttributesPerItem = maxAttributesPerItem
        self.maxValueBytes = maxValueBytes
        self.maxValueDepth = maxValueDepth
        self.maxFutureSkewNanos = maxFutureSkewNanos
    }

    public static let `default` = OTLPLimits()

    /// The elements a decoder with these limits builds for `value` as an attribute's value (nested
    /// `depth` deep), or nil when it refuses it: for a producer (the agent's tailer and redaction)
    /// to keep one odd record from getting its whole batch refused.
    public func elements(of value: AttributeValue, depth: Int = 0) -> Int? {
        guard depth < maxValueDepth else { return nil }
        switch value {
        case .empty, .bool, .int, .double: return 0
        case .string(let text): return text.utf8.count <= maxValueBytes ? 0 : nil
        case .bytes(let bytes): return bytes.count <= maxValueBytes ? 0 : nil
        case .array(let values):
            guard values.count <= maxAttributesPerItem else { return nil }
            var total = values.count
            for value in values {
                guard let inner = elements(of: value, depth: depth + 1) else { return nil }
                total += inner
            }
            return total
        case .keyValueList(let pairs):
            guard pairs.count <= maxAttributesPerItem else { return nil }
            var total = pairs.count
            for pair in pairs {
                guard pair.key.utf8.count <= maxValueBytes, let inner = elements(of: pair.value, depth: depth + 1) else { return nil }
                total += inner
            }
            return total
        }
    }

    /// `value` if a decoder takes it, else its text within `maxValueBytes`: for a producer whose
    /// values changed after they were checked (a redaction's replacement can be longer than what it replaced).
    public func fitted(_ value: AttributeValue) -> AttributeValue {
        if elements(of: value) != nil { return value }
        if case .string(let text) = value { return .string(cut(text)) }
        return .string(cut(value.text))
    }

    /// `text` within `maxValueBytes`, cut at a character boundary: for a producer whose text grew
    /// past what it read (a redaction's replacement, repaired UTF-8, joined lines).
    public func cut(_ text: String) -> String {
        guard text.utf8.count > maxValueBytes else { return text }
        let utf8 = Array(text.utf8)
        var end = maxValueBytes
        while end > 0, utf8[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: utf8[..<end], as: UTF8.self)
    }
}
