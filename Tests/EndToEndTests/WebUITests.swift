import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeTesting
import Testing

/// The collector's web UI in Debian's Chromium, driven through selenium
/// (`Tests/Peers/web_ui_check.py`), against the query API's own answers.
@Suite("web UI in Chromium", .serialized)
struct WebUITests {
    static let hostileTrace = TraceID(hex: "0badc0de0badc0de0badc0de0badc0de")!
    static let hostileName = "GET /x <img src=x onerror=alert(1)>"
    static let hostileCallee = "<svg onload=alert(4)>\u{202E}db"

    @Test("sign in with a token, the trace list, a hostile span's waterfall, a request's logs and the signals equal the API's answers; nothing from telemetry runs")
    func browse() async throws {
        let directory = try TemporaryDirectory()
        // An SLO whose name needs encoding in a path: its page is reached from the list.
        let slos = directory.file("slo.yaml")
        try Data("""
            slos:
              - name: "payments / checkout <avail>"
                service: payments
                sli: availability
                objective: 99
                window: 7d
            """.utf8).write(to: slos)
        let collector = try await CLITests.collectorWithData(directory, extraArguments: ["--slo", slos.path])
        defer { Task { await collector.process.stop() } }
        let base = (WallClock.nowUnixNano() - 60_000 * CLITests.ms) / CLITests.ms * CLITests.ms
        try await CLITests.post("/v1/traces", OTLPEncoder.encode(.traces([
            CLITests.spans("evil\"><script>alert(2)</script>", [
                CLITests.span(Self.hostileTrace, 1, parent: nil, Self.hostileName, kind: .server, base: base, from: 0, to: 40,
                              attributes: [Attribute("note", .string("</td></tr></table><script>alert(3)</script>"))]),
                CLITests.span(Self.hostileTrace, 2, parent: 1, "SELECT '<b>'", kind: .client, base: base, from: 5, to: 30, error: "<i>timeout</i>"),
            ]),
            // A call between two hostile service names, for the dependency graph.
            CLITests.spans(Self.hostileCallee, [
                CLITests.span(Self.hostileTrace, 3, parent: 2, "query", kind: .server, base: base, from: 6, to: 29),
            ]),
        ])), to: collector)
        _ = try await PythonPeerTests.waitForTrace(Self.hostileTrace.hex, spans: 3, collector: collector)

        // The UI's own paths need no bearer token; nothing else was opened by that.
        let api = try await TestHTTP.get(collector.url + "/api/v1/traces")
        #expect(api.status == 401, "the API still needs a token")
        let sideways = try await TestHTTP.get(collector.url + "/ui/../api/v1/traces")
        #expect(sideways.status == 401, "a path that leaves /ui is not the UI's: \(sideways.status)")
        let login = try await TestHTTP.get(collector.url + "/ui/login")
        #expect(login.status == 200)
        #expect(login.text.contains("<form method=\"post\" action=\"/ui/login\""))
        let policy = try #require(login.header("Content-Security-Policy"))
        #expect(policy.contains("default-src 'none'") && !policy.contains("script-src") && !policy.contains("unsafe"), "\(policy)")
        #expect(login.header("X-Frame-Options") == "DENY")

        let check = try await RunningProcess.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", BinaryLocation.packageRoot.appendingPathComponent("Tests/Peers/web_ui_check.py").path,
            "--url", collector.url, "--token", collector.token, "--hostile-trace", Self.hostileTrace.hex,
            "--hostile-name", Self.hostileName, "--correlation", "req-42",
        ], timeout: .seconds(150))
        try #require(check.exitCode == 0, "web UI check failed: \(check.standardError)")
        struct Checked: Decodable { var traces: Int; var spans: Int; var logs: Int; var services: Int; var slos: Int; var calls: Int; var drawnServices: Int }
        let checked = try check.decode(Checked.self)
        #expect(checked.traces == 4, "the data set's three traces and the hostile one")
        #expect(checked.spans == 3)
        #expect(checked.logs == 3, "req-42's three log lines")
        #expect(checked.services >= 4)
        #expect(checked.slos == 1)
        #expect(checked.calls == 6, "the data set's five calls between services and the hostile one")
        #expect(checked.drawnServices == 7)

        try await crossPageLimits(collector, base: base)
    }

    /// A trace of 10,500 spans shows its first 10,000 and says so, each row a link to its span's
    /// page, and is compared by its first 2,000; a search matching 1,200 traces with a limit of
    /// 5,000 lists 1,000. Both three hours back, out of the browser check's hour.
    func crossPageLimits(_ collector: CollectorProcess, base: UInt64) async throws {
        let old = base - 3 * 3_600_000 * CLITests.ms
        let big = TraceID(high: 0xb16, low: 0xb16)
        let spans = (1...10_500).map { (n: UInt64) -> Span in
            let parent: UInt64? = n == 1 ? nil : 1
            let kind: Span.Kind = n == 1 ? .server : .internal
            return CLITests.span(big, n, parent: parent, "step \(n)", kind: kind, base: old, from: n, to: n + 5)
        }
        for part in stride(from: 0, to: spans.count, by: 3_500) {
            try await CLITests.post("/v1/traces", OTLPEncoder.encode(.traces([CLITests.spans("bulk", Array(spans[part..<min(part + 3_500, spans.count)]))])), to: collector)
        }
        let many = (1...1_200).map { (n: UInt64) -> Span in
            CLITests.span(TraceID(high: 0x5ea, low: n), 1, parent: nil, "GET /many", kind: .server, base: old, from: n, to: n + 1)
        }
        try await CLITests.post("/v1/traces", OTLPEncoder.encode(.traces([CLITests.spans("many", many)])), to: collector)
        _ = try await PythonPeerTests.waitForTrace(big.hex, spans: 10_500, collector: collector)

        let signIn = try await TestHTTP.post(
            collector.url + "/ui/login", body: Array("token=\(collector.token)&next=%2Fui%2F".utf8),
            headers: ["Content-Type": "application/x-www-form-urlencoded"], followingRedirects: false)
        try #require(signIn.status == 303, "sign-in: \(signIn.status) \(signIn.text)")
        let cookie = try #require(signIn.header("Set-Cookie")?.split(separator: ";").first.map(String.init))

        let waterfall = try await TestHTTP.get(collector.url + "/ui/traces/\(big.hex)", headers: ["Cookie": cookie])
        #expect(waterfall.status == 200)
        #expect(waterfall.text.components(separatedBy: "<i class=\"bar").count - 1 == 10_000, "the waterfall's 10,000-span cap")
        #expect(waterfall.text.contains("Showing the first 10000 of 10500 spans"), "the page says the trace was cut")
        #expect(!waterfall.text.contains("<details class=\"depth-"), "past 2,000 spans no row holds its details")
        let stepTwo = "/ui/traces/\(big.hex)/spans/\(SpanID(2).hex)"
        #expect(waterfall.text.components(separatedBy: "<a href=\"/ui/traces/\(big.hex)/spans/").count - 1 == 10_000, "each row links to its span")
        #expect(waterfall.text.contains("<a href=\"\(stepTwo)\"><span class=\"service\">bulk</span> step 2</a>"))
        let spanPage = try await TestHTTP.get(collector.url + stepTwo, headers: ["Cookie": cookie])
        #expect(spanPage.status == 200)
        #expect(spanPage.text.contains("step 2</h2>") && spanPage.text.contains("child of <a href=\"/ui/traces/\(big.hex)/spans/\(SpanID(1).hex)\">"))
        let root = try await TestHTTP.get(collector.url + "/ui/traces/\(big.hex)/spans/\(SpanID(1).hex)", headers: ["Cookie": cookie])
        #expect(root.status == 200 && root.text.contains("a root span · 9999 children among those"), "children among the spans read")
        #expect(root.text.contains("The trace has 10500 spans; its parent and children are looked for among its first 10000 by start time."))
        let beyond = try await TestHTTP.get(collector.url + "/ui/traces/\(big.hex)/spans/\(SpanID(10_500).hex)", headers: ["Cookie": cookie])
        #expect(beyond.status == 404 && beyond.text.contains("no span with this ID among its first 10000 spans"), "\(beyond.status)")
        let notAnID = try await TestHTTP.get(collector.url + "/ui/traces/\(big.hex)/spans/xyz", headers: ["Cookie": cookie])
        #expect(notAnID.status == 400 && notAnID.text.contains("A span ID is 16 hex digits"))
        // A comparison reads 2,000 spans of each trace, and says so.
        let compared = try await TestHTTP.get(collector.url + "/ui/compare?a=\(big.hex)&b=\(big.hex)", headers: ["Cookie": cookie])
        #expect(compared.status == 200)
        #expect(compared.text.contains("Only the first 2000 spans of both traces are compared"), "the comparison's 2,000-span cap")
        #expect(compared.text.contains("\(big.hex)</a> · ") && compared.text.contains(" · 2000 spans</p>"))
        let signedOut = try await TestHTTP.get(collector.url + stepTwo, followingRedirects: false)
        #expect(signedOut.status == 303 && signedOut.header("Location")?.hasPrefix("/ui/login?next=") == true, "a span page needs the session too: \(signedOut.status)")

        let list = try await TestHTTP.get(collector.url + "/ui/?service=many&since=6h&limit=5000", headers: ["Cookie": cookie])
        #expect(list.status == 200)
        #expect(list.text.components(separatedBy: "class=\"trace-id\"").count - 1 == 1_000, "a page's 1,000-row cap")
    }
}
