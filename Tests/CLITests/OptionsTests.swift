import Foundation
import PeriscopeConfig
@testable import PeriscopeCLI
import PeriscopeQueryAPI
import Testing

@Suite struct ColorModeTests {
    @Test func autoColoursOnlyATerminalWithoutNoColor() {
        #expect(ColorMode.auto.useColor(stdoutIsTerminal: true, environment: [:]))
        #expect(!ColorMode.auto.useColor(stdoutIsTerminal: false, environment: [:]))
        #expect(!ColorMode.auto.useColor(stdoutIsTerminal: true, environment: ["NO_COLOR": "1"]))
        // no-color.org: an empty NO_COLOR does not count.
        #expect(ColorMode.auto.useColor(stdoutIsTerminal: true, environment: ["NO_COLOR": ""]))
        #expect(!ColorMode.auto.useColor(stdoutIsTerminal: true, environment: ["TERM": "dumb"]))
    }

    @Test func alwaysAndNeverIgnoreTheTerminal() {
        #expect(ColorMode.always.useColor(stdoutIsTerminal: false, environment: ["NO_COLOR": "1"]))
        #expect(!ColorMode.never.useColor(stdoutIsTerminal: true, environment: [:]))
    }

    @Test func widthPrefersColumnsThenTheTerminal() {
        #expect(Terminal.width(columnsVariable: "100", terminalColumns: 80) == 100)
        #expect(Terminal.width(columnsVariable: "nope", terminalColumns: 80) == 80)
        #expect(Terminal.width(columnsVariable: "0", terminalColumns: nil) == Terminal.fallbackWidth)
        #expect(Terminal.width(columnsVariable: nil, terminalColumns: nil) == Terminal.fallbackWidth)
    }
}

@Suite struct TokenTests {
    @Test func tokenFileTakesTheFirstLineThatIsNotBlankOrAComment() {
        #expect(TokenFile.parse("s3cret\n").first == "s3cret")
        #expect(TokenFile.parse("# for staging\n\n   \n  s3cret  \r\nother\n").first == "s3cret")
        #expect(TokenFile.parse("\t#indented comment\r\ntok").first == "tok")
        #expect(TokenFile.parse("# only comments\n\n").first == nil)
        #expect(TokenFile.parse("").first == nil)
    }

    @Test func fileWinsOverTheEnvironment() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-token-\(UUID().uuidString)")
        try "# token\nfrom-file\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try TokenSource.resolve(tokenFile: url.path, environment: ["PERISCOPE_TOKEN": "from-env"]) == "from-file")
        #expect(try TokenSource.resolve(tokenFile: nil, environment: ["PERISCOPE_TOKEN": " from-env\n"]) == "from-env")
        #expect(try TokenSource.resolve(tokenFile: nil, environment: ["PERISCOPE_TOKEN": ""]) == nil)
        #expect(try TokenSource.resolve(tokenFile: nil, environment: [:]) == nil)
    }

    @Test func unreadableOrEmptyTokenFilesAreClearErrors() throws {
        #expect(throws: QueryError("cannot read the token file /nonexistent/token: no such file")) {
            try TokenSource.resolve(tokenFile: "/nonexistent/token", environment: [:])
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-token-\(UUID().uuidString)")
        try "# nothing\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: QueryError("the token file \(url.path) holds no token (blank lines and # comments are skipped)")) {
            try TokenSource.resolve(tokenFile: url.path, environment: [:])
        }
    }
}

@Suite struct GlobalOptionsTests {
    @Test func collectorComesFromFlagThenEnvironmentThenDefault() throws {
        let none = try GlobalOptions.parse([])
        #expect(try none.settings(environment: [:], stdoutIsTerminal: false).collectorURL == "http://127.0.0.1:4400")
        #expect(try none.settings(environment: ["PERISCOPE_COLLECTOR": "http://c:1/"], stdoutIsTerminal: false).collectorURL == "http://c:1")
        #expect(try none.settings(environment: ["PERISCOPE_COLLECTOR": "http://c:1,http://d:2"], stdoutIsTerminal: false).collectorURL == "http://c:1",
                "an agent's list of collectors: the CLI asks the first")
        let flag = try GlobalOptions.parse(["--collector", "https://flag:9"])
        #expect(try flag.settings(environment: ["PERISCOPE_COLLECTOR": "http://c:1"], stdoutIsTerminal: false).collectorURL == "https://flag:9")
    }

    @Test func settingsCombineFlags() throws {
        let options = try GlobalOptions.parse(["--json", "--color", "always", "--timeout", "5"])
        let settings = try options.settings(environment: ["PERISCOPE_TOKEN": "t"], stdoutIsTerminal: false)
        #expect(settings == GlobalOptions.Settings(
            collectorURL: "http://127.0.0.1:4400", token: "t", json: true, useColor: true, timeoutSeconds: 5))
        #expect(throws: (any Error).self) { try GlobalOptions.parse(["--color", "sometimes"]) }
        #expect(throws: (any Error).self) { try GlobalOptions.parse(["--timeout", "0"]) }
    }

    @Test func collectorURLs() throws {
        #expect(try GlobalOptions.normalizeCollectorURL("localhost:4400") == "http://localhost:4400")
        #expect(try GlobalOptions.normalizeCollectorURL(" https://periscope.example.com/prefix/ ") == "https://periscope.example.com/prefix")
        #expect(throws: QueryError.self) { try GlobalOptions.normalizeCollectorURL("ftp://host") }
        #expect(throws: QueryError.self) { try GlobalOptions.normalizeCollectorURL("http://") }
        #expect(throws: QueryError.self) { try GlobalOptions.normalizeCollectorURL("http://host:4400/?x=1") }
        // Past 65535 the HTTP client trapped on the first request.
        #expect(throws: QueryError.self) { try GlobalOptions.normalizeCollectorURL("http://127.0.0.1:99999") }
        #expect(throws: QueryError.self) { try GlobalOptions.normalizeCollectorURL("127.0.0.1:65536") }
    }

    @Test func globalOptionsWorkBeforeAndAfterTheCommand() throws {
        let before = try Periscope.parseAsRoot(["--collector", "http://a:1", "trace", Fixtures.traceID.hex, "-v"])
        let trace = try #require(before as? TraceCommand)
        #expect(trace.global.collector == "http://a:1")
        #expect(trace.verbose)
        let after = try Periscope.parseAsRoot(["logs", "--trace", Fixtures.traceID.hex, "--json", "--limit", "5"])
        let logs = try #require(after as? LogsCommand)
        #expect(logs.global.json)
        #expect(logs.limit == 5)
        #expect(throws: (any Error).self) { try Periscope.parseAsRoot(["logs", "--trace", Fixtures.traceID.hex, "--limit", "0"]) }
    }
}

