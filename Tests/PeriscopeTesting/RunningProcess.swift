import Foundation
import Synchronization

/// A child process whose stdout and stderr are captured line by line, so a test can wait
/// for a line (`listening on …`), read what it printed, stop it gracefully or `kill -9` it.
public final class RunningProcess: Sendable {
    public let name: String
    private let process: Process
    private let stdout = OutputBuffer()
    private let stderr = OutputBuffer()
    /// Where stdout and stderr go instead of pipes, if the caller asked for files.
    private let outputFiles: (stdout: URL, stderr: URL)?

    public struct StartError: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }
    }

    /// Starts `executable`. With `outputDirectory`, stdout and stderr go to files of their own
    /// in it, complete the moment the process has exited: for a program whose output is parsed
    /// whole (`run(_:_:environment:timeout:)` does all of it). Without it they go through
    /// pipes read as they come, for servers a test watches.
    public init(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], currentDirectory: URL? = nil,
        outputDirectory: URL? = nil
    ) throws {
        self.name = executable.lastPathComponent
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.standardInput = FileHandle.nullDevice
        self.process = process
        var opened: [FileHandle] = []
        defer { for handle in opened { try? handle.close() } }
        if let outputDirectory {
            let stem = "\(name)-\(UUID().uuidString.prefix(8))"
            let files = (stdout: outputDirectory.appendingPathComponent("\(stem).stdout"),
                         stderr: outputDirectory.appendingPathComponent("\(stem).stderr"))
            for file in [files.stdout, files.stderr] {
                guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
                    throw StartError(description: "cannot create \(file.path)")
                }
                opened.append(try FileHandle(forWritingTo: file))
            }
            process.standardOutput = opened[0]
            process.standardError = opened[1]
            outputFiles = files
        } else {
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            outputFiles = nil
            stdout.read(out)
            stderr.read(err)
        }
        do {
            try process.run()
        } catch {
            throw StartError(description: "cannot start \(executable.path): \(error)")
        }
        ChildProcesses.register(process.processIdentifier)
    }

    public var processID: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var standardOutput: String { outputFiles.map { Self.contents($0.stdout) } ?? stdout.text }
    public var standardError: String { outputFiles.map { Self.contents($0.stderr) } ?? stderr.text }

    private static func contents(_ file: URL) -> String {
        String(decoding: (try? Data(contentsOf: file)) ?? Data(), as: UTF8.self)
    }

    /// Runs `executable` to its end (killed past `timeout`) and returns all it printed.
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> CompletedProcess {
        let directory = try TemporaryDirectory("periscope-output")
        let process = try RunningProcess(executable, arguments, environment: environment, outputDirectory: directory.url)
        let code = try await process.waitForExit(timeout: timeout)
        return CompletedProcess(exitCode: code, standardOutput: process.standardOutput, standardError: process.standardError)
    }

    /// Waits until a stdout line contains `marker` and returns that line.
    public func waitForLine(containing marker: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        // The output is looked at once more after the deadline: a test process whose cooperative
        // threads were busy for longer than the timeout (other tests' synchronous work) resumes
        // past it, and the line may have been printed long before.
        while true {
            if let line = standardOutput.split(separator: "\n").first(where: { $0.contains(marker) }) {
                return String(line)
            }
            if !process.isRunning {
                throw StartError(description: "\(name) exited (\(process.terminationStatus)) before printing '\(marker)'. stderr:\n\(standardError)")
            }
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw StartError(description: "\(name) did not print '\(marker)' within \(timeout). stderr:\n\(standardError)")
    }

    /// Waits for the port in a `… listening on HOST:PORT` line.
    public func waitForListeningPort(timeout: Duration = .seconds(30)) async throws -> Int {
        let line = try await waitForLine(containing: "listening on", timeout: timeout)
        guard let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw StartError(description: "\(name): no port in '\(line)'")
        }
        return port
    }

    /// The port of the process's `… OTLP/gRPC on HOST:PORT` line; nil when `flag off` is among
    /// `arguments` (the last occurrence of the flag wins, as for the programs).
    public func waitForGRPCPort(unlessOff flag: String, in arguments: [String], timeout: Duration = .seconds(30)) async throws -> Int? {
        if let index = arguments.lastIndex(of: flag), arguments.indices.contains(index + 1), arguments[index + 1] == "off" { return nil }
        let line = try await waitForLine(containing: "OTLP/gRPC on", timeout: timeout)
        guard let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw StartError(description: "\(name): no port in '\(line)'")
        }
        return port
    }

    /// Waits for the process to exit by itself and returns its exit status.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        var exited: Int32?
        while process.isRunning {
            // The kernel's word, should Foundation miss the child's exit: a child that exited
            // and was not reaped yet is looked at without being reaped (`WNOWAIT`).
            if let status = Self.exitStatusUnreaped(process.processIdentifier) {
                exited = status
                break
            }
            guard ContinuousClock.now < deadline else {
                let state = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? "(no /proc entry)"
                kill(process.processIdentifier, SIGKILL)
                throw StartError(description: "\(name) did not exit within \(timeout); killed. /proc stat: \(state)\nstderr:\n\(standardError)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        ChildProcesses.unregister(process.processIdentifier)
        // Read what the pipes still hold, to their end (a child of the child may keep one open: not for
        // ever). The handlers run on dispatch's threads, which a loaded test process may reach late
        // (a CLI's JSON once failed to decode, exit 0, with 5 s here while 113 tests ran beside it;
        // a short drain is one way that happens).
        let drained = ContinuousClock.now + .seconds(20)
        while outputFiles == nil, !(stdout.isClosed && stderr.isClosed), ContinuousClock.now < drained {
            try await Task.sleep(for: .milliseconds(5))
        }
        return exited ?? process.terminationStatus
    }

    /// The exit status of child `pid` if it has exited and is not reaped yet (a signal's
    /// death as Foundation reports it, the signal number); nil while it runs.
    private static func exitStatusUnreaped(_ pid: Int32) -> Int32? {
        #if !canImport(Glibc)
        return nil
        #else
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info.si_signo == SIGCHLD,
              info._sifields._sigchld.si_pid == pid else { return nil }
        return info._sifields._sigchld.si_status
        #endif
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    public func stop(grace: Duration = .seconds(10)) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        _ = try? await waitForExit(timeout: .seconds(5))
    }

    /// `kill -9`: no chance to flush or clean up.
    public func kill9() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = try? await waitForExit(timeout: .seconds(5))
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// What a program run to its end printed, and how it ended.
public struct CompletedProcess: Sendable {
    public var exitCode: Int32
    public var standardOutput: String
    public var standardError: String

    /// Decodes stdout as `Document`; when it is not one, the error shows what stdout held.
    public func decode<Document: Decodable>(_ type: Document.Type) throws -> Document {
        do {
            return try JSONDecoder().decode(Document.self, from: Data(standardOutput.utf8))
        } catch {
            throw RunningProcess.StartError(description: """
                stdout (\(standardOutput.utf8.count) bytes, exit \(exitCode)) is not a \(Document.self): \(error)
                begins: \(standardOutput.prefix(300))
                ends: \(standardOutput.suffix(300))
                stderr: \(standardError.suffix(500))
                """)
        }
    }
}

/// Bytes a pipe delivered so far, shared between the reading handler and the test.
final class OutputBuffer: Sendable {
    private let data = Mutex(Data())
    private let closed = Mutex(false)

    /// Appends what `pipe` delivers as it comes, until its end.
    func read(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                close()
                handle.readabilityHandler = nil
            } else {
                append(chunk)
            }
        }
    }

    func append(_ chunk: Data) { data.withLock { $0.append(chunk) } }

    /// The pipe reached its end: everything the child wrote is in.
    func close() { closed.withLock { $0 = true } }
    var isClosed: Bool { closed.withLock { $0 } }

    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// Every child a test started, killed when the test process exits — so a test that fails
/// (or stops its children from a task that never runs) leaves no server behind.
enum ChildProcesses {
    private static let pids = Mutex<Set<Int32>>([])
    private static let installed: Void = {
        atexit {
            ChildProcesses.killAll()
        }
    }()

    static func register(_ pid: Int32) {
        _ = installed
        pids.withLock { _ = $0.insert(pid) }
    }

    static func unregister(_ pid: Int32) {
        pids.withLock { _ = $0.remove(pid) }
    }

    static func killAll() {
        for pid in pids.withLock({ $0 }) { kill(pid, SIGKILL) }
    }
}
