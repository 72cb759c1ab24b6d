import Foundation
import PeriscopeBenchKit

/// A small deterministic generator (SplitMix64), so every trace is rebuilt from its number.
struct SplitMix: Sendable {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Log-normal nanoseconds with the given median and shape (Box–Muller).
    mutating func logNormalNanos(medianMs: Double, sigma: Double) -> UInt64 {
        let u1 = max(unit(), 1e-12), u2 = unit()
        let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        let ms = min(medianMs * exp(sigma * z), 600_000)
        return UInt64(max(ms, 0.01) * 1_000_000)
    }
}

/// The store workload: traces of `spansPerTrace` spans over `services` services and
/// `operations` operations each, start times over the last 24 hours, log-normal durations
/// (median 30 ms, so ~16 % of spans last ≥ 100 ms), ~1 % errors, a `correlation_id` on each root
/// and one log record per trace carrying it.
struct StoreWorkload: Sendable {
    static let spansPerTrace = 10
    let ids: IDSource
    let services: Int
    let operations: Int
    /// The end of the time range (the run's start), Unix nanoseconds.
    let nowNanos: UInt64
    let windowNanos: UInt64 = 24 * 3_600_000_000_000
    /// When set, traces start in the order of their numbers across the window (±1 minute), as
    /// live traffic arrives — a replay of one day; when nil, at random times in it (a backfill).
    var orderedTotalTraces: UInt64? = nil
    /// When true every span is internal: no span is a request, so nothing is rolled up — the
    /// same bytes to store otherwise, for measuring what the rollups cost at ingest.
    var allInternal = false

    /// The OTLP span kind of the span at `position` in its trace: the root is a server span,
    /// the rest cycle through client, internal and server.
    static func kind(position: Int) -> UInt64 { position == 0 ? 2 : [2, 3, 1][position % 3] }

    /// The share of spans that are requests (server spans), which the collector rolls up.
    static var requestShare: Double {
        Double((0..<spansPerTrace).filter { kind(position: $0) == 2 }.count) / Double(spansPerTrace)
    }

    static func serviceName(_ index: Int) -> String { "svc-\(index)" }
    static func operationName(_ index: Int) -> String { "op-\(index)" }
    static func route(_ index: Int) -> String { "/route/\(index)" }

    func correlationID(_ trace: UInt64) -> String {
        "req-" + IDSource.hex(ids.spanID(trace: trace, position: 255))
    }

    /// The root service of trace `trace` (the one its log record belongs to).
    func rootService(_ trace: UInt64) -> Int { Int(trace % UInt64(services)) }

