import Foundation

/// A record's text before parsing, with the file range it came from.
struct RawRecord: Equatable, Sendable {
    var text: String
    var start: UInt64
    var end: UInt64
    /// The original length of a line cut to `max_line_bytes`.
    var truncatedFrom: Int?
    /// The bytes were not valid UTF-8 and were repaired with U+FFFD.
    var invalidUTF8 = false
}

/// Joins continuation lines (those not matching the start pattern) onto the record before
/// them — a stack trace becomes one record. Without a rule every line is a record.
struct MultilineAssembler: @unchecked Sendable {
    // NSRegularExpression is immutable and thread-safe once built.
    private let startPattern: NSRegularExpression?
    private var open: RawRecord?
    private var openLines = 0
    /// Most lines one record may gather; beyond it a new record starts.
    static let maxLines = 1000

    init(startPattern: String?) {
        self.startPattern = startPattern.flatMap { try? NSRegularExpression(pattern: $0) }
    }

    /// Where the open record starts, if one is waiting for continuation lines.
    var openStart: UInt64? { open?.start }

    mutating func add(_ line: RawLine, into records: inout [RawRecord]) {
        let record = Self.decode(line)
        guard let startPattern else {
            records.append(record)
            return
        }
        let isStart = startPattern.firstMatch(in: record.text, range: NSRange(record.text.startIndex..., in: record.text)) != nil
        if !isStart, var current = open, openLines < Self.maxLines {
            current.text += "\n" + record.text
            current.end = record.end
            if let cut = record.truncatedFrom { current.truncatedFrom = (current.truncatedFrom ?? 0) + cut }
            current.invalidUTF8 = current.invalidUTF8 || record.invalidUTF8
            open = current
            openLines += 1
            return
        }
        if let current = open { records.append(current) }
        open = record
        openLines = 1
    }

    /// Closes the open record (timeout, or the end of a file).
    mutating func flush(into records: inout [RawRecord]) {
        if let current = open { records.append(current) }
        open = nil
        openLines = 0
    }

    static func decode(_ line: RawLine) -> RawRecord {
        let text: String
        var invalid = false
        if let valid = String(validating: line.bytes, as: UTF8.self) {
            text = valid
        } else {
            // A cut can split a character: that is not the source's fault, repair it quietly.
            text = String(decoding: line.bytes, as: UTF8.self)
            invalid = line.truncatedFrom == nil || Self.invalidBeforeTail(line.bytes)
        }
        return RawRecord(text: text, start: line.start, end: line.end, truncatedFrom: line.truncatedFrom, invalidUTF8: invalid)
    }

    private static func invalidBeforeTail(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes.dropLast(3), as: UTF8.self) == nil
    }
}
