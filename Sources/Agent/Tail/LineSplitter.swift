#if canImport(Glibc)
import Glibc
#endif

/// One line of a file, without its newline (and without a `\r` before it).
struct RawLine: Equatable, Sendable {
    var bytes: [UInt8]
    /// File offsets: the line's first byte, and just past its newline.
    var start: UInt64
    var end: UInt64
    /// The line's full length when it was cut to `max_line_bytes`; nil when whole.
    var truncatedFrom: Int?
}

/// Cuts a byte stream into lines. Memory stays bounded: of a line longer than `maxLineBytes`
/// only the first `maxLineBytes` are kept, the rest is counted and skipped up to its newline.
struct LineSplitter: Sendable {
    let maxLineBytes: Int
    private(set) var lineStart: UInt64
    private var buffer: [UInt8] = []
    private var lineLength = 0

    init(maxLineBytes: Int, offset: UInt64) {
        self.maxLineBytes = maxLineBytes
        self.lineStart = offset
    }

    /// Bytes of an unfinished line are waiting.
    var hasPartialLine: Bool { lineLength > 0 }

    /// Feeds the next bytes of the file; returns every line they complete.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, into lines: inout [RawLine]) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var position = 0
        let total = chunk.count
        while position < total {
            let remaining = total - position
            if let hit = memchr(base + position, 0x0A, remaining) {
                let newline = base.distance(to: UnsafeRawPointer(hit))
                append(UnsafeRawBufferPointer(start: base + position, count: newline - position))
                lineLength += 1
                lines.append(finishLine(stripNewline: true))
                position = newline + 1
            } else {
                append(UnsafeRawBufferPointer(start: base + position, count: remaining))
                position = total
            }
        }
    }

    /// Ends the unfinished line as it stands (partial line timeout, or end of a rotated file).
    mutating func flushPartial() -> RawLine? {
        guard lineLength > 0 else { return nil }
        return finishLine(stripNewline: false)
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let room = maxLineBytes - buffer.count
        if room > 0 { buffer.append(contentsOf: bytes.prefix(room)) }
        lineLength += bytes.count
    }

    private mutating func finishLine(stripNewline: Bool) -> RawLine {
        let contentLength = stripNewline ? lineLength - 1 : lineLength
        var bytes = buffer
        if bytes.count > contentLength { bytes.removeLast(bytes.count - contentLength) }
        if stripNewline, contentLength <= maxLineBytes, bytes.last == 0x0D { bytes.removeLast() }
        let line = RawLine(
            bytes: bytes, start: lineStart, end: lineStart + UInt64(lineLength),
            truncatedFrom: contentLength > maxLineBytes ? contentLength : nil)
        lineStart += UInt64(lineLength)
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
        lineLength = 0
        return line
    }
}
