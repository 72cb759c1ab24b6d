import Foundation
import PeriscopeModel
@testable import PeriscopeCLI
import PeriscopeQueryAPI
import Testing

@Suite struct TraceListRendererTests {
    static func summary(_ hex: String, offsetMillis: UInt64, root: (String, String)?, duration: UInt64, spans: Int, errors: Int) -> QueryAPI.TraceSummary {
        QueryAPI.TraceSummary(
            traceID: TraceID(hex: hex)!, startTimeUnixNano: Fixtures.t0 + offsetMillis * 1_000_000 + 123_456,
            durationNanos: duration, rootService: root?.0, rootName: root?.1, spanCount: spans, errorCount: errors,
            services: ["cart", "frontend"])
    }

    static let list = QueryAPI.TraceList(traces: [
        summary("4bf92f3577b34da6a3ce929d0e0e4736", offsetMillis: 5_123, root: ("frontend", "GET /checkout"), duration: 10_000_000, spans: 5, errors: 1),
        summary("00f067aa0ba902b700f067aa0ba902b7", offsetMillis: 2_000, root: ("frontend", "GET /"), duration: 1_230_000_000, spans: 12, errors: 0),
        summary("abcdef0123456789abcdef0123456789", offsetMillis: 0, root: nil, duration: 850, spans: 1, errors: 0),
    ])

