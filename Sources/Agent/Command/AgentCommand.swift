import ArgumentParser

/// `periscope-agent`: the sidecar that receives OTLP on localhost, queues it durably and
/// ships it to the collector; `periscope-agent dlq …` manages refused batches.
@main
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "periscope-agent",
        abstract: "Receive OTLP on localhost, queue it on disk, and ship it to the Periscope collector.",
        subcommands: [RunCommand.self, DeadLetterCommand.self],
        defaultSubcommand: RunCommand.self)
}
