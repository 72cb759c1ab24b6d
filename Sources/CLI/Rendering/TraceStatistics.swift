import PeriscopeModel
import PeriscopeQueryAPI

/// Where a trace's time went, per service and operation (Jaeger's "trace statistics"): how
/// many spans, how long they took in all, and their *self time* — the time a span spent with
/// none of its children running, the part that was its own work. Rows are sorted by self time,
/// largest first: the top row is where to look.
struct TraceStatistics: Sendable, Equatable, Encodable {
    struct Row: Sendable, Equatable, Encodable {
        var service: String
        var operation: String
        var spans: Int
        var errors: Int
        var totalNanos: UInt64
        var minNanos: UInt64
        var maxNanos: UInt64
        var selfNanos: UInt64

        var averageNanos: UInt64 { spans > 0 ? totalNanos / UInt64(spans) : 0 }
    }

    var traceID: TraceID
    /// From the first span's start to the last span's end.
    var durationNanos: UInt64
    var spanCount: Int
    var rows: [Row]

    init(_ trace: QueryAPI.Trace) {
        traceID = trace.traceID
        spanCount = trace.spans.count
        let tree = TraceTree(spans: trace.spans)
        durationNanos = tree.durationNanos
        let selfTimes = Self.selfTimes(trace.spans)
        var rows = [String: [String: Row]]()
        for (span, selfNanos) in zip(trace.spans, selfTimes) {
            let duration = Self.duration(span)
            var row = rows[span.service]?[span.name]
                ?? Row(service: span.service, operation: span.name, spans: 0, errors: 0, totalNanos: 0, minNanos: .max, maxNanos: 0, selfNanos: 0)
            row.spans += 1
            if span.status.code == "error" { row.errors += 1 }
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
    static func sum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : total
    }

    /// A span's duration from its times; 0 when its end is before its start.
    static func duration(_ span: QueryAPI.Span) -> UInt64 {
        span.endTimeUnixNano >= span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0
    }

    /// Each span's self time: its duration less the time at least one of its children ran
    /// within it (children running past their parent count only inside it). A child is a span
    /// naming it as parent; of spans sharing an ID, the first one has the children, as in the
    /// waterfall.
    static func selfTimes(_ spans: [QueryAPI.Span]) -> [UInt64] {
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

/// `periscope trace ID --stats`: the statistics as a table.
///
/// ```
/// trace 4bf92f3577b34da6a3ce929d0e0e4736  10.0ms  5 spans
/// SERVICE   OPERATION          SPANS  ERRORS   TOTAL     AVG     MAX    SELF  SELF%
/// payments  charge card            1       1  5.00ms  5.00ms  5.00ms  5.00ms  50.0%
/// ```
struct TraceStatisticsRenderer: Sendable {
    var width: Int
    var style: Style = .plain

    func render(_ statistics: TraceStatistics) -> String {
        let header = style.bold("trace \(statistics.traceID.hex)") + "  " + DurationFormat.string(nanos: statistics.durationNanos)
            + "  " + Text.plural(statistics.spanCount, "span")
        let numbers = statistics.rows.map { row in
            [
                String(row.spans), String(row.errors), DurationFormat.string(nanos: row.totalNanos), DurationFormat.string(nanos: row.averageNanos),
                DurationFormat.string(nanos: row.maxNanos), DurationFormat.string(nanos: row.selfNanos),
                Self.percent(row.selfNanos, of: statistics.durationNanos),
            ]
        }
        let titles = ["SPANS", "ERRORS", "TOTAL", "AVG", "MAX", "SELF", "SELF%"]
        let numberWidths = titles.indices.map { column in max(Text.width(titles[column]), numbers.map { Text.width($0[column]) }.max() ?? 0) }
        let numbersWidth = numberWidths.reduce(0) { $0 + $1 + 2 }
        let services = statistics.rows.map { Text.sanitize($0.service) }
        let operations = statistics.rows.map { Text.sanitize($0.operation) }
        // Names take what the numbers leave, the service at most a third of it.
        let room = max(20, width - numbersWidth - 2)
        let serviceWidth = min(max(7, services.map(Text.width).max() ?? 0), max(7, room / 3))
        let operationWidth = min(max(9, operations.map(Text.width).max() ?? 0), max(9, room - serviceWidth))
        func line(_ service: String, _ operation: String, _ cells: [String]) -> String {
            var text = Text.padRight(Text.truncate(service, to: serviceWidth), serviceWidth) + "  "
                + Text.padRight(Text.truncate(operation, to: operationWidth), operationWidth)
            for (cell, cellWidth) in zip(cells, numberWidths) { text += "  " + Text.padLeft(cell, cellWidth) }
            return text
        }
        var lines = [header, style.dim(line("SERVICE", "OPERATION", titles))]
        for (index, row) in statistics.rows.enumerated() {
            var text = line(services[index], operations[index], numbers[index])
            if row.errors > 0 { text = style.color(text, .red) }
            lines.append(text)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `part / whole` as a percentage with one decimal ("–" for an empty whole).
    static func percent(_ part: UInt64, of whole: UInt64) -> String {
        guard whole > 0 else { return "–" }
        let tenths = (Double(part) / Double(whole) * 1000).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10)%"
    }
}
