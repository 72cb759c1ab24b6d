import CoreMetrics
import PeriscopeModel
import Synchronization

/// The swift-metrics backend: `Counter`, `FloatingPointCounter`, `Meter`, `Recorder` and `Timer`
/// are aggregated in process and read as OTLP metrics by ``collect(nowUnixNano:)``, which the
/// `Periscope` service calls every ``Configuration/exportInterval``.
///
/// Temporality is cumulative, the OTLP default for pull-style aggregation: each export carries
/// the running totals since the series' fixed start time, so a lost export loses no counts.
/// See https://opentelemetry.io/docs/specs/otel/metrics/data-model/#sums
///
/// | swift-metrics | OTLP |
/// | --- | --- |
/// | `Counter`, `FloatingPointCounter` | monotonic cumulative sum |
/// | `Meter`, `Recorder(aggregate: false)` | gauge (last value) |
/// | `Recorder(aggregate: true)` | cumulative histogram, ``Configuration/recorderBuckets`` |
/// | `Timer` | cumulative histogram in seconds (unit `s`), ``Configuration/timerBuckets`` |
///
/// Dimensions become point attributes. Asking twice for the same label and dimensions returns
/// the same series; `destroy()` removes it from later exports. Series beyond
/// ``Configuration/maxSeries`` are not created (their writes go nowhere) and are counted in
/// ``droppedSeries``, which keeps memory bounded when a dimension has unbounded cardinality.
public final class PeriscopeMetrics: MetricsFactory, Sendable {
    /// Buckets, export interval and the series limit.
    public struct Configuration: Sendable {
        /// How often metrics are exported; 10 s by default.
        public var exportInterval: Duration
        /// Histogram bounds for timers, in seconds.
        public var timerBuckets: [Double]
        /// Histogram bounds for aggregating recorders, in the recorded unit.
        public var recorderBuckets: [Double]
        /// The most series kept at once; further ones are dropped and counted.
        public var maxSeries: Int

        /// Latency buckets from 5 ms to 10 s: the range request latencies live in.
        public static let defaultTimerBuckets: [Double] = [
            0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
        ]
        /// OpenTelemetry's default explicit bounds for histograms of unknown unit.
        public static let defaultRecorderBuckets: [Double] = [
            0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000,
        ]

        /// Defaults: export every 10 s, the default buckets, at most 2000 series.
        public init(
            exportInterval: Duration = .seconds(10),
            timerBuckets: [Double] = Configuration.defaultTimerBuckets,
            recorderBuckets: [Double] = Configuration.defaultRecorderBuckets,
            maxSeries: Int = 2000
        ) {
            self.exportInterval = exportInterval
            self.timerBuckets = Self.normalized(timerBuckets)
            self.recorderBuckets = Self.normalized(recorderBuckets)
            self.maxSeries = max(1, maxSeries)
        }

        /// Sorted, finite and distinct, as OTLP requires of explicit bounds.
        static func normalized(_ bounds: [Double]) -> [Double] {
            Array(Set(bounds.filter(\.isFinite))).sorted()
        }
    }

    enum Kind: Hashable {
        case counter, floatingPointCounter, meter, gauge, histogram, timer
    }

    struct SeriesKey: Hashable {
        var kind: Kind
        var label: String
        var attributes: [Attribute]
    }

    /// The settings this factory was built with.
    public let configuration: Configuration
    private let registry = Mutex<[SeriesKey: any MetricSeries]>([:])
    private let droppedSeriesCount = Atomic<Int>(0)

    /// Series not created because ``Configuration/maxSeries`` was reached.
    public var droppedSeries: Int { droppedSeriesCount.load(ordering: .relaxed) }

    /// Live series.
    public var seriesCount: Int { registry.withLock { $0.count } }

    /// A factory; install it with `MetricsSystem.bootstrap` (`Periscope.bootstrap` does).
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: MetricsFactory

