import PeriscopeOTLP

/// The stored form of one request rollup bucket (a minute, hour or day of every service and
/// operation): one blob per bucket, so a flush writes a row per bucket rather than per key, and
/// a 30-day question reads about fifty rows. Names are numbers (`RollupNames`; 0 is the
/// service's own entry). Services come in sections, in number order, each starting with the
/// whole service's aggregate, so a per-service question reads one entry per section and skips
/// the rest by its length.
///
///     section: service number, byte length of its entries, entries      (varints)
///     entry:   operation number, byte length of its aggregate, `RequestAggregate` bytes
///
/// A section whose only entry is an operation's stands for the whole service as well: the
/// service's own entry would repeat that operation's bytes, and in sparse minute buckets most
/// sections are of that kind. Readers see the service's entry either way.
enum RequestBucket {
    /// Which entries a reader wants.
    enum Entries {
        /// The whole service's aggregates (operation 0).
        case services
        /// Each operation's aggregates.
        case operations
        case all
    }

    /// Calls `body` for the entries wanted, of one service or all, with a reader over the
    /// entry's `RequestAggregate` bytes.
    static func forEach(
        in bytes: UnsafeRawBufferPointer, entries wanted: Entries, service: Int? = nil,
        _ body: (_ service: Int, _ operation: Int, _ aggregate: inout RollupByteReader) throws(DamagedRollupData) -> Void
    ) throws(DamagedRollupData) {
        var reader = RollupByteReader(bytes)
        while !reader.isAtEnd {
            let number = try reader.number()
            let length = try reader.count()
            if let service, number != service {
                try reader.skip(length)
                continue
            }
            var section = RollupByteReader(try reader.slice(length))
            var isFirst = true
            while !section.isAtEnd {
                let operation = try section.number()
                let aggregate = try section.slice(try section.count())
                // An operation's entry first is the section's only one, and the service's too.
                if isFirst || operation == 0 {
                    guard isFirst || operation != 0 else { throw DamagedRollupData() }
                    if wanted != .operations {
                        var reader = RollupByteReader(aggregate)
                        try body(number, 0, &reader)
                    }
                    // After the service's entry, a per-service reader is done.
                    if wanted == .services { break }
                }
                if operation != 0 && wanted != .services {
                    var reader = RollupByteReader(aggregate)
                    try body(number, operation, &reader)
                    if isFirst && !section.isAtEnd { throw DamagedRollupData() }
                }
                isFirst = false
            }
        }
    }

    /// One bucket holding the aggregates of both: sections and entries merged in number order,
    /// entries of the same (service, operation) added together, the rest copied as they are.
    /// Both must be in the order `Writer` writes (each service's own entry first).
    static func merge(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) throws(DamagedRollupData) -> [UInt8] {
        var writer = Writer(capacity: left.count + right.count)
        try mergeOrdered(try sections(left), try sections(right), by: \.service) { (section) throws(DamagedRollupData) in
            writer.section(section.service)
            for entry in section.entries { writer.entry(entry.operation) { $0.append(contentsOf: entry.aggregate) } }
        } both: { (one, other) throws(DamagedRollupData) in
            writer.section(one.service)
            try mergeOrdered(one.entries, other.entries, by: \.operation) { (entry) throws(DamagedRollupData) in
                writer.entry(entry.operation) { $0.append(contentsOf: entry.aggregate) }
            } both: { (one, other) throws(DamagedRollupData) in
                var aggregate = RequestAggregate()
                var reader = RollupByteReader(one.aggregate)
                try aggregate.merge(from: &reader)
                reader = RollupByteReader(other.aggregate)
                try aggregate.merge(from: &reader)
                writer.entry(one.operation) { aggregate.append(to: &$0) }
            }
        }
        return writer.finish()
    }

    private struct Section {
        var service: Int
        var entries: [(operation: Int, aggregate: UnsafeRawBufferPointer)]
    }

