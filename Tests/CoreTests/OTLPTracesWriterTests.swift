import PeriscopeModel
@testable import PeriscopeOTLP
import Testing

@Suite("OTLP traces writer")
struct OTLPTracesWriterTests {
    /// Spans with every field set, and with every default a proto3 encoder must leave out.
    static let edgeCases: [ResourceSpans] = {
        guard case .traces(let groups) = Fixtures.traces else { return [] }
        let defaults = Span(
            traceID: TraceID(high: 0, low: 0), spanID: SpanID(0), name: "", kind: .unspecified,
            startTimeUnixNano: 0, endTimeUnixNano: 0,
            events: [Span.Event(timeUnixNano: 0, name: "")],
            links: [Span.Link(traceID: TraceID(high: 0, low: 1), spanID: SpanID(0))])
        let messageOnly = Span(
            traceID: .random(), spanID: .random(), parentSpanID: .random(), name: "status message, unset code",
            kind: .consumer, startTimeUnixNano: 1, endTimeUnixNano: 2, status: Span.Status(code: .unset, message: "why"))
        let long = Span(
            traceID: .random(), spanID: .random(), flags: 0xFFFF_FFFF, name: String(repeating: "n", count: 300),
            kind: .client, startTimeUnixNano: .max, endTimeUnixNano: .max,
            attributes: (0..<200).map { Attribute("key.\($0)", .string(String(repeating: "v", count: $0))) },
            status: Span.Status(code: .ok))
        return groups + [
            ResourceSpans(resource: Resource(), scopes: [ScopeSpans(spans: [defaults, messageOnly, long])]),
            ResourceSpans(resource: Resource(attributes: [], droppedAttributesCount: 3), scopes: []),
        ]
    }()

    @Test("writes the same bytes as the generated message types")
    func sameBytesAsGenerated() throws {
        let generated = try ModelToProto.request(Self.edgeCases).serializedBytes() as [UInt8]
        #expect(OTLPTracesWriter.encode(Self.edgeCases) == generated)
    }
}
