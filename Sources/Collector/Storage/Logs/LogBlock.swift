#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import PeriscopeModel
import PeriscopeOTLP
import PeriscopeQueryAPI

/// One record on its way into a log block: its fields, with the body and attributes already in
/// their stored form (`CompactEncoding`), so a block is written the same way from a fresh batch
/// and from the rows of an older partition file.
struct LogBlockEntry {
    var timeUnixNano: UInt64
    var observedTimeUnixNano: UInt64
    var severityNumber: Int
    var severityText: String
    var body: [UInt8]
    var attributes: [UInt8]
    var traceID: TraceID?
    var spanID: SpanID?
    var flags: UInt32
    var eventName: String
    /// The record's correlation ID (`PartitionWriter.correlationID`), kept beside the attributes
    /// so a lookup by it checks each candidate without decoding them; empty if it has none.
    var correlationID: String
    /// Index of the record's resource in the block's resources.
    var resource: Int
    /// The record's arrival number in its partition: what orders records of equal time.
    var sequence: UInt64
}

extension LogBlockEntry {
    /// A record of a batch, its time the one queries order by (`effectiveTimeUnixNano`).
    init(_ record: LogRecord, resource: Int, sequence: UInt64) {
        self.init(
            timeUnixNano: record.effectiveTimeUnixNano, observedTimeUnixNano: record.observedTimeUnixNano,
            severityNumber: record.severityNumber.rawValue, severityText: record.severityText,
            body: CompactEncoding.encode(value: record.body), attributes: CompactEncoding.encode(attributes: record.attributes),
            traceID: record.traceID, spanID: record.spanID, flags: record.flags, eventName: record.eventName,
            correlationID: PartitionWriter.correlationID(record.attributes) ?? "", resource: resource, sequence: sequence)
    }
}

/// Writes the records of one service from one batch as a log block: a row per record in
/// arrival order, times as deltas, then zstd over the whole (`LogBlockWriter`), which finds the
/// repetition between records — a few tens of bytes per record instead of a table row and four
/// index entries. `LogBlock` reads it back. Resources are numbers of the partition's
/// `resources` rows.
struct LogBlockEncoder {
    static let formatVersion: UInt8 = 2
    /// Most records a block holds (the writer starts a new one there; a reader refuses more).
    static let maxRecords = 2048

    /// Flag bits of a record.
    static let hasTraceID: UInt8 = 1
    static let hasSpanID: UInt8 = 2

    private var records = ByteSink()
    private var previousTime: UInt64 = 0
    private var previousSequence: UInt64 = 0
    private(set) var resourceIDs: [Int64] = []
    private(set) var count = 0
    private(set) var minTime = UInt64.max
    private(set) var maxTime: UInt64 = 0
    private(set) var maxSeverity = Int.min

    /// Bytes of records so far (uncompressed).
    var recordBytes: Int { records.bytes.count }

    /// Adds a resource (a `resources` row); records refer to it by the returned index.
    mutating func addResource(_ id: Int64) -> Int {
        resourceIDs.append(id)
        return resourceIDs.count - 1
    }

    mutating func add(_ entry: LogBlockEntry) {
        precondition(entry.resource >= 0 && entry.resource < resourceIDs.count, "a record's resource is added first")
        records.signed(Int64(bitPattern: entry.timeUnixNano &- previousTime))
        previousTime = entry.timeUnixNano
        records.signed(Int64(bitPattern: entry.observedTimeUnixNano &- entry.timeUnixNano))
        records.signed(Int64(entry.severityNumber))
        records.string(entry.severityText)
        records.lengthPrefixed(entry.body)
        records.lengthPrefixed(entry.attributes)
        records.byte((entry.traceID == nil ? 0 : Self.hasTraceID) | (entry.spanID == nil ? 0 : Self.hasSpanID))
        if let traceID = entry.traceID { records.traceID(traceID) }
        if let spanID = entry.spanID { records.fixed64(spanID.value) }
        records.varint(UInt64(entry.flags))
        records.string(entry.eventName)
        records.string(entry.correlationID)
        records.varint(entry.resource)
        records.varint(entry.sequence &- previousSequence)
        previousSequence = entry.sequence
        count += 1
        minTime = min(minTime, entry.timeUnixNano)
        maxTime = max(maxTime, entry.timeUnixNano)
        maxSeverity = max(maxSeverity, entry.severityNumber)
    }

