import PeriscopeModel

/// The spans of a trace arranged as a forest, in the order the waterfall shows them.
public struct TraceTree: Sendable {
    public struct Row: Sendable, Equatable {
        public var span: QueryAPI.Span
        /// Nesting depth, 0 for roots.
        public var depth: Int
        /// For each ancestor level (outermost first): whether a later sibling still follows,
        /// i.e. whether a `│` continues in that column. At most `maxDrawnLevels` levels: deeper
        /// rows line up with that one, so a chain of 100,000 spans costs no more per row.
        public var continuing: [Bool]
        /// Whether this is the last child of its parent (or the last root).
        public var isLast: Bool
        /// A root whose parent span is not in the trace (or that sits in a parent cycle).
        public var isOrphan: Bool
        public var hasChildren: Bool
    }

    public var rows: [Row]
    /// Ancestor levels a row's `continuing` holds; a terminal shows fewer.
    public static let maxDrawnLevels = 64
    public var startUnixNano: UInt64
    public var endUnixNano: UInt64

    public var durationNanos: UInt64 { endUnixNano - startUnixNano }

    /// From the first span's start to the last span's end (a span ending before it starts ends
    /// at its start); 0…0 for no spans.
    public static func timeRange(of spans: [QueryAPI.Span]) -> (start: UInt64, end: UInt64) {
        let start = spans.map(\.startTimeUnixNano).min() ?? 0
        return (start, max(start, spans.map { max($0.endTimeUnixNano, $0.startTimeUnixNano) }.max() ?? 0))
    }

    public init(spans: [QueryAPI.Span]) {
        (startUnixNano, endUnixNano) = Self.timeRange(of: spans)

        // Index by position: the same span ID twice (a hostile or duplicated store) must not
        // make rows disappear, so children attach to the first span with that ID.
        var firstIndex: [SpanID: Int] = [:]
        for (index, span) in spans.enumerated() where firstIndex[span.spanID] == nil {
            firstIndex[span.spanID] = index
        }
        var children: [Int: [Int]] = [:]
        var roots: [Int] = []
        var orphans: Set<Int> = []
        for (index, span) in spans.enumerated() {
            if let parent = span.parentSpanID, !parent.isZero {
                if let parentIndex = firstIndex[parent], parentIndex != index {
                    children[parentIndex, default: []].append(index)
                } else {
                    roots.append(index)
                    orphans.insert(index)
                }
            } else {
                roots.append(index)
            }
        }

        func order(_ a: Int, _ b: Int) -> Bool {
            let x = spans[a], y = spans[b]
            if x.startTimeUnixNano != y.startTimeUnixNano { return x.startTimeUnixNano < y.startTimeUnixNano }
            let xOrphan = orphans.contains(a), yOrphan = orphans.contains(b)
            if xOrphan != yOrphan { return !xOrphan }
            if x.endTimeUnixNano != y.endTimeUnixNano { return x.endTimeUnixNano > y.endTimeUnixNano }
            if x.name != y.name { return x.name < y.name }
            if x.spanID != y.spanID { return x.spanID < y.spanID }
            return a < b
        }

        var rows: [Row] = []
        rows.reserveCapacity(spans.count)
        var visited = [Bool](repeating: false, count: spans.count)

        // Iterative depth-first walk: deep traces must not overflow the stack.
        func walk(root: Int, isLast: Bool, isOrphan: Bool) {
            var stack: [(index: Int, depth: Int, continuing: [Bool], isLast: Bool)] = [(root, 0, [], isLast)]
            while let (index, depth, continuing, last) = stack.popLast() {
                guard !visited[index] else { continue }
                visited[index] = true
                let kids = (children[index] ?? []).filter { !visited[$0] }.sorted(by: order)
                rows.append(Row(
                    span: spans[index], depth: depth, continuing: continuing, isLast: last,
                    isOrphan: depth == 0 && isOrphan, hasChildren: !kids.isEmpty))
                let childContinuing = depth == 0 ? [] : continuing.count < Self.maxDrawnLevels ? continuing + [!last] : continuing
                for (position, kid) in kids.enumerated().reversed() {
                    stack.append((kid, depth + 1, childContinuing, position == kids.count - 1))
                }
            }
        }

        let sortedRoots = roots.sorted(by: order)
        for (position, root) in sortedRoots.enumerated() {
            walk(root: root, isLast: position == sortedRoots.count - 1, isOrphan: orphans.contains(root))
        }
        // Spans only reachable through a parent cycle: show them too, as orphans.
        let unreached = spans.indices.filter { !visited[$0] }.sorted(by: order)
        for index in unreached where !visited[index] {
            walk(root: index, isLast: true, isOrphan: true)
        }

        self.rows = rows
    }
}
