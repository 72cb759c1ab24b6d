import ArgumentParser
import PeriscopeTelemetry

/// `periscope logs --trace ID`: the log lines of one request, across services.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show the log lines of one trace, across services, oldest first.",
        discussion: """
            Each line: time (RFC 3339, UTC, milliseconds), service, level, message, then the \
            first 8 hex digits of the trace ID and the span ID. With -v the record's attributes \
            follow the message as key=value.

            Examples:
              periscope logs --trace 4bf92f3577b34da6a3ce929d0e0e4736
              periscope logs --trace 4bf92f3577b34da6a3ce929d0e0e4736 --limit 50 -v
              periscope logs --trace 4bf92f3577b34da6a3ce929d0e0e4736 --json | jq -r '.logs[].body'
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("trace"), help: ArgumentHelp("The trace ID: 32 hex digits.", valueName: "ID"))
    var traceID: String

    @Option(name: .customLong("limit"), help: ArgumentHelp("At most this many lines.", valueName: "N"))
    var limit: Int = 1000

    @Flag(name: .shortAndLong, help: "Also print each record's attributes.")
    var verbose = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be a positive number") }
    }

    func run() async throws {
        let id: TraceID
        do {
            id = try CommandRunner.parseTraceID(traceID)
        } catch {
            CommandRunner.fail((error as? QueryError)?.message ?? String(describing: error))
        }
        let limit = self.limit
        let verbose = self.verbose
        try await CommandRunner.run(global) { context in
            let logs = try await context.client.logs(traceID: id, limit: limit)
            if context.settings.json { return try JSONOutput.string(logs) }
            if logs.logs.isEmpty {
                CommandRunner.note("no log lines for trace \(id.hex) in the collector")
                return ""
            }
            return LogsRenderer(style: context.style, verbose: verbose).render(logs)
        }
    }
}
