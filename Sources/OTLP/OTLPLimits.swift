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
    /// Elements (spans, records, points, attributes, values…) in one request, counted on its
    /// bytes before decoding (`ElementCount`). Decoding builds tens of bytes per element, and an
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

    /// Whether a decoder with these limits takes `value` as an attribute's value (nested `depth`
    /// deep): for a producer (the tailer) to keep one odd record from getting its whole batch refused.
    public func admits(_ value: AttributeValue, depth: Int = 0) -> Bool {
        guard depth < maxValueDepth else { return false }
        switch value {
        case .empty, .bool, .int, .double: return true
        case .string(let text): return text.utf8.count <= maxValueBytes
        case .bytes(let bytes): return bytes.count <= maxValueBytes
        case .array(let values):
            return values.count <= maxAttributesPerItem && values.allSatisfy { admits($0, depth: depth + 1) }
        case .keyValueList(let pairs):
            return pairs.count <= maxAttributesPerItem
                && pairs.allSatisfy { $0.key.utf8.count <= maxValueBytes && admits($0.value, depth: depth + 1) }
        }
    }
}
