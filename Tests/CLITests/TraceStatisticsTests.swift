import Foundation
import PeriscopeModel
@testable import PeriscopeCLI
import PeriscopeQueryAPI
import Testing

@Suite("Trace statistics and trace comparison")
struct TraceStatisticsTests {
    typealias F = Fixtures
    static let ms: UInt64 = 1_000_000

    @Test("self time: a span's duration less the time any child ran inside it; overlapping children count once, a child running past its parent only inside it")
    func selfTimes() {
        let spans = [
            F.span(1, parent: nil, service: "a", name: "root", start: 0, duration: 10 * Self.ms),
            F.span(2, parent: 1, service: "b", name: "x", start: 1 * Self.ms, duration: 4 * Self.ms),
            F.span(3, parent: 1, service: "b", name: "x", start: 3 * Self.ms, duration: 4 * Self.ms),  // overlaps 2: 1–7 covered
            F.span(4, parent: 1, service: "c", name: "async", start: 9 * Self.ms, duration: 5 * Self.ms),  // runs past the root: 9–10 inside
            F.span(5, parent: 2, service: "d", name: "y", start: 0, duration: 20 * Self.ms),  // starts before and ends after its parent
            F.span(1, parent: nil, service: "a", name: "again", start: 0, duration: 1 * Self.ms),  // a duplicate ID gets no children
        ]
        #expect(TraceStatistics.selfTimes(spans) == [3 * Self.ms, 0, 4 * Self.ms, 5 * Self.ms, 20 * Self.ms, 1 * Self.ms])
        var backwards = F.span(6, parent: nil, service: "e", name: "z", start: 5 * Self.ms, duration: 0)
        backwards.endTimeUnixNano = backwards.startTimeUnixNano - 1
        #expect(TraceStatistics.selfTimes([backwards]) == [0], "an end before the start is no negative time")
    }

