import Foundation
import PeriscopeModel

/// The collector's JSON query API (`/api/v1/...`): the documents it returns, shared by the
/// collector that writes them and the CLI that reads them. Times are Unix nanoseconds,
/// IDs lowercase hex, attributes plain JSON values (bytes as hex strings).
public enum QueryAPI {
    /// `GET /api/v1/traces/{traceID}`: every stored span of one trace.
    public struct Trace: Codable, Hashable, Sendable {
        public var traceID: TraceID
        /// The trace's spans by start time: all of them, or the first `limit` when it has more.
        public var spans: [Span]
        /// Spans the trace has; more than `spans.count` when the answer was cut at the limit.
        public var totalSpans: Int?

        public init(traceID: TraceID, spans: [Span], totalSpans: Int? = nil) {
            self.traceID = traceID
            self.spans = spans
            self.totalSpans = totalSpans
        }
    }

    public struct Span: Codable, Hashable, Sendable {
        public var traceID: TraceID
        public var spanID: SpanID
        public var parentSpanID: SpanID?
        public var service: String
        public var name: String
        /// `internal`, `server`, `client`, `producer`, `consumer` or `unspecified`.
        public var kind: String
        public var startTimeUnixNano: UInt64
        public var endTimeUnixNano: UInt64
        public var durationNanos: UInt64
        public var status: Status
        public var attributes: [String: AttributeValue]
        public var resource: [String: AttributeValue]
        public var events: [Event]
        public var links: [Link]

        public init(
            traceID: TraceID, spanID: SpanID, parentSpanID: SpanID?, service: String, name: String, kind: String,
            startTimeUnixNano: UInt64, endTimeUnixNano: UInt64, status: Status,
            attributes: [String: AttributeValue], resource: [String: AttributeValue], events: [Event], links: [Link]
        ) {
            self.traceID = traceID
            self.spanID = spanID
            self.parentSpanID = parentSpanID
            self.service = service
            self.name = name
            self.kind = kind
            self.startTimeUnixNano = startTimeUnixNano
            self.endTimeUnixNano = endTimeUnixNano
            self.durationNanos = endTimeUnixNano >= startTimeUnixNano ? endTimeUnixNano - startTimeUnixNano : 0
            self.status = status
            self.attributes = attributes
            self.resource = resource
            self.events = events
            self.links = links
        }
    }

    public struct Status: Codable, Hashable, Sendable {
        /// `unset`, `ok` or `error`.
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }

