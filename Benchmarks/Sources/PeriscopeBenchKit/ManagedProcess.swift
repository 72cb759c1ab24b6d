import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One of the main package's release binaries, started for a run and stopped after it.
///
/// Its standard output and error go to files in the work directory (never a pipe that could
/// fill and stall it); `start` waits, bounded, for the `NAME listening on HOST:PORT` line.
public final class ManagedProcess: @unchecked Sendable {
    /// Why a binary could not be brought up.
    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The binary's name, e.g. `periscope-agent`.
    public let name: String
    /// The port from its `listening on` line.
    public let port: Int
    /// The operating-system process ID, for /proc readings.
    public let pid: Int32
    private let process: Process
    private let stdoutURL: URL

    /// Starts `binary` with `arguments` and waits up to `timeout` for its listening line;
    /// with `cpuList` (e.g. `"1"`) it runs under `taskset -c cpuList` (which execs it, so
    /// `pid` is the binary's own).
    public init(binary: URL, arguments: [String], logDirectory: URL, timeout: Duration = .seconds(30),
                cpuList: String? = nil) throws {
        name = binary.lastPathComponent
        let stdoutURL = logDirectory.appendingPathComponent("\(name).stdout")
        let stderrURL = logDirectory.appendingPathComponent("\(name).stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let process = Process()
        if let cpuList {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", cpuList, binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
        self.process = process
        self.stdoutURL = stdoutURL
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

    /// The port of the first stdout line that starts with `prefix` and ends with `:PORT`
    /// (`periscope-agent OTLP/gRPC on 127.0.0.1:PORT`), waiting up to `timeout` for it.
    public func port(ofLineStartingWith prefix: String, timeout: Duration = .seconds(30)) throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
                if let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...]) { return port }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw LaunchError(description: "\(name) printed no line starting with '\(prefix)'")
    }

    /// The port in a `NAME listening on HOST:PORT` line of `output`, if there is one.
    public static func listeningPort(in output: String, name: String) -> Int? {
        for line in output.split(separator: "\n") where line.hasPrefix("\(name) listening on ") {
            if let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...]) { return port }
        }
        return nil
    }

    /// Sends SIGTERM, waits up to `timeout` for the exit, then SIGKILL.
    public func stop(timeout: Duration = .seconds(10)) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}
