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

    public struct Row: Sendable, Equatable {
        /// `service: operation` of this row's call.
        public var call: String
        /// Calls above it, 0 for a root.
        public var depth: Int
        /// The row of the call it is made from (an index into `rows`), nil for a root.
        public var parent: Int?
        public var spansA: Int
        public var spansB: Int
        public var totalNanosA: UInt64
        public var totalNanosB: UInt64
    }

    /// Whether a call took longer in B than in A: past a tenth either way it is marked (red
    /// and green in the CLI, the web UI's `slower` and `faster`); a call A spent no time in is
    /// never marked.
    public enum Trend: Sendable, Equatable {
        case slower, faster, similar

        public init(_ a: UInt64, _ b: UInt64) {
            if a > 0, Double(b) > Double(a) * 1.1 {
                self = .slower
            } else if a > 0, Double(b) < Double(a) * 0.9 {
                self = .faster
            } else {
                self = .similar
            }
        }
    }

    public var a: Side
    public var b: Side
    public var rows: [Row]

    /// Calls of a row's `path` in `--json`: the nearest ones; `depth` says how many are above.
    public static let maxPathInJSON = 64

    /// The chain of calls from the root down to `rows[index]`, that row's own last; at most the
    /// `limit` nearest it.
    public func path(of index: Int, limit: Int = .max) -> [String] {
        var path = [String]()
        var current: Int? = index
        while let row = current, path.count < limit {
            path.append(rows[row].call)
            current = rows[row].parent
        }
        return path.reversed()
    }

    enum CodingKeys: String, CodingKey { case a, b, rows }

    /// Each row with its `depth` and its `path` from the root (`periscope compare --json`); the
    /// path holds the `maxPathInJSON` calls nearest the row, so a deep chain's answer grows with
    /// its length, not its square.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(a, forKey: .a)
        try container.encode(b, forKey: .b)
        var list = container.nestedUnkeyedContainer(forKey: .rows)
        for index in rows.indices {
            try list.encode(RowWithPath(row: rows[index], path: path(of: index, limit: Self.maxPathInJSON)))
        }
    }

    private struct RowWithPath: Encodable {
        var row: Row
        var path: [String]

        enum CodingKeys: String, CodingKey { case path, depth, spansA, spansB, totalNanosA, totalNanosB }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(row.depth, forKey: .depth)
            try container.encode(row.spansA, forKey: .spansA)
            try container.encode(row.spansB, forKey: .spansB)
            try container.encode(row.totalNanosA, forKey: .totalNanosA)
            try container.encode(row.totalNanosB, forKey: .totalNanosB)
        }
    }

    /// A call is known by the row of the call it is made from and its own `service: operation`,
    /// so each is held once however deep it sits (a path of strings per row would grow with the
    /// square of a deep chain's length).
    private struct CallKey: Hashable {
        var parent: Int
        var call: String
    }

    public init(_ first: QueryAPI.Trace, _ second: QueryAPI.Trace) {
        var rows = [Row]()
        var known = [CallKey: Int]()
        var children = [Int: [Int]]()
        var roots = [Int]()
        func add(_ trace: QueryAPI.Trace, isA: Bool) -> Side {
            let tree = TraceTree(spans: trace.spans)
            // The rows of the calls above the current one, root first.
            var stack = [Int]()
            for treeRow in tree.rows {
                stack.removeLast(max(0, stack.count - treeRow.depth))
                let call = treeRow.span.service + ": " + treeRow.span.name
                let parent = stack.last
                let key = CallKey(parent: parent ?? -1, call: call)
                let index: Int
                if let existing = known[key] {
                    index = existing
                } else {
                    index = rows.count
                    rows.append(Row(call: call, depth: stack.count, parent: parent, spansA: 0, spansB: 0, totalNanosA: 0, totalNanosB: 0))
                    known[key] = index
                    if let parent { children[parent, default: []].append(index) } else { roots.append(index) }
                }
                stack.append(index)
                let duration = TraceStatistics.duration(treeRow.span)
                if isA {
                    rows[index].spansA += 1
                    rows[index].totalNanosA = TraceStatistics.sum(rows[index].totalNanosA, duration)
                } else {
                    rows[index].spansB += 1
                    rows[index].totalNanosB = TraceStatistics.sum(rows[index].totalNanosB, duration)
                }
            }
            return Side(traceID: trace.traceID, durationNanos: tree.durationNanos, spanCount: trace.spans.count)
        }
        a = add(first, isA: true)
        b = add(second, isA: false)
        // Depth first, each call's children in the order they were first met; parents renumbered.
        var ordered = [Row]()
        ordered.reserveCapacity(rows.count)
        var newIndex = [Int](repeating: 0, count: rows.count)
        var pending = Array(roots.reversed())
        while let index = pending.popLast() {
            var row = rows[index]
            row.parent = row.parent.map { newIndex[$0] }
            newIndex[index] = ordered.count
            ordered.append(row)
            pending += (children[index] ?? []).reversed()
        }
        self.rows = ordered
    }
}
