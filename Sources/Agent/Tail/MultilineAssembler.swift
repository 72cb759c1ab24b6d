import Foundation
import PeriscopeLogLines

/// Joins continuation lines (those not matching the start pattern) onto the record before
/// them — a stack trace becomes one record. Without a rule every line is a record.
struct MultilineAssembler: @unchecked Sendable {
    // NSRegularExpression is immutable and thread-safe once built.
    private let startPattern: NSRegularExpression?
    private var open: OpenRecord?
    /// Most lines one record may gather; beyond it a new record starts.
    static let maxLines = 1000
    /// Most bytes of text one record holds: what a receiver takes in one value, and what the
    /// encoder would cut a longer body to. Continuation lines past it still belong to the record
    /// (they are read, checked for a start and counted in its original length) but their text is
    /// dropped, so a file whose lines never match the start pattern holds at most this much.
    static let maxRecordBytes = TailBatchEncoder.maxValueBytes

    /// The record still gathering continuation lines.
    private struct OpenRecord {
        var text: [UInt8]
        var start: UInt64
        var end: UInt64
        /// The bytes the record's lines held in the file, with a newline between each two.
        var originalLength: Int
        /// A line was cut to `max_line_bytes`.
        var truncated: Bool
        /// Text was left out past `maxRecordBytes`: later lines add none.
        var full = false
        var invalidUTF8: Bool
        var lines = 1
    }

    init(startPattern: String?) {
        self.startPattern = startPattern.flatMap { try? NSRegularExpression(pattern: $0) }
    }

    /// Where the open record starts, if one is waiting for continuation lines.
    var openStart: UInt64? { open?.start }

    /// Bytes of text the open record holds (at most `maxRecordBytes`).
    var openBytes: Int { open?.text.count ?? 0 }

    mutating func add(_ line: RawLine, into records: inout RecordBuffer) {
        guard let startPattern else {
            records.append(line)
            return
        }
        var text: [UInt8] = []
        let invalid = RecordBuffer.appendRepaired(line.bytes, truncated: line.truncatedFrom != nil, to: &text)
        let string = String(decoding: text, as: UTF8.self)
        let isStart = startPattern.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
        let lineLength = line.truncatedFrom ?? line.bytes.count
        if !isStart, open != nil, open!.lines < Self.maxLines {
            // In place: the open record's text is not copied for each continuation line.
            let (length, overflow) = open!.originalLength.addingReportingOverflow(1 + lineLength)
            open!.originalLength = overflow ? Int.max : length
            if !open!.full, open!.text.count < Self.maxRecordBytes {
                open!.text.append(0x0A)
                if Self.appendCapped(text, to: &open!.text) { open!.full = true }
            } else {
                open!.full = true
            }
            if line.truncatedFrom != nil { open!.truncated = true }
            open!.end = line.end
            if invalid { open!.invalidUTF8 = true }
            open!.lines += 1
            return
        }
        flush(into: &records)
        var record = OpenRecord(
            text: [], start: line.start, end: line.end, originalLength: lineLength, truncated: line.truncatedFrom != nil,
            invalidUTF8: invalid)
        record.full = Self.appendCapped(text, to: &record.text)
        open = record
    }

    /// Appends what fits of `text` within `maxRecordBytes`, cut on a character boundary;
    /// true if anything was left out.
    private static func appendCapped(_ text: [UInt8], to record: inout [UInt8]) -> Bool {
        let room = maxRecordBytes - record.count
        if text.count <= room {
            record += text
            return false
        }
        var cut = max(0, room)
        // Not inside a character: back off continuation bytes (0b10xxxxxx).
        while cut > 0, text[cut] & 0xC0 == 0x80 { cut -= 1 }
        record += text[..<cut]
        return true
    }

    /// Closes the open record (timeout, or the end of a file).
    mutating func flush(into records: inout RecordBuffer) {
        if let current = open {
            records.append(
                text: current.text, start: current.start, end: current.end,
                truncatedFrom: current.truncated || current.full ? current.originalLength : nil, invalidUTF8: current.invalidUTF8)
        }
        open = nil
    }
}
