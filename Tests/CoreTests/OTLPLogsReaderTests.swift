import PeriscopeModel
@testable import PeriscopeOTLP
import PeriscopeTesting
import Testing

/// The direct logs reader against the generic decoder (SwiftProtobuf's messages, then
/// `ProtoToModel`): for every input the same batch, or nil so the generic path decides; and it
/// does answer for the well-formed requests clients send.
@Suite("OTLP logs reader")
struct OTLPLogsReaderTests {
    static func generic(_ bytes: [UInt8], limits: OTLPLimits = .default) -> [ResourceLogs]? {
        guard case .logs(let groups)? = try? OTLPDecoder(limits: limits).generic(.logs, bytes, format: .protobuf, nowUnixNano: 0).batch else { return nil }
        return groups
    }

    /// Seeded requests with every field and value type, several resources and scopes.
    static func requests() -> [[UInt8]] {
        var generator = SeededGenerator(seed: 0x1065)
        var out = [OTLPEncoder.encode(Fixtures.logs)]
        for _ in 0..<40 {
            var groups = [ResourceLogs]()
            for g in 0..<Int.random(in: 1...3, using: &generator) {
                var scopes = [ScopeLogs]()
                for _ in 0..<Int.random(in: 1...2, using: &generator) {
                    var records = [LogRecord]()
                    for r in 0..<Int.random(in: 0...6, using: &generator) {
                        let attributes = Array(Fixtures.allValues.shuffled(using: &generator).prefix(Int.random(in: 0...9, using: &generator)))
                        records.append(LogRecord(
                            timeUnixNano: r % 4 == 0 ? 0 : generator.next(), observedTimeUnixNano: generator.next(),
                            severityNumber: Severity(rawValue: Int.random(in: 0...24, using: &generator)),
                            severityText: r % 2 == 0 ? "WARN" : "",
                            body: r % 3 == 0 ? .empty : (attributes.first?.value ?? .string("line ✓")), attributes: attributes,
                            traceID: r % 2 == 0 ? TraceID(high: generator.next() | 1, low: generator.next()) : nil,
                            spanID: r % 2 == 0 ? SpanID(generator.next() | 1) : nil, flags: UInt32(r % 2),
                            eventName: r == 5 ? "user.login" : ""))
                    }
                    scopes.append(ScopeLogs(scope: g == 0 ? Fixtures.scope : InstrumentationScope(), records: records))
                }
                groups.append(ResourceLogs(resource: g == 1 ? Resource() : Fixtures.resource, scopes: scopes))
            }
            out.append(OTLPEncoder.encode(.logs(groups)))
        }
        return out
    }

    @Test("well-formed requests read as the generic decoder reads them")
    func sameAsGeneric() throws {
        let reader = OTLPLogsReader(limits: .default)
        for bytes in Self.requests() {
            let direct = try #require(reader.resourceLogs(bytes))
            #expect(direct == Self.generic(bytes))
        }
    }

