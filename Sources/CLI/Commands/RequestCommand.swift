import ArgumentParser
import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// `periscope request CORRELATION_ID`: one request end to end.
struct RequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Show everything about one request: its log lines across services and its traces' waterfalls.",
        discussion: """
            Finds every log line carrying the correlation ID (correlation_id, request_id or \
            x-request-id), in time order across services, and every trace those lines or \
            spans with a correlation_id attribute reference; then prints a summary, the log \
            lines, and each trace's waterfall (critical path marked *). Exits 1 when nothing \
            carries the ID.

            --json prints {"correlationID": ..., "logs": [log records], "traces": [traces]}.

            Examples:
              periscope request req-42
              periscope request req-42 -v --since 2h
              periscope request req-42 --json | jq '.traces[].traceID'
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var range: RangeOptions

    @Argument(help: ArgumentHelp("The request's correlation ID.", valueName: "CORRELATION_ID"))
    var correlationID: String

    @Option(name: .customLong("limit"), help: ArgumentHelp("At most this many log lines (1-10000).", valueName: "N"))
    var limit: Int = 1000

    @Flag(name: .shortAndLong, help: "Also print attributes of log lines and spans.")
    var verbose = false

    @Option(name: .customLong("width"), help: ArgumentHelp("Lay out for this many columns (default: $COLUMNS, else the terminal's width, else 120).", valueName: "N"))
    var width: Int?

    /// The most traces fetched for one request.
    static let maximumTraces = 50

    func validate() throws {
        try validateLimit(limit)
        if let width, width < 40 { throw ValidationError("--width must be at least 40") }
        if correlationID.trimmingSpaces.isEmpty { throw ValidationError("the correlation ID must not be empty") }
    }

    func run() async throws {
        let timeRange: TimeRange
        do {
            timeRange = try range.timeRange(defaultSince: nil)
        } catch {
            CommandRunner.fail((error as? QueryError)?.message ?? String(describing: error))
        }
        let correlationID = String(self.correlationID.trimmingSpaces)
        let limit = self.limit
        let verbose = self.verbose
        let width = self.width
        try await CommandRunner.run(global) { context in
            let document = try await Self.fetch(correlationID, range: timeRange, limit: limit, client: context.client)
            if context.settings.json { return try JSONOutput.string(document) }
            return RequestRenderer(
                width: width ?? Terminal.width(environment: ProcessInfo.processInfo.environment),
                verbose: verbose, style: context.style
            ).render(document)
        }
    }

    static func fetch(_ correlationID: String, range: TimeRange, limit: Int, client: QueryClient) async throws -> RequestDocument {
        let filter = LogFilter(correlationID: correlationID, range: range, limit: limit)
        let answer = try await client.logs(filter)
        if let note = LogsCutNote.text(answer, filter: filter) { CommandRunner.note(note) }
        let logs = answer.logs
        var ids: [TraceID] = []
        for id in logs.compactMap(\.traceID) where !ids.contains(id) { ids.append(id) }
        let tagged = try await client.searchTraces(TraceFilter(
            attributes: ["correlation_id=\(correlationID)"], range: range, limit: maximumTraces))
        for summary in tagged.traces.sorted(by: { $0.startTimeUnixNano < $1.startTimeUnixNano }) where !ids.contains(summary.traceID) {
            ids.append(summary.traceID)
        }
        var traces: [QueryAPI.Trace] = []
        for id in ids.prefix(maximumTraces) {
            do {
                traces.append(try await client.trace(id))
            } catch let error as QueryError where error == .traceNotFound(id.hex) {
                continue  // the log names a trace that was sampled out or has expired
            }
        }
        guard !logs.isEmpty || !traces.isEmpty else {
            let cut = answer.truncated || tagged.truncated
            throw QueryError("nothing carries the correlation ID \(Text.sanitize(correlationID)): no log lines or traces in "
                + (cut ? "the part of the range the collector searched before its budget ran out; narrow --since/--until" : "the collector"))
        }
        if tagged.truncated {
            CommandRunner.note("the collector's search budget ran out before every trace tagged with the ID was found: more may carry it; narrow --since/--until")
        }
        return RequestDocument(
            correlationID: correlationID, logs: logs, traces: traces,
            logsTruncated: answer.truncated, logsResumeUnixNano: answer.truncated ? answer.resumeUnixNano : nil,
            tracesTruncated: tagged.truncated)
    }
}
