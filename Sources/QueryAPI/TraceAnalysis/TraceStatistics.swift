import PeriscopeModel

/// Where a trace's time went, per service and operation (Jaeger's "trace statistics"): how
/// many spans, how long they took in all, and their *self time* — the time a span spent with
/// none of its children running, the part that was its own work. Rows are sorted by self time,
/// largest first: the top row is where to look.
public struct TraceStatistics: Sendable, Equatable, Encodable {
    public struct Row: Sendable, Equatable, Encodable {
        public var service: String
        public var operation: String
        public var spans: Int
        public var errors: Int
        public var totalNanos: UInt64
        public var minNanos: UInt64
        public var maxNanos: UInt64
        public var selfNanos: UInt64

        public var averageNanos: UInt64 { spans > 0 ? totalNanos / UInt64(spans) : 0 }
    }

    public var traceID: TraceID
    /// From the first span's start to the last span's end.
    public var durationNanos: UInt64
    public var spanCount: Int
    public var rows: [Row]

    public init(_ trace: QueryAPI.Trace) {
        traceID = trace.traceID
        spanCount = trace.spans.count
        // Only the trace's time range is needed here, not the tree's order.
        let range = TraceTree.timeRange(of: trace.spans)
        durationNanos = range.end - range.start
        let selfTimes = Self.selfTimes(trace.spans)
        var rows = [String: [String: Row]]()
        for (span, selfNanos) in zip(trace.spans, selfTimes) {
            let duration = Self.duration(span)
            var row = rows[span.service]?[span.name]
                ?? Row(service: span.service, operation: span.name, spans: 0, errors: 0, totalNanos: 0, minNanos: .max, maxNanos: 0, selfNanos: 0)
            row.spans += 1
            // Failed as the collector counts it (an error status, or a server span's 5xx), as the waterfall marks it.
            if span.isFailed { row.errors += 1 }
            row.totalNanos = Self.sum(row.totalNanos, duration)
            row.minNanos = min(row.minNanos, duration)
            row.maxNanos = max(row.maxNanos, duration)
            row.selfNanos = Self.sum(row.selfNanos, selfNanos)
            rows[span.service, default: [:]][span.name] = row
        }
        self.rows = rows.values.flatMap(\.values).sorted {
            ($1.selfNanos, $1.totalNanos, $0.service, $0.operation) < ($0.selfNanos, $0.totalNanos, $1.service, $1.operation)
        }
    }

    /// Durations added up, stopping at the largest value rather than trapping.
    public static func sum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : total
    }

    /// A span's duration from its times; 0 when its end is before its start.
    public static func duration(_ span: QueryAPI.Span) -> UInt64 {
        span.endTimeUnixNano >= span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0
    }

    /// Each span's self time: its duration less the time at least one of its children ran
    /// within it (children running past their parent count only inside it). A child is a span
    /// naming it as parent; of spans sharing an ID, the first one has the children, as in the
    /// waterfall.
    public static func selfTimes(_ spans: [QueryAPI.Span]) -> [UInt64] {
        var firstIndex = [SpanID: Int]()
        for (index, span) in spans.enumerated() where firstIndex[span.spanID] == nil { firstIndex[span.spanID] = index }
        var children = [Int: [(start: UInt64, end: UInt64)]]()
        for (index, span) in spans.enumerated() {
            guard let parent = span.parentSpanID, !parent.isZero, let parentIndex = firstIndex[parent], parentIndex != index else { continue }
            children[parentIndex, default: []].append((span.startTimeUnixNano, max(span.startTimeUnixNano, span.endTimeUnixNano)))
        }
        return spans.enumerated().map { index, span in
            let duration = duration(span)
            guard let kids = children[index] else { return duration }
            let start = span.startTimeUnixNano, end = start + duration
            var covered: UInt64 = 0
            var reached = start
            for kid in kids.sorted(by: { $0.start < $1.start }) {
                let from = max(kid.start, reached), to = min(kid.end, end)
                guard to > from else { continue }
                covered += to - from
                reached = to
            }
            return duration - min(duration, covered)
        }
    }
}
