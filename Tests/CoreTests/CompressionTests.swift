import PeriscopeCompression
import PeriscopeTesting
import Testing

@Suite("Compression")
struct CompressionTests {
    let sample = Array((0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 31 / 7) })

    @Test("zstd and gzip round trip")
    func roundTrip() throws {
        #expect(try Zstd.decompress(Zstd.compress(sample), limit: sample.count) == sample)
        #expect(try Gzip.decompress(Gzip.compress(sample), limit: sample.count) == sample)
        #expect(try Zstd.decompress(Zstd.compress([]), limit: 10) == [])
    }

    /// The agent joins requests by concatenating their frames; every reader must return them all.
    @Test("concatenated zstd frames decompress to the concatenated inputs; the limit counts them all; a cut last frame is an error")
    func concatenatedFrames() throws {
        let parts = [Array(sample.prefix(70_000)), [], Array(sample.suffix(50_000)), [7]]
        let joined = Array(parts.map { Zstd.compress($0) }.joined())
        #expect(try Zstd.decompress(joined, limit: 120_001) == Array(parts.joined()))
        #expect(throws: CompressionError.outputLimitExceeded(limit: 120_000)) { try Zstd.decompress(joined, limit: 120_000) }
        #expect(throws: CompressionError.self) { try Zstd.decompress(Array(joined.dropLast(2)), limit: 1 << 22) }
    }

    /// The agent's queue writer compresses a group of requests as one frame without joining them first.
    @Test("a frame from parts holds their concatenation and states its size; a kept context carries nothing over; a released buffer comes back")
    func compressJoiningParts() throws {
        let compressor = ZstdCompressor(level: Zstd.defaultLevel)
        let cases: [[[UInt8]]] = [
            [Array(sample.prefix(70_000)), [], Array(sample.suffix(50_000)), [7]],
            [Array(sample.prefix(10))],
            [[], []],
            [sample, sample.reversed()],
        ]
        for parts in cases + cases {
            let joined = Array(parts.joined())
            let frame = compressor.compress(joining: parts)
            // `decompressFrame` refuses a frame that does not state its size.
            #expect(try frame.withUnsafeBytes { try Zstd.decompressFrame($0, limit: joined.count) } == joined)
        }
        compressor.releaseScratch(above: 0)
        let frame = compressor.compress(joining: cases[0])
        #expect(try Zstd.decompress(frame, limit: 1 << 22) == Array(cases[0].joined()))
    }

    @Test("a bomb stops at the output limit")
    func bombStopsAtLimit() {
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        #expect(throws: CompressionError.outputLimitExceeded(limit: 1 << 20)) { try Zstd.decompress(Zstd.compress(zeros), limit: 1 << 20) }
        #expect(throws: CompressionError.outputLimitExceeded(limit: 1 << 20)) { try Gzip.decompress(Gzip.compress(zeros), limit: 1 << 20) }
    }

    @Test("truncated and corrupt streams are errors")
    func truncatedAndCorrupt() {
        let zstd = Zstd.compress(sample)
        let gzip = Gzip.compress(sample)
        #expect(throws: CompressionError.self) { try Zstd.decompress(Array(zstd.prefix(zstd.count / 2)), limit: 1 << 22) }
        #expect(throws: CompressionError.self) { try Gzip.decompress(Array(gzip.prefix(gzip.count / 2)), limit: 1 << 22) }
        #expect(throws: CompressionError.self) { try Zstd.decompress([1, 2, 3, 4, 5, 6, 7, 8], limit: 100) }
        #expect(throws: CompressionError.self) { try Gzip.decompress([1, 2, 3, 4, 5, 6, 7, 8], limit: 100) }
    }

    @Test("content-encoding headers")
    func contentEncoding() {
        #expect(ContentEncoding(header: nil) == .identity)
        #expect(ContentEncoding(header: "GZIP") == .gzip)
        #expect(ContentEncoding(header: "zstd") == .zstd)
        #expect(ContentEncoding(header: "br") == nil)
    }

    @Test("a reader that caps the output gets the same bytes when they fit, outputRefused when they do not, for zstd and gzip at many sizes")
    func mayGrowCaps() throws {
        var generator = SeededGenerator(seed: 0xCA9)
        for size in [0, 1, 100, 65_535, 65_536, 131_072, 131_073, 300_000, 1 << 20] {
            let text = (0..<size).map { _ in UInt8.random(in: 0...15, using: &generator) }
            for (name, packed, decode) in [
                ("zstd", Zstd.compress(text), { (bytes: [UInt8], cap: Int) throws -> [UInt8] in try Zstd.decompress(bytes, limit: 2 << 20) { $0 <= cap } }),
                ("gzip", Gzip.compress(text), { (bytes: [UInt8], cap: Int) throws -> [UInt8] in try Gzip.decompress(bytes, limit: 2 << 20) { $0 <= cap } }),
            ] as [(String, [UInt8], ([UInt8], Int) throws -> [UInt8])] {
                for cap in [0, size / 2, size, size + 1] {
                    if size <= cap {
                        #expect(try decode(packed, cap) == text, "\(name) \(size) under \(cap)")
                    } else {
                        do {
                            _ = try decode(packed, cap)
                            Issue.record("\(name) \(size) under \(cap): not refused")
                        } catch {
                            guard case .outputRefused(let bytes)? = error as? CompressionError else { Issue.record("\(name) \(size): \(error)"); continue }
                            #expect(bytes > cap && bytes <= size)
                        }
                    }
                }
            }
        }
    }
}
