import ArgumentParser
import Foundation

/// `periscope deps`: the service dependency graph.
struct DepsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deps",
        abstract: "Show the service dependency graph as a tree, with calls and error ratio per edge.",
        discussion: """
            Edges come from parent/child spans in different services. The tree starts at \
            the services no other service calls; each callee shows how often it was called \
            by its parent and which share of those calls failed. A call back to a service \
            already on the path is a cycle, marked ↺ and not followed; a service whose calls \
            were drawn earlier says so instead of repeating them. The time range defaults \
            to the last 24 hours.

            Examples:
              periscope deps
              periscope deps --since 1h
              periscope deps --json | jq '.edges[] | select(.errors > 0)'
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var range: RangeOptions

    @Option(name: .customLong("width"), help: ArgumentHelp("Lay out for this many columns (default: $COLUMNS, else the terminal's width, else 120).", valueName: "N"))
    var width: Int?

    func validate() throws {
        if let width, width < 40 { throw ValidationError("--width must be at least 40") }
    }

    func run() async throws {
        let timeRange: TimeRange
        do {
            timeRange = try range.timeRange(defaultSince: "24h")
        } catch {
            CommandRunner.fail((error as? QueryError)?.message ?? String(describing: error))
        }
        let width = self.width
        let emptyNote = "no calls between services" + (range.since == nil && range.until == nil ? " in the last 24h" : " in that time range")
        try await CommandRunner.run(global) { context in
            let dependencies = try await context.client.dependencies(timeRange)
            if context.settings.json { return try JSONOutput.string(dependencies) }
            if dependencies.truncated {
                CommandRunner.note("the collector counted only the newest part of the range (its read budget ran out after \(dependencies.spansRead) spans); narrow --since/--until for a whole count")
            }
            if dependencies.edges.isEmpty {
                CommandRunner.note(emptyNote)
                return ""
            }
            return DependencyTreeRenderer(
                width: width ?? Terminal.width(environment: ProcessInfo.processInfo.environment), style: context.style
            ).render(dependencies)
        }
    }
}
