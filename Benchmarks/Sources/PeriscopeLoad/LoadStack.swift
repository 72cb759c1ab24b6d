import PeriscopeBenchKit
import Foundation

/// The system under test: a collector, a byte-counting relay in front of it, and an agent that
/// ships through the relay; each on a kernel-chosen loopback port in its own data directory.
final class LoadStack: Sendable {
    /// `periscope-collector --insecure-no-auth` on a free port.
    let collector: ManagedProcess
    /// `periscope-agent`, shipping to the collector through `proxy`.
    let agent: ManagedProcess
    /// Count the bytes the agent ships: one relay per collector URL the agent is given, all in
    /// front of the one collector (with several, the agent cuts batches of spans by trace as it
    /// does for collectors sharing a store).
    let proxies: [CountingProxy]
    /// Bytes shipped through every relay.
    var bytesUpstream: Int { proxies.reduce(0) { $0 + $1.bytesUpstream } }
    /// The collector's data directory, measured for bytes on disk.
    let collectorData: URL

    /// Where clients send OTLP.
    var agentURL: String { "http://127.0.0.1:\(agent.port)" }
    /// Where the query API answers.
    var collectorURL: String { "http://127.0.0.1:\(collector.port)" }

    /// The agent's OTLP/gRPC port, when started with `agentGRPC`.
    let agentGRPCPort: Int?

    /// Starts everything, or stops what started and throws. With `agentGRPC` the agent also
    /// serves OTLP/gRPC on a free port.
    init(binDirectory: URL, work: URL, extraAgentArguments: [String], agentGRPC: Bool = false, collectorRoutes: Int = 1) throws {
        let collectorData = work.appendingPathComponent("collector-data")
        self.collectorData = collectorData
        let agentData = work.appendingPathComponent("agent-data")
        let collector = try ManagedProcess(
            binary: binDirectory.appendingPathComponent("periscope-collector"),
            arguments: ["--listen", "127.0.0.1:0", "--data", collectorData.path, "--insecure-no-auth"]
                + OptionalFlags.ifSupported("--grpc-listen", "off", by: binDirectory.appendingPathComponent("periscope-collector")),
            logDirectory: work)
        do {
            let proxies = try (0..<max(1, collectorRoutes)).map { _ in try CountingProxy(upstreamPort: collector.port) }
            self.proxies = proxies
            let agent = try ManagedProcess(
                binary: binDirectory.appendingPathComponent("periscope-agent"),
                arguments: ["--otlp-listen", "127.0.0.1:0", "--collector", proxies.map { "http://127.0.0.1:\($0.port)" }.joined(separator: ",")]
                    + OptionalFlags.ifSupported(
                        "--otlp-grpc-listen", agentGRPC ? "127.0.0.1:0" : "off", by: binDirectory.appendingPathComponent("periscope-agent"))
                    + ["--data", agentData.path] + extraAgentArguments,
                logDirectory: work)
            self.agent = agent
            do {
                agentGRPCPort = agentGRPC ? try agent.port(ofLineStartingWith: "periscope-agent OTLP/gRPC on ") : nil
            } catch {
                agent.stop()
                throw error
            }
        } catch {
            collector.stop()
            throw error
        }
        self.collector = collector
    }

    /// Stops the agent first (so it does not retry into a stopped collector), then the rest.
    func stop() {
        agent.stop()
        collector.stop()
        for proxy in proxies { proxy.close() }
    }
}
