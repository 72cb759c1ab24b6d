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

    public init(
        maxAttributesPerItem: Int = 1024, maxValueBytes: Int = 1 << 20, maxValueDepth: Int = 16,
        maxFutureSkewNanos: UInt64 = 24 * 3600 * 1_000_000_000
    ) {
        self.maxAttributesPerItem = maxAttributesPerItem
        self.maxValueBytes = maxValueBytes
        self.maxValueDepth = maxValueDepth
        self.maxFutureSkewNanos = maxFutureSkewNanos
    }

    public static let `default` = OTLPLimits()
}
