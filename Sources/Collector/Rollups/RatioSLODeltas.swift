import PeriscopeModel
import PeriscopeOTLP
import Synchronization

extension RollupDeltas {
    /// What a metric batch adds to ratio SLOs, from their good/total counters: delta points
    /// are increments as they are; cumulative points count their increase over the series'
    /// baseline (`CounterBaseline`), which `increases` turns the batch's readings into, in order.
    static func ratioSLOs(
        _ groups: [ResourceMetrics], objectives: [ServiceLevelObjective], increases: ([CounterReading]) throws -> [Double]
    ) rethrows -> RollupDeltas {
        var increments = [(slo: String, minute: Int64, good: Double, total: Double)]()
        var readings = [CounterReading]()
        /// Where in `increments` each reading's increase goes.
        var cumulative = [(position: Int, isGood: Bool)]()
        for objective in objectives {
            guard case .ratio(let goodName, let totalName) = objective.indicator else { continue }
            for group in groups {
                if let service = objective.service, service != group.resource.serviceName { continue }
                for scope in group.scopes {
                    for metric in scope.metrics where metric.name == goodName || metric.name == totalName {
                        guard case .sum(let points, let temporality, _) = metric.data else { continue }
                        for point in points {
                            let value = point.value.asDouble
                            // A count no counter reaches (NaN, infinite, negative, past 2^53) would
                            // turn the window's sums into NaN or infinity and silence its alerts.
                            guard CounterReading.isCountable(value) else { continue }
                            let minute = Resolution.minute.bucket(point.timeUnixNano)
                            let isGood = metric.name == goodName
                            if temporality == .cumulative {
                                cumulative.append((increments.count, isGood))
                                readings.append(CounterReading(
                                    series: CounterReading.series(objective: objective.name, service: group.resource.serviceName, metric: metric.name, attributes: point.attributes),
                                    timeUnixNano: point.timeUnixNano, value: value))
                            }
                            increments.append((objective.name, minute, isGood ? value : 0, isGood ? 0 : value))
                        }
                    }
                }
            }
        }
        if !readings.isEmpty {
            let increased = try increases(readings)
            for ((position, isGood), increase) in zip(cumulative, increased) {
                if isGood { increments[position].good = increase } else { increments[position].total = increase }
            }
        }
        return RollupDeltas(ratioIncrements: increments)
    }
}

/// One point of a cumulative counter that feeds a ratio SLO.
struct CounterReading: Sendable {
    /// The objective, service, metric and point attributes: each objective keeps its own
    /// baseline, so two objectives on one counter both see its increase.
    var series: [UInt8]
    var timeUnixNano: UInt64
    var value: Double

    /// The most a counter point may say: doubles hold every whole number up to 2^53 exactly, and
    /// no service counts that many requests, so a larger value is a sender's mistake.
    static let maxCount = Double(UInt64(1) << 53)

    /// Whether a counter's value can be counted: finite, not negative, at most `maxCount`.
    static func isCountable(_ value: Double) -> Bool { value.isFinite && value >= 0 && value <= maxCount }

    static func series(objective: String, service: String, metric: String, attributes: [Attribute]) -> [UInt8] {
        var bytes = [UInt8]()
        for part in [objective, service, metric] {
            bytes.append(contentsOf: part.utf8)
            bytes.append(0)
        }
        bytes.append(contentsOf: CompactEncoding.encode(attributes: attributes))
        return bytes
    }
}

/// The last point counted of a cumulative counter series.
struct CounterBaseline: Sendable, Equatable {
    var value: Double
    var timeUnixNano: UInt64

    /// What `reading` adds over `baseline`, and the baseline after it. The first point of a
    /// series only sets its baseline. A value at or above the baseline adds the difference
    /// (whatever its time: one point stamped far in the future must not silence the counter).
    /// A drop is a counter reset (the new value is the increase) when the point is newer than
    /// the baseline, and a point that arrived late after failing over (it adds nothing: the
    /// newer point already counted it) when it is not. A value that is not countable
    /// (`CounterReading.isCountable`) is ignored.
    static func advance(_ baseline: CounterBaseline?, by reading: CounterReading) -> (increase: Double, baseline: CounterBaseline?) {
        guard CounterReading.isCountable(reading.value) else { return (0, baseline) }
        let next = CounterBaseline(value: reading.value, timeUnixNano: reading.timeUnixNano)
        guard let baseline, baseline.value.isFinite else { return (0, next) }
        if reading.value >= baseline.value {
            return (reading.value - baseline.value,
                    CounterBaseline(value: reading.value, timeUnixNano: max(reading.timeUnixNano, baseline.timeUnixNano)))
        }
        if reading.timeUnixNano <= baseline.timeUnixNano { return (0, baseline) }
        return (reading.value, next)
    }
}

/// Cumulative counters' baselines kept in memory, for a store that one collector owns: after a
/// restart each series' first point only sets its baseline. At most `maxSeries` are kept;
/// past that, the half least recently advanced is forgotten (their next point sets a baseline again).
final class CounterBaselines: Sendable {
    private let values = Mutex<[[UInt8]: CounterBaseline]>([:])
    let maxSeries: Int

    init(maxSeries: Int = 100_000) {
        self.maxSeries = max(2, maxSeries)
    }

    /// Series with a baseline now.
    var count: Int { values.withLock { $0.count } }

    /// What one write advanced, so that a write rolled back can give it back (`revert`): its
    /// batch, sent again, then counts its increases again instead of none.
    final class Changes {
        fileprivate var entries: [(series: [UInt8], before: CounterBaseline?, after: CounterBaseline?)] = []
        init() {}
    }

    func increases(_ readings: [CounterReading], recording changes: Changes? = nil) -> [Double] {
        values.withLock { values in
            let increases = readings.map { reading in
                let before = values[reading.series]
                let (increase, baseline) = CounterBaseline.advance(before, by: reading)
                values[reading.series] = baseline
                changes?.entries.append((reading.series, before, baseline))
                return increase
            }
            if values.count > maxSeries {
                let kept = values.sorted { $0.value.timeUnixNano > $1.value.timeUnixNano }.prefix(maxSeries / 2)
                values = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
            }
            return increases
        }
    }

    /// Undoes `changes`, newest first, for each series another write has not moved on since.
    func revert(_ changes: Changes) {
        values.withLock { values in
            for entry in changes.entries.reversed() where values[entry.series] == entry.after {
                values[entry.series] = entry.before
            }
        }
        changes.entries = []
    }
}
