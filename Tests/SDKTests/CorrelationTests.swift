import Logging
import PeriscopeSDK
import Testing
import Tracing

@Suite struct BaggageTests {
    @Test func parsesTheSpecExamples() {
        let baggage = Baggage(headerValue: "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue")
        #expect(baggage.entries.map(\.key) == ["key1", "key2", "key3"])
        #expect(baggage["key2"] == "value2")
        #expect(baggage.entries[0].properties == "property1;property2")
        #expect(baggage.entries[2].properties == "propertyKey=propertyValue")
    }

    @Test func valuesArePercentEncodedAndDecoded() {
        var baggage = Baggage()
        baggage["user"] = "Ada Lovelace, 100%; ok=yes"
        baggage["city"] = "Zürich"
        let header = baggage.headerValue
        #expect(!header.contains(" ") && !header.contains(";") && header.split(separator: ",").count == 2)
        #expect(Baggage(headerValue: header) == baggage)
    }

    @Test(arguments: ["", "=", "novalue", "=v", "k y=v", "k=%zz", "k=%ff"])
    func malformedMembersAreSkipped(_ member: String) {
        let baggage = Baggage(headerValue: "\(member),good=1")
        #expect(baggage.entries.map(\.key) == ["good"])
    }

    @Test func hostileHeadersAreBounded() {
        let many = (0..<500).map { "k\($0)=v" }.joined(separator: ",")
        #expect(Baggage(headerValue: many).entries.count == Baggage.maxEntries)
        #expect(Baggage(headerValue: "k=" + String(repeating: "x", count: 10_000)).isEmpty)
    }
}

@Suite struct CorrelationTests {
    let sink = InMemorySink()
    var tracer: PeriscopeTracer { PeriscopeTracer(sampler: ParentBasedRatioSampler(ratio: 1), sink: sink) }

    @Test func injectCarriesCorrelationIDAndBaggageDownstream() {
        var context = ServiceContext.topLevel
        context.correlationID = "req-42"
        context.baggage = Baggage([.init(key: "tenant", value: "acme")])
        var headers: [String: String] = [:]
        tracer.withSpan("outer", context: context) { span in
            tracer.inject(span.context, into: &headers, using: DictionaryInjector())
        }
        #expect(headers["traceparent"] != nil)
        #expect(headers["baggage"] == "tenant=acme,correlation_id=req-42")

        var extracted = ServiceContext.topLevel
        tracer.extract(headers, into: &extracted, using: DictionaryExtractor())
        #expect(extracted.correlationID == "req-42")
        #expect(extracted.baggage?["tenant"] == "acme")
        #expect(extracted.baggage?["correlation_id"] == nil, "kept in correlationID, not twice")
    }

    @Test(arguments: [
        (["baggage": "correlation_id=from-baggage", "x-request-id": "from-request-id"], "from-baggage"),
        (["x-correlation-id": "from-correlation", "x-request-id": "from-request-id"], "from-correlation"),
        (["X-Request-ID": "from-request-id"], "from-request-id"),
        (["x-request-id": "has space"], nil),
        (["x-request-id": String(repeating: "a", count: 500)], nil),
        ([:], nil),
    ] as [([String: String], String?)])
    func extractPrefersBaggageThenHeaders(_ headers: [String: String], _ expected: String?) {
        var context = ServiceContext.topLevel
        tracer.extract(headers, into: &context, using: DictionaryExtractor())
        #expect(context.correlationID == expected)
    }

    @Test func everySpanAndLogRecordOfTheRequestIsStamped() throws {
        let logger = Logger(label: "t") { PeriscopeLogHandler(label: $0, sink: sink, logLevel: .debug) }
        var request = ServiceContext.topLevel
        request.correlationID = "c-7"
        tracer.withSpan("server", context: request, ofKind: .server) { _ in
            tracer.withSpan("child") { _ in logger.info("inside") }
            logger.info("explicit", metadata: ["correlation_id": "mine"])
        }
        tracer.withSpan("unrelated", context: .topLevel) { _ in logger.info("outside") }

        #expect(sink.span(named: "server")?.attributes["correlation_id"] == .string("c-7"))
        #expect(sink.span(named: "child")?.attributes["correlation_id"] == .string("c-7"))
        #expect(sink.span(named: "unrelated")?.attributes["correlation_id"] == nil)
        let records = sink.records
        #expect(records.map { $0.attributes["correlation_id"] } == [.string("c-7"), .string("mine"), nil])
        let attributes = try #require(sink.span(named: "server")).attributes.map(\.key)
        #expect(attributes == attributes.sorted(), "the stamped attribute keeps the list sorted")
    }

    @Test func generatedIDsAreUUIDs() {
        let id = CorrelationID.generate()
        #expect(id.count == 36 && CorrelationID.isValid(id))
        #expect(id != CorrelationID.generate())
    }
}
