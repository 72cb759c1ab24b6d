import PeriscopeModel
import Tracing

extension SpanAttribute {
    /// The OTLP value of a swift-distributed-tracing attribute; arrays stay arrays.
    var telemetryValue: AttributeValue {
        switch self {
        case .int32(let value): return .int(Int64(value))
        case .int64(let value): return .int(value)
        case .double(let value): return .double(value)
        case .bool(let value): return .bool(value)
        case .string(let value): return .string(value)
        case .int32Array(let values): return .array(values.map { .int(Int64($0)) })
        case .int64Array(let values): return .array(values.map { .int($0) })
        case .doubleArray(let values): return .array(values.map { .double($0) })
        case .boolArray(let values): return .array(values.map { .bool($0) })
        case .stringArray(let values): return .array(values.map { .string($0) })
        case .stringConvertible(let value): return Self.typedValue(value)
        case .stringConvertibleArray(let values): return .array(values.map(Self.typedValue))
        default: return .string("\(self)")
        }
    }

    /// `span.attributes["k"] = [1, 2]` arrives as an array of string-convertibles; keep numbers
    /// and booleans typed so queries can compare them.
    private static func typedValue(_ value: any CustomStringConvertible & Sendable) -> AttributeValue {
        switch value {
        case let value as Int: return .int(Int64(value))
        case let value as Int64: return .int(value)
        case let value as Int32: return .int(Int64(value))
        case let value as Double: return .double(value)
        case let value as Bool: return .bool(value)
        case let value as String: return .string(value)
        default: return .string(value.description)
        }
    }
}

extension SpanAttributes {
    /// The attributes as an OTLP attribute list, sorted by key so output is stable.
    var telemetryAttributes: [Attribute] {
        guard !isEmpty else { return [] }
        var out: [Attribute] = []
        out.reserveCapacity(count)
        forEach { key, value in out.append(Attribute(key, value.telemetryValue)) }
        out.sort { $0.key < $1.key }
        return out
    }
}

extension Tracing.SpanKind {
    /// The OTLP span kind.
    var telemetryKind: PeriscopeModel.Span.Kind {
        switch self {
        case .server: return .server
        case .client: return .client
        case .producer: return .producer
        case .consumer: return .consumer
        case .internal: return .internal
        }
    }
}
