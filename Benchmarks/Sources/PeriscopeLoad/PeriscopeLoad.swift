import PeriscopeBenchKit
import ArgumentParser
import Foundation

/// `periscope-load`: starts the release `periscope-collector` and `periscope-agent` on free
/// loopback ports, drives OTLP/HTTP load through the agent, and reports whether everything
/// arrived, how fast, how fresh, and at what CPU, memory, wire and disk cost.
@main
struct PeriscopeLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "periscope-load",
        abstract: "End-to-end load test of periscope-agent and periscope-collector over loopback.")

    @Option(help: "Directory holding the release periscope-agent and periscope-collector.")
    var binDir: String

    @Option(help: "Simulated services, each with its own resource and request stream.")
    var services = 2

    @Option(help: "Spans per second per service.")
    var spansPerSecond = 2000

    @Option(help: "Log records per second per service.")
    var logsPerSecond = 2000

    @Option(help: "Seconds of load.")
    var duration = 20.0

    @Option(help: "Most spans one service sends, whatever the duration.")
    var maxSpans = 1_000_000

    @Option(help: "Spans in each trace (a server root and its children).")
    var spansPerTrace = 4

    @Option(help: "OTLP requests per second per service and signal.")
    var requestsPerSecond = 10

    @Option(help: "Requests one service may have outstanding.")
    var maxInFlight = 16

    @Option(help: "When each tick's requests go: 'together' (every service's traces and logs at the tick, one burst) or 'spread' (each of those streams at its own offset within the tick, as independent exporters' timers fall).")
    var phase: LoadShape.Phase = .together

    @Option(help: "Collector URLs the agent is given, each a relay to the one collector: with more than one the agent cuts batches of spans by trace, as for collectors sharing a store.")
    var collectorRoutes = 1

    @Option(help: "Traces probed for freshness (polled every 10 ms until queryable).")
    var freshnessSamples = 100

    @Option(help: "Seconds to wait after the load for the collector to hold everything.")
    var drainTimeout = 120.0

    @Option(parsing: .singleValue, help: "Extra argument for periscope-agent (repeatable), e.g. --agent-arg=--fsync=never.")
    var agentArg: [String] = []

    @Option(help: "Run this shell command as the client instead of the built-in one (PERISCOPE_AGENT_URL is set).")
    var clientCommand: String?

    @Option(help: "Where the client command sends: agent (default) or collector (straight to the store, as a baseline).")
    var clientTarget = "agent"

    @Flag(help: "The client command may drop spans itself (an SDK at its defaults): report what was stored instead of failing.")
    var clientMayDrop = false

    @Option(help: "Instead of load: send this many one-span requests one at a time, alternately to the agent and straight to the collector, and compare their answer times.")
    var sequentialRequests: Int?

    @Option(help: "Instead of load: make this many spans per second in this process with Periscope's SDK at its defaults, sending to the agent, for --duration seconds.")
    var sdkSpansPerSecond: Int?

    @Option(help: "With --sdk-spans-per-second: log records per second as well.")
    var sdkLogsPerSecond = 0

    @Option(help: "Instead of load: rounds of this many log exports to the agent, alternately over OTLP/HTTP and OTLP/gRPC, compared (records per request --records-per-request, outstanding --max-in-flight).")
    var protocolComparison: Int?

    @Option(help: "With --protocol-comparison: log records in each request.")
    var recordsPerRequest: Int = 100

    @Option(help: "With --protocol-comparison: rounds per protocol.")
    var rounds: Int = 3

    @Option(help: "Where to write the JSON summary as well as stdout.")
    var jsonOut: String?

    @Option(help: "Work directory for data and logs (default: a new one under /tmp, removed afterwards).")
    var workDir: String?

    mutating func run() async throws {
        let shape = LoadShape(
            services: max(1, services), spansPerSecond: max(0, spansPerSecond), logsPerSecond: max(0, logsPerSecond),
            durationSeconds: max(1, duration), maxSpansPerService: max(1, maxSpans), spansPerTrace: max(1, spansPerTrace),
            requestsPerSecond: max(1, requestsPerSecond), maxInFlight: max(1, maxInFlight), phase: phase)
        let keepWork = workDir != nil
        let work = URL(fileURLWithPath: workDir ?? NSTemporaryDirectory() + "periscope-load-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { if !keepWork { try? FileManager.default.removeItem(at: work) } }

        let stack = try LoadStack(
            binDirectory: URL(fileURLWithPath: binDir), work: work, extraAgentArguments: agentArg, agentGRPC: protocolComparison != nil,
            collectorRoutes: collectorRoutes)
        defer { stack.stop() }
        let client = HTTPEndpoints.makeClient(connections: shape.services * shape.maxInFlight + 8)
        let endpoints = HTTPEndpoints(agentURL: stack.agentURL, collectorURL: stack.collectorURL, client: client)
        if let sdkSpansPerSecond {
            let report = await SDKRate(
                spansPerSecond: max(0, sdkSpansPerSecond), logsPerSecond: max(0, sdkLogsPerSecond), seconds: max(1, duration),
                endpoints: endpoints, drainTimeout: .seconds(drainTimeout)).run()
            try? await client.shutdown()
            try emit(report, table: report.table())
            if !report.lossless { throw ExitCode(3) }
            return
        }
        if let protocolComparison, let grpcPort = stack.agentGRPCPort {
            let report = try await ProtocolComparison(
                requests: max(1, protocolComparison), recordsPerRequest: max(1, recordsPerRequest), inFlight: shape.maxInFlight,
                rounds: max(1, rounds), endpoints: endpoints, grpcPort: grpcPort, agentPID: stack.agent.pid).run()
            try? await client.shutdown()
            try emit(report, table: report.table())
            if (report.http + report.grpc).contains(where: { $0.failures > 0 }) { throw ExitCode(2) }
            return
        }
        if let sequentialRequests {
            let report = await SequentialLatency(requests: max(1, sequentialRequests), endpoints: endpoints).run()
            try? await client.shutdown()
            try emit(report, table: report.table())
            if report.agentFailures + report.collectorFailures > 0 { throw ExitCode(2) }
            return
        }
        let run = LoadRun(shape: shape, stack: stack, endpoints: endpoints,
                          freshnessSamples: freshnessSamples, drainTimeout: .seconds(drainTimeout))
        let report: LoadReport
        do {
            guard ["agent", "collector"].contains(clientTarget) else { throw ValidationError("--client-target is agent or collector") }
            report = try await run.execute(clientCommand: clientCommand, clientTarget: clientTarget, clientMayDrop: clientMayDrop, work: work)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()

        print(report.table())
        let json = report.json()
        print(json)
        if let jsonOut { try json.write(toFile: jsonOut, atomically: true, encoding: .utf8) }
        if !report.noLoss {
            FileHandle.standardError.write(Data("periscope-load: data was lost (see accepted / stored)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// Prints a mode's table and its JSON (sorted keys), and writes the JSON to `--json-out`.
    private func emit(_ report: some Encodable, table: String) throws {
        print(table)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        print(json)
        if let jsonOut { try json.write(toFile: jsonOut, atomically: true, encoding: .utf8) }
    }
}

extension LoadShape.Phase: ExpressibleByArgument {}
