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

    /// The record still gathering continuation lines.
    private struct OpenRecord {
        var text: [UInt8]
        var start: UInt64
        var end: UInt64
        var truncatedFrom: Int?
        var invalidUTF8: Bool
        var lines = 1
    }

    init(startPattern: String?) {
        self.startPattern = startPattern.flatMap { try? NSRegularExpression(pattern: $0) }
    }

    /// Where the open record starts, if one is waiting for continuation lines.
    var openStart: UInt64? { open?.start }

    mutating func add(_ line: RawLine, into records: inout RecordBuffer) {
        guard let startPattern else {
            records.append(line)
            return
        }
        var text: [UInt8] = []
        let invalid = RecordBuffer.appendRepaired(line.bytes, truncated: line.truncatedFrom != nil, to: &text)
        let string = String(decoding: text, as: UTF8.self)
        let isStart = startPattern.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
        if !isStart, let lines = open?.lines, lines < Self.maxLines {
            // In place: the open record's text is not copied for each continuation line.
            open?.text.append(0x0A)
            open?.text += text
            open?.end = line.end
            if let cut = line.truncatedFrom {
                let before = open?.truncatedFrom ?? 0
                open?.truncatedFrom = before + cut
            }
            if invalid { open?.invalidUTF8 = true }
            open?.lines += 1
            return
        }
        flush(into: &records)
        open = OpenRecord(text: text, start: line.start, end: line.end, truncatedFrom: line.truncatedFrom, invalidUTF8: invalid)
    }

    /// Closes the open record (timeout, or the end of a file).
    mutating func flush(into records: inout RecordBuffer) {
        if let current = open {
            records.append(text: current.text, start: current.start, end: current.end, truncatedFrom: current.truncatedFrom, invalidUTF8: current.invalidUTF8)
        }
        open = nil
    }
}
