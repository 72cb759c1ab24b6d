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

    /// The elements `ElementCount` finds in `bytes`, a protobuf request of `signal`, with no limit.
    static func elements(_ bytes: [UInt8], _ signal: Signal = .traces, limit: Int = .max) throws -> Int {
        try bytes.withUnsafeBytes { buffer in try ElementCount.protobufElements(in: buffer, signal: signal, limit: limit) }
    }

    static func field(_ number: Int, _ content: [UInt8]) -> [UInt8] {
        [UInt8(number << 3 | 2)] + varint(content.count) + content
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
        let objects = json.withUnsafeBytes { ElementCount.jsonElements(in: $0, limit: .max) }
        #expect(objects > 10)
        #expect(try OTLPDecoder(limits: OTLPLimits(maxElementsPerRequest: objects)).decode(.traces, json, format: .json, nowUnixNano: now).batch == batch)
        #expect(throws: OTLPError.self) { try OTLPDecoder(limits: OTLPLimits(maxElementsPerRequest: objects - 1)).decode(.traces, json, format: .json, nowUnixNano: now) }

        let protobuf = OTLPEncoder.encode(batch, format: .protobuf)
        let messages = try Self.elements(protobuf)
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
        let objects = json.withUnsafeBytes { ElementCount.jsonElements(in: $0, limit: .max) }
        let messages = try Self.elements(protobuf)
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
    func countsAddUp() throws {
        for batch in [Fixtures.traces, Fixtures.logs, Fixtures.metrics] {
            let bytes = OTLPEncoder.encode(batch, format: .protobuf)
            let one = try Self.elements(bytes, batch.signal)
            let two = try Self.elements(bytes + bytes, batch.signal)
            #expect(two == 2 * one, "\(batch.signal): \(one) then \(two)")
            #expect(one >= batch.itemCount)
        }
        let attributes = Self.spansWithEmptyAttributes(spans: 3, attributes: 10)
        // Per span: itself and 10 attributes (its IDs do not parse as messages); the scope and resource groups.
        #expect(try Self.elements(attributes) == 3 * 11 + 2)
    }

    @Test("a group (which a decoder keeps as an unknown field, as bytes) does not hide the elements around it")
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
        // A group is kept as bytes: nothing inside it is built, so nothing counts (3 empty messages in group 15 of a resource group).
        let inside: [UInt8] = [0x0A, 0x08, 0x7B, 0x0A, 0x00, 0x0A, 0x00, 0x0A, 0x00, 0x7C]
        #expect(try Self.elements(inside) == 1)
        // An end tag of another field, or none, is malformed.
        for bad in [[0x0A, 0x04, 0x7B, 0x0A, 0x00, 0x74], [0x0A, 0x03, 0x7B, 0x0A, 0x00]] as [[UInt8]] {
            #expect(throws: OTLPError.self) { try Self.elements(bad) }
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
        #expect(Array(text.utf8).withUnsafeBytes { ElementCount.jsonElements(in: $0, limit: .max) } == 3)
    }

    @Test("OTLP/JSON: values of arrays count (numbers, strings, nested arrays), objects once, blanks and strings' brackets not at all")
    func jsonArrayValues() {
        func count(_ text: String) -> Int { Array(text.utf8).withUnsafeBytes { ElementCount.jsonElements(in: $0, limit: .max) } }
        #expect(count(#"{"a":[1, 2 ,"3"],"b":[ ],"c":[{},[4]],"d":"[1,2]","e":{"f":[ "x,y" ]}}"#) == 3 + 3 + 0 + 2 + 1)
        #expect(count("[\n\t1,\r\n2\n]") == 2)
        // As deep as the scan tells arrays from objects and past it: values are counted, none lost.
        let deep = String(repeating: "[", count: 300) + "1,2" + String(repeating: "]", count: 300)
        #expect(count(deep) == 299 + 2)
        // Stops once past the limit.
        let many = "{\"bucketCounts\":[" + Array(repeating: "1", count: 100_000).joined(separator: ",") + "]}"
        #expect(Array(many.utf8).withUnsafeBytes { ElementCount.jsonElements(in: $0, limit: 10) } == 11)
        #expect(count(many) == 100_001)
    }

    @Test("an OTLP/JSON histogram of 3 million bucket counts (6 MB that decode to 24 MB of integers) is refused before decoding, as in protobuf; a small one decodes")
    func jsonNumbersPastTheLimit() throws {
        let counts = Array(repeating: "1", count: 3_000_000).joined(separator: ",")
        let json = #"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"h","histogram":{"aggregationTemporality":2,"dataPoints":[{"timeUnixNano":"1700000000000000000","count":"3000000","bucketCounts":["#
            + counts + "]}]}}]}]}]}"
        let error = try #require(throws: OTLPError.self) { try OTLPDecoder().decode(.metrics, Array(json.utf8), format: .json, nowUnixNano: .max / 2) }
        #expect(error.message.contains("more than 2097152 elements"), "\(error.message)")
        let small = #"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"h","histogram":{"aggregationTemporality":2,"dataPoints":[{"timeUnixNano":"1700000000000000000","count":"3","bucketCounts":[1,"1",1],"explicitBounds":[1.5,2.5]}]}}]}]}]}"#
        #expect(try OTLPDecoder().decode(.metrics, Array(small.utf8), format: .json, nowUnixNano: .max / 2).batch.itemCount == 1)
    }

    @Test("OTLP/JSON histograms one after another, alternately just under and just over the limit: each is decided alone, 200 times")
    func jsonNumbersSteadily() throws {
        func histogram(_ buckets: Int) -> [UInt8] {
            let counts = Array(repeating: "1", count: buckets).joined(separator: ",")
            let bounds = (1..<buckets).map(String.init).joined(separator: ",")
            return Array((#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"h","histogram":{"aggregationTemporality":2,"dataPoints":[{"timeUnixNano":"1700000000000000000","count":"\#(buckets)","bucketCounts":["#
                + counts + #"],"explicitBounds":["# + bounds + "]}]}}]}]}]}").utf8)
        }
        // Objects: the request, a resource group, a scope group, a metric, its histogram, a point (6);
        // then n counts and n - 1 bounds.
        let decoder = OTLPDecoder(limits: OTLPLimits(maxElementsPerRequest: 1_000))
        let (under, over) = (histogram(497), histogram(498))
        #expect(under.withUnsafeBytes { ElementCount.jsonElements(in: $0, limit: .max) } == 999)
        #expect(over.withUnsafeBytes { ElementCount.jsonElements(in: $0, limit: .max) } == 1_001)
        var (accepted, refused) = (0, 0)
        for round in 0..<200 {
            do {
                let decoded = try decoder.decode(.metrics, round % 2 == 0 ? under : over, format: .json, nowUnixNano: .max / 2)
                #expect(round % 2 == 0 && decoded.batch.itemCount == 1)
                accepted += 1
            } catch {
                #expect(round % 2 == 1 && error.message.contains("more than 1000 elements"), "\(round): \(error.message)")
                refused += 1
            }
        }
        #expect(accepted == 100 && refused == 100)
    }

    @Test("nesting deeper than the limit, and bytes that are not protobuf, are refused without a crash; the scan stops once past the limit")
    func hostileShapes() throws {
        // A span attribute of key-value lists 30 deep: 3 messages a level.
        var value: [UInt8] = []
        for _ in 0..<30 { value = Self.field(6, Self.field(1, Self.field(1, [0x6B]) + Self.field(2, value))) }
        let span = Self.field(9, Self.field(1, [0x6B]) + Self.field(2, value))
        let deep = Self.field(1, Self.field(2, Self.field(2, span)))
        #expect {
            try Self.elements(deep)
        } throws: { error in
            (error as? OTLPError)?.message.contains("messages nested more than \(ElementCount.maxDepth) deep") == true
        }
        for bytes in [[0xFF, 0xFF, 0xFF], [0x0A, 0x05, 0x01], [0x0B], [0x0C], [0x0F, 0x00]] as [[UInt8]] {
            #expect(throws: OTLPError.self, "\(bytes)") { try Self.elements(bytes) }
        }
        #expect(try Self.elements([]) == 0)
        // The scan stops once past the limit: the resource, scope and span groups, then 8 attributes.
        let flood = Self.spansWithEmptyAttributes(spans: 1, attributes: 100_000)
        #expect(try Self.elements(flood, limit: 10) == 11)
    }

    @Test("values of repeated numbers count, one each, packed or not")
    func numbersCount() throws {
        // A histogram point with 4 bucket counts and 3 bounds, packed; an exponential one with 3 positive buckets (300 takes two bytes) and one unpacked.
        let histogramPoint = Self.field(6, [UInt8](repeating: 0, count: 32)) + Self.field(7, [UInt8](repeating: 0, count: 24))
        let buckets = Self.field(2, [0x01, 0xAC, 0x02, 0x05]) + [0x10, 0x07]
        let exponentialPoint = Self.field(8, buckets)
        let metrics = Self.field(1, Self.field(2, Self.field(2, Self.field(9, Self.field(1, histogramPoint)))
            + Self.field(2, Self.field(10, Self.field(1, exponentialPoint)))))
        // Messages: resource and scope groups, 2 metrics, 2 histograms, 2 points, a buckets message; numbers: 7 + 4.
        #expect(try Self.elements(metrics, .metrics) == 9 + 11)
    }

    @Test("a message field that is not repeated, or a packed run, sent more than 8 times in one message is refused before the decoder merges it (its time grew with the square); up to 8 copies merge as protobuf says")
    func repeatedMessageFields() throws {
        func refused(_ bytes: [UInt8], _ signal: Signal, naming field: String) {
            #expect {
                _ = try OTLPDecoder().decode(signal, bytes, format: .protobuf, nowUnixNano: .max / 2)
            } throws: { error in
                (error as? OTLPError)?.message.contains("\(field) comes more than 8 times in one message") == true
            }
        }
        func copies(_ count: Int, _ bytes: [UInt8]) -> [UInt8] { Array([[UInt8]](repeating: bytes, count: count).joined()) }
        let chunk = Self.field(5, Self.field(1, []))
        // A gauge sent 4,096 times, each with one empty point: before, 4,096 merges, each copying the points so far.
        let gauge = Self.field(1, Self.field(2, Self.field(2, Self.field(1, Array("m".utf8)) + Array([[UInt8]](repeating: chunk, count: 4_096).joined()))))
        refused(gauge, .metrics, naming: "opentelemetry.proto.metrics.v1.Metric.gauge")
        // A log body's array value sent 4,096 times, and a span attribute's value sent twice.
        let body = Self.field(1, Self.field(2, Self.field(2, Self.field(5, Array([[UInt8]](repeating: chunk, count: 4_096).joined())))))
        refused(body, .logs, naming: "opentelemetry.proto.common.v1.AnyValue.array_value")
        let ids = Self.field(1, [UInt8](repeating: 1, count: 16)) + Self.field(2, [UInt8](repeating: 2, count: 8))
        // A span attribute's value sent 9 times is refused; 8 times (as a stream written in parts may) it merges: the last string.
        func span(values: Int) -> [UInt8] {
            let attribute = Self.field(9, Self.field(1, [0x6B]) + copies(values - 1, Self.field(2, Self.field(1, [0x61]))) + Self.field(2, Self.field(1, [0x62])))
            return Self.field(1, Self.field(2, Self.field(2, ids + Self.field(5, [0x6E]) + attribute)))
        }
        refused(span(values: 9), .traces, naming: "opentelemetry.proto.common.v1.KeyValue.value")
        // The copies are counted per message: a thousand requests in a row at 8 copies each all decode.
        let eight = span(values: 8)
        for _ in 0..<1_000 { #expect(throws: Never.self) { try OTLPDecoder().decode(.traces, eight, format: .protobuf, nowUnixNano: .max / 2) } }
        let merged = try OTLPDecoder().decode(.traces, span(values: 8), format: .protobuf, nowUnixNano: .max / 2)
        guard case .traces(let groups) = merged.batch else { Issue.record("not traces"); return }
        #expect(groups.first?.scopes.first?.spans.first?.attributes == [Attribute("k", .string("b"))])
        // A packed run of numbers sent 9 times: SwiftProtobuf grows the array by exactly each run, copying it every time.
        let runs = copies(9, Self.field(6, [UInt8](repeating: 0, count: 8)))
        refused(Self.field(1, Self.field(2, Self.field(2, Self.field(9, Self.field(1, runs))))), .metrics,
                naming: "opentelemetry.proto.metrics.v1.HistogramDataPoint.bucket_counts")
        // 8 runs join, as protobuf says: a point of 8 counts and 7 bounds.
        let bounds = (1...7).map { Self.field(7, withUnsafeBytes(of: Double($0).bitPattern.littleEndian, Array.init)) }.joined()
        let point = copies(8, Self.field(6, [UInt8](repeating: 0, count: 8))) + Array(bounds)
            + [0x11] + [UInt8](repeating: 0, count: 8) + [0x19, 1, 0, 0, 0, 0, 0, 0, 0]
        let joined = try OTLPDecoder().decode(.metrics, Self.field(1, Self.field(2, Self.field(2, Self.field(1, [0x68]) + Self.field(9, Self.field(1, point) + [0x10, 0x02])))),
                                              format: .protobuf, nowUnixNano: .max / 2)
        #expect(joined.batch.itemCount == 1, "\(joined.batch)")
        let bucketRuns = Array([[UInt8]](repeating: [0x12, 0x01, 0x00], count: 4_096).joined())
        refused(Self.field(1, Self.field(2, Self.field(2, Self.field(10, Self.field(1, Self.field(9, bucketRuns)))))), .metrics,
                naming: "opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint.Buckets.bucket_counts")
        // Unpacked values append one by one (the array grows geometrically): any number of them.
        let unpacked = Array([[UInt8]](repeating: [0x10, 0x01], count: 4_096).joined())
        #expect(try Self.elements(Self.field(1, Self.field(2, Self.field(2, Self.field(10, Self.field(1, Self.field(8, unpacked)))))), .metrics) == 6 + 4_096)
        // Two different members of one oneof, or the same field in two messages, are no repeat.
        let twoKinds = Self.field(1, Self.field(2, Self.field(2, Self.field(1, Array("m".utf8)) + chunk + Self.field(7, Self.field(1, [])))))
        #expect(try Self.elements(twoKinds, .metrics) == 7)
        let twoMetrics = Self.field(1, Self.field(2, Self.field(2, chunk) + Self.field(2, chunk)))
        #expect(try Self.elements(twoMetrics, .metrics) == 8)
        // Every fixture, each signal, passes the scan as its encoder writes it.
        for batch in [Fixtures.traces, Fixtures.logs, Fixtures.metrics] {
            #expect(try Self.elements(OTLPEncoder.encode(batch, format: .protobuf), batch.signal) > batch.itemCount)
        }
    }

    @Test("every field whose copies are counted has a number below 16 (4 bits a field)")
    func countedFieldNumbers() {
        // A copy count stays below 16: it never carries into the next field's 4 bits, nor past the top.
        #expect(ElementCount.maxCopies < 15)
        for shape in OTLPMessageShape.allCases {
            for number in 1..<1_000 {
                switch shape.field(number) {
                case .message?, .fixedNumbers?, .varintNumbers?: #expect(number < 16, "\(shape.protoName) field \(number)")
                case .messages?, nil: break
                }
            }
        }
    }
}
