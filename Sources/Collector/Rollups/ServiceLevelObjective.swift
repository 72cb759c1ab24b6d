
/// One SLO from `slo.yaml`: which requests count, what makes one good, the objective and the
/// rolling window. See https://sre.google/workbook/implementing-slos/
struct ServiceLevelObjective: Equatable, Sendable {
    enum Indicator: Equatable, Sendable {
        /// Good = the request did not fail (span status error, or HTTP 5xx on a server span).
        case availability
        /// Good = the request took at most this long.
        case latency(thresholdNanos: UInt64)
        /// Good and total are two counter metrics (sums): their increments are the counts.
        case ratio(goodMetric: String, totalMetric: String)
    }

    var name: String
    var service: String?
    var operation: String?
    var indicator: Indicator
    /// Percent, e.g. 99.9.
    var objective: Double
    var windowNanos: UInt64 = 30 * 86_400 * 1_000_000_000
    /// Routing labels (`team: payments`), sorted by name: Prometheus series and Alertmanager
    /// alerts carry them. Sorted, so that the definition's text (`AlertTransitions.key`) does
    /// not depend on a dictionary's order.
    var labels: [Label] = []

    struct Label: Equatable, Sendable {
        var name: String
        var value: String
    }

    /// The fraction of requests allowed to be bad: 1 − objective.
    /// `1 - objective / 100`, rounded to 12 decimal places: the percentage is written in
    /// decimal, and without rounding 99 gave 0.010000000000000009, so exactly 1 % of errors
    /// burned 0.9999999999999991 and left a budget of 9e-16 where none was left.
    var errorBudget: Double { ((1 - objective / 100) * 1e12).rounded() / 1e12 }

    /// Whether each request span of `service` gets a verdict for this SLO at ingest: latency SLOs
    /// only. Availability SLOs are read from the request rollups (good = requests that did not
    /// fail), ratio SLOs come from counters.
    func judgesSpans(of service: String) -> Bool {
        guard case .latency = indicator else { return false }
        return self.service == nil || self.service == service
    }

    /// Whether a request span of a service this SLO judges (`judgesSpans(of:)`) is good; `nil`
    /// if it does not count (another operation).
    func isGood(operation name: String, durationNanos: UInt64) -> Bool? {
        guard case .latency(let threshold) = indicator else { return nil }
        if let operation, operation != name { return nil }
        return durationNanos <= threshold
    }
}
