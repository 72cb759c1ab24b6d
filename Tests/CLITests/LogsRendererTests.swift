import PeriscopeModel
@testable import PeriscopeCLI
import PeriscopeQueryAPI
import Testing

@Suite struct LogsRendererTests {
    static func log(
        _ offsetMillis: UInt64, _ service: String, _ severity: Int, _ text: String, _ body: String,
        span: UInt64? = 0x00f067aa0ba902b7, attributes: [String: AttributeValue] = [:]
    ) -> QueryAPI.Log {
        QueryAPI.Log(
            timeUnixNano: Fixtures.t0 + offsetMillis * 1_000_000 + 123_456, observedTimeUnixNano: 0, service: service,
            severityNumber: severity, severityText: text, body: .string(body), attributes: attributes,
            traceID: Fixtures.traceID, spanID: span.map(SpanID.init))
    }

    static let logs = QueryAPI.Logs(logs: [
        log(1, "frontend", 9, "INFO", "received GET /checkout", attributes: ["http.route": .string("/checkout")]),
        log(5, "payments", 17, "", "card declined\nretrying", span: 0x4),
        log(3, "cart", 13, "warning", "cart is large", span: nil),
        log(7, "frontend", 0, "", "done", span: 0x1),
    ])

    @Test func linesInTimeOrderWithAlignedColumns() {
        #expect(LogsRenderer().render(Self.logs) == """
            2024-05-01T12:00:00.001Z  frontend  INFO     received GET /checkout  trace=4bf92f35 span=00f067aa0ba902b7
            2024-05-01T12:00:00.003Z  cart      warning  cart is large  trace=4bf92f35
            2024-05-01T12:00:00.005Z  payments  ERROR    card declined\\nretrying  trace=4bf92f35 span=0000000000000004
            2024-05-01T12:00:00.007Z  frontend  -        done  trace=4bf92f35 span=0000000000000001

            """)
    }

    @Test func verboseAddsAttributes() {
        let output = LogsRenderer(verbose: true).render(Self.logs)
        #expect(output.hasPrefix(
            "2024-05-01T12:00:00.001Z  frontend  INFO     received GET /checkout  http.route=/checkout  trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7\n"))
    }

    @Test func levelsAreColouredBySeverity() {
        let output = LogsRenderer(style: Style(enabled: true)).render(Self.logs)
        #expect(output.contains("\u{1B}[32mINFO\u{1B}[0m"))
        #expect(output.contains("\u{1B}[33mwarning\u{1B}[0m"))
        #expect(output.contains("\u{1B}[31mERROR\u{1B}[0m"))
        #expect(!LogsRenderer().render(Self.logs).contains("\u{1B}"))
    }

    @Test func severityFallsBackToTheLevelText() {
        #expect(LogsRenderer.severity(of: Self.log(0, "s", 0, "Warning", "x")) == .warn)
        #expect(LogsRenderer.severity(of: Self.log(0, "s", 0, "crit", "x")) == .fatal)
        #expect(LogsRenderer.severity(of: Self.log(0, "s", 18, "whatever", "x")).name == "ERROR")
    }

    @Test func observedTimeStandsInForAMissingTime() {
        var record = Self.log(0, "s", 9, "INFO", "x", span: nil)
        record.timeUnixNano = 0
        record.observedTimeUnixNano = Fixtures.t0
        record.traceID = nil
        #expect(LogsRenderer().render(QueryAPI.Logs(logs: [record])) == "2024-05-01T12:00:00.000Z  s  INFO   x\n")
    }

    @Test("a cut log answer's note names the part searched whole and the option to read on; at the range's own edge, nothing whole")
    func cutNotes() {
        func cut(_ resume: UInt64?) -> QueryAPI.Logs {
            var answer = QueryAPI.Logs(logs: [])
            answer.truncated = true
            answer.resumeUnixNano = resume
            return answer
        }
        let range = TimeRange(startUnixNano: Fixtures.t0, endUnixNano: Fixtures.t0 + 1_000_000_000)
        let newest = LogFilter(range: range, newestFirst: true)
        let oldest = LogFilter(range: range, newestFirst: false)
        let middle = Fixtures.t0 + 500_000_000
        #expect(LogsCutNote.text(QueryAPI.Logs(logs: []), filter: newest) == nil, "a whole answer has no note")
        #expect(LogsCutNote.text(cut(middle), filter: newest) == "the collector searched only the newest part of the range (its read budget ran out): "
            + "the lines shown are every match after 2024-05-01T12:00:00.500Z; for earlier ones run again with --until \(middle)")
        #expect(LogsCutNote.text(cut(middle), filter: oldest, rerun: "run `periscope logs --trace 01` with") ==
            "the collector searched only the oldest part of the range (its read budget ran out): "
            + "the lines shown are every match before 2024-05-01T12:00:00.500Z; for later ones run `periscope logs --trace 01` with --since \(middle)")
        let nothingWhole = "the collector's read budget ran out before any part of the range was searched whole: narrow the search (service, level, time range)"
        #expect(LogsCutNote.text(cut(range.endUnixNano), filter: newest) == nothingWhole)
        #expect(LogsCutNote.text(cut(range.startUnixNano), filter: oldest) == nothingWhole)
        #expect(LogsCutNote.text(cut(nil), filter: oldest) == nothingWhole)
        #expect(LogsCutNote.text(cut(UInt64(Int64.max)), filter: LogFilter(newestFirst: true)) == nothingWhole, "an open end is the largest time")
        #expect(LogsCutNote.text(cut(0), filter: LogFilter()) == nothingWhole, "an open start is 0")
    }
}