    /// The block's uncompressed bytes.
    func encoded() -> [UInt8] {
        var out = ByteSink()
        out.bytes.reserveCapacity(records.bytes.count + 16 + resourceIDs.count * 4)
        out.byte(Self.formatVersion)
        out.varint(count)
        out.varint(resourceIDs.count)
        for id in resourceIDs { out.varint(UInt64(bitPattern: id)) }
        out.bytes.append(contentsOf: records.bytes)
        return out.bytes
    }
}

/// A decoded log block (`LogBlockEncoder`): each record's fixed fields, with its body and
/// attributes left in their stored form until asked for, so a query decodes them only for the
/// records its other filters keep.
struct LogBlock {
    /// A record's fixed fields, and where its texts, body and attributes lie in the block's
    /// bytes: plain data, so reading a block allocates nothing per record.
    struct Record {
        var timeUnixNano: UInt64
        var observedTimeUnixNano: UInt64
        var severityNumber: Int
        var severityText: Range<Int>
        var body: Range<Int>
        var attributes: Range<Int>
        var traceID: TraceID?
        var spanID: SpanID?
        var flags: UInt32
        var eventName: Range<Int>
        var correlationID: Range<Int>
        var resource: Int
        var sequence: UInt64
    }

    private(set) var records: [Record] = []
    private(set) var resourceIDs: [Int64] = []
    private let bytes: [UInt8]

    init(decoding bytes: [UInt8]) throws(DamagedStoredData) {
        self.bytes = bytes
        let decoded = bytes.withUnsafeBytes { buffer in
            Result { () throws(DamagedStoredData) in try Self.decode(buffer) }
        }
        let (records, resourceIDs) = try decoded.get()
        self.records = records
        self.resourceIDs = resourceIDs
    }

    private static func decode(_ buffer: UnsafeRawBufferPointer) throws(DamagedStoredData) -> ([Record], [Int64]) {
        var source = ByteSource(buffer, what: "log block")
        guard try source.byte() == LogBlockEncoder.formatVersion else { throw source.damaged }
        let count = try source.int(atMost: LogBlockEncoder.maxRecords)
        let resourceCount = try source.int(atMost: count)
        var resourceIDs = [Int64]()
        resourceIDs.reserveCapacity(resourceCount)
        for _ in 0..<resourceCount { resourceIDs.append(Int64(bitPattern: try source.varint())) }
        guard count == 0 || resourceCount > 0 else { throw source.damaged }
        var records = [Record]()
        records.reserveCapacity(count)
        var time: UInt64 = 0
        var sequence: UInt64 = 0
        for _ in 0..<count {
            time = time &+ UInt64(bitPattern: try source.signed())
            let observed = time &+ UInt64(bitPattern: try source.signed())
            let severity = try source.signed()
            let severityText = try range(&source)
            let body = try range(&source)
            let attributes = try range(&source)
            let flags = try source.byte()
            guard flags & ~(LogBlockEncoder.hasTraceID | LogBlockEncoder.hasSpanID) == 0 else { throw source.damaged }
            let traceID = flags & LogBlockEncoder.hasTraceID != 0 ? try source.traceID() : nil
            let spanID = flags & LogBlockEncoder.hasSpanID != 0 ? SpanID(try source.fixed64()) : nil
            let traceFlags = try source.varint()
            guard traceFlags <= UInt64(UInt32.max) else { throw source.damaged }
            let eventName = try range(&source)
            let correlationID = try range(&source)
            let resource = try source.int(atMost: resourceCount - 1)
            sequence = sequence &+ (try source.varint())
            records.append(Record(
                timeUnixNano: time, observedTimeUnixNano: observed, severityNumber: Int(severity), severityText: severityText,
                body: body, attributes: attributes,
                traceID: traceID, spanID: spanID, flags: UInt32(traceFlags), eventName: eventName,
                correlationID: correlationID, resource: resource, sequence: sequence))
        }
        guard source.isAtEnd else { throw source.damaged }
        return (records, resourceIDs)
    }

