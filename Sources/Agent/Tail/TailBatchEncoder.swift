import PeriscopeTelemetry

/// The body of one queued batch of tailed records: an OTLP `ExportLogsServiceRequest` written
/// straight from the records' bytes (`LogRecordWriter`), then zstd-compressed. The output
/// buffer, the field list and the compression context are kept from batch to batch, so a batch
/// of thousands of lines allocates a handful of times.
struct TailBatchEncoder {
    struct Batch {
        /// zstd-compressed protobuf; empty when no record had text.
        var body: [UInt8]
        var itemCount: Int
        var parseFailures = 0
        var truncatedLines = 0
        var invalidUTF8Lines = 0
    }

    /// zstd level 1: these batches compress about as well as at the default level 3 (the random
    /// IDs do not compress at any level) for a good part less CPU.
    static let compressionLevel: Int32 = 1
    static let scope = InstrumentationScope(name: "periscope-agent.tail", version: "0.1.0")

    private var output = ProtobufBytes()
    private var fields = ParsedFields()
    private let compressor = ZstdCompressor(level: Self.compressionLevel)

    /// Encodes the first `count` records of `records` (blank ones are skipped), read from `path`.
    mutating func encode(
        _ records: RecordBuffer, count: Int, parser: LogLineParser, resource: Resource, path: String, fileName: String,
        redactor: Redactor, observedUnixNano: UInt64 = WallClock.nowUnixNano()
    ) -> Batch {
        var batch = Batch(body: [], itemCount: 0)
        writeRequest(records, count: count, parser: parser, resource: resource, path: path, fileName: fileName, redactor: redactor,
                     observedUnixNano: observedUnixNano, batch: &batch)
        if batch.itemCount > 0 { batch.body = output.bytes.withUnsafeBytes { compressor.compress($0) } }
        return batch
    }

    /// The `ExportLogsServiceRequest` protobuf of the last `encode`, before compression.
    var protobuf: [UInt8] { output.bytes }

    private mutating func writeRequest(
        _ records: RecordBuffer, count: Int, parser: LogLineParser, resource: Resource, path: String, fileName: String,
        redactor: Redactor, observedUnixNano: UInt64, batch: inout Batch
    ) {
        // Worked on as locals: the closures below write the output while reading the fields.
        var out = ProtobufBytes()
        swap(&out, &output)
        var fields = ParsedFields()
        swap(&fields, &self.fields)
        defer {
            swap(&out, &output)
            swap(&fields, &self.fields)
        }
        out.bytes.removeAll(keepingCapacity: true)
        var writer = LogRecordWriter(
            redactor: redactor, observedUnixNano: observedUnixNano, path: path, fileName: fileName)
        out.message(1) { resourceLogs in
            resourceLogs.message(1) { message in
                message.attributes(1, resource.attributes)
                message.varintField(2, UInt64(resource.droppedAttributesCount))
            }
            resourceLogs.message(2) { scopeLogs in
                scopeLogs.message(1) { scope in
                    scope.stringField(1, Self.scope.name)
                    scope.stringField(2, Self.scope.version)
                    scope.attributes(3, Self.scope.attributes)
                }
                for index in 0..<count {
                    let record = records[index]
                    guard record.textCount > 0 else { continue }
                    records.withText(of: record) { text in
                        let parsed = parser.parse(text, into: &fields)
                        scopeLogs.message(2) { writer.write(text: text, record: record, fields: fields, parsed: parsed, into: &$0) }
                        if !parsed { batch.parseFailures += 1 }
                    }
                    if record.truncatedFrom != nil { batch.truncatedLines += 1 }
                    if record.invalidUTF8 { batch.invalidUTF8Lines += 1 }
                    batch.itemCount += 1
                }
            }
        }
        writer.finish(records: batch.itemCount)
    }

}
