import PeriscopeModel

/// OTLP `common.proto` messages (attributes and any-values), written straight from the model.
extension ProtobufWriter {
    package mutating func attributes(_ field: Int, _ attributes: [Attribute]) {
        for attribute in attributes {
            message(field) { pair in
                pair.stringField(1, attribute.key)
                pair.message(2) { $0.anyValue(attribute.value) }
            }
        }
    }

    /// The members of `AnyValue`'s oneof are written even when they hold their default.
    package mutating func anyValue(_ value: AttributeValue) {
        switch value {
        case .empty: break
        case .string(let text): stringField(1, text, always: true)
        case .bool(let flag):
            tag(2, 0)
            varint(flag ? 1 : 0)
        case .int(let number):
            tag(3, 0)
            varint(UInt64(bitPattern: number))
        case .double(let number):
            tag(4, 1)
            withUnsafeBytes(of: number.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        case .array(let values):
            message(5) { array in for element in values { array.message(1) { $0.anyValue(element) } } }
        case .keyValueList(let pairs):
            message(6) { $0.attributes(1, pairs) }
        case .bytes(let data): bytesField(7, data, always: true)
        }
    }
}
