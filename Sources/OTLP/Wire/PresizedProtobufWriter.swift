/// Writes protobuf into memory sized for it beforehand: a message's length is known before its
/// bytes, so nothing is inserted afterwards, and a whole message costs one capacity check
/// instead of one per byte. The `…Size` functions give the sizes the writes produce. Every
/// member is inlinable: the tailer's record writer (another module) calls them per byte.
public struct PresizedProtobufWriter {
    @usableFromInline var position: UnsafeMutablePointer<UInt8>
    @usableFromInline let end: UnsafeMutablePointer<UInt8>

    @inlinable
    public init(start: UnsafeMutablePointer<UInt8>, count: Int) {
        position = start
        end = start + count
    }

    @inlinable
    public var isAtEnd: Bool { position == end }

    @inlinable
    public mutating func byte(_ value: UInt8) {
        position.pointee = value
        position += 1
    }

    @inlinable
    public mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        byte(UInt8(value))
    }

    @inlinable
    public mutating func tag(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    @inlinable
    public mutating func fixed64(_ value: UInt64) {
        UnsafeMutableRawPointer(position).storeBytes(of: value.littleEndian, as: UInt64.self)
        position += 8
    }

    /// Eight bytes, most significant first (how trace and span IDs are laid out).
    @inlinable
    public mutating func bigEndian64(_ value: UInt64) {
        UnsafeMutableRawPointer(position).storeBytes(of: value.bigEndian, as: UInt64.self)
        position += 8
    }

    @inlinable
    public mutating func bytes(_ source: UnsafeBufferPointer<UInt8>) {
        guard let start = source.baseAddress, source.count > 0 else { return }
        position.update(from: start, count: source.count)
        position += source.count
    }

    @inlinable
    public mutating func bytes(_ source: [UInt8]) { source.withUnsafeBufferPointer { bytes($0) } }

    /// Field `field` (wire type 2) holding `source`.
    @inlinable
    public mutating func lengthDelimited(_ field: Int, _ source: UnsafeBufferPointer<UInt8>) {
        tag(field, 2)
        varint(UInt64(source.count))
        bytes(source)
    }

    @inlinable
    public static func varintSize(_ value: UInt64) -> Int { Varint.size(value) }

    @inlinable
    public static func tagSize(_ field: Int) -> Int { varintSize(UInt64(field << 3)) }

    /// The size of field `field` holding `count` bytes.
    @inlinable
    public static func lengthDelimitedSize(_ field: Int, _ count: Int) -> Int { tagSize(field) + varintSize(UInt64(count)) + count }
}
