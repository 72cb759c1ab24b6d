import Foundation
import Logging
import PeriscopeDelivery
import PeriscopeModel
import Synchronization

/// Why a batch could not be queued.
package enum QueueError: Error, Equatable, Sendable {
    /// The queue is at `maxBytes` and configured to push back.
    case full
    /// The batch alone is larger than the queue may hold.
    case tooLarge(bytes: Int, limit: Int)
    case io(String)
}

/// A record handed out for shipping; acknowledge it once the collector has it.
package struct QueuedRecord: Hashable, Sendable {
    package var segment: UInt64
    package var offset: Int
    /// The framed record's size on disk: what acknowledging it frees.
    package var length: Int
    package var enqueuedAtUnixNano: UInt64
}

/// Counts and gauges of the queue: the agent's saturation signal.
package struct QueueStatistics: Equatable, Sendable {
    /// Records appended and not yet acknowledged.
    package var records = 0
    /// Bytes of those records: what `maxBytes` bounds. Acknowledged records stop counting at
    /// once, even while their segment file still holds other records.
    package var bytes = 0
    /// Segment files on disk, the one being written included.
    package var segmentFiles = 0
    package var oldestRecordUnixNano: UInt64?
    package var appended = 0
    package var acknowledged = 0
    package var dropped = 0
    package var damaged = 0
}

