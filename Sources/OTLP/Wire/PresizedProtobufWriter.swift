/// Writes protobuf into memory sized for it beforehand: a message's length is known before its
/// bytes, so nothing is inserted afterwards, and a whole message costs one capacity check
/// instead of one per byte. The `…Size` functions give the sizes the writes produce.
package struct PresizedProtobufWriter {
    package private(set) var position: UnsafeMutablePointer<UInt8>
    package let end: UnsafeMutablePointer<UInt8>

    package init(start: UnsafeMutablePointer<UInt8>, count: Int) {
        position = start
        end = start + count
    }

    package var isAtEnd: Bool { position == end }

    package mutating func byte(_ value: UInt8) {
        position.pointee = value
        position += 1
    }

    package mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        byte(UInt8(value))
    }

    package mutating func tag(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

    package mutating func fixed64(_ value: UInt64) {
        UnsafeMutableRawPointer(position).storeBytes(of: value.littleEndian, as: UInt64.self)
        position += 8
    }

    /// Eight bytes, most significant first (how trace and span IDs are laid out).
    package mutating func bigEndian64(_ value: UInt64) {
        UnsafeMutableRawPointer(position).storeBytes(of: value.bigEndian, as: UInt64.self)
        position += 8
    }

    package mutating func bytes(_ source: UnsafeBufferPointer<UInt8>) {
        guard let start = source.baseAddress, source.count > 0 else { return }
        position.update(from: start, count: source.count)
        position += source.count
    }

    package mutating func bytes(_ source: [UInt8]) { source.withUnsafeBufferPointer { bytes($0) } }

    /// Field `field` (wire type 2) holding `source`.
    package mutating func lengthDelimited(_ field: Int, _ source: UnsafeBufferPointer<UInt8>) {
        tag(field, 2)
        varint(UInt64(source.count))
        bytes(source)
    }

    package static func varintSize(_ value: UInt64) -> Int { Varint.size(value) }

    package static func tagSize(_ field: Int) -> Int { varintSize(UInt64(field << 3)) }

    /// The size of field `field` holding `count` bytes.
    package static func lengthDelimitedSize(_ field: Int, _ count: Int) -> Int { tagSize(field) + varintSize(UInt64(count)) + count }
}
