import PeriscopeCompression
import PeriscopeDelivery
import PeriscopeModel
import PeriscopeOTLP
@testable import PeriscopeAgent
import PeriscopeTesting
import Testing

/// Where an agent with several collectors sends what: every trace to one home collector that
/// every agent agrees on, shares that stay put when a collector is added, and batches of spans
/// cut so that each span is shipped exactly once, to its trace's home.
@Suite("Collector ring and trace split")
struct CollectorRingTests {
    static let urls = ["http://10.0.0.1:4400", "http://10.0.0.2:4400", "http://10.0.0.3:4400"]

    func traceIDs(_ count: Int, seed: UInt64) -> [TraceID] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in TraceID(high: generator.next(), low: generator.next()) }
    }

    @Test("homes are balanced, agree with the preference order, and a fourth collector takes only its share")
    func balancedAndStable() {
        let ring = CollectorRing(urls: Self.urls)
        let ids = traceIDs(30_000, seed: 7)
        var counts = [0, 0, 0]
        for id in ids {
            let home = ring.home(of: id)
            counts[home] += 1
            #expect(ring.preference(for: CollectorRing.key(id)).first == home)
        }
        for count in counts { #expect(abs(count - 10_000) < 600, "\(counts)") }
        let grown = CollectorRing(urls: Self.urls + ["http://10.0.0.4:4400"])
        var moved = 0
        for id in ids {
            let before = ring.home(of: id)
            let after = grown.home(of: id)
            if after != before {
                moved += 1
                #expect(after == 3, "a trace only ever moves to the new collector")
            }
        }
        #expect(abs(moved - 7_500) < 600, "about a quarter moves: \(moved)")
        // Fallbacks: the home first, then every other collector once, the same for every trace of a home.
        for home in 0..<3 {
            let order = ring.fallbacks(from: home)
            #expect(order.first == home && Set(order) == [0, 1, 2] && order.count == 3)
        }
        #expect(CollectorRing.key("batch-1") == CollectorRing.key("batch-1"))
        // The list's fingerprint: the same for the same collectors however their host is spelled, another for another list or order.
        #expect(ring.fingerprint == CollectorRing(urls: Self.urls.map { $0.uppercased() }).fingerprint)
        #expect(ring.fingerprint != CollectorRing(urls: Self.urls.reversed()).fingerprint)
        #expect(ring.fingerprint != CollectorRing(urls: Array(Self.urls.prefix(2))).fingerprint)
        #expect(ring.fingerprint.count == 8)
    }

    @Test("a batch of spans is cut by home: every span once, in the part of its trace's home, with IDs that do not change")
    func splitKeepsEverySpanOnce() throws {
        let ring = CollectorRing(urls: Self.urls)
        let ids = traceIDs(60, seed: 8)
        var spanID: UInt64 = 1
        var groups: [ResourceSpans] = []
        for service in ["a", "b"] {
            var spans: [Span] = []
            for id in ids {
                for _ in 0..<3 {
                    spans.append(Span(traceID: id, spanID: SpanID(spanID), name: "op", kind: .server,
                                      startTimeUnixNano: 1_800_000_000_000_000_000, endTimeUnixNano: 1_800_000_000_001_000_000))
                    spanID += 1
                }
            }
            groups.append(ResourceSpans(resource: Resource(serviceName: service), scopes: [ScopeSpans(scope: InstrumentationScope(name: "s"), spans: spans)]))
        }
        let batch = EncodedBatch(id: "b-1", signal: .traces, itemCount: 360, body: Zstd.compress(OTLPEncoder.encode(.traces(groups))))
        let parts = TraceSplit.parts(of: batch, ring: ring)
        #expect(parts.count == 3)
        var seen = Set<UInt64>()
        for part in parts {
            let home = try #require(part.preference.first)
            #expect(part.batch.id == "b-1.\(ring.fingerprint).c\(home)")
            #expect(part.preference == ring.fallbacks(from: home))
            let decoded = try OTLPDecoder().decode(.traces, try Zstd.decompress(part.batch.body, limit: 1 << 24), format: .protobuf)
            guard case .traces(let back) = decoded.batch else { Issue.record("not traces"); continue }
            let spans = back.flatMap { $0.scopes.flatMap(\.spans) }
            #expect(spans.count == part.batch.itemCount)
            for span in spans {
                #expect(ring.home(of: span.traceID) == home)
                #expect(seen.insert(span.spanID.value).inserted, "span \(span.spanID) in two parts")
            }
            #expect(Set(back.map(\.resource.serviceName)) == ["a", "b"], "resources kept")
        }
        #expect(seen.count == 360)
        #expect(TraceSplit.parts(of: batch, ring: ring).map(\.batch) == parts.map(\.batch), "the same batch is cut the same way again")
        // Logs stay whole; one collector means no cut at all.
        let logs = EncodedBatch(id: "l-1", signal: .logs, itemCount: 1, body: [1])
        #expect(TraceSplit.parts(of: logs, ring: ring).map(\.batch) == [logs])
        #expect(TraceSplit.parts(of: batch, ring: CollectorRing(urls: [Self.urls[0]])).map(\.batch) == [batch])
        // Damaged bytes are shipped whole, for the collector to refuse and the dead-letter box to keep.
        let damaged = EncodedBatch(id: "d-1", signal: .traces, itemCount: 3, body: [0xFF, 0x00, 0x12])
        #expect(TraceSplit.parts(of: damaged, ring: ring).map(\.batch) == [damaged])
    }
}