    /// A cumulative integer sum.
    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        series(.counter, label, dimensions) { CounterSeries(startTimeUnixNano: $0) } ?? NOOPMetricsHandler.instance
    }

    /// A cumulative floating-point sum.
    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        series(.floatingPointCounter, label, dimensions) { FloatingPointCounterSeries(startTimeUnixNano: $0) }
            ?? NOOPMetricsHandler.instance
    }

    /// A gauge holding the last value.
    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        series(.meter, label, dimensions) { _ in LastValueSeries() } ?? NOOPMetricsHandler.instance
    }

    /// A histogram over ``Configuration/recorderBuckets`` when `aggregate`, else a last-value gauge.
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        if aggregate {
            let bounds = configuration.recorderBuckets
            return series(.histogram, label, dimensions) { HistogramSeries(bounds: bounds, startTimeUnixNano: $0) }
                ?? NOOPMetricsHandler.instance
        }
        return series(.gauge, label, dimensions) { _ in LastValueSeries() } ?? NOOPMetricsHandler.instance
    }

    /// A histogram of durations in seconds over ``Configuration/timerBuckets``.
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let bounds = configuration.timerBuckets
        return series(.timer, label, dimensions) {
            HistogramSeries(bounds: bounds, scale: 1e-9, startTimeUnixNano: $0)
        } ?? NOOPMetricsHandler.instance
    }

    /// Stops exporting the counter's series.
    public func destroyCounter(_ handler: any CounterHandler) { remove(handler) }
    /// Stops exporting the floating-point counter's series.
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { remove(handler) }
    /// Stops exporting the meter's series.
    public func destroyMeter(_ handler: any MeterHandler) { remove(handler) }
    /// Stops exporting the recorder's series.
    public func destroyRecorder(_ handler: any RecorderHandler) { remove(handler) }
    /// Stops exporting the timer's series.
    public func destroyTimer(_ handler: any TimerHandler) { remove(handler) }

    // MARK: Export

    /// The current value of every live series as OTLP metrics, one `Metric` per name and kind,
    /// sorted by name; series that have nothing to report yet (a gauge never set) are left out.
    public func collect(nowUnixNano: UInt64 = WallClock.nowUnixNano()) -> [Metric] {
        let snapshot = registry.withLock { Array($0) }
        var groups: [String: (kind: Kind, name: String, points: [SeriesPoint])] = [:]
        for (key, series) in snapshot {
            guard let point = series.point(attributes: key.attributes, nowUnixNano: nowUnixNano) else { continue }
            let groupKey = "\(key.kind)\u{0}\(key.label)"
            groups[groupKey, default: (key.kind, key.label, [])].points.append(point)
        }
        return groups.values.sorted { ($0.name, "\($0.kind)") < ($1.name, "\($1.kind)") }.map { group in
            Self.metric(name: group.name, kind: group.kind, points: group.points)
        }
    }

    private static func metric(name: String, kind: Kind, points: [SeriesPoint]) -> Metric {
        let ordered = points.sorted { $0.attributeOrder < $1.attributeOrder }
        switch kind {
        case .counter, .floatingPointCounter:
            let numbers = ordered.compactMap { if case .sum(let point, _) = $0 { point } else { nil } }
            return Metric(name: name, data: .sum(numbers, temporality: .cumulative, isMonotonic: true))
        case .meter, .gauge:
            let numbers = ordered.compactMap { if case .gauge(let point) = $0 { point } else { nil } }
            return Metric(name: name, data: .gauge(numbers))
        case .histogram, .timer:
            let histograms = ordered.compactMap { if case .histogram(let point) = $0 { point } else { nil } }
            return Metric(name: name, unit: kind == .timer ? "s" : "", data: .histogram(histograms, temporality: .cumulative))
        }
    }

    // MARK: Registry

    private func series<Series: MetricSeries>(
        _ kind: Kind, _ label: String, _ dimensions: [(String, String)], make: (UInt64) -> Series
    ) -> Series? {
        let attributes = dimensions.sorted { $0.0 < $1.0 }.map { Attribute($0.0, .string($0.1)) }
        let key = SeriesKey(kind: kind, label: label, attributes: attributes)
        let maxSeries = configuration.maxSeries
        let found: Series? = registry.withLock { registry in
            if let existing = registry[key] { return existing as? Series }
            guard registry.count < maxSeries else { return nil }
            let created = make(WallClock.nowUnixNano())
            registry[key] = created
            return created
        }
        if found == nil { droppedSeriesCount.add(1, ordering: .relaxed) }
        return found
    }

    private func remove(_ handler: AnyObject) {
        registry.withLock { registry in
            if let key = registry.first(where: { $0.value === handler })?.key {
                registry.removeValue(forKey: key)
            }
        }
    }
}

extension SeriesPoint {
    /// Orders points of one metric by their attributes, so exports are stable.
    var attributeOrder: String {
        let attributes: [Attribute]
        switch self {
        case .sum(let point, _), .gauge(let point): attributes = point.attributes
        case .histogram(let point): attributes = point.attributes
        }
        return attributes.map { "\($0.key)=\($0.value.text)" }.joined(separator: ",")
    }
}
