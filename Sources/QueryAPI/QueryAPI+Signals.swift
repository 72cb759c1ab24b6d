import PeriscopeModel

extension QueryAPI {
    /// `GET /api/v1/signals?service=&by=operation&start=&end=`: the golden signals per service
    /// (or per operation), from the per-minute/hour/day rollups.
    public struct Signals: Codable, Hashable, Sendable {
        public var startTimeUnixNano: UInt64
        public var endTimeUnixNano: UInt64
        /// Width of each `series` bucket, in seconds.
        public var seriesStepSeconds: Int
        /// The busiest rows (at most the question's `limit`), in service and operation order.
        public var rows: [SignalRow]
        /// Rows there were before the limit; more than `rows.count` when some were left out.
        public var totalRows: Int?

        public init(startTimeUnixNano: UInt64, endTimeUnixNano: UInt64, seriesStepSeconds: Int, rows: [SignalRow], totalRows: Int? = nil) {
            self.startTimeUnixNano = startTimeUnixNano
            self.endTimeUnixNano = endTimeUnixNano
            self.seriesStepSeconds = seriesStepSeconds
            self.rows = rows
            self.totalRows = totalRows
        }
    }

    public struct SignalRow: Codable, Hashable, Sendable {
        public var service: String
        /// `nil` for the whole service.
        public var operation: String?
        public var requests: Int
        public var requestsPerSecond: Double
        public var errors: Int
        public var errorRatio: Double
        /// Failed requests by type: the HTTP status (`503`), the exception type, or `status_error`.
        public var errorTypes: [String: Int]
        /// Latency of successful requests, in nanoseconds.
        public var latency: Percentiles?
        /// Latency of failed requests, kept apart so fast failures do not flatter the numbers.
        public var failureLatency: Percentiles?
        /// Highest recent utilisation (0–1) among the service's CPU, memory and queue gauges.
        public var saturation: Double?
        /// Requests per `seriesStepSeconds` bucket across the range, oldest first.
        public var series: [Int]
        /// Failed requests per bucket, as `series` (empty from collectors before it).
        public var errorSeries: [Int]

        public init(
            service: String, operation: String?, requests: Int, requestsPerSecond: Double, errors: Int, errorRatio: Double,
            errorTypes: [String: Int], latency: Percentiles?, failureLatency: Percentiles?, saturation: Double?, series: [Int],
            errorSeries: [Int] = []
        ) {
            self.service = service
            self.operation = operation
            self.requests = requests
            self.requestsPerSecond = requestsPerSecond
            self.errors = errors
            self.errorRatio = errorRatio
            self.errorTypes = errorTypes
            self.latency = latency
            self.failureLatency = failureLatency
            self.saturation = saturation
            self.series = series
            self.errorSeries = errorSeries
        }

        /// Also reads the answers of collectors from before `errorSeries`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            service = try container.decode(String.self, forKey: .service)
            operation = try container.decodeIfPresent(String.self, forKey: .operation)
            requests = try container.decode(Int.self, forKey: .requests)
            requestsPerSecond = try container.decode(Double.self, forKey: .requestsPerSecond)
            errors = try container.decode(Int.self, forKey: .errors)
            errorRatio = try container.decode(Double.self, forKey: .errorRatio)
            errorTypes = try container.decode([String: Int].self, forKey: .errorTypes)
            latency = try container.decodeIfPresent(Percentiles.self, forKey: .latency)
            failureLatency = try container.decodeIfPresent(Percentiles.self, forKey: .failureLatency)
            saturation = try container.decodeIfPresent(Double.self, forKey: .saturation)
            series = try container.decode([Int].self, forKey: .series)
            errorSeries = try container.decodeIfPresent([Int].self, forKey: .errorSeries) ?? []
        }
    }

    /// Latency percentiles in nanoseconds, each within 1 % of the exact value.
    public struct Percentiles: Codable, Hashable, Sendable {
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var p999: Double

        public init(p50: Double, p90: Double, p99: Double, p999: Double) {
            self.p50 = p50
            self.p90 = p90
            self.p99 = p99
            self.p999 = p999
        }
    }
}
