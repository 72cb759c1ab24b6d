/// A W3C trace ID: 16 bytes, written as 32 lowercase hex digits.
/// See https://www.w3.org/TR/trace-context/#trace-id
public struct TraceID: Hashable, Sendable, Comparable {
    public var high: UInt64
    public var low: UInt64

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Reads 16 big-endian bytes; `nil` for any other length. Inlinable: the OTLP readers call
    /// it for every span, and unspecialized generic code costs more than the read itself.
    @inlinable
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var index = 0
        for byte in bytes {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
            index += 1
        }
        self.init(high: high, low: low)
    }

    /// Parses 32 hex digits (either case); `nil` otherwise.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 32, let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// A random, valid (non-zero) trace ID.
    @inlinable
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> TraceID {
        var id = TraceID(high: generator.next(), low: generator.next())
        if id.isZero { id.low = 1 }
        return id
    }

    /// A random trace ID from the fast process-wide `IDGenerator`.
    public static func random() -> TraceID {
        var generator = IDGenerator()
        return random(using: &generator)
    }

    /// The all-zero ID is invalid in W3C trace context and OTLP.
    @inlinable
    public var isZero: Bool { high == 0 && low == 0 }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            out[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(index)))
            out[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(index)))
        }
        return out
    }

    public var hex: String { Hex.encode(bytes) }

    public static func < (lhs: TraceID, rhs: TraceID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

/// A W3C span (parent) ID: 8 bytes, written as 16 lowercase hex digits.
public struct SpanID: Hashable, Sendable, Comparable {
    public var value: UInt64

    @inlinable
    public init(_ value: UInt64) { self.value = value }

    /// Reads 8 big-endian bytes; `nil` for any other length (inlinable, as `TraceID`'s).
    @inlinable
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 8 else { return nil }
        self.value = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses 16 hex digits (either case); `nil` otherwise.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 16, let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    @inlinable
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> SpanID {
        let value = generator.next() as UInt64
        return SpanID(value == 0 ? 1 : value)
    }

    /// A random span ID from the fast process-wide `IDGenerator`.
    public static func random() -> SpanID {
        var generator = IDGenerator()
        return random(using: &generator)
    }

    public var isZero: Bool { value == 0 }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }

    public var hex: String { Hex.encode(bytes) }

    public static func < (lhs: SpanID, rhs: SpanID) -> Bool { lhs.value < rhs.value }
}

extension TraceID: CustomStringConvertible {
    public var description: String { hex }
}

extension SpanID: CustomStringConvertible {
    public var description: String { hex }
}

extension TraceID: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = TraceID(hex: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "trace ID must be 32 hex digits, got '\(text)'")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

extension SpanID: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = SpanID(hex: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "span ID must be 16 hex digits, got '\(text)'")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// Lowercase hex, as OTLP/JSON and W3C trace context write IDs.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes an even number of hex digits; `nil` on any other character or an odd count.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
