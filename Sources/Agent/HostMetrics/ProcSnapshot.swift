import Foundation

/// Counters read from /proc at one moment: the host's CPU time, memory, disk and network
/// bytes, and those of one watched process. Utilisation is the difference of two snapshots.
struct ProcSnapshot: Equatable, Sendable {
    struct Process: Equatable, Sendable {
        var pid: Int32
        /// user + system, in seconds.
        var cpuSeconds: Double
        var residentBytes: Int64
        var readBytes: Int64?
        var writtenBytes: Int64?
    }

    var cpuBusyTicks: UInt64 = 0
    var cpuTotalTicks: UInt64 = 0
    var memoryTotalBytes: Int64 = 0
    var memoryAvailableBytes: Int64 = 0
    var diskReadBytes: Int64 = 0
    var diskWrittenBytes: Int64 = 0
    var networkReceivedBytes: Int64 = 0
    var networkTransmittedBytes: Int64 = 0
    var process: Process?
    var monotonicSeconds: Double = 0

    static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    static let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))

    /// Reads the host (and `pid`, when given and alive). Missing files leave fields at zero.
    static func read(pid: Int32?, root: String = "/proc") -> ProcSnapshot {
        var snapshot = ProcSnapshot()
        func text(_ path: String) -> String? { try? String(contentsOfFile: root + path, encoding: .utf8) }
        if let stat = text("/stat") { snapshot.parseCPU(stat) }
        if let meminfo = text("/meminfo") { snapshot.parseMemory(meminfo) }
        if let diskstats = text("/diskstats") { snapshot.parseDisks(diskstats, isWholeDisk: { FileManager.default.fileExists(atPath: "/sys/block/\($0)") }) }
        if let netdev = text("/net/dev") { snapshot.parseNetwork(netdev) }
        if let pid, let stat = text("/\(pid)/stat") {
            snapshot.process = parseProcess(pid: pid, stat: stat, io: text("/\(pid)/io"))
        }
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        snapshot.monotonicSeconds = Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
        return snapshot
    }

    /// The first `cpu` line: user nice system idle iowait irq softirq steal …
    mutating func parseCPU(_ text: String) {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return }
        let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 4 else { return }
        let total = values.prefix(8).reduce(0, +)
        let idle = values[3] + (values.count > 4 ? values[4] : 0)
        cpuTotalTicks = total
        cpuBusyTicks = total - idle
    }

    mutating func parseMemory(_ text: String) {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kib = Int64(parts[1]) else { continue }
            if parts[0] == "MemTotal:" { memoryTotalBytes = kib * 1024 }
            if parts[0] == "MemAvailable:" { memoryAvailableBytes = kib * 1024 }
        }
    }

    /// Sectors (512 bytes) read and written by whole disks (not partitions, loop or ram devices).
    mutating func parseDisks(_ text: String, isWholeDisk: (String) -> Bool) {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 10 else { continue }
            let name = String(parts[2])
            guard !name.hasPrefix("loop"), !name.hasPrefix("ram"), isWholeDisk(name),
                  let read = Int64(parts[5]), let written = Int64(parts[9]) else { continue }
            diskReadBytes += read * 512
            diskWrittenBytes += written * 512
        }
    }

    /// Bytes received and transmitted by every interface but loopback.
    mutating func parseNetwork(_ text: String) {
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            guard name != "lo" else { continue }
            let values = line[line.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true)
            guard values.count >= 9, let received = Int64(values[0]), let transmitted = Int64(values[8]) else { continue }
            networkReceivedBytes += received
            networkTransmittedBytes += transmitted
        }
    }

    /// `/proc/PID/stat` (fields after the `)` of the command name) and `/proc/PID/io`.
    static func parseProcess(pid: Int32, stat: String, io: String?) -> Process? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        // After ")": state(3) ppid(4) … utime(14) stime(15) … rss(24) — index 0 here is field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 21, let utime = Double(fields[11]), let stime = Double(fields[12]), let rssPages = Int64(fields[21]) else { return nil }
        var process = Process(pid: pid, cpuSeconds: (utime + stime) / clockTicksPerSecond, residentBytes: rssPages * pageSize)
        for line in (io ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, let value = Int64(parts[1]) else { continue }
            if parts[0] == "read_bytes:" { process.readBytes = value }
            if parts[0] == "write_bytes:" { process.writtenBytes = value }
        }
        return process
    }
}
