import ArgumentParser
import Foundation
import PeriscopeModel

/// `periscope traces`: search trace summaries.
struct TracesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traces",
        abstract: "Search traces by service, operation, kind, attribute, status and duration.",
        discussion: """
            Prints the matching traces, newest first, as a table: start time (UTC), root \
            service: operation, duration, span count, error count (red with colour) and the \
            trace ID's first 12 hex digits (all 32 with -v; `periscope trace` accepts either). \
            Every filter must hold; the span filters (--operation, --kind, --attr, --status, \
            --min-duration, --max-duration) must all hold on one span of the trace. The time \
            range defaults to the last 24 hours. No match prints a note on stderr and exits 0.

            Durations: 250ms, 1.5s, 2m, 500us, or plain nanoseconds.

            Examples:
              periscope traces --service checkout
              periscope traces --service checkout --operation 'POST /checkout' --min-duration 250ms
              periscope traces --status error --since 2h
              periscope traces --attr http.route=/checkout --attr http.response.status_code=500
              periscope traces --min-trace-duration 1s --since 2026-01-02T15:00:00Z --until 2026-01-02T16:00:00Z
              periscope traces --service checkout --json | jq -r '.traces[].traceID'
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var range: RangeOptions

    @Option(name: .customLong("service"), help: ArgumentHelp("Traces with a span of this service.", valueName: "NAME"))
    var service: String?

    @Option(name: .customLong("operation"), help: ArgumentHelp("Traces with a span of this name (operation).", valueName: "NAME"))
    var operation: String?

    @Option(name: .customLong("kind"), help: ArgumentHelp("Span kind: server, client, producer, consumer or internal.", valueName: "KIND"), completion: .list(["server", "client", "producer", "consumer", "internal"]))
    var kind: String?

    @Option(name: .customLong("attr"), help: ArgumentHelp("A span attribute key=value (repeat to require several on one span).", valueName: "KEY=VALUE"))
    var attributes: [String] = []

    @Option(name: .customLong("status"), help: ArgumentHelp("Span status: error, ok or unset.", valueName: "STATUS"), completion: .list(["error", "ok", "unset"]))
    var status: String?

    @Option(name: .customLong("min-duration"), help: ArgumentHelp("A span at least this long.", valueName: "DURATION"))
    var minDuration: String?

    @Option(name: .customLong("max-duration"), help: ArgumentHelp("A span at most this long.", valueName: "DURATION"))
    var maxDuration: String?

    @Option(name: .customLong("min-trace-duration"), help: ArgumentHelp("The whole trace at least this long.", valueName: "DURATION"))
    var minTraceDuration: String?

    @Option(name: .customLong("max-trace-duration"), help: ArgumentHelp("The whole trace at most this long.", valueName: "DURATION"))
    var maxTraceDuration: String?

    @Option(name: .customLong("limit"), help: ArgumentHelp("At most this many traces (1-10000).", valueName: "N"))
    var limit: Int = 20

    @Flag(name: .shortAndLong, help: "Show whole trace IDs.")
    var verbose = false

    @Option(name: .customLong("width"), help: ArgumentHelp("Lay out for this many columns (default: $COLUMNS, else the terminal's width, else 120).", valueName: "N"))
    var width: Int?

    static let kinds = ["server", "client", "producer", "consumer", "internal"]
    static let statuses = ["error", "ok", "unset"]

    func validate() throws {
        try validateLimit(limit)
        if let width, width < 40 { throw ValidationError("--width must be at least 40") }
        if let kind, !Self.kinds.contains(kind.lowercased()) {
            throw ValidationError("--kind must be one of \(Self.kinds.joined(separator: ", ")); got '\(kind)'")
        }
        if let status, !Self.statuses.contains(status.lowercased()) {
            throw ValidationError("--status must be error, ok or unset; got '\(status)'")
        }
        for pair in attributes {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--attr must be key=value, got '\(pair)'")
            }
        }
        for (flag, value) in [("--min-duration", minDuration), ("--max-duration", maxDuration),
                              ("--min-trace-duration", minTraceDuration), ("--max-trace-duration", maxTraceDuration)] {
            if let value, TimeRange.parseDuration(value) == nil {
                throw ValidationError("\(flag) must be a duration such as 250ms, 1.5s or 2m; got '\(value)'")
            }
        }
    }

    /// The query these flags ask for, at `now`.
    func filter(nowUnixNano: UInt64 = TimeRange.nowUnixNano()) throws -> TraceFilter {
        TraceFilter(
            service: service, operation: operation, kind: kind?.lowercased(), attributes: attributes, status: status?.lowercased(),
            minDurationNanos: minDuration.flatMap(TimeRange.parseDuration),
            maxDurationNanos: maxDuration.flatMap(TimeRange.parseDuration),
            minTraceDurationNanos: minTraceDuration.flatMap(TimeRange.parseDuration),
            maxTraceDurationNanos: maxTraceDuration.flatMap(TimeRange.parseDuration),
            range: try range.timeRange(defaultSince: "24h", nowUnixNano: nowUnixNano), limit: limit)
    }

    func run() async throws {
        let filter: TraceFilter
        do {
            filter = try self.filter()
        } catch {
            CommandRunner.fail((error as? QueryError)?.message ?? String(describing: error))
        }
        let verbose = self.verbose
        let width = self.width
        let emptyNote = "no traces match" + (range.since == nil && range.until == nil ? " in the last 24h" : " in that time range")
        try await CommandRunner.run(global) { context in
            let list = try await context.client.searchTraces(filter)
            if context.settings.json { return try JSONOutput.string(list) }
            if list.truncated {
                CommandRunner.note("the collector's search budget ran out before every candidate was checked: more traces may match; narrow --since/--until or add --operation or an indexed --attr")
            }
            if list.traces.isEmpty {
                CommandRunner.note(emptyNote)
                return ""
            }
            return TraceListRenderer(
                width: width ?? Terminal.width(environment: ProcessInfo.processInfo.environment),
                verbose: verbose, style: context.style
            ).render(list)
        }
    }
}
