import ArgumentParser
import Foundation
import PeriscopeQueryAPI

/// `periscope trace ID`: one trace as a waterfall.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Show one trace as a waterfall of its spans, critical path marked.",
        discussion: """
            Prints a header (trace ID, duration, spans, services, errors), then one row per span \
            in call order: the tree of calls, service: operation, start offset from the trace's \
            start, duration, and a bar placing the span on the trace's timeline. Failed spans \
            are marked ✗; spans whose parent is not in the trace are shown as extra roots, \
            marked ┄. Spans on the critical path — from the root, repeatedly the child that \
            ends last: the chain that determined the trace's duration — are marked * in the \
            left margin. With -v each span is followed by its ID, kind, attributes, status \
            message, events and links; with --logs by its log lines (▸, at their offset from \
            the trace's start).

            With --stats, where the time went instead: one row per service and operation with \
            its spans, errors, total, average and longest duration, and its self time — the \
            time its spans ran with none of their children running — largest first; SELF% is \
            that share of the trace's duration (concurrent spans can make the shares add up to \
            more than 100 %). With --json, the statistics as JSON.

            The ID is 32 hex digits, a unique prefix of at least 8 of them (as `periscope \
            traces` shows), or a whole W3C traceparent header value.

            Examples:
              periscope trace 4bf92f3577b34da6a3ce929d0e0e4736
              periscope trace 4bf92f3577b3 --logs
              periscope trace 4bf92f3577b3 --stats
              periscope trace 4bf92f3577b34da6a3ce929d0e0e4736 -v
              periscope trace 4bf92f3577b34da6a3ce929d0e0e4736 --json | jq '.spans[].name'
              PERISCOPE_COLLECTOR=http://collector:4400 PERISCOPE_TOKEN=s3cret \\
                periscope trace 4bf92f3577b34da6a3ce929d0e0e4736
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The trace ID: 32 hex digits or a unique prefix of at least 8.", valueName: "ID"))
    var traceID: String

    @Flag(name: .shortAndLong, help: "Also print each span's attributes, status message and events.")
    var verbose = false

    @Flag(name: .customLong("logs"), help: "Interleave the trace's log lines under the span they belong to.")
    var logs = false

    @Flag(name: .customLong("stats"), help: "Print where the time went (spans, durations and self time per service and operation) instead of the waterfall.")
    var statistics = false

    @Option(name: .customLong("width"), help: ArgumentHelp("Lay out for this many columns (default: $COLUMNS, else the terminal's width, else 120).", valueName: "N"))
    var width: Int?

    func validate() throws {
        if let width, width < 40 { throw ValidationError("--width must be at least 40") }
        if statistics, logs || verbose { throw ValidationError("--stats shows no spans: give it without --logs and -v") }
    }

    func run() async throws {
        let reference: TraceReference
        do {
            reference = try TraceReference.parse(traceID)
        } catch {
            CommandRunner.fail((error as? QueryError)?.message ?? String(describing: error))
        }
        let verbose = self.verbose
        let width = self.width
        let withLogs = self.logs
        let statistics = self.statistics
        try await CommandRunner.run(global) { context in
            let id = try await reference.resolve(with: context.client)
            let trace = try await context.client.trace(id)
            if statistics {
                let computed = TraceStatistics(trace)
                if context.settings.json { return try JSONOutput.string(computed) }
                let table = TraceStatisticsRenderer(
                    width: width ?? Terminal.width(environment: ProcessInfo.processInfo.environment), style: context.style
                ).render(computed)
                return table + Self.cutNote(trace)
            }
            if context.settings.json { return try JSONOutput.string(trace) }
            let logFilter = LogFilter(traceID: id, limit: 10_000)
            let answer = withLogs ? try await context.client.logs(logFilter) : nil
            if let answer, let note = LogsCutNote.text(answer, filter: logFilter, rerun: "run `periscope logs --trace \(id.hex) --limit 10000` with") {
                CommandRunner.note(note)
            }
            let logs = answer?.logs
            let renderer = WaterfallRenderer(
                width: width ?? Terminal.width(environment: ProcessInfo.processInfo.environment),
                verbose: verbose, style: context.style)
            return renderer.render(trace, logs: logs) + Self.cutNote(trace)
        }
    }

    /// Says so when the collector answered only the trace's first spans.
    static func cutNote(_ trace: QueryAPI.Trace) -> String {
        guard let total = trace.totalSpans, total > trace.spans.count else { return "" }
        return "\nshowing the first \(trace.spans.count) of \(total) spans by start time (--json has the same cut)\n"
    }
}
