@testable import PeriscopeCollector
import PeriscopeModel
import Testing

@Suite("Large traces' span IDs")
struct LargeTraceSpanIDsTests {
    @Test("traces keep growing past the ID limit: the total stays under it, the least recently written go first, a rollback forgets all")
    func bounded() {
        let cache = LargeTraceSpanIDs()
        let traces = (0..<6).map { _ in TraceID.random() }
        var next: UInt64 = 0
        func ids(_ count: Int) -> Set<UInt64> {
            defer { next += UInt64(count) }
            return Set(next..<(next + UInt64(count)))
        }
        for round in 0..<40 {
            for (index, trace) in traces.enumerated() {
                if round == 0 { cache.store(ids(50_000), of: trace) } else { cache.add(ids(5_000), to: trace) }
                #expect(cache.count <= LargeTraceSpanIDs.maxIDs, "round \(round), trace \(index)")
            }
        }
        let last = traces[5]
        #expect(cache.alreadyStored([next - 1, next + 1], in: last) == [next - 1], "the trace written last is kept, and answers by ID")
        cache.store(Set(0..<UInt64(LargeTraceSpanIDs.maxIDs + 1)), of: TraceID.random())
        #expect(cache.count <= LargeTraceSpanIDs.maxIDs, "a set larger than the limit is not kept")
        cache.removeAll()
        #expect(cache.count == 0 && cache.alreadyStored([1], in: last) == nil)
    }
}
