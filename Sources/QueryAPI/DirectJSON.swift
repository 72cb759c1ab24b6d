/// A value that writes its own JSON: exactly the bytes `QueryAPI.encoder()` makes of it (keys
/// sorted, slashes escaped, non-finite numbers as strings), without the generic encoder's
/// per-value work. For the large answers only — golden signals per operation over 30 days
/// are ~1,000 rows and ~500 KB, which the generic encoder took ~50 ms to write.
public protocol DirectJSON: Encodable {
    func writeJSON(into out: inout JSONBytes)
}

extension DirectJSON {
    /// The value's JSON.
    public func jsonBytes() -> [UInt8] {
        var out = JSONBytes()
        writeJSON(into: &out)
        return out.bytes
    }
}

/// JSON written byte by byte, formatted as `QueryAPI.encoder()` formats it.
public struct JSONBytes: Sendable {
    private static let hex = Array("0123456789abcdef".utf8)

    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 4_096) {
        bytes.reserveCapacity(capacity)
    }

    /// `{`, the members `body` writes (each with `key`), `}`. Callers write keys in sorted order.
    public mutating func object(_ body: (inout JSONBytes) -> Void) {
        enclosed(UInt8(ascii: "{"), UInt8(ascii: "}"), body)
    }

    /// `[`, the elements `body` writes, `]`.
    public mutating func array(_ body: (inout JSONBytes) -> Void) {
        enclosed(UInt8(ascii: "["), UInt8(ascii: "]"), body)
    }

    private mutating func enclosed(_ open: UInt8, _ close: UInt8, _ body: (inout JSONBytes) -> Void) {
        separate()
        bytes.append(open)
        needsComma = false
        body(&self)
        bytes.append(close)
        needsComma = true
    }

    /// A member's key and colon; the value follows.
    public mutating func key(_ name: String) {
        separate()
        needsComma = false
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    public mutating func string(_ text: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case UInt8(ascii: "/"): bytes.append(contentsOf: [0x5C, 0x2F])
            case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func integer(_ value: some BinaryInteger) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    public mutating func double(_ value: Double) {
        if value.isNaN { return string("NaN") }
        if value.isInfinite { return string(value < 0 ? "-Infinity" : "Infinity") }
        separate()
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
        needsComma = true
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }
}

extension JSONBytes {
    /// The order `QueryAPI.encoder()` sorts a dictionary's keys in: by their UTF-8 bytes (not
    /// Swift's `<`, which compares canonical equivalents equal and orders by normalised form).
    public static func keyOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
