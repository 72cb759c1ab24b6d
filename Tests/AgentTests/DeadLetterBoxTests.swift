import Foundation
@testable import PeriscopeAgent
import PeriscopeDelivery
import PeriscopeModel
import Testing

@Suite("Dead-letter box")
struct DeadLetterBoxTests {
    @Test("steady refusals past the size limit: the box stays under it, keeps the newest letters whole, and refuses a letter bigger than itself")
    func staysBounded() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dlq-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let box = DeadLetterBox(directory: directory, maxBytes: 64 << 10)
        var evicted = 0
        for n in 0..<200 {
            let batch = EncodedBatch(id: "b\(n)", signal: .logs, itemCount: 1, body: [UInt8](repeating: UInt8(n % 256), count: 2_000))
            evicted += try box.store(batch, status: 400, reason: "bad \(n)", nowUnixNano: UInt64(1_000_000 + n))
            #expect(box.usage.bytes <= 64 << 10, "letter \(n)")
        }
        let letters = box.list()
        #expect(evicted + letters.count == 200)
        #expect(letters.last?.batchID == "b199")
        #expect(letters.map(\.batchID) == (200 - letters.count..<200).map { "b\($0)" }, "the oldest go first")
        for letter in letters { #expect(box.batch(of: letter)?.body.count == 2_000) }
        try "torn".write(toFile: (directory as NSString).appendingPathComponent("x.batch.tmp"), atomically: false, encoding: .utf8)
        let huge = EncodedBatch(id: "huge", signal: .traces, itemCount: 1, body: [UInt8](repeating: 1, count: 100 << 10))
        #expect(throws: DeadLetterBox.LetterTooLarge.self) { try box.store(huge, status: 413, reason: "too big") }
        #expect(box.list().count == letters.count, "a letter that can never fit evicts nothing")
        _ = try box.store(EncodedBatch(id: "after", signal: .logs, itemCount: 1, body: [1]), status: 400, reason: "x")
        #expect(!FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("x.batch.tmp")), "a crash's temp file is cleaned")
    }

    @Test("2,000 refusals into a box that fills: the directory is read a handful of times, not per letter; what it reports is what the disk holds; letters removed by another process are noticed, so none is evicted for them")
    func indexNotScans() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dlq-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let box = DeadLetterBox(directory: directory, maxBytes: 256 << 10)
        func onDisk() -> (letters: Int, bytes: Int) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let bytes = names.reduce(0) { total, name in
                total + ((try? FileManager.default.attributesOfItem(atPath: (directory as NSString).appendingPathComponent(name))[.size] as? Int) ?? 0)
            }
            return (names.filter { $0.hasSuffix(".json") }.count, bytes)
        }
        var evicted = 0
        // Times near the wall clock's: `usage` reads it.
        let start = WallClock.nowUnixNano()
        for n in 0..<2_000 {
            let batch = EncodedBatch(id: "b\(n)", signal: .logs, itemCount: 1, body: [UInt8](repeating: 7, count: 500 + n % 300))
            evicted += try box.store(batch, status: 400, reason: "bad \(n)", nowUnixNano: start + UInt64(n) * 1_000)
            if n % 400 == 399 {
                let usage = box.usage
                let disk = onDisk()
                #expect(usage.letters == disk.letters && usage.bytes == disk.bytes, "letter \(n): \(usage) against \(disk)")
                #expect(usage.bytes <= 256 << 10)
            }
        }
        #expect(evicted > 1_000, "the box filled and evicted: \(evicted)")
        #expect(box.directoryScans <= 3, "read \(box.directoryScans) times for 2,000 letters")
        // Another process (`dlq purge`) empties the box: the next store evicts nothing, and the count is right.
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            try FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
        #expect(try box.store(EncodedBatch(id: "after", signal: .logs, itemCount: 1, body: [1]), status: 400, reason: "x", nowUnixNano: start + 2_000_000_000) == 0)
        #expect(box.usage.letters == 1 && box.list().map(\.batchID) == ["after"])
        // Half a minute on, the directory is read again even if its time did not change.
        let scans = box.directoryScans
        _ = try box.store(EncodedBatch(id: "later", signal: .logs, itemCount: 1, body: [1]), status: 400, reason: "x", nowUnixNano: start + 2_000_000_000 + DeadLetterBox.rescanNanos)
        #expect(box.directoryScans == scans + 1)
    }
}
