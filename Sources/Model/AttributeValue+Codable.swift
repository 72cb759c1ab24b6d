/// Attribute values as plain JSON: strings, booleans, numbers, arrays and objects.
/// Bytes become hex strings (and come back as strings).
extension AttributeValue: Codable {
    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.singleValueContainer() {
            if container.decodeNil() { self = .empty; return }
            if let value = try? container.decode(Bool.self) { self = .bool(value); return }
            if let value = try? container.decode(Int64.self) { self = .int(value); return }
            if let value = try? container.decode(Double.self) { self = .double(value); return }
            if let value = try? container.decode(String.self) { self = .string(value); return }
            if let value = try? container.decode([AttributeValue].self) { self = .array(value); return }
        }
        let object = try decoder.container(keyedBy: DynamicKey.self)
        self = .keyValueList(try object.allKeys.sorted { $0.stringValue < $1.stringValue }.map {
            Attribute($0.stringValue, try object.decode(AttributeValue.self, forKey: $0))
        })
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .keyValueList(let pairs):
            var object = encoder.container(keyedBy: DynamicKey.self)
            for pair in pairs { try object.encode(pair.value, forKey: DynamicKey(pair.key)) }
        default:
            var container = encoder.singleValueContainer()
            switch self {
            case .empty: try container.encodeNil()
            case .string(let value): try container.encode(value)
            case .bool(let value): try container.encode(value)
            case .int(let value): try container.encode(value)
            case .double(let value): try container.encode(value)
            case .bytes(let value): try container.encode(Hex.encode(value))
            case .array(let values): try container.encode(values)
            case .keyValueList: break
            }
        }
    }

    private struct DynamicKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
