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
        var number: UInt64
        var wireType: UInt64
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

    static func fields(_ bytes: [UInt8]) -> [Field]? {
        var out = [Field]()
        var position = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard position < bytes.count else { return nil }
                let byte = bytes[position]
                position += 1
                value |= UInt64(byte & 0x7F) << UInt64(shift)
                if byte & 0x80 == 0 { return value }
            }
            return nil
        }
        while position < bytes.count {
            guard let tag = varint(), tag >> 3 > 0 else { return nil }
            let start = position
            let payload: [UInt8]
            switch tag & 7 {
            case 0:
                guard varint() != nil else { return nil }
                payload = Array(bytes[start..<position])
            case 1, 5:
                let size = tag & 7 == 1 ? 8 : 4
                guard position + size <= bytes.count else { return nil }
                position += size
                payload = Array(bytes[start..<position])
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - position) else { return nil }
                payload = Array(bytes[position..<(position + Int(length))])
                position += Int(length)
            default:
                return nil
            }
            out.append(Field(number: tag >> 3, wireType: tag & 7, payload: payload))
        }
        return out
    }

    static func encode(_ fields: [Field]) -> [UInt8] {
        var out = [UInt8]()
        func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                out.append(UInt8(value & 0x7F) | 0x80)
                value >>= 7
            }
            out.append(UInt8(value))
        }
        for field in fields {
            varint(field.number << 3 | field.wireType)
            if field.wireType == 2 { varint(UInt64(field.payload.count)) }
            out += field.payload
        }
        return out
    }
}
