#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts a byte stream into lines. A line inside one read chunk is handed over without a copy;
/// only a line split across chunks is gathered in a buffer. Memory stays bounded: of a line
/// longer than `maxLineBytes` only the first `maxLineBytes` are kept, the rest is counted and
/// skipped up to its newline.
package struct LineSplitter: Sendable {
    package let maxLineBytes: Int
    package private(set) var lineStart: UInt64
    private var buffer: [UInt8] = []
    private var lineLength = 0

    package init(maxLineBytes: Int, offset: UInt64) {
        self.maxLineBytes = maxLineBytes
        self.lineStart = offset
    }

    /// Bytes of an unfinished line are waiting.
    package var hasPartialLine: Bool { lineLength > 0 }

    /// Feeds the next bytes of the file; hands every line they complete to `line`, in order.
    package mutating func feed(_ chunk: UnsafeRawBufferPointer, _ line: (RawLine) -> Void) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var position = 0
        let total = chunk.count
        while position < total {
            let remaining = total - position
            guard let hit = memchr(base + position, 0x0A, remaining) else {
                append(UnsafeRawBufferPointer(start: base + position, count: remaining))
                return
            }
            let newline = base.distance(to: UnsafeRawPointer(hit))
            let content = UnsafeRawBufferPointer(start: base + position, count: newline - position)
            if lineLength == 0 {
                // The whole line is in this chunk: no copy.
                lineLength = content.count + 1
                let range = advance()
                line(Self.line(content, contentLength: content.count, range: range, maxLineBytes: maxLineBytes, endsWithNewline: true))
            } else {
                append(content)
                lineLength += 1
                let range = advance()
                buffer.withUnsafeBytes { kept in
                    line(Self.line(kept, contentLength: range.count - 1, range: range, maxLineBytes: maxLineBytes, endsWithNewline: true))
                }
                buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
            }
            position = newline + 1
        }
    }

    /// Ends the unfinished line as it stands (partial line timeout, or end of a rotated file).
    package mutating func flushPartial(_ line: (RawLine) -> Void) {
        guard lineLength > 0 else { return }
        let range = advance()
        buffer.withUnsafeBytes { kept in
            line(Self.line(kept, contentLength: range.count, range: range, maxLineBytes: maxLineBytes, endsWithNewline: false))
        }
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let room = maxLineBytes - buffer.count
        if room > 0 { buffer.append(contentsOf: bytes.prefix(room)) }
        lineLength += bytes.count
    }

    /// The file range of the line just finished (newline included); moves on to the next line.
    private mutating func advance() -> Range<UInt64> {
        let range = lineStart..<(lineStart + UInt64(lineLength))
        lineStart = range.upperBound
        lineLength = 0
        return range
    }

    /// The line whose kept bytes start `kept` (at most `maxLineBytes` of them are used) and whose
    /// content, without the newline, was `contentLength` bytes long.
    private static func line(
        _ kept: UnsafeRawBufferPointer, contentLength: Int, range: Range<UInt64>, maxLineBytes: Int, endsWithNewline: Bool
    ) -> RawLine {
        var count = min(kept.count, contentLength, maxLineBytes)
        if endsWithNewline, contentLength <= maxLineBytes, count > 0, kept[count - 1] == 0x0D { count -= 1 }
        return RawLine(
            bytes: UnsafeRawBufferPointer(rebasing: kept[0..<count]), start: range.lowerBound, end: range.upperBound,
            truncatedFrom: contentLength > maxLineBytes ? contentLength : nil, endsWithNewline: endsWithNewline)
    }
}