@Suite struct TraceIDArgumentTests {
    @Test func acceptsHexInEitherCaseAndTraceparent() throws {
        #expect(try CommandRunner.parseTraceID("4bf92f3577b34da6a3ce929d0e0e4736") == Fixtures.traceID)
        #expect(try CommandRunner.parseTraceID(" 4BF92F3577B34DA6A3CE929D0E0E4736\n") == Fixtures.traceID)
        #expect(try CommandRunner.parseTraceID("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == Fixtures.traceID)
    }

    @Test func rejectsAnythingElseWithOneSentence() {
        #expect(throws: QueryError("'abc' is not a trace ID: expected 32 hex digits (or a unique prefix of at least 8), got 3 characters")) {
            try CommandRunner.parseTraceID("abc")
        }
        #expect(throws: QueryError.self) { try CommandRunner.parseTraceID("4bf92f3577b34da6a3ce929d0e0e473g") }
        #expect(throws: QueryError("'00000000000000000000000000000000' is not a valid trace ID: the all-zero ID is never used")) {
            try CommandRunner.parseTraceID(String(repeating: "0", count: 32))
        }
    }
}

@Suite struct CollectorErrorTests {
    @Test func unauthorizedSaysWhatToCheck() {
        #expect(QueryClient.httpError(status: 401, body: Data(), tokenGiven: true).message
            == "the collector refused the token: check --token-file or PERISCOPE_TOKEN")
        #expect(QueryClient.httpError(status: 401, body: Data(), tokenGiven: false).message
            == "the collector requires a token: pass --token-file FILE or set PERISCOPE_TOKEN")
    }

    @Test func otherStatusesCarryTheCollectorsMessage() {
        let body = Data(#"{"error":"trace ID must be 32 hex digits"}"#.utf8)
        #expect(QueryClient.httpError(status: 400, body: body, tokenGiven: false).message
            == "the collector answered 400: trace ID must be 32 hex digits")
        #expect(QueryClient.httpError(status: 502, body: Data("Bad Gateway\n".utf8), tokenGiven: false).message
            == "the collector answered HTTP 502: Bad Gateway")
        #expect(QueryClient.httpError(status: 500, body: Data(), tokenGiven: false).message == "the collector answered HTTP 500")
    }

    @Test func unknownTrace() {
        #expect(QueryError.traceNotFound(Fixtures.traceID.hex).message
            == "no trace with ID 4bf92f3577b34da6a3ce929d0e0e4736 in the collector")
    }

    @Test func connectionRefusedIsOneSentence() async throws {
        // Port 1 on loopback: nothing listens there.
        let http = QueryClient.makeHTTPClient()
        let client = QueryClient(baseURL: "http://127.0.0.1:1", token: nil, timeoutSeconds: 10, http: http)
        var caught: QueryError?
        do {
            _ = try await client.trace(Fixtures.traceID)
        } catch let error as QueryError {
            caught = error
        }
        try await http.shutdown()
        #expect(caught?.message == "cannot reach the collector at http://127.0.0.1:1: connection refused — is periscope-collector running? set --collector or PERISCOPE_COLLECTOR")
    }
}

@Suite struct JSONOutputTests {
    @Test func prettySortedAndRoundTrips() throws {
        let text = try JSONOutput.string(Fixtures.trace)
        #expect(text.hasPrefix("{\n  \"spans\" : [\n"))
        #expect(text.hasSuffix("\"traceID\" : \"4bf92f3577b34da6a3ce929d0e0e4736\"\n}\n"))
        #expect(try JSONDecoder().decode(QueryAPI.Trace.self, from: Data(text.utf8)) == Fixtures.trace)
    }
}
