/// Records read from a file and not yet in the queue: their text back to back in chunks of
/// about 64 KiB, and each one's file range. Thousands of lines cost a few chunks and one array
/// instead of a `String` and an array per line; dropping the records that reached the queue
/// drops whole chunks (a few kept for reuse until the buffer empties), so no text is ever moved. Text is always valid UTF-8:
/// invalid bytes are repaired with U+FFFD on the way in, and the record is marked.
package struct RecordBuffer: Sendable {
    package struct Record: Equatable, Sendable {
        /// Where the record's text lies: its chunk (counted from the buffer's first chunk ever) and offset in it.
        fileprivate var chunk: Int
        fileprivate var textStart: Int
        package var textCount: Int
        /// File offsets: the record's first byte, and just past its last newline.
        package var start: UInt64
        package var end: UInt64
        /// The original length of a line cut to `max_line_bytes`.
        package var truncatedFrom: Int?
        /// The bytes were not valid UTF-8 and were repaired with U+FFFD.
        package var invalidUTF8 = false
    }

    /// A chunk is closed once the next record would take it past this; a longer record has a chunk of its own.
    package static let chunkCapacity = 64 << 10
    /// What the first chunk of an empty buffer reserves.
    package static let firstChunkCapacity = 4 << 10
    /// Emptied chunks kept for reuse (those not much larger than `chunkCapacity`).
    private static let spareLimit = 4

    /// Chunks holding live records' text; `chunks[0]` is chunk number `firstChunk`.
    private var chunks: [[UInt8]] = []
    private var firstChunk = 0
    private var spare: [[UInt8]] = []
    private var records: [Record] = []

    package init() {}

    package var count: Int { records.count }
    package var isEmpty: Bool { records.isEmpty }
    package subscript(index: Int) -> Record { records[index] }

    /// The records from `start` that make one batch: up to `maxCount` of them, the last being the
    /// one whose text reaches `maxBytes`; and whether that limit was reached (a full batch).
    package func batch(from start: Int, maxCount: Int, maxBytes: Int) -> (count: Int, full: Bool) {
        // The scan below reads without bounds checks.
        precondition(start >= 0, "a batch starts at a record")
        var count = 0
        var bytes = 0
        records.withUnsafeBufferPointer { records in
            let available = max(0, records.count - start)
            while count < available, count < maxCount, bytes < maxBytes {
                bytes += records[start + count].textCount
                count += 1
            }
        }
        return (count, count >= maxCount || bytes >= maxBytes)
    }

    /// Chunks holding live text, and bytes allocated for text (live, or kept for reuse).
    package var chunkCount: Int { chunks.count }
    package var textCapacity: Int { (chunks + spare).reduce(0) { $0 + $1.capacity } }

    /// Appends one line as a record of its own.
    package mutating func append(_ line: RawLine) {
        let chunk = openChunk(for: line.bytes.count)
        let textStart = chunks[chunk].count
        let invalid = Self.appendRepaired(line.bytes, truncated: line.truncatedFrom != nil, to: &chunks[chunk])
        records.append(Record(
            chunk: firstChunk + chunk, textStart: textStart, textCount: chunks[chunk].count - textStart, start: line.start, end: line.end,
            truncatedFrom: line.truncatedFrom, invalidUTF8: invalid))
    }

    /// Appends a record whose text is already valid UTF-8 (a multiline record).
    package mutating func append(text bytes: [UInt8], start: UInt64, end: UInt64, truncatedFrom: Int?, invalidUTF8: Bool) {
        let chunk = openChunk(for: bytes.count)
        records.append(Record(
            chunk: firstChunk + chunk, textStart: chunks[chunk].count, textCount: bytes.count, start: start, end: end,
            truncatedFrom: truncatedFrom, invalidUTF8: invalidUTF8))
        chunks[chunk].append(contentsOf: bytes)
    }

    /// Drops the first `count` records (they are in the queue), and the chunks only they used.
    package mutating func removeFirst(_ count: Int) {
        guard count > 0 else { return }
        guard count < records.count else {
            // Everything is in the queue: a followed file that goes quiet holds no text.
            records = []
            firstChunk += chunks.count
            chunks = []
            spare = []
            return
        }
        recycle(records[count].chunk - firstChunk)
        records.removeFirst(count)
    }

    /// Calls `body` with the text of `record`.
    package func withText<Result>(of record: Record, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try chunks[record.chunk - firstChunk].withUnsafeBufferPointer {
            try body(UnsafeBufferPointer(rebasing: $0[record.textStart..<(record.textStart + record.textCount)]))
        }
    }

    /// Calls `body` with each record of `range` and its text, in order. The records of one chunk
    /// are visited under one borrow of it: a batch of thousands costs a few retains, not two per record.
    package func forEachText(in range: Range<Int>, _ body: (Record, UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        precondition(range.lowerBound >= 0 && range.upperBound <= records.count, "a range of the buffer's records")
        try records.withUnsafeBufferPointer { records in
            var index = range.lowerBound
            while index < range.upperBound {
                let chunk = records[index].chunk
                try chunks[chunk - firstChunk].withUnsafeBufferPointer { text in
                    while index < range.upperBound, records[index].chunk == chunk {
                        let record = records[index]
                        try body(record, UnsafeBufferPointer(rebasing: text[record.textStart..<(record.textStart + record.textCount)]))
                        index += 1
                    }
                }
            }
        }
    }

    /// The index in `chunks` of the chunk the next record of about `byteCount` bytes goes in.
    private mutating func openChunk(for byteCount: Int) -> Int {
        if let last = chunks.last, last.isEmpty || last.count + byteCount <= Self.chunkCapacity { return chunks.count - 1 }
        var chunk = spare.popLast() ?? []
        // The first chunk starts at 4 KiB and grows as text arrives: a file that holds a few
        // short records (many followed files, a queue refusing) keeps 4 KiB, not 64.
        chunk.reserveCapacity(chunks.isEmpty ? Self.firstChunkCapacity : Self.chunkCapacity)
        chunks.append(chunk)
        return chunks.count - 1
    }

    /// Drops the first `count` chunks, keeping a few ordinary ones for reuse.
    private mutating func recycle(_ count: Int) {
        guard count > 0 else { return }
        for index in 0..<count where spare.count < Self.spareLimit && chunks[index].capacity <= 2 * Self.chunkCapacity {
            var chunk = chunks[index]
            chunks[index] = []
            chunk.removeAll(keepingCapacity: true)
            spare.append(chunk)
        }
        chunks.removeFirst(count)
        firstChunk += count
    }

    /// Appends `bytes` to `out`, repairing invalid UTF-8 with U+FFFD; returns whether the source is
    /// to blame. A cut at `max_line_bytes` can split a character: that character is left out
    /// (the text ends before it), not repaired, and the record is not marked for it.
    package static func appendRepaired(_ bytes: UnsafeRawBufferPointer, truncated: Bool, to out: inout [UInt8]) -> Bool {
        let utf8 = bytes.assumingMemoryBound(to: UInt8.self)
        if UTF8Validation.isValid(utf8) {
            out.append(contentsOf: utf8)
            return false
        }
        if truncated {
            // A character split by the cut leaves one to three bytes of its start.
            for dropped in 1...min(3, utf8.count) where UTF8Validation.startsCharacter(utf8[utf8.count - dropped]) {
                let whole = UnsafeBufferPointer(rebasing: utf8.dropLast(dropped))
                if UTF8Validation.isValid(whole) {
                    out.append(contentsOf: whole)
                    return false
                }
                break
            }
        }
        out.append(contentsOf: String(decoding: utf8, as: UTF8.self).utf8)
        return true
    }
}

/// UTF-8 validation over raw bytes without building a `String`: ASCII eight bytes at a time,
/// anything else by the well-formed byte sequences of Unicode §3.9, table 3-7.
package enum UTF8Validation {
    /// The first byte of a multi-byte character (`11xxxxxx`).
    package static func startsCharacter(_ byte: UInt8) -> Bool { byte >= 0xC2 && byte <= 0xF4 }

    package static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            // Skip ASCII four words, then a word, at a time.
            while index + 32 <= count {
                let raw = UnsafeRawPointer(base + index)
                let any = raw.loadUnaligned(as: UInt64.self) | raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                guard any & 0x8080_8080_8080_8080 == 0 else { break }
                index += 32
            }
            while index + 8 <= count, UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                index += 8
            }
            guard index < count else { break }
            let lead = base[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return false
            }
            guard index + length <= count else { return false }
            let second = base[index + 1]
            guard second >= low, second <= high else { return false }
            for offset in 2..<max(length, 2) where base[index + offset] & 0xC0 != 0x80 { return false }
            index += length
        }
        return true
    }
}
