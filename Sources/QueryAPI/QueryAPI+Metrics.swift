import PeriscopeModel

extension QueryAPI {
    /// `GET /api/v1/metrics?name=…[&service=…]`: points of one metric, oldest first.
    public struct MetricPoints: Codable, Hashable, Sendable {
        public var points: [MetricPoint]
        /// The collector's read budget ran out before the whole range was read (points of the
        /// metric from other services, say): `points` are then every match before `resumeUnixNano`.
        public var truncated: Bool
        /// Set when `truncated`: ask again with `start` at it for the rest (nothing answered twice).
        /// At the range's own start nothing could be read whole (more points at that one instant
        /// than twice the budget): narrow the search instead.
        public var resumeUnixNano: UInt64?

        public init(points: [MetricPoint], truncated: Bool = false, resumeUnixNano: UInt64? = nil) {
            self.points = points
            self.truncated = truncated
            self.resumeUnixNano = resumeUnixNano
        }

        /// Also reads the answers of collectors from before `truncated` and `resumeUnixNano`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            points = try container.decode([MetricPoint].self, forKey: .points)
            truncated = try container.decodeIfPresent(Bool.self, forKey: .truncated) ?? false
            resumeUnixNano = try container.decodeIfPresent(UInt64.self, forKey: .resumeUnixNano)
        }
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