    /// Where the next length-prefixed field lies, moving past it.
    private static func range(_ source: inout ByteSource) throws(DamagedStoredData) -> Range<Int> {
        let length = try source.count()
        let start = source.position
        _ = try source.slice(length)
        return start..<(start + length)
    }

    /// The UTF-8 text at `range` of the block's bytes.
    private func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    func severityText(_ index: Int) -> String { text(records[index].severityText) }

    func eventName(_ index: Int) -> String { text(records[index].eventName) }

    func correlationID(_ index: Int) -> String { text(records[index].correlationID) }

    /// Whether record `index`'s correlation ID is `id`, compared as bytes.
    func hasCorrelationID(_ index: Int, _ id: String) -> Bool {
        bytes[records[index].correlationID].elementsEqual(id.utf8)
    }

    /// Record `index`'s body.
    func body(_ index: Int) -> AttributeValue {
        CompactEncoding.decodeValue(Array(bytes[records[index].body]))
    }

    /// Whether record `index`'s body, as text (`AttributeValue.text`), contains `needle`'s bytes.
    /// A string body is searched in its stored bytes without decoding them (its text is the
    /// string itself); any other body is decoded and rendered first.
    func bodyContains(_ index: Int, _ needle: String) -> Bool {
        if let text = Self.storedString(bytes[records[index].body]) { return Self.contains(text, needle) }
        return Self.contains(Array(body(index).text.utf8)[...], needle)
    }

    /// Whether `haystack` contains `needle`'s UTF-8 bytes (an empty needle is found): `memchr`
    /// to each candidate first byte, then `memcmp`.
    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: String) -> Bool {
        var needle = needle
        return needle.withUTF8 { pattern in
            guard let first = pattern.first, let patternStart = pattern.baseAddress else { return true }
            return haystack.withUnsafeBytes { text in
                guard text.count >= pattern.count, let base = text.baseAddress else { return false }
                let last = text.count - pattern.count
                var start = 0
                while start <= last {
                    guard let found = memchr(base + start, Int32(first), last - start + 1) else { return false }
                    if memcmp(found, patternStart, pattern.count) == 0 { return true }
                    start = base.distance(to: UnsafeRawPointer(found)) + 1
                }
                return false
            }
        }
    }

    /// The UTF-8 bytes of a stored body that is a string (an `AnyValue` holding only
    /// `string_value`: tag 0x0A, then its length, then the bytes), or nil.
    static func storedString(_ body: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard body.first == 0x0A else { return nil }
        return body.withUnsafeBytes { bytes in
            var position = 1
            guard let length = Varint.read(bytes, &position), length == UInt64(bytes.count - position) else { return nil }
            return body[(body.startIndex + position)...]
        }
    }

    /// Record `index`'s attributes, as stored.
    func attributes(_ index: Int) -> [Attribute] {
        CompactEncoding.decodeAttributes(Array(bytes[records[index].attributes]))
    }

    /// Record `index` as the query API returns it.
    func apiLog(_ index: Int, service: String) -> QueryAPI.Log {
        let record = records[index]
        let severity = Severity(rawValue: record.severityNumber)
        return QueryAPI.Log(
            timeUnixNano: record.timeUnixNano, observedTimeUnixNano: record.observedTimeUnixNano,
            service: service, severityNumber: record.severityNumber,
            severityText: record.severityText.isEmpty ? severity.name : severityText(index),
            body: body(index), attributes: attributes(index).dictionary, traceID: record.traceID, spanID: record.spanID)
    }
}
