/// A metric and its points: gauge, sum or explicit-bucket histogram.
/// See https://opentelemetry.io/docs/specs/otel/metrics/data-model/
public struct Metric: Hashable, Sendable {
    public enum Temporality: Int, Hashable, Sendable {
        case unspecified = 0, delta, cumulative
    }

    public enum Data: Hashable, Sendable {
        case gauge([NumberPoint])
        case sum([NumberPoint], temporality: Temporality, isMonotonic: Bool)
        case histogram([HistogramPoint], temporality: Temporality)

        public var pointCount: Int {
            switch self {
            case .gauge(let points), .sum(let points, _, _): return points.count
            case .histogram(let points, _): return points.count
            }
        }
    }

    public var name: String
    public var description: String
    public var unit: String
    public var data: Data

    public init(name: String, description: String = "", unit: String = "", data: Data) {
        self.name = name
        self.description = description
        self.unit = unit
        self.data = data
    }
}

/// A gauge or sum point; OTLP carries integers and doubles apart, so do we.
public struct NumberPoint: Hashable, Sendable {
    public enum Value: Hashable, Sendable {
        case int(Int64)
        case double(Double)

        public var asDouble: Double {
            switch self {
            case .int(let value): return Double(value)
            case .double(let value): return value
            }
        }
    }

    public var attributes: [Attribute]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var value: Value

    public init(attributes: [Attribute] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64, value: Value) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.value = value
    }
}

/// An explicit-bucket histogram point: `bucketCounts.count == explicitBounds.count + 1`.
public struct HistogramPoint: Hashable, Sendable {
    public var attributes: [Attribute]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var count: UInt64
    public var sum: Double?
    public var bucketCounts: [UInt64]
    public var explicitBounds: [Double]
    public var min: Double?
    public var max: Double?

    public init(
        attributes: [Attribute] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64, count: UInt64,
        sum: Double? = nil, bucketCounts: [UInt64], explicitBounds: [Double], min: Double? = nil, max: Double? = nil
    ) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.count = count
        self.sum = sum
        self.bucketCounts = bucketCounts
        self.explicitBounds = explicitBounds
        self.min = min
        self.max = max
    }
}

public struct ScopeMetrics: Hashable, Sendable {
    public var scope: InstrumentationScope
    public var metrics: [Metric]

    public init(scope: InstrumentationScope = InstrumentationScope(), metrics: [Metric]) {
        self.scope = scope
        self.metrics = metrics
    }
}

/// Metrics of one resource, grouped by scope — the unit of an OTLP metrics export.
public struct ResourceMetrics: Hashable, Sendable {
    public var resource: Resource
    public var scopes: [ScopeMetrics]

    public init(resource: Resource, scopes: [ScopeMetrics]) {
        self.resource = resource
        self.scopes = scopes
    }
}
