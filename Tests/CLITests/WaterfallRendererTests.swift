import PeriscopeModel
@testable import PeriscopeCLI
import PeriscopeQueryAPI
import Testing

@Suite struct WaterfallRendererTests {
    @Test func rendersTheSampleTrace() {
        let output = WaterfallRenderer(width: 80).render(Fixtures.trace)
        #expect(output == """
            trace 4bf92f3577b34da6a3ce929d0e0e4736 · 10.0ms · 5 spans · 4 services · 1 error

              SPAN                            START  DURATION  0s                     10.0ms
            * frontend: GET /checkout            0s    10.0ms  █████████████████████████████
              ├─ cart: load cart             1.00ms    2.00ms    ███████
              │  └─ cart: SELECT cart_items  1.20ms     850µs     ███
            * └─ ✗ payments: charge card     4.00ms    5.00ms             ████████████████
              ┄ search: suggest              6.00ms    1.50ms                   █████

            * critical path: the spans that determined the trace's duration
            ┄ 1 span whose parent is not in the trace, shown as a root

            """)
    }

    @Test func verboseAddsAttributesStatusAndEventsUnderEachRow() {
        let output = WaterfallRenderer(width: 80, verbose: true).render(Fixtures.trace)
        #expect(output == """
            trace 4bf92f3577b34da6a3ce929d0e0e4736 · 10.0ms · 5 spans · 4 services · 1 error

              SPAN                            START  DURATION  0s                     10.0ms
            * frontend: GET /checkout            0s    10.0ms  █████████████████████████████
              │  span 0000000000000001 · server
              │  http.method=GET
              ├─ cart: load cart             1.00ms    2.00ms    ███████
              │  │  span 0000000000000002 · client · parent 0000000000000001
              │  └─ cart: SELECT cart_items  1.20ms     850µs     ███
              │        span 0000000000000003 · client · parent 0000000000000002
            * └─ ✗ payments: charge card     4.00ms    5.00ms             ████████████████
                    span 0000000000000004 · client · parent 0000000000000001
                    card.brand=visa
                    http.status_code=402
                    status error: card declined
                    event at 8.50ms: exception (exception.type=CardDeclined)
              ┄ search: suggest              6.00ms    1.50ms                   █████
                 span 0000000000000005 · client · parent 0000000000000099

            * critical path: the spans that determined the trace's duration
            ┄ 1 span whose parent is not in the trace, shown as a root

            """)
    }

    @Test func rowsFillTheWidthExactlyWhenTheBarReachesTheEnd() {
        for width in [60, 80, 100, 157] {
            let lines = WaterfallRenderer(width: width).render(Fixtures.trace).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(Text.width(lines[2]) == width, "timeline header at \(width)")
            #expect(Text.width(lines[3]) == width, "root row at \(width)")
            // Everything but the one-line summary fits.
            #expect(lines.dropFirst().allSatisfy { Text.width($0) <= width })
        }
    }

    @Test func narrowTerminalTruncatesLabelsAndKeepsTheMinimumBar() {
        let output = WaterfallRenderer(width: 40).render(Fixtures.trace)
        let rows = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let row = rows.first { $0.hasPrefix("  │  └─ ") }!
        #expect(row.contains("…"))
        // The bar column still has its minimum width: the root spans all of it.
        let root = rows[3]
        #expect(root.hasSuffix(String(repeating: "█", count: WaterfallRenderer.minimumBarWidth)))
    }

    @Test func colourOnlyWhenAsked() {
        let plain = WaterfallRenderer(width: 80, verbose: true).render(Fixtures.trace)
        #expect(!plain.contains("\u{1B}"))
        let colored = WaterfallRenderer(width: 80, style: Style(enabled: true)).render(Fixtures.trace)
        #expect(colored.contains("\u{1B}[31m████████████████\u{1B}[0m"))  // the failed span's bar in red
        #expect(colored.contains("\u{1B}[1;31m✗\u{1B}[0m"))
        // Colour codes do not change the layout.
        let stripped = colored.replacing(/\u{1B}\[[0-9;]*m/, with: "")
        #expect(stripped == WaterfallRenderer(width: 80).render(Fixtures.trace))
    }

    @Test func hostileNamesCannotDriveTheTerminal() {
        var span = Fixtures.span(1, parent: nil, service: "evil\u{1B}]0;pwned\u{07}", name: "line\nbreak", start: 0, duration: 5)
        span.attributes = ["k\u{1B}[2J": .string("v\r\n")]
        let output = WaterfallRenderer(width: 100, verbose: true).render(QueryAPI.Trace(traceID: Fixtures.traceID, spans: [span]))
        #expect(!output.contains("\u{1B}"))
        #expect(!output.contains("\u{07}"))
        #expect(output.contains("evil\\u{1B}]0;pwned\\u{7}: line\\nbreak"))
        #expect(output.contains("k\\u{1B}[2J=v\\r\\n"))
    }

    @Test func logsSitUnderTheirSpanInTimeOrderAndTheRestAfterTheWaterfall() {
        let output = WaterfallRenderer(width: 80).render(Fixtures.trace, logs: LogsRendererTests.logs.logs)
        #expect(output == """
            trace 4bf92f3577b34da6a3ce929d0e0e4736 · 10.0ms · 5 spans · 4 services · 1 error

              SPAN                            START  DURATION  0s                     10.0ms
            * frontend: GET /checkout            0s    10.0ms  █████████████████████████████
              │  ▸ +7.12ms - frontend: done
              ├─ cart: load cart             1.00ms    2.00ms    ███████
              │  └─ cart: SELECT cart_items  1.20ms     850µs     ███
            * └─ ✗ payments: charge card     4.00ms    5.00ms             ████████████████
                    ▸ +5.12ms ERROR payments: card declined\\nretrying
              ┄ search: suggest              6.00ms    1.50ms                   █████

            logs of no span in this trace:
              ▸ +1.12ms INFO frontend: received GET /checkout
              ▸ +3.12ms warning cart: cart is large

            * critical path: the spans that determined the trace's duration
            ┄ 1 span whose parent is not in the trace, shown as a root

            """)
    }

    @Test func logLinesAreCutToTheWidthAndColouredByLevel() {
        let long = LogsRendererTests.log(5, "payments", 17, "ERROR", String(repeating: "x", count: 200), span: 0x4)
        let output = WaterfallRenderer(width: 60).render(Fixtures.trace, logs: [long])
        let line = output.split(separator: "\n").first { $0.contains("▸") }.map(String.init) ?? ""
        #expect(Text.width(line) == 60)
        #expect(line.hasSuffix("x…"))
        let colored = WaterfallRenderer(width: 60, style: Style(enabled: true)).render(Fixtures.trace, logs: [long])
        #expect(colored.contains("\u{1B}[31mERROR\u{1B}[0m"))
    }

    @Test func criticalPathIsMarkedInTheMargin() {
        let rows = WaterfallRenderer(width: 80).render(Fixtures.trace).split(separator: "\n").map(String.init)
        let marked = rows.filter { $0.hasPrefix("* ") && !$0.contains("critical path") }
        #expect(marked.map { $0.contains("GET /checkout") || $0.contains("charge card") } == [true, true])
        let colored = WaterfallRenderer(width: 80, style: Style(enabled: true)).render(Fixtures.trace)
        #expect(colored.contains("\u{1B}[1;33m*\u{1B}[0m ✗") || colored.contains("\u{1B}[1;33m*\u{1B}[0m"))
    }

    @Test func emptyTraceHasOnlyAHeader() {
        let output = WaterfallRenderer(width: 80).render(QueryAPI.Trace(traceID: Fixtures.traceID, spans: []))
        #expect(output == "trace 4bf92f3577b34da6a3ce929d0e0e4736 · 0s · 0 spans · 0 services · 0 errors\n")
    }

    @Test func zeroDurationTraceStillDrawsEverySpan() {
        let spans = [
            Fixtures.span(1, parent: nil, service: "a", name: "root", start: 0, duration: 0),
            Fixtures.span(2, parent: 1, service: "a", name: "child", start: 0, duration: 0),
        ]
        let output = WaterfallRenderer(width: 60).render(QueryAPI.Trace(traceID: Fixtures.traceID, spans: spans))
        #expect(output == """
            trace 4bf92f3577b34da6a3ce929d0e0e4736 · 0s · 2 spans · 1 service · 0 errors

              SPAN         START  DURATION  0s
            * a: root         0s        0s  █
            * └─ a: child     0s        0s  █

            * critical path: the spans that determined the trace's dura…

            """)
    }
}

@Suite struct BarPlacementTests {
    @Test func fullSpanFillsTheBar() {
        #expect(WaterfallRenderer.bar(offset: 0, duration: 100, total: 100, width: 20) == 0..<20)
    }

    @Test func zeroDurationSpanGetsOneCellAtItsOffset() {
        #expect(WaterfallRenderer.bar(offset: 0, duration: 0, total: 100, width: 20) == 0..<1)
        #expect(WaterfallRenderer.bar(offset: 50, duration: 0, total: 100, width: 20) == 10..<11)
    }

    @Test func spanAtTheVeryEndStaysInsideTheBar() {
        // Zero-length at the end: the last cell, not one past it.
        #expect(WaterfallRenderer.bar(offset: 100, duration: 0, total: 100, width: 20) == 19..<20)
        // A short span ending at the end.
        #expect(WaterfallRenderer.bar(offset: 99, duration: 1, total: 100, width: 20) == 19..<20)
        // A span claiming to run past the trace's end is clipped.
        #expect(WaterfallRenderer.bar(offset: 90, duration: 500, total: 100, width: 20) == 18..<20)
        #expect(WaterfallRenderer.bar(offset: 500, duration: 5, total: 100, width: 20) == 19..<20)
    }

    @Test func partialCellsRoundOutwards() {
        // 25..<35 of 100 in 10 cells: starts in cell 2, ends in cell 3.
        #expect(WaterfallRenderer.bar(offset: 25, duration: 10, total: 100, width: 10) == 2..<4)
        // Tiny span in a huge trace is still visible.
        #expect(WaterfallRenderer.bar(offset: 1_000, duration: 1, total: 1_000_000_000, width: 50) == 0..<1)
    }

    @Test func zeroLengthTrace() {
        #expect(WaterfallRenderer.bar(offset: 0, duration: 0, total: 0, width: 10) == 0..<1)
    }
}

@Suite struct TraceTreeTests {
    @Test func treeOrderSortsChildrenByStartAndKeepsOrphansAsRoots() {
        let tree = TraceTree(spans: Fixtures.trace.spans)
        #expect(tree.rows.map(\.span.spanID.value) == [1, 2, 3, 4, 5])
        #expect(tree.rows.map(\.depth) == [0, 1, 2, 1, 0])
        #expect(tree.rows.map(\.isOrphan) == [false, false, false, false, true])
        #expect(tree.durationNanos == 10_000_000)
    }

    @Test func parentCyclesAndDuplicatesLoseNoSpan() {
        let spans = [
            Fixtures.span(1, parent: 2, service: "a", name: "x", start: 0, duration: 10),
            Fixtures.span(2, parent: 1, service: "a", name: "y", start: 1, duration: 10),
            Fixtures.span(3, parent: 3, service: "a", name: "self", start: 2, duration: 10),
            Fixtures.span(4, parent: nil, service: "a", name: "dup", start: 3, duration: 10),
            Fixtures.span(4, parent: nil, service: "a", name: "dup", start: 3, duration: 10),
        ]
        let tree = TraceTree(spans: spans)
        #expect(tree.rows.count == 5)
        #expect(Set(tree.rows.map(\.span.spanID.value)) == [1, 2, 3, 4])
    }

    @Test func deepTracesDoNotOverflowTheStack() throws {
        let spans: [QueryAPI.Span] = (1...20_000).map { (index: UInt64) in
            let parent: UInt64? = index == 1 ? nil : index - 1
            return Fixtures.span(index, parent: parent, service: "s", name: "n", start: index, duration: 1)
        }
        let tree = TraceTree(spans: spans)
        #expect(tree.rows.count == 20_000)
        #expect(tree.rows.last?.depth == 19_999)
        // A row's tree columns stop at 64 levels, so each row of a deep chain costs the same
        // (uncapped, this test took 5.8 s instead of 0.7 s in a debug build: every row copied its depth).
        #expect(tree.rows.map(\.continuing.count).max() == TraceTree.maxDrawnLevels)
        // The waterfall counts the levels it does not draw: depth 99 draws 64 and says +34.
        let renderer = WaterfallRenderer(width: 1_000)
        let hundredth = try #require(TraceTree(spans: Array(spans.prefix(100))).rows.last)
        #expect(renderer.treePrefix(hundredth).hasSuffix("+34 └─ "), "\(renderer.treePrefix(hundredth))")
    }
}
