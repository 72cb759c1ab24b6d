import Foundation

/// Joins continuation lines (those not matching the start pattern) onto the record before
/// them — a stack trace becomes one record. Without a rule every line is a record.
package struct MultilineAssembler: @unchecked Sendable {
    // NSRegularExpression is immutable and thread-safe once built.
    private let startPattern: NSRegularExpression?
    private var open: OpenRecord?
    /// Most lines one record may gather; beyond it a new record starts.
    package static let maxLines = 1000
    /// Most bytes of text one record holds: what a receiver takes in one value, and what the
    /// encoder would cut a longer body to. Continuation lines past it still belong to the record
    /// (they are read, checked for a start and counted in its original length) but their text is
    /// dropped, so a file whose lines never match the start pattern holds at most this much.
    package static let maxRecordBytes = TailBatchEncoder.maxValueBytes
    /// This assembler's cap: `maxRecordBytes`, smaller only where a fuzz target reaches it.
    private let capacity: Int

    /// The record still gathering continuation lines.
    private struct OpenRecord {
        var text: [UInt8] = []
        var start: UInt64
        var end: UInt64
        /// The last line ended with a newline (a partial last line, sent after its timeout, did not).
        var endsWithNewline: Bool
        /// A line was cut to `max_line_bytes`.
        var truncated: Bool
        /// Text was left out past the cap: later lines add none.
        var full = false
        var invalidUTF8 = false
        var lines = 1

        /// Appends `line` (after a newline unless it is the first), or what fits of it within
        /// `capacity`, cut on a character boundary; once something is left out, nothing more.
        mutating func append(_ line: [UInt8], invalid: Bool, separated: Bool, capacity: Int) {
            guard !full else { return }
            let room = capacity - text.count - (separated ? 1 : 0)
            var kept = line.count
            if kept > room {
                full = true
                kept = max(0, room)
                // Not inside a character: back off continuation bytes (0b10xxxxxx).
                while kept > 0, line[kept] & 0xC0 == 0x80 { kept -= 1 }
                guard kept > 0 else { return }
            }
            // Grown by doubling, but never past the cap.
            let needed = text.count + kept + (separated ? 1 : 0)
            if needed > text.capacity { text.reserveCapacity(min(max(needed, 2 * text.capacity), capacity)) }
            if separated { text.append(0x0A) }
            text += line[..<kept]
            // Repairs (U+FFFD) in the part kept mark the record; those in dropped text do not.
            if invalid, kept == line.count || Self.containsReplacement(line[..<kept]) { invalidUTF8 = true }
        }

        private static func containsReplacement(_ bytes: ArraySlice<UInt8>) -> Bool {
            var index = bytes.startIndex
            while index + 2 < bytes.endIndex {
                if bytes[index] == 0xEF, bytes[index + 1] == 0xBF, bytes[index + 2] == 0xBD { return true }
                index += 1
            }
            return false
        }
    }

    package init(startPattern: String?, maxRecordBytes: Int = MultilineAssembler.maxRecordBytes) {
        self.startPattern = startPattern.flatMap { try? NSRegularExpression(pattern: $0) }
        self.capacity = max(16, maxRecordBytes)
    }

    /// Where the open record starts, if one is waiting for continuation lines.
    package var openStart: UInt64? { open?.start }

    /// Bytes of text the open record holds, and has room for (at most the cap each).
    package var openBytes: (count: Int, capacity: Int) { (open?.text.count ?? 0, open?.text.capacity ?? 0) }

    package mutating func add(_ line: RawLine, into records: inout RecordBuffer) {
        guard let startPattern else {
            records.append(line)
            return
        }
        var text: [UInt8] = []
        let invalid = RecordBuffer.appendRepaired(line.bytes, truncated: line.truncatedFrom != nil, to: &text)
        let string = String(decoding: text, as: UTF8.self)
        let isStart = startPattern.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
        if !isStart, open != nil, open!.lines < Self.maxLines {
            // In place: the open record's text is not copied for each continuation line.
            open!.append(text, invalid: invalid, separated: true, capacity: capacity)
            if line.truncatedFrom != nil { open!.truncated = true }
            open!.end = line.end
            open!.endsWithNewline = line.endsWithNewline
            open!.lines += 1
            return
        }
        flush(into: &records)
        var record = OpenRecord(start: line.start, end: line.end, endsWithNewline: line.endsWithNewline, truncated: line.truncatedFrom != nil)
        record.append(text, invalid: invalid, separated: false, capacity: capacity)
        open = record
    }

    /// Closes the open record (timeout, or the end of a file). A record that lost text says how
    /// long it was: the bytes of the file its lines span, without the last newline (for one
    /// line, the line's length, as without a multiline rule).
    package mutating func flush(into records: inout RecordBuffer) {
        guard let current = open else { return }
        let (span, wrapped) = current.end.subtractingReportingOverflow(current.start)
        let length = wrapped ? 0 : Int(clamping: span) - (current.endsWithNewline && span > 0 ? 1 : 0)
        records.append(
            text: current.text, start: current.start, end: current.end,
            truncatedFrom: current.truncated || current.full ? length : nil, invalidUTF8: current.invalidUTF8)
        open = nil
    }
}
