import PeriscopeModel

/// The critical path of a trace: the chain of spans that determined its duration. From the
/// root, repeatedly the child that ends last — the span the parent was waiting for when it
/// finished (the definition Jaeger and Tempo use for their critical-path views).
public enum CriticalPath {
    /// Positions in `spans` along the path, root first. Empty for no spans. The root is the
    /// parentless span that ends last (an orphan when the trace has no true root); cycles and
    /// duplicate span IDs end the walk rather than loop.
    public static func indices(in spans: [QueryAPI.Span]) -> [Int] {
        guard !spans.isEmpty else { return [] }
        var firstIndex: [SpanID: Int] = [:]
        for (index, span) in spans.enumerated() where firstIndex[span.spanID] == nil { firstIndex[span.spanID] = index }
        var children: [Int: [Int]] = [:]
        var trueRoots: [Int] = []
        var orphans: [Int] = []
        for (index, span) in spans.enumerated() {
            if let parent = span.parentSpanID, !parent.isZero {
                if let parentIndex = firstIndex[parent], parentIndex != index {
                    children[parentIndex, default: []].append(index)
                } else {
                    orphans.append(index)
                }
            } else {
                trueRoots.append(index)
            }
        }
        /// Latest end wins; on a tie the earlier start (the longer span), then the lower span ID.
        func later(_ a: Int, _ b: Int) -> Bool {
            let x = spans[a], y = spans[b]
            if x.endTimeUnixNano != y.endTimeUnixNano { return x.endTimeUnixNano > y.endTimeUnixNano }
            if x.startTimeUnixNano != y.startTimeUnixNano { return x.startTimeUnixNano < y.startTimeUnixNano }
            return x.spanID < y.spanID
        }
        let candidates = trueRoots.isEmpty ? (orphans.isEmpty ? Array(spans.indices) : orphans) : trueRoots
        guard var current = candidates.min(by: later) else { return [] }
        var path = [current]
        var visited: Set<Int> = [current]
        while let next = (children[current] ?? []).filter({ !visited.contains($0) }).min(by: later) {
            path.append(next)
            visited.insert(next)
            current = next
        }
        return path
    }

    /// The span IDs on the path.
    public static func spanIDs(in spans: [QueryAPI.Span]) -> Set<SpanID> {
        Set(indices(in: spans).map { spans[$0].spanID })
    }
}
