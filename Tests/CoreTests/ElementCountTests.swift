import Foundation
import PeriscopeModel
@testable import PeriscopeOTLP
import PeriscopeTesting
import Testing

@Suite("OTLP elements per request")
struct ElementCountTests {
    /// A span (with IDs, so both decoders take it) carrying `attributes` empty attributes: 2 bytes each on the wire.
    static func spansWithEmptyAttributes(spans: Int, attributes: Int) -> [UInt8] {
        var span: [UInt8] = [0x0A, 16] + [UInt8](repeating: 1, count: 16) + [0x12, 8] + [UInt8](repeating: 2, count: 8)
        for _ in 0..<attributes { span += [0x4A, 0x00] }
        var scopeSpans = [UInt8]()
        for _ in 0..<spans { scopeSpans += [0x12] + varint(span.count) + span }
        let resourceSpans = [0x12] + varint(scopeSpans.count) + scopeSpans
        return [0x0A] + varint(resourceSpans.count) + resourceSpans
    }

    static func varint(_ value: Int) -> [UInt8] {
        var bytes = [UInt8]()
        Varint.append(UInt64(value), to: &bytes)
        return bytes
    }

    @Test("a request of empty attributes past the limit is refused before decoding, by the default limit too")
    func emptyAttributesRefused() throws {
        let decoder = OTLPDecoder()
        // 2,100 spans of 1,000 empty attributes: 4.3 MB, 2.1 million elements.
        let flood = Self.spansWithEmptyAttributes(spans: 2_100, attributes: 1_000)
        #expect {
            _ = try decoder.decode(.traces, flood, format: .protobuf, nowUnixNano: .max / 2)
        } throws: { error in
            (error as? OTLPError)?.message.contains("more than 2097152 elements") == true
        }
        // Within the limit the same shape decodes: the count refuses only what is past it.
        let small = Self.spansWithEmptyAttributes(spans: 2, attributes: 1_000)
        let decoded = try decoder.decode(.traces, small, format: .protobuf, nowUnixNano: .max / 2)
        #expect(decoded.batch.itemCount == 2)
    }

    @Test("the limit holds on both paths: OTLP/JSON (generic) exactly at the count, protobuf (direct) at what the reader builds, never above the count")
    func limitHolds() throws {
        let batch = Fixtures.traces
        let now: UInt64 = 1_700_000_000_000_000_000
        let json = OTLPEncoder.encode(batch, format: .json)
        let objects = json.withUnsafeBytes { ElementCount.jsonObjects(in: $0, limit: .max) }
        #expect(objects > 10)
        #expect(try OTLPDecoder(limits: OTLPLimits(maxElementsPerRequest: objects)).decode(.traces, json, format: .json, nowUnixNano: now).batch == batch)
        #expect(throws: OTLPError.self) { try OTLPDecoder(limits: OTLPLimits(maxElementsPerRequest: objects - 1)).decode(.traces, json, format: .json, nowUnixNano: now) }

        let protobuf = OTLPEncoder.encode(batch, format: .protobuf)
        let messages = protobuf.withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: .max) }
        func accepted(_ limit: Int) -> Bool {
            (try? OTLPDecoder(limits: OTLPLimits(maxElementsPerRequest: limit)).decode(.traces, protobuf, format: .protobuf, nowUnixNano: now).batch) == batch
        }
        // The fewest the direct reader takes: 3 items, 5 resource and scope attributes, 9 span attributes with
        // 4 + 1 array values and 2 pairs, an event's and a link's attribute.
        let least = try #require((1...messages).first(where: accepted))
        #expect(least == 26, "\(least) of \(messages) counted on the bytes")
        #expect(!accepted(least - 1) && accepted(messages))
    }

    @Test("the limit is per request: a stream of requests each under it, together far past it, all decode, on both paths")
    func limitIsPerRequest() throws {
        let batch = Fixtures.traces
        let protobuf = OTLPEncoder.encode(batch, format: .protobuf)
        let json = OTLPEncoder.encode(batch, format: .json)
        let objects = json.withUnsafeBytes { ElementCount.jsonObjects(in: $0, limit: .max) }
        let messages = protobuf.withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: .max) }
        let decoder = OTLPDecoder(limits: OTLPLimits(maxElementsPerRequest: max(objects, messages)))
        for _ in 0..<1_000 {
            #expect(try decoder.decode(.traces, protobuf, format: .protobuf, nowUnixNano: 1_700_000_000_000_000_000).batch == batch)
            #expect(try decoder.decode(.traces, json, format: .json, nowUnixNano: 1_700_000_000_000_000_000).batch == batch)
        }
        // One reader for many requests (as the tests use them) counts each from zero too.
        let reader = OTLPTraceReader(limits: OTLPLimits(maxElementsPerRequest: messages), nowUnixNano: 1_700_000_000_000_000_000)
        for _ in 0..<1_000 { #expect(reader.resourceSpans(protobuf) != nil) }
    }

    @Test("at least every message a decoder builds is counted, and joined requests count their sum")
    func countsAddUp() {
        for batch in [Fixtures.traces, Fixtures.logs, Fixtures.metrics] {
            let bytes = OTLPEncoder.encode(batch, format: .protobuf)
            let one = bytes.withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: .max) }
            let two = (bytes + bytes).withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: .max) }
            #expect(two == 2 * one, "\(batch.signal): \(one) then \(two)")
            #expect(one >= batch.itemCount)
        }
        let attributes = Self.spansWithEmptyAttributes(spans: 3, attributes: 10)
        // Per span: itself and 10 attributes (its IDs do not parse as messages); the scope and resource groups.
        #expect(attributes.withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: .max) } == 3 * 11 + 2)
    }

    @Test("a group (which a decoder keeps as an unknown field) neither hides the elements around it nor the ones inside it")
    func groupsAreCounted() throws {
        // The flood again, a 2-byte empty group (field 15) first in its resource group: the direct reader leaves it to the generic path.
        let flood = Self.spansWithEmptyAttributes(spans: 2_100, attributes: 1_000)
        var position = 1
        let length = flood.withUnsafeBytes { Varint.read($0, &position) }
        let resourceSpans = [UInt8](flood[position...])
        #expect(length.map(Int.init) == resourceSpans.count)
        let grouped = [0x0A] + Self.varint(resourceSpans.count + 2) + [0x7B, 0x7C] + resourceSpans
        #expect {
            _ = try OTLPDecoder().decode(.traces, grouped, format: .protobuf, nowUnixNano: .max / 2)
        } throws: { error in
            (error as? OTLPError)?.message.contains("more than 2097152 elements") == true
        }
        // Messages inside a group count too: 3 empty messages in group 15, in a request.
        let inside: [UInt8] = [0x0A, 0x08, 0x7B, 0x0A, 0x00, 0x0A, 0x00, 0x0A, 0x00, 0x7C]
        #expect(inside.withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: .max) } == 4)
        // An end tag of another field, or none, is malformed: nothing inside counts.
        for bad in [[0x0A, 0x04, 0x7B, 0x0A, 0x00, 0x74], [0x0A, 0x03, 0x7B, 0x0A, 0x00]] as [[UInt8]] {
            #expect(bad.withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: .max) } == 0)
        }
    }

    @Test("messages nested past the scan's depth are refused by the generic decoder; values nested as deep as the limits allow still decode")
    func depth() throws {
        // A log body of key-value lists 25 deep: 4 + 75 message levels. SwiftProtobuf stops at 64 (before, it read all
        // of it and the translation refused the values' depth).
        var deep = AttributeValue.int(1)
        for _ in 0..<25 { deep = .keyValueList([Attribute("k", deep)]) }
        let logs = OTLPEncoder.encode(.logs([ResourceLogs(resource: Resource(), scopes: [ScopeLogs(records: [LogRecord(timeUnixNano: 1, body: deep)])])]))
        #expect {
            _ = try OTLPDecoder().decode(.logs, logs, format: .protobuf, nowUnixNano: .max / 2)
        } throws: { error in
            (error as? OTLPError)?.message.contains("invalid protobuf") == true
        }
        // A key-value list 15 deep (3 messages a level) as a data point's attribute: 6 + 45 + 2 levels.
        var value = AttributeValue.int(1)
        for _ in 0..<15 { value = .keyValueList([Attribute("k", value)]) }
        let metrics = TelemetryBatch.metrics([ResourceMetrics(resource: Resource(serviceName: "m"), scopes: [ScopeMetrics(metrics: [
            Metric(name: "g", data: .gauge([NumberPoint(attributes: [Attribute("deep", value)], timeUnixNano: 1, value: .int(1))])),
        ])])])
        for format in [OTLPFormat.protobuf, .json] {
            #expect(try OTLPDecoder().decode(.metrics, OTLPEncoder.encode(metrics, format: format), format: format, nowUnixNano: .max / 2).batch == metrics)
        }
    }

    @Test("braces inside OTLP/JSON strings are not elements; escaped quotes do not end a string")
    func jsonStrings() {
        let text = #"{"a":"{{{{\"{{{","b":[{},{}]}"#
        #expect(Array(text.utf8).withUnsafeBytes { ElementCount.jsonObjects(in: $0, limit: .max) } == 3)
    }

    @Test("nesting deeper than the scan goes, and bytes that are not protobuf, are counted without a crash")
    func hostileShapes() {
        // 200 levels of a message holding one message: each level counted until the scan's depth, then one for the rest.
        var nested: [UInt8] = []
        for _ in 0..<200 { nested = [0x0A] + Self.varint(nested.count) + nested }
        let count = nested.withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: .max) }
        #expect(count == ElementCount.maxDepth + 1)
        for bytes in [[0xFF, 0xFF, 0xFF], [0x0A, 0x05, 0x01], [0x0B], []] as [[UInt8]] {
            #expect(bytes.withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: .max) } == 0)
        }
        // The scan stops once past the limit: 11 attributes, then the span, scope and resource groups holding them.
        let flood = Self.spansWithEmptyAttributes(spans: 1, attributes: 100_000)
        #expect(flood.withUnsafeBytes { ElementCount.protobufMessages(in: $0, limit: 10) } == 14)
    }
}
