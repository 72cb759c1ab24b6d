import PeriscopeLogLines
import PeriscopeTesting
import Testing

/// The tailer's two per-field lookups written for speed, each against a plain reference:
/// hex IDs read eight digits at a time, and well-known keys found in a hashed table.
@Suite("Tailer lookups: hex IDs and well-known keys")
struct LineKeyAndHexTests {
    /// Sixteen hex digits by the standard library; nil for anything else.
    static func reference(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 16, bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }) else { return nil }
        return UInt64(text, radix: 16)
    }

    static func fast(_ bytes: [UInt8]) -> UInt64? {
        bytes.withUnsafeBufferPointer { HexDigits.value16($0) }
    }

    @Test("every byte value at every position of a 16-digit ID agrees with the standard library")
    func everyByteEverywhere() {
        let base = Array("0123456789abcDEF".utf8)
        #expect(Self.fast(base) == 0x0123_4567_89AB_CDEF)
        #expect(Self.fast(Array("ffffffffffffffff".utf8)) == .max)
        #expect(Self.fast(Array("0000000000000000".utf8)) == 0)
        var mismatches = 0
        var accepted = 0
        for position in 0..<16 {
            for byte in 0...255 {
                var bytes = base
                bytes[position] = UInt8(byte)
                let fast = Self.fast(bytes)
                if fast != Self.reference(bytes) { mismatches += 1 }
                if fast != nil { accepted += 1 }
            }
        }
        #expect(mismatches == 0)
        // 22 hex digits (0-9, a-f, A-F) at each of 16 positions.
        #expect(accepted == 16 * 22)
    }

    /// Where a JSON string's fast path stops: the first `"`, `\` or control byte of eight.
    static func firstStop(_ bytes: [UInt8]) -> Int {
        bytes.firstIndex { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 } ?? 8
    }

    static func word(_ bytes: [UInt8]) -> UInt64 {
        bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }

    @Test("a JSON string's first stop in eight bytes: every byte at every position, after stops and not, and random words")
    func stringStops() {
        var generator = SeededGenerator(seed: 0x5707)
        var mismatches = 0
        for position in 0..<8 {
            for byte in 0...255 {
                for _ in 0..<4 {
                    // Stops placed above the byte probe the borrow; bytes below it are never stops.
                    var bytes = (0..<8).map { _ in [0x22, 0x5C, 0x00, 0x1F, 0x20, 0x21, 0x23, 0x5B, 0x5D, 0x80, 0xFF, 0x41][Int.random(in: 0..<12, using: &generator)] as UInt8 }
                    for below in 0..<position where Self.firstStop([bytes[below]]) == 0 { bytes[below] = 0x41 }
                    bytes[position] = UInt8(byte)
                    let stops = JSONLineParser.stringStops(Self.word(bytes))
                    if (stops == 0 ? 8 : stops.trailingZeroBitCount >> 3) != Self.firstStop(bytes) { mismatches += 1 }
                }
            }
        }
        for _ in 0..<20_000 {
            let bytes = (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let stops = JSONLineParser.stringStops(Self.word(bytes))
            if (stops == 0 ? 8 : stops.trailingZeroBitCount >> 3) != Self.firstStop(bytes) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test("JSON strings with an escape, a quote or a control byte at every offset 0…24 parse as a plain reading says")
    func stringsAroundTheJump() {
        let parser = LogLineParser(format: .json, pattern: nil)
        var fields = ParsedFields()
        var mismatches: [String] = []
        for length in 0...24 {
            for offset in 0...length {
                let before = String(repeating: "a", count: offset)
                let after = String(repeating: "b", count: length - offset)
                // (text inside the quotes, what it decodes to; nil: the line is not JSON)
                let cases: [([UInt8], String?)] = [
                    (Array((before + after).utf8), before + after),
                    (Array((before + "\\n" + after).utf8), before + "\n" + after),
                    (Array((before + "\\\"" + after).utf8), before + "\"" + after),
                    (Array((before + "é" + after).utf8), before + "é" + after),
                    (Array(before.utf8) + [0x01] + Array(after.utf8), nil),
                ]
                for (inside, expected) in cases {
                    let line = Array("{\"k\":\"".utf8) + inside + Array("\",\"z\":1}".utf8)
                    let decoded: String? = line.withUnsafeBufferPointer { text in
                        guard parser.parse(text, into: &fields), case .string(let range)? = fields.fields.first?.value else { return nil }
                        return fields.withBytes(range) { String(decoding: $0, as: UTF8.self) }
                    }
                    if decoded != expected { mismatches.append("\(length)/\(offset): \(inside) → \(decoded ?? "nil")") }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("random IDs, lengths and near-hex bytes agree with the standard library (10,000)")
    func random() {
        var generator = SeededGenerator(seed: 0x4E_8D16)
        let alphabet = Array("0123456789abcdefABCDEF/:@G`g\u{10}\u{19}\u{7F}".utf8) + [0x80, 0xB0, 0xC1, 0xE6]
        var mismatches = 0
        for _ in 0..<10_000 {
            let count = generator.next() % 8 == 0 ? Int(generator.next() % 20) : 16
            let bytes = (0..<count).map { _ in
                generator.next() % 4 == 0 ? alphabet[Int(generator.next() % UInt64(alphabet.count))] : Array("0123456789abcdef".utf8)[Int(generator.next() % 16)]
            }
            if Self.fast(bytes) != Self.reference(bytes) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test("every well-known key has its role; near misses and other keys have none")
    func keyRoles() {
        let expected: [(Set<String>, LogLineParser.Key.Role)] = [
            (LogLineParser.Key.time, .time), (LogLineParser.Key.level, .level), (LogLineParser.Key.message, .message),
            (LogLineParser.Key.traceID, .traceID), (LogLineParser.Key.spanID, .spanID), (LogLineParser.Key.correlationID, .correlationID),
        ]
        func role(_ key: String) -> LogLineParser.Key.Role? {
            Array(key.utf8).withUnsafeBufferPointer { LogLineParser.Key.role(of: $0) }
        }
        let known = expected.reduce(into: Set<String>()) { $0.formUnion($1.0) }
        for (keys, expectedRole) in expected {
            for key in keys {
                #expect(role(key) == expectedRole, "\(key)")
                // One byte changed, one added, one removed: none of these is well-known.
                for variant in [key + "x", String(key.dropLast()), "x" + key, key.uppercased(), key + "\u{0}"] where !known.contains(variant) {
                    #expect(role(variant) == nil, "\(variant)")
                }
            }
        }
        for other in ["", "service", "user", "http.route", "duration_ms", "t", "trace_id_", "a_very_long_key_over_sixteen_bytes"] {
            #expect(role(other) == nil, "\(other)")
        }
    }

    @Test("short texts of every length 0…16 pack as byte by byte, from anywhere in a larger buffer")
    func shortTextPacking() {
        var generator = SeededGenerator(seed: 0x5_4E47)
        for _ in 0..<2_000 {
            let buffer = (0..<40).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let count = Int(generator.next() % 17)
            let start = Int(generator.next() % UInt64(40 - count + 1))
            let slice = Array(buffer[start..<(start + count)])
            var (low, high): (UInt64, UInt64) = (0, 0)
            for (index, byte) in slice.enumerated() {
                if index < 8 { low |= UInt64(byte) << UInt64(index * 8) } else { high |= UInt64(byte) << UInt64((index - 8) * 8) }
            }
            let packed = buffer.withUnsafeBufferPointer { ShortText(UnsafeBufferPointer(rebasing: $0[start..<(start + count)])) }
            #expect(packed?.low == low && packed?.high == high && packed?.count == count, "\(slice)")
        }
        let tooLong = [UInt8](repeating: 0x61, count: 17)
        #expect(tooLong.withUnsafeBufferPointer { ShortText($0) } == nil)
    }

    @Test("lowercased short texts pack as each byte lowercased alone (every ASCII byte at every position); any byte past 0x7F is nil")
    func shortTextLowercasing() {
        func plain(_ bytes: [UInt8]) -> ShortText? {
            guard bytes.count <= 16, bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            let lowered = bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            return lowered.withUnsafeBufferPointer { ShortText($0) }
        }
        for byte in UInt8(0)...UInt8(255) {
            for position in 0..<16 {
                var bytes = Array("abcdefghijklmnop".utf8)
                bytes[position] = byte
                let packed = bytes.withUnsafeBufferPointer { ShortText($0, lowercasing: true) }
                #expect(packed == plain(bytes), "\(byte) at \(position)")
            }
        }
        var generator = SeededGenerator(seed: 0x10_CA5E)
        for _ in 0..<2_000 {
            let count = Int(generator.next() % 17)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next() % 0x81) }
            let packed = bytes.withUnsafeBufferPointer { ShortText($0, lowercasing: true) }
            #expect(packed == plain(bytes), "\(bytes)")
        }
        #expect(Array("INFO".utf8).withUnsafeBufferPointer { ShortText($0, lowercasing: true) } == ShortText("info"))
    }

    /// The word pre-check written plainly: at a byte that starts some word (`starts`: a word's
    /// first byte, or its capital), some word whose bytes all equal the text's once `| 0x20`.
    static func holdsWord(_ text: ArraySlice<UInt8>, _ words: [[UInt8]], starts: Set<UInt8>) -> Bool {
        for start in text.indices where starts.contains(text[start]) {
            for word in words where !word.isEmpty && start + word.count <= text.endIndex {
                if (0..<word.count).allSatisfy({ text[start + $0] | 0x20 == word[$0] }) { return true }
            }
        }
        return false
    }

    /// Cheap enough for the shared test process (its few cooperative threads also drive the
    /// end-to-end tests): each text is the two bytes plus the rest of the words they may begin.
    @Test("the word pre-check agrees with a plain word search for every first and second byte, default and odd words")
    func wordPrecheck() {
        let defaults = ["bearer", "pass", "pwd", "secret", "token", "api"].map { Array($0.utf8) }
        // Words whose bytes are not letters, where `| 0x20` aliases other bytes ('@' with '`', '_' with DEL).
        let odd = ["@a", "`", "_x", "\u{7F}q", "a", "9z"].map { Array($0.utf8) }
        var mismatches: [String] = []
        var text = [UInt8](repeating: 0, count: 16)
        for words in [defaults, odd] {
            let scan = Redactor.Scan(of: [.anyWord(words)])
            let starts = Set(words.filter { !$0.isEmpty }.flatMap { word in
                word[0] >= 0x61 && word[0] <= 0x7A ? [word[0], word[0] - 0x20] : [word[0]]
            })
            func check(_ count: Int) {
                let fast = text.withUnsafeBufferPointer { scan.mayMatch(UnsafeBufferPointer(rebasing: $0[0..<count])) }
                if fast != Self.holdsWord(text[0..<count], words, starts: starts), mismatches.count < 5 { mismatches.append("\(text[0..<count])") }
            }
            for first in 0...255 {
                text[0] = UInt8(first)
                // A start byte as the last byte of the text.
                check(1)
                let tails = words.filter { $0.count > 2 && $0[0] == UInt8(first) | 0x20 }.map { $0.dropFirst(2) }
                for second in 0...255 {
                    text[1] = UInt8(second)
                    check(2)
                    for tail in tails {
                        text.replaceSubrange(2..<(2 + tail.count), with: tail)
                        check(2 + tail.count)
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}
