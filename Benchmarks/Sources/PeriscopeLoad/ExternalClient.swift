import PeriscopeBenchKit
import Foundation

/// Runs another OTLP client (the Python opentelemetry-sdk peer) against the agent instead of
/// the built-in driver. It gets the agent's URL in `PERISCOPE_AGENT_URL` and must print, as its
/// last stdout line, a JSON object of numbers including `spans` (and optionally `logs`).
/// `PERISCOPE_AGENT_URL` may point at the collector instead, to compare sending through the
/// agent with sending straight to the store.
enum ExternalClient {
    /// Runs `command` with `/bin/sh -c`, bounded by `timeout`; returns its numbers.
    static func run(command: String, agentURL: String, workDirectory: URL, timeout: Duration) throws -> [String: Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        environment["PERISCOPE_AGENT_URL"] = agentURL
        process.environment = environment
        let outputURL = workDirectory.appendingPathComponent("client.stdout")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw ManagedProcess.LaunchError(description: "client command timed out: \(command)")
        }
        let output = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0,
              let line = output.split(separator: "\n").last,
              let numbers = try? JSONDecoder().decode([String: Double].self, from: Data(line.utf8)) else {
            throw ManagedProcess.LaunchError(description: "client command failed (\(process.terminationStatus)): \(output.suffix(1000))")
        }
        return numbers
    }
}
