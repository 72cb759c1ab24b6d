import Foundation
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI
import Synchronization

/// A steady, bounded OTLP load for fault tests: each request carries `recordsPerRequest`
/// log records under a trace ID of its own, so the store can be checked request by
/// request — every acknowledged one present exactly once, nothing duplicated.
public final class LogLoad: Sendable {
    public let recordsPerRequest: Int
    private let state = Mutex(State())

    struct State {
        var acknowledged: [TraceID] = []
        var unacknowledged: [TraceID] = []
        var statuses: [Int: Int] = [:]
        var url: String?
    }

    public init(recordsPerRequest: Int = 10) {
        self.recordsPerRequest = recordsPerRequest
    }

    /// Where to send next (a restarted agent may come back on another port); `nil` pauses.
    public func target(_ url: String?) { state.withLock { $0.url = url } }

    public var acknowledged: [TraceID] { state.withLock { $0.acknowledged } }

    /// A load whose acknowledged requests are `traceIDs`, for auditing requests sent another way.
    public func withAcknowledged(_ traceIDs: [TraceID]) -> LogLoad {
        let copy = LogLoad(recordsPerRequest: recordsPerRequest)
        for traceID in traceIDs { copy.record(traceID, status: 200) }
        return copy
    }

    /// Records the outcome of a request sent by the test itself.
    public func record(_ traceID: TraceID, status: Int) {
        state.withLock {
            $0.statuses[status, default: 0] += 1
            if status == 200 { $0.acknowledged.append(traceID) } else { $0.unacknowledged.append(traceID) }
        }
    }
    public var unacknowledged: [TraceID] { state.withLock { $0.unacknowledged } }
    public var statuses: [Int: Int] { state.withLock { $0.statuses } }

    public func request(for traceID: TraceID, sequence: Int) -> [UInt8] {
        let now = WallClock.nowUnixNano()
        let records = (0..<recordsPerRequest).map { index in
            LogRecord(timeUnixNano: now + UInt64(index), severityNumber: .info, body: .string("load \(sequence).\(index)"),
                      attributes: [Attribute("seq", .int(Int64(sequence)))], traceID: traceID, spanID: SpanID(UInt64(index + 1)))
        }
        return OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(serviceName: "load"), scopes: [ScopeLogs(records: records)])]))
    }

    /// Sends requests one after another (with `concurrency` senders) until `duration` passes or `maxRequests` were sent.
    public func run(duration: Duration, maxRequests: Int = 100_000, concurrency: Int = 2, pause: Duration = .milliseconds(5)) async {
        let deadline = ContinuousClock.now + duration
        let counter = SequenceCounter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        let sequence = counter.next(upTo: maxRequests)
                        guard let sequence else { return }
                        guard let url = self.state.withLock({ $0.url }) else {
                            try? await Task.sleep(for: .milliseconds(20))
                            continue
                        }
                        let traceID = TraceID.random()
                        let status: Int
                        do {
                            status = try await TestHTTP.post(url + "/v1/logs", body: self.request(for: traceID, sequence: sequence),
                                                             headers: ["Content-Type": "application/x-protobuf"]).status
                        } catch {
                            status = -1
                        }
                        self.record(traceID, status: status)
                        try? await Task.sleep(for: pause)
                    }
                }
            }
        }
    }
}

/// Reads back what a `LogLoad` sent, through the collector's query API.
public enum StoreAudit {
    public struct Report: Sendable, CustomStringConvertible {
        public var acknowledged = 0
        public var acknowledgedComplete = 0
        public var missing = 0
        public var duplicated = 0
        public var partial = 0
        public var unacknowledgedStored = 0
        public var storedRecords = 0

        public var description: String {
            "acknowledged requests \(acknowledged): complete \(acknowledgedComplete), missing \(missing), duplicated \(duplicated), partial \(partial); unacknowledged but stored \(unacknowledgedStored); log records in store \(storedRecords)"
        }

        public var isExact: Bool { acknowledged == acknowledgedComplete && missing == 0 && duplicated == 0 && partial == 0 }
    }

    public static func logRecordCount(_ collector: CollectorProcess) async throws -> Int {
        try await storedCount(collector, "logs")
    }

    /// A row count from `/api/v1/status` (`spans`, `logs`, …); -1 if it did not answer.
    public static func storedCount(_ collector: CollectorProcess, _ key: String) async throws -> Int {
        let reply = try await TestHTTP.get(collector.url + "/api/v1/status", headers: ["Authorization": "Bearer \(collector.token)"])
        return (try? JSONDecoder().decode([String: Int].self, from: Data(reply.body)))?[key] ?? -1
    }