/// The agent's durable queue: batches appended to segment files under a directory,
/// checksummed, handed out in order, deleted only once acknowledged. It survives `kill -9`
/// (and with `fsync: always`, power loss); on start it recovers every intact record and
/// skips — and reports — damaged ones. Memory holds segment bookkeeping, never the backlog.
package final class DiskQueue: Sendable {
    private let state: Mutex<State>
    /// Serializes appenders, so the `fdatasync` of a group can run outside `state`'s lock:
    /// the shipper takes and acknowledges while a group is being synced.
    private let appending = Mutex(())
    package let directory: String
    package let configuration: DiskQueueConfiguration
    /// Says what `when_full: drop_oldest` dropped: data given up is never silent.
    private let logger: Logger
    /// Rings after every append that queued something: the shipper waits on it when idle.
    package let appended = Doorbell()

    private struct Segment {
        var sequence: UInt64
        var file: SegmentFile
        var ackLog: SegmentFile
        /// Intact records in the file.
        var records: Int
        /// Bytes of the records not yet acknowledged.
        var liveBytes = 0
        /// Offsets acknowledged (persisted in the ack log, without fsync: losing one only re-sends a batch the collector drops as a duplicate).
        var acknowledged: Set<Int>
        var oldestUnixNano: UInt64?
        /// Records ending at or before this offset may be handed out. With `fsync: always` the
        /// last segment's records become visible only once synced: a record a failed sync cuts
        /// off again was never shipped.
        var visibleEnd = 0
        var unacknowledged: Int { records - acknowledged.count }
    }

    private struct State {
        var segments: [Segment] = []
        var nextSequence: UInt64 = 1
        /// The next record to hand out: segment sequence and offset.
        var cursor: (segment: UInt64, offset: Int) = (0, 0)
        var statistics = QueueStatistics()
        /// Appends not yet synced: with `fsync: interval` until the timer syncs them, with
        /// `fsync: always` only while a group commit is in progress. Only the segment being
        /// written can have any, since a segment is synced before the next one is opened.
        var dirty = false
    }

    package init(directory: String, configuration: DiskQueueConfiguration = DiskQueueConfiguration(), logger: Logger) throws {
        self.logger = logger
        self.directory = directory
        self.configuration = configuration
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw QueueError.io("cannot create queue directory \(directory): \(error.localizedDescription)")
        }
        var state = State()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let sequences = names.compactMap { name -> UInt64? in
            guard name.hasPrefix("segment-"), name.hasSuffix(".log") else { return nil }
            // Only names the queue writes: a number it could reach, in its own spelling (the
            // segment is reopened by that spelling). Anything else is not the queue's, and stays.
            guard let sequence = UInt64(name.dropFirst("segment-".count).dropLast(".log".count)), sequence < Self.sequenceLimit,
                  (Self.segmentPath(sequence, directory) as NSString).lastPathComponent == name else {
                logger.warning("queue: \(name) in \(directory) is not a segment name the queue writes; left alone")
                return nil
            }
            return sequence
        }.sorted()
        for sequence in sequences {
            let segment = try Self.recover(sequence: sequence, directory: directory, statistics: &state.statistics, logger: logger)
            if segment.unacknowledged == 0 {
                Self.remove(segment, directory: directory)
            } else {
                state.segments.append(segment)
            }
            state.nextSequence = sequence + 1
        }
        state.cursor = (state.segments.first?.sequence ?? state.nextSequence, 0)
        // Appends always go to a fresh segment, so a recovered one is never written after damage.
        try Self.openSegment(&state, directory: directory)
        state.statistics.records = state.segments.reduce(0) { $0 + $1.unacknowledged }
        state.statistics.bytes = state.segments.reduce(0) { $0 + $1.liveBytes }
        state.statistics.segmentFiles = state.segments.count
        state.statistics.oldestRecordUnixNano = state.segments.lazy.compactMap(\.oldestUnixNano).first
        if state.statistics.records > 0 {
            logger.info("queue recovered \(state.statistics.records) unshipped batches (\(state.statistics.bytes) bytes) from \(directory)")
        }
        self.state = Mutex(state)
    }

    /// Segment numbers at or above this are not the queue's (at one segment a microsecond it would
    /// take 146,000 years to get there): counting on from one of them could overflow.
    static let sequenceLimit: UInt64 = 1 << 62

    private static func segmentPath(_ sequence: UInt64, _ directory: String) -> String {
        (directory as NSString).appendingPathComponent(String(format: "segment-%020llu.log", sequence))
    }

    private static func ackPath(_ sequence: UInt64, _ directory: String) -> String {
        (directory as NSString).appendingPathComponent(String(format: "segment-%020llu.acks", sequence))
    }

    /// Starts a new segment for appends. The one written so far is synced if it has unsynced
    /// appends, and deleted if every record in it was already acknowledged: from now on nothing
    /// writes to it, so nothing else would ever delete it.
    /// The new segment's files exist before the old one goes: a failed open leaves the queue as it was.
    private static func openSegment(_ state: inout State, directory: String) throws(QueueError) {
        let previous = state.segments.last
        if let previous, state.dirty {
            do { try previous.file.sync() } catch { throw .io("\(error)") }
            state.segments[state.segments.count - 1].visibleEnd = previous.file.size
            state.dirty = false
        }
        let sequence = state.nextSequence
        let segment: Segment
        do {
            let file = try SegmentFile(path: segmentPath(sequence, directory), create: true)
            let ackLog = try SegmentFile(path: ackPath(sequence, directory), create: true)
            segment = Segment(sequence: sequence, file: file, ackLog: ackLog, records: 0, acknowledged: [])
            // Appends to the new files count on their names surviving a power cut.
            try syncDirectory(directory)
        } catch {
            unlink(segmentPath(sequence, directory))
            unlink(ackPath(sequence, directory))
            throw .io("\(error)")
        }
        state.nextSequence += 1
        state.segments.append(segment)
        if let previous, previous.unacknowledged == 0 {
            state.segments.removeAll { $0.sequence == previous.sequence }
            remove(previous, directory: directory)
            // A removal lost to a power cut brings back a segment whose records were all
            // acknowledged (sent again at worst, under their batch IDs): no reason to refuse the append.
            try? syncDirectory(directory)
        }
        state.statistics.segmentFiles = state.segments.count
    }

    private static func remove(_ segment: Segment, directory: String) {
        unlink(segment.file.path)
        unlink(segment.ackLog.path)
    }

    /// Scans a segment: counts intact records, skips damaged ones (reporting each), cuts a torn tail.
    private static func recover(sequence: UInt64, directory: String, statistics: inout QueueStatistics, logger: Logger) throws -> Segment {
        let file: SegmentFile
        let ackLog: SegmentFile
        do {
            file = try SegmentFile(path: segmentPath(sequence, directory), create: false)
            ackLog = try SegmentFile(path: ackPath(sequence, directory), create: true)
        } catch {
            throw QueueError.io(error.description)
        }
        var acknowledged = Set<Int>()
        let ackBytes = ackLog.read(at: 0, count: ackLog.size)
        for index in stride(from: 0, to: ackBytes.count - 7, by: 8) {
            let offset = ackBytes[index..<(index + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
            // A damaged entry names no record and is ignored (at worst a batch is sent again).
            if offset <= UInt64(Int.max) { acknowledged.insert(Int(offset)) }
        }
        var segment = Segment(sequence: sequence, file: file, ackLog: ackLog, records: 0, acknowledged: [])
        var offset = 0
        var lastGoodEnd = 0
        while let found = nextIntactRecord(in: file, from: offset) {
            if found.offset > offset {
                statistics.damaged += 1
                logger.error("queue segment \(sequence): skipped a damaged record at bytes \(offset)..<\(found.offset)")
            }
            segment.records += 1
            if acknowledged.contains(found.offset) {
                segment.acknowledged.insert(found.offset)
            } else {
                segment.liveBytes += found.length
                if segment.oldestUnixNano == nil { segment.oldestUnixNano = found.enqueuedAtUnixNano }
            }
            offset = found.offset + found.length
            lastGoodEnd = offset
        }
        if lastGoodEnd < file.size {
            statistics.damaged += 1
            logger.error("queue segment \(sequence): skipped a damaged or torn record at bytes \(lastGoodEnd)..<\(file.size)")
            file.truncate(to: lastGoodEnd)
        }
        segment.visibleEnd = file.size
        return segment
    }

    /// The first record at or after `offset` whose header and checksum are intact.
    private static func nextIntactRecord(
        in file: SegmentFile, from offset: Int, end: Int? = nil
    ) -> (offset: Int, length: Int, enqueuedAtUnixNano: UInt64, decoded: QueueRecord.Decoded)? {
        let end = min(end ?? file.size, file.size)
        var position = offset
        while position + QueueRecord.headerSize <= end {
            // The header and the payload's fields and ID in one small read, then the body
            // straight into the batch's own bytes.
            let head = file.read(at: position, count: min(QueueRecord.headerSize + QueueRecord.maxPrefixBytes, end - position))
            if let parsed = QueueRecord.header(head[...]), position + QueueRecord.headerSize + parsed.length <= end,
               let prefixLength = QueueRecord.prefixLength(head[QueueRecord.headerSize...]), prefixLength <= parsed.length,
               QueueRecord.headerSize + prefixLength <= head.count {
                let prefix = head[QueueRecord.headerSize..<(QueueRecord.headerSize + prefixLength)]
                let body = file.read(at: position + QueueRecord.headerSize + prefixLength, count: parsed.length - prefixLength)
                if let decoded = QueueRecord.decodePayload(prefix: prefix, body: body, checksum: parsed.checksum) {
                    return (position, QueueRecord.headerSize + parsed.length, decoded.enqueuedAtUnixNano, decoded)
                }
            }
            // Damage: look for the next magic.
            position = nextMagic(in: file, after: position, end: end) ?? end
        }
        return nil
    }

    private static func nextMagic(in file: SegmentFile, after position: Int, end: Int) -> Int? {
        var start = position + 1
        let chunk = 64 * 1024
        while start < end {
            let bytes = file.read(at: start, count: min(chunk + 3, end - start))
            if bytes.count < 4 { return nil }
            for index in 0...(bytes.count - 4) where bytes[index] == 0x50 && bytes[index + 1] == 0x53 && bytes[index + 2] == 0x51 && bytes[index + 3] == 0x52 {
                return start + index
            }
            start += chunk
        }
        return nil
    }

    // MARK: - Appending

    /// Appends a batch; returns once it is in the segment file (and synced, with `fsync: always`).
    package func append(_ batch: EncodedBatch, nowUnixNano: UInt64 = WallClock.nowUnixNano()) throws(QueueError) {
        try append(contentsOf: [batch], nowUnixNano: nowUnixNano)[0].get()
    }

    /// Group commit: appends `batches` in order and, with `fsync: always`, makes them durable
    /// with one `fdatasync` (one more per segment rolled over) instead of one each. Every batch
    /// gets its own outcome: one refused for its size or for a full queue leaves the others
    /// queued. Batches a failed sync covered are cut off again and fail, since nothing
    /// reported queued may be lost to a power cut.
    package func append(contentsOf batches: [EncodedBatch], nowUnixNano: UInt64 = WallClock.nowUnixNano()) -> [Result<Void, QueueError>] {
        // Past the framing's payload limit a record would read back as damage: refuse it now.
        let limit = min(configuration.maxBytes, QueueRecord.headerSize + QueueRecord.maxPayloadBytes)
        let records = batches.map { QueueRecord.frame($0, enqueuedAtUnixNano: nowUnixNano) }
        let results = appending.withLock { _ in appendSerialized(records, limit: limit, nowUnixNano: nowUnixNano) }
        if results.contains(where: { if case .success = $0 { true } else { false } }) { appended.ring() }
        return results
    }

    /// Appends under `state`'s lock, then — with `fsync: always` — syncs outside it and makes
    /// the group visible to `take()` only once it is durable. Callers hold `appending`.
    private func appendSerialized(_ records: [QueueRecord.Framed], limit: Int, nowUnixNano: UInt64) -> [Result<Void, QueueError>] {
        var results = [Result<Void, QueueError>](repeating: .success(()), count: records.count)
        // With `fsync: always`: the batches appended to the last segment since it was last synced.
        var unsynced = UnsyncedAppends()
        let pendingSync: (descriptor: Int32, end: Int)? = state.withLock { state in
            for (index, record) in records.enumerated() {
                guard record.count <= limit else {
                    results[index] = .failure(.tooLarge(bytes: record.count, limit: limit))
                    continue
                }
                do throws(AppendFailure) {
                    try appendRecord(record, nowUnixNano: nowUnixNano, &state)
                } catch {
                    switch error {
                    case .refused(let reason):
                        results[index] = .failure(reason)
                    case .syncFailed(let reason):
                        // The segment being left could not be synced: the batches in it are not durable either.
                        fail(&unsynced, &results, &state, reason)
                        results[index] = .failure(reason)
                    }
                    continue
                }
                if configuration.fsync == .always {
                    if !state.dirty { unsynced = UnsyncedAppends() }  // a rollover synced them
                    unsynced.add(result: index, record: record.count, endingAt: state.segments[state.segments.count - 1].file.size)
                    state.dirty = true
                }
            }
            guard configuration.fsync == .always, state.dirty else { return nil }
            let last = state.segments[state.segments.count - 1].file
            return (last.fileDescriptor, last.size)
        }
        guard let pendingSync else { return results }
        // The last segment stays open meanwhile: only appends (serialized by `appending`) roll
        // over or drop segments, and acknowledgements never delete the one being written.
        let failure = SegmentFile.sync(descriptor: pendingSync.descriptor)
        state.withLock { state in
            if let failure {
                fail(&unsynced, &results, &state, .io(failure))
            } else {
                state.segments[state.segments.count - 1].visibleEnd = pendingSync.end
                state.dirty = false
            }
        }
        return results
    }

    /// Batches appended to the last segment and not yet synced: the file offset the first
    /// starts at, their result indexes and framed sizes.
    private struct UnsyncedAppends {
        var start: Int?
        var entries: [(result: Int, length: Int)] = []

        mutating func add(result: Int, record length: Int, endingAt end: Int) {
            if start == nil { start = end - length }
            entries.append((result, length))
        }
    }

    /// One record at the end of the last segment, rolling over or making room first; the
    /// caller syncs (or not) per the fsync policy.
    private func appendRecord(_ record: QueueRecord.Framed, nowUnixNano: UInt64, _ state: inout State) throws(AppendFailure) {
        let overfull = state.statistics.bytes + record.count > configuration.maxBytes
        if overfull, configuration.whenFull == .backpressure { throw .refused(.full) }
        // Making room or starting a segment may leave the last one: sync it first, so a failure
        // is told apart from a refusal.
        if configuration.fsync == .always, state.dirty,
           overfull || state.segments[state.segments.count - 1].file.size >= configuration.segmentBytes {
            let last = state.segments.count - 1
            do { try state.segments[last].file.sync() } catch { throw .syncFailed(.io("\(error)")) }
            state.segments[last].visibleEnd = state.segments[last].file.size
            state.dirty = false
        }
        do {
            while state.statistics.bytes + record.count > configuration.maxBytes {
                try dropOldestSegment(&state)
            }
            if state.segments[state.segments.count - 1].file.size >= configuration.segmentBytes {
                try Self.openSegment(&state, directory: directory)
            }
        } catch {
            throw .refused(error)
        }
        var index = state.segments.count - 1
        do {
            try state.segments[index].file.append(record.head, record.body)
        } catch {
            // A full disk (or a file size limit) while every record of the segment being written
            // was delivered: only moving on frees that segment's space, and no other write would
            // ever move on — every append would be refused until a restart. So start the next
            // segment (the delivered one is deleted) and try once more.
            guard state.segments[index].records > 0, state.segments[index].unacknowledged == 0 else {
                throw .refused(.io("\(error)"))
            }
            do throws(QueueError) {
                try Self.openSegment(&state, directory: directory)
            } catch let rollover {
                throw .refused(.io("\(error); starting a new segment to free the delivered one failed too: \(rollover)"))
            }
            index = state.segments.count - 1
            do {
                try state.segments[index].file.append(record.head, record.body)
            } catch {
                throw .refused(.io("\(error)"))
            }
        }
        if configuration.fsync != .always {
            // Without per-append syncs a record is shipped as soon as it is written.
            state.segments[index].visibleEnd = state.segments[index].file.size
            if configuration.fsync != .never { state.dirty = true }
        }
        state.segments[index].records += 1
        state.segments[index].liveBytes += record.count
        if state.segments[index].oldestUnixNano == nil { state.segments[index].oldestUnixNano = nowUnixNano }
        state.statistics.records += 1
        state.statistics.bytes += record.count
        state.statistics.appended += 1
        if state.statistics.oldestRecordUnixNano == nil { state.statistics.oldestRecordUnixNano = nowUnixNano }
    }

    private enum AppendFailure: Error {
        /// This batch was not appended; earlier ones are unaffected.
        case refused(QueueError)
        /// Syncing the segment being left failed: its unsynced batches are not durable.
        case syncFailed(QueueError)
    }

    /// A sync failed: cuts the unsynced batches off the last segment, uncounts them and fails
    /// them — after a failed `fdatasync` the kernel may have dropped their pages.
    private func fail(_ unsynced: inout UnsyncedAppends, _ results: inout [Result<Void, QueueError>], _ state: inout State, _ error: QueueError) {
        defer {
            unsynced = UnsyncedAppends()
            if configuration.fsync == .always { state.dirty = false }
        }
        guard let start = unsynced.start else { return }
        let index = state.segments.count - 1
        let bytes = unsynced.entries.reduce(0) { $0 + $1.length }
        state.segments[index].file.truncate(to: start)
        state.segments[index].records -= unsynced.entries.count
        state.segments[index].liveBytes -= bytes
        if state.segments[index].liveBytes == 0 { state.segments[index].oldestUnixNano = nil }
        state.statistics.records -= unsynced.entries.count
        state.statistics.bytes -= bytes
        state.statistics.appended -= unsynced.entries.count
        state.statistics.oldestRecordUnixNano = state.segments.lazy.compactMap(\.oldestUnixNano).first
        for entry in unsynced.entries { results[entry.result] = .failure(error) }
    }

    private func dropOldestSegment(_ state: inout State) throws(QueueError) {
        if state.segments.count == 1 {
            try Self.openSegment(&state, directory: directory)
            // The only segment held nothing unacknowledged and is gone: there is room now.
            if state.segments.count == 1 { return }
        }
        let oldest = state.segments.removeFirst()
        if oldest.unacknowledged > 0 {
            logger.warning("""
                queue full (max_size \(configuration.maxBytes) bytes, when_full: drop_oldest): dropped the oldest \(oldest.unacknowledged) \
                unshipped batches (\(oldest.liveBytes) bytes) to make room; \(state.statistics.dropped + oldest.unacknowledged) dropped since start
                """)
        }
        state.statistics.dropped += oldest.unacknowledged
        state.statistics.records -= oldest.unacknowledged
        state.statistics.bytes -= oldest.liveBytes
        state.statistics.segmentFiles = state.segments.count
        Self.remove(oldest, directory: directory)
        if state.cursor.segment <= oldest.sequence { state.cursor = (state.segments[0].sequence, 0) }
        state.statistics.oldestRecordUnixNano = state.segments.lazy.compactMap(\.oldestUnixNano).first
    }

    /// With `fsync: interval`, flushes appends made since the last call. Earlier segments were
    /// synced when appends moved on from them, so only the one being written can need it.
    package func syncIfDirty() throws(QueueError) {
        // Under `fsync: always` every group syncs itself; `dirty` then only marks a group whose
        // sync is in progress outside the lock, and a second fdatasync could take its error.
        guard case .interval = configuration.fsync else { return }
        try state.withLock { (state: inout State) throws(QueueError) in
            guard state.dirty, let last = state.segments.last else { return }
            do { try last.file.sync() } catch { throw .io("\(error)") }
            state.dirty = false
        }
    }

    // MARK: - Shipping

    /// The next unshipped batch in queue order, or `nil` if none is waiting.
    package func take() -> (QueuedRecord, EncodedBatch)? {
        state.withLock { state in
            while let index = state.segments.firstIndex(where: { $0.sequence >= state.cursor.segment }) {
                let segment = state.segments[index]
                if state.cursor.segment != segment.sequence { state.cursor = (segment.sequence, 0) }
                guard let found = Self.nextIntactRecord(in: segment.file, from: state.cursor.offset, end: segment.visibleEnd) else {
                    if index == state.segments.count - 1 { return nil }
                    state.cursor = (state.segments[index + 1].sequence, 0)
                    continue
                }
                state.cursor.offset = found.offset + found.length
                if segment.acknowledged.contains(found.offset) { continue }
                let record = QueuedRecord(
                    segment: segment.sequence, offset: found.offset, length: found.length, enqueuedAtUnixNano: found.enqueuedAtUnixNano)
                return (record, found.decoded.batch)
            }
            return nil
        }
    }

    /// Marks a record delivered. A segment whose records are all delivered is deleted at once,
    /// or — while appends still go to it — as soon as appends move on to the next segment.
    package func acknowledge(_ record: QueuedRecord) {
        state.withLock { state in
            guard let index = state.segments.firstIndex(where: { $0.sequence == record.segment }),
                  !state.segments[index].acknowledged.contains(record.offset) else { return }
            state.segments[index].acknowledged.insert(record.offset)
            var entry = [UInt8]()
            for shift in stride(from: 0, to: 64, by: 8) { entry.append(UInt8(truncatingIfNeeded: UInt64(record.offset) >> UInt64(shift))) }
            try? state.segments[index].ackLog.append(entry)
            state.segments[index].liveBytes -= record.length
            state.statistics.records -= 1
            state.statistics.bytes -= record.length
            state.statistics.acknowledged += 1
            let isActive = index == state.segments.count - 1
            if state.segments[index].unacknowledged == 0 && !isActive {
                let segment = state.segments.remove(at: index)
                state.statistics.segmentFiles = state.segments.count
                Self.remove(segment, directory: directory)
            }
            if state.statistics.records == 0 {
                state.statistics.oldestRecordUnixNano = nil
            } else if record.enqueuedAtUnixNano == state.statistics.oldestRecordUnixNano {
                state.statistics.oldestRecordUnixNano = state.segments.lazy.compactMap(\.oldestUnixNano).first
            }
        }
    }

    package var statistics: QueueStatistics { state.withLock { $0.statistics } }
}
