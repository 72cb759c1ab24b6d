/// Lines that carry their own CRC-32: eight lowercase hex digits (`QueueRecord.checksum`), a
/// space, the payload, a newline. A small state file kept as a log of such lines (the last
/// intact one current) is saved with one append and one `fdatasync`, where replacing the file
/// takes a temporary file, a rename and two syncs; a line cut short by a crash fails its CRC and
/// the one before it stands. The payload must not contain a newline (compact JSON never does).
public enum CheckedLine {
    /// The framed line for `payload`.
    public static func encode(_ payload: [UInt8]) -> [UInt8] {
        precondition(!payload.contains(0x0A), "a checked line's payload cannot contain a newline")
        let crc = QueueRecord.checksum(payload[...])
        let digits = Array("0123456789abcdef".utf8)
        var line = (0..<8).map { digits[Int(truncatingIfNeeded: crc >> UInt32(28 - 4 * $0)) & 0xF] }
        line.reserveCapacity(payload.count + 10)
        line.append(UInt8(ascii: " "))
        line += payload
        line.append(0x0A)
        return line
    }

    /// The payload of the last line whose CRC matches, read from the end; nil when none does.
    /// A last line without its newline still counts when its CRC matches.
    public static func lastIntact(in bytes: [UInt8]) -> ArraySlice<UInt8>? {
        var end = bytes.count
        while end > 0 {
            let start = bytes[..<end].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            if let payload = payload(of: bytes[start..<end]) { return payload }
            end = start - 1
        }
        return nil
    }

    /// Every line of `bytes` in order: its payload when its CRC matches, nil when not. A last
    /// line without its newline counts as a line (intact or not); nothing after a last newline does.
    public static func payloads(in bytes: [UInt8]) -> [ArraySlice<UInt8>?] {
        var lines: [ArraySlice<UInt8>?] = []
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            lines.append(payload(of: bytes[start..<end]))
            start = end + 1
        }
        return lines
    }

    /// The payload of one line (without its newline) when its CRC matches.
    static func payload(of line: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard line.count >= 9, line[line.startIndex + 8] == UInt8(ascii: " ") else { return nil }
        var expected: UInt32 = 0
        for byte in line.prefix(8) {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): expected = expected << 4 | UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): expected = expected << 4 | UInt32(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
        }
        let payload = line.dropFirst(9)
        return QueueRecord.checksum(payload) == expected ? payload : nil
    }
}

/// What must hold for checked lines, the framing of the agent's tail checkpoints: any bytes
/// give a payload whose CRC matches or none, never a trap; reading every line agrees with
/// reading the last; a line appended after any whole lines is the one read back; and the same
/// line cut short is never read as itself.
/// Driven by libFuzzer from the fuzz package and replayed in the tests.
public enum CheckedLineFuzzing {
    public static func check(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        if let payload = CheckedLine.lastIntact(in: bytes) {
            precondition(payload.startIndex >= 9 && bytes[payload.startIndex - 1] == UInt8(ascii: " "), "a payload not after its CRC")
            precondition(payload.endIndex == bytes.count || bytes[payload.endIndex] == 0x0A, "a payload that does not end its line")
            precondition(!payload.contains(0x0A), "a payload spanning lines")
        }
        // Every line in order (how the tail checkpoints are replayed): one entry per line, the last
        // intact one the same as `lastIntact` finds, each intact payload inside its own line.
        let lines = CheckedLine.payloads(in: bytes)
        let newlines = bytes.count { $0 == 0x0A }
        precondition(lines.count == newlines + (bytes.isEmpty || bytes.last == 0x0A ? 0 : 1), "\(lines.count) lines for \(newlines) newlines")
        precondition(lines.compactMap { $0 }.last.map(Array.init) == CheckedLine.lastIntact(in: bytes).map(Array.init), "the last intact line differs")
        for case let payload? in lines { precondition(!payload.contains(0x0A) && payload.startIndex >= 9, "a payload not within one line") }
        // The input as a payload (newlines made spaces), appended after the input's whole lines.
        let payload = bytes.map { $0 == 0x0A ? UInt8(ascii: " ") : $0 }
        let line = CheckedLine.encode(payload)
        let wholeLines = Array(bytes[..<(bytes.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0)])
        precondition(CheckedLine.lastIntact(in: wholeLines + line).map(Array.init) == payload, "an appended line is not the one read back")
        // Cut short before its last payload byte, as by a crash mid-append: never read as that line.
        let cut = Int(bytes.first ?? 0) % (line.count - 1)
        let torn = CheckedLine.lastIntact(in: wholeLines + line.prefix(cut))
        precondition(torn.map { Array($0) != payload || $0.endIndex <= wholeLines.count } ?? true, "a torn line read as whole")
    }
}
