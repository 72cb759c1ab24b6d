import Foundation
import Synchronization

/// A private PostgreSQL 15 server for the tests of one test process: initialised in a
/// temporary directory, listening on a free loopback port (as the `postgres` user when the
/// tests run as root, since PostgreSQL refuses to run as root), stopped and removed when the
/// process exits. Each test takes a database of its own (`createDatabase`).
public final class PostgresServer: Sendable {
    public let port: Int
    public let binDirectory: String
    let directory: URL
    let process: RunningProcess
    /// The process that stops the server if the test process dies without running its exit handlers.
    private let watchdogPID: Int32
    private let databases = Atomic<Int>(0)

    /// The server the tests of this process share, started on first use.
    public static func shared() throws -> PostgresServer {
        try started.get()
    }

    private static let started = Result { try PostgresServer() }

    /// The shared server, started (on first use) on a thread of its own, so that an async test
    /// waiting for it holds no thread of the cooperative pool for the seconds `initdb` takes.
    public static func shared() async throws -> PostgresServer {
        try await Self.offPool { try started.get() }
    }

    /// A new empty database, created without blocking the cooperative pool.
    public func createDatabase() async throws -> String {
        try await Self.offPool { try self.createDatabase() }
    }

    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// Where Debian's PostgreSQL 15 binaries are (`Scripts/install-prerequisites.sh` installs them).
    static func findBinDirectory() throws -> String {
        let candidates = [ProcessInfo.processInfo.environment["PERISCOPE_PG_BIN"], "/usr/lib/postgresql/15/bin"].compactMap { $0 }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate + "/postgres") { return candidate }
        throw RunningProcess.StartError(description: "PostgreSQL 15 is not installed (looked in \(candidates)); run `make prerequisites`")
    }

    private convenience init() throws {
        let binDirectory = try Self.findBinDirectory()
        let (directory, asRoot) = try Self.makeDirectory()
        let data = directory.appendingPathComponent("data").path
        try Self.run(binDirectory + "/initdb", ["-D", data, "-U", "periscope", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"], asPostgres: asRoot)
        try self.init(binDirectory: binDirectory, directory: directory, asRoot: asRoot)
    }

    /// A hot standby of this server (all its databases), streaming from it: a base backup in a
    /// temporary directory of its own, started on another free loopback port.
    public func startReplica() throws -> PostgresServer {
        let (replicaDirectory, asRoot) = try Self.makeDirectory()
        try Self.run(binDirectory + "/pg_basebackup", [
            "-h", "127.0.0.1", "-p", "\(port)", "-U", "periscope", "-D", replicaDirectory.appendingPathComponent("data").path,
            "-R", "-X", "stream", "-c", "fast", "--no-sync",
        ], asPostgres: asRoot)
        return try PostgresServer(binDirectory: binDirectory, directory: replicaDirectory, asRoot: asRoot)
    }

    /// Waits (up to 30 s) until this replica has replayed everything `primary` had written when called.
    public func waitForReplay(of primary: PostgresServer) throws {
        let position = try primary.psql("postgres", "SELECT pg_current_wal_lsn()").trimmingCharacters(in: .whitespacesAndNewlines)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if try psql("postgres", "SELECT pg_last_wal_replay_lsn() >= '\(position)'::pg_lsn").hasPrefix("t") { return }
            usleep(20_000)
        }
        throw RunningProcess.StartError(description: "the replica did not replay up to \(position) in 30 s")
    }

    /// Stops every process of this server (SIGSTOP), as a frozen or partitioned host would: its
    /// connections stay open and nothing answers. `resume` lets them go on.
    public func pause() throws {
        kill(process.processID, SIGSTOP)
        try Self.run("/usr/bin/pkill", ["-STOP", "-P", "\(process.processID)"])
    }

    public func resume() {
        _ = try? Self.run("/usr/bin/pkill", ["-CONT", "-P", "\(process.processID)"])
        kill(process.processID, SIGCONT)
    }

    /// Stops this server at once (immediate shutdown, as a crash would) and waits for it to exit.
    public func stop() {
        PostgresCleanup.unregister(pid: process.processID)
        kill(process.processID, SIGQUIT)
        for _ in 0..<250 where process.isRunning { usleep(20_000) }
        kill(watchdogPID, SIGTERM)
    }

    private static func makeDirectory() throws -> (URL, asRoot: Bool) {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("periscope-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot { try Self.run("/bin/chown", ["postgres:postgres", directory.path]) }
        return (directory, asRoot)
    }

    /// Starts postgres on `directory/data`, on a free loopback port (a few tries, in case another
    /// process takes the port first).
    private init(binDirectory: String, directory: URL, asRoot: Bool) throws {
        self.binDirectory = binDirectory
        self.directory = directory
        let data = directory.appendingPathComponent("data").path
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = FreePort.pick()
            let arguments = [
                binDirectory + "/postgres", "-D", data, "-p", "\(port)", "-k", directory.path,
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200", "-c", "shared_buffers=128MB",
                // pg_basebackup's WAL stream starts after its backup does; under the other tests'
                // writes a checkpoint between the two removed the segment it needed (CI, stop 51).
                "-c", "wal_keep_size=512MB",
            ]
            let process = asRoot
                ? try RunningProcess(URL(fileURLWithPath: "/usr/bin/setpriv"), ["--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + arguments)
                : try RunningProcess(URL(fileURLWithPath: arguments[0]), Array(arguments.dropFirst()))
            if Self.waitUntilReady(process, port: port) {
                self.port = port
                self.process = process
                let pid = process.processID
                PostgresCleanup.register(pid: pid, directory: directory)
                watchdogPID = try Self.watch(server: pid, directory: directory).processIdentifier
                return
            }
            kill(process.processID, SIGKILL)
            lastError = RunningProcess.StartError(description: "postgres did not start on port \(port): \(process.standardError)\(process.standardOutput)")
        }
        throw lastError ?? RunningProcess.StartError(description: "postgres did not start")
    }

    /// A watchdog that outlives a test process that crashed or was killed (no `atexit` then):
    /// once the test process is gone, it stops the server and removes its directory.
    private static func watch(server: Int32, directory: URL) throws -> Process {
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = ["-c", "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; kill -QUIT \(server) 2>/dev/null; sleep 2; rm -rf '\(directory.path)'"]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
        return watchdog
    }

    /// A new empty database; returns its `postgres://` URL.
    public func createDatabase() throws -> String {
        let name = "periscope_test_\(getpid())_\(databases.add(1, ordering: .relaxed).newValue)"
        try Self.run(binDirectory + "/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "periscope", name])
        return url(database: name)
    }

    public func url(database: String) -> String { "postgres://periscope@127.0.0.1:\(port)/\(database)" }

    /// Runs SQL through `psql` against `database`; returns what it printed (unaligned, tuples only).
    @discardableResult
    public func psql(_ database: String, _ sql: String) throws -> String {
        try Self.run(binDirectory + "/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "periscope", "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
    }

    private static func waitUntilReady(_ process: RunningProcess, port: Int) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning { return false }
            // "…ready to accept connections", or "…read-only connections" for a standby.
            if process.standardError.contains("ready to accept") { return true }
            usleep(50_000)
        }
        return false
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = false) throws -> String {
        let process = Process()
        if asPostgres {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw RunningProcess.StartError(description: "\(executable) \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }
}

/// Stops the shared server (immediate shutdown: its backends go with it) and removes its
/// directory when the test process exits.
private enum PostgresCleanup {
    private static let servers = Mutex<[(pid: Int32, directory: URL)]>([])

    /// A server stopped by its test: nothing to do for it at exit (its PID may be another process's by then).
    static func unregister(pid: Int32) {
        servers.withLock { $0.removeAll { $0.pid == pid } }
    }

    static func register(pid: Int32, directory: URL) {
        let first = servers.withLock { servers in
            servers.append((pid, directory))
            return servers.count == 1
        }
        guard first else { return }
        atexit {
            // Replicas first (started later), then the primary they stream from.
            for (pid, directory) in PostgresCleanup.servers.withLock({ $0 }).reversed() {
                kill(pid, SIGQUIT)
                for _ in 0..<100 where kill(pid, 0) == 0 { usleep(20_000) }
                try? FileManager.default.removeItem(at: directory)
            }
        }
    }
}
