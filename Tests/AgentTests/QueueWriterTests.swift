import Foundation
import Logging
@testable import PeriscopeAgent
import PeriscopeCompression
import PeriscopeDelivery
import PeriscopeDiskQueue
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeTesting
import Testing

@Suite("Queue writer (group commit)")
struct QueueWriterTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("writer-\(UUID().uuidString)").path

    func queue(maxBytes: Int = 64 << 20) throws -> DiskQueue {
        var configuration = DiskQueueConfiguration()
        configuration.maxBytes = maxBytes
        return try DiskQueue(directory: directory, configuration: configuration, logger: Logger(label: "test"))
    }

    func logs(_ n: Int, service: String = "svc") -> OTLPRequestPayload {
        let batch = TelemetryBatch.logs([ResourceLogs(resource: Resource(serviceName: service), scopes: [ScopeLogs(records: (0..<n).map {
            LogRecord(timeUnixNano: UInt64($0 + 1), body: .string("line \($0)"))
        })])])
        return OTLPRequestPayload(batch: batch, protobuf: OTLPEncoder.encode(batch, format: .protobuf))
    }

    func spans(_ n: Int) -> OTLPRequestPayload {
        let batch = TelemetryBatch.traces([ResourceSpans(resource: Resource(serviceName: "svc"), scopes: [ScopeSpans(spans: (0..<n).map {
            Span(traceID: TraceID(high: 1, low: UInt64($0 + 1)), spanID: SpanID(UInt64($0 + 1)), name: "op", startTimeUnixNano: 1, endTimeUnixNano: 2)
        })])])
        return OTLPRequestPayload(batch: batch, protobuf: OTLPEncoder.encode(batch, format: .protobuf))
    }

    /// Waits (yielding, bounded) until `count` requests wait for the next write.
    func waitForPending(_ writer: QueueWriter, _ count: Int) async -> Bool {
        for _ in 0..<100_000 {
            if await writer.pendingCount >= count { return true }
            await Task.yield()
        }
        return false
    }

    /// A log record whose body is random hex: zstd can shrink it only to about half.
    func incompressibleLogs(bytes: Int) -> OTLPRequestPayload {
        var generator = SystemRandomNumberGenerator()
        let text = (0..<(bytes / 16)).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
        let batch = TelemetryBatch.logs([ResourceLogs(resource: Resource(serviceName: "svc"), scopes: [ScopeLogs(records: [
            LogRecord(timeUnixNano: 1, body: .string(text)),
        ])])])
        return OTLPRequestPayload(batch: batch, protobuf: OTLPEncoder.encode(batch, format: .protobuf))
    }

    func drain(_ queue: DiskQueue) -> [EncodedBatch] {
        var out = [EncodedBatch]()
        while let (record, batch) = queue.take() {
            out.append(batch)
            queue.acknowledge(record)
        }
        return out
    }

    func serviceNames(_ batch: EncodedBatch) throws -> [String] {
        let decoded = try OTLPDecoder().decode(.logs, try Zstd.decompress(batch.body, limit: 1 << 24), format: .protobuf)
        guard case .logs(let groups) = decoded.batch else {
            Issue.record("expected logs, got \(decoded.batch.signal)")
            return []
        }
        return groups.map(\.resource.serviceName)
    }

    @Test("a request encoded here (from OTLP/JSON) that the collector would count past its element limit is refused, and nothing is queued")
    func reencodedPastElementLimit() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration(), timeline: Timeline(ManualClock()))
        // A histogram point of 2^20 bounds and 2^20 + 1 counts: as OTLP/JSON a handful of objects, as protobuf past the
        // limit, since each value of a repeated number counts.
        let bounds = 1 << 20
        let batch = TelemetryBatch.metrics([ResourceMetrics(resource: Resource(serviceName: "s"), scopes: [ScopeMetrics(metrics: [
            Metric(name: "h", data: .histogram([HistogramPoint(
                timeUnixNano: 1, count: 0, bucketCounts: [UInt64](repeating: 0, count: bounds + 1), explicitBounds: (0..<bounds).map(Double.init))],
                temporality: .cumulative)),
        ])])])
        await #expect(throws: DeliveryError.self) { try await writer.accept(OTLPRequestPayload(batch: batch, protobuf: nil)) }
        #expect(queue.statistics.records == 0)
        // Larger as protobuf than the agent's own decompressed-body limit: refused with 413, not queued.
        let small = QueueWriter(queue: queue, configuration: BatchingConfiguration(), maxRequestBytes: 2 << 20, timeline: Timeline(ManualClock()))
        let large = TelemetryBatch.logs([ResourceLogs(resource: Resource(serviceName: "s"), scopes: [ScopeLogs(records: (0..<3).map {
            LogRecord(timeUnixNano: UInt64($0 + 1), body: .string(String(repeating: "y", count: 1 << 20)))
        })])])
        await #expect {
            try await small.accept(OTLPRequestPayload(batch: large, protobuf: nil))
        } throws: { error in
            guard case .rejected(413, let message) = error as? DeliveryError else { return false }
            return message.contains("more than 2097152")
        }
        #expect(queue.statistics.records == 0)
        try await writer.accept(logs(1))
        #expect(queue.statistics.records == 1)
    }

    @Test("with nothing in progress a request is written at once, on its own: no clock needed")
    func writesAtOnce() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue()
        let clock = ManualClock()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration(), timeline: Timeline(clock))
        for n in 1...5 {
            try await writer.accept(logs(1, service: "s\(n)"))
            #expect(queue.statistics.records == n)
        }
        #expect(clock.sleeperCount == 0)
        let batches = drain(queue)
        #expect(try batches.map { try serviceNames($0) } == (1...5).map { ["s\($0)"] })
    }

    @Test("requests arriving while a write waits join it: one batch, their union")
    func joinsWaitingWrite() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue()
        let clock = ManualClock()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration(maxDelay: .milliseconds(50)), timeline: Timeline(clock))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.accept(logs(1, service: "leader")) }
            #expect(await clock.waitForSleepers(1))
            for n in 0..<5 {
                group.addTask { try await writer.accept(logs(2, service: "s\(n)")) }
            }
            #expect(await waitForPending(writer, 6))
            // Nothing is written before the wait ends.
            #expect(queue.statistics.records == 0)
            clock.advance(by: .milliseconds(50))
            try await group.waitForAll()
        }
        let batches = drain(queue)
        #expect(batches.count == 1)
        let batch = try #require(batches.first)
        #expect(batch.itemCount == 11)
        #expect(Set(try serviceNames(batch)) == Set(["leader"] + (0..<5).map { "s\($0)" }))
    }

    @Test("a large request is a zstd frame of its own: joined with small ones, the batch holds every request in arrival order")
    func largeRequestsAreFramesOfTheirOwn() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue()
        let clock = ManualClock()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration(maxDelay: .milliseconds(50)), timeline: Timeline(clock))
        let large = logs(4000, service: "large")
        #expect(try #require(large.protobuf).count >= BatchCompressor.ownFrameBytes)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.accept(logs(1, service: "leader")) }
            #expect(await clock.waitForSleepers(1))
            group.addTask { try await writer.accept(large) }
            #expect(await waitForPending(writer, 2))
            group.addTask { try await writer.accept(logs(2, service: "after")) }
            #expect(await waitForPending(writer, 3))
            clock.advance(by: .milliseconds(50))
            try await group.waitForAll()
        }
        let batches = drain(queue)
        #expect(batches.count == 1)
        let batch = try #require(batches.first)
        #expect(batch.itemCount == 4003)
        #expect(try serviceNames(batch) == ["leader", "large", "after"])
        // Three frames, not one: a single-frame read stops at the first frame's stated size.
        #expect(throws: CompressionError.self) {
            try batch.body.withUnsafeBytes { try Zstd.decompressFrame($0, limit: 1 << 24) }
        }
    }

    @Test("a leader whose client hangs up still writes the group: every request in it is queued and answered")
    func cancelledLeaderStillWrites() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue()
        let clock = ManualClock()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration(maxDelay: .milliseconds(50)), timeline: Timeline(clock))
        let leader = Task { try await writer.accept(logs(1, service: "leader")) }
        #expect(await clock.waitForSleepers(1))
        let followers = (0..<2).map { n in Task { try await writer.accept(logs(1, service: "s\(n)")) } }
        #expect(await waitForPending(writer, 3))
        leader.cancel()
        clock.advance(by: .milliseconds(50))
        for follower in followers { try await follower.value }
        try await leader.value
        let batches = drain(queue)
        #expect(batches.map(\.itemCount) == [3])
        #expect(Set(try serviceNames(try #require(batches.first))) == ["leader", "s0", "s1"])
    }

    @Test("a wait for more requests ends as soon as they fill a batch, without the clock moving")
    func fullGroupEndsTheWait() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue()
        let clock = ManualClock()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration(maxItems: 4, maxDelay: .seconds(3600)), timeline: Timeline(clock))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.accept(logs(1)) }
            #expect(await clock.waitForSleepers(1))
            for _ in 0..<3 { group.addTask { try await writer.accept(logs(1)) } }
            try await group.waitForAll()
        }
        #expect(drain(queue).map(\.itemCount) == [4])
    }

    @Test("requests joined past what the queue takes in one record are queued one by one instead of refused")
    func joinedTooLarge() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue(maxBytes: 8192)
        let clock = ManualClock()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration(maxDelay: .seconds(1)), timeline: Timeline(clock))
        let first = incompressibleLogs(bytes: 12000)
        let second = incompressibleLogs(bytes: 12000)
        let all = await withTaskGroup(of: Result<Void, DeliveryError>.self) { group in
            for request in [first, second] {
                group.addTask {
                    do throws(DeliveryError) {
                        try await writer.accept(request)
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }
            }
            #expect(await clock.waitForSleepers(1))
            #expect(await waitForPending(writer, 2))
            clock.advance(by: .seconds(1))
            var outcomes: [Result<Void, DeliveryError>] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        // Together they exceed the queue; alone the first fits and the second finds it full (429, retried), never 413.
        #expect(all.filter { if case .success = $0 { true } else { false } }.count == 1)
        #expect(all.contains { if case .failure(.queueFull) = $0 { true } else { false } })
        #expect(queue.statistics.records == 1)
    }

    @Test("one write splits at the item limit and keeps signals apart")
    func splitsAtLimits() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue()
        let clock = ManualClock()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration(maxItems: 4, maxDelay: .seconds(1)), timeline: Timeline(clock))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.accept(logs(3)) }
            #expect(await clock.waitForSleepers(1))
            group.addTask { try await writer.accept(logs(3)) }
            group.addTask { try await writer.accept(spans(2)) }
            group.addTask { try await writer.accept(spans(2)) }
            group.addTask { try await writer.accept(logs(9)) }
            #expect(await waitForPending(writer, 5))
            clock.advance(by: .seconds(1))
            try await group.waitForAll()
        }
        let batches = drain(queue)
        #expect(batches.filter { $0.signal == .traces }.map(\.itemCount) == [4])
        // 3 + 3 > 4, so two log batches of 3, and the 9-item request alone: each request stays whole.
        #expect(batches.filter { $0.signal == .logs }.map(\.itemCount).sorted() == [3, 3, 9])
    }

    @Test("many concurrent requests: every item queued exactly once, in fewer writes than requests")
    func concurrentRequests() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration())
        let count = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<count {
                group.addTask { try await writer.accept(logs(1, service: "s\(n)")) }
            }
            try await group.waitForAll()
        }
        let batches = drain(queue)
        let names = try batches.flatMap { try serviceNames($0) }
        #expect(names.count == count)
        #expect(Set(names) == Set((0..<count).map { "s\($0)" }))
        #expect(batches.reduce(0) { $0 + $1.itemCount } == count)
        #expect(batches.count < count, "concurrent requests should share writes")
    }

    @Test("a tailer's batch keeps its own ID beside joined requests")
    func wholeBatches() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue()
        let clock = ManualClock()
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration(maxDelay: .seconds(1)), timeline: Timeline(clock))
        let tailBatch = EncodedBatch(id: "tail-abc-0-10", signal: .logs, itemCount: 1, body: Zstd.compress(logs(1, service: "tail").protobufBody))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.accept(logs(1, service: "a")) }
            #expect(await clock.waitForSleepers(1))
            group.addTask { try await writer.append(tailBatch) }
            group.addTask { try await writer.accept(logs(1, service: "b")) }
            #expect(await waitForPending(writer, 3))
            clock.advance(by: .seconds(1))
            try await group.waitForAll()
        }
        let batches = drain(queue)
        #expect(batches.count == 2)
        #expect(batches.contains { $0.id == "tail-abc-0-10" && $0.body == tailBatch.body })
        let joined = try #require(batches.first { $0.id != "tail-abc-0-10" })
        #expect(Set(try serviceNames(joined)) == ["a", "b"])
    }

    @Test("a tailer's batches given together are written in one group, in order, each under its ID, with an outcome each")
    func batchesTogether() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let roomy = try queue()
        let writer = QueueWriter(queue: roomy, configuration: BatchingConfiguration())
        let batches = (0..<5).map { EncodedBatch(id: "tail-t\($0)-0-10", signal: .logs, itemCount: 1, body: Zstd.compress(logs(1).protobufBody)) }
        let outcomes = await writer.append(contentsOf: batches)
        #expect(outcomes.count == 5)
        #expect(outcomes.allSatisfy { (try? $0.get()) != nil })
        #expect(drain(roomy).map(\.id) == batches.map(\.id))

        // Into a queue with room for some of them: each batch's outcome says whether it is there.
        try? FileManager.default.removeItem(atPath: directory)
        let smallQueue = try queue(maxBytes: 4096)
        let small = QueueWriter(queue: smallQueue, configuration: BatchingConfiguration())
        var generator = SystemRandomNumberGenerator()
        let large = (0..<5).map { index in
            EncodedBatch(id: "tail-l\(index)-0-10", signal: .logs, itemCount: 1, body: (0..<1200).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        let mixed = await small.append(contentsOf: large)
        #expect(mixed.count == 5)
        let queuedIDs = zip(large, mixed).compactMap { batch, outcome in (try? outcome.get()) != nil ? batch.id : nil }
        #expect(!queuedIDs.isEmpty && queuedIDs.count < 5, "the queue takes some: \(queuedIDs)")
        #expect(mixed.allSatisfy { if case .failure(let error) = $0 { return error == .queueFull(retryAfterSeconds: 5) } else { return true } })
        #expect(drain(smallQueue).map(\.id) == queuedIDs)
    }

    @Test("a full queue refuses with queueFull; once there is room the writer takes requests again")
    func fullQueue() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try queue(maxBytes: 4096)
        let writer = QueueWriter(queue: queue, configuration: BatchingConfiguration())
        var accepted = 0
        var refused = 0
        for _ in 0..<200 {
            do {
                try await writer.accept(logs(20))
                accepted += 1
            } catch {
                #expect(error == .queueFull(retryAfterSeconds: 5))
                refused += 1
            }
        }
        #expect(accepted > 0 && refused > 0)
        #expect(drain(queue).count == accepted)
        try await writer.accept(logs(20))
        #expect(queue.statistics.records == 1)
    }
}
