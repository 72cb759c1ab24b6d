import ArgumentParser
import Foundation
@testable import PeriscopeCollector
import PeriscopeConfig
import PeriscopeServer
import Testing

@Suite("Collector configuration")
struct CollectorConfigurationTests {
    @Test("auth must be chosen explicitly")
    func authIsExplicit() throws {
        let command = try CollectorCommand.parse([])
        #expect(throws: ConfigurationError.self) { try command.resolve() }
        let open = try CollectorCommand.parse(["--insecure-no-auth"]).resolve()
        #expect(open.tokens == nil)
    }

    @Test("reliability settings: sync, concurrency and operation limits, from flags and YAML, refused when nonsense")
    func reliabilitySettings() throws {
        let defaults = try CollectorCommand.parse(["--insecure-no-auth"]).resolve()
        #expect(defaults.durability == .full)
        #expect(defaults.maxConcurrentRequests == 16)
        #expect(defaults.maxOperationsPerService == 2_000)
        let set = try CollectorCommand.parse([
            "--insecure-no-auth", "--sync", "normal", "--max-concurrent-requests", "64", "--max-operations-per-service", "50",
        ]).resolve()
        #expect(set.durability == .normal && set.maxConcurrentRequests == 64 && set.maxOperationsPerService == 50)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let yaml = directory.appendingPathComponent("collector.yaml")
        try "insecure_no_auth: true\nsync: normal\nmax_concurrent_requests: 8\nmax_operations_per_service: 10\n".write(to: yaml, atomically: true, encoding: .utf8)
        let fromFile = try CollectorCommand.parse(["--config", yaml.path]).resolve()
        #expect(fromFile.durability == .normal && fromFile.maxConcurrentRequests == 8 && fromFile.maxOperationsPerService == 10)
        for bad in [["--sync", "sometimes"], ["--max-concurrent-requests", "0"], ["--max-operations-per-service=-3"]] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try CollectorCommand.parse(["--insecure-no-auth"] + bad).resolve() }
        }
    }

    @Test("a store replica: taken with a PostgreSQL store, refused without one or when malformed")
    func storeReplica() throws {
        let both = try CollectorCommand.parse([
            "--insecure-no-auth", "--store", "postgres://p@127.0.0.1:5432/db", "--store-replica", "postgres://p@127.0.0.1:5433/db",
        ]).resolve()
        #expect(both.postgres?.port == 5432 && both.postgresReplica?.port == 5433)
        #expect(throws: ConfigurationError.self) {
            try CollectorCommand.parse(["--insecure-no-auth", "--store-replica", "postgres://p@127.0.0.1:5433/db"]).resolve()
        }
        #expect(throws: ConfigurationError.self) {
            try CollectorCommand.parse(["--insecure-no-auth", "--store", "postgres://p@h/db", "--store-replica", "mysql://h/db"]).resolve()
        }
    }

    @Test("token file, YAML keys, and flags overriding them")
    func fileAndFlags() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokens = directory.appendingPathComponent("tokens")
        try "# comment\nalpha\n\n beta \n".write(to: tokens, atomically: true, encoding: .utf8)
        let yaml = directory.appendingPathComponent("collector.yaml")
        try "listen: 127.0.0.1:5500\ndata: /tmp/x\ntoken_file: \(tokens.path)\nmax_body_bytes: 4096\n".write(to: yaml, atomically: true, encoding: .utf8)
        let fromFile = try CollectorCommand.parse(["--config", yaml.path]).resolve()
        #expect(fromFile.listen == ListenAddress(host: "127.0.0.1", port: 5500))
        #expect(fromFile.dataDirectory == "/tmp/x")
        #expect(fromFile.tokens == ["alpha", "beta"])
        #expect(fromFile.bodyLimits.maxBodyBytes == 4096)
        // Sizes in the file take units, as the flags and the README say.
        let units = directory.appendingPathComponent("units.yaml")
        try "insecure_no_auth: true\nmax_body_bytes: 16MiB\nmax_decompressed_bytes: 1KiB\nmax_inflight_bytes: 320MiB\n".write(to: units, atomically: true, encoding: .utf8)
        let withUnits = try CollectorCommand.parse(["--config", units.path]).resolve()
        #expect(withUnits.bodyLimits.maxBodyBytes == 16 << 20 && withUnits.bodyLimits.maxDecompressedBytes == 1 << 10)
        #expect(withUnits.bodyLimits.inFlightBytes == 320 << 20)
        // The file's numbers are held to the flags' rule: a negative limit once crashed the first empty chunked POST.
        for bad in ["max_body_bytes: -1", "max_body_bytes: 1000", "max_decompressed_bytes: 0", "max_decompressed_bytes: -9223372036854775808",
                    "max_body_bytes: lots", "max_inflight_bytes: 2TiB", "max_body_bytes: 16MiB\nmax_inflight_bytes: 1MiB"] {
            let badYAML = directory.appendingPathComponent("bad.yaml")
            try "insecure_no_auth: true\n\(bad)\n".write(to: badYAML, atomically: true, encoding: .utf8)
            #expect(throws: ConfigurationError.self, "\(bad)") { try CollectorCommand.parse(["--config", badYAML.path]).resolve() }
        }
        let overridden = try CollectorCommand.parse(["--config", yaml.path, "--listen", ":6600", "--data", "/tmp/y"]).resolve()
        #expect(overridden.listen == ListenAddress(host: "0.0.0.0", port: 6600))
        #expect(overridden.dataDirectory == "/tmp/y")
        let limits = try CollectorCommand.parse([
            "--config", yaml.path, "--max-body-bytes", "4MiB", "--max-decompressed-bytes", "32MiB",
            "--index-attribute", "tenant.id", "--index-attribute", "user.id",
        ]).resolve()
        #expect(limits.bodyLimits == BodyLimits(maxBodyBytes: 4 << 20, maxDecompressedBytes: 32 << 20))
        #expect(limits.indexedAttributes.isSuperset(of: ["tenant.id", "user.id", "http.route"]))
        #expect(throws: ConfigurationError.self) { try CollectorCommand.parse(["--insecure-no-auth", "--max-body-bytes", "12"]).resolve() }
    }

    @Test("listen addresses")
    func listenAddresses() {
        #expect(ListenAddress("127.0.0.1:4318") == ListenAddress(host: "127.0.0.1", port: 4318))
        #expect(ListenAddress("[::1]:80") == ListenAddress(host: "::1", port: 80))
        #expect(ListenAddress("nope") == nil)
        #expect(ListenAddress("h:70000") == nil)
    }
}
