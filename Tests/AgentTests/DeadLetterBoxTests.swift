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

    @Test("600 refusals into a box that fills: the directory is read a handful of times, not per letter; what it reports is what the disk holds; letters removed by another process are noticed, so none is evicted for them")
    func indexNotScans() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dlq-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let box = DeadLetterBox(directory: directory, maxBytes: 96 << 10)
        func onDisk() -> (letters: Int, bytes: Int) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let bytes = names.reduce(0) { total, name in
                total + ((try? FileManager.default.attributesOfItem(atPath: (directory as NSString).appendingPathComponent(name))[.size] as? Int) ?? 0)
            }
            return (names.filter { $0.hasSuffix(".json") }.count, bytes)
        }
        var evicted = 0
        let start: UInt64 = 1_000_000_000_000
        for n in 0..<600 {
            let batch = EncodedBatch(id: "b\(n)", signal: .logs, itemCount: 1, body: [UInt8](repeating: 7, count: 500 + n % 300))
            evicted += try box.store(batch, status: 400, reason: "bad \(n)", nowUnixNano: start + UInt64(n) * 1_000)
            if n % 150 == 149 {
                let usage = box.usage
                let disk = onDisk()
                #expect(usage.letters == disk.letters && usage.bytes == disk.bytes, "letter \(n): \(usage) against \(disk)")
                #expect(usage.bytes <= 96 << 10)
            }
        }
        #expect(evicted > 300, "the box filled and evicted: \(evicted)")
        #expect(box.directoryScans <= 2, "read \(box.directoryScans) times for 600 letters")

        // Another process (`dlq replay`) deletes the two oldest letters, and the directory's time
        // is put back, as a file system with coarse timestamps can leave it: the next store finds
        // the first letter it would evict gone, reads the box again, and evicts nothing it need not.
        var info = stat()
        #expect(stat(directory, &info) == 0)
        let letters = box.list()
        for letter in letters.prefix(2) { box.remove(letter) }
        var times = [info.st_atim, info.st_mtim]
        #expect(utimensat(AT_FDCWD, directory, &times, 0) == 0)
        let scans = box.directoryScans
        let freed = try #require(letters.first.flatMap { box.batch(of: $0) == nil ? 1 : nil })
        #expect(freed == 1, "the oldest letter is gone from the disk")
        let small = EncodedBatch(id: "fits", signal: .logs, itemCount: 1, body: [UInt8](repeating: 1, count: 400))
        #expect(try box.store(small, status: 400, reason: "x", nowUnixNano: start + 1_000_000) == 0, "the space the removed letters left is enough")
        #expect(box.directoryScans == scans + 1)
        #expect(box.list().count == letters.count - 2 + 1, "the third-oldest letter is still there")

        // Another process (`dlq purge`) empties the box: the next store evicts nothing, and the count is right.
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            try FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
        #expect(try box.store(EncodedBatch(id: "after", signal: .logs, itemCount: 1, body: [1]), status: 400, reason: "x", nowUnixNano: start + 2_000_000) == 0)
        #expect(box.usage.letters == 1 && box.list().map(\.batchID) == ["after"])
        // Half a minute on, the directory is read again even if its time did not change.
        let before = box.directoryScans
        _ = try box.store(EncodedBatch(id: "later", signal: .logs, itemCount: 1, body: [1]), status: 400, reason: "x", nowUnixNano: start + 2_000_000 + DeadLetterBox.rescanNanos)
        #expect(box.directoryScans == before + 1)
    }
}
