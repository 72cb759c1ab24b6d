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

    /// The record still gathering continuation lines.
    private struct OpenRecord {
        var text: [UInt8] = []
        var start: UInt64
        var end: UInt64
        /// The first line's length when it was cut to `max_line_bytes`.
        var truncatedFrom: Int?
        /// A line was cut to `max_line_bytes`.
        var truncated: Bool
        /// Text was left out past `maxRecordBytes`: later lines add none.
        var full = false
        var invalidUTF8 = false
        var lines = 1

        /// Appends `line` (after a newline unless it is the first), or what fits of it within
        /// `maxRecordBytes`, cut on a character boundary; once something is left out, nothing more.
        mutating func append(_ line: [UInt8], invalid: Bool, separated: Bool) {
            guard !full else { return }
            let room = MultilineAssembler.maxRecordBytes - text.count - (separated ? 1 : 0)
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
            if needed > text.capacity { text.reserveCapacity(min(max(needed, 2 * text.capacity), MultilineAssembler.maxRecordBytes)) }
            if separated { text.append(0x0A) }
            text += line[..<kept]
            if invalid { invalidUTF8 = true }
        }
    }

    package init(startPattern: String?) {
        self.startPattern = startPattern.flatMap { try? NSRegularExpression(pattern: $0) }
    }

    /// Where the open record starts, if one is waiting for continuation lines.
    package var openStart: UInt64? { open?.start }

    /// Bytes of text the open record holds, and has room for (at most `maxRecordBytes` each).
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
            open!.append(text, invalid: invalid, separated: true)
            if line.truncatedFrom != nil { open!.truncated = true }
            open!.end = line.end
            open!.lines += 1
            return
        }
        flush(into: &records)
        var record = OpenRecord(start: line.start, end: line.end, truncatedFrom: line.truncatedFrom, truncated: line.truncatedFrom != nil)
        record.append(text, invalid: invalid, separated: false)
        open = record
    }

    /// Closes the open record (timeout, or the end of a file). A record that lost text says how
    /// long it was: the bytes of the file its lines span.
    package mutating func flush(into records: inout RecordBuffer) {
        guard let current = open else { return }
        if current.lines == 1, !current.full {
            // One line: its own cut (`max_line_bytes`), as for a file without a multiline rule.
            records.append(text: current.text, start: current.start, end: current.end, truncatedFrom: current.truncatedFrom, invalidUTF8: current.invalidUTF8)
        } else {
            let (span, wrapped) = current.end.subtractingReportingOverflow(current.start)
            let spanned = wrapped ? 0 : Int(clamping: span)
            records.append(
                text: current.text, start: current.start, end: current.end,
                truncatedFrom: current.truncated || current.full ? spanned : nil, invalidUTF8: current.invalidUTF8)
        }
        open = nil
    }
}
