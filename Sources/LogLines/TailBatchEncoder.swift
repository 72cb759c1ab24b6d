import PeriscopeCompression
import PeriscopeModel
import PeriscopeOTLP

/// The body of one queued batch of tailed records: an OTLP `ExportLogsServiceRequest` written
/// straight from the records' bytes (`LogRecordWriter`), then zstd-compressed. Each record is
/// sized first and written in place; the request's outer headers, known only once every record
/// is in, go in front at the end. The buffer, the field list and the compression context are
/// kept from batch to batch, so a batch of thousands of lines allocates a handful of times.
package struct TailBatchEncoder {
    package struct Batch {
        /// zstd-compressed protobuf; empty when no record had text.
        package var body: [UInt8]
        package var itemCount: Int
        package var parseFailures = 0
        package var truncatedLines = 0
        package var invalidUTF8Lines = 0
        package var unusableTimes = 0
    }

    /// zstd level -1 (`--fast=1`): these batches come out about 3 % larger than at the default
    /// level 3 (the random IDs do not compress at any level) for under half its CPU.
    package static let compressionLevel: Int32 = -1
    package static let scope = InstrumentationScope(name: "periscope-agent.tail", version: "0.1.0")

    private let output = BatchBuffer()
    private var fields = ParsedFields()
    private let compressor = ZstdCompressor(level: Self.compressionLevel)

    package init() {}

    /// What the collector's decoder accepts (`OTLPDecoder`'s default limits).
    package static let limits = OTLPLimits.default
    /// Fields one record may have: every attribute the writer may add besides them
    /// (`correlation_id`, `log.file.*`, `periscope.*`) must still fit `maxAttributesPerItem`
    /// (1,024 − 8).
    package static let maxFields = 1_016
    /// `limits.maxValueBytes` as a literal: read per record, where a lazy global costs a `swift_once`.
    package static let maxValueBytes = 1 << 20

    /// Elements one record may build: with the rest of its batch (at most 1 MiB of text, at most
    /// two elements per three bytes) far within `limits.maxElementsPerRequest`.
    package static let maxRecordElements = 1 << 19

    /// Whether a parsed record's fields are within `limits`: how many, their keys, and their
    /// structured values. String values longer than `maxValueBytes` are cut when written.
    package static func withinLimits(_ fields: ParsedFields) -> Bool {
        guard fields.fields.count <= maxFields else { return false }
        // A key is no longer than the text (decoded escapes and dotted keys are not longer either).
        if fields.text.count > maxValueBytes, fields.fields.contains(where: { $0.key.count > maxValueBytes }) { return false }
        guard !fields.structured.isEmpty else { return true }
        var total = fields.fields.count
        for value in fields.structured {
            guard let elements = limits.elements(of: value) else { return false }
            total += elements
        }
        return total <= maxRecordElements
    }

    /// Encodes `range` of `records` (blank ones are skipped), read from `path`.
    package mutating func encode(
        _ records: RecordBuffer, range: Range<Int>, parser: LogLineParser, resource: Resource, path: String, fileName: String,
        redactor: Redactor, timeBounds: LogTimeBounds = LogTimeBounds(), observedUnixNano: UInt64 = WallClock.nowUnixNano()
    ) -> Batch {
        var batch = Batch(body: [], itemCount: 0)
        // `ResourceLogs` starts with its `Resource`, `ScopeLogs` with its scope: both fixed for the batch.
        var resourceMessage = ProtobufWriter()
        resourceMessage.message(1) { message in
            message.attributes(1, resource.attributes)
            message.varintField(2, UInt64(resource.droppedAttributesCount))
        }
        var scopeMessage = ProtobufWriter()
        scopeMessage.message(1) { scope in
            scope.stringField(1, Self.scope.name)
            scope.stringField(2, Self.scope.version)
            scope.attributes(3, Self.scope.attributes)
        }
        let headroom = resourceMessage.bytes.count + scopeMessage.bytes.count + 2 * 11
        output.reset(headroom: headroom)

        // The field list's storage, kept from batch to batch, is worked on as a local: passing a
        // stored property to `plan` and `write` from inside the closures copied it per record.
        var fields = ParsedFields()
        swap(&fields, &self.fields)
        defer { swap(&fields, &self.fields) }
        var writer = LogRecordWriter(redactor: redactor, observedUnixNano: observedUnixNano, timeBounds: timeBounds, path: path, fileName: fileName)
        records.forEachText(in: range) { record, text in
            guard record.textCount > 0 else { return }
            // A record past what a receiver takes would get the whole batch refused: it is kept whole instead.
            let parsed = parser.parse(text, into: &fields) && Self.withinLimits(fields)
            let size = writer.plan(text: text, record: record, fields: fields, parsed: parsed)
            output.append(size: PresizedProtobufWriter.lengthDelimitedSize(2, size)) { out in
                out.tag(2, 2)
                out.varint(UInt64(size))
                writer.write(text: text, fields: fields, into: &out)
            }
            fields.endRecord()
            if !parsed { batch.parseFailures += 1 }
            if writer.timeUnusable { batch.unusableTimes += 1 }
            if record.truncatedFrom != nil { batch.truncatedLines += 1 }
            if record.invalidUTF8 { batch.invalidUTF8Lines += 1 }
            batch.itemCount += 1
        }
        writer.finish(records: batch.itemCount)
        guard batch.itemCount > 0 else { return batch }

        let recordBytes = output.count - headroom
        var header = ProtobufWriter()
        let scopeLogsSize = scopeMessage.bytes.count + recordBytes
        let resourceLogsSize = resourceMessage.bytes.count + PresizedProtobufWriter.tagSize(2) + PresizedProtobufWriter.varintSize(UInt64(scopeLogsSize)) + scopeLogsSize
        header.tag(1, 2)
        header.varint(UInt64(resourceLogsSize))
        header.bytes += resourceMessage.bytes
        header.tag(2, 2)
        header.varint(UInt64(scopeLogsSize))
        header.bytes += scopeMessage.bytes
        output.writeFront(header.bytes)
        batch.body = output.withBytes { compressor.compress($0) }
        return batch
    }
}