    /// A bucket's sections as `forEach` reads them, each with its entries' aggregate bytes.
    private static func sections(_ bytes: UnsafeRawBufferPointer) throws(DamagedRollupData) -> [Section] {
        var sections = [Section]()
        try forEach(in: bytes, entries: .all) { (service, operation, aggregate) throws(DamagedRollupData) in
            let entry = (operation: operation, aggregate: aggregate.bytes)
            if let last = sections.last, last.service == service {
                sections[sections.count - 1].entries.append(entry)
            } else {
                sections.append(Section(service: service, entries: [entry]))
            }
        }
        return sections
    }

    /// Walks two lists sorted by `number`, handing each element found in one list only to `one`,
    /// and each pair with the same number to `both`.
    private static func mergeOrdered<Element>(
        _ left: [Element], _ right: [Element], by number: (Element) -> Int,
        one: (Element) throws(DamagedRollupData) -> Void, both: (Element, Element) throws(DamagedRollupData) -> Void
    ) throws(DamagedRollupData) {
        var i = 0
        var j = 0
        while i < left.count || j < right.count {
            if j == right.count || (i < left.count && number(left[i]) < number(right[j])) {
                try one(left[i])
                i += 1
            } else if i == left.count || number(right[j]) < number(left[i]) {
                try one(right[j])
                j += 1
            } else {
                try both(left[i], right[j])
                i += 1
                j += 1
            }
        }
    }

    /// Builds a bucket's bytes: sections in service order, each with its service entry first.
    struct Writer {
        private(set) var bytes = [UInt8]()
        private var sectionLengthAt: Int?
        /// Entries in the open section, where its first starts, and the aggregate bytes of its
        /// first and last: a section of the service's entry and one operation's with the same
        /// bytes drops the service's (see `RequestBucket`).
        private var sectionEntries = 0
        private var firstEntryAt = 0
        private var firstAggregate = 0..<0
        private var lastAggregate = 0..<0

        init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

        /// Opens a service's section.
        mutating func section(_ service: Int) {
            closeSection()
            Varint.append(UInt64(service), to: &bytes)
            sectionLengthAt = bytes.count
            bytes.append(0)
            sectionEntries = 0
        }

        /// An entry (operation 0: the service's own) whose aggregate bytes `writeAggregate`
        /// appends (see `RequestAggregate.append(to:)`). An operation's entry may stand alone for
        /// its service: the caller leaves the service's entry out when it would have the same bytes.
        mutating func entry(_ operation: Int, _ writeAggregate: (inout [UInt8]) -> Void) {
            let start = bytes.count
            Varint.append(UInt64(operation), to: &bytes)
            let lengthAt = bytes.count
            bytes.append(0)
            writeAggregate(&bytes)
            lastAggregate = patchLength(at: lengthAt)..<bytes.count
            if sectionEntries == 0 {
                firstEntryAt = start
                firstAggregate = operation == 0 ? lastAggregate : 0..<0
            }
            sectionEntries += 1
        }

        mutating func finish() -> [UInt8] {
            closeSection()
            return bytes
        }

        private mutating func closeSection() {
            guard let sectionLengthAt else { return }
            if sectionEntries == 2, !firstAggregate.isEmpty, bytes[firstAggregate].elementsEqual(bytes[lastAggregate]) {
                bytes.removeSubrange(firstEntryAt..<firstAggregate.upperBound)
            }
            _ = patchLength(at: sectionLengthAt)
            self.sectionLengthAt = nil
        }

        /// Writes the number of bytes after the one-byte slot at `position` into it, as a varint
        /// (widening the slot for 128 bytes or more). Returns where the counted bytes start.
        @discardableResult
        private mutating func patchLength(at position: Int) -> Int {
            let length = bytes.count - position - 1
            if length < 0x80 {
                bytes[position] = UInt8(length)
                return position + 1
            }
            var encoded = [UInt8]()
            Varint.append(UInt64(length), to: &encoded)
            bytes.replaceSubrange(position..<(position + 1), with: encoded)
            return position + encoded.count
        }
    }
}

extension RollupByteReader {
    /// A name's number in a request bucket (see `RollupNames`).
    mutating func number() throws(DamagedRollupData) -> Int {
        let value = try varint()
        guard value <= UInt64(Int32.max) else { throw DamagedRollupData() }
        return Int(value)
    }
}
