import Foundation
import PeriscopeModel
@testable import PeriscopeOTLP
import Testing

@Suite("OTLP logs writer")
struct OTLPLogsWriterTests {
    /// Records with every value type, and with every default a proto3 encoder must leave out
    /// (or, in a oneof, must keep).
    static let edgeCases: [ResourceLogs] = {
        guard case .logs(let groups) = Fixtures.logs else { return [] }
        let defaults = LogRecord(
            timeUnixNano: 0, body: .string(""),
            attributes: [
                Attribute("zero", .int(0)), Attribute("false", .bool(false)), Attribute("empty-string", .string("")),
                Attribute("empty-bytes", .bytes([])), Attribute("zero-double", .double(0)), Attribute("minus", .int(-1)),
                Attribute("empty-array", .array([])), Attribute("empty-kv", .keyValueList([])), Attribute("", .empty),
            ])
        let long = LogRecord(timeUnixNano: 1, severityNumber: .error, body: .string(String(repeating: "x", count: 20_000)))
        return groups + [
            ResourceLogs(resource: Resource(), scopes: [ScopeLogs(records: [defaults, long])]),
            ResourceLogs(resource: Resource(attributes: [], droppedAttributesCount: 3), scopes: []),
        ]
    }()

    @Test("writes the same bytes as the generated message types")
    func sameBytesAsGenerated() throws {
        let generated = try ModelToProto.request(Self.edgeCases).serializedBytes() as [UInt8]
        #expect(OTLPLogsWriter.encode(Self.edgeCases) == generated)
    }

    @Test("stored attribute lists and values: the same bytes as the generated message types")
    func compactEncodingSameBytes() throws {
        for record in Self.edgeCases.flatMap({ $0.scopes.flatMap(\.records) }) {
            let list = Opentelemetry_Proto_Common_V1_KeyValueList.with { $0.values = ModelToProto.attributes(record.attributes) }
            #expect(CompactEncoding.encode(attributes: record.attributes) == (record.attributes.isEmpty ? [] : try list.serializedBytes()))
            #expect(CompactEncoding.decodeAttributes(CompactEncoding.encode(attributes: record.attributes)) == record.attributes)
            if record.body != .empty {
                #expect(CompactEncoding.encode(value: record.body) == (try ModelToProto.value(record.body).serializedBytes() as [UInt8]))
                #expect(CompactEncoding.decodeValue(CompactEncoding.encode(value: record.body)) == record.body)
            }
        }
    }

    @Test("decodes back to the model")
    func roundTrip() throws {
        let bytes = OTLPEncoder.encode(.logs(Self.edgeCases), format: .protobuf)
        let decoded = try OTLPDecoder().decode(.logs, bytes, format: .protobuf, nowUnixNano: 1_700_000_000_000_000_000)
        #expect(decoded.batch == .logs(Self.edgeCases))
    }
}
