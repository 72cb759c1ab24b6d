import Foundation
@testable import PeriscopeAgent
import PeriscopeModel
import Testing

@Suite("Host metrics from /proc")
struct TailHostMetricsTests {
    @Test("parses /proc/stat, meminfo, diskstats, net/dev and a process's stat and io")
    func parsing() throws {
        var snapshot = ProcSnapshot()
        snapshot.parseCPU("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n")
        #expect(snapshot.cpuTotalTicks == 1000 && snapshot.cpuBusyTicks == 150)
        snapshot.parseMemory("MemTotal:        2048 kB\nMemFree:  100 kB\nMemAvailable:    1024 kB\n")
        #expect(snapshot.memoryTotalBytes == 2 << 20 && snapshot.memoryAvailableBytes == 1 << 20)
        snapshot.parseDisks("""
               8       0 sda 100 0 2000 0 50 0 4000 0 0 0 0
               8       1 sda1 100 0 2000 0 50 0 4000 0 0 0 0
               7       0 loop0 100 0 2000 0 50 0 4000 0 0 0 0
            """, isWholeDisk: { $0 == "sda" || $0 == "loop0" })
        #expect(snapshot.diskReadBytes == 2000 * 512 && snapshot.diskWrittenBytes == 4000 * 512)
        snapshot.parseNetwork("""
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0
              eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
            """)
        #expect(snapshot.networkReceivedBytes == 1000 && snapshot.networkTransmittedBytes == 2000)
        let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 200 100 0 0 20 0 1 0 100 1000000 256 18446744073709551615"
        let process = try #require(ProcSnapshot.parseProcess(pid: 42, stat: stat, io: "rchar: 5\nread_bytes: 4096\nwrite_bytes: 8192\n"))
        #expect(process.cpuSeconds == 300 / ProcSnapshot.clockTicksPerSecond)
        #expect(process.residentBytes == 256 * ProcSnapshot.pageSize)
        #expect(process.readBytes == 4096 && process.writtenBytes == 8192)
    }

    @Test("the live /proc of this host gives sane numbers, and the metrics batch has every series")
    func live() throws {
        let pid = getpid()
        let first = ProcSnapshot.read(pid: pid)
        var spin = 0.0
        for index in 0..<2_000_000 { spin += sqrt(Double(index)) }
        withExtendedLifetime(spin) {}  // keeps the busy loop from being optimised away
        let second = ProcSnapshot.read(pid: pid)
        #expect(second.memoryTotalBytes > 0 && second.cpuTotalTicks >= first.cpuTotalTicks)
        #expect(second.process?.residentBytes ?? 0 > 0)
        let batch = HostMetricsSampler.metrics(previous: first, current: second, resource: Resource(serviceName: "h"), startUnixNano: 1, nowUnixNano: 2)
        guard case .metrics(let groups) = batch else { Issue.record("not metrics"); return }
        let names = Set(groups[0].scopes[0].metrics.map(\.name))
        #expect(names.isSuperset(of: ["system.cpu.utilization", "system.memory.usage", "system.memory.limit", "system.disk.io",
                                      "system.network.io", "process.cpu.utilization", "process.cpu.time", "process.memory.usage"]))
    }
}
