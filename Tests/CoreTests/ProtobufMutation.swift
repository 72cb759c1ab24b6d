@testable import PeriscopeOTLP
import PeriscopeTesting

/// Damages a valid request for the direct-reader tests, two ways: bytes (changes, truncations,
/// insertions — mostly malformed results), and structure (a field duplicated, dropped, moved or
/// emptied at any depth, with every enclosing length rewritten — well-formed results that test
/// last-one-wins, merging and missing-field rules).
enum ProtobufMutation {
    static func mutate(_ bytes: inout [UInt8], using generator: inout SeededGenerator) {
        for _ in 0..<Int.random(in: 1...3, using: &generator) where !bytes.isEmpty {
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: bytes[position] = UInt8.random(in: 0...255, using: &generator)
            case 1: bytes.removeSubrange(position...)
            default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
            }
        }
    }

    /// One field of a message: its number, wire type, and payload (a length-delimited field's
    /// content, or the value's own bytes).
    struct Field {
        var number: Int
        var wireType: Int
        var payload: [UInt8]
    }

    static func mutateStructure(_ bytes: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        guard var fields = fields(bytes), !fields.isEmpty else { return bytes }
        let index = Int.random(in: 0..<fields.count, using: &generator)
        // Go deeper, half the time, into a length-delimited field that reads as a message.
        if fields[index].wireType == 2, let inner = Self.fields(fields[index].payload), !inner.isEmpty, Bool.random(using: &generator) {
            fields[index].payload = mutateStructure(fields[index].payload, using: &generator)
            return encode(fields)
        }
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: fields.insert(fields[index], at: Int.random(in: 0...fields.count, using: &generator))
        case 1: fields.remove(at: index)
        case 2: fields.swapAt(index, Int.random(in: 0..<fields.count, using: &generator))
        default: if fields[index].wireType == 2 { fields[index].payload = [] } else { fields.append(fields[index]) }
        }
        return encode(fields)
    }

    /// The message's fields as the project's own reader reads them, or nil when malformed.
    static func fields(_ bytes: [UInt8]) -> [Field]? {
        bytes.withUnsafeBytes { buffer in
            var out = [Field]()
            let complete = ProtobufReader.readFields(of: buffer) { field, reader in
                var payload = ProtobufWriter()
                switch field.wireType {
                case 0:
                    guard let value = reader.varint() else { return .fail }
                    payload.varint(value)
                case 1:
                    guard let value = reader.fixed64() else { return .fail }
                    payload.bytes = withUnsafeBytes(of: value.littleEndian, Array.init)
                case 5:
                    guard let value = reader.fixed32() else { return .fail }
                    payload.bytes = withUnsafeBytes(of: value.littleEndian, Array.init)
                case 2:
                    guard let content = reader.lengthDelimited() else { return .fail }
                    payload.bytes = Array(content)
                default:
                    return .fail
                }
                out.append(Field(number: field.number, wireType: field.wireType, payload: payload.bytes))
                return .read
            }
            return complete ? out : nil
        }
    }

    static func encode(_ fields: [Field]) -> [UInt8] {
        var out = ProtobufWriter()
        for field in fields {
            out.tag(field.number, field.wireType)
            if field.wireType == 2 { out.varint(UInt64(field.payload.count)) }
            out.bytes += field.payload
        }
        return out.bytes
    }
}
