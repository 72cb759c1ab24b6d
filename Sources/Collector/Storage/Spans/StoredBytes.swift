import PeriscopeCompression
import PeriscopeModel
import PeriscopeOTLP

/// Stored bytes that do not parse as the layout this build writes: a partition file damaged
/// on disk. Queries report it instead of crashing; the rest of the store stays readable.
struct DamagedStoredData: Error, CustomStringConvertible {
    var what: String

    var description: String {
        "stored \(what) is damaged (the partition file may be corrupt); restore it from a backup or delete that day's file"
    }
}

extension DamagedStoredData {
    /// Decompresses a stored block (one zstd frame, at most `SpanBlockCache.maxBlockBytes`); bytes
    /// that do not decompress are a damaged `what`.
    static func decompress(_ compressed: UnsafeRawBufferPointer, what: @autoclosure () -> String) throws(DamagedStoredData) -> [UInt8] {
        do {
            return try Zstd.decompressFrame(compressed, limit: SpanBlockCache.maxBlockBytes)
        } catch {
            throw DamagedStoredData(what: "\(what()) (\(error))")
        }
    }
}

/// An output buffer for the store's compact encodings: LEB128 varints, zigzag for signed
/// deltas, little-endian fixed widths, length-prefixed byte strings.
struct ByteSink {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) { Varint.append(value, to: &bytes) }

    mutating func varint(_ value: Int) { Varint.append(UInt64(value), to: &bytes) }

    /// A signed value (a delta that may be negative) as a zigzag varint.
    mutating func signed(_ value: Int64) { Varint.append(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &bytes) }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func fixed32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func traceID(_ id: TraceID) {
        withUnsafeBytes(of: id.high.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: id.low.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func lengthPrefixed(_ value: some Collection<UInt8>) {
        varint(value.count)
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { lengthPrefixed($0) }
    }
}

/// Reads what `ByteSink` wrote, bounds-checked: a short or malformed buffer throws instead of
/// reading past its end.
struct ByteSource {
    let buffer: UnsafeRawBufferPointer
    var position = 0
    let what: String

    init(_ buffer: UnsafeRawBufferPointer, what: String) {
        self.buffer = buffer
        self.what = what
    }

    var isAtEnd: Bool { position >= buffer.count }

    var damaged: DamagedStoredData { DamagedStoredData(what: what) }

    @inline(__always)
    mutating func varint() throws(DamagedStoredData) -> UInt64 {
        guard let value = Varint.read(buffer, &position) else { throw damaged }
        return value
    }

    /// A varint used as a count or an index: at most the bytes left, so a damaged count cannot
    /// make a caller allocate without bound.
    @inline(__always)
    mutating func count() throws(DamagedStoredData) -> Int {
        let value = try varint()
        guard value <= UInt64(buffer.count) else { throw damaged }
        return Int(value)
    }

    /// A varint used as an index or a size known elsewhere: at most `limit`.
    @inline(__always)
    mutating func int(atMost limit: Int) throws(DamagedStoredData) -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else { throw damaged }
        return Int(value)
    }

    @inline(__always)
    mutating func signed() throws(DamagedStoredData) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    @inline(__always)
    mutating func byte() throws(DamagedStoredData) -> UInt8 {
        guard position < buffer.count else { throw damaged }
        defer { position += 1 }
        return buffer[position]
    }

    @inline(__always)
    mutating func fixed64() throws(DamagedStoredData) -> UInt64 {
        guard position + 8 <= buffer.count else { throw damaged }
        defer { position += 8 }
        return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    @inline(__always)
    mutating func fixed32() throws(DamagedStoredData) -> UInt32 {
        guard position + 4 <= buffer.count else { throw damaged }
        defer { position += 4 }
        return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func traceID() throws(DamagedStoredData) -> TraceID {
        guard position + 16 <= buffer.count else { throw damaged }
        defer { position += 16 }
        return TraceID(
            high: UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: position, as: UInt64.self)),
            low: UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self)))
    }

    mutating func slice(_ count: Int) throws(DamagedStoredData) -> UnsafeRawBufferPointer {
        guard count >= 0, position + count <= buffer.count else { throw damaged }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: buffer[position..<(position + count)])
    }

    mutating func lengthPrefixed() throws(DamagedStoredData) -> UnsafeRawBufferPointer {
        try slice(try count())
    }

    mutating func string() throws(DamagedStoredData) -> String {
        String(decoding: try lengthPrefixed(), as: UTF8.self)
    }
}
