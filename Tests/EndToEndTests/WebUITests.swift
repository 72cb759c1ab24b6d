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
        ])), to: collector)
        _ = try await PythonPeerTests.waitForTrace(Self.hostileTrace.hex, spans: 2, collector: collector)

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

        let check = try RunningProcess(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", BinaryLocation.packageRoot.appendingPathComponent("Tests/Peers/web_ui_check.py").path,
            "--url", collector.url, "--token", collector.token, "--hostile-trace", Self.hostileTrace.hex,
            "--hostile-name", Self.hostileName, "--correlation", "req-42",
        ])
        let status = try await check.waitForExit(timeout: .seconds(150))
        try #require(status == 0, "web UI check failed: \(check.standardError)")
        struct Checked: Decodable { var traces: Int; var spans: Int; var logs: Int; var services: Int; var slos: Int }
        let checked = try JSONDecoder().decode(Checked.self, from: Data(check.standardOutput.utf8))
        #expect(checked.traces == 4, "the data set's three traces and the hostile one")
        #expect(checked.spans == 2)
        #expect(checked.logs == 3, "req-42's three log lines")
        #expect(checked.services >= 4)
        #expect(checked.slos == 1)
    }
}
