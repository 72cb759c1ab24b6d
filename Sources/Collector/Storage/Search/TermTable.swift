import Foundation

/// A span block's search index: for each `SearchTerm` that occurs in the block, the traces
/// (by ordinal in the block) with a span carrying it, the range of those spans' start times
/// quantised to 1/255 of the block's range, and their longest duration on a log scale (bounds,
/// never excluding a true match), so candidates are taken newest first and a duration filter
/// drops most before any block is read. One row per batch instead of index entries per span;
/// the hashes are sorted, so a lookup is a binary search in the stored bytes.
///
/// Layout: block min and max start (fixed 64), term count, hashes (fixed 64, ascending), end
/// offsets of each term's entries (fixed 32), then per term its entry count and entries
/// (ordinal delta varint, upper-bound byte, lower-bound byte, duration byte).
struct TermTable {
    struct Entry: Equatable {
        var trace: Int
        /// No span of the trace with the term starts before this or after `latestStart`.
        var earliestStart: UInt64
        var latestStart: UInt64
        /// No span of the trace with the term lasts longer.
        var longestDuration: UInt64
    }

    /// Duration bounds for a byte: 2^(b/4) nanoseconds rounded up (four steps per doubling), the
    /// last one unbounded.
    static let durationBounds: [UInt64] = (0..<256).map { code in
        code == 255 ? .max : UInt64((pow(2, Double(code) / 4)).rounded(.up))
    }

    /// The smallest code whose bound is at least `nanos`.
    static func durationCode(_ nanos: UInt64) -> UInt8 {
        var low = 0, high = 255
        while low < high {
            let middle = (low + high) / 2
            if durationBounds[middle] >= nanos { high = middle } else { low = middle + 1 }
        }
        return UInt8(low)
    }

    private let bytes: [UInt8]
    let minStart: UInt64
    let maxStart: UInt64
    private let count: Int
    private let step: UInt64

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        let parsed = try bytes.withUnsafeBytes { buffer in
            var source = ByteSource(buffer, what: "span search index")
            let minStart = try source.fixed64(), maxStart = try source.fixed64()
            let count = try source.count()
            guard minStart <= maxStart, source.position + count * 12 <= buffer.count else { throw source.damaged }
            return (minStart: minStart, maxStart: maxStart, count: count, hashesAt: source.position)
        }
        minStart = parsed.minStart
        maxStart = parsed.maxStart
        count = parsed.count
        hashesAt = parsed.hashesAt
        step = Self.step(minStart: parsed.minStart, maxStart: parsed.maxStart)
    }

    private let hashesAt: Int
    private var offsetsAt: Int { hashesAt + count * 8 }
    private var entriesAt: Int { offsetsAt + count * 4 }

    /// The quantum of the stored bounds: 255 steps cover the block's range.
    static func step(minStart: UInt64, maxStart: UInt64) -> UInt64 { (maxStart - minStart) / 255 + 1 }

    private func position(of term: UInt64) -> Int? {
        bytes.withUnsafeBytes { buffer in
            var low = 0, high = count
            while low < high {
                let middle = (low + high) / 2
                let hash = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: hashesAt + middle * 8, as: UInt64.self))
                if hash == term { return middle }
                if hash < term { low = middle + 1 } else { high = middle }
            }
            return nil
        }
    }

    private func range(_ position: Int) -> Range<Int> {
        bytes.withUnsafeBytes { buffer in
            func end(_ index: Int) -> Int {
                Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offsetsAt + index * 4, as: UInt32.self)))
            }
            let start = position == 0 ? 0 : end(position - 1)
            return (entriesAt + start)..<(entriesAt + end(position))
        }
    }

    /// How many traces of the block carry `term`.
    func traceCount(_ term: UInt64) throws -> Int {
        guard let position = position(of: term) else { return 0 }
        let range = range(position)
        return try bytes.withUnsafeBytes { buffer in
            guard range.upperBound <= buffer.count, range.lowerBound <= range.upperBound else {
                throw DamagedStoredData(what: "span search index")
            }
            var source = ByteSource(UnsafeRawBufferPointer(rebasing: buffer[range]), what: "span search index")
            return try source.count()
        }
    }

    /// The traces of the block that carry `term`, by ordinal.
    func entries(_ term: UInt64) throws -> [Entry] {
        guard let position = position(of: term) else { return [] }
        let range = range(position)
        return try bytes.withUnsafeBytes { buffer in
            guard range.upperBound <= buffer.count, range.lowerBound <= range.upperBound else {
                throw DamagedStoredData(what: "span search index")
            }
            var source = ByteSource(UnsafeRawBufferPointer(rebasing: buffer[range]), what: "span search index")
            let count = try source.count()
            var out = [Entry]()
            out.reserveCapacity(count)
            var trace = 0
            for _ in 0..<count {
                trace += try source.int(atMost: Int(Int32.max))
                let upper = UInt64(try source.byte()), lower = UInt64(try source.byte())
                let duration = Self.durationBounds[Int(try source.byte())]
                out.append(Entry(trace: trace, earliestStart: minStart + lower * step, latestStart: maxStart - upper * step,
                                 longestDuration: duration))
            }
            return out
        }
    }
}

/// Collects a block's terms while its spans are encoded, trace by trace.
struct TermTableBuilder {
    private struct Posting {
        var trace: Int
        var earliest: UInt64
        var latest: UInt64
        var longest: UInt64
    }

    private var positions = IntegerMap<Int>(capacity: 512)
    private var hashes: [UInt64] = []
    private var postings: [[Posting]] = []

    /// Records that trace `trace` (ordinals ascending, one trace at a time) has a span with `term`
    /// starting at `start` and lasting `duration` (0 for an end before the start).
    mutating func add(_ term: UInt64, trace: Int, start: UInt64, duration: UInt64) {
        guard let position = positions[term] else {
            positions.set(term, hashes.count)
            hashes.append(term)
            postings.append([Posting(trace: trace, earliest: start, latest: start, longest: duration)])
            return
        }
        let last = postings[position].count - 1
        if postings[position][last].trace == trace {
            postings[position][last].earliest = min(postings[position][last].earliest, start)
            postings[position][last].latest = max(postings[position][last].latest, start)
            postings[position][last].longest = max(postings[position][last].longest, duration)
        } else {
            postings[position].append(Posting(trace: trace, earliest: start, latest: start, longest: duration))
        }
    }

    /// The table's bytes for a block whose spans start within `minStart...maxStart`.
    func encoded(minStart: UInt64, maxStart: UInt64) -> [UInt8] {
        let step = TermTable.step(minStart: minStart, maxStart: maxStart)
        let order = hashes.indices.sorted { hashes[$0] < hashes[$1] }
        var entries = ByteSink()
        var ends = ByteSink()
        for position in order {
            let list = postings[position]
            entries.varint(list.count)
            var previous = 0
            for posting in list {
                entries.varint(posting.trace - previous)
                previous = posting.trace
                entries.byte(UInt8((maxStart - posting.latest) / step))
                entries.byte(UInt8((posting.earliest - minStart) / step))
                entries.byte(TermTable.durationCode(posting.longest))
            }
            ends.fixed32(UInt32(entries.bytes.count))
        }
        var out = ByteSink()
        out.bytes.reserveCapacity(24 + hashes.count * 12 + entries.bytes.count)
        out.fixed64(minStart)
        out.fixed64(maxStart)
        out.varint(hashes.count)
        for position in order { out.fixed64(hashes[position]) }
        out.bytes.append(contentsOf: ends.bytes)
        out.bytes.append(contentsOf: entries.bytes)
        return out.bytes
    }
}
