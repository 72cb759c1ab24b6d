import Foundation
import Synchronization

/// Reads a process's `VmRSS` from /proc/PID/status every 50 ms on a thread of its own, keeping
/// the largest; `VmHWM` at the end is the kernel's own peak, this is a cross-check of it.
final class RSSSampler: Sendable {
    /// One reading of /proc/PID/status, in KiB.
    struct Reading: Codable, Sendable {
        var rss = 0.0
        /// Anonymous memory (heap, stacks): what the agent itself allocated.
        var anon = 0.0
        /// File-backed pages: the binary and shared libraries (Swift runtime, Foundation, ICU data).
        var file = 0.0
    }

    private struct State {
        var samples = 0
        var peak = Reading()
        var stopped = false
    }

    let pid: Int32
    private let state = Mutex(State())
    private let finished = Mutex(false)

    init(pid: Int32, interval: TimeInterval = 0.05) {
        self.pid = pid
        Thread { [self] in
            while !state.withLock({ $0.stopped }) {
                if let reading = Self.read(pid: pid) {
                    state.withLock {
                        $0.samples += 1
                        if reading.rss > $0.peak.rss { $0.peak = reading }
                    }
                }
                Thread.sleep(forTimeInterval: interval)
            }
            finished.withLock { $0 = true }
        }.start()
    }

    /// Stops sampling; returns the number of samples and the sample with the largest RSS.
    func stop() -> (samples: Int, peak: Reading) {
        state.withLock { $0.stopped = true }
        let deadline = Date().addingTimeInterval(1)
        while !finished.withLock({ $0 }), Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return state.withLock { ($0.samples, $0.peak) }
    }

    static func read(pid: Int32) -> Reading? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var reading = Reading()
        var found = false
        for line in status.split(separator: "\n") {
            let value = { line.split(separator: " ").compactMap { Double($0) }.first ?? 0 }
            if line.hasPrefix("VmRSS:") {
                reading.rss = value()
                found = true
            } else if line.hasPrefix("RssAnon:") {
                reading.anon = value()
            } else if line.hasPrefix("RssFile:") || line.hasPrefix("RssShmem:") {
                reading.file += value()
            }
        }
        return found ? reading : nil
    }

    /// True while /proc has the process and it is not a zombie.
    static func isAlive(pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != nil && state != "Z" && state != "X"
    }
}
