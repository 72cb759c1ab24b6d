import Foundation
import PeriscopeBenchKit
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL 15 server of the benchmark's own, in the work directory on a free loopback
/// port, with Debian's defaults except where named (`settings`): durable (`fsync`,
/// `synchronous_commit` on), so it keeps the promise the SQLite store keeps with `--sync full`.
/// Its CPU is the postmaster's and every backend's, read from /proc.
final class BenchPostgres {
    let port: Int
    let directory: URL
    private let process: Process
    let binDirectory: String
    private let asRoot = getuid() == 0

    static let settings = ["shared_buffers=512MB", "wal_compression=zstd", "max_wal_size=4GB", "checkpoint_timeout=15min"]

    init(work: URL, cpuList: String?) throws {
        binDirectory = ProcessInfo.processInfo.environment["PERISCOPE_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        directory = work.appendingPathComponent("postgres")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if asRoot { try Self.run("/bin/chown", ["-R", "postgres:postgres", work.path]) }
        let data = directory.appendingPathComponent("data").path
        try Self.run(binDirectory + "/initdb", ["-D", data, "-U", "periscope", "-A", "trust", "-E", "UTF8", "--locale=C"], asPostgres: asRoot)
        port = Self.freePort()
        var arguments = [binDirectory + "/postgres", "-D", data, "-p", "\(port)", "-k", directory.path, "-c", "listen_addresses=127.0.0.1"]
        for setting in Self.settings { arguments += ["-c", setting] }
        if asRoot { arguments = ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + arguments }
        if let cpuList { arguments = ["/usr/bin/taskset", "-c", cpuList] + arguments }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let log = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("ready to accept connections") { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ManagedProcess.LaunchError(description: "postgres did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    /// A new database's URL for `--store`.
    func createDatabase(_ name: String) throws -> String {
        try Self.run(binDirectory + "/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "periscope", name])
        return "postgres://periscope@127.0.0.1:\(port)/\(name)"
    }

    /// One value from a query.
    func scalar(_ database: String, _ sql: String) throws -> String {
        try Self.run(binDirectory + "/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "periscope", "-d", database, "-At", "-c", sql])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits (at most `timeout` seconds) until no autovacuum worker has run for a second:
    /// after a bulk ingest, autovacuum works through the new partitions on PostgreSQL's core
    /// while the queries run. Returns the seconds waited.
    func waitForAutovacuum(_ database: String, timeout: Double) throws -> Double {
        let start = Date()
        var quietPolls = 0
        while Date().timeIntervalSince(start) < timeout {
            let workers = Int(try scalar(database, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")) ?? 0
            quietPolls = workers == 0 ? quietPolls + 1 : 0
            if quietPolls >= 4 { break }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return Date().timeIntervalSince(start)
    }

    /// Every byte of Periscope's tables and their indexes and TOAST (`pg_total_relation_size`).
    func storeBytes(_ database: String) throws -> Int {
        Int(try scalar(database, """
            SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'periscope' AND c.relkind = 'r'
            """)) ?? 0
    }

    /// The store's bytes by table (day partitions summed), largest first: heap, TOAST, indexes.
    func storeBreakdown(_ database: String) throws -> String {
        try scalar(database, """
            SELECT string_agg(format('%s %s MiB (heap %s, toast %s, indexes %s)', t, round((h + o + i) / 1048576.0, 1),
                round(h / 1048576.0, 1), round(o / 1048576.0, 1), round(i / 1048576.0, 1)), '; ' ORDER BY h + o + i DESC)
            FROM (SELECT regexp_replace(c.relname, '_d[0-9]+$', '') AS t, sum(pg_relation_size(c.oid)) AS h,
                         sum(pg_total_relation_size(c.oid) - pg_relation_size(c.oid) - pg_indexes_size(c.oid)) AS o,
                         sum(pg_indexes_size(c.oid)) AS i
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'periscope' AND c.relkind = 'r' GROUP BY 1) AS sizes
            WHERE h + o + i > 1048576
            """)
    }

    /// Deadlocks PostgreSQL detected in `database` since it was created.
    func deadlocks(_ database: String) throws -> Int {
        Int(try scalar(database, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")) ?? -1
    }

    /// Samples, every 100 ms until stopped, how many of the server's busy client backends wait
    /// for a heavyweight lock (row, transaction, advisory or table), through one `psql` session.
    final class LockWaitSampler: @unchecked Sendable {
        private let process = Process()
        private let input = Pipe()
        private let output = Pipe()
        private var thread: Thread?
        private let lock = NSLock()
        private var running = true
        private var waiting = 0
        private var busy = 0
        private var byEvent = [String: Int]()

        init(_ server: BenchPostgres, database: String) throws {
            process.executableURL = URL(fileURLWithPath: server.binDirectory + "/psql")
            process.arguments = ["-h", "127.0.0.1", "-p", "\(server.port)", "-U", "periscope", "-d", database, "-At", "-q"]
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let thread = Thread { [self] in
                let query = Data("""
                    SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') || ' ' || count(*) || ' '
                        || coalesce(string_agg(wait_event, ',') FILTER (WHERE wait_event_type = 'Lock'), '') FROM pg_stat_activity
                    WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid();

                    """.utf8)
                var pending = ""
                while lock.withLock({ running }) {
                    input.fileHandleForWriting.write(query)
                    while !pending.contains("\n") {
                        let chunk = output.fileHandleForReading.availableData
                        if chunk.isEmpty { return }
                        pending += String(decoding: chunk, as: UTF8.self)
                    }
                    let line = pending.prefix { $0 != "\n" }
                    pending = String(pending.drop { $0 != "\n" }.dropFirst())
                    let fields = line.split(separator: " ", omittingEmptySubsequences: false)
                    if fields.count >= 2, let waited = Int(fields[0]), let active = Int(fields[1]) {
                        let events = fields.count > 2 ? fields[2].split(separator: ",").map(String.init) : []
                        lock.withLock {
                            waiting += waited
                            busy += active
                            for event in events { byEvent[event, default: 0] += 1 }
                        }
                    }
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }
            self.thread = thread
            thread.start()
        }

        /// Stops sampling; the share of busy-backend samples that waited for a lock, and what
        /// they waited for (`advisory`, `transactionid`, `relation`, … with their sample counts).
        func stop() -> (share: Double, busySamples: Int, events: String) {
            lock.withLock { running = false }
            Thread.sleep(forTimeInterval: 0.3)
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            return lock.withLock {
                (busy > 0 ? Double(waiting) / Double(busy) : 0, busy,
                 byEvent.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            }
        }
    }

    /// CPU seconds of the server: the postmaster's own and its reaped children's, plus every live child's.
    var cpuSeconds: Double {
        let postmaster = serverPID
        var total = Self.cpu(pid: postmaster, includingChildren: true)
        for child in Self.children(of: postmaster) { total += Self.cpu(pid: child, includingChildren: true) }
        return total
    }

    /// The postmaster (under `setpriv`/`taskset`, which exec it, the process itself).
    private var serverPID: Int32 { process.processIdentifier }

    func stop() {
        kill(serverPID, SIGINT)
        process.waitUntilExit()
    }

    private static func children(of parent: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    private static func cpu(pid: Int32, includingChildren: Bool) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        // After the command name: utime, stime, cutime, cstime are indices 11–14.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 14 else { return 0 }
        let ticks = (11...(includingChildren ? 14 : 12)).compactMap { Double(fields[$0]) }.reduce(0, +)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @discardableResult
    private static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: asPostgres ? "/usr/bin/setpriv" : executable)
        process.arguments = asPostgres ? ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", executable] + arguments : arguments
        process.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ManagedProcess.LaunchError(description: "\(executable) \(arguments.joined(separator: " ")): \(output)")
        }
        return output
    }

    private static func freePort() -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
