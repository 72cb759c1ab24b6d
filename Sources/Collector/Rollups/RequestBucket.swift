import PeriscopeTelemetry

/// The stored form of one request rollup bucket (a minute, hour or day of every service and
/// operation): one blob per bucket, so a flush writes a row per bucket rather than per key, and
/// a 30-day question reads about fifty rows. Services come in sections, each starting with the
/// whole service's aggregate (operation ""), so a per-service question reads one entry per
/// section and skips the rest by its length.
///
///     section: service name, byte length of its entries (varint), entries
///     entry:   operation name, byte length of its aggregate (varint), `RequestAggregate` bytes
///
/// A section whose only entry is an operation's stands for the whole service as well: the
/// service's own entry would repeat that operation's bytes, and in sparse minute buckets most
/// sections are of that kind. Readers see the service's entry either way.
enum RequestBucket {
    /// Which entries a reader wants.
    enum Entries {
        /// The whole service's aggregates (operation "").
        case services
        /// Each operation's aggregates.
        case operations
        case all
    }

    /// Calls `body` for the entries wanted, of one service or all, with a reader over the
    /// entry's `RequestAggregate` bytes.
    static func forEach(
        in bytes: UnsafeRawBufferPointer, entries wanted: Entries, service: [UInt8]? = nil,
        _ body: (_ service: UnsafeRawBufferPointer, _ operation: UnsafeRawBufferPointer, _ aggregate: inout RollupByteReader) throws(DamagedRollupData) -> Void
    ) throws(DamagedRollupData) {
        var reader = RollupByteReader(bytes)
        while !reader.isAtEnd {
            let name = try reader.stringBytes()
            let length = try reader.count()
            if let service, !name.elementsEqual(service) {
                try reader.skip(length)
                continue
            }
            var section = RollupByteReader(try reader.slice(length))
            var isFirst = true
            while !section.isAtEnd {
                let operation = try section.stringBytes()
                let aggregate = try section.slice(try section.count())
                // An operation's entry first is the section's only one, and the service's too.
                if isFirst || operation.isEmpty {
                    guard isFirst || !operation.isEmpty else { throw DamagedRollupData() }
                    if wanted != .operations {
                        var reader = RollupByteReader(aggregate)
                        try body(name, UnsafeRawBufferPointer(start: nil, count: 0), &reader)
                    }
                    // After the service's entry, a per-service reader is done.
                    if wanted == .services { break }
                }
                if !operation.isEmpty && wanted != .services {
                    var reader = RollupByteReader(aggregate)
                    try body(name, operation, &reader)
                    if isFirst && !section.isAtEnd { throw DamagedRollupData() }
                }
                isFirst = false
            }
        }
    }

    /// One bucket holding the aggregates of both: sections and entries merged in name order,
    /// entries of the same (service, operation) added together, the rest copied as they are.
    /// Both must be in the order `Writer` writes (each service's own entry "" first).
    static func merge(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) throws(DamagedRollupData) -> [UInt8] {
        var writer = Writer(capacity: left.count + right.count)
        try mergeOrdered(try sections(left), try sections(right), by: \.service) { (section) throws(DamagedRollupData) in
            writer.section(Writer.name(section.service))
            for entry in section.entries { writer.entry(Writer.name(entry.operation)) { $0.append(contentsOf: entry.aggregate) } }
        } both: { (one, other) throws(DamagedRollupData) in
            writer.section(Writer.name(one.service))
            try mergeOrdered(one.entries, other.entries, by: \.operation) { (entry) throws(DamagedRollupData) in
                writer.entry(Writer.name(entry.operation)) { $0.append(contentsOf: entry.aggregate) }
            } both: { (one, other) throws(DamagedRollupData) in
                var aggregate = RequestAggregate()
                var reader = RollupByteReader(one.aggregate)
                try aggregate.merge(from: &reader)
                reader = RollupByteReader(other.aggregate)
                try aggregate.merge(from: &reader)
                writer.entry(Writer.name(one.operation)) { aggregate.append(to: &$0) }
            }
        }
        return writer.finish()
    }

    private struct Section {
        var service: String
        var entries: [(operation: String, aggregate: UnsafeRawBufferPointer)]
    }

    /// A bucket's sections as `forEach` reads them, each with its entries' aggregate bytes.
    private static func sections(_ bytes: UnsafeRawBufferPointer) throws(DamagedRollupData) -> [Section] {
        var sections = [Section]()
        try forEach(in: bytes, entries: .all) { (service, operation, aggregate) throws(DamagedRollupData) in
            let entry = (operation: String(decoding: operation, as: UTF8.self), aggregate: aggregate.bytes)
            if let last = sections.last, last.service.utf8.elementsEqual(service) {
                sections[sections.count - 1].entries.append(entry)
            } else {
                sections.append(Section(service: String(decoding: service, as: UTF8.self), entries: [entry]))
            }
        }
        return sections
    }

    /// Walks two lists sorted by `name`, handing each element found in one list only to `one`,
    /// and each pair with the same name to `both`.
    private static func mergeOrdered<Element>(
        _ left: [Element], _ right: [Element], by name: (Element) -> String,
        one: (Element) throws(DamagedRollupData) -> Void, both: (Element, Element) throws(DamagedRollupData) -> Void
    ) throws(DamagedRollupData) {
        var i = 0
        var j = 0
        while i < left.count || j < right.count {
            if j == right.count || (i < left.count && name(left[i]) < name(right[j])) {
                try one(left[i])
                i += 1
            } else if i == left.count || name(right[j]) < name(left[i]) {
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

        /// A service or operation name as the bucket stores it (length-prefixed): a flush
        /// writes each name many times, so it is encoded once.
        static func name(_ text: String) -> [UInt8] {
            var bytes = [UInt8]()
            Varint.append(text, to: &bytes)
            return bytes
        }

        /// Opens a service's section; `service` as `name(_:)` encodes it.
        mutating func section(_ service: [UInt8]) {
            closeSection()
            bytes.append(contentsOf: service)
            sectionLengthAt = bytes.count
            bytes.append(0)
            sectionEntries = 0
        }

        /// An entry whose aggregate bytes `writeAggregate` appends (see `RequestAggregate.append(to:)`);
        /// `operation` as `name(_:)` encodes it. An operation's entry may stand alone for its
        /// service: the caller leaves the service's entry out when it would have the same bytes.
        mutating func entry(_ operation: [UInt8], _ writeAggregate: (inout [UInt8]) -> Void) {
            let start = bytes.count
            bytes.append(contentsOf: operation)
            let lengthAt = bytes.count
            bytes.append(0)
            writeAggregate(&bytes)
            lastAggregate = patchLength(at: lengthAt)..<bytes.count
            if sectionEntries == 0 {
                firstEntryAt = start
                firstAggregate = operation == [0] ? lastAggregate : 0..<0
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
