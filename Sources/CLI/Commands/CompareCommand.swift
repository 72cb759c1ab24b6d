import ArgumentParser
import Foundation
import PeriscopeQueryAPI

/// `periscope compare A B`: two traces' calls side by side with their durations.
struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two traces call by call: which calls took longer, which appear in only one.",
        discussion: """
            Lines up the two traces' calls by their path — the chain of service: operation \
            from the root down — so the same call matches however its span IDs differ, and \
            prints one row per path, indented as the waterfall nests it: its spans and total \
            duration in A and in B (N × when there are several) and the change from A to B. \
            Rows only A has are marked -, rows only B has +; a change more than 10 % slower is \
            red, more than 10 % faster green. The header gives both traces' durations and the \
            change. Typical use: a slow trace against a normal one of the same endpoint \
            (`periscope traces --operation 'GET /checkout'` lists candidates).

            Each ID is 32 hex digits, a unique prefix of at least 8, or a traceparent value.

            Examples:
              periscope compare 4bf92f3577b3 00f067aa0ba9
              periscope compare 4bf92f3577b3 00f067aa0ba9 --json
            """,
        aliases: ["diff"])

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The first trace (the reference).", valueName: "A"))
    var first: String

    @Argument(help: ArgumentHelp("The second trace, compared with the first.", valueName: "B"))
    var second: String

    @Option(name: .customLong("width"), help: ArgumentHelp("Lay out for this many columns (default: $COLUMNS, else the terminal's width, else 120).", valueName: "N"))
    var width: Int?

    func validate() throws {
        if let width, width < 40 { throw ValidationError("--width must be at least 40") }
    }

    func run() async throws {
        let references: (TraceReference, TraceReference)
        do {
            references = (try TraceReference.parse(first), try TraceReference.parse(second))
        } catch {
            CommandRunner.fail((error as? QueryError)?.message ?? String(describing: error))
        }
        let width = self.width
        try await CommandRunner.run(global) { context in
            let a = try await context.client.trace(try await references.0.resolve(with: context.client))
            let b = try await context.client.trace(try await references.1.resolve(with: context.client))
            let comparison = TraceComparison(a, b)
            if context.settings.json { return try JSONOutput.string(comparison) }
            let output = TraceComparisonRenderer(
                width: width ?? Terminal.width(environment: ProcessInfo.processInfo.environment), style: context.style
            ).render(comparison)
            return output + [("A", a), ("B", b)].map { name, trace in
                TraceCommand.cutNote(trace).replacingOccurrences(of: "showing the first", with: "\(name): compared the first")
            }.joined()
        }
    }
}