    @Test func tableWithShortIDs() {
        #expect(TraceListRenderer(width: 100).render(Self.list) == """
            TIME (UTC)          ROOT                                DURATION  SPANS  ERRORS  TRACE
            05-01 12:00:05.123  frontend: GET /checkout               10.0ms      5       1  4bf92f3577b3
            05-01 12:00:02.000  frontend: GET /                        1.23s     12       0  00f067aa0ba9
            05-01 12:00:00.000  (root not received) cart, frontend     850ns      1       0  abcdef012345

            """)
    }

    @Test func verboseShowsWholeIDsAndNarrowTerminalsCutTheRoot() {
        let output = TraceListRenderer(width: 80, verbose: true).render(Self.list)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines[1].hasSuffix("4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(lines.allSatisfy { Text.width($0) <= 96 })  // the 12-column root minimum
        #expect(lines[3].contains("(root not r…"))
        // 71 columns is the narrowest the table gets (a 12-column root); wider fits exactly.
        for width in [72, 80, 100] {
            #expect(TraceListRenderer(width: width).render(Self.list).split(separator: "\n").allSatisfy { Text.width(String($0)) <= width })
        }
    }

    @Test func errorsAreRedOnlyWithColour() {
        let colored = TraceListRenderer(width: 100, style: Style(enabled: true)).render(Self.list)
        #expect(colored.contains("\u{1B}[1;31m     1\u{1B}[0m"))
        #expect(!colored.contains("\u{1B}[1;31m     0"))
        #expect(colored.replacing(/\u{1B}\[[0-9;]*m/, with: "") == TraceListRenderer(width: 100).render(Self.list))
    }

    @Test func shortTimestamps() {
        #expect(Timestamp.short(unixNanos: Fixtures.t0 + 45_678_999_999) == "05-01 12:00:45.678")
        #expect(Timestamp.short(unixNanos: 0) == "01-01 00:00:00.000")
    }
}

@Suite struct ServicesRendererTests {
    @Test func treeWithAlignedKinds() {
        let services = QueryAPI.Services(services: [
            .init(name: "inventory", operations: [.init(name: "db.query", kind: "internal"), .init(name: "GET /inventory/:sku", kind: "server")]),
            .init(name: "checkout", operations: [.init(name: "POST /checkout", kind: "server")]),
            .init(name: "idle", operations: []),
        ])
        #expect(ServicesRenderer(width: 80).render(services) == """
            checkout  1 operation
            └─ POST /checkout       server
            idle  no operations
            inventory  2 operations
            ├─ GET /inventory/:sku  server
            └─ db.query             internal

            """)
    }
}

@Suite struct DependencyTreeTests {
    static func edge(_ caller: String, _ callee: String, _ calls: Int, _ errors: Int = 0) -> QueryAPI.Dependency {
        QueryAPI.Dependency(caller: caller, callee: callee, calls: calls, errors: errors)
    }

    @Test func treeFromTheRootsWithACycle() {
        let deps = QueryAPI.Dependencies(edges: [
            Self.edge("frontend", "checkout", 80, 2),
            Self.edge("frontend", "cart", 120),
            Self.edge("checkout", "payments", 80, 10),
            Self.edge("payments", "frontend", 3),
            Self.edge("cart", "db", 400, 1),
            Self.edge("checkout", "cart", 40),
            Self.edge("loadgen", "frontend", 200),
        ])
        #expect(DependencyTreeRenderer(width: 100).render(deps) == """
            loadgen
            └─ frontend                     200 calls     0% errors
               ├─ cart                      120 calls     0% errors
               │  └─ db                     400 calls   0.3% errors
               └─ checkout                   80 calls   2.5% errors
                  ├─ cart                    40 calls     0% errors  (its calls are shown above)
                  └─ payments                80 calls  12.5% errors
                     └─ ↺ frontend (cycle)    3 calls     0% errors

            """)
    }

    @Test func aGraphThatIsOnlyACycleStillShowsEveryEdge() {
        let deps = QueryAPI.Dependencies(edges: [Self.edge("b", "a", 1), Self.edge("a", "b", 2, 1), Self.edge("c", "c", 5)])
        let rows = DependencyTreeRenderer.rows(deps)
        // c only calls itself, so nothing else calls it: a root, with its self-call a cycle. a and b
        // call each other: a tree of their own from the first.
        #expect(rows.map { $0.prefix + $0.name } == ["c", "└─ c", "a", "└─ b", "   └─ a"])
        #expect(rows.map(\.isCycle) == [false, true, false, false, true])
        let text = DependencyTreeRenderer().render(deps)
        #expect(text.contains("└─ ↺ c (cycle)     5 calls     0% errors"))
        #expect(text.contains("└─ b               2 calls  50.0% errors"))
    }

    @Test func percentages() {
        #expect(DependencyTreeRenderer.percent(errors: 0, calls: 0) == "0%")
        #expect(DependencyTreeRenderer.percent(errors: 1, calls: 3) == "33.3%")
        #expect(DependencyTreeRenderer.percent(errors: 1, calls: 10_000) == "<0.1%")
        #expect(DependencyTreeRenderer.percent(errors: 5, calls: 5) == "100.0%")
    }

    @Test("numbers from a server's answer that no Int holds print instead of trapping")
    func numbersPastInt() {
        #expect(DependencyTreeRenderer.percent(errors: .max, calls: 1) == "9.22337e+20%")
        // In colour, the traffic's steps with failures are red; plain, the same blocks without escapes.
        let row = QueryAPI.SignalRow(service: "checkout", operation: nil, requests: 30, requestsPerSecond: 1, errors: 2, errorRatio: 0.07,
                                     errorTypes: [:], latency: nil, failureLatency: nil, saturation: nil, series: [10, 10, 10], errorSeries: [0, 2, 0])
        let signals = QueryAPI.Signals(startTimeUnixNano: 0, endTimeUnixNano: 1, seriesStepSeconds: 60, rows: [row])
        let colored = SignalsRenderer(width: 100, style: Style(enabled: true)).render(signals)
        #expect(colored.contains("█\u{1B}[31m█\u{1B}[0m█"), "\(colored.debugDescription)")
        #expect(SignalsRenderer(width: 100).render(signals).contains("███") && !SignalsRenderer(width: 100).render(signals).contains("\u{1B}"))
        #expect(Sparkline.failedColumns([1], of: [1, 2], width: 16).isEmpty, "an older collector's answer: nothing marked")
        #expect(SignalsRenderer.rate(.infinity) == "inf/s")
        #expect(SignalsRenderer.rate(1e300) == "1e+300/s")
        #expect(SLORenderer.count(.infinity) == "inf" && SLORenderer.count(-.infinity) == "-inf" && SLORenderer.count(.nan) == "nan")
        #expect(SLORenderer.count(1e19) == "1e+19" && SLORenderer.count(12) == "12" && SLORenderer.count(2.5) == "2.5")
        #expect(SLORenderer.number(.infinity) == "inf" && SLORenderer.number(1e19) == "1e+19" && SLORenderer.number(250) == "250")
        #expect(SLORenderer.objective(.infinity) == "inf%" && SLORenderer.objective(1e20) == "1e+20%" && SLORenderer.objective(99.9) == "99.9%")
    }
}

@Suite struct RequestRendererTests {
    @Test func summaryLogsThenWaterfalls() {
        let document = RequestDocument(correlationID: "req-42", logs: LogsRendererTests.logs.logs, traces: [Fixtures.trace])
        let output = RequestRenderer(width: 80).render(document)
        #expect(output.hasPrefix("""
            request req-42 · 4 log lines · 4 services · 1 trace

            LOGS
            2024-05-01T12:00:00.001Z  frontend  INFO     received GET /checkout  trace=4bf92f35 span=00f067aa0ba902b7

            """))
        #expect(output.contains("\n\ntrace 4bf92f3577b34da6a3ce929d0e0e4736 · 10.0ms"))
    }

    @Test func jsonShapeIsStable() throws {
        let document = RequestDocument(correlationID: "req-42", logs: [], traces: [])
        #expect(try JSONOutput.string(document) == """
            {
              "correlationID" : "req-42",
              "logs" : [

              ],
              "logsTruncated" : false,
              "traces" : [

              ],
              "tracesTruncated" : false
            }

            """)
    }
}

@Suite struct FollowTests {
    static func log(_ nanos: UInt64, _ body: String) -> QueryAPI.Log {
        QueryAPI.Log(
            timeUnixNano: nanos, observedTimeUnixNano: 0, service: "s", severityNumber: 9, severityText: "INFO",
            body: .string(body), attributes: [:], traceID: nil, spanID: nil)
    }

    @Test func newLinesOnlyAndEqualTimestampsDeduplicated() {
        var follower = LogFollower(filter: LogFilter(service: "s", range: TimeRange(startUnixNano: 10, endUnixNano: nil), limit: 100, newestFirst: true))
        #expect(follower.nextFilter().range.startUnixNano == 10)
        #expect(follower.begin([Self.log(200, "b"), Self.log(100, "a")]).map(\.body) == [.string("a"), .string("b")])
        let next = follower.nextFilter()
        #expect(next.range.startUnixNano == 200)
        #expect(next.newestFirst == false)
        #expect(next.limit == 10_000)
        // The inclusive range returns "b" again, plus a new line at the same nanosecond.
        #expect(follower.accept([Self.log(200, "b"), Self.log(200, "c"), Self.log(300, "d")]).map(\.body) == [.string("c"), .string("d")])
        #expect(follower.accept([Self.log(300, "d")]).isEmpty)
        // Older than what was printed but newer than the first lines shown: it arrived late, and is shown once.
        #expect(follower.accept([Self.log(250, "late"), Self.log(300, "d")]).map(\.body) == [.string("late")])
        #expect(follower.accept([Self.log(250, "late")]).isEmpty)
        // Older than the first lines shown: it was there to be shown then.
        #expect(follower.accept([Self.log(150, "before the start")]).isEmpty)
        #expect(follower.windowStartUnixNano == 200)
        // Most polls ask from the newest time printed; every tenth asks for the whole window again.
        let starts = (0..<20).map { _ in follower.nextFilter().range.startUnixNano }
        #expect(starts.filter { $0 == 200 }.count == 2 && starts.filter { $0 == 300 }.count == 18, "\(starts)")
    }

    @Test("a poll cut by the collector's read budget moves the polls on from its bound, though nothing matched")
    func cutPollsMoveOn() {
        let second: UInt64 = 1_000_000_000
        var follower = LogFollower(filter: LogFilter(contains: "rare", range: TimeRange(startUnixNano: 10 * second, endUnixNano: nil)))
        #expect(follower.begin([]).isEmpty)
        #expect(follower.nextFilter().range.startUnixNano == 10 * second, "nothing printed, nothing cut: from --since")
        // A poll read every record before 500 s and found nothing: the next reads on from there.
        follower.searched(before: 500 * second)
        #expect(follower.nextFilter(after: 500 * second).range.startUnixNano == 500 * second)
        #expect(follower.nextFilter().range.startUnixNano == 500 * second, "later polls do not ask the same records again")
        #expect(follower.windowStartUnixNano == 470 * second)
        // A line printed later than the bound moves the polls past it; an earlier bound moves nothing back.
        #expect(follower.accept([Self.log(600 * second, "rare")]).count == 1)
        follower.searched(before: 400 * second)
        #expect(follower.nextFilter().range.startUnixNano == 600 * second)
        follower.searched(before: 700 * second)
        #expect(follower.nextFilter().range.startUnixNano == 700 * second)
        // A bound in a fast clock's future holds the polls back no later than now.
        follower.searched(before: 90_000 * second, nowUnixNano: 800 * second)
        #expect(follower.nextFilter().range.startUnixNano == 800 * second)
        // The first answer cut newest first: nothing after its bound matched; polls start there,
        // and a record before it is not late (it was there to be searched): never printed.
        var fresh = LogFollower(filter: LogFilter(contains: "rare", range: TimeRange(startUnixNano: 10 * second, endUnixNano: nil)))
        #expect(fresh.begin([], searchedAfter: 900 * second, nowUnixNano: 1_000 * second).isEmpty)
        #expect(fresh.nextFilter().range.startUnixNano == 900 * second)
        #expect(fresh.windowStartUnixNano == 900 * second, "the floor: not 30 s before the bound")
        #expect(fresh.accept([Self.log(890 * second, "rare"), Self.log(900 * second, "rare at the bound")]).map(\.body) == [.string("rare at the bound")])
    }

    @Test("a record holding a NaN (not equal to itself) is printed once, not on every poll")
    func nanRecordsOnce() {
        var follower = LogFollower(filter: LogFilter(range: TimeRange(startUnixNano: nil, endUnixNano: nil)))
        var record = Self.log(100, "nan")
        record.body = .double(.nan)
        #expect(follower.begin([Self.log(50, "first")]).count == 1)
        #expect(follower.accept([record]).count == 1)
        #expect(follower.accept([record]).isEmpty)
        #expect(follower.accept([record, Self.log(120, "next")]).count == 1)
    }

    @Test("equal records are different lines: each is printed once, however often polls return them")
    func equalRecordsEachOnce() {
        var follower = LogFollower(filter: LogFilter(range: TimeRange(startUnixNano: nil, endUnixNano: nil)))
        let retry = Self.log(100, "retrying connection to db")
        #expect(follower.begin([Self.log(50, "first")]).count == 1)
        #expect(follower.accept([retry]).count == 1)
        // The poll from the newest time returns the first again and a second, equal one: one more line.
        #expect(follower.accept([retry, retry]).count == 1)
        #expect(follower.accept([retry, retry]).isEmpty)
        // Three in one answer, one of them new; then a page cut after two of four, read on in full.
        #expect(follower.accept([retry, retry, retry]).count == 1)
        let later = Self.log(200, "same second, same text")
        #expect(follower.accept([later, later]).count == 2)
        #expect(follower.accept([later, later, later, later]).count == 2)
        #expect(follower.accept([retry, retry, retry, later, later, later, later]).isEmpty)
        #expect(follower.rememberedCount == 3)
    }

    @Test("what was printed is forgotten once it falls out of the window")
    func memoryStaysWithTheWindow() {
        let second: UInt64 = 1_000_000_000
        var follower = LogFollower(filter: LogFilter(range: TimeRange(startUnixNano: nil, endUnixNano: nil)))
        #expect(follower.begin([Self.log(second, "first")]).count == 1)
        for step in 1...1_000 {
            #expect(follower.accept([Self.log(second + UInt64(step) * second, "line \(step)")]).count == 1)
        }
        // The window is 30 s of one line a second: the first and the other 969 are forgotten.
        #expect(follower.rememberedCount == 31, "\(follower.rememberedCount)")
    }

    @Test("a record that reaches the collector up to 30 s after newer ones is still shown, once; past the window it is not, and what was printed is forgotten")
    func lateRecordsWithinTheWindow() {
        let second: UInt64 = 1_000_000_000
        let t0 = 1_000 * second
        var follower = LogFollower(filter: LogFilter(range: TimeRange(startUnixNano: nil, endUnixNano: nil)))
        #expect(follower.begin([Self.log(t0, "first")]).count == 1)
        // 40 s of lines, one a second, each poll returning the whole window again.
        var window: [QueryAPI.Log] = []
        for step in 1...40 {
            window.append(Self.log(t0 + UInt64(step) * second, "line \(step)"))
            let start = follower.nextFilter().range.startUnixNano ?? 0
            let answer = window.filter { $0.timeUnixNano >= start }
            #expect(follower.accept(answer).map(\.body) == [.string("line \(step)")], "step \(step)")
        }
        #expect(follower.windowStartUnixNano == t0 + 10 * second)
        // Late by 20 s: shown, once. Late by 31 s: past the window.
        #expect(follower.accept([Self.log(t0 + 20 * second + 1, "late 20 s")]).count == 1)
        #expect(follower.accept([Self.log(t0 + 20 * second + 1, "late 20 s")]).isEmpty)
        #expect(follower.accept([Self.log(t0 + 9 * second, "late 31 s")]).isEmpty)
    }
}

@Suite struct QueryStringTests {
    @Test func valuesArePercentEncoded() {
        #expect(QueryClient.queryString([]) == "")
        #expect(QueryClient.queryString([("attr", "http.route=/a b&c"), ("contains", "50% off+µ")])
            == "?attr=http.route%3D%2Fa%20b%26c&contains=50%25%20off%2B%C2%B5")
    }

    @Test func filtersBecomeTheCollectorsParameters() throws {
        let command = try #require(try Periscope.parseAsRoot([
            "traces", "--service", "checkout", "--kind", "SERVER", "--attr", "a=1", "--attr", "b=2", "--status", "error",
            "--min-duration", "250ms", "--max-trace-duration", "2s", "--since", "1h", "--limit", "5",
        ]) as? TracesCommand)
        let filter = try command.filter(nowUnixNano: Fixtures.t0)
        #expect(filter.queryItems.map { "\($0.0)=\($0.1)" } == [
            "service=checkout", "kind=server", "attr=a=1", "attr=b=2", "status=error", "min_duration=250000000",
            "max_trace_duration=2000000000", "start=\(Fixtures.t0 - 3_600_000_000_000)", "limit=5",
        ])
    }

    @Test func logsDefaultToTheLast24HoursOnlyWithoutAnID() throws {
        let plain = try #require(try Periscope.parseAsRoot(["logs", "--service", "s", "--level", "WARNING", "--grep", "x"]) as? LogsCommand)
        let filter = try plain.filter(nowUnixNano: Fixtures.t0)
        #expect(filter.range.startUnixNano == Fixtures.t0 - 86_400_000_000_000)
        #expect(filter.level == "warn")
        #expect(filter.limit == 100)
        let byRequest = try #require(try Periscope.parseAsRoot(["logs", "--correlation", "req-42"]) as? LogsCommand)
        #expect(try byRequest.filter(nowUnixNano: Fixtures.t0).range == .unbounded)
        #expect(try byRequest.filter(nowUnixNano: Fixtures.t0).limit == 1000)
    }

    @Test func badFlagsAreRejectedBeforeAnyRequest() {
        for args in [
            ["traces", "--kind", "weird"], ["traces", "--status", "bad"], ["traces", "--attr", "novalue"], ["traces", "--attr", "=v"],
            ["traces", "--min-duration", "fast"], ["traces", "--limit", "0"], ["traces", "--limit", "10001"],
            ["logs", "--level", "loud"], ["logs", "--follow", "--until", "1h"], ["request", " "],
        ] {
            #expect(throws: (any Error).self, "\(args)") { try Periscope.parseAsRoot(args) }
        }
    }
}

@Suite struct TraceReferenceTests {
    @Test func prefixesOfAtLeastEightHexDigits() throws {
        #expect(try TraceReference.parse("4BF92F35") == .prefix("4bf92f35"))
        #expect(try TraceReference.parse("4bf92f3577b3") == .prefix("4bf92f3577b3"))
        #expect(try TraceReference.parse(Fixtures.traceID.hex) == .id(Fixtures.traceID))
        #expect(try TraceReference.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == .id(Fixtures.traceID))
        #expect(throws: QueryError("'4bf92' is too short a trace ID prefix: give at least 8 of its 32 hex digits")) {
            try TraceReference.parse("4bf92")
        }
        #expect(throws: QueryError.self) { try TraceReference.parse("not-an-id") }
    }
}
