import Foundation
import Logging
import PeriscopeCompression
import PeriscopeDelivery
import PeriscopeDiskQueue
import PeriscopeLogLines
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeServer
import ServiceLifecycle

/// The agent's own metrics, exported like any other metric through its own queue: queue
/// depth, bytes, fill ratio and oldest record age (the saturation signal), and delivery
/// counters (shipped, retries, dead letters, drops, damaged records, breaker state).
struct AgentSelfTelemetry: Service {
    let queue: DiskQueue
    let shipper: Shipper
    let interval: Duration
    let resource: Resource
    let logger: Logger
    /// The file tailer's counters, when the agent tails files.
    var tail: TailCounters? = nil
    /// The redactions of logs received over OTLP (the processors stage).
    var receivedLogRedaction: Redactor? = nil
    /// The receiver's budget for request bodies in flight.
    var receiveBudget: RequestMemoryBudget? = nil

    static let scope = InstrumentationScope(name: "periscope-agent", version: "0.1.0")

    let timeline: Timeline
    /// When cumulative sums start: the agent's start.
    let startUnixNano = WallClock.nowUnixNano()

    init(
        queue: DiskQueue, shipper: Shipper, interval: Duration, serviceName: String?, tail: TailCounters? = nil,
        receivedLogRedaction: Redactor? = nil, receiveBudget: RequestMemoryBudget? = nil, timeline: Timeline = .continuous, logger: Logger
    ) {
        self.tail = tail
        self.receiveBudget = receiveBudget
        self.receivedLogRedaction = receivedLogRedaction
        self.timeline = timeline
        self.queue = queue
        self.shipper = shipper
        self.interval = interval
        self.logger = logger
        let host = ProcessInfo.processInfo.hostName
        resource = Resource(
            serviceName: "periscope-agent", instanceID: "\(host):\(getpid())", hostName: host,
            attributes: serviceName.map { [Attribute("periscope.agent.watched_service", .string($0))] } ?? [])
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await timeline.sleep(for: interval)
                report()
            }
        }
    }

    /// Queues the agent's metrics as a batch of its own, shipped like any other.
    func report(nowUnixNano: UInt64 = WallClock.nowUnixNano()) {
        let batch = TelemetryBatch.metrics([
            ResourceMetrics(resource: resource, scopes: [ScopeMetrics(scope: Self.scope, metrics: metrics(nowUnixNano: nowUnixNano))]),
        ])
        let protobuf = OTLPEncoder.encode(batch)
        let encoded = EncodedBatch(id: EncodedBatch.newID(), signal: .metrics, itemCount: batch.itemCount, body: Zstd.compress(protobuf))
        do {
            try queue.append(encoded)
        } catch {
            logger.debug("self-telemetry not queued: \(error)")
        }
    }

    /// Every metric the agent keeps about itself at `nowUnixNano` (cumulative sums since it
    /// started): what `report` queues and `GET /metrics` serves.
    func metrics(nowUnixNano: UInt64 = WallClock.nowUnixNano()) -> [Metric] {
        var metrics = Self.metrics(
            queue: queue.statistics, maxBytes: queue.configuration.maxBytes, shipper: shipper.statistics,
            deadLetters: shipper.deadLetters.usage, startUnixNano: startUnixNano, nowUnixNano: nowUnixNano)
        if let tail {
            metrics += Self.tailMetrics(tail.snapshot, startUnixNano: startUnixNano, nowUnixNano: nowUnixNano)
        }
        if let receivedLogRedaction {
            metrics.append(Metric(
                name: "periscope.agent.received.redactions", unit: "{match}",
                data: .sum(
                    [NumberPoint(startTimeUnixNano: startUnixNano, timeUnixNano: nowUnixNano, value: .int(Int64(receivedLogRedaction.totalRedactions)))],
                    temporality: .cumulative, isMonotonic: true)))
        }
        if let receiveBudget {
            metrics += [
                Metric(name: "periscope.agent.received.inflight_bytes", unit: "By", data: .gauge([
                    NumberPoint(timeUnixNano: nowUnixNano, value: .int(Int64(receiveBudget.bytesHeld))),
                ])),
                Metric(name: "periscope.agent.received.budget_refusals", unit: "{request}", data: .sum(
                    [NumberPoint(startTimeUnixNano: startUnixNano, timeUnixNano: nowUnixNano, value: .int(Int64(receiveBudget.refusals)))],
                    temporality: .cumulative, isMonotonic: true)),
            ]
        }
        return metrics
    }

    /// The metrics for one report; cumulative sums start at the agent's start.
    static func metrics(
        queue: QueueStatistics, maxBytes: Int, shipper: ShipperStatistics, deadLetters: DeadLetterBox.Usage = .init(),
        startUnixNano: UInt64, nowUnixNano: UInt64
    ) -> [Metric] {
        func gauge(_ name: String, _ unit: String, _ value: NumberPoint.Value) -> Metric {
            Metric(name: name, unit: unit, data: .gauge([NumberPoint(timeUnixNano: nowUnixNano, value: value)]))
        }
        func counter(_ name: String, _ unit: String, _ value: Int) -> Metric {
            Metric(name: name, unit: unit, data: .sum(
                [NumberPoint(startTimeUnixNano: startUnixNano, timeUnixNano: nowUnixNano, value: .int(Int64(value)))],
                temporality: .cumulative, isMonotonic: true))
        }
        let oldestAge = queue.oldestRecordUnixNano.map { nowUnixNano > $0 ? Double(nowUnixNano - $0) / 1e9 : 0 } ?? 0
        return [
            gauge("periscope.agent.queue.records", "{batch}", .int(Int64(queue.records))),
            gauge("periscope.agent.queue.bytes", "By", .int(Int64(queue.bytes))),
            gauge("periscope.agent.queue.utilization", "1", .double(maxBytes > 0 ? Double(queue.bytes) / Double(maxBytes) : 0)),
            gauge("periscope.agent.queue.oldest_age", "s", .double(oldestAge)),
            gauge("periscope.agent.queue.segment_files", "{file}", .int(Int64(queue.segmentFiles))),
            gauge("periscope.agent.shipper.breaker_state", "{state}", .int(Int64(shipper.breakerState))),
            gauge("periscope.agent.shipper.collectors_healthy", "{collector}", .int(Int64(shipper.healthyCollectors))),
            gauge("periscope.agent.dead_letters.letters", "{batch}", .int(Int64(deadLetters.letters))),
            gauge("periscope.agent.dead_letters.bytes", "By", .int(Int64(deadLetters.bytes))),
            counter("periscope.agent.queue.appended", "{batch}", queue.appended),
            counter("periscope.agent.queue.dropped", "{batch}", queue.dropped),
            counter("periscope.agent.queue.damaged", "{record}", queue.damaged),
            counter("periscope.agent.shipper.shipped", "{batch}", shipper.shipped),
            counter("periscope.agent.shipper.shipped_items", "{item}", shipper.shippedItems),
            counter("periscope.agent.shipper.retries", "{attempt}", shipper.retries),
            counter("periscope.agent.shipper.dead_letters", "{batch}", shipper.deadLettered),
            counter("periscope.agent.shipper.dead_letters_dropped", "{batch}", shipper.deadLettersDropped),
        ]
    }

    /// The tailer's counters: lines, bytes, parse failures, files, redactions, truncations.
    static func tailMetrics(_ tail: TailStatistics, startUnixNano: UInt64, nowUnixNano: UInt64) -> [Metric] {
        func counter(_ name: String, _ unit: String, _ value: Int) -> Metric {
            Metric(name: name, unit: unit, data: .sum(
                [NumberPoint(startTimeUnixNano: startUnixNano, timeUnixNano: nowUnixNano, value: .int(Int64(value)))],
                temporality: .cumulative, isMonotonic: true))
        }
        return [
            Metric(name: "periscope.agent.tail.files_watched", unit: "{file}", data: .gauge([NumberPoint(timeUnixNano: nowUnixNano, value: .int(Int64(tail.filesWatched)))])),
            counter("periscope.agent.tail.lines_read", "{line}", tail.linesRead),
            counter("periscope.agent.tail.bytes_read", "By", tail.bytesRead),
            counter("periscope.agent.tail.records_sent", "{record}", tail.recordsSent),
            counter("periscope.agent.tail.parse_failures", "{line}", tail.parseFailures),
            counter("periscope.agent.tail.redactions", "{match}", tail.redactions),
            counter("periscope.agent.tail.truncated_lines", "{line}", tail.truncatedLines),
            counter("periscope.agent.tail.unusable_times", "{record}", tail.unusableTimes),
            counter("periscope.agent.tail.paused", "{pause}", tail.backPressurePauses),
        ]
    }
}
