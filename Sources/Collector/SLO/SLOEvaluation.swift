import Foundation
import PeriscopeTelemetry

extension ServiceLevelObjective {
    var indicatorDescription: String {
        switch indicator {
        case .availability: return "availability"
        case .latency(let threshold): return "latency <= \(DurationText.short(threshold))"
        case .ratio(let good, let total): return "ratio \(good)/\(total)"
        }
    }
}

extension TelemetryStore {
    /// Good and total counts of an SLO over the last `seconds`, ending with the minute that holds `nowUnixNano`.
    func sloCounts(_ name: String, seconds: Int, nowUnixNano: UInt64) throws -> (total: Double, good: Double) {
        let end = (nowUnixNano / 60_000_000_000 + 1) * 60_000_000_000
        let start = end > UInt64(seconds) * 1_000_000_000 ? end - UInt64(seconds) * 1_000_000_000 : 0
        var total = 0.0
        var good = 0.0
        for (resolution, first, last) in Resolution.cover(startUnixNano: start, endUnixNano: end) where last >= first {
            for partition in try partitionsWithRollups(from: UInt64(first) * 1_000_000_000, to: UInt64(last) * 1_000_000_000 + resolution.nanos - 1) {
                try partition.reader.withLock { database in
                    let statement = try database.statement("""
                        SELECT total(total), total(good) FROM slo_counts WHERE slo = ? AND resolution = ? AND bucket BETWEEN ? AND ?
                        """).bind(1, name).bind(2, resolution.rawValue).bind(3, first).bind(4, last)
                    if try statement.step() {
                        total += statement.double(0)
                        good += statement.double(1)
                    }
                    statement.reset()
                }
            }
        }
        return (total, good)
    }

    /// An SLO's status at `nowUnixNano`: SLI, budget, burn rates over every window, alerts.
    func status(of objective: ServiceLevelObjective, nowUnixNano: UInt64) throws -> QueryAPI.SLOStatus {
        let windowSeconds = Int(objective.windowNanos / 1_000_000_000)
        var burnRates = [QueryAPI.BurnRate]()
        var byName = [String: Double?]()
        for (name, seconds) in BurnRateMath.windows {
            let counts = try sloCounts(objective.name, seconds: seconds, nowUnixNano: nowUnixNano)
            let rate = BurnRateMath.burnRate(total: counts.total, good: counts.good, budget: objective.errorBudget)
            burnRates.append(QueryAPI.BurnRate(window: name, seconds: seconds, rate: rate))
            byName[name] = rate
        }
        let whole = try sloCounts(objective.name, seconds: windowSeconds, nowUnixNano: nowUnixNano)
        let windowRate = BurnRateMath.burnRate(total: whole.total, good: whole.good, budget: objective.errorBudget)
        burnRates.append(QueryAPI.BurnRate(window: "window", seconds: windowSeconds, rate: windowRate))
        let remaining = BurnRateMath.budgetRemaining(windowBurnRate: windowRate)
        return QueryAPI.SLOStatus(
            name: objective.name, service: objective.service, operation: objective.operation,
            indicator: objective.indicatorDescription, objective: objective.objective, windowSeconds: windowSeconds,
            total: whole.total, good: whole.good, sli: whole.total > 0 ? whole.good / whole.total : nil,
            errorBudget: objective.errorBudget, budgetRemaining: remaining, burnRates: burnRates,
            timeToExhaustionSeconds: BurnRateMath.timeToExhaustion(
                budgetRemaining: remaining, windowSeconds: windowSeconds, hourlyBurnRate: byName["1h"] ?? nil),
            alerts: BurnRateMath.alerts(burnRates: byName, windowSeconds: windowSeconds))
    }

    /// The budget left at `points` moments across the window, oldest first.
    func budgetHistory(of objective: ServiceLevelObjective, nowUnixNano: UInt64, points: Int = 30) throws -> [QueryAPI.BudgetPoint] {
        let windowSeconds = Int(objective.windowNanos / 1_000_000_000)
        let step = objective.windowNanos / UInt64(points)
        return try (0..<points).reversed().map { back in
            let at = nowUnixNano > UInt64(back) * step ? nowUnixNano - UInt64(back) * step : 0
            let counts = try sloCounts(objective.name, seconds: windowSeconds, nowUnixNano: at)
            let rate = BurnRateMath.burnRate(total: counts.total, good: counts.good, budget: objective.errorBudget)
            return QueryAPI.BudgetPoint(timeUnixNano: at, budgetRemaining: BurnRateMath.budgetRemaining(windowBurnRate: rate))
        }
    }
}
