/// An OTLP `AnyValue`: every value type an attribute, a log body or a scope can carry.
/// See https://opentelemetry.io/docs/specs/otel/common/#anyvalue
/// Not `indirect`: the nested cases already hold their values in arrays, and an indirect enum
/// would allocate a box for every value (a log record or span with five attributes, five boxes).
public enum AttributeValue: Hashable, Sendable {
    case empty
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case bytes([UInt8])
    case array([AttributeValue])
    case keyValueList([Attribute])

    /// The value as a user reads it: strings bare, everything else in a compact form.
    public var text: String {
        switch self {
        case .empty: return ""
        case .string(let value): return value
        case .bool(let value): return String(value)
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .bytes(let value): return Hex.encode(value)
        case .array(let values): return "[" + values.map(\.text).joined(separator: ", ") + "]"
        case .keyValueList(let values):
            return "{" + values.map { "\($0.key)=\($0.value.text)" }.joined(separator: ", ") + "}"
        }
    }
}

/// One key/value pair. OTLP keeps attributes as an ordered list, so do we.
public struct Attribute: Hashable, Sendable {
    public var key: String
    public var value: AttributeValue

    public init(_ key: String, _ value: AttributeValue) {
        self.key = key
        self.value = value
    }
}

extension Array where Element == Attribute {
    /// The value of the first attribute named `key`.
    public subscript(key: String) -> AttributeValue? {
        first { $0.key == key }?.value
    }
}

/// The entity producing telemetry: `service.name`, `service.instance.id`, `host.name`, …
/// See https://opentelemetry.io/docs/specs/semconv/resource/
public struct Resource: Hashable, Sendable {
    public var attributes: [Attribute]
    public var droppedAttributesCount: UInt32

    public init(attributes: [Attribute] = [], droppedAttributesCount: UInt32 = 0) {
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
    }

    public init(serviceName: String, instanceID: String? = nil, hostName: String? = nil, attributes: [Attribute] = []) {
        var all = [Attribute(ResourceKey.serviceName, .string(serviceName))]
        if let instanceID { all.append(Attribute(ResourceKey.serviceInstanceID, .string(instanceID))) }
        if let hostName { all.append(Attribute(ResourceKey.hostName, .string(hostName))) }
        all += attributes.filter { $0.key != ResourceKey.serviceName }
        self.init(attributes: all)
    }

    /// `service.name`, or `unknown_service` as the OpenTelemetry resource spec prescribes.
    public var serviceName: String {
        if case .string(let name)? = attributes[ResourceKey.serviceName], !name.isEmpty { return name }
        return "unknown_service"
    }
}

/// Semantic-convention keys that Periscope reads.
public enum ResourceKey {
    public static let serviceName = "service.name"
    public static let serviceInstanceID = "service.instance.id"
    public static let hostName = "host.name"
}

/// The library that produced a group of spans, records or metrics.
public struct InstrumentationScope: Hashable, Sendable {
    public var name: String
    public var version: String
    public var attributes: [Attribute]

    public init(name: String = "", version: String = "", attributes: [Attribute] = []) {
        self.name = name
        self.version = version
        self.attributes = attributes
    }
}
