import ArgumentParser
import Foundation

/// `periscope signals`: traffic, errors, latency and saturation per service or operation.
struct SignalsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signals",
        abstract: "Show the golden signals: request rate, error %, latency p50/p90/p99, saturation.",
        discussion: """
            Computed from rollups kept per minute, hour and day, so a 30-day range is as quick as an hour.
            Latency is of successful requests; failures are kept apart (see --json).

            Examples:
              periscope signals
              periscope signals --service checkout --by operation --since 6h
              periscope signals --since 30d --json | jq '.rows[] | {service, errorRatio}'
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var range: RangeOptions

    @Option(help: "Only this service.")
    var service: String?

    @Option(help: ArgumentHelp("One row per service (default) or per operation.", valueName: "service|operation"))
    var by: String = "service"

    func validate() throws {
        guard by == "service" || by == "operation" else { throw ValidationError("--by must be service or operation") }
    }

    func run() async throws {
        let range = try self.range.timeRange(defaultSince: "1h")
        let service = self.service
        let byOperation = by == "operation"
        try await CommandRunner.run(global) { context in
            let signals = try await context.client.signals(service: service, byOperation: byOperation, range: range)
            if context.settings.json { return try JSONOutput.string(signals) }
            if signals.rows.isEmpty {
                CommandRunner.note("no requests in this range: server and consumer spans make the signals")
                return ""
            }
            return SignalsRenderer(width: Terminal.width(environment: ProcessInfo.processInfo.environment), style: context.style)
                .render(signals)
        }
    }
}

/// `periscope slo [NAME]`: error budgets and burn-rate alerts.
struct SLOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slo",
        abstract: "Show every SLO's budget, burn rates and firing alerts, or one SLO in detail.",
        discussion: """
            Burn rate = error ratio ÷ error budget over a window; 1 spends the budget exactly over the SLO window.
            Alerts page when 1h and 5m both burn above 14.4 (or 6h and 30m above 6) and open a ticket
            when 1d and 2h exceed 3 (or 3d and 6h exceed 1) — thresholds for a 30-day window, scaled for others.

            Examples:
              periscope slo
              periscope slo checkout-availability
              periscope slo --json | jq '.slos[] | select(.alerts[].firing)'
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The SLO to show in detail.")
    var name: String?

    func run() async throws {
        let name = self.name
        try await CommandRunner.run(global) { context in
            let renderer = SLORenderer(width: Terminal.width(environment: ProcessInfo.processInfo.environment), style: context.style)
            if let name {
                let detail = try await context.client.slo(name)
                return context.settings.json ? try JSONOutput.string(detail) : renderer.render(detail)
            }
            let list = try await context.client.slos()
            if context.settings.json { return try JSONOutput.string(list) }
            if list.slos.isEmpty {
                CommandRunner.note("no SLOs: start the collector with --slo slo.yaml")
                return ""
            }
            return renderer.render(list)
        }
    }
}
