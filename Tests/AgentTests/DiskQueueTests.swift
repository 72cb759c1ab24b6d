import Foundation
import Logging
@testable import PeriscopeAgent
import PeriscopeDelivery
import PeriscopeDiskQueue
import Synchronization
import Testing

@Suite("Durable disk queue")
struct DiskQueueTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("queue-\(UUID().uuidString)").path
    let logger = Logger(label: "test")

    func batch(_ n: Int, size: Int = 100) -> EncodedBatch {
        EncodedBatch(id: "batch-\(n)", signal: .logs, itemCount: n, body: [UInt8](repeating: UInt8(n % 256), count: size))
    }

    /// Queues batches 1...`count` of `size` bytes in `directory`, lets `damage` change the
    /// segment file's bytes (each record is `bytes.count / count` long), and reopens the queue.
    func reopenedAfterDamage(_ count: Int, size: Int, in directory: String, _ damage: (inout Data, _ recordSize: Int) -> Void) throws -> DiskQueue {
        do {
            let queue = try DiskQueue(directory: directory, logger: logger)
            for n in 1...count { try queue.append(batch(n, size: size)) }
        }
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.sorted().first)
        let path = (directory as NSString).appendingPathComponent(segment)
        var bytes = try #require(FileManager.default.contents(atPath: path))
        damage(&bytes, bytes.count / count)
        try bytes.write(to: URL(fileURLWithPath: path))
        return try DiskQueue(directory: directory, logger: logger)
    }

    func drain(_ queue: DiskQueue, acknowledge: Bool = true) -> [EncodedBatch] {
        var out = [EncodedBatch]()
        while let (record, batch) = queue.take() {
            out.append(batch)
            if acknowledge { queue.acknowledge(record) }
        }
        return out
    }

    @Test("a group commit rolls over segments inside the group, refuses only the batch too large, keeps order")
    func groupCommit() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = DiskQueueConfiguration()
        configuration.segmentBytes = 400
        configuration.maxBytes = 5000
        let queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        var group = (1...10).map { batch($0, size: 150) }
        group.insert(batch(99, size: 6000), at: 4)
        let outcomes = queue.append(contentsOf: group)
        #expect(outcomes.count == 11)
        for (index, outcome) in outcomes.enumerated() {
            if index == 4 {
                #expect(throws: QueueError.self) { try outcome.get() }
            } else {
                #expect(throws: Never.self) { try outcome.get() }
            }
        }
        #expect(queue.statistics.records == 10)
        #expect(queue.statistics.segmentFiles > 2)
        let reopened = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        #expect(drain(reopened).map(\.id) == (1...10).map { "batch-\($0)" })
        #expect(reopened.statistics.bytes == 0)
    }

    @Test("hands out batches in order, byte for byte, and deletes acknowledged segments")
    func orderAndDeletion() throws {
        var configuration = DiskQueueConfiguration()
        configuration.segmentBytes = 1000
        let queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        for n in 1...30 { try queue.append(batch(n)) }
        #expect(queue.statistics.records == 30)
        let segmentsBefore = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.count
        #expect(segmentsBefore > 3)
        #expect(drain(queue) == (1...30).map { batch($0) })
        #expect(queue.statistics.records == 0)
        let segmentsAfter = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.count
        #expect(segmentsAfter == 1, "only the active segment remains")
    }

    @Test("a reopened queue re-delivers exactly the unacknowledged batches")
    func recoveryAfterRestart() throws {
        var configuration = DiskQueueConfiguration()
        configuration.segmentBytes = 700
        do {
            let queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
            for n in 1...20 { try queue.append(batch(n)) }
            for _ in 1...7 {
                let (record, _) = try #require(queue.take())
                queue.acknowledge(record)
            }
            _ = queue.take()  // in flight when the process dies: must come back
        }
        let reopened = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        #expect(reopened.statistics.records == 13)
        #expect(drain(reopened).map(\.id) == (8...20).map { "batch-\($0)" })
    }

    @Test("files named like segments the queue never writes (the largest number, another spelling) are left alone, and the queue opens and goes on")
    func foreignSegmentNames() throws {
        do {
            let queue = try DiskQueue(directory: directory, logger: logger)
            for n in 1...3 { try queue.append(batch(n)) }
        }
        let foreign = ["segment-18446744073709551615.log", "segment-\(UInt64(1) << 62).log", "segment-7.log", "segment--1.log"]
        for name in foreign {
            #expect(FileManager.default.createFile(atPath: (directory as NSString).appendingPathComponent(name), contents: Data("x".utf8)))
        }
        for _ in 1...2 {
            let reopened = try DiskQueue(directory: directory, logger: logger)
            try reopened.append(batch(4))
            #expect(drain(reopened, acknowledge: false).map(\.id).suffix(1) == ["batch-4"])
        }
        let reopened = try DiskQueue(directory: directory, logger: logger)
        #expect(drain(reopened).map(\.id) == ["batch-1", "batch-2", "batch-3", "batch-4", "batch-4"])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        for name in foreign { #expect(names.contains(name), "\(name) was not the queue's to remove") }
    }

    @Test("flipped bytes lose only the damaged record, and it is reported")
    func flippedBytes() throws {
        let reopened = try reopenedAfterDamage(5, size: 200, in: directory) { bytes, recordSize in
            bytes[recordSize * 2 + 100] ^= 0xff  // inside the third record's body
        }
        #expect(reopened.statistics.damaged == 1)
        #expect(drain(reopened).map(\.id) == ["batch-1", "batch-2", "batch-4", "batch-5"])
    }

    @Test("IDs of 0 to 255 bytes (longer ones cut there), empty and large bodies come back exactly, also after a reopen")
    func idAndBodyEdges() throws {
        let longID = String(repeating: "x", count: 300)
        let batches = [
            EncodedBatch(id: "", signal: .traces, itemCount: 0, body: []),
            EncodedBatch(id: String(repeating: "i", count: 255), signal: .logs, itemCount: 1, body: [7]),
            EncodedBatch(id: longID, signal: .metrics, itemCount: 2, body: (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }),
            EncodedBatch(id: "last", signal: .logs, itemCount: 3, body: []),
        ]
        var expected = batches
        expected[2].id = String(longID.prefix(255))
        do {
            let queue = try DiskQueue(directory: directory, logger: logger)
            for batch in batches { try queue.append(batch) }
            #expect(drain(queue, acknowledge: false) == expected)
        }
        let reopened = try DiskQueue(directory: directory, logger: logger)
        #expect(reopened.statistics.damaged == 0)
        #expect(drain(reopened) == expected)
    }

    @Test("a damaged ID length loses only its record, whichever way it moves the body's start")
    func damagedIDLength() throws {
        for (attempt, value) in [UInt8(0), 3, 200, 255].enumerated() {
            let reopened = try reopenedAfterDamage(3, size: 120, in: directory + "-\(attempt)") { bytes, recordSize in
                bytes[recordSize + QueueRecord.headerSize + 14] = value  // the second record's ID length (7 as written)
            }
            #expect(reopened.statistics.damaged == 1, "ID length \(value)")
            #expect(drain(reopened).map(\.id) == ["batch-1", "batch-3"], "ID length \(value)")
        }
    }

    @Test("a damaged header is skipped by finding the next record")
    func damagedHeader() throws {
        let reopened = try reopenedAfterDamage(4, size: 150, in: directory) { bytes, recordSize in
            for index in (recordSize)..<(recordSize + 8) { bytes[index] = 0 }  // magic and length of record 2
        }
        #expect(reopened.statistics.damaged == 1)
        #expect(drain(reopened).map(\.id) == ["batch-1", "batch-3", "batch-4"])
    }

    @Test("a truncated segment keeps every whole record and reports the torn one")
    func truncatedSegment() throws {
        let reopened = try reopenedAfterDamage(3, size: 300, in: directory) { bytes, _ in bytes.removeLast(50) }
        #expect(reopened.statistics.damaged == 1)
        #expect(drain(reopened).map(\.id) == ["batch-1", "batch-2"])
        // The queue keeps working after recovery.
        try reopened.append(batch(9))
        #expect(drain(reopened).map(\.id) == ["batch-9"])
    }

    @Test("full: backpressure refuses, drop_oldest drops and counts")
    func whenFull() throws {
        var configuration = DiskQueueConfiguration()
        configuration.maxBytes = 2000
        configuration.segmentBytes = 500
        let queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        var appended = 0
        do {
            while true {
                try queue.append(batch(appended))
                appended += 1
            }
        } catch {
            #expect(error == .full)
        }
        #expect(appended > 5)
        #expect(queue.statistics.bytes <= 2000)

        configuration.whenFull = .dropOldest
        let lines = CapturedLogLines()
        let dropping = try DiskQueue(
            directory: directory + "-drop", configuration: configuration, logger: Logger(label: "queue") { _ in CapturedLogLines.Handler(lines: lines) })
        for n in 0..<100 { try dropping.append(batch(n)) }
        let statistics = dropping.statistics
        #expect(statistics.bytes <= 2000)
        #expect(statistics.dropped + statistics.records == 100)
        #expect(statistics.dropped > 0)
        // What was dropped is said, as a warning per drop, with the running total.
        let warnings = lines.all.filter { $0.level == .warning && $0.message.contains("dropped the oldest") }
        #expect(!warnings.isEmpty)
        #expect(warnings.last?.message.contains("\(statistics.dropped) dropped since start") == true, "\(warnings.last?.message ?? "")")
        let remaining = drain(dropping).map(\.id)
        #expect(remaining.last == "batch-99")
        #expect(remaining.count == statistics.records)
    }

    @Test("steady traffic of 10× max_size through a healthy shipper is never refused, and segment files stay bounded")
    func steadyTrafficNeverWedges() throws {
        // The defect: a segment fully acknowledged while still being written was never deleted, so
        // after max_size of healthy traffic every append answered .full, forever.
        var configuration = DiskQueueConfiguration()
        configuration.maxBytes = 256 << 10
        configuration.segmentBytes = 32 << 10
        let queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        var appendedBytes = 0
        var n = 0
        var maxFiles = 0
        while appendedBytes < 10 * configuration.maxBytes {
            let next = batch(n, size: 2000)
            try queue.append(next)  // throws .full if the queue wedged
            appendedBytes += QueueRecord.encode(next, enqueuedAtUnixNano: 0).count
            n += 1
            let (record, taken) = try #require(queue.take())
            #expect(taken.id == next.id)
            queue.acknowledge(record)
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.count
            maxFiles = max(maxFiles, files)
            #expect(queue.statistics.bytes == 0)
        }
        #expect(n > 1000)
        #expect(maxFiles <= 2, "delivered segments are deleted as appends move on")
        #expect(queue.statistics.segmentFiles == 1)
    }

    @Test("bytes count only unacknowledged records, so a half-delivered segment frees room at once")
    func bytesCountLiveRecords() throws {
        var configuration = DiskQueueConfiguration()
        configuration.maxBytes = 1 << 16
        configuration.segmentBytes = 1 << 20
        let queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        for n in 0..<10 { try queue.append(batch(n, size: 1000)) }
        let full = queue.statistics.bytes
        for _ in 0..<4 { queue.acknowledge(try #require(queue.take()).0) }
        #expect(queue.statistics.bytes == full / 10 * 6)
        let reopened = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        #expect(reopened.statistics.bytes == full / 10 * 6)
        #expect(reopened.statistics.records == 6)
    }

    @Test("fsync interval: batches across many segments all come back after a reopen")
    func intervalSyncCoversEverySegment() throws {
        var configuration = DiskQueueConfiguration()
        configuration.fsync = .interval(.seconds(1))
        configuration.segmentBytes = 1000
        let queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        for n in 0..<20 { try queue.append(batch(n)) }
        try queue.syncIfDirty()
        let reopened = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        #expect(drain(reopened).map(\.id) == (0..<20).map { "batch-\($0)" })
    }

    @Test("a segment that cannot be created fails the append that needed it, and nothing else: the queue keeps every batch and goes on")
    func failedRolloverKeepsTheQueue() throws {
        var configuration = DiskQueueConfiguration()
        configuration.segmentBytes = 500
        let queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        // The next segment's file name is taken by a directory: opening it fails (EISDIR).
        let blocked = (directory as NSString).appendingPathComponent(String(format: "segment-%020llu.log", UInt64(2)))
        try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: false)
        var appended = [String]()
        var failures = 0
        for n in 0..<12 {
            do {
                try queue.append(batch(n))
                appended.append("batch-\(n)")
            } catch {
                guard case .io = error else { throw error }
                failures += 1
            }
            // Deliveries meanwhile leave the first segment fully acknowledged, as in the healthy case.
            if n == 2, let (record, _) = queue.take() {
                queue.acknowledge(record)
                appended.removeFirst()
            }
        }
        #expect(failures > 0, "the blocked rollover was tried")
        try FileManager.default.removeItem(atPath: blocked)
        try queue.append(batch(99))
        appended.append("batch-99")
        #expect(drain(queue).map(\.id) == appended)
        #expect(queue.statistics.records == 0)
    }

    @Test("a batch larger than the whole queue is refused")
    func tooLarge() throws {
        var configuration = DiskQueueConfiguration()
        configuration.maxBytes = 1000
        let queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        #expect(throws: QueueError.self) { try queue.append(batch(1, size: 5000)) }
    }
}

/// Log lines kept for a test to read.
final class CapturedLogLines: Sendable {
    private let lines = Mutex<[(level: Logger.Level, message: String)]>([])
    var all: [(level: Logger.Level, message: String)] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let lines: CapturedLogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lines.lines.withLock { $0.append((event.level, event.message.description)) }
        }
    }
}
