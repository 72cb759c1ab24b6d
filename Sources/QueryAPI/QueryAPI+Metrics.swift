import PeriscopeModel

extension QueryAPI {
    /// `GET /api/v1/metrics?name=…[&service=…]`: points of one metric, oldest first.
    public struct MetricPoints: Codable, Hashable, Sendable {
        public var points: [MetricPoint]

        public init(points: [MetricPoint]) { self.points = points }
    }

    public struct MetricPoint: Codable, Hashable, Sendable {
        public var name: String
        public var service: String
        /// `gauge`, `sum` or `histogram` (for histograms `value` is the sum of the observations).
        public var kind: String
        public var timeUnixNano: UInt64
        public var value: Double
        public var attributes: [String: AttributeValue]

        public init(name: String, service: String, kind: String, timeUnixNano: UInt64, value: Double, attributes: [String: AttributeValue]) {
            self.name = name
            self.service = service
            self.kind = kind
            self.timeUnixNano = timeUnixNano
            self.value = value
            self.attributes = attributes
        }
    }
}