    /// Waits until the store holds at least `expected` rows of `key` (log records by default)
    /// and stops growing.
    public static func waitForDrain(
        _ collector: CollectorProcess, atLeast expected: Int, of key: String = "logs", timeout: Duration = .seconds(60)
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = -1
        var stableSince = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let count = try await storedCount(collector, key)
            if count != last {
                last = count
                stableSince = .now
            } else if count >= expected && ContinuousClock.now - stableSince > .seconds(1) {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    public static func audit(_ load: LogLoad, collector: CollectorProcess) async throws -> Report {
        try await audit(load, collectors: [collector])
    }

    /// The same audit over several collectors: a request counts as stored as often as all of them hold it.
    public static func audit(_ load: LogLoad, collectors: [CollectorProcess]) async throws -> Report {
        func records(_ traceID: TraceID) async throws -> Int {
            var total = 0
            for collector in collectors { total += try await Self.records(traceID, collector: collector) }
            return total
        }
        var report = Report()
        report.acknowledged = load.acknowledged.count
        for traceID in load.acknowledged {
            let count = try await records(traceID)
            switch count {
            case 0: report.missing += 1
            case load.recordsPerRequest: report.acknowledgedComplete += 1
            case let n where n > load.recordsPerRequest: report.duplicated += 1
            default: report.partial += 1
            }
        }
        for traceID in load.unacknowledged {
            let count = try await records(traceID)
            if count > 0 { report.unacknowledgedStored += 1 }
            if count > load.recordsPerRequest { report.duplicated += 1 }
            if count > 0 && count < load.recordsPerRequest { report.partial += 1 }
        }
        for collector in collectors { report.storedRecords += try await logRecordCount(collector) }
        return report
    }

    static func records(_ traceID: TraceID, collector: CollectorProcess) async throws -> Int {
        let reply = try await TestHTTP.get(collector.url + "/api/v1/logs?trace_id=\(traceID.hex)&limit=1000",
                                           headers: ["Authorization": "Bearer \(collector.token)"])
        return (try JSONDecoder().decode(QueryAPI.Logs.self, from: Data(reply.body))).logs.count
    }
}

/// Resident and peak memory of a process, from /proc.
public enum ProcessMemory {
    /// (VmRSS, VmHWM) in bytes.
    public static func of(_ pid: Int32) -> (resident: Int, peak: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }
                .map { $0 * 1024 }
        }
        guard let resident = field("VmRSS"), let peak = field("VmHWM") else { return nil }
        return (resident, peak)
    }
}

/// Loopback ports for tests, taken from outside the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`). Every server that binds port 0 and every
/// outgoing connection gets its port from inside that range, so a port from here stays free
/// while its server is down: a collector stopped and started again comes back to its own
/// port, not to another test's process that took it meanwhile (which once made an SDK with
/// "no agent" export 416 spans to some other test's server).
public enum FreePort {
    /// Every port handed out in this process: none is handed out twice, so a collector's port
    /// stays its own while it is stopped, even from the other tests' `pick()`.
    private static let given = Mutex<Set<Int>>([])

    /// A port that nothing was bound to a moment ago and no other `pick()` or `closed()` of
    /// this process returned.
    public static func pick() -> Int {
        let socket = boundSocket()
        close(socket.descriptor)
        return socket.port
    }

    /// A port held bound, never listening, until `release()`: a connection to it is refused
    /// for as long as the test needs "nothing listens there".
    public static func closed() -> ClosedPort {
        let socket = boundSocket()
        return ClosedPort(port: socket.port, socket: socket.descriptor)
    }

    private static func boundSocket() -> (port: Int, descriptor: Int32) {
        if let candidates = outsideEphemeralRange() {
            for _ in 0..<1_000 {
                let port = Int.random(in: candidates)
                guard given.withLock({ $0.insert(port).inserted }) else { continue }
                if let socket = bound(port) { return (port, socket) }
            }
        }
        // No room outside the ephemeral range (or all of it taken): the kernel's choice, as
        // before, with the risk that another process takes the port while it is unused.
        print("FreePort: no free port outside the ephemeral range; taking one the kernel picks")
        for _ in 0..<100 {
            guard let socket = bound(0), let port = localPort(socket) else { continue }
            if given.withLock({ $0.insert(port).inserted }) { return (port, socket) }
            close(socket)
        }
        fatalError("no free loopback port after 100 tries")
    }

    /// Ports 10000 and up below the ephemeral range, or above it when it starts too low; nil
    /// when neither leaves 2,000 ports.
    static func outsideEphemeralRange() -> ClosedRange<Int>? {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let (low, high) = bounds.count == 2 ? (bounds[0], bounds[1]) : (32_768, 60_999)
        if low > 12_000 { return 10_000...(low - 1) }
        if high < 63_535 { return (high + 1)...65_535 }
        return nil
    }

    private static func localPort(_ socketFD: Int32) -> Int? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        guard result == 0 else {
            close(socketFD)
            return nil
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A socket bound to 127.0.0.1:`port`, or nil when something holds the port.
    private static func bound(_ port: Int) -> Int32? {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(socketFD)
            return nil
        }
        return socketFD
    }
}

/// A loopback port bound without listening (connections to it are refused), held until `release()`.
public final class ClosedPort: Sendable {
    public let port: Int
    private let socket: Mutex<Int32?>

    init(port: Int, socket: Int32) {
        self.port = port
        self.socket = Mutex(socket)
    }

    public func release() {
        socket.withLock { held in
            if let fd = held { close(fd) }
            held = nil
        }
    }

    deinit { release() }
}

/// Hands out 1, 2, 3, … up to a bound, to concurrent senders.
final class SequenceCounter: Sendable {
    private let value = Mutex(0)

    func next(upTo bound: Int) -> Int? {
        value.withLock { count in
            guard count < bound else { return nil }
            count += 1
            return count
        }
    }
}
