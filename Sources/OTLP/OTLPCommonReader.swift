import PeriscopeModel

/// The parts of OTLP that every signal's direct reader shares (`common.proto`, `resource.proto`
/// and the resource/scope grouping), read straight into the data model. Like the readers, each
/// answers nil for anything the generic decoder must decide.
struct OTLPCommonReader {
    let limits: OTLPLimits
    /// Elements built so far in the request being read.
    let tally: ElementTally

    init(limits: OTLPLimits) {
        self.limits = limits
        tally = ElementTally(limit: limits.maxElementsPerRequest)
    }

    /// The shape every signal's resource and scope groups share (`ResourceSpans`, `ScopeLogs` …):
    /// a singular message (field 1), a repeated message (field 2) and a schema URL (field 3).
    func group<Header, Item>(
        _ buffer: UnsafeRawBufferPointer, header: (UnsafeRawBufferPointer) -> Header?, item: (UnsafeRawBufferPointer) -> Item?
    ) -> (Header?, [Item])? {
        var parsedHeader: Header?
        var items = [Item]()
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                guard parsedHeader == nil, let body = reader.lengthDelimited(), let parsed = header(body) else { return .fail }
                parsedHeader = parsed
            case (2, 2):
                guard let body = reader.lengthDelimited(), let parsed = item(body) else { return .fail }
                items.append(parsed)
            case (3, 2):
                guard reader.string() != nil else { return .fail }
            case (1...3, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        return complete ? (parsedHeader, items) : nil
    }

    func resource(_ buffer: UnsafeRawBufferPointer) -> Resource? {
        var attributes = [Attribute]()
        var dropped: UInt32 = 0
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                guard let body = reader.lengthDelimited(), let pair = keyValue(body) else { return .fail }
                attributes.append(pair)
            case (2, 0):
                guard let value = reader.varint() else { return .fail }
                dropped = UInt32(truncatingIfNeeded: value)
            case (1...2, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        guard complete, attributes.count <= limits.maxAttributesPerItem else { return nil }
        return Resource(attributes: attributes, droppedAttributesCount: dropped)
    }

    func scope(_ buffer: UnsafeRawBufferPointer) -> InstrumentationScope? {
        var scope = InstrumentationScope()
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                guard let text = reader.string() else { return .fail }
                scope.name = text
            case (2, 2):
                guard let text = reader.string() else { return .fail }
                scope.version = text
            case (3, 2):
                guard let body = reader.lengthDelimited(), let pair = keyValue(body) else { return .fail }
                scope.attributes.append(pair)
            case (4, 0):
                guard reader.varint() != nil else { return .fail }
            case (1...4, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        guard complete, scope.attributes.count <= limits.maxAttributesPerItem else { return nil }
        return scope
    }

    func keyValue(_ buffer: UnsafeRawBufferPointer, depth: Int = 0) -> Attribute? {
        guard tally.add() else { return nil }
        var key = ""
        var value = AttributeValue.empty
        var sawValue = false
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            switch (field.number, field.wireType) {
            case (1, 2):
                guard let text = reader.string() else { return .fail }
                key = text
            case (2, 2):
                guard !sawValue, let body = reader.lengthDelimited(), let parsed = anyValue(body, depth: depth) else { return .fail }
                sawValue = true
                value = parsed
            case (1...2, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        // The generic decoder checks the value's depth even when the pair has none.
        guard complete, key.utf8.count <= limits.maxValueBytes, depth < limits.maxValueDepth else { return nil }
        return Attribute(key, value)
    }

    func anyValue(_ buffer: UnsafeRawBufferPointer, depth: Int) -> AttributeValue? {
        guard depth < limits.maxValueDepth else { return nil }
        var value = AttributeValue.empty
        var sawValue = false
        let complete = ProtobufReader.readFields(of: buffer) { field, reader in
            if (1...7).contains(field.number) {
                // A oneof set twice merges or replaces in the generic decoder: let it decide.
                guard !sawValue else { return .fail }
                sawValue = true
            }
            switch (field.number, field.wireType) {
            case (1, 2):
                guard let text = reader.string(), text.utf8.count <= limits.maxValueBytes else { return .fail }
                value = .string(text)
            case (2, 0):
                guard let raw = reader.varint() else { return .fail }
                value = .bool(raw != 0)
            case (3, 0):
                guard let raw = reader.varint() else { return .fail }
                value = .int(Int64(bitPattern: raw))
            case (4, 1):
                guard let raw = reader.fixed64() else { return .fail }
                value = .double(Double(bitPattern: raw))
            case (5, 2):
                guard let body = reader.lengthDelimited() else { return .fail }
                var values = [AttributeValue]()
                let elements = ProtobufReader.readMessages(of: body) { inner in
                    guard tally.add(), let parsed = anyValue(inner, depth: depth + 1) else { return false }
                    values.append(parsed)
                    return true
                }
                guard elements, values.count <= limits.maxAttributesPerItem else { return .fail }
                value = .array(values)
            case (6, 2):
                guard let body = reader.lengthDelimited() else { return .fail }
                var list = [Attribute]()
                let pairs = ProtobufReader.readMessages(of: body) { inner in
                    guard let parsed = keyValue(inner, depth: depth + 1) else { return false }
                    list.append(parsed)
                    return true
                }
                guard pairs, list.count <= limits.maxAttributesPerItem else { return .fail }
                value = .keyValueList(list)
            case (7, 2):
                guard let bytes = reader.lengthDelimited(), bytes.count <= limits.maxValueBytes else { return .fail }
                value = .bytes(Array(bytes))
            case (1...7, _):
                return .fail
            default:
                return .skip
            }
            return .read
        }
        return complete ? value : nil
    }
}
