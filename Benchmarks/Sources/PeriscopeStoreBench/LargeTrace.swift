import PeriscopeBenchKit

/// One trace of `spans` spans for the web UI's waterfall (DESIGN §9: a 10,000-span trace usable
/// in under a second): an eight-way tree over five services, each span with the store
/// workload's attributes, built the same from the same seed.
struct LargeTrace: Sendable {
    let ids: IDSource
    let spans: Int
    /// When the trace ends, Unix nanoseconds.
    let endNanos: UInt64

    /// Far past the store workload's trace numbers, so its ID is none of theirs.
    var traceID: [UInt8] { ids.traceID(UInt64.max - 1) }

    /// OTLP trace bodies of at most `perBody` spans each, parents before their children.
    func bodies(perBody: Int) -> [[UInt8]] {
        var rng = SplitMix(seed: ids.seed ^ 0x4C41_5247_4554_5243)
        let rootDuration: UInt64 = 5_000_000_000
        let traceID = self.traceID
        var spanIDs: [[UInt8]] = []
        var windows: [(start: UInt64, duration: UInt64)] = []
        var all: [(service: Int, span: OTLPPayloads.SpanSpec)] = []
        spanIDs.reserveCapacity(spans)
        windows.reserveCapacity(spans)
        all.reserveCapacity(spans)
        for position in 0..<spans {
            var spanID = (0..<8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if spanID.allSatisfy({ $0 == 0 }) { spanID[7] = 1 }
            spanIDs.append(spanID)
            let parent = position == 0 ? nil : (position - 1) / 8
            let start: UInt64, duration: UInt64
            if let parent {
                let window = windows[parent]
                duration = max(1_000, UInt64(Double(window.duration) * (0.02 + 0.3 * rng.unit())))
                start = window.start + UInt64(Double(window.duration - min(duration, window.duration)) * rng.unit())
            } else {
                duration = rootDuration
                start = endNanos - rootDuration
            }
            windows.append((start, duration))
            let operation = rng.below(20)
            let isError = rng.unit() < 0.01
            all.append((position % 5, OTLPPayloads.SpanSpec(
                traceID: traceID, spanID: spanID, parentSpanID: parent.map { spanIDs[$0] },
                name: StoreWorkload.operationName(operation), kind: StoreWorkload.kind(position: position),
                startNanos: start, endNanos: start + duration,
                attributes: [
                    ("http.route", StoreWorkload.route(operation)),
                    ("http.request.method", operation % 3 == 0 ? "POST" : "GET"),
                    ("http.response.status_code", isError ? "500" : "200"),
                ],
                isError: isError)))
        }
        return stride(from: 0, to: all.count, by: perBody).map { first in
            let part = all[first..<min(first + perBody, all.count)]
            let groups = (0..<5).map { service in
                (service: StoreWorkload.serviceName(service), spans: part.filter { $0.service == service }.map(\.span))
            }
            return OTLPPayloads.traces(groups: groups.filter { !$0.spans.isEmpty })
        }
    }
}
