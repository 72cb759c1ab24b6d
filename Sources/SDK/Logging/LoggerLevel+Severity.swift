import Logging
import PeriscopeModel

extension Logger.Level {
    /// The OpenTelemetry severity number for this swift-log level.
    /// `notice` is INFO2 (10) and `critical` is FATAL (21), per the OpenTelemetry mapping guidance.
    public var severity: Severity {
        switch self {
        case .trace: return .trace
        case .debug: return .debug
        case .info: return .info
        case .notice: return Severity(rawValue: 10)
        case .warning: return .warn
        case .error: return .error
        case .critical: return .fatal
        }
    }

    /// The severity text: the swift-log level name in upper case (`INFO`, `NOTICE`, `WARNING`…).
    public var severityText: String {
        switch self {
        case .trace: return "TRACE"
        case .debug: return "DEBUG"
        case .info: return "INFO"
        case .notice: return "NOTICE"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }
}

extension Logger.MetadataValue {
    /// The OTLP value: strings stay strings, arrays become arrays, dictionaries key/value lists.
    var telemetryValue: AttributeValue {
        switch self {
        case .string(let value): return .string(value)
        case .stringConvertible(let value): return .string(value.description)
        case .array(let values): return .array(values.map(\.telemetryValue))
        case .dictionary(let values):
            return .keyValueList(values.sorted { $0.key < $1.key }.map { Attribute($0.key, $0.value.telemetryValue) })
        }
    }
}

extension Logger.Metadata {
    /// Appends the metadata to `out` as attributes sorted by key; nested dictionaries become
    /// dotted keys (`user.id`), the shape OTLP attribute queries expect. Appending lets the
    /// caller size `out` once for everything else a record carries.
    func appendTelemetryAttributes(to out: inout [Attribute]) {
        let start = out.count
        for (key, value) in self {
            if case .dictionary(let nested) = value, !nested.isEmpty {
                // Nested keys stay together under their parent: sort the top level, then flatten.
                out.removeSubrange(start...)
                for (key, value) in sorted(by: { $0.key < $1.key }) {
                    Self.flatten(key: key, value: value, into: &out)
                }
                return
            }
            out.append(Attribute(key, value.telemetryValue))
        }
        // Sorted in place: sorting `out[start...]` would copy the slice and write it back.
        out.withUnsafeMutableBufferPointer { $0[start...].sort { $0.key < $1.key } }
    }

    private static func flatten(key: String, value: Logger.MetadataValue, into out: inout [Attribute]) {
        if case .dictionary(let nested) = value, !nested.isEmpty {
            for (subKey, subValue) in nested.sorted(by: { $0.key < $1.key }) {
                flatten(key: key + "." + subKey, value: subValue, into: &out)
            }
        } else {
            out.append(Attribute(key, value.telemetryValue))
        }
    }
}