    @Test("statistics of the fixture trace: one row per service and operation, largest self time first")
    func statistics() {
        let statistics = TraceStatistics(F.trace)
        #expect(statistics.durationNanos == 10 * Self.ms && statistics.spanCount == 5)
        #expect(statistics.rows.map(\.operation) == ["charge card", "GET /checkout", "suggest", "load cart", "SELECT cart_items"])
        #expect(statistics.rows.map(\.selfNanos) == [5_000_000, 3_000_000, 1_500_000, 1_150_000, 850_000])
        #expect(statistics.rows[0].errors == 1 && statistics.rows.dropFirst().allSatisfy { $0.errors == 0 })
        // A server span answering 503 failed, as the waterfall marks it, though its status is unset.
        let unavailable = QueryAPI.Trace(traceID: F.trace.traceID, spans: [
            F.span(1, parent: nil, service: "web", name: "GET", start: 0, duration: 5, attributes: ["http.response.status_code": .int(503)]),
        ])
        #expect(unavailable.spans[0].isFailed && TraceStatistics(unavailable).rows.map(\.errors) == [1])
        #expect(TraceStatisticsRenderer(width: 100).render(statistics) == """
            trace 4bf92f3577b34da6a3ce929d0e0e4736  10.0ms  5 spans
            SERVICE   OPERATION          SPANS  ERRORS   TOTAL     AVG     MAX    SELF  SELF%
            payments  charge card            1       1  5.00ms  5.00ms  5.00ms  5.00ms  50.0%
            frontend  GET /checkout          1       0  10.0ms  10.0ms  10.0ms  3.00ms  30.0%
            search    suggest                1       0  1.50ms  1.50ms  1.50ms  1.50ms  15.0%
            cart      load cart              1       0  2.00ms  2.00ms  2.00ms  1.15ms  11.5%
            cart      SELECT cart_items      1       0   850µs   850µs   850µs   850µs   8.5%

            """)
        for width in [40, 60, 80] {
            #expect(TraceStatisticsRenderer(width: width).render(statistics).split(separator: "\n").allSatisfy { Text.width(String($0)) <= max(width, 78) })
        }
        #expect(TraceStatisticsRenderer.percent(1, of: 0) == "–")
    }

    @Test("comparison: calls aligned by their path, repeated calls summed, calls only one trace has marked, A's order first")
    func comparison() throws {
        let b = QueryAPI.Trace(traceID: TraceID(hex: "abcdef01234567890000000000000000")!, spans: [
            F.span(0x11, parent: nil, service: "frontend", name: "GET /checkout", start: 0, duration: 14 * Self.ms),
            F.span(0x12, parent: 0x11, service: "cart", name: "load cart", start: 1 * Self.ms, duration: 3 * Self.ms),
            F.span(0x13, parent: 0x12, service: "cart", name: "SELECT cart_items", start: 1 * Self.ms, duration: 1 * Self.ms),
            F.span(0x14, parent: 0x12, service: "cart", name: "SELECT cart_items", start: 2 * Self.ms, duration: 1 * Self.ms),
            F.span(0x15, parent: 0x11, service: "payments", name: "refund", start: 5 * Self.ms, duration: 1 * Self.ms),
        ])
        let comparison = TraceComparison(F.trace, b)
        #expect(comparison.rows.map(\.call) == [
            "frontend: GET /checkout", "cart: load cart", "cart: SELECT cart_items", "payments: charge card", "payments: refund", "search: suggest",
        ])
        #expect(comparison.rows.map(\.depth) == [0, 1, 2, 1, 1, 0])
        #expect(comparison.rows[2].spansB == 2 && comparison.rows[2].totalNanosB == 2 * Self.ms)
        #expect(comparison.path(of: 2) == ["frontend: GET /checkout", "cart: load cart", "cart: SELECT cart_items"])
        #expect(comparison.rows.map(\.parent) == [nil, 0, 1, 0, 0, nil])
        #expect(TraceComparisonRenderer(width: 100).render(comparison) == """
            A 4bf92f3577b34da6a3ce929d0e0e4736  10.0ms  5 spans
            B abcdef01234567890000000000000000  14.0ms  5 spans  +4.00ms  +40.0%

              CALL                              A           B  CHANGE
              frontend: GET /checkout      10.0ms      14.0ms  +4.00ms  +40.0%
                cart: load cart            2.00ms      3.00ms  +1.00ms  +50.0%
                  cart: SELECT cart_items   850µs  2 × 2.00ms  +1.15ms   +135%
            -   payments: charge card      5.00ms           –  only in A
            +   payments: refund                –      1.00ms  only in B
            - search: suggest              1.50ms           –  only in A

            """)
        // The same call under two parents is two rows; calls in a parent cycle are rows once, with no loop.
        let twoParents = QueryAPI.Trace(traceID: F.trace.traceID, spans: [
            F.span(1, parent: nil, service: "web", name: "GET", start: 0, duration: 10),
            F.span(2, parent: 1, service: "a", name: "x", start: 1, duration: 2), F.span(3, parent: 1, service: "b", name: "y", start: 4, duration: 2),
            F.span(4, parent: 2, service: "db", name: "q", start: 1, duration: 1), F.span(5, parent: 3, service: "db", name: "q", start: 4, duration: 1),
            F.span(6, parent: 7, service: "loop", name: "p", start: 5, duration: 1), F.span(7, parent: 6, service: "loop", name: "p", start: 6, duration: 1),
        ])
        let split = TraceComparison(twoParents, twoParents)
        #expect(split.rows.filter { $0.call == "db: q" }.map { split.path(of: split.rows.firstIndex(of: $0)!) } == [
            ["web: GET", "a: x", "db: q"], ["web: GET", "b: y", "db: q"],
        ])
        #expect(split.rows.filter { $0.call == "loop: p" }.map(\.depth) == [0, 1])
        #expect(split.rows.allSatisfy { $0.spansA == $0.spansB })

        // --json: a deep chain's rows carry their depth and the 64 calls nearest them, not the whole chain.
        let chain = QueryAPI.Trace(traceID: F.trace.traceID, spans: (1...100).map { (n: UInt64) -> QueryAPI.Span in
            F.span(n, parent: n == 1 ? nil : n - 1, service: "s", name: "n\(n)", start: n, duration: 1)
        })
        struct Row: Decodable { var path: [String]; var depth: Int }
        struct Document: Decodable { var rows: [Row] }
        let document = try JSONDecoder().decode(Document.self, from: JSONEncoder().encode(TraceComparison(chain, chain)))
        #expect(document.rows.count == 100 && document.rows.last?.depth == 99)
        #expect(document.rows.last?.path.count == TraceComparison.maxPathInJSON && document.rows.last?.path.last == "s: n100")
        #expect(document.rows[3].path == ["s: n1", "s: n2", "s: n3", "s: n4"])

        let same = TraceComparison(F.trace, F.trace)
        #expect(same.rows.allSatisfy { $0.spansA == $0.spansB && $0.totalNanosA == $0.totalNanosB })
        #expect(TraceComparisonRenderer(width: 80).change(1, .max, present: (true, true)).hasSuffix("%"), "a huge change is no trap")
        #expect(TraceComparisonRenderer(width: 80).change(0, 5, present: (true, true)).hasSuffix("new"))
    }
}