    /// Traces `first..<first+count`: the OTLP trace and log request bodies.
    func bodies(firstTrace first: UInt64, count: Int) -> (traces: [UInt8], logs: [UInt8]) {
        var spansByService = [[OTLPPayloads.SpanSpec]](repeating: [], count: services)
        var logsByService = [[OTLPPayloads.LogSpec]](repeating: [], count: services)
        for trace in first..<(first + UInt64(count)) {
            var rng = SplitMix(seed: ids.seed ^ (trace &* 0xD1B5_4A32_D192_ED03))
            let traceID = ids.traceID(trace)
            let margin: UInt64 = 120_000_000_000
            let span = Double(windowNanos - 2 * margin)
            let position = orderedTotalTraces.map { total in
                min(1, max(0, Double(trace) / Double(max(total, 1)) + (rng.unit() - 0.5) * 120e9 / span))
            } ?? rng.unit()
            let rootStart = nowNanos - margin - UInt64((1 - position) * span)
            let rootDuration = rng.logNormalNanos(medianMs: 30, sigma: 1.2)
            let root = rootService(trace)
            var spanIDs: [[UInt8]] = []
            spanIDs.reserveCapacity(Self.spansPerTrace)
            for position in 0..<Self.spansPerTrace {
                let spanID = ids.spanID(trace: trace, position: position)
                spanIDs.append(spanID)
                let service = (root + position / 3) % services
                let operation = rng.below(operations)
                let isError = rng.unit() < 0.01
                let start: UInt64, duration: UInt64
                if position == 0 {
                    start = rootStart
                    duration = rootDuration
                } else {
                    duration = max(1000, UInt64(Double(rootDuration) * (0.05 + 0.85 * rng.unit())))
                    start = rootStart + UInt64(Double(rootDuration - min(duration, rootDuration)) * rng.unit())
                }
                var attributes: [(String, String)] = [
                    ("http.route", Self.route(operation)),
                    ("http.request.method", operation % 3 == 0 ? "POST" : "GET"),
                    ("http.response.status_code", isError ? "500" : "200"),
                ]
                if position == 0 { attributes.append(("correlation_id", correlationID(trace))) }
                let kind: UInt64 = allInternal ? 1 : Self.kind(position: position)
                spansByService[service].append(OTLPPayloads.SpanSpec(
                    traceID: traceID, spanID: spanID,
                    parentSpanID: position == 0 ? nil : spanIDs[(position - 1) / 2],
                    name: Self.operationName(operation), kind: kind,
                    startNanos: start, endNanos: start + duration, attributes: attributes, isError: isError))
            }
            logsByService[root].append(OTLPPayloads.LogSpec(
                timeNanos: rootStart + rootDuration / 2, traceID: traceID, spanID: spanIDs[0],
                body: "request handled", attributes: [("correlation_id", correlationID(trace))]))
        }
        let traceGroups = spansByService.enumerated().map { (service: Self.serviceName($0.offset), spans: $0.element) }
        let logGroups = logsByService.enumerated().map { (service: Self.serviceName($0.offset), records: $0.element) }
        return (OTLPPayloads.traces(groups: traceGroups), OTLPPayloads.logs(groups: logGroups))
    }
}

/// The golden-signals workload: one single-span trace per (service, operation) key per hour
/// over `days` days, all `kind` (2 server: requests, rolled up; 1 internal: not requests).
struct SignalsWorkload: Sendable {
    let ids: IDSource
    let services: Int
    let operations: Int
    let hours: Int
    let nowNanos: UInt64
    let kind: UInt64

    var keys: Int { services * operations }
    var totalSpans: Int { keys * hours }

    static func serviceName(_ index: Int) -> String { "s\(index + 1)" }

    /// Spans `first..<first+count` (span n: hour n / keys, key n % keys) as one request body.
    func body(firstSpan first: Int, count: Int) -> [UInt8] {
        var byService = [[OTLPPayloads.SpanSpec]](repeating: [], count: services)
        let hourNanos: UInt64 = 3_600_000_000_000
        for n in first..<(first + count) {
            let hour = n / keys, key = n % keys
            let service = key / operations, operation = key % operations
            var rng = SplitMix(seed: ids.seed ^ (UInt64(n) &* 0xD1B5_4A32_D192_ED03))
            // Hour 0 is the oldest; the newest ends a minute before now.
            let hourStart = nowNanos - UInt64(hours - hour) * hourNanos
            let start = hourStart + UInt64(rng.unit() * Double(hourNanos - 120_000_000_000))
            let duration = rng.logNormalNanos(medianMs: 30, sigma: 1.2)
            let isError = rng.unit() < 0.01
            byService[service].append(OTLPPayloads.SpanSpec(
                traceID: ids.traceID(UInt64(n)), spanID: ids.spanID(trace: UInt64(n), position: 0),
                parentSpanID: nil, name: StoreWorkload.operationName(operation), kind: kind,
                startNanos: start, endNanos: start + duration,
                attributes: [
                    ("http.route", StoreWorkload.route(operation)),
                    ("http.request.method", "GET"),
                    ("http.response.status_code", isError ? "500" : "200"),
                ],
                isError: isError))
        }
        return OTLPPayloads.traces(groups: byService.enumerated().map { (service: Self.serviceName($0.offset), spans: $0.element) })
    }
}
