/// Protobuf wire format, read forward from a buffer; any malformation sets `failed`.
struct ProtobufReader {
    struct Field {
        var number: Int
        var wireType: Int
    }

    private let buffer: UnsafeRawBufferPointer
    private var position = 0
    private(set) var failed = false

    init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
    }

    /// What a message's field reader did with one field.
    enum FieldOutcome {
        case read, skip, fail
    }

    /// Reads every field of a message with `body`, skipping those it answers `.skip` for; false
    /// when the bytes are malformed or `body` failed.
    static func readFields(of buffer: UnsafeRawBufferPointer, _ body: (Field, inout ProtobufReader) -> FieldOutcome) -> Bool {
        var reader = ProtobufReader(buffer)
        while let field = reader.field() {
            switch body(field, &reader) {
            case .read: continue
            case .skip: guard reader.skip(field) else { return false }
            case .fail: return false
            }
        }
        return !reader.failed
    }

    /// Reads each occurrence of a message's only used field, a repeated message with number 1
    /// (`ArrayValue`, `KeyValueList`, the export request), skipping the rest.
    static func readMessages(of buffer: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        readFields(of: buffer) { field, reader in
            guard field.number == 1 else { return .skip }
            guard field.wireType == 2, let inner = reader.lengthDelimited(), body(inner) else { return .fail }
            return .read
        }
    }

    /// The next field's tag, or nil at the end (or on a malformed tag, with `failed` set).
    mutating func field() -> Field? {
        guard position < buffer.count else { return nil }
        // Field numbers run from 1 to 2^29 - 1, and a tag takes at most five bytes (a longer,
        // zero-padded one is malformed to SwiftProtobuf, whose decoding the readers must match).
        let start = position
        guard let tag = varint(), position - start <= 5, tag >> 3 > 0, tag >> 3 < 1 << 29 else {
            failed = true
            return nil
        }
        return Field(number: Int(tag >> 3), wireType: Int(tag & 7))
    }

    @inline(__always)
    mutating func varint() -> UInt64? {
        guard let value = Varint.read(buffer, &position) else {
            failed = true
            return nil
        }
        return value
    }

    mutating func fixed64() -> UInt64? {
        guard position + 8 <= buffer.count else {
            failed = true
            return nil
        }
        defer { position += 8 }
        return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    mutating func fixed32() -> UInt32? {
        guard position + 4 <= buffer.count else {
            failed = true
            return nil
        }
        defer { position += 4 }
        return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func lengthDelimited() -> UnsafeRawBufferPointer? {
        guard let length = varint(), length <= UInt64(buffer.count - position) else {
            failed = true
            return nil
        }
        let start = position
        position += Int(length)
        return UnsafeRawBufferPointer(rebasing: buffer[start..<position])
    }

    /// A string field's text; nil (failed) when it is not valid UTF-8, as protobuf requires.
    mutating func string() -> String? {
        guard let bytes = lengthDelimited() else { return nil }
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            failed = true
            return nil
        }
        return text
    }

    /// Skips a field this reader does not use; false for a malformed one or a group (the generic path decides those).
    mutating func skip(_ field: Field) -> Bool {
        switch field.wireType {
        case 0: return varint() != nil
        case 1: return fixed64() != nil
        case 2: return lengthDelimited() != nil
        case 5: return fixed32() != nil
        default:
            failed = true
            return false
        }
    }
}
