import Foundation
@testable import PeriscopeAgent
import PeriscopeDelivery
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
}
