import CoreMetrics
import PeriscopeModel
import Synchronization

/// One time series (a metric name plus one set of dimensions) as the factory keeps it: the
/// swift-metrics handler the application writes to, and the OTLP point the export reads.
protocol MetricSeries: AnyObject, Sendable {
    /// The current point, or `nil` when there is nothing to report yet (a gauge never set).
    func point(attributes: [Attribute], nowUnixNano: UInt64) -> SeriesPoint?
}

/// What one series contributes to an export.
enum SeriesPoint {
    case sum(NumberPoint, isMonotonic: Bool)
    case gauge(NumberPoint)
    case histogram(HistogramPoint)
}

/// `Counter`: a monotonic cumulative integer sum. One relaxed atomic add per increment.
final class CounterSeries: CounterHandler, MetricSeries {
    private let value = Atomic<Int64>(0)
    private let startTime: Atomic<UInt64>

    init(startTimeUnixNano: UInt64) {
        startTime = Atomic(startTimeUnixNano)
    }

    func increment(by amount: Int64) {
        guard amount > 0 else { return }  // a counter only goes up
        value.wrappingAdd(amount, ordering: .relaxed)
    }

    /// A reset starts a new cumulative run, so the start time moves with it (OTLP reset semantics).
    func reset() {
        startTime.store(WallClock.nowUnixNano(), ordering: .relaxed)
        value.store(0, ordering: .relaxed)
    }

    func point(attributes: [Attribute], nowUnixNano: UInt64) -> SeriesPoint? {
        .sum(NumberPoint(
            attributes: attributes, startTimeUnixNano: startTime.load(ordering: .relaxed),
            timeUnixNano: nowUnixNano, value: .int(value.load(ordering: .relaxed))), isMonotonic: true)
    }
}

/// `FloatingPointCounter`: a monotonic cumulative floating-point sum.
final class FloatingPointCounterSeries: FloatingPointCounterHandler, MetricSeries {
    private let state: Mutex<(value: Double, start: UInt64)>

    init(startTimeUnixNano: UInt64) {
        state = Mutex((0, startTimeUnixNano))
    }

    func increment(by amount: Double) {
        guard amount > 0, amount.isFinite else { return }
        state.withLock { $0.value += amount }
    }

    func reset() {
        let now = WallClock.nowUnixNano()
        state.withLock { $0 = (0, now) }
    }

    func point(attributes: [Attribute], nowUnixNano: UInt64) -> SeriesPoint? {
        let (value, start) = state.withLock { $0 }
        return .sum(NumberPoint(attributes: attributes, startTimeUnixNano: start, timeUnixNano: nowUnixNano,
                                value: .double(value)), isMonotonic: true)
    }
}

/// `Meter`, and `Recorder` with `aggregate: false`: the last value set, exported as a gauge.
final class LastValueSeries: MeterHandler, RecorderHandler, MetricSeries {
    private let value = Mutex<NumberPoint.Value?>(nil)

    func set(_ newValue: Int64) { value.withLock { $0 = .int(newValue) } }
    func set(_ newValue: Double) { value.withLock { $0 = .double(newValue) } }
    func increment(by amount: Double) { value.withLock { $0 = .double(($0?.asDouble ?? 0) + amount) } }
    func decrement(by amount: Double) { value.withLock { $0 = .double(($0?.asDouble ?? 0) - amount) } }
    func record(_ newValue: Int64) { set(newValue) }
    func record(_ newValue: Double) { set(newValue) }

    func point(attributes: [Attribute], nowUnixNano: UInt64) -> SeriesPoint? {
        guard let current = value.withLock({ $0 }) else { return nil }
        return .gauge(NumberPoint(attributes: attributes, timeUnixNano: nowUnixNano, value: current))
    }
}

/// `Timer`, and `Recorder` with `aggregate: true`: a cumulative explicit-bucket histogram.
/// Timers record nanoseconds and export seconds (`scale` 1e-9), per OpenTelemetry's
/// convention for durations. Bucket `i` counts values in `(bounds[i-1], bounds[i]]`.
final class HistogramSeries: RecorderHandler, TimerHandler, MetricSeries {
    private struct State {
        var counts: [UInt64]
        var count: UInt64 = 0
        var sum: Double = 0
        var min: Double = .infinity
        var max: Double = -.infinity
    }

    let bounds: [Double]
    private let scale: Double
    private let startTime: UInt64
    private let state: Mutex<State>

    init(bounds: [Double], scale: Double = 1, startTimeUnixNano: UInt64) {
        self.bounds = bounds
        self.scale = scale
        self.startTime = startTimeUnixNano
        self.state = Mutex(State(counts: Array(repeating: 0, count: bounds.count + 1)))
    }

    func record(_ value: Int64) { observe(Double(value) * scale) }
    func record(_ value: Double) { observe(value * scale) }
    func recordNanoseconds(_ duration: Int64) { observe(Double(duration) * scale) }

    private func observe(_ value: Double) {
        guard value.isFinite else { return }
        let bucket = Self.bucketIndex(value, bounds: bounds)  // found outside the lock
        state.withLock { state in
            state.counts[bucket] &+= 1
            state.count &+= 1
            state.sum += value
            if value < state.min { state.min = value }
            if value > state.max { state.max = value }
        }
    }

    /// The first bucket whose upper bound is ≥ `value`; the overflow bucket past the last bound.
    static func bucketIndex(_ value: Double, bounds: [Double]) -> Int {
        var low = 0
        var high = bounds.count
        while low < high {
            let mid = (low + high) / 2
            if bounds[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    func point(attributes: [Attribute], nowUnixNano: UInt64) -> SeriesPoint? {
        let snapshot = state.withLock { $0 }
        return .histogram(HistogramPoint(
            attributes: attributes, startTimeUnixNano: startTime, timeUnixNano: nowUnixNano,
            count: snapshot.count, sum: snapshot.sum, bucketCounts: snapshot.counts, explicitBounds: bounds,
            min: snapshot.count > 0 ? snapshot.min : nil, max: snapshot.count > 0 ? snapshot.max : nil))
    }
}
