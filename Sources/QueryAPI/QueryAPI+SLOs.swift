import PeriscopeModel

extension QueryAPI {
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
        /// The SLO file's `labels` (team, env…), carried into Prometheus series and Alertmanager
        /// alerts for routing; absent when there are none.
        public var labels: [String: String]?

        public init(
            name: String, service: String?, operation: String?, indicator: String, objective: Double, windowSeconds: Int,
            total: Double, good: Double, sli: Double?, errorBudget: Double, budgetRemaining: Double, burnRates: [BurnRate],
            timeToExhaustionSeconds: Double?, alerts: [BurnRateAlert], labels: [String: String]? = nil
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
            self.labels = labels
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
}
