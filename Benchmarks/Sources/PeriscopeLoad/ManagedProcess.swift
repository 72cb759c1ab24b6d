import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One of the main package's release binaries, started for a run and stopped after it.
///
/// Its standard output and error go to files in the work directory (never a pipe that could
/// fill and stall it); `start` waits, bounded, for the `NAME listening on HOST:PORT` line.
final class ManagedProcess: @unchecked Sendable {
    /// Why a binary could not be brought up.
    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }

    /// The binary's name, e.g. `periscope-agent`.
    let name: String
    /// The port from its `listening on` line.
    let port: Int
    /// The operating-system process ID, for /proc readings.
    let pid: Int32
    private let process: Process

    /// Starts `binary` with `arguments` and waits up to `timeout` for its listening line.
    init(binary: URL, arguments: [String], logDirectory: URL, timeout: Duration = .seconds(30)) throws {
        name = binary.lastPathComponent
        let stdoutURL = logDirectory.appendingPathComponent("\(name).stdout")
        let stderrURL = logDirectory.appendingPathComponent("\(name).stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
        self.process = process
        pid = process.processIdentifier

        let deadline = ContinuousClock.now + timeout
        var found: Int?
        while found == nil, ContinuousClock.now < deadline, process.isRunning {
            let text = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
            found = Self.listeningPort(in: text, name: name)
            if found == nil { Thread.sleep(forTimeInterval: 0.02) }
        }
        guard let found else {
            if process.isRunning { process.terminate() }
            let errors = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
            throw LaunchError(description: "\(name) did not print its listening line: \(errors.suffix(2000))")
        }
        port = found
    }

    /// The port in a `NAME listening on HOST:PORT` line of `output`, if there is one.
    static func listeningPort(in output: String, name: String) -> Int? {
        for line in output.split(separator: "\n") where line.hasPrefix("\(name) listening on ") {
            if let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...]) { return port }
        }
        return nil
    }

    /// Sends SIGTERM, waits up to `timeout` for the exit, then SIGKILL.
    func stop(timeout: Duration = .seconds(10)) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}