        public var isError: Bool { code == "error" }
    }

    public struct Event: Codable, Hashable, Sendable {
        public var timeUnixNano: UInt64
        public var name: String
        public var attributes: [String: AttributeValue]

        public init(timeUnixNano: UInt64, name: String, attributes: [String: AttributeValue]) {
            self.timeUnixNano = timeUnixNano
            self.name = name
            self.attributes = attributes
        }
    }

    public struct Link: Codable, Hashable, Sendable {
        public var traceID: TraceID
        public var spanID: SpanID
        public var attributes: [String: AttributeValue]

        public init(traceID: TraceID, spanID: SpanID, attributes: [String: AttributeValue]) {
            self.traceID = traceID
            self.spanID = spanID
            self.attributes = attributes
        }
    }

    /// `GET /api/v1/logs?trace_id=…`: log records, oldest first.
    public struct Logs: Codable, Hashable, Sendable {
        public var logs: [Log]

        public init(logs: [Log]) { self.logs = logs }
    }

    public struct Log: Codable, Hashable, Sendable {
        public var timeUnixNano: UInt64
        public var observedTimeUnixNano: UInt64
        public var service: String
        public var severityNumber: Int
        /// The source's own level text, or the OTLP range name (`INFO`, `ERROR`, …) when it gave none.
        public var severityText: String
        public var body: AttributeValue
        public var attributes: [String: AttributeValue]
        public var traceID: TraceID?
        public var spanID: SpanID?

        public init(
            timeUnixNano: UInt64, observedTimeUnixNano: UInt64, service: String, severityNumber: Int,
            severityText: String, body: AttributeValue, attributes: [String: AttributeValue],
            traceID: TraceID?, spanID: SpanID?
        ) {
            self.timeUnixNano = timeUnixNano
            self.observedTimeUnixNano = observedTimeUnixNano
            self.service = service
            self.severityNumber = severityNumber
            self.severityText = severityText
            self.body = body
            self.attributes = attributes
            self.traceID = traceID
            self.spanID = spanID
        }
    }

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

    /// `GET /api/v1/traces?…`: matching traces, newest first.
    public struct TraceList: Codable, Hashable, Sendable {
        public var traces: [TraceSummary]

        public init(traces: [TraceSummary]) { self.traces = traces }
    }

    /// A trace at a glance, maintained at ingest.
    public struct TraceSummary: Codable, Hashable, Sendable {
        public var traceID: TraceID
        public var startTimeUnixNano: UInt64
        public var durationNanos: UInt64
        /// The root span's service and name; `nil` while the root span has not arrived.
        public var rootService: String?
        public var rootName: String?
        public var spanCount: Int
        public var errorCount: Int
        public var services: [String]

        public init(
            traceID: TraceID, startTimeUnixNano: UInt64, durationNanos: UInt64, rootService: String?, rootName: String?,
            spanCount: Int, errorCount: Int, services: [String]
        ) {
            self.traceID = traceID
            self.startTimeUnixNano = startTimeUnixNano
            self.durationNanos = durationNanos
            self.rootService = rootService
            self.rootName = rootName
            self.spanCount = spanCount
            self.errorCount = errorCount
            self.services = services
        }
    }

    /// `GET /api/v1/services`: every service seen, with its operations.
    public struct Services: Codable, Hashable, Sendable {
        public var services: [Service]

        public init(services: [Service]) { self.services = services }
    }

    public struct Service: Codable, Hashable, Sendable {
        public var name: String
        /// At most the question's `limit` operations, by name.
        public var operations: [Operation]
        /// Operations the service has; more than `operations.count` when some were left out.
        public var operationCount: Int?

        public init(name: String, operations: [Operation], operationCount: Int? = nil) {
            self.name = name
            self.operations = operations
            self.operationCount = operationCount
        }
    }

    public struct Operation: Codable, Hashable, Sendable {
        public var name: String
        public var kind: String

        public init(name: String, kind: String) {
            self.name = name
            self.kind = kind
        }
    }

    /// `GET /api/v1/dependencies`: caller → callee edges from parent/child spans across services.
    public struct Dependencies: Codable, Hashable, Sendable {
        public var edges: [Dependency]

        public init(edges: [Dependency]) { self.edges = edges }
    }

    public struct Dependency: Codable, Hashable, Sendable {
        public var caller: String
        public var callee: String
        public var calls: Int
        public var errors: Int

        public init(caller: String, callee: String, calls: Int, errors: Int) {
            self.caller = caller
            self.callee = callee
            self.calls = calls
            self.errors = errors
        }
    }

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

        public init(
            service: String, operation: String?, requests: Int, requestsPerSecond: Double, errors: Int, errorRatio: Double,
            errorTypes: [String: Int], latency: Percentiles?, failureLatency: Percentiles?, saturation: Double?, series: [Int]
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

    /// `GET /api/v1/slos`: the status of every SLO.
    public struct SLOList: Codable, Hashable, Sendable {
        public var evaluatedAtUnixNano: UInt64
        public var slos: [SLOStatus]

        public init(evaluatedAtUnixNano: UInt64, slos: [SLOStatus]) {
            self.evaluatedAtUnixNano = evaluatedAtUnixNano
            self.slos = slos
        }
    }

    public struct SLOStatus: Codable, Hashable, Sendable {
        public var name: String
        public var service: String?
        public var operation: String?
        /// `availability`, `latency <= 300ms` or `ratio good/total`.
        public var indicator: String
        /// Percent, e.g. 99.9.
        public var objective: Double
        public var windowSeconds: Int
        public var total: Double
        public var good: Double
        /// good / total over the window; `nil` without traffic.
        public var sli: Double?
        /// 1 − objective, as a fraction.
        public var errorBudget: Double
        /// The share of the budget left over the window (1 = untouched, ≤ 0 = exhausted).
        public var budgetRemaining: Double
        public var burnRates: [BurnRate]
        /// At the last hour's burn rate; `nil` if the budget is not being consumed.
        public var timeToExhaustionSeconds: Double?
        public var alerts: [BurnRateAlert]

        public init(
            name: String, service: String?, operation: String?, indicator: String, objective: Double, windowSeconds: Int,
            total: Double, good: Double, sli: Double?, errorBudget: Double, budgetRemaining: Double, burnRates: [BurnRate],
            timeToExhaustionSeconds: Double?, alerts: [BurnRateAlert]
        ) {
            self.name = name
            self.service = service
            self.operation = operation
            self.indicator = indicator
            self.objective = objective
            self.windowSeconds = windowSeconds
            self.total = total
            self.good = good
            self.sli = sli
            self.errorBudget = errorBudget
            self.budgetRemaining = budgetRemaining
            self.burnRates = burnRates
            self.timeToExhaustionSeconds = timeToExhaustionSeconds
            self.alerts = alerts
        }

        /// The alerts firing now.
        public var firing: [BurnRateAlert] { alerts.filter(\.firing) }
    }

    /// The burn rate over one window: error ratio / error budget (1 = exactly on budget).
    public struct BurnRate: Codable, Hashable, Sendable {
        /// `5m`, `30m`, `1h`, `2h`, `6h`, `1d`, `3d` or `window`.
        public var window: String
        public var seconds: Int
        /// `nil` without traffic in the window; `Infinity` when the objective is 100 % and anything failed.
        public var rate: Double?

        public init(window: String, seconds: Int, rate: Double?) {
            self.window = window
            self.seconds = seconds
            self.rate = rate
        }
    }

    /// One multi-window burn-rate rule and whether it fires: both windows above the threshold.
    /// See https://sre.google/workbook/alerting-on-slos/
    public struct BurnRateAlert: Codable, Hashable, Sendable {
        /// `page` or `ticket`.
        public var severity: String
        public var longWindow: String
        public var shortWindow: String
        public var threshold: Double
        public var firing: Bool

        public init(severity: String, longWindow: String, shortWindow: String, threshold: Double, firing: Bool) {
            self.severity = severity
            self.longWindow = longWindow
            self.shortWindow = shortWindow
            self.threshold = threshold
            self.firing = firing
        }
    }

    /// `GET /api/v1/slos/{name}`: one SLO with its budget over time and alert history.
    public struct SLODetail: Codable, Hashable, Sendable {
        public var status: SLOStatus
        public var budgetHistory: [BudgetPoint]
        public var alertEvents: [AlertEvent]

        public init(status: SLOStatus, budgetHistory: [BudgetPoint], alertEvents: [AlertEvent]) {
            self.status = status
            self.budgetHistory = budgetHistory
            self.alertEvents = alertEvents
        }
    }

    public struct BudgetPoint: Codable, Hashable, Sendable {
        public var timeUnixNano: UInt64
        public var budgetRemaining: Double

        public init(timeUnixNano: UInt64, budgetRemaining: Double) {
            self.timeUnixNano = timeUnixNano
            self.budgetRemaining = budgetRemaining
        }
    }

    /// An alert starting or stopping to fire.
    public struct AlertEvent: Codable, Hashable, Sendable {
        public var timeUnixNano: UInt64
        public var slo: String
        public var severity: String
        public var firing: Bool

        public init(timeUnixNano: UInt64, slo: String, severity: String, firing: Bool) {
            self.timeUnixNano = timeUnixNano
            self.slo = slo
            self.severity = severity
            self.firing = firing
        }
    }

    /// JSON coders for these documents: non-finite numbers (an infinite burn rate) are the
    /// strings `Infinity`, `-Infinity` and `NaN`.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }

    /// The body of every 4xx/5xx answer of the query API.
    public struct ErrorBody: Codable, Hashable, Sendable {
        public var error: String

        public init(error: String) { self.error = error }
    }
}

extension Array where Element == Attribute {
    /// Attributes as a JSON object; on a repeated key the first wins, as OTLP readers do.
    public var dictionary: [String: AttributeValue] {
        var out = [String: AttributeValue](minimumCapacity: count)
        for attribute in self where out[attribute.key] == nil { out[attribute.key] = attribute.value }
        return out
    }
}
