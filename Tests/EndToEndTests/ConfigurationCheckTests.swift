import Foundation
import PeriscopeTesting
import Testing

/// `--check`: the real binaries read a configuration, say what it sets or what is wrong with
/// it, and exit without starting (for CI, as `sloth validate` checks Sloth's files).
@Suite("configuration check")
struct ConfigurationCheckTests {
    static func run(_ binary: String, _ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
        let process = try await RunningProcess.run(BinaryLocation.binary(binary), arguments, timeout: .seconds(30))
        return (process.exitCode, process.standardOutput, process.standardError)
    }

    @Test("the collector checks its file, token file and SLO file, prints each SLO as it understood it, and starts nothing; a bad SLO is refused with its line")
    func collector() async throws {
        let directory = try TemporaryDirectory()
        let slos = directory.file("slo.yaml"), tokens = directory.file("tokens.txt"), config = directory.file("collector.yaml")
        try """
            slos:
              - name: checkout-availability
                service: checkout
                operation: POST /checkout
                sli: availability
                objective: 99.9
                labels: {team: payments}
              - name: search-latency
                service: search
                sli: latency
                threshold: 300ms
                objective: 99
                window: 7d
            """.write(to: slos, atomically: true, encoding: .utf8)
        try "first-token\nsecond-token\n".write(to: tokens, atomically: true, encoding: .utf8)
        let data = directory.file("data")
        try """
            listen: 127.0.0.1:1
            data: \(data.path)
            token_file: \(tokens.path)
            slo: \(slos.path)
            alertmanagers: [http://127.0.0.1:9]
            slo_evaluation_interval: 1500ms
            """.write(to: config, atomically: true, encoding: .utf8)
        // Port 1 cannot be bound by a test: the check does not listen.
        let good = try await Self.run("periscope-collector", ["--config", config.path, "--check"])
        #expect(good.status == 0, "\(good.errors)")
        for line in [
            "periscope-collector: the configuration is valid", "listen 127.0.0.1:1", "auth: 2 tokens",
            "2 SLOs, evaluated every 1.5s:",
            "checkout-availability: availability of checkout POST /checkout, 99.9 % over 30d {team=payments}",
            "search-latency: latency ≤ 300ms of search, 99 % over 7d", "alerts to http://127.0.0.1:9",
        ] {
            #expect(good.output.contains(line), "'\(line)' in:\n\(good.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: data.path), "the check creates no data directory")
        #expect(!good.output.contains("first-token") && !good.output.contains("second-token"), "tokens are counted, never printed")

        try """
            slos:
              - name: broken
                service: checkout
                sli: availability
                objective: 120
            """.write(to: slos, atomically: true, encoding: .utf8)
        let bad = try await Self.run("periscope-collector", ["--config", config.path, "--check"])
        #expect(bad.status == 64)
        #expect(bad.errors.contains("slo.yaml") && bad.errors.contains("objective"), "\(bad.errors)")
        #expect(!bad.output.contains("is valid"))
    }

    @Test("the agent checks its file: listeners, collectors, queue, tailed globs and redaction rules; a bad regex is refused")
    func agent() async throws {
        let directory = try TemporaryDirectory()
        let config = directory.file("agent.yaml")
        let data = directory.file("agent-data")
        try """
            otlp_listen: 127.0.0.1:1
            otlp_grpc_listen: "off"
            collector: http://ci:hunter2@127.0.0.1:9
            data: \(data.path)
            queue: {max_size: 64MiB, fsync: 200ms, when_full: drop_oldest}
            tail:
              - include: [/var/log/app/*.log]
                service: checkout
                format: logfmt
                start_at: beginning
            redact:
              - {name: order-id, pattern: "order-[0-9]+"}
            """.write(to: config, atomically: true, encoding: .utf8)
        let good = try await Self.run("periscope-agent", ["--config", config.path, "--check"])
        #expect(good.status == 0, "\(good.errors)")
        for line in [
            "periscope-agent: the configuration is valid", "OTLP/HTTP 127.0.0.1:1, OTLP/gRPC off", "ships to http://***@127.0.0.1:9",
            "queue up to 64 MiB", "when full drop_oldest", "tails /var/log/app/*.log (logfmt, from the beginning, service checkout)",
            "the built-in rules and order-id",
        ] {
            #expect(good.output.contains(line), "'\(line)' in:\n\(good.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: data.path), "the check creates no data directory")
        #expect(!good.output.contains("hunter2"), "a password in a collector URL is not printed")

        let bad = try await Self.run("periscope-agent", ["--config", config.path, "--check", "--redact", "broken=([a-z"])
        #expect(bad.status == 64)
        #expect(bad.errors.contains("broken") && bad.errors.contains("regex"), "\(bad.errors)")
    }
}
