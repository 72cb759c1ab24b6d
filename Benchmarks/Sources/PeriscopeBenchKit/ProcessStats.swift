import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU time and peak memory of a running process, read from Linux's /proc.
public struct ProcessStats: Codable, Sendable {
    /// User plus system CPU seconds so far (`utime + stime` of /proc/PID/stat).
    public var cpuSeconds: Double
    /// Peak resident set size in MiB (`VmHWM` of /proc/PID/status).
    public var peakRSSMiB: Double

    /// Reads the figures for `pid`; zeros when /proc has no such process.
    public static func read(pid: Int32) -> ProcessStats {
        ProcessStats(cpuSeconds: cpuSeconds(pid: pid), peakRSSMiB: peakRSSMiB(pid: pid))
    }

    private static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // After the command name: field 3 (state) is index 0, so utime (14) is 11, stime (15) 12.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func peakRSSMiB(pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kilobytes / 1024
        }
        return 0
    }

    /// Total size in bytes of the regular files under `directory`; SQLite's `-wal` and `-shm`
    /// files are left out when `includingWAL` is false.
    public static func directoryBytes(_ directory: URL, includingWAL: Bool = true) -> Int {
        guard let walker = FileManager.default.enumerator(
            at: directory, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) else { return 0 }
        var total = 0
        for case let url as URL in walker {
            let values = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey])
            let isWAL = url.path.hasSuffix("-wal") || url.path.hasSuffix("-shm")
            if values?.isRegularFile == true, includingWAL || !isWAL { total += values?.fileSize ?? 0 }
        }
        return total
    }
}
