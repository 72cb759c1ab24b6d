import Foundation
import PeriscopeModel
@testable import PeriscopeOTLP
import PeriscopeTesting
import Testing

/// The direct trace reader against the generic decoder (SwiftProtobuf's messages, then
/// `ProtoToModel`): for every input it answers the same batch, or nil so the generic path
/// decides; and it does answer for the well-formed requests clients send.
@Suite("OTLP trace reader")
struct OTLPTraceReaderTests {
    static let now: UInt64 = 1_800_000_000_000_000_000

    static func generic(_ bytes: [UInt8], limits: OTLPLimits = .default) -> [ResourceSpans]? {
        guard case .traces(let groups)? = try? OTLPDecoder(limits: limits).generic(.traces, bytes, format: .protobuf, nowUnixNano: now).batch else { return nil }
        return groups
    }

    /// Seeded requests with every value type, events, links, several resources and scopes.
    static func requests() -> [[UInt8]] {
        var generator = SeededGenerator(seed: 0x7ace)
        var out = [OTLPEncoder.encode(Fixtures.traces)]
        for _ in 0..<40 {
            var groups = [ResourceSpans]()
            for g in 0..<Int.random(in: 1...3, using: &generator) {
                var scopes = [ScopeSpans]()
                for _ in 0..<Int.random(in: 1...2, using: &generator) {
                    var spans = [Span]()
                    for s in 0..<Int.random(in: 0...6, using: &generator) {
                        var span = Fixtures.span
                        span.traceID = TraceID(high: generator.next() | 1, low: generator.next())
                        span.spanID = SpanID(generator.next() | 1)
                        span.parentSpanID = s % 2 == 0 ? nil : SpanID(generator.next())
                        span.kind = Span.Kind(rawValue: s % 6)!
                        span.status = Span.Status(code: Span.Status.Code(rawValue: s % 3)!, message: s % 3 == 2 ? "bad ✗" : "")
                        span.attributes = Array(Fixtures.allValues.shuffled(using: &generator).prefix(Int.random(in: 0...9, using: &generator)))
                        if s % 3 != 0 { span.events = []; span.links = [] }
                        spans.append(span)
                    }
                    scopes.append(ScopeSpans(scope: g == 0 ? Fixtures.scope : InstrumentationScope(), spans: spans))
                }
                groups.append(ResourceSpans(resource: g == 1 ? Resource() : Fixtures.resource, scopes: scopes))
            }
            out.append(OTLPEncoder.encode(.traces(groups)))
        }
        return out
    }

    @Test("well-formed requests read as the generic decoder reads them")
    func sameAsGeneric() throws {
        let reader = OTLPTraceReader(limits: .default, nowUnixNano: Self.now)
        for bytes in Self.requests() {
            let direct = try #require(reader.resourceSpans(bytes))
            #expect(direct == Self.generic(bytes))
        }
    }

    @Test("a limit broken or an ID missing: nil, so the generic path words the error")
    func rulesLeftToGeneric() {
        let strict = OTLPLimits(maxAttributesPerItem: 4, maxValueBytes: 16, maxValueDepth: 3)
        let reader = OTLPTraceReader(limits: strict, nowUnixNano: Self.now)
        var noTrace = Fixtures.span
        noTrace.traceID = TraceID(high: 0, low: 0)
        for span in [Fixtures.span, noTrace] {
            let bytes = OTLPEncoder.encode(.traces([ResourceSpans(resource: Resource(), scopes: [ScopeSpans(spans: [span])])]))
            #expect(reader.resourceSpans(bytes) == nil)
            #expect(Self.generic(bytes, limits: strict) == nil)
        }
    }

    @Test("20,000 mutations of bytes and of structure: the reader agrees with the generic decoder or leaves it to it")
    func mutationsAgree() {
        var generator = SeededGenerator(seed: 0xbad)
        var answered = 0
        let valid = Self.requests()
        for _ in 0..<20_000 {
            var bytes = valid.randomElement(using: &generator)!
            if Bool.random(using: &generator) {
                ProtobufMutation.mutate(&bytes, using: &generator)
            } else {
                bytes = ProtobufMutation.mutateStructure(bytes, using: &generator)
            }
            let outcome = DirectReaderCheck.check(.traces, bytes, nowUnixNano: Self.now)
            if outcome == .agree { answered += 1 }
            if case .disagree(let difference) = outcome { Issue.record("mutated request \(bytes): \(difference)") }
        }
        #expect(answered > 1000, "the reader keeps reading what mutations leave well-formed")
    }
}
