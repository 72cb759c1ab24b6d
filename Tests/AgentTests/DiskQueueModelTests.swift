import Foundation
import Logging
@testable import PeriscopeAgent
import PeriscopeDelivery
import PeriscopeDiskQueue
import PeriscopeTesting
import Testing

/// Random sequences of append / take / acknowledge / hold (a failed delivery keeps its record in
/// flight) / restart / crash against a tiny in-memory model of the queue, checking after every
/// step the invariants on records, bytes, files and order (after Vector's disk buffer model
/// tests). A failure names its seed, so it replays exactly.
@Suite("Disk queue model")
struct DiskQueueModelTests {
    let logger = Logger(label: "test")

    /// The model: every record appended and not yet acknowledged, in append order.
    struct Model {
        struct Entry { var id: String; var bytes: Int; var inFlight: Bool }
        var entries: [Entry] = []
        var liveBytes: Int { entries.reduce(0) { $0 + $1.bytes } }
        /// The next record `take` must return: the oldest one not in flight.
        var nextToTake: Int? { entries.firstIndex { !$0.inFlight } }
        /// A restart forgets what was in flight: it comes back, in order.
        mutating func restart() { for index in entries.indices { entries[index].inFlight = false } }
    }

    @Test("the queue behaves like its model", arguments: 0..<24)
    func matchesModel(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("queue-model-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = DiskQueueConfiguration()
        configuration.maxBytes = 8_000 + Int(random.next() % 8_000)
        configuration.segmentBytes = 600 + Int(random.next() % 3_000)
        configuration.fsync = [FsyncPolicy.always, .never, .interval(.milliseconds(200))][Int(random.next() % 3)]
        var queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        var model = Model()
        var taken: [String: QueuedRecord] = [:]
        var serial = 0

        for step in 0..<600 {
            let context = "seed \(seed), step \(step)"
            switch random.next() % 100 {
            case 0..<40:
                // One batch alone, or a group commit of up to four: each has its own outcome.
                let count = random.next() % 2 == 0 ? 1 : 1 + Int(random.next() % 4)
                let batches = (0..<count).map { offset in
                    EncodedBatch(
                        id: "b\(serial + offset)", signal: .traces, itemCount: 1,
                        body: [UInt8](repeating: UInt8((serial + offset) & 0xff), count: Int(random.next() % 900)))
                }
                serial += count
                let outcomes = count == 1
                    ? [Result { () throws(QueueError) in try queue.append(batches[0]) }]
                    : queue.append(contentsOf: batches)
                #expect(outcomes.count == count)
                for (batch, outcome) in zip(batches, outcomes) {
                    let bytes = QueueRecord.encode(batch, enqueuedAtUnixNano: 0).count
                    let fits = model.liveBytes + bytes <= configuration.maxBytes
                    switch outcome {
                    case .success:
                        #expect(fits, "\(context): appended \(batch.id) past max_size")
                        model.entries.append(.init(id: batch.id, bytes: bytes, inFlight: false))
                    case .failure(let error):
                        #expect(!fits && (error == .full || error == .tooLarge(bytes: bytes, limit: configuration.maxBytes)), "\(context): refused \(batch.id) with room left: \(error)")
                    }
                }
            case 40..<70:
                let next = queue.take()
                if let index = model.nextToTake {
                    let (record, batch) = try #require(next, "\(context): nothing handed out, \(model.entries[index].id) expected")
                    #expect(batch.id == model.entries[index].id, "\(context): out of order")
                    model.entries[index].inFlight = true
                    taken[batch.id] = record
                } else {
                    #expect(next == nil, "\(context): handed out \(next!.1.id) that the model does not hold")
                }
            case 70..<92:
                // Acknowledge one record in flight, not always the oldest (several shippers).
                let inFlight = model.entries.indices.filter { model.entries[$0].inFlight }
                guard !inFlight.isEmpty else { break }
                let index = inFlight[Int(random.next() % UInt64(inFlight.count))]
                let record = taken.removeValue(forKey: model.entries[index].id)
                queue.acknowledge(try #require(record))
                model.entries.remove(at: index)
            case 92..<96:
                // A failed delivery: the record stays in flight, to be retried; nothing changes.
                break
            default:
                // Restart or kill -9: for this queue both are "drop the object, reopen the directory".
                queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
                model.restart()
                taken.removeAll()
            }
            let statistics = queue.statistics
            #expect(statistics.records == model.entries.count, "\(context): records")
            #expect(statistics.bytes == model.liveBytes, "\(context): bytes")
            #expect(statistics.bytes <= configuration.maxBytes, "\(context): over max_size")
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".log") }.count
            #expect(files == statistics.segmentFiles, "\(context): files on disk vs counted")
            // Every segment but the one being written holds a live record.
            #expect(files <= model.entries.count + 1, "\(context): \(files) segment files for \(model.entries.count) live records")
            #expect(statistics.damaged == 0, "\(context): damage reported")
        }
        // Drain: everything left comes out once, in order.
        queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        model.restart()
        var drained = [String]()
        while let (record, batch) = queue.take() {
            drained.append(batch.id)
            queue.acknowledge(record)
        }
        #expect(drained == model.entries.map(\.id), "seed \(seed): drain")
        #expect(queue.statistics.bytes == 0 && queue.statistics.records == 0)
    }
}
