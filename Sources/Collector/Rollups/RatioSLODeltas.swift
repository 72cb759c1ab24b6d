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
                                    series: CounterReading.series(
                                        objective: objective.name, resource: group.resource, scope: scope.scope, metric: metric.name, point: point),
                                    startTimeUnixNano: point.startTimeUnixNano, timeUnixNano: point.timeUnixNano, value: value))
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
    /// The objective and the point's stream: each objective keeps its own baseline, so two
    /// objectives on one counter both see its increase (see `series(objective:resource:scope:metric:point:)`).
    var series: [UInt8]
    /// When the counter began counting (OTLP `start_time_unix_nano`); 0 when the sender did not say.
    var startTimeUnixNano: UInt64 = 0
    var timeUnixNano: UInt64
    var value: Double

    /// The most a counter point may say: doubles hold every whole number up to 2^53 exactly, and
    /// no service counts that many requests, so a larger value is a sender's mistake.
    static let maxCount = Double(UInt64(1) << 53)

    /// Whether a counter's value can be counted: finite, not negative, at most `maxCount`.
    static func isCountable(_ value: Double) -> Bool { value.isFinite && value >= 0 && value <= maxCount }

    /// A series is what OpenTelemetry calls a metric stream: the resource (every attribute, so
    /// two instances of one service are two series), the instrumentation scope, the metric and
    /// the point's attributes (each set in key order).
    static func series(objective: String, resource: Resource, scope: InstrumentationScope, metric: String, point: NumberPoint) -> [UInt8] {
        var bytes = [UInt8]()
        for part in [objective, metric, scope.name, scope.version] {
            bytes.append(contentsOf: part.utf8)
            bytes.append(0)
        }
        for attributes in [resource.attributes, point.attributes] {
            let encoded = CompactEncoding.encode(attributes: attributes.sorted { $0.key < $1.key })
            withUnsafeBytes(of: UInt64(encoded.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: encoded)
        }
        return bytes
    }
}

/// The last point counted of a cumulative counter series.
struct CounterBaseline: Sendable, Equatable {
    /// How far a sender's clock may run ahead of the collector's before a series started before
    /// the collector could look started after it (and count its first point whole, twice).
    static let clockSkewMarginNanos: UInt64 = 300_000_000_000

    var value: Double
    var timeUnixNano: UInt64

    /// What `reading` adds over `baseline`, and the baseline after it. The first point of a
    /// series adds its whole value when the sender says the counter started at or after
    /// `trustedSinceUnixNano` (no earlier point of it can have been missed or forgotten: it
    /// counts from zero), and otherwise only sets its baseline. A point whose counter started
    /// after the baseline's point was taken is a restart of the counter: its whole value is new,
    /// whatever it restarted from (a value-only check misses a restart that counted past the old
    /// value before its first export). Otherwise a value at or above the baseline adds the difference
    /// (whatever its time: one point stamped far in the future must not silence the counter).
    /// A drop is a counter reset (the new value is the increase) when the point is newer than
    /// the baseline, and a point that arrived late after failing over (it adds nothing: the
    /// newer point already counted it) when it is not. A value that is not countable
    /// (`CounterReading.isCountable`) is ignored.
    static func advance(
        _ baseline: CounterBaseline?, by reading: CounterReading, trustedSinceUnixNano: UInt64
    ) -> (increase: Double, baseline: CounterBaseline?) {
        guard CounterReading.isCountable(reading.value) else { return (0, baseline) }
        let next = CounterBaseline(value: reading.value, timeUnixNano: reading.timeUnixNano)
        // A point whose start is its own time says "started, count unknown" (OpenTelemetry's
        // reset point for an unknown start, e.g. from a Prometheus scrape): it only sets the baseline.
        let start = reading.startTimeUnixNano
        let knownStart = start != 0 && start < reading.timeUnixNano
        guard let baseline, baseline.value.isFinite else {
            // The margin allows for the sender's clock running ahead of the collector's.
            let countsFromZero = knownStart && start >= trustedSinceUnixNano.addingReportingOverflow(Self.clockSkewMarginNanos).partialValue
            return (countsFromZero ? reading.value : 0, next)
        }
        if knownStart, start > baseline.timeUnixNano {
            return (reading.value, next)
        }
        if reading.value >= baseline.value {
            return (reading.value - baseline.value,
                    CounterBaseline(value: reading.value, timeUnixNano: max(reading.timeUnixNano, baseline.timeUnixNano)))
        }
        if reading.timeUnixNano <= baseline.timeUnixNano { return (0, baseline) }
        return (reading.value, next)
    }
}

/// Cumulative counters' baselines kept in memory, for a store that one collector owns: after a
/// restart the first point of each series that started before it only sets its baseline. At
/// most `maxSeries` are kept; past that, the half least recently advanced is forgotten (their
/// next point sets a baseline again, and from then on only series started later count their
/// first point whole).
final class CounterBaselines: Sendable {
    /// A series by 128 bits of its key (`CounterReading.series`, which holds whole resources and
    /// may run to kilobytes), hashed with this process's random seed, so memory per series stays
    /// small and no sender can make two series collide on purpose.
    struct SeriesDigest: Hashable {
        let first: Int
        let second: Int

        init(_ series: [UInt8]) {
            var one = Hasher()
            var two = Hasher()
            two.combine(0x5e71e5 as UInt32)
            series.withUnsafeBytes { bytes in
                one.combine(bytes: bytes)
                two.combine(bytes: bytes)
            }
            first = one.finalize()
            second = two.finalize()
        }
    }

    private struct State {
        var values: [SeriesDigest: CounterBaseline] = [:]
        /// No point of a series started at or after this was missed or forgotten.
        var trustedSinceUnixNano: UInt64
    }

    private let state: Mutex<State>
    let maxSeries: Int

    init(maxSeries: Int = 100_000, trustedSinceUnixNano: UInt64 = WallClock.nowUnixNano()) {
        self.maxSeries = max(2, maxSeries)
        state = Mutex(State(trustedSinceUnixNano: trustedSinceUnixNano))
    }

    /// Series with a baseline now.
    var count: Int { state.withLock { $0.values.count } }

    /// What one write advanced, so that a write rolled back can give it back (`revert`): its
    /// batch, sent again, then counts its increases again instead of none.
    final class Changes {
        fileprivate var entries: [(series: SeriesDigest, before: CounterBaseline?, after: CounterBaseline?)] = []
        init() {}
    }

    func increases(_ readings: [CounterReading], recording changes: Changes? = nil) -> [Double] {
        state.withLock { state in
            let increases = readings.map { reading in
                let series = SeriesDigest(reading.series)
                let before = state.values[series]
                let (increase, baseline) = CounterBaseline.advance(before, by: reading, trustedSinceUnixNano: state.trustedSinceUnixNano)
                state.values[series] = baseline
                changes?.entries.append((series, before, baseline))
                return increase
            }
            if state.values.count > maxSeries {
                let kept = state.values.sorted { $0.value.timeUnixNano > $1.value.timeUnixNano }.prefix(maxSeries / 2)
                state.values = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
                state.trustedSinceUnixNano = max(state.trustedSinceUnixNano, WallClock.nowUnixNano())
            }
            return increases
        }
    }

    /// Undoes `changes`, newest first, for each series another write has not moved on since.
    func revert(_ changes: Changes) {
        state.withLock { state in
            for entry in changes.entries.reversed() where state.values[entry.series] == entry.after {
                state.values[entry.series] = entry.before
            }
        }
        changes.entries = []
    }
}
