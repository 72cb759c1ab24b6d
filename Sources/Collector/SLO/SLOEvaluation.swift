import Foundation
import PeriscopeConfig
import PeriscopeQueryAPI

extension ServiceLevelObjective {
    var indicatorDescription: String {
        switch indicator {
        case .availability: return "availability"
        case .latency(let threshold): return "latency <= \(DurationText.short(threshold))"
        case .ratio(let good, let total): return "ratio \(good)/\(total)"
        }
    }
}

extension RollupSource {
    /// Good and total counts of `objectives` over the last `seconds`, ending with the minute
    /// that holds `nowUnixNano`, by name: availability SLOs from the request rollups (good =
    /// requests that did not fail), latency and ratio SLOs from their own counts.
    func sloCounts(_ objectives: [ServiceLevelObjective], seconds: Int, nowUnixNano: UInt64) throws -> [String: SLOCounts] {
        let end = (nowUnixNano / 60_000_000_000 + 1) * 60_000_000_000
        let start = end > UInt64(seconds) * 1_000_000_000 ? end - UInt64(seconds) * 1_000_000_000 : 0
        let availability = AvailabilityScopes(objectives)
        let readsCounts = objectives.contains { if case .availability = $0.indicator { false } else { true } }
        var counts = [String: SLOCounts]()
        for (resolution, first, last) in Resolution.cover(startUnixNano: start, endUnixNano: end) where last >= first {
            if readsCounts {
                for stored in try rollupBuckets(.slo, resolution: resolution, buckets: first...last) {
                    for (_, range) in stored.buckets {
                        // A damaged bucket counts up to the point of damage.
                        try? stored.bytes[range].withUnsafeBytes { bytes in
                            try SLOBucket.forEach(in: bytes) { (slo, bucket) throws(DamagedRollupData) in
                                counts[String(decoding: slo, as: UTF8.self), default: SLOCounts()].add(bucket)
                            }
                        }
                    }
                }
            }
            guard let entries = availability.entries else { continue }
            for stored in try rollupBuckets(.requests, resolution: resolution, buckets: first...last) {
                let names = stored.names
                for (_, range) in stored.buckets {
                    try? RollupByteReader.reading(Array(stored.bytes[range])) { (bytes) throws(DamagedRollupData) in
                        try RequestBucket.forEach(in: bytes, entries: entries) { (service, operation, reader) throws(DamagedRollupData) in
                            guard let service = names[service], let operation = names[operation] else { throw DamagedRollupData() }
                            let objectives = availability.objectives(service: service, operation: operation)
                            guard !objectives.isEmpty else { return }
                            // A stored aggregate starts with its requests and errors.
                            let requests = Double(try reader.varint())
                            let errors = Double(try reader.varint())
                            for name in objectives { counts[name, default: SLOCounts()].add(SLOCounts(total: requests, good: requests - errors)) }
                        }
                    }
                }
            }
        }
        return counts
    }

    /// Every objective's status at `nowUnixNano`: SLI, budget, burn rates over every window,
    /// alerts. Each window's rollups are read once for all objectives.
    func statuses(of objectives: [ServiceLevelObjective], nowUnixNano: UInt64) throws -> [QueryAPI.SLOStatus] {
        var windows = [Int: [String: SLOCounts]]()
        func counts(_ name: String, seconds: Int) throws -> SLOCounts {
            if windows[seconds] == nil { windows[seconds] = try sloCounts(objectives, seconds: seconds, nowUnixNano: nowUnixNano) }
            return windows[seconds]![name] ?? SLOCounts()
        }
        return try objectives.map { objective in
            let windowSeconds = Int(objective.windowNanos / 1_000_000_000)
            var burnRates = [QueryAPI.BurnRate]()
            var byName = [String: Double?]()
            for (name, seconds) in BurnRateMath.windows {
                let window = try counts(objective.name, seconds: seconds)
                let rate = BurnRateMath.burnRate(total: window.total, good: window.good, budget: objective.errorBudget)
                burnRates.append(QueryAPI.BurnRate(window: name, seconds: seconds, rate: rate))
                byName[name] = rate
            }
            let whole = try counts(objective.name, seconds: windowSeconds)
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
                alerts: BurnRateMath.alerts(burnRates: byName, windowSeconds: windowSeconds),
                labels: objective.labels.isEmpty ? nil : Dictionary(uniqueKeysWithValues: objective.labels.map { ($0.name, $0.value) }))
        }
    }

    /// An SLO's status at `nowUnixNano`.
    func status(of objective: ServiceLevelObjective, nowUnixNano: UInt64) throws -> QueryAPI.SLOStatus {
        try statuses(of: [objective], nowUnixNano: nowUnixNano)[0]
    }

    /// The budget left at `points` moments across the window, oldest first.
    func budgetHistory(of objective: ServiceLevelObjective, nowUnixNano: UInt64, points: Int = 30) throws -> [QueryAPI.BudgetPoint] {
        let windowSeconds = Int(objective.windowNanos / 1_000_000_000)
        let step = objective.windowNanos / UInt64(points)
        return try (0..<points).reversed().map { back in
            let at = nowUnixNano > UInt64(back) * step ? nowUnixNano - UInt64(back) * step : 0
            let counts = try sloCounts([objective], seconds: windowSeconds, nowUnixNano: at)[objective.name] ?? SLOCounts()
            let rate = BurnRateMath.burnRate(total: counts.total, good: counts.good, budget: objective.errorBudget)
            return QueryAPI.BudgetPoint(timeUnixNano: at, budgetRemaining: BurnRateMath.budgetRemaining(windowBurnRate: rate))
        }
    }
}

/// The availability objectives by the request rollup entry they read: a service's own entry,
/// or one operation's (of one service, or of every service when the SLO names none).
private struct AvailabilityScopes {
    private struct Scope: Hashable {
        var service: String?
        var operation: String
    }

    private var names: [Scope: [String]] = [:]
    private var anyService = false
    /// Which entries of a request bucket to read; `nil` when there is no availability objective.
    private(set) var entries: RequestBucket.Entries?

    init(_ objectives: [ServiceLevelObjective]) {
        for objective in objectives {
            guard case .availability = objective.indicator else { continue }
            names[Scope(service: objective.service, operation: objective.operation ?? ""), default: []].append(objective.name)
            if objective.service == nil { anyService = true }
            entries = objective.operation != nil || entries == .all ? .all : .services
        }
    }

    func objectives(service: String, operation: String) -> [String] {
        let own = names[Scope(service: service, operation: operation)] ?? []
        guard anyService, let every = names[Scope(service: nil, operation: operation)] else { return own }
        return own + every
    }
}
