import PeriscopeQueryAPI

/// The arithmetic of error budgets and multi-window, multi-burn-rate alerts, kept pure so
/// tests check it against numbers worked out by hand.
/// See https://sre.google/workbook/alerting-on-slos/ (table 5-8)
enum BurnRateMath {
    /// The windows reported for every SLO, shortest first.
    static let windows: [(name: String, seconds: Int)] = [
        ("5m", 300), ("30m", 1800), ("1h", 3600), ("2h", 7200), ("6h", 21_600), ("1d", 86_400), ("3d", 259_200),
    ]

    /// A multi-window rule: fire when both windows burn faster than `threshold`. The budget share
    /// consumed in the long window sets the threshold for any SLO window: share × window / long.
    struct Rule: Sendable {
        var severity: String
        var longWindow: String
        var shortWindow: String
        var budgetShare: Double

        func threshold(windowSeconds: Int) -> Double {
            budgetShare * Double(windowSeconds) / Double(BurnRateMath.seconds(longWindow))
        }
    }

    /// 2 % of a 30-day budget in 1 h (14.4), 5 % in 6 h (6), 10 % in 1 d (3), 10 % in 3 d (1).
    static let rules = [
        Rule(severity: "page", longWindow: "1h", shortWindow: "5m", budgetShare: 0.02),
        Rule(severity: "page", longWindow: "6h", shortWindow: "30m", budgetShare: 0.05),
        Rule(severity: "ticket", longWindow: "1d", shortWindow: "2h", budgetShare: 0.10),
        Rule(severity: "ticket", longWindow: "3d", shortWindow: "6h", budgetShare: 0.10),
    ]

    static func seconds(_ window: String) -> Int { windows.first { $0.name == window }?.seconds ?? 0 }

    /// Error ratio ÷ budget; `nil` without traffic; infinite when the budget is zero and anything failed.
    static func burnRate(total: Double, good: Double, budget: Double) -> Double? {
        guard total > 0 else { return nil }
        let errorRatio = max(0, total - good) / total
        guard budget > 0 else { return errorRatio > 0 ? .infinity : 0 }
        return errorRatio / budget
    }

    /// The share of the window's budget left: 1 − burn rate over the window (1 without traffic).
    static func budgetRemaining(windowBurnRate: Double?) -> Double {
        guard let rate = windowBurnRate else { return 1 }
        return 1 - rate
    }

    /// Seconds until the budget is gone if the last hour's burn rate holds.
    static func timeToExhaustion(budgetRemaining: Double, windowSeconds: Int, hourlyBurnRate: Double?) -> Double? {
        guard budgetRemaining > 0 else { return 0 }
        guard let rate = hourlyBurnRate, rate > 0 else { return nil }
        if rate.isInfinite { return 0 }
        return budgetRemaining * Double(windowSeconds) / rate
    }

    static func alerts(burnRates: [String: Double?], windowSeconds: Int) -> [QueryAPI.BurnRateAlert] {
        rules.map { rule in
            let threshold = rule.threshold(windowSeconds: windowSeconds)
            let long = burnRates[rule.longWindow] ?? nil
            let short = burnRates[rule.shortWindow] ?? nil
            let firing = (long ?? 0) > threshold && (short ?? 0) > threshold
            return QueryAPI.BurnRateAlert(
                severity: rule.severity, longWindow: rule.longWindow, shortWindow: rule.shortWindow, threshold: threshold, firing: firing)
        }
    }
}
