import ArgumentParser

/// `periscope`: ask the collector what happened, from the terminal.
@main
struct Periscope: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "periscope",
        abstract: "Query a Periscope collector: traces and logs, from the terminal.",
        discussion: """
            The collector is found at --collector, else $PERISCOPE_COLLECTOR, else \
            http://127.0.0.1:4400. The bearer token is read from --token-file, else taken \
            from $PERISCOPE_TOKEN. Output is coloured only on a terminal unless --color says \
            otherwise (NO_COLOR is honoured); --json prints the collector's documents for scripts.

            Examples:
              periscope trace 4bf92f3577b34da6a3ce929d0e0e4736
              periscope --collector http://collector:4400 --token-file token.txt \\
                logs --trace 4bf92f3577b34da6a3ce929d0e0e4736
            """,
        subcommands: [TraceCommand.self, LogsCommand.self])

    @OptionGroup var global: GlobalOptions
}
