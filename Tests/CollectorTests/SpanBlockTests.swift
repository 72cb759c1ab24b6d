import Foundation
@testable import PeriscopeCollector
import PeriscopeCompression
import PeriscopeModel
import PeriscopeQueryAPI
import PeriscopeTesting
import Testing

/// The stored span layout on its own: a block decodes to exactly the spans that went in, and
/// a block's term table finds every trace with a term within bounds that hold.
@Suite("Span blocks")
struct SpanBlockTests {
    static let base: UInt64 = 20_000 * 86_400 * 1_000_000_000

    /// Spans with every value type, events, links, status messages, parents inside and outside
    /// the block, and an end before the start.
    static func sampleTraces() -> [(TraceID, [BlockSpan])] {
        var generator = SeededGenerator(seed: 7)
        var traces = [(TraceID, [BlockSpan])]()
        for t in 0..<30 {
            let traceID = TraceID(high: generator.next(), low: generator.next())
            var spans = [BlockSpan]()
            let count = t == 0 ? 40 : Int.random(in: 1...12, using: &generator)
            for s in 0..<count {
                let start = base + UInt64.random(in: 0...(3_600_000_000_000), using: &generator)
                var span = Span(
                    traceID: traceID, spanID: SpanID(UInt64(t * 1000 + s + 1)),
                    parentSpanID: s == 0 ? (t % 3 == 0 ? SpanID(0xdead_beef) : nil) : SpanID(UInt64(t * 1000 + Int.random(in: 1...count, using: &generator))),
                    name: "op-\(s % 4)", kind: Span.Kind(rawValue: s % 6)!,
                    startTimeUnixNano: start, endTimeUnixNano: s == 1 ? start - 5 : start + UInt64(s) * 1_000_003,
                    attributes: [
                        Attribute("http.route", .string("/r/\(s % 3)")),
                        Attribute("n", .int(Int64(s) - 3)),
                        Attribute("ratio", .double(0.25 * Double(s))),
                        Attribute("ok", .bool(s % 2 == 0)),
                        Attribute("raw", .bytes([0, 1, UInt8(s)])),
                        Attribute("list", .array([.string("a"), .int(1), .array([.bool(true)])])),
                        Attribute("map", .keyValueList([Attribute("k", .string("v")), Attribute("e", .empty)])),
                    ],
                    status: Span.Status(code: Span.Status.Code(rawValue: s % 3)!, message: s % 3 == 2 ? "failed \(s)" : ""))
                if s % 5 == 4 {
                    span.events = [Span.Event(timeUnixNano: start + 10, name: "retry", attributes: [Attribute("attempt", .int(2))])]
                    span.links = [Span.Link(traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), traceState: "a=b", attributes: [Attribute("l", .string("x"))])]
                    span.traceState = "vendor=1"
                }
                spans.append(BlockSpan(resource: s % 2, span: span))
            }
            traces.append((traceID, spans))
        }
        return traces
    }

    static let resources = [
        Resource(serviceName: "checkout", hostName: "h1"),
        Resource(serviceName: "inventory", attributes: [Attribute("region", .string("eu"))]),
    ]

    /// The block the traces encode to, decoded whole or only `traces`.
    static func encode(_ traces: [(TraceID, [BlockSpan])], decoding wanted: Range<Int>? = nil) -> SpanBlock? {
        var encoder = SpanBlockEncoder(indexedAttributes: ["http.route"])
        for resource in resources { _ = encoder.addResource(resource) }
        for (traceID, spans) in traces { encoder.addTrace(traceID, spans[...]) }
        let compressed = Zstd.compress(encoder.encoded())
        return try? compressed.withUnsafeBytes { buffer in
            try Zstd.decompressFrame(buffer, limit: 1 << 30).withUnsafeBytes { try SpanBlock(decoding: $0, traces: wanted) }
        }
    }

    @Test("a block reads back every field of every span, trace by trace")
    func roundTrip() throws {
        let traces = Self.sampleTraces()
        let block = try #require(Self.encode(traces))
        #expect(block.traceCount == traces.count)
        for (ordinal, (traceID, spans)) in traces.enumerated() {
            #expect(block.traceIDs[ordinal] == traceID)
            let range = block.spans(ofTrace: ordinal)
            #expect(range.count == spans.count)
            for (index, entry) in zip(range, spans) {
                let span = entry.span
                let resource = Self.resources[entry.resource]
                let expected = QueryAPI.Span(
                    traceID: traceID, spanID: span.spanID, parentSpanID: span.parentSpanID,
                    service: resource.serviceName, name: span.name, kind: span.kind.name,
                    startTimeUnixNano: span.startTimeUnixNano, endTimeUnixNano: span.endTimeUnixNano,
                    status: QueryAPI.Status(code: span.status.code.name, message: span.status.message),
                    attributes: span.attributes.dictionary, resource: resource.attributes.dictionary,
                    events: span.events.map { QueryAPI.Event(timeUnixNano: $0.timeUnixNano, name: $0.name, attributes: $0.attributes.dictionary) },
                    links: span.links.map { QueryAPI.Link(traceID: $0.traceID, spanID: $0.spanID, attributes: $0.attributes.dictionary) })
                #expect(block.apiSpan(index, traceID: traceID) == expected)
                #expect(block.details[index]?.traceState ?? "" == span.traceState)
            }
        }
    }

    @Test("decoding only some traces gives the same spans as decoding the block")
    func partialDecode() throws {
        let traces = Self.sampleTraces()
        let whole = try #require(Self.encode(traces))
        for range in [0..<1, 5..<6, 3..<9, (traces.count - 1)..<traces.count] {
            let part = try #require(Self.encode(traces, decoding: range))
            #expect(part.traceIDs == Array(whole.traceIDs[range]))
            for (offset, ordinal) in range.enumerated() {
                #expect(part.spans(ofTrace: offset).map { part.apiSpan($0, traceID: part.traceIDs[offset]) }
                    == whole.spans(ofTrace: ordinal).map { whole.apiSpan($0, traceID: whole.traceIDs[ordinal]) })
            }
        }
        #expect(Self.encode(traces, decoding: 0..<(traces.count + 1)) == nil, "a range past the block's traces is damage")
    }

    @Test("damaged block bytes throw instead of crashing")
    func damaged() throws {
        var encoder = SpanBlockEncoder(indexedAttributes: ["http.route"])
        for resource in Self.resources { _ = encoder.addResource(resource) }
        for (traceID, spans) in Self.sampleTraces() { encoder.addTrace(traceID, spans[...]) }
        let bytes = encoder.encoded()
        var generator = SeededGenerator(seed: 3)
        for _ in 0..<200 {
            var damaged = bytes
            let cut = Int.random(in: 0..<bytes.count, using: &generator)
            if Bool.random(using: &generator) {
                damaged.removeSubrange(cut...)
                // Every column is length-prefixed: a block cut anywhere is refused as damaged.
                #expect(throws: DamagedStoredData.self, "cut at \(cut)") { try damaged.withUnsafeBytes { try SpanBlock(decoding: $0) } }
            } else {
                damaged[cut] ^= UInt8.random(in: 1...255, using: &generator)
                // Either an error or a block: never a trap (StoredBytesFuzzTests reads every part of what decodes).
                damaged.withUnsafeBytes { StoredBytesFuzzing.checkSpanBlock($0) }
            }
        }
    }

    @Test("a term table lists each trace with the term once, within bounds that hold")
    func termTable() throws {
        var generator = SeededGenerator(seed: 11)
        var builder = TermTableBuilder()
        var truth = [UInt64: [Int: (earliest: UInt64, latest: UInt64, longest: UInt64)]]()
        let minStart = Self.base + 17, maxStart = Self.base + 86_399_000_000_000
        for trace in 0..<500 {
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let term = UInt64.random(in: 1...40, using: &generator)
                let start = UInt64.random(in: minStart...maxStart, using: &generator)
                let duration = [0, 1, 999, 1_000_000, UInt64.random(in: 0...(UInt64(1) << 50), using: &generator)].randomElement(using: &generator)!
                builder.add(term, trace: trace, start: start, duration: duration)
                let old = truth[term, default: [:]][trace] ?? (start, start, duration)
                truth[term, default: [:]][trace] = (min(old.earliest, start), max(old.latest, start), max(old.longest, duration))
            }
        }
        let table = try TermTable(builder.encoded(minStart: minStart, maxStart: maxStart))
        for term in UInt64(0)...41 {
            let entries = try table.entries(term)
            let expected = truth[term] ?? [:]
            #expect(entries.map(\.trace) == expected.keys.sorted())
            #expect(try table.traceCount(term) == expected.count)
            for entry in entries {
                let truth = expected[entry.trace]!
                #expect(entry.earliestStart <= truth.earliest && entry.latestStart >= truth.latest)
                // Quantised to 1/255 of the range, no coarser.
                #expect(truth.earliest - entry.earliestStart <= (maxStart - minStart) / 255 + 1)
                #expect(entry.latestStart - truth.latest <= (maxStart - minStart) / 255 + 1)
                // The duration bound holds and is within a quarter doubling (19 %) of the truth.
                #expect(entry.longestDuration >= truth.longest)
                #expect(Double(entry.longestDuration) <= max(1, Double(truth.longest)) * 1.1893 + 1)
            }
        }
    }

    @Test("search terms are stable hashes: the stored ones never change meaning")
    func stableTerms() {
        #expect(SearchTerm.service("checkout") == SearchTerm.service("checkout"))
        #expect(SearchTerm.service("checkout") != SearchTerm.service("inventory"))
        #expect(SearchTerm.operation(service: "a", name: "bc") != SearchTerm.operation(service: "ab", name: "c"))
        #expect(SearchTerm.attribute(key: "k", text: "v") != SearchTerm.operation(service: "k", name: "v"))
        // FNV-1a of tag 0 is fixed by the algorithm; a change here would orphan every stored term table.
        #expect(SearchTerm.all == (0xcbf2_9ce4_8422_2325 as UInt64) &* 0x0000_0100_0000_01b3)
    }
}
