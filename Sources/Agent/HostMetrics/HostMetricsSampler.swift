import Foundation
import Logging
import PeriscopeModel
import ServiceLifecycle

/// Samples the host and a watched process from /proc every `interval` and sends OTLP metrics
/// through the agent's sink: the saturation/utilisation half of the golden signals.
/// Names follow the OpenTelemetry system and process semantic conventions
/// (https://opentelemetry.io/docs/specs/semconv/system/system-metrics/).
struct HostMetricsSampler: Service {
    let sink: any BatchSink
    let interval: Duration
    let watchedPID: Int32?
    let resource: Resource
    let timeline: Timeline
    let logger: Logger

    static let scope = InstrumentationScope(name: "periscope-agent.host", version: "0.1.0")

    init(
        sink: any BatchSink, interval: Duration = .seconds(10), watchedPID: Int32?, serviceName: String?,
        timeline: Timeline = .continuous, logger: Logger
    ) {
        self.sink = sink
        self.timeline = timeline
        self.interval = interval
        self.watchedPID = watchedPID
        self.logger = logger
        let host = ProcessInfo.processInfo.hostName
        resource = Resource(serviceName: serviceName ?? host, hostName: host)
    }

    func run() async throws {
        let start = WallClock.nowUnixNano()
        try? await cancelWhenGracefulShutdown {
            var previous = ProcSnapshot.read(pid: watchedPID)
            while !Task.isCancelled {
                try await timeline.sleep(for: interval)
                let current = ProcSnapshot.read(pid: watchedPID)
                let batch = Self.metrics(previous: previous, current: current, resource: resource,
                                         startUnixNano: start, nowUnixNano: WallClock.nowUnixNano())
                previous = current
                do {
                    try await sink.accept(OTLPRequestPayload(batch: batch, protobuf: nil))
                } catch {
                    logger.debug("host metrics not queued: \(error)")
                }
            }
        }
    }

    static func metrics(previous: ProcSnapshot, current: ProcSnapshot, resource: Resource, startUnixNano: UInt64, nowUnixNano: UInt64) -> TelemetryBatch {
        func gauge(_ name: String, _ unit: String, _ value: NumberPoint.Value, _ attributes: [Attribute] = []) -> Metric {
            Metric(name: name, unit: unit, data: .gauge([NumberPoint(attributes: attributes, timeUnixNano: nowUnixNano, value: value)]))
        }
        func sum(_ name: String, _ unit: String, _ points: [(Int64, [Attribute])]) -> Metric {
            Metric(name: name, unit: unit, data: .sum(
                points.map { NumberPoint(attributes: $0.1, startTimeUnixNano: startUnixNano, timeUnixNano: nowUnixNano, value: .int($0.0)) },
                temporality: .cumulative, isMonotonic: true))
        }
        let direction = { (value: String) in [Attribute("direction", .string(value))] }
        let totalTicks = current.cpuTotalTicks &- previous.cpuTotalTicks
        let busyTicks = current.cpuBusyTicks &- previous.cpuBusyTicks
        let cpu = totalTicks > 0 && current.cpuTotalTicks >= previous.cpuTotalTicks ? min(1, Double(busyTicks) / Double(totalTicks)) : 0
        let used = max(0, current.memoryTotalBytes - current.memoryAvailableBytes)
        var metrics = [
            gauge("system.cpu.utilization", "1", .double(cpu)),
            gauge("system.memory.usage", "By", .int(used), [Attribute("state", .string("used"))]),
            gauge("system.memory.limit", "By", .int(current.memoryTotalBytes)),
            gauge("system.memory.utilization", "1", .double(current.memoryTotalBytes > 0 ? Double(used) / Double(current.memoryTotalBytes) : 0)),
            sum("system.disk.io", "By", [(current.diskReadBytes, direction("read")), (current.diskWrittenBytes, direction("write"))]),
            sum("system.network.io", "By", [(current.networkReceivedBytes, direction("receive")), (current.networkTransmittedBytes, direction("transmit"))]),
        ]
        if let process = current.process {
            let pid = [Attribute("process.pid", .int(Int64(process.pid)))]
            let elapsed = current.monotonicSeconds - previous.monotonicSeconds
            let cores = Double(max(1, ProcessInfo.processInfo.activeProcessorCount))
            if let before = previous.process, before.pid == process.pid, elapsed > 0 {
                let utilization = max(0, process.cpuSeconds - before.cpuSeconds) / elapsed / cores
                metrics.append(gauge("process.cpu.utilization", "1", .double(utilization), pid))
            }
            metrics.append(Metric(name: "process.cpu.time", unit: "s", data: .sum(
                [NumberPoint(attributes: pid, startTimeUnixNano: startUnixNano, timeUnixNano: nowUnixNano, value: .double(process.cpuSeconds))],
                temporality: .cumulative, isMonotonic: true)))
            metrics.append(gauge("process.memory.usage", "By", .int(process.residentBytes), pid))
            if let read = process.readBytes, let written = process.writtenBytes {
                metrics.append(sum("process.disk.io", "By", [(read, pid + direction("read")), (written, pid + direction("write"))]))
            }
        }
        return .metrics([ResourceMetrics(resource: resource, scopes: [ScopeMetrics(scope: scope, metrics: metrics)])])
    }
}
