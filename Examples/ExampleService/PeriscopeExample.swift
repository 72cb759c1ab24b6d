import ArgumentParser

/// `periscope-example`: a small instrumented service pair (checkout → inventory) used by
/// `make demo` and the end-to-end tests.
@main
struct PeriscopeExample: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "periscope-example",
        abstract: "An instrumented example service that reports traces and logs to a Periscope agent.",
        subcommands: [BackendCommand.self, FrontendCommand.self, DemoCommand.self])
}
