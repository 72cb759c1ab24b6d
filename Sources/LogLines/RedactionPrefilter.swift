extension Redactor {
    /// A cheap byte scan that rules out a match, so the regular expression (ICU, and a bridge to
    /// NSString) only runs on the few texts that might hold a secret.
    package enum Prefilter: Sendable {
        case none
        /// The text must contain this byte.
        case byte(UInt8)
        /// The text must hold a run of this many digits, single spaces or dashes allowed between them.
        case digitRun(Int)
        /// The text must contain one of these lowercase ASCII words, in any letter case.
        case anyWord([[UInt8]])

        package func mayMatch(_ text: String) -> Bool {
            var text = text
            return text.withUTF8 { mayMatch($0) }
        }

        /// For one text on its own (tests); the redactor keeps a `Scan` per rule and one for all.
        package func mayMatch(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
            Scan(of: [self]).mayMatch(utf8)
        }
    }

    /// All the rules' pre-checks in one pass over the bytes, driven by a table of byte classes:
    /// true when at least one rule's pre-check passes. Most bytes of a log value are in no class
    /// and cost one lookup.
    package struct Scan: Sendable {
        private static let trigger: UInt8 = 1, digit: UInt8 = 2, separator: UInt8 = 4, wordStart: UInt8 = 8

        /// A rule without a pre-check may match anything.
        private let always: Bool
        private let classes: [UInt8]
        private let digitRun: Int
        private let words: [[UInt8]]
        /// By a word's first byte, the second bytes it may go on with (bit `byte & 63`), both
        /// compared as `startsWord` compares them (`byte | 0x20`); every bit when some word starting
        /// so is shorter than two bytes. Letters that start a word are common in log text, and most
        /// are followed by a byte no word goes on with.
        private let secondBytes: [UInt64]

        package init(of prefilters: [Prefilter]) {
            var classes = [UInt8](repeating: 0, count: 256)
            var always = false
            var digitRun = Int.max
            var words: [[UInt8]] = []
            for prefilter in prefilters {
                switch prefilter {
                case .none: always = true
                case .byte(let byte): classes[Int(byte)] |= Self.trigger
                case .digitRun(let length): digitRun = min(digitRun, length)
                case .anyWord(let list): words += list
                }
            }
            if digitRun != .max {
                for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { classes[Int(byte)] |= Self.digit }
                classes[0x20] |= Self.separator
                classes[0x2D] |= Self.separator
            }
            for word in words where !word.isEmpty {
                classes[Int(word[0])] |= Self.wordStart
                if word[0] >= 0x61 && word[0] <= 0x7A { classes[Int(word[0] - 0x20)] |= Self.wordStart }
            }
            var secondBytes = [UInt64](repeating: 0, count: 256)
            for word in words where !word.isEmpty {
                secondBytes[Int(word[0])] |= word.count < 2 ? .max : 1 << UInt64(word[1] & 63)
            }
            self.always = always
            self.classes = classes
            self.digitRun = digitRun
            self.words = words
            self.secondBytes = secondBytes
        }

        package func mayMatch(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            if always { return true }
            return classes.withUnsafeBufferPointer { classes in
                var run = 0
                var previousWasSeparator = false
                for index in bytes.indices {
                    let byteClass = classes[Int(bytes[index])]
                    if byteClass == 0 {
                        run = 0
                        previousWasSeparator = false
                        continue
                    }
                    if byteClass & Self.trigger != 0 { return true }
                    if byteClass & Self.digit != 0 {
                        run += 1
                        if run >= digitRun { return true }
                        previousWasSeparator = false
                        continue
                    }
                    if byteClass & Self.separator != 0 && run > 0 && !previousWasSeparator {
                        previousWasSeparator = true
                    } else {
                        run = 0
                        previousWasSeparator = false
                    }
                    if byteClass & Self.wordStart != 0 && startsWord(bytes, at: index) { return true }
                }
                return false
            }
        }

        private func startsWord(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> Bool {
            // A word matches only if `bytes[position + 1] | 0x20 == word[1]`, so its bit is set.
            let allowed = secondBytes[Int(bytes[position] | 0x20)]
            if allowed != .max {
                guard position + 1 < bytes.count, allowed & (1 << UInt64((bytes[position + 1] | 0x20) & 63)) != 0 else { return false }
            }
            for word in words where position + word.count <= bytes.count && bytes[position] | 0x20 == word[0] {
                var index = 1
                while index < word.count, bytes[position + index] | 0x20 == word[index] { index += 1 }
                if index == word.count { return true }
            }
            return false
        }
    }
}
