import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// The real `periscope` binary against a real collector holding a known data set: human
/// output (key lines, snapshot-style), `--json` documents, error cases, `--follow`, and the
/// colour/width logic on a pseudo-terminal (tmux) versus a pipe.
@Suite("periscope CLI against a real collector")
struct CLITests {
    // MARK: - The data set

    static let checkoutTrace = TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")!
    static let homeTrace = TraceID(hex: "abcdef01111111111111111111111111")!
    static let refundTrace = TraceID(hex: "abcdef01222222222222222222222222")!
    static let ms: UInt64 = 1_000_000

    /// `request RequestDocument` as the CLI prints it (the CLI's own type is in an executable).
    struct RequestDocument: Decodable {
        var correlationID: String
        var logs: [QueryAPI.Log]
        var traces: [QueryAPI.Trace]
        var logsTruncated: Bool
        var logsResumeUnixNano: UInt64?
        var tracesTruncated: Bool
    }

    static func span(
        _ trace: TraceID, _ id: UInt64, parent: UInt64?, _ name: String, kind: Span.Kind, base: UInt64, from: UInt64, to: UInt64,
        error: String? = nil, attributes: [Attribute] = []
    ) -> Span {
        Span(
            traceID: trace, spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), name: name, kind: kind,
            startTimeUnixNano: base + from * ms, endTimeUnixNano: base + to * ms, attributes: attributes,
            status: error.map { Span.Status(code: .error, message: $0) } ?? Span.Status())
    }

    static func spans(_ service: String, _ spans: [Span]) -> ResourceSpans {
        ResourceSpans(resource: Resource(serviceName: service), scopes: [ScopeSpans(spans: spans)])
    }

    /// Three traces two minutes ago:
    /// - checkout (4bf92f35…, 100 ms): frontend GET /checkout → frontend client → checkout
    ///   POST /checkout → (validate cart, payments charge card ✗); correlation ID req-42;
    /// - home (abcdef0111…, 5 ms): frontend GET /home → cart GET /cart;
    /// - refund (abcdef0122…, 40 ms): admin POST /refund → payments refund → frontend POST /notify,
    ///   which closes the cycle frontend → checkout → payments → frontend.
    static func traces(base: UInt64) -> [UInt8] {
        let a = checkoutTrace, b = homeTrace, c = refundTrace
        let homeBase = base + 10_000 * ms, refundBase = base + 20_000 * ms
        return OTLPEncoder.encode(.traces([
            spans("frontend", [
                span(a, 1, parent: nil, "GET /checkout", kind: .server, base: base, from: 0, to: 100,
                     attributes: [Attribute("correlation_id", .string("req-42")), Attribute("http.route", .string("/checkout"))]),
                span(a, 2, parent: 1, "POST checkout", kind: .client, base: base, from: 5, to: 95),
                span(b, 0x11, parent: nil, "GET /home", kind: .server, base: homeBase, from: 0, to: 5),
                span(c, 0x23, parent: 0x22, "POST /notify", kind: .server, base: refundBase, from: 10, to: 30),
            ]),
            spans("checkout", [
                span(a, 3, parent: 2, "POST /checkout", kind: .server, base: base, from: 10, to: 90),
                span(a, 4, parent: 3, "validate cart", kind: .internal, base: base, from: 12, to: 20),
            ]),
            spans("payments", [
                span(a, 5, parent: 3, "charge card", kind: .server, base: base, from: 30, to: 85, error: "card declined"),
                span(c, 0x22, parent: 0x21, "refund", kind: .server, base: refundBase, from: 5, to: 35),
            ]),
            spans("cart", [span(b, 0x12, parent: 0x11, "GET /cart", kind: .server, base: homeBase, from: 1, to: 4)]),
            spans("admin", [span(c, 0x21, parent: nil, "POST /refund", kind: .server, base: refundBase, from: 0, to: 40)]),
        ]))
    }

    static func log(
        _ service: String, _ at: UInt64, _ severity: Severity, _ text: String, trace: TraceID?, span: UInt64?, correlation: String?
    ) -> ResourceLogs {
        ResourceLogs(resource: Resource(serviceName: service), scopes: [ScopeLogs(records: [LogRecord(
            timeUnixNano: at, severityNumber: severity, body: .string(text),
            attributes: correlation.map { [Attribute("correlation_id", .string($0))] } ?? [],
            traceID: trace, spanID: span.map(SpanID.init))])])
    }

    static func logs(base: UInt64) -> [UInt8] {
        OTLPEncoder.encode(.logs([
            log("frontend", base + 1 * ms, .info, "received GET /checkout", trace: checkoutTrace, span: 1, correlation: "req-42"),
            log("checkout", base + 15 * ms, .info, "validating cart", trace: checkoutTrace, span: 4, correlation: "req-42"),
            log("payments", base + 80 * ms, .error, "card declined", trace: checkoutTrace, span: 5, correlation: "req-42"),
            log("batch", base + 50_000 * ms, .warn, "disk almost full", trace: nil, span: nil, correlation: nil),
        ]))
    }

    static func post(_ path: String, _ body: [UInt8], to collector: CollectorProcess) async throws {
        let reply = try await TestHTTP.post(collector.url + path, body: body, headers: [
            "Content-Type": "application/x-protobuf", "Authorization": "Bearer \(collector.token)",
        ])
        try #require(reply.status == 200, "ingest \(path): \(reply.status) \(reply.text)")
    }

    /// A collector holding the data set, queryable.
    static func collectorWithData(_ directory: TemporaryDirectory, extraArguments: [String] = []) async throws -> CollectorProcess {
        let collector = try await CollectorProcess.start(in: directory, extraArguments: extraArguments)
        let base = (WallClock.nowUnixNano() - 120_000 * ms) / ms * ms
        try await post("/v1/traces", traces(base: base), to: collector)
        try await post("/v1/logs", logs(base: base), to: collector)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let result = try await QueryCLI.run(["logs", "--service", "batch", "--json"], collector: collector)
            let trace = try await QueryCLI.run(["trace", refundTrace.hex, "--json"], collector: collector)
            if result.standardOutput.contains("disk almost full"), trace.exitCode == 0 { return collector }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw RunningProcess.StartError(description: "the data set did not become queryable")
    }

    /// 40 requests of 20 log records of service `grep` (a block each), record n timed
    /// `secondsApart` × n after half an hour ago, with `body(n)`.
    static func postLogBlocks(
        to collector: CollectorProcess, secondsApart: UInt64, attributes: [Attribute] = [], body: (Int) -> String
    ) async throws {
        let base = (WallClock.nowUnixNano() - 1_800_000 * ms) / ms * ms
        for request in 0..<40 {
            let records = (0..<20).map { index in
                let n = request * 20 + index
                return LogRecord(timeUnixNano: base + UInt64(n) * secondsApart * 1_000 * ms, severityNumber: .info, body: .string(body(n)), attributes: attributes)
            }
            try await post("/v1/logs", OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: "grep"), scopes: [ScopeLogs(records: records)])])), to: collector)
        }
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    static func run(_ args: [String], _ collector: CollectorProcess) async throws -> QueryCLI.Result {
        try await QueryCLI.run(args + ["--color", "never"], collector: collector, environment: ["COLUMNS": "100"])
    }

    // MARK: - Commands

    @Test("traces: table newest first, filters, -v, JSON, empty result")
    func traces() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await Self.collectorWithData(directory)
        defer { Task { await collector.process.stop() } }

        let table = try await Self.run(["traces"], collector)
        #expect(table.exitCode == 0, "\(table.standardError)")
        let lines = Self.lines(table.standardOutput)
        #expect(lines[0] == "TIME (UTC)          ROOT                     DURATION  SPANS  ERRORS  TRACE")
        #expect(lines.count == 5 && lines[4].isEmpty, "\(table.standardOutput)")
        #expect(lines[1].hasSuffix("  admin: POST /refund        40.0ms      3       0  abcdef012222"))
        #expect(lines[2].hasSuffix("  frontend: GET /home        5.00ms      2       0  abcdef011111"))
        #expect(lines[3].hasSuffix("  frontend: GET /checkout     100ms      5       1  4bf92f3577b3"))
        #expect(lines[1...3].allSatisfy { $0.wholeMatch(of: /\d\d-\d\d \d\d:\d\d:\d\d\.\d\d\d  .*/) != nil })

        let verbose = try await Self.run(["traces", "-v", "--service", "payments", "--status", "error"], collector)
        #expect(Self.lines(verbose.standardOutput).filter { !$0.isEmpty }.count == 2)
        #expect(verbose.standardOutput.contains(Self.checkoutTrace.hex))

        let json = try await QueryCLI.json(QueryAPI.TraceList.self, ["traces"], collector: collector)
        #expect(json.traces.map(\.traceID) == [Self.refundTrace, Self.homeTrace, Self.checkoutTrace])
        #expect(json.traces.last?.errorCount == 1 && json.traces.last?.spanCount == 5)

        for (args, expected) in [
            (["--attr", "correlation_id=req-42"], [Self.checkoutTrace]),
            (["--service", "frontend", "--kind", "server", "--min-duration", "50ms"], [Self.checkoutTrace]),
            (["--operation", "GET /cart"], [Self.homeTrace]),
            (["--min-trace-duration", "10ms", "--max-trace-duration", "50ms"], [Self.refundTrace]),
            (["--limit", "1"], [Self.refundTrace]),
        ] as [([String], [TraceID])] {
            let found = try await QueryCLI.json(QueryAPI.TraceList.self, ["traces"] + args, collector: collector)
            #expect(found.traces.map(\.traceID) == expected, "\(args)")
        }

        let none = try await Self.run(["traces", "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z"], collector)
        #expect(none.exitCode == 0)
        #expect(none.standardOutput.isEmpty)
        #expect(none.standardError == "periscope: no traces match in that time range\n")
    }

    @Test("trace: waterfall with critical path, --logs, ID prefixes")
    func traceWaterfall() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await Self.collectorWithData(directory)
        defer { Task { await collector.process.stop() } }

        let result = try await Self.run(["trace", "4bf92f35", "--logs"], collector)
        #expect(result.exitCode == 0, "\(result.standardError)")
        let lines = Self.lines(result.standardOutput)
        #expect(lines[0] == "trace 4bf92f3577b34da6a3ce929d0e0e4736 · 100ms · 5 spans · 3 services · 1 error")
        #expect(lines[2].hasPrefix("  SPAN "))
        #expect(lines.filter { !$0.isEmpty }.allSatisfy { Columns.fits($0) }, "\(result.standardOutput)")
        let expectedStarts = [
            "* frontend: GET /checkout",
            "  │  ▸ +1.00ms INFO frontend: received GET /checkout",
            "* └─ frontend: POST checkout",
            "*    └─ checkout: POST /checkout",
            "        ├─ checkout: validate cart",
            "        │     ▸ +15.0ms INFO checkout: validating cart",
            "*       └─ ✗ payments: charge card",
            "              ▸ +80.0ms ERROR payments: card declined",
            "",
            "* critical path: the spans that determined the trace's duration",
        ]
        for (line, start) in zip(lines[3...], expectedStarts) {
            #expect(line.hasPrefix(start), "'\(line)' should start with '\(start)'")
        }

        let ambiguous = try await Self.run(["trace", "abcdef01"], collector)
        #expect(ambiguous.exitCode == 1)
        #expect(ambiguous.standardError == "periscope: abcdef01 is ambiguous: 2 traces start with it — give more digits\n")
        let unique = try await QueryCLI.json(QueryAPI.Trace.self, ["trace", "ABCDEF0111"], collector: collector)
        #expect(unique.traceID == Self.homeTrace)
        let missing = try await Self.run(["trace", "ffffffff00"], collector)
        #expect(missing.exitCode == 1)
        #expect(missing.standardError == "periscope: no trace starts with ffffffff00\n")
    }

    @Test("trace --stats: where the time went per service and operation; compare: two traces call by call")
    func statisticsAndComparison() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await Self.collectorWithData(directory)
        defer { Task { await collector.process.stop() } }

        let stats = try await Self.run(["trace", "4bf92f35", "--stats"], collector)
        #expect(stats.exitCode == 0, "\(stats.standardError)")
        let lines = Self.lines(stats.standardOutput)
        #expect(lines[0] == "trace 4bf92f3577b34da6a3ce929d0e0e4736  100ms  5 spans")
        #expect(lines[1].hasPrefix("SERVICE ") && lines[1].hasSuffix("SELF%"))
        // checkout POST /checkout (10–90 ms) runs validate cart (12–20) and charge card (30–85): 17 ms of its own.
        #expect(lines[2].hasPrefix("payments  charge card") && lines[2].hasSuffix("55.0ms  55.0%"), "\(stats.standardOutput)")
        #expect(lines.contains { $0.hasPrefix("checkout  POST /checkout") && $0.hasSuffix("17.0ms  17.0%") }, "\(stats.standardOutput)")
        #expect(lines.filter { !$0.isEmpty }.allSatisfy { Columns.fits($0) }, "\(stats.standardOutput)")
        struct Statistics: Decodable {
            struct Row: Decodable { var selfNanos: UInt64 }
            var rows: [Row]
        }
        let json = try await QueryCLI.json(Statistics.self, ["trace", "4bf92f35", "--stats"], collector: collector)
        #expect(json.rows.count == 5 && json.rows.map(\.selfNanos).reduce(0, +) == 100_000_000, "self times add up to the trace's 100 ms: one chain of calls")
        let both = try await Self.run(["trace", "4bf92f35", "--stats", "--logs"], collector)
        #expect(both.exitCode == 64 && both.standardError.contains("--stats"))

        let compared = try await Self.run(["compare", "4bf92f35", Self.homeTrace.hex], collector)
        #expect(compared.exitCode == 0, "\(compared.standardError)")
        let rows = Self.lines(compared.standardOutput)
        #expect(rows[0] == "A 4bf92f3577b34da6a3ce929d0e0e4736  100ms  5 spans")
        #expect(rows[1].hasPrefix("B abcdef01111111111111111111111111  5.00ms  2 spans  -95.0ms"), "\(rows[1])")
        #expect(rows.contains { $0.hasPrefix("- frontend: GET /checkout") && $0.hasSuffix("only in A") })
        #expect(rows.contains { $0.hasPrefix("+ frontend: GET /home") && $0.hasSuffix("only in B") })
        #expect(rows.contains { $0.hasPrefix("+   cart: GET /cart") })
        let alias = try await Self.run(["diff", "4bf92f35", "4bf92f35", "--json"], collector)
        #expect(alias.exitCode == 0, "\(alias.standardError)")
        struct Comparison: Decodable {
            struct Row: Decodable { var path: [String]; var spansA: Int; var spansB: Int; var totalNanosA: UInt64; var totalNanosB: UInt64 }
            var rows: [Row]
        }
        let same = try alias.decode(Comparison.self)
        #expect(same.rows.count == 5 && same.rows.allSatisfy { $0.spansA == 1 && $0.spansB == 1 && $0.totalNanosA == $0.totalNanosB })
        #expect(same.rows.last?.path == ["frontend: GET /checkout", "frontend: POST checkout", "checkout: POST /checkout", "payments: charge card"])
    }

    @Test("logs, request, services, deps: human and JSON")
    func logsRequestServicesDeps() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await Self.collectorWithData(directory)
        defer { Task { await collector.process.stop() } }

        let byRequest = try await Self.run(["logs", "--correlation", "req-42"], collector)
        let logLines = Self.lines(byRequest.standardOutput).filter { !$0.isEmpty }
        #expect(logLines.count == 3)
        for (line, pattern) in zip(logLines, [
            "  frontend  INFO   received GET /checkout  trace=4bf92f35 span=0000000000000001",
            "  checkout  INFO   validating cart  trace=4bf92f35 span=0000000000000004",
            "  payments  ERROR  card declined  trace=4bf92f35 span=0000000000000005",
        ]) {
            #expect(line.hasSuffix(pattern), "\(line)")
        }
        let warn = try await QueryCLI.json(QueryAPI.Logs.self, ["logs", "--level", "warn"], collector: collector)
        #expect(warn.logs.map(\.body) == [.string("card declined"), .string("disk almost full")])
        let grep = try await QueryCLI.json(QueryAPI.Logs.self, ["logs", "--grep", "declined", "--service", "payments"], collector: collector)
        #expect(grep.logs.count == 1 && grep.logs[0].traceID == Self.checkoutTrace)
        let latest = try await QueryCLI.json(QueryAPI.Logs.self, ["logs", "--limit", "2"], collector: collector)
        #expect(latest.logs.map(\.body) == [.string("card declined"), .string("disk almost full")], "the latest two, oldest first")
        let byTrace = try await QueryCLI.json(QueryAPI.Logs.self, ["logs", "--trace", "4bf92f3577b3"], collector: collector)
        #expect(byTrace.logs.count == 3)

        let request = try await Self.run(["request", "req-42"], collector)
        #expect(request.exitCode == 0, "\(request.standardError)")
        let requestLines = Self.lines(request.standardOutput)
        #expect(requestLines[0] == "request req-42 · 3 log lines · 3 services · 1 trace")
        #expect(requestLines[2] == "LOGS")
        #expect(requestLines.contains("trace 4bf92f3577b34da6a3ce929d0e0e4736 · 100ms · 5 spans · 3 services · 1 error"))
        let document = try await QueryCLI.json(RequestDocument.self, ["request", "req-42"], collector: collector)
        #expect(document.correlationID == "req-42")
        #expect(document.logs.count == 3)
        #expect(document.traces.map(\.traceID) == [Self.checkoutTrace])
        let unknownRequest = try await Self.run(["request", "req-nope"], collector)
        #expect(unknownRequest.exitCode == 1)
        #expect(unknownRequest.standardError.contains("nothing carries the correlation ID req-nope"))

        let services = try await Self.run(["services"], collector)
        #expect(services.standardOutput.contains("""
            payments  2 operations
            ├─ charge card     server
            └─ refund          server
            """))
        let serviceDocument = try await QueryCLI.json(QueryAPI.Services.self, ["services"], collector: collector)
        #expect(Set(serviceDocument.services.map(\.name)) == ["admin", "batch", "cart", "checkout", "frontend", "payments"], "a service with only logs counts")

        let deps = try await Self.run(["deps"], collector)
        #expect(deps.exitCode == 0, "\(deps.standardError)")
        #expect(deps.standardOutput == """
            admin
            └─ payments                     1 call      0% errors
               └─ frontend                  1 call      0% errors
                  ├─ cart                   1 call      0% errors
                  └─ checkout               1 call      0% errors
                     └─ ↺ payments (cycle)  1 call  100.0% errors

            """)
        let edges = try await QueryCLI.json(QueryAPI.Dependencies.self, ["deps"], collector: collector)
        #expect(edges.edges.count == 5)
        #expect(edges.edges.contains(QueryAPI.Dependency(caller: "checkout", callee: "payments", calls: 1, errors: 1)))
    }

    @Test("logs: a search cut by the collector's read budget says where to resume, and resuming from it reads every match once")
    func logSearchResumed() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory, extraArguments: ["--max-log-search-records", "300"])
        defer { Task { await collector.process.stop() } }
        // Every third record matches.
        try await Self.postLogBlocks(to: collector, secondsApart: 1) { $0 % 3 == 0 ? "needle \($0)" : "hay \($0)" }
        let expected = Set((0..<800).filter { $0 % 3 == 0 }.map { "needle \($0)" })
        var found = [String]()
        var until: String?
        var rounds = 0
        while rounds < 100 {
            rounds += 1
            let result = try await Self.run(["logs", "--grep", "needle", "--since", "1h", "--limit", "10000", "--json"] + (until.map { ["--until", $0] } ?? []), collector)
            try #require(result.exitCode == 0, "\(result.standardError)")
            let answer = try result.decode(QueryAPI.Logs.self)
            found += answer.logs.map(\.body.text)
            #expect(answer.logs.map(\.timeUnixNano) == answer.logs.map(\.timeUnixNano).sorted(), "oldest first")
            guard answer.truncated else {
                #expect(!result.standardError.contains("read budget"))
                break
            }
            let resume = try #require(answer.resumeUnixNano)
            #expect(result.standardError.contains("the collector searched only the newest part of the range (its read budget ran out)"), "\(result.standardError)")
            #expect(result.standardError.contains("run again with --until \(resume)"), "\(result.standardError)")
            #expect(answer.logs.allSatisfy { $0.timeUnixNano > resume })
            until = String(resume)
        }
        #expect(rounds > 3, "the budget cut the search")
        #expect(found.count == expected.count, "nothing answered twice")
        #expect(Set(found) == expected, "nothing skipped")
    }

    @Test("request: its log lines cut by the collector's read budget say so in the JSON and on stderr, and resuming with --since reads each once")
    func requestResumed() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory, extraArguments: ["--max-log-search-records", "300"])
        defer { Task { await collector.process.stop() } }
        try await Self.postLogBlocks(to: collector, secondsApart: 1, attributes: [Attribute("correlation_id", .string("req-cut"))]) { "step \($0)" }
        var found = [String]()
        var since = "1h"
        var rounds = 0
        while rounds < 100 {
            rounds += 1
            let result = try await Self.run(["request", "req-cut", "--since", since, "--limit", "10000", "--json"], collector)
            try #require(result.exitCode == 0, "\(result.standardError)")
            let document = try result.decode(RequestDocument.self)
            found += document.logs.map(\.body.text)
            #expect(!document.tracesTruncated)
            guard document.logsTruncated else {
                #expect(document.logsResumeUnixNano == nil)
                #expect(!result.standardError.contains("read budget"), "\(result.standardError)")
                break
            }
            let resume = try #require(document.logsResumeUnixNano)
            #expect(result.standardError.contains("periscope: the collector searched only the oldest part of the range (its read budget ran out)"), "\(result.standardError)")
            #expect(result.standardError.contains("run again with --since \(resume)"), "\(result.standardError)")
            #expect(document.logs.allSatisfy { $0.timeUnixNano < resume }, "oldest first: every line before the bound")
            since = String(resume)
        }
        #expect(rounds > 3, "the budget cut the search")
        #expect(found.count == 800, "nothing answered twice")
        #expect(Set(found) == Set((0..<800).map { "step \($0)" }), "nothing skipped")
    }

    @Test("logs --follow for a rare line through a collector whose read budget cuts every poll: polls read on from each cut, and the line shows")
    func followThroughCutPolls() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory, extraArguments: ["--max-log-search-records", "300"])
        defer { Task { await collector.process.stop() } }
        // Lines that do not match, over the last half hour: about 10 polls' budgets.
        try await Self.postLogBlocks(to: collector, secondsApart: 2) { "hay \($0)" }
        let follower = try RunningProcess(BinaryLocation.binary("periscope"), [
            "logs", "--follow", "--json", "--grep", "needle", "--collector", collector.url, "--token-file", collector.tokenFile.path,
        ])
        defer { Task { await follower.stop() } }
        // The first answer (the latest lines) is cut, and says so on stderr.
        let noted = ContinuousClock.now + .seconds(15)
        while !follower.standardError.contains("searched only the newest part"), ContinuousClock.now < noted {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(follower.standardError.contains("searched only the newest part"), "\(follower.standardError)")
        try await Task.sleep(for: .seconds(2))
        let needle = "needle \(UUID().uuidString)"
        try await Self.post("/v1/logs", OTLPEncoder.encode(.logs([
            Self.log("grep", WallClock.nowUnixNano(), .warn, needle, trace: nil, span: nil, correlation: nil),
        ])), to: collector)
        _ = try await follower.waitForLine(containing: needle, timeout: .seconds(15))
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(follower.standardOutput.components(separatedBy: needle).count == 2, "printed once")
        #expect(!follower.standardError.contains("before any part"), "\(follower.standardError)")
        #expect(follower.isRunning, "still following")
        await follower.stop()
    }

    @Test("errors: one sentence on stderr, exit 1")
    func errors() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        defer { Task { await collector.process.stop() } }
        let closedPort = FreePort.closed()
        defer { closedPort.release() }
        let cases: [(args: [String], environment: [String: String], useCollector: Bool, message: String)] = [
            (["traces", "--collector", collector.url], ["PERISCOPE_TOKEN": "wrong"], false,
             "periscope: the collector refused the token: check --token-file or PERISCOPE_TOKEN"),
            (["services", "--collector", collector.url], ["PERISCOPE_TOKEN": ""], false,
             "periscope: the collector requires a token: pass --token-file FILE or set PERISCOPE_TOKEN"),
            (["deps", "--collector", "http://127.0.0.1:\(closedPort.port)"], [:], false, "periscope: cannot reach the collector at"),
            (["traces", "--since", "5x"], [:], true, "periscope: --since '5x' is not a time"),
            (["logs", "--service", "a", "--since", "1h", "--until", "2h"], [:], true, "periscope: --since ("),
            (["trace", TraceID(hex: "0123456789abcdef0123456789abcdef")!.hex], [:], true,
             "periscope: no trace with ID 0123456789abcdef0123456789abcdef in the collector"),
            (["trace", "xyz"], [:], true, "periscope: 'xyz' is not a trace ID: expected 32 hex digits"),
        ]
        for testCase in cases {
            let result = try await QueryCLI.run(
                testCase.args, collector: testCase.useCollector ? collector : nil, environment: testCase.environment)
            #expect(result.exitCode == 1, "\(testCase.args): \(result.standardError)")
            #expect(result.standardError.hasPrefix(testCase.message), "\(testCase.args): \(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1, "one sentence: \(result.standardError)")
            #expect(result.standardOutput.isEmpty)
        }
    }

    @Test("--help has examples for every command; completion scripts for bash, zsh and fish")
    func helpAndCompletion() async throws {
        for command in ["traces", "trace", "compare", "logs", "request", "services", "deps"] {
            let help = try await QueryCLI.run([command, "--help"], collector: nil)
            #expect(help.exitCode == 0)
            #expect(help.standardOutput.contains("Examples:") && help.standardOutput.contains("periscope \(command)"), "\(command)")
        }
        for shell in ["bash", "zsh", "fish"] {
            let script = try await QueryCLI.run(["--generate-completion-script", shell], collector: nil)
            #expect(script.exitCode == 0, "\(shell)")
            #expect(script.standardOutput.contains("periscope") && script.standardOutput.contains("traces"), "\(shell)")
        }
    }

    // MARK: - --follow

    @Test("logs --follow --json sees a line appear after it was ingested, once")
    func follow() async throws {
        let directory = try TemporaryDirectory()
        let collector = try await CollectorProcess.start(in: directory)
        defer { Task { await collector.process.stop() } }
        let now = WallClock.nowUnixNano()
        try await Self.post("/v1/logs", OTLPEncoder.encode(.logs([
            Self.log("follow-svc", now - 5_000 * Self.ms, .info, "before following", trace: nil, span: nil, correlation: nil),
        ])), to: collector)

        let follower = try RunningProcess(BinaryLocation.binary("periscope"), [
            "logs", "--follow", "--json", "--service", "follow-svc", "--collector", collector.url, "--token-file", collector.tokenFile.path,
        ])
        defer { Task { await follower.stop() } }
        _ = try await follower.waitForLine(containing: "before following", timeout: .seconds(15))

        let marker = "after following \(UUID().uuidString)"
        try await Self.post("/v1/logs", OTLPEncoder.encode(.logs([
            Self.log("follow-svc", WallClock.nowUnixNano(), .warn, marker, trace: Self.checkoutTrace, span: 7, correlation: nil),
            Self.log("other-svc", WallClock.nowUnixNano(), .warn, "not followed", trace: nil, span: nil, correlation: nil),
        ])), to: collector)
        let line = try await follower.waitForLine(containing: marker, timeout: .seconds(15))
        let record = try JSONDecoder().decode(QueryAPI.Log.self, from: Data(line.utf8))
        #expect(record.service == "follow-svc")
        #expect(record.traceID == Self.checkoutTrace)
        #expect(record.severityNumber == 13)

        // A line that reaches the collector after a newer one (timed 2 s before it, as a second service batching would send it): shown too.
        let late = "arrived late \(UUID().uuidString)"
        try await Self.post("/v1/logs", OTLPEncoder.encode(.logs([
            Self.log("follow-svc", record.timeUnixNano - 2_000 * Self.ms, .info, late, trace: nil, span: nil, correlation: nil),
        ])), to: collector)
        _ = try await follower.waitForLine(containing: late, timeout: .seconds(15))

        // A few more polls: nothing printed twice, nothing from other services.
        try await Task.sleep(for: .milliseconds(1_500))
        let output = follower.standardOutput
        #expect(output.components(separatedBy: marker).count == 2, "\(output)")
        #expect(output.components(separatedBy: "before following").count == 2, "\(output)")
        #expect(output.components(separatedBy: late).count == 2, "\(output)")
        #expect(!output.contains("not followed"))
        #expect(output.split(separator: "\n").allSatisfy { (try? JSONDecoder().decode(QueryAPI.Log.self, from: Data($0.utf8))) != nil })
        #expect(follower.isRunning, "still following")
        await follower.stop()
    }

    // MARK: - Terminal

    @Test("on a terminal (tmux): colour and the terminal's width; piped: plain, no escapes")
    func terminal() async throws {
        guard let tmux = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/opt/homebrew/bin/tmux"].first(where: FileManager.default.isExecutableFile) else {
            print("tmux is not installed: skipping the pseudo-terminal check")
            return
        }
        let directory = try TemporaryDirectory()
        let collector = try await Self.collectorWithData(directory)
        defer { Task { await collector.process.stop() } }

        let socket = "periscope-cli-test-\(UUID().uuidString.prefix(8))"
        let binary = BinaryLocation.binary("periscope").path
        let command = "env -u COLUMNS -u NO_COLOR '\(binary)' trace \(Self.checkoutTrace.hex) --collector \(collector.url) --token-file '\(collector.tokenFile.path)'; "
            + "env -u COLUMNS -u NO_COLOR '\(binary)' traces --collector \(collector.url) --token-file '\(collector.tokenFile.path)'; sleep 30"
        /// Runs a tmux client (that forks no server) on the private server socket.
        func tmuxRun(_ args: [String], capture: Bool = false) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tmux)
            process.arguments = ["-L", socket, "-f", "/dev/null"] + args
            let pipe = Pipe()
            process.standardOutput = capture ? pipe : FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let data = capture ? pipe.fileHandleForReading.readDataToEndOfFile() : Data()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        // The server `new-session` forks keeps whatever descriptors Foundation's Process gave its
        // client, so Process would wait for the server's exit: spawn and reap the client only.
        let started = Self.spawnAndWait(tmux, ["-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "cli", "-x", "100", "-y", "40", command])
        try #require(started == 0, "tmux new-session exited \(started)")
        defer { _ = Self.spawnAndWait(tmux, ["-L", socket, "kill-server"]) }

        var screen = ""
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            screen = try tmuxRun(["capture-pane", "-p", "-e", "-t", "cli"], capture: true)
            if screen.contains("TRACE") && screen.contains("4bf92f3577b3") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(screen.contains("\u{1B}["), "colour on a terminal:\n\(screen)")
        let plain = screen.replacing(/\u{1B}\[[0-9;:]*[A-Za-z]/, with: "")
        let lines = plain.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let timeline = try #require(lines.first(where: { $0.hasPrefix("  SPAN") }), "\(plain)")
        #expect(Columns.width(timeline) == 100, "the waterfall fills the 100-column terminal:\n\(plain)")
        #expect(lines.contains { $0.hasPrefix("* frontend: GET /checkout") })

        // The same commands into a pipe: no escapes, the 120-column fallback.
        let piped = try await QueryCLI.run(["trace", Self.checkoutTrace.hex], collector: collector, environment: ["COLUMNS": ""])
        #expect(!piped.standardOutput.contains("\u{1B}"))
        let pipedTimeline = try #require(Self.lines(piped.standardOutput).first(where: { $0.hasPrefix("  SPAN") }))
        #expect(Columns.width(pipedTimeline) == 120)
        let forced = try await QueryCLI.run(["traces", "--color", "always"], collector: collector)
        #expect(forced.standardOutput.contains("\u{1B}[1;31m"), "--color always colours a pipe (errors in red)")
        let noColor = try await QueryCLI.run(["traces"], collector: collector, environment: ["NO_COLOR": "1"])
        #expect(!noColor.standardOutput.contains("\u{1B}"))
    }
}

extension CLITests {
    /// `posix_spawn` + `waitpid` on the child alone, its output to /dev/null, no other descriptor
    /// inherited; the exit status.
    static func spawnAndWait(_ path: String, _ arguments: [String]) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        // Nothing else: a pipe another test is setting up must not live on in the tmux server.
        // (glibc ≥ 2.34; looked up at run time, the Swift overlay does not export it.)
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
    }
}

/// Column counting for the box-drawing and block characters the CLI prints (all one column wide).
enum Columns {
    static func width(_ text: String) -> Int { text.count }
    static func fits(_ text: String) -> Bool { width(text) <= 100 }
}
