import ArgumentParser

/// `periscope`: ask the collector what happened, from the terminal.
@main
struct Periscope: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "periscope",
        abstract: "Query a Periscope collector: traces, logs, requests, services and their dependencies.",
        discussion: """
            The collector is found at --collector, else $PERISCOPE_COLLECTOR, else \
            http://127.0.0.1:4400. The bearer token is read from --token-file, else taken \
            from $PERISCOPE_TOKEN. Output is coloured only on a terminal unless --color says \
            otherwise (NO_COLOR is honoured); --json prints the collector's documents for scripts.

            Time ranges (--since, --until) take an age (15m, 2h, 7d) or an RFC 3339 time; \
            searches default to the last 24 hours. Errors print one line on stderr and exit 1.

            Shell completion: periscope --generate-completion-script bash|zsh|fish

            Examples:
              periscope traces --service checkout --status error --since 1h
              periscope trace 4bf92f3577b3 --logs
              periscope trace 4bf92f3577b3 --stats
              periscope compare 4bf92f3577b3 00f067aa0ba9
              periscope logs --correlation req-42
              periscope logs --service checkout --level warn --follow
              periscope request req-42
              periscope services
              periscope deps
              periscope signals --by operation --since 6h
              periscope slo
              periscope --collector http://collector:4400 --token-file token.txt \\
                logs --trace 4bf92f3577b34da6a3ce929d0e0e4736
            """,
        subcommands: [
            TracesCommand.self, TraceCommand.self, CompareCommand.self, LogsCommand.self, RequestCommand.self, ServicesCommand.self,
            DepsCommand.self, SignalsCommand.self, SLOCommand.self,
        ])

    @OptionGroup var global: GlobalOptions
}
