import PeriscopeModel
import Testing

@Suite("Trace and span IDs")
struct IdentifierTests {
    @Test("hex round trip and byte order")
    func hex() throws {
        let id = try #require(TraceID(hex: "0AF7651916CD43DD8448EB211C80319C"))
        #expect(id.hex == "0af7651916cd43dd8448eb211c80319c")
        #expect(id.bytes.first == 0x0a && id.bytes.last == 0x9c)
        #expect(TraceID(bytes: id.bytes) == id)
        #expect(SpanID(hex: "b7ad6b7169203331")?.hex == "b7ad6b7169203331")
    }

    @Test("wrong lengths and characters are rejected")
    func invalid() {
        #expect(TraceID(hex: "abc") == nil)
        #expect(TraceID(hex: String(repeating: "g", count: 32)) == nil)
        #expect(SpanID(hex: "0102") == nil)
        #expect(TraceID(bytes: [UInt8](repeating: 1, count: 15)) == nil)
        #expect(SpanID(bytes: [UInt8](repeating: 1, count: 9)) == nil)
    }

    @Test("random IDs are never zero, never repeat, and spread their low bits evenly")
    func random() {
        var spans = Set<SpanID>()
        var traces = Set<TraceID>()
        var lowBitBuckets = [Int](repeating: 0, count: 16)
        for _ in 0..<20_000 {
            let trace = TraceID.random()
            #expect(!trace.isZero)
            traces.insert(trace)
            spans.insert(SpanID.random())
            lowBitBuckets[Int(trace.low & 0xf)] += 1
        }
        #expect(spans.count == 20_000 && traces.count == 20_000)
        // Ratio sampling reads the low bits: each of 16 buckets within ±15 % of 1,250.
        #expect(lowBitBuckets.allSatisfy { (1062...1438).contains($0) }, "\(lowBitBuckets)")
    }
}