    @Test("a limit broken, a severity out of range or an ID of the wrong length: nil, so the generic path words the error")
    func rulesLeftToGeneric() throws {
        let strict = OTLPLimits(maxAttributesPerItem: 4, maxValueBytes: 16, maxValueDepth: 3)
        let record = LogRecord(timeUnixNano: 1, body: .string("ok"))
        var tooMany = record
        tooMany.attributes = Fixtures.allValues
        var longBody = record
        longBody.body = .string(String(repeating: "x", count: 17))
        var badSeverity = record
        badSeverity.severityNumber = Severity(rawValue: 25)
        var deep = record
        deep.body = .array([.array([.array([.int(1)])])])
        for broken in [tooMany, longBody, badSeverity, deep] {
            let bytes = OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(), scopes: [ScopeLogs(records: [broken])])]))
            #expect(OTLPLogsReader(limits: strict).resourceLogs(bytes) == nil)
            #expect(Self.generic(bytes, limits: strict) == nil)
        }
        // A 3-byte trace ID: field 9 of the record, hand-written.
        let ok = OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(), scopes: [ScopeLogs(records: [record])])]))
        #expect(OTLPLogsReader(limits: strict).resourceLogs(ok) != nil)
        let shortTraceID: [UInt8] = [0x0a, 9, 0x12, 7, 0x12, 5, 0x4a, 3, 1, 2, 3]
        #expect(OTLPLogsReader(limits: .default).resourceLogs(shortTraceID) == nil)
        #expect(Self.generic(shortTraceID) == nil)
        #expect(throws: OTLPError.self) { try OTLPDecoder().decode(.logs, shortTraceID, format: .protobuf) }
    }

    @Test("all-zero trace and span IDs mean none, in both paths")
    func zeroIDs() throws {
        let bytes: [UInt8] = [0x0a, 32, 0x12, 30, 0x12, 28, 0x4a, 16] + Array(repeating: 0, count: 16) + [0x52, 8] + Array(repeating: 0, count: 8)
        let direct = try #require(OTLPLogsReader(limits: .default).resourceLogs(bytes))
        #expect(direct == Self.generic(bytes))
        #expect(direct.first?.scopes.first?.records.first?.traceID == nil)
        #expect(direct.first?.scopes.first?.records.first?.spanID == nil)
    }

    /// One record, hand-written: `record` is its fields' bytes; wrapped in ScopeLogs, ResourceLogs and the request.
    static func request(record: [UInt8]) -> [UInt8] {
        func wrap(_ field: UInt8, _ content: [UInt8]) -> [UInt8] {
            var out = [field << 3 | 2]
            var length = content.count
            while length >= 0x80 {
                out.append(UInt8(length & 0x7F) | 0x80)
                length >>= 7
            }
            return out + [UInt8(length)] + content
        }
        return wrap(1, wrap(2, wrap(2, record)))
    }

    @Test("the last field wins: an ID cleared by an empty one, severities past 32 bits, unknown fields of every wire type")
    func protobufRules() throws {
        let traceThenEmpty = Self.request(record: [0x4a, 16] + Array(1...16) + [0x4a, 0])
        let spanThenEmpty = Self.request(record: [0x52, 8] + Array(1...8) + [0x52, 0])
        // Severity -1 (refused) and 2^32 + 9 (read as 9: enums are 32-bit).
        let negative = Self.request(record: [0x10] + Array(repeating: 0xFF, count: 9) + [0x01])
        let wide = Self.request(record: [0x10, 0x89, 0x80, 0x80, 0x80, 0x10])
        // Fields 20–23 with wire types 0, 1, 2 and 5, and reserved field 4.
        let unknown = Self.request(record: [0xA0, 0x01, 7, 0xA9, 0x01] + Array(repeating: 1, count: 8)
            + [0xB2, 0x01, 2, 0x61, 0x62, 0xBD, 0x01, 1, 2, 3, 4, 0x20, 5])
        // A tag in six bytes (zero-padded; libFuzzer's finding) is malformed to SwiftProtobuf; in five it is not.
        let longTag: [UInt8] = [0xd0, 0xfd, 0x87, 0x87, 0x87, 0x00, 0x10]
        let fiveByteTag: [UInt8] = [0xd0, 0xfd, 0x87, 0x87, 0x07, 0x10]
        #expect(OTLPLogsReader(limits: .default).resourceLogs(longTag) == nil)
        for bytes in [traceThenEmpty, spanThenEmpty, negative, wide, unknown, longTag, fiveByteTag] {
            #expect(DirectReaderCheck.check(.logs, bytes) != .leftToGeneric || Self.generic(bytes) == nil, "\(bytes)")
            if case .disagree(let difference) = DirectReaderCheck.check(.logs, bytes) { Issue.record("\(bytes): \(difference)") }
        }
        let cleared = try #require(OTLPLogsReader(limits: .default).resourceLogs(traceThenEmpty))
        #expect(cleared.first?.scopes.first?.records.first?.traceID == nil)
        #expect(try #require(OTLPLogsReader(limits: .default).resourceLogs(spanThenEmpty)).first?.scopes.first?.records.first?.spanID == nil)
        #expect(OTLPLogsReader(limits: .default).resourceLogs(negative) == nil)
        #expect(try #require(OTLPLogsReader(limits: .default).resourceLogs(wide)).first?.scopes.first?.records.first?.severityNumber == .info)
        #expect(OTLPLogsReader(limits: .default).resourceLogs(unknown) != nil)
    }

    @Test("a key/value pair with no value still counts toward the nesting limit, as in the generic decoder")
    func valuelessPairDepth() {
        // Body: a kvlist holding {key: "k"} with no value; at depth limit 1 that pair is one level too deep.
        let bytes = Self.request(record: [0x2a, 7, 0x32, 5, 0x0a, 3, 0x0a, 1, 0x6b])
        let shallow = OTLPLimits(maxValueDepth: 1)
        #expect(OTLPLogsReader(limits: shallow).resourceLogs(bytes) == nil)
        #expect(Self.generic(bytes, limits: shallow) == nil)
        #expect(OTLPLogsReader(limits: .default).resourceLogs(bytes) != nil)
        #expect(DirectReaderCheck.check(.logs, bytes) == .agree)
    }

    @Test("20,000 mutations of bytes and of structure: the reader agrees with the generic decoder or leaves it to it")
    func mutationsAgree() {
        var generator = SeededGenerator(seed: 0xbad1065)
        var answered = 0
        let valid = Self.requests()
        for _ in 0..<20_000 {
            var bytes = valid.randomElement(using: &generator)!
            if Bool.random(using: &generator) {
                ProtobufMutation.mutate(&bytes, using: &generator)
            } else {
                bytes = ProtobufMutation.mutateStructure(bytes, using: &generator)
            }
            let outcome = DirectReaderCheck.check(.logs, bytes)
            if outcome == .agree { answered += 1 }
            if case .disagree(let difference) = outcome { Issue.record("mutated request \(bytes): \(difference)") }
        }
        #expect(answered > 1000, "the reader keeps reading what mutations leave well-formed")
    }
}
