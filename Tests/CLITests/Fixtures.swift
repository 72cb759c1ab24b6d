import PeriscopeModel
@testable import PeriscopeCLI
import PeriscopeQueryAPI

/// Hand-built documents for the rendering tests.
enum Fixtures {
    static let traceID = TraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")!
    /// 2024-05-01T12:00:00Z
    static let t0: UInt64 = 1_714_564_800_000_000_000

    static func span(
        _ id: UInt64, parent: UInt64?, service: String, name: String, start: UInt64, duration: UInt64,
        error: String? = nil, attributes: [String: AttributeValue] = [:], events: [QueryAPI.Event] = []
    ) -> QueryAPI.Span {
        QueryAPI.Span(
            traceID: traceID, spanID: SpanID(id), parentSpanID: parent.map(SpanID.init), service: service, name: name,
            kind: parent == nil ? "server" : "client", startTimeUnixNano: t0 + start, endTimeUnixNano: t0 + start + duration,
            status: error.map { QueryAPI.Status(code: "error", message: $0) } ?? QueryAPI.Status(code: "unset", message: ""),
            attributes: attributes, resource: ["service.name": .string(service)], events: events, links: [])
    }

    /// frontend GET /checkout (10ms) → cart load (nested db query), payments charge (error);
    /// plus an orphan from the search service whose parent never arrived.
    static let trace = QueryAPI.Trace(traceID: traceID, spans: [
        span(0x5, parent: 0x99, service: "search", name: "suggest", start: 6_000_000, duration: 1_500_000),
        span(0x4, parent: 0x1, service: "payments", name: "charge card", start: 4_000_000, duration: 5_000_000,
             error: "card declined",
             attributes: ["http.status_code": .int(402), "card.brand": .string("visa")],
             events: [QueryAPI.Event(timeUnixNano: t0 + 8_500_000, name: "exception",
                                     attributes: ["exception.type": .string("CardDeclined")])]),
        span(0x1, parent: nil, service: "frontend", name: "GET /checkout", start: 0, duration: 10_000_000,
             attributes: ["http.method": .string("GET")]),
        span(0x3, parent: 0x2, service: "cart", name: "SELECT cart_items", start: 1_200_000, duration: 850_000),
        span(0x2, parent: 0x1, service: "cart", name: "load cart", start: 1_000_000, duration: 2_000_000),
    ])
}
