import Foundation
import PeriscopeModel

/// Two traces side by side, span paths aligned (Jaeger's trace comparison, with durations): a
/// path is the chain of `service: operation` from a root down to a span, so the same call in
/// both traces lines up however the span IDs differ. Each path has its span count and total
/// duration in both; a path only one trace has is marked. The tree is walked as the waterfall
/// walks it, the first trace's order first.
public struct TraceComparison: Sendable, Equatable, Encodable {
    public struct Side: Sendable, Equatable, Encodable {
        public var traceID: TraceID
        public var durationNanos: UInt64
        public var spanCount: Int
    }

    public struct Row: Sendable, Equatable, Encodable {
        /// `service: operation` from the root down; the last is this row's.
        public var path: [String]
        public var spansA: Int
        public var spansB: Int
        public var totalNanosA: UInt64
        public var totalNanosB: UInt64

        public var depth: Int { path.count - 1 }
    }

    public var a: Side
    public var b: Side
    public var rows: [Row]

    public init(_ first: QueryAPI.Trace, _ second: QueryAPI.Trace) {
        var rows = [[String]: Row]()
        var children = [[String]: [[String]]]()
        var roots = [[String]]()
        func add(_ trace: QueryAPI.Trace, isA: Bool) -> Side {
            let tree = TraceTree(spans: trace.spans)
            var stack = [String]()
            for row in tree.rows {
                stack.removeLast(max(0, stack.count - row.depth))
                stack.append(row.span.service + ": " + row.span.name)
                let path = stack
                if rows[path] == nil {
                    rows[path] = Row(path: path, spansA: 0, spansB: 0, totalNanosA: 0, totalNanosB: 0)
                    if path.count == 1 { roots.append(path) } else { children[Array(path.dropLast()), default: []].append(path) }
                }
                let duration = TraceStatistics.duration(row.span)
                if isA {
                    rows[path]!.spansA += 1
                    rows[path]!.totalNanosA = TraceStatistics.sum(rows[path]!.totalNanosA, duration)
                } else {
                    rows[path]!.spansB += 1
                    rows[path]!.totalNanosB = TraceStatistics.sum(rows[path]!.totalNanosB, duration)
                }
            }
            return Side(traceID: trace.traceID, durationNanos: tree.durationNanos, spanCount: trace.spans.count)
        }
        a = add(first, isA: true)
        b = add(second, isA: false)
        var ordered = [Row]()
        var pending = Array(roots.reversed())
        while let path = pending.popLast() {
            ordered.append(rows[path]!)
            pending += (children[path] ?? []).reversed()
        }
        self.rows = ordered
    }
}
