import ArgumentParser
import Foundation
import PeriscopeSDK

/// `periscope-example demo`: starts `backend` as a child process, runs the frontend against it
/// in-process, then stops the child with SIGTERM so it flushes. Every wait is bounded.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run backend (child process) and frontend together against an agent.")

    @OptionGroup var options: FrontendOptions

    @Option(help: "service.name of the backend child.")
    var backendService: String = "inventory"

    @Option(help: "Share of root traces the backend records, 0...1 (default: --sampling-ratio). Requests from the frontend carry its decision, which the backend honours.")
    var backendSamplingRatio: Double?

    @Option(help: "Seconds to wait for the backend to start and to stop.")
    var timeout: Int = 15

    func validate() throws {
        if let backendSamplingRatio, !(0...1).contains(backendSamplingRatio) {
            throw ValidationError("--backend-sampling-ratio must be within 0...1")
        }
    }

    func run() async throws {
        let backend = try BackendChild.start(
            arguments: ["backend", "--listen", "127.0.0.1:0", "--agent", options.agent,
                        "--service", backendService, "--sampling-ratio", String(backendSamplingRatio ?? options.samplingRatio),
                        "--exit-on-stdin-eof"]
                + (options.logFile.map { ["--log-file", $0] } ?? []))
        let outcome: Result<Void, any Error>
        do {
            let address = try await backend.waitForListening(timeout: .seconds(timeout))
            let periscope = try Periscope.bootstrap(options.periscopeConfiguration())
            try await Checkout.run(backend: "http://\(address)", options: options, periscope: periscope)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        let stopped = await backend.stop(timeout: .seconds(timeout))
        try outcome.get()
        if !stopped {
            throw ValidationError("backend did not exit within \(timeout) s of SIGTERM; it was killed")
        }
    }
}

/// The backend child process and its stdout.
final class BackendChild: Sendable {
    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    private let process: Process
    private let input: Pipe
    private let lines: AsyncStream<String>

    private init(process: Process, input: Pipe, lines: AsyncStream<String>) {
        self.process = process
        self.input = input
        self.lines = lines
    }

    /// Starts this same executable with `arguments`; its stdin is a pipe we hold open, so the
    /// child notices (and exits) if we die.
    static func start(arguments: [String]) throws -> BackendChild {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath())
        process.arguments = arguments
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        let reader = output.fileHandleForReading
        // Read the child's stdout on a thread of its own: lines go to the stream, and after the
        // "listening" line is seen they are still drained (to our stderr) so the child never blocks.
        let thread = Thread {
            var buffer = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    continuation.yield(line)
                }
            }
            continuation.finish()
        }
        do {
            try process.run()
        } catch {
            throw StartError(description: "cannot start backend \(executablePath()): \(error)")
        }
        thread.start()
        return BackendChild(process: process, input: input, lines: lines)
    }

    /// Waits for `backend listening on HOST:PORT` and returns `HOST:PORT`.
    func waitForListening(timeout: Duration) async throws -> String {
        let lines = self.lines
        let prefix = "backend listening on "
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                for await line in lines {
                    if line.hasPrefix(prefix) {
                        Task.detached { for await line in lines { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
                        return String(line.dropFirst(prefix.count))
                    }
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
                throw StartError(description: "backend exited before it was listening")
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let address = first else {
                throw StartError(description: "backend did not report 'backend listening on' within \(timeout)")
            }
            return address
        }
    }

    /// Sends SIGTERM and waits for exit; SIGKILL after `timeout`. `false` if it had to be killed.
    func stop(timeout: Duration) async -> Bool {
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        var graceful = true
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            graceful = false
        }
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        return graceful
    }

    private static func executablePath() -> String {
        #if os(Linux)
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return resolved
        }
        #endif
        let argument0 = CommandLine.arguments[0]
        if argument0.contains("/") { return argument0 }
        return Bundle.main.executablePath ?? argument0
    }
}
