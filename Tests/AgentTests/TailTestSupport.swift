import Foundation
import Logging
@testable import PeriscopeAgent
import PeriscopeCompression
import PeriscopeDelivery
import PeriscopeLogLines
import PeriscopeModel
import PeriscopeOTLP
import Synchronization
import Testing

/// A `TailBatchSink` that decodes what it is given and, like the collector, keeps a batch ID once.
final class RecordingTailSink: TailBatchSink {
    struct State {
        var records: [LogRecord] = []
        var batchIDs: [String] = []
        var duplicateBatches = 0
        var failNext = 0
        var appendCalls = 0
        /// The sizes of the groups given to `append(contentsOf:)`, in order.
        var groupSizes: [Int] = []
    }

    let state = Mutex(State())
    /// Called with each group before its batches are taken (a test that copies the checkpoint mid-round).
    let beforeGroup = Mutex<(@Sendable ([EncodedBatch]) -> Void)?>(nil)

    func append(contentsOf batches: [EncodedBatch]) async -> [Result<Void, DeliveryError>] {
        state.withLock { $0.groupSizes.append(batches.count) }
        beforeGroup.withLock { $0 }?(batches)
        return await appendEach(batches)
    }

    func append(_ batch: EncodedBatch) async throws(DeliveryError) {
        let shouldFail = state.withLock { state -> Bool in
            state.appendCalls += 1
            if state.failNext > 0 {
                state.failNext -= 1
                return true
            }
            return false
        }
        if shouldFail { throw .queueFull(retryAfterSeconds: 1) }
        let body = try! Zstd.decompress(batch.body, limit: 1 << 30)
        let decoded = try! OTLPDecoder().decode(.logs, body, format: .protobuf)
        guard case .logs(let groups) = decoded.batch else {
            Issue.record("the tailer queued a \(decoded.batch.signal) batch, not logs")
            return
        }
        state.withLock { state in
            if state.batchIDs.contains(batch.id) {
                state.duplicateBatches += 1
                return
            }
            state.batchIDs.append(batch.id)
            for group in groups { for scope in group.scopes { state.records += scope.records } }
        }
    }

    var records: [LogRecord] { state.withLock { $0.records } }
    var bodies: [String] { records.map(\.body.text) }
    func failNext(_ count: Int) { state.withLock { $0.failNext = count } }
}

/// A scratch directory for one test.
final class TailScratch: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("tail-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func append(_ name: String, _ text: String) throws { try append(name, Array(text.utf8)) }

    func append(_ name: String, _ bytes: [UInt8]) throws {
        let fd = open(file(name), O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

enum TailTesting {
    static let logger = Logger(label: "tail-test")

    static func engine(
        _ scratch: TailScratch, sink: RecordingTailSink, source: TailSource? = nil, redactor: Redactor = Redactor(rules: [], includeDefaults: true),
        bytesPerPoll: Int = TailEngine.maxBytesPerPoll, timeline: Timeline = .continuous, maxOpenFiles: Int = 1_000
    ) throws -> TailEngine {
        var source = source ?? TailSource(include: [scratch.file("*.log")], startAt: .beginning)
        if source.include.isEmpty { source.include = [scratch.file("*.log")] }
        source.partialLineTimeout = .milliseconds(150)
        return try TailEngine(
            sources: [source], redactor: redactor, defaultService: "svc", checkpointPath: scratch.file("tail-checkpoints.json"),
            sink: sink, bytesPerPoll: bytesPerPoll, timeline: timeline, maxOpenFiles: maxOpenFiles, logger: logger)
    }

    /// Records as the tailer writes them (parsed, mapped, redacted, encoded), decoded again.
    static func records(
        _ lines: [String], format: TailSource.Format = .json, pattern: String? = nil,
        redactor: Redactor = Redactor(rules: [], includeDefaults: false),
        observedUnixNano: UInt64 = 42, timeBounds: LogTimeBounds = .unbounded
    ) -> [LogRecord] {
        var buffer = RecordBuffer()
        var offset: UInt64 = 0
        for line in lines {
            let bytes = Array(line.utf8)
            bytes.withUnsafeBytes { buffer.append(RawLine(bytes: $0, start: offset, end: offset + UInt64($0.count) + 1, truncatedFrom: nil)) }
            offset += UInt64(bytes.count) + 1
        }
        var encoder = TailBatchEncoder()
        let batch = encoder.encode(
            buffer, range: 0..<buffer.count, parser: LogLineParser(format: format, pattern: pattern), resource: Resource(serviceName: "svc"),
            path: "/var/log/app.log", fileName: "app.log", redactor: redactor, timeBounds: timeBounds, observedUnixNano: observedUnixNano)
        guard batch.itemCount > 0 else { return [] }
        let protobuf = try! Zstd.decompress(batch.body, limit: 1 << 30)
        let decoded = try! OTLPDecoder().decode(.logs, protobuf, format: .protobuf)
        guard case .logs(let groups) = decoded.batch else { return [] }
        // Byte for byte what the data model's writer makes of the same records.
        #expect(OTLPEncoder.encode(decoded.batch) == protobuf, "the tailer's bytes differ from the data model writer's")
        return groups.flatMap { $0.scopes.flatMap(\.records) }
    }

    static func record(_ line: String, format: TailSource.Format = .json, pattern: String? = nil) -> LogRecord {
        records([line], format: format, pattern: pattern)[0]
    }
}

extension LogTimeBounds {
    /// Every time passes: for tests about parsing, not about bounds.
    static let unbounded = LogTimeBounds(maxAge: .seconds(Int64.max), maxFuture: .seconds(Int64.max))
}
