import Foundation
import PeriscopeModel
@testable import PeriscopeSDK
import Testing

@Suite("Attribute limits")
struct AttributeLimitsTests {
    static func span(attributes: [Attribute], events: Int = 0, links: Int = 0) -> Span {
        Span(
            traceID: TraceID.random(), spanID: SpanID.random(), name: "op", startTimeUnixNano: 1, endTimeUnixNano: 2,
            attributes: attributes,
            events: (0..<events).map { Span.Event(timeUnixNano: UInt64($0), name: "e\($0)") },
            links: (0..<links).map { _ in Span.Link(traceID: TraceID.random(), spanID: SpanID.random()) })
    }

    @Test("a span that fits is left exactly as it is")
    func fitsUntouched() {
        let limits = AttributeLimits()
        let original = Self.span(attributes: [Attribute("k", .string("v")), Attribute("n", .int(3))], events: 2, links: 1)
        var span = original
        #expect(limits.apply(to: &span) == 0)
        #expect(span == original)
    }

    @Test("too many attributes, events and links are dropped; long values are cut on a character boundary; all counted")
    func cutsAndCounts() {
        let limits = AttributeLimits(maxAttributes: 4, maxValueBytes: 10, maxEvents: 3, maxLinks: 2)
        var attributes = (0..<9).map { Attribute("a\($0)", .int(Int64($0))) }
        attributes[1] = Attribute("long", .string("ééééééééé"))  // 18 bytes, two per character
        attributes[2] = Attribute("blob", .bytes([UInt8](repeating: 1, count: 50)))
        var span = Self.span(attributes: attributes, events: 5, links: 4)
        let cut = limits.apply(to: &span)
        #expect(span.attributes.count == 4)
        #expect(span.attributes[1].value == .string("ééééé"))  // 10 bytes, not 9 and a half characters
        #expect(span.attributes[2].value == .bytes([UInt8](repeating: 1, count: 10)))
        #expect(span.events.count == 3 && span.links.count == 2)
        #expect(cut == 5 + 1 + 1 + 2 + 2)
    }

    @Test("nested values are bounded in length, count and depth; log bodies too")
    func nestedAndLogs() {
        let limits = AttributeLimits(maxAttributes: 3, maxValueBytes: 4)
        var deep = AttributeValue.string("x")
        for _ in 0..<20 { deep = .array([deep]) }
        var record = LogRecord(
            timeUnixNano: 1, body: .string("a body far too long"),
            attributes: [Attribute("list", .array((0..<10).map { .string("value\($0)") })), Attribute("deep", deep)])
        #expect(limits.apply(to: &record) > 0)
        #expect(record.body == .string("a bo"))
        guard case .array(let values) = record.attributes[0].value else {
            Issue.record("list is no longer an array")
            return
        }
        #expect(values == [.string("valu"), .string("valu"), .string("valu")])
        func depth(_ value: AttributeValue) -> Int {
            if case .array(let inner) = value, let first = inner.first { return 1 + depth(first) }
            return 0
        }
        #expect(depth(record.attributes[1].value) <= AttributeLimits.maxDepth)
    }

    @Test("the exporter applies the limits before queueing and counts them")
    func exporterApplies() {
        var configuration = OTLPExporter.Configuration(endpoint: "http://127.0.0.1:9")
        configuration.attributeLimits = AttributeLimits(maxAttributes: 2)
        let exporter = OTLPExporter(resource: Resource(serviceName: "limits"), configuration: configuration)
        exporter.submit(Self.span(attributes: (0..<5).map { Attribute("a\($0)", .bool(true)) }))
        #expect(exporter.statistics.limitedAttributes == 3)
    }
}

@Suite("JSON log mirror")
struct JSONLinesMirrorTests {
    @Test("a destination that never reads does not block the logger: lines past the buffer are dropped and counted", .timeLimit(.minutes(1)))
    func stalledPipeNeverBlocks() async throws {
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        defer { close(descriptors[0]) }
        let path = "/proc/self/fd/\(descriptors[1])"
        let mirror = try JSONLinesMirror(destination: .file(path), maxPendingBytes: 256 << 10)
        close(descriptors[1])
        let record = LogRecord(timeUnixNano: 1, body: .string(String(repeating: "x", count: 1000)))
        // A pipe holds 64 KiB; 8 MiB of lines would block a synchronous writer long before the end.
        for _ in 0..<8_000 { mirror.write(record, level: .info, service: "s", logger: "l", metadata: [:]) }
        #expect(mirror.droppedLines > 7_000)
        // Drain the pipe: what was accepted gets written, in whole lines.
        let readEnd = descriptors[0]
        // The blocking reads run on a Dispatch thread, never on the cooperative pool other tests share.
        let reader = Task {
            await withCheckedContinuation { (done: CheckedContinuation<Int, Never>) in
                DispatchQueue.global().async {
                    var total = 0
                    var buffer = [UInt8](repeating: 0, count: 1 << 16)
                    while true {
                        let count = read(readEnd, &buffer, buffer.count)
                        if count <= 0 { break }
                        total += count
                    }
                    done.resume(returning: total)
                }
            }
        }
        #expect(await mirror.drained(timeout: .seconds(30)))
        _ = consume mirror
        let written = await reader.value
        #expect(written > 0 && written <= (256 << 10) + (64 << 10) + 4_000, "the buffer plus what the pipe held")
    }
}
