import Foundation

/// A scratch directory removed when the value is released.
public final class TemporaryDirectory: Sendable {
    public let url: URL

    public init(_ prefix: String = "periscope-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public var path: String { url.path }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A real `periscope-collector` on a free loopback port with its own data directory.
public struct CollectorProcess: Sendable {
    public let process: RunningProcess
    public let port: Int
    /// The OTLP/gRPC port, unless the arguments turned it off.
    public var grpcPort: Int? = nil
    public let token: String
    public let tokenFile: URL
    public let dataDirectory: URL

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Starts a collector; a restart (same `directory`) keeps the token of the first start.
    /// Without a `port` it takes one from `FreePort`, so that when it is stopped no other
    /// test's process takes its port and it comes back on it.
    /// `extraArguments` go last; `limits` are `prlimit(1)` options it runs under (`--fsize=2097152`).
    public static func start(
        in directory: TemporaryDirectory, port: Int? = nil, dataDirectory: URL? = nil, extraArguments: [String] = [], limits: [String] = []
    ) async throws -> CollectorProcess {
        let tokenFile = directory.file("collector-tokens.txt")
        let token: String
        if let existing = try? String(contentsOf: tokenFile, encoding: .utf8) {
            token = existing.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            token = "test-" + UUID().uuidString
            try (token + "\n").write(to: tokenFile, atomically: true, encoding: .utf8)
        }
        let data = dataDirectory ?? directory.file("collector-data")
        let arguments = [
            "--listen", "127.0.0.1:\(port ?? FreePort.pick())", "--grpc-listen", "127.0.0.1:0", "--data", data.path, "--token-file", tokenFile.path,
            "--log-level", "warning",
        ] + extraArguments
        let binary = BinaryLocation.binary("periscope-collector")
        let process = limits.isEmpty
            ? try RunningProcess(binary, arguments)
            : try RunningProcess(URL(fileURLWithPath: "/usr/bin/prlimit"), limits + ["--", binary.path] + arguments)
        let boundPort = try await process.waitForListeningPort()
        let grpcPort = try await process.waitForGRPCPort(unlessOff: "--grpc-listen", in: extraArguments)
        return CollectorProcess(process: process, port: boundPort, grpcPort: grpcPort, token: token, tokenFile: tokenFile, dataDirectory: data)
    }
}

extension CollectorProcess {
    /// Kills this collector with `kill -9` `times` times, at random moments 0.4–1.2 s apart,
    /// each time restarting it 0.2–0.8 s later on its port and data directory with
    /// `extraArguments`; returns the last one started (the caller stops it).
    public func killedRepeatedly(times: Int, in directory: TemporaryDirectory, extraArguments: [String] = []) async throws -> CollectorProcess {
        var current = self
        for _ in 0..<times {
            try await Task.sleep(for: .milliseconds(Int.random(in: 400...1_200)))
            await current.process.kill9()
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...800)))
            current = try await CollectorProcess.start(
                in: directory, port: current.port, dataDirectory: current.dataDirectory, extraArguments: extraArguments)
        }
        return current
    }
}

/// A real `periscope-agent` on a free loopback port, shipping to a collector.
public struct AgentProcess: Sendable {
    public let process: RunningProcess
    public let port: Int
    /// The OTLP/gRPC receiver's port, unless the arguments turned it off.
    public var grpcPort: Int? = nil

    public var url: String { "http://127.0.0.1:\(port)" }

    /// - Parameter limits: `prlimit(1)` options the agent runs under (`--nofile=128`, `--fsize=262144`).
    public static func start(
        in directory: TemporaryDirectory, collector: CollectorProcess, extraArguments: [String] = [], limits: [String] = []
    ) async throws -> AgentProcess {
        let arguments = [
            "--otlp-listen", "127.0.0.1:0", "--otlp-grpc-listen", "127.0.0.1:0", "--collector", collector.url, "--token-file", collector.tokenFile.path,
            "--data", directory.file("agent-data").path, "--log-level", "warning",
        ] + extraArguments
        let binary = BinaryLocation.binary("periscope-agent")
        // prlimit sets the limits on itself and execs the agent: the process is the agent's.
        let process = limits.isEmpty
            ? try RunningProcess(binary, arguments)
            : try RunningProcess(URL(fileURLWithPath: "/usr/bin/prlimit"), limits + ["--", binary.path] + arguments)
        let port = try await process.waitForListeningPort()
        let grpcPort = try await process.waitForGRPCPort(unlessOff: "--otlp-grpc-listen", in: extraArguments)
        return AgentProcess(process: process, port: port, grpcPort: grpcPort)
    }
}

/// Runs the real `periscope` CLI to completion.
public enum QueryCLI {
    public typealias Result = CompletedProcess

    public static func run(_ arguments: [String], collector: CollectorProcess?, environment: [String: String] = [:]) async throws -> Result {
        var args = arguments
        if let collector { args += ["--collector", collector.url, "--token-file", collector.tokenFile.path] }
        return try await RunningProcess.run(BinaryLocation.binary("periscope"), args, environment: environment)
    }

    /// Runs a `--json` command and decodes its document.
    public static func json<Document: Decodable>(_ type: Document.Type, _ arguments: [String], collector: CollectorProcess) async throws -> Document {
        let result = try await run(arguments + ["--json"], collector: collector)
        guard result.exitCode == 0 else {
            throw RunningProcess.StartError(description: "periscope \(arguments.joined(separator: " ")) exited \(result.exitCode): \(result.standardError)")
        }
        return try result.decode(Document.self)
    }
}
