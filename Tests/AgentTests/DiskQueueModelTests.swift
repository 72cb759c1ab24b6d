import Foundation
import Logging
@testable import PeriscopeAgent
import PeriscopeTelemetry
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
        configuration.fsync = random.next() % 2 == 0 ? .always : .never
        var queue = try DiskQueue(directory: directory, configuration: configuration, logger: logger)
        var model = Model()
        var taken: [String: QueuedRecord] = [:]
        var serial = 0

        for step in 0..<600 {
            let context = "seed \(seed), step \(step)"
            switch random.next() % 100 {
            case 0..<40:
                let size = Int(random.next() % 900)
                let batch = EncodedBatch(id: "b\(serial)", signal: .traces, itemCount: 1, body: [UInt8](repeating: UInt8(serial & 0xff), count: size))
                serial += 1
                let bytes = QueueRecord.encode(batch, enqueuedAtUnixNano: 0).count
                let fits = model.liveBytes + bytes <= configuration.maxBytes
                do {
                    try queue.append(batch)
                    #expect(fits, "\(context): appended past max_size")
                    model.entries.append(.init(id: batch.id, bytes: bytes, inFlight: false))
                } catch {
                    #expect(!fits && (error == .full || error == .tooLarge(bytes: bytes, limit: configuration.maxBytes)), "\(context): refused with room left: \(error)")
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
