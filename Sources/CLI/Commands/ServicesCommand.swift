import ArgumentParser
import Foundation

/// `periscope services`: every service seen and its operations.
struct ServicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "List the services the collector has seen and their operations (span kind).",
        discussion: """
            One tree per service: its operations (span names) with their span kind.

            Examples:
              periscope services
              periscope services --json | jq -r '.services[].name'
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("width"), help: ArgumentHelp("Lay out for this many columns (default: $COLUMNS, else the terminal's width, else 120).", valueName: "N"))
    var width: Int?

    func validate() throws {
        if let width, width < 40 { throw ValidationError("--width must be at least 40") }
    }

    func run() async throws {
        let width = self.width
        try await CommandRunner.run(global) { context in
            let services = try await context.client.services()
            if context.settings.json { return try JSONOutput.string(services) }
            if services.services.isEmpty {
                CommandRunner.note("no services yet: the collector has stored no spans")
                return ""
            }
            return ServicesRenderer(
                width: width ?? Terminal.width(environment: ProcessInfo.processInfo.environment), style: context.style
            ).render(services)
        }
    }
}
