import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a figure depends on besides the code: the CPU, how many logical CPUs share a core, and
/// what else used the machine while the benchmark ran. Every report prints and saves one, so a
/// later run — on another machine of the same kind, or on this one while something else runs —
/// can tell the machine's share of a difference from the code's.
public struct MachineReport: Codable, Sendable {
    /// `model name` of /proc/cpuinfo.
    public var cpuModel: String
    public var logicalCPUs: Int
    /// Logical CPUs per physical core (`thread_siblings_list` of cpu0): 2 means SMT siblings
    /// share a core's execution units, so load on one slows the other.
    public var threadsPerCore: Int
    public var kernel: String
    /// One-minute load average when the run started.
    public var loadAverageAtStart: Double
    /// Wall-clock seconds of the run.
    public var seconds: Double
    /// CPU-seconds every CPU spent busy during the run (/proc/stat: all but idle and iowait).
    public var busyCPUSeconds: Double
    /// CPU-seconds of the processes the benchmark measured, this tool included.
    public var measuredCPUSeconds: Double
    /// `busy − measured`: what other processes (and the kernel's own threads) used meanwhile.
    public var otherCPUSeconds: Double
    /// Time the hypervisor gave this machine's CPUs to others, in % of all CPU time.
    public var stealPercent: Double
    /// Page cache and available memory at the start (/proc/meminfo), MiB.
    public var pageCacheMiBAtStart: Double
    public var availableMiBAtStart: Double

    /// One line for the printed report.
    public var summary: String {
        String(format: "%@, %d logical CPUs (%d per core), kernel %@; load average %.2f at start; during %.1f s: %.2f CPU-s busy, %.2f measured, %.2f other, steal %.1f %%; page cache %.0f MiB, available %.0f MiB",
               cpuModel, logicalCPUs, threadsPerCore, kernel, loadAverageAtStart, seconds, busyCPUSeconds,
               measuredCPUSeconds, otherCPUSeconds, stealPercent, pageCacheMiBAtStart, availableMiBAtStart)
    }
}

/// Watches the machine from `init` to `finish`, for a `MachineReport`.
public struct MachineWatch: Sendable {
    private let started = ContinuousClock.now
    private let startTicks: CPUTicks
    private let selfCPUAtStart: Double
    private let loadAverage: Double
    private let memory: (cache: Double, available: Double)

    public init() {
        startTicks = CPUTicks.read()
        selfCPUAtStart = ProcessStats.read(pid: getpid()).cpuSeconds
        loadAverage = Self.loadAverage()
        memory = Self.memory()
    }

    /// The report, given the CPU-seconds the measured processes (other than this one) used
    /// since `init`.
    public func finish(measuredCPUSeconds: Double) -> MachineReport {
        let ticks = CPUTicks.read()
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let busy = Double(ticks.busy &- startTicks.busy) / hertz
        let total = Double(ticks.total &- startTicks.total)
        let steal = total > 0 ? Double(ticks.steal &- startTicks.steal) / total * 100 : 0
        let measured = measuredCPUSeconds + (ProcessStats.read(pid: getpid()).cpuSeconds - selfCPUAtStart)
        let elapsed = ContinuousClock.now - started
        return MachineReport(
            cpuModel: Self.cpuModel(), logicalCPUs: ProcessInfo.processInfo.activeProcessorCount,
            threadsPerCore: Self.threadsPerCore(), kernel: Self.kernel(), loadAverageAtStart: loadAverage,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            busyCPUSeconds: busy, measuredCPUSeconds: measured, otherCPUSeconds: max(0, busy - measured),
            stealPercent: steal, pageCacheMiBAtStart: memory.cache, availableMiBAtStart: memory.available)
    }

    /// Summed jiffies of the `cpu` line of /proc/stat.
    private struct CPUTicks: Sendable {
        var busy: UInt64 = 0
        var total: UInt64 = 0
        var steal: UInt64 = 0

        static func read() -> CPUTicks {
            guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
                  let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return CPUTicks() }
            // user nice system idle iowait irq softirq steal (guest time is already in user).
            let fields = line.split(separator: " ").dropFirst().prefix(8).map { UInt64($0) ?? 0 }
            guard fields.count == 8 else { return CPUTicks() }
            let total = fields.reduce(0, &+)
            return CPUTicks(busy: total &- fields[3] &- fields[4] &- fields[7], total: total, steal: fields[7])
        }
    }

    private static func cpuModel() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// Counts "0,1", "0-1" and "0" forms of a sibling list.
    private static func threadsPerCore() -> Int {
        guard let list = try? String(contentsOfFile: "/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", encoding: .utf8) else { return 1 }
        var count = 0
        for part in list.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            count += bounds.count == 2 && bounds[1] >= bounds[0] ? bounds[1] - bounds[0] + 1 : 1
        }
        return max(1, count)
    }

    private static func kernel() -> String {
        (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }

    private static func loadAverage() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return 0 }
        return text.split(separator: " ").first.flatMap { Double($0) } ?? 0
    }

    private static func memory() -> (cache: Double, available: Double) {
        guard let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return (0, 0) }
        func mebibytes(_ key: String) -> Double {
            guard let line = info.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
            return (line.split(separator: " ").compactMap { Double($0) }.first ?? 0) / 1024
        }
        return (mebibytes("Cached"), mebibytes("MemAvailable"))
    }
}
