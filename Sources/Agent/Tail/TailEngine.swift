import Foundation
import Logging
import NIOPosix
import PeriscopeServer
import PeriscopeDelivery
import PeriscopeLogLines
import PeriscopeModel
import ServiceLifecycle

/// Follows the files of every `tail:` source and hands their records to the queue.
///
/// Each `poll()` expands the globs, notices new, rotated, truncated and deleted files, reads
/// what was appended, parses and redacts it, and appends it to the queue one range at a time.
/// A range's checkpoint is written before the append (as pending) and advanced after it, and
/// the batch ID is derived from the range — see `TailCheckpoints`.
actor TailEngine {
    /// The tailer's own thread: `stat`, `open`, `pread` and `readdir` block, and Swift's
    /// cooperative pool (one thread per core) must stay free for the receiver and the shipper.
    private static let thread = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()
    nonisolated var unownedExecutor: UnownedSerialExecutor { Self.thread.executor.asUnownedSerialExecutor() }

    let sources: [TailSource]
    let checkpointPath: String
    let sink: any TailBatchSink
    let redactor: Redactor
    let counters: TailCounters
    let logger: Logger
    /// Most bytes read from one file in one poll (`maxBytesPerPoll` but in tests).
    let bytesPerPoll: Int
    private let matchers: [GlobMatcher]
    private let parsers: [LogLineParser]
    private let resources: [Resource]
    /// Drives rotation grace and waits; injected so tests advance time instead of sleeping.
    let timeline: Timeline

    private var files: [FileIdentity: TailedFile] = [:]
    /// Checkpoint entries not yet matched to an open file (only right after a restart).
    private var savedEntries: [FileIdentity: TailCheckpoints.Entry] = [:]
    private var startedSources: Set<String>
    /// Files whose first bytes equal a followed file's, with their size: copies (copytruncate),
    /// read only if the original is truncated. A "copy" that grows was not one and is followed.
    private var ignoredCopies: [FileIdentity: UInt64] = [:]
    private var polls = 0
    /// Wall-clock time of the previous discovery (or of the checkpoint, after a restart): rotated
    /// files modified since then that the tailer does not know were written while it was not looking.
    private var lastDiscoveryUnixNano: UInt64?
    /// Streams read to their end (released files, truncated content), oldest first, persisted in
    /// the checkpoint: a copy or a late-growing rotation of one is never read from its start again.
    private var finished: [TailCheckpoints.FinishedStream] = []
    private var dirty = false
    /// The batch handed to the queue and not yet confirmed, of the file being processed.
    private var inFlight: InFlight?
    private var readBuffer = [UInt8](repeating: 0, count: TailEngine.readChunk)
    private var encoder = TailBatchEncoder()
    private let timeBounds: LogTimeBounds

    /// Most records and bytes in one batch.
    static let maxBatchRecords = 4096
    static let maxBatchBytes = 2 << 20
    /// Bytes read at once: large enough that reads cost little, small enough to stay out of the way in RSS.
    static let readChunk = 256 << 10
    /// Most bytes read from one file in one poll, so one busy file cannot starve the others.
    static let maxBytesPerPoll = 32 << 20
    /// How long a file that was renamed away or deleted is still watched after its last growth.
    static let rotatedGrace: Duration = .seconds(2)
    /// Slack for the file system's coarse timestamps when comparing a file's mtime with a discovery.
    static let modificationSlackNanos: UInt64 = 1_000_000_000
    /// How many finished streams are remembered, and for how long.
    static let finishedMemory = 256
    static let finishedLifetimeNanos: UInt64 = 24 * 3600 * 1_000_000_000

    init(sources: [TailSource], redactor: Redactor, defaultService: String?, checkpointPath: String,
         sink: any TailBatchSink, counters: TailCounters = TailCounters(), bytesPerPoll: Int = TailEngine.maxBytesPerPoll,
         timeBounds: LogTimeBounds = LogTimeBounds(), timeline: Timeline = .continuous, logger: Logger) throws {
        self.sources = sources
        self.timeline = timeline
        self.timeBounds = timeBounds
        self.bytesPerPoll = bytesPerPoll
        self.redactor = redactor
        self.checkpointPath = checkpointPath
        self.sink = sink
        self.counters = counters
        self.logger = logger
        matchers = sources.map { GlobMatcher(include: $0.include, exclude: $0.exclude) }
        parsers = sources.map { LogLineParser(format: $0.format, pattern: $0.pattern) }
        let host = ProcessInfo.processInfo.hostName
        resources = sources.map { Resource(serviceName: $0.service ?? defaultService ?? "unknown_service", hostName: host) }
        let loaded = try TailCheckpoints.load(checkpointPath)
        for entry in loaded.files { savedEntries[entry.identity] = entry }
        startedSources = Set(loaded.startedSources)
        lastDiscoveryUnixNano = loaded.savedAtUnixNano
        finished = loaded.finished
    }

    var statistics: TailStatistics {
        var snapshot = counters.snapshot
        snapshot.filesWatched = files.count
        snapshot.redactions = redactor.totalRedactions
        return snapshot
    }

    /// Paths of the files followed now.
    var watchedPaths: [String] { files.values.map(\.path).sorted() }

    /// One round: discover, read, send. Returns when everything read so far is queued (or
    /// shutdown): true when a file has more to read than one round reads, so the next round
    /// should start at once.
    @discardableResult
    func poll() async -> Bool {
        polls += 1
        discover()
        // Rotated-away files first: the old file is finished before the new one.
        let ordered = files.values.sorted { ($0.rotatedOut ? 0 : 1, $0.path) < ($1.rotatedOut ? 0 : 1, $1.path) }
        var behind = false
        for file in ordered {
            guard !Task.isCancelled else { break }
            if await process(file) { behind = true }
        }
        let watched = files.count
        let redactions = redactor.totalRedactions
        counters.update {
            $0.filesWatched = watched
            $0.redactions = redactions
        }
        if dirty { await saveCheckpoints() }
        return behind
    }

    /// Closes every file (on shutdown); checkpoints stay as they are.
    func close() async {
        if dirty { await saveCheckpoints() }
        for file in files.values { file.close() }
        files = [:]
    }

    // MARK: - Discovery

    private func discover() {
        let startedAt = WallClock.nowUnixNano()
        var rotatedPaths: [String: Int] = [:]
        var globbed = Set<String>()
        var seen = Set<FileIdentity>()
        var fresh: [(path: String, identity: FileIdentity, source: Int)] = []
        var outgrown: Set<FileIdentity> = []
        var resumed: [(path: String, identity: FileIdentity, source: Int)] = []
        for (index, matcher) in matchers.enumerated() {
            for path in matcher.paths() {
                globbed.insert(path)
                var info = stat()
                guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                let identity = FileIdentity(info)
                guard seen.insert(identity).inserted else { continue }
                if let file = files[identity] {
                    file.path = path
                    file.rotatedOut = false
                } else if let copySize = ignoredCopies[identity] {
                    // A copy does not outgrow its original; a file that does was never a copy.
                    let size = UInt64(info.st_size)
                    guard size > copySize else { continue }
                    ignoredCopies[identity] = size
                    guard outgrowsItsOriginal(path, size: size) else { continue }
                    ignoredCopies[identity] = nil
                    outgrown.insert(identity)
                    fresh.append((path, identity, index))
                } else if savedEntries[identity] != nil {
                    resumed.append((path, identity, index))
                } else {
                    fresh.append((path, identity, index))
                    rotatedPaths[path] = index
                }
            }
        }
        ignoredCopies = ignoredCopies.filter { seen.contains($0.key) }
        for file in files.values where !seen.contains(file.identity) && !file.rotatedOut {
            file.rotatedOut = true
            rotatedPaths[file.path] = file.sourceIndex
            counters.update { $0.rotations += 1 }
        }
        if polls == 1 {
            for entry in savedEntries.values {
                if let index = sources.firstIndex(where: { $0.key == entry.source }) { rotatedPaths[entry.path] = index }
            }
        }
        // Files with a checkpoint first, so that a copy is recognised as one.
        for item in resumed { open(item.path, identity: item.identity, sourceIndex: item.source) }
        if polls == 1 { recoverRotatedAway() }
        for item in fresh { open(item.path, identity: item.identity, sourceIndex: item.source, mayBeCopy: !outgrown.contains(item.identity)) }
        if let since = lastDiscoveryUnixNano, !rotatedPaths.isEmpty { adoptUnwatchedRotations(of: rotatedPaths, since: since, globbed: globbed) }
        if polls == 1 { savedEntries = [:] }
        lastDiscoveryUnixNano = startedAt
        let newlyStarted = sources.map(\.key).filter { !startedSources.contains($0) }
        if !newlyStarted.isEmpty {
            startedSources.formUnion(newlyStarted)
            dirty = true
        }
    }

    /// After a restart: a checkpointed file no glob matches any more was renamed by a rotation
    /// while the agent was down — find it by inode in its directory and read it to its end.
    private func recoverRotatedAway() {
        for entry in savedEntries.values {
            guard files[entry.identity] == nil, let sourceIndex = sources.firstIndex(where: { $0.key == entry.source }) else { continue }
            let directory = (entry.path as NSString).deletingLastPathComponent
            guard let found = Self.findFile(in: directory, where: { identity, _ in identity == entry.identity }),
                  entry.fingerprint.matches(fd: found.fd) else { continue }
            let file = TailedFile(
                identity: entry.identity, sourceIndex: sourceIndex, path: found.path, fd: found.fd, fingerprint: entry.fingerprint,
                tag: entry.tag, offset: entry.offset, forcedEnd: entry.pendingEnd, source: sources[sourceIndex], now: timeline.now)
            file.rotatedOut = true
            files[entry.identity] = file
            savedEntries[entry.identity] = nil
            logger.debug("resuming rotated file \(found.path) at \(entry.offset)")
        }
    }

    /// After a rotation: a file renamed to a rotation of a followed path that the tailer never
    /// saw (created and rotated away between two looks, or while the agent was down) is read from
    /// its start; a released file that grew since is read from where it ended. Copies are not.
    private func adoptUnwatchedRotations(of paths: [String: Int], since: UInt64, globbed: Set<String>) {
        let threshold = since > Self.modificationSlackNanos ? since - Self.modificationSlackNanos : 0
        for (path, sourceIndex) in paths.sorted(by: { $0.key < $1.key }) {
            for sibling in RotatedSiblings.of(path) where !globbed.contains(sibling) {
                var info = stat()
                guard stat(sibling, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                let identity = FileIdentity(info)
                guard files[identity] == nil, savedEntries[identity] == nil, ignoredCopies[identity] == nil else { continue }
                let size = UInt64(info.st_size)
                let modified = UInt64(info.st_mtim.tv_sec) * 1_000_000_000 + UInt64(info.st_mtim.tv_nsec)
                let fd = Glibc.open(sibling, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { continue }
                var start: UInt64 = 0
                var tag = Self.newTag()
                var fingerprint = FileFingerprint.read(fd: fd) ?? .empty
                if let done = finishedStream(continuedBy: identity, fd: fd) {
                    guard size > done.end else {
                        Glibc.close(fd)
                        continue
                    }
                    (start, tag, fingerprint) = (done.end, done.tag, done.fingerprint)
                } else if modified < threshold || isCopyOfFollowedFile(fd) {
                    Glibc.close(fd)
                    continue
                }
                let file = TailedFile(
                    identity: identity, sourceIndex: sourceIndex, path: sibling, fd: fd, fingerprint: fingerprint,
                    tag: tag, offset: start, forcedEnd: nil, source: sources[sourceIndex], now: timeline.now)
                file.rotatedOut = true
                files[identity] = file
                finished.removeAll { $0.tag == tag }
                dirty = true
                logger.info("reading \(sibling) from \(start): rotated while it was not watched")
            }
        }
    }

    private func open(_ path: String, identity: FileIdentity, sourceIndex: Int, mayBeCopy: Bool = true) {
        let source = sources[sourceIndex]
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var info = stat()
        guard fstat(fd, &info) == 0, FileIdentity(info) == identity else {
            Glibc.close(fd)
            return
        }
        let size = UInt64(info.st_size)
        let fingerprint = FileFingerprint.read(fd: fd) ?? .empty
        let now = timeline.now
        if let entry = savedEntries.removeValue(forKey: identity) {
            let resumeEnd = entry.pendingEnd ?? entry.offset
            if size >= resumeEnd, entry.fingerprint.matches(fd: fd) {
                files[identity] = TailedFile(
                    identity: identity, sourceIndex: sourceIndex, path: path, fd: fd, fingerprint: entry.fingerprint,
                    tag: entry.tag, offset: entry.offset, forcedEnd: entry.pendingEnd, source: source, now: now)
                return
            }
            // Inode reused, or truncated while the agent was down: a copy may hold the rest.
            counters.update { $0.truncations += 1 }
            let directory = (path as NSString).deletingLastPathComponent
            if let copy = Self.findCopy(in: directory, of: entry.fingerprint, minSize: resumeEnd, excluding: identity),
               files[copy.identity] == nil {
                let rescued = TailedFile(
                    identity: copy.identity, sourceIndex: sourceIndex, path: copy.path, fd: copy.fd, fingerprint: entry.fingerprint,
                    tag: entry.tag, offset: entry.offset, forcedEnd: entry.pendingEnd, source: source, now: now)
                rescued.rotatedOut = true
                files[copy.identity] = rescued
                ignoredCopies[copy.identity] = nil
            } else {
                remember(identity: identity, fingerprint: entry.fingerprint, tag: entry.tag, end: resumeEnd)
            }
            files[identity] = TailedFile(
                identity: identity, sourceIndex: sourceIndex, path: path, fd: fd, fingerprint: fingerprint,
                tag: Self.newTag(), offset: 0, forcedEnd: nil, source: source, now: now)
            dirty = true
            return
        }
        if let done = finishedStream(continuedBy: identity, fd: fd) {
            // A copy (or a rotation) of a stream already read: only what lies past its end is new.
            guard size > done.end else {
                ignoredCopies[identity] = size
                Glibc.close(fd)
                return
            }
            files[identity] = TailedFile(
                identity: identity, sourceIndex: sourceIndex, path: path, fd: fd, fingerprint: done.fingerprint,
                tag: done.tag, offset: done.end, forcedEnd: nil, source: source, now: now)
            finished.removeAll { $0.tag == done.tag }
            dirty = true
            logger.debug("tailing \(path) from \(done.end): it continues a stream already read")
            return
        }
        if mayBeCopy, isCopyOfFollowedFile(fd) {
            ignoredCopies[identity] = size
            Glibc.close(fd)
            return
        }
        let firstPoll = !startedSources.contains(source.key)
        let start: UInt64 = firstPoll && source.startAt == .end ? size : 0
        files[identity] = TailedFile(
            identity: identity, sourceIndex: sourceIndex, path: path, fd: fd, fingerprint: fingerprint,
            tag: Self.newTag(), offset: start, forcedEnd: nil, source: source, now: now)
        dirty = true
        logger.debug("tailing \(path) from \(start)")
    }

    /// Records a stream read to `end` and let go of (see `TailCheckpoints.FinishedStream`).
    private func remember(identity: FileIdentity, fingerprint: FileFingerprint, tag: String, end: UInt64) {
        let now = WallClock.nowUnixNano()
        finished.removeAll { $0.tag == tag || now - min(now, $0.finishedAtUnixNano) > Self.finishedLifetimeNanos }
        if finished.count >= Self.finishedMemory { finished.removeFirst(finished.count - Self.finishedMemory + 1) }
        finished.append(.init(identity: identity, fingerprint: fingerprint, tag: tag, end: end, finishedAtUnixNano: now))
        dirty = true
    }

    /// The most recent finished stream that the open file `fd` continues, if any.
    private func finishedStream(continuedBy identity: FileIdentity, fd: Int32) -> TailCheckpoints.FinishedStream? {
        finished.last { $0.isContinued(by: identity, fd: fd) }
    }

    private func isCopyOfFollowedFile(_ fd: Int32) -> Bool {
        let fingerprints = files.values.map(\.fingerprint) + savedEntries.values.map(\.fingerprint)
        for fingerprint in fingerprints where fingerprint.length > 0 {
            if FileFingerprint.read(fd: fd, length: fingerprint.length) == fingerprint { return true }
        }
        return false
    }

    /// True when the supposed copy at `path` is now larger than every followed file it starts like.
    private func outgrowsItsOriginal(_ path: String, size: UInt64) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        for file in files.values where file.fingerprint.length > 0 && FileFingerprint.read(fd: fd, length: file.fingerprint.length) == file.fingerprint {
            if size <= file.size() ?? 0 { return false }
        }
        return true
    }

    // MARK: - Reading

    /// Reads what `file` gained, up to the per-poll budget, and queues it; true when the budget
    /// ran out before the end of the file.
    private func process(_ file: TailedFile) async -> Bool {
        let source = sources[file.sourceIndex]
        guard let size = file.size() else { return false }
        let fingerprintIntact = file.fingerprint.length == 0 || (size >= UInt64(file.fingerprint.length) && file.fingerprint.matches(fd: file.fd))
        if size < file.readOffset || !fingerprintIntact || (file.forcedEnd.map { size < $0 } ?? false) {
            if let copy = await truncated(file, source: source) {
                // The copy continues the old stream: finish it before the file starts over.
                _ = await process(copy)
            }
            guard !Task.isCancelled else { return false }
        }
        if file.fingerprint.length < FileFingerprint.maxLength, size > UInt64(file.fingerprint.length),
           let grown = FileFingerprint.read(fd: file.fd) {
            file.fingerprint = grown
            dirty = true
        }
        var budget = bytesPerPoll
        let now = timeline.now
        while budget > 0, !Task.isCancelled {
            let limit = file.forcedEnd ?? size
            guard file.readOffset < limit else { break }
            let wanted = Int(min(UInt64(Self.readChunk), limit - file.readOffset))
            var lineCount = 0
            let count = readBuffer.withUnsafeMutableBytes { raw -> Int in
                let count = file.read(at: file.readOffset, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<wanted]))
                if count > 0 { lineCount = file.ingest(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
                return count
            }
            guard count > 0 else { break }
            file.readOffset += UInt64(count)
            file.lastGrowth = now
            budget -= count
            counters.update {
                $0.bytesRead += count
                $0.linesRead += lineCount
            }
            if let forcedEnd = file.forcedEnd, file.readOffset >= forcedEnd {
                // Re-send exactly the range the checkpoint had pending, as one batch under its ID.
                file.flushPartialLine()
                file.assembler.flush(into: &file.records)
                await send(file, upTo: forcedEnd, asOneBatch: true)
                // Not confirmed (shutdown): the range stays pending in the checkpoint.
                guard file.committed >= forcedEnd else { return false }
                file.forcedEnd = nil
            } else if file.forcedEnd == nil, hasFullBatch(file) {
                // Sent while the next lines are read: confirmed by a later send or at the end of this round.
                await send(file, upTo: nil, asOneBatch: false, fullBatchesOnly: true)
            }
        }
        if let forcedEnd = file.forcedEnd {
            // The pending range could not be re-sent last time (checkpoint write failed): retry it alone.
            guard file.readOffset >= forcedEnd else { return false }
            await send(file, upTo: forcedEnd, asOneBatch: true)
            guard file.committed >= forcedEnd else { return false }
            file.forcedEnd = nil
        }
        let idle = now - file.lastGrowth
        if file.splitter.hasPartialLine, idle >= source.partialLineTimeout, file.flushPartialLine() {
            counters.update { $0.linesRead += 1 }
        }
        if file.assembler.openStart != nil, idle >= (source.multiline?.timeout ?? .zero) {
            file.assembler.flush(into: &file.records)
        }
        await send(file, upTo: nil, asOneBatch: false)
        if file.rotatedOut, file.isDrained, file.readOffset >= size, file.linkCount == 0 || idle >= Self.rotatedGrace {
            release(file)
            return false
        }
        // The per-poll budget ran out before the end: there is more to read at once.
        return budget <= 0 && file.readOffset < size
    }

    /// Records not handed over yet make a whole batch.
    private func hasFullBatch(_ file: TailedFile) -> Bool {
        let first = inFlight?.count ?? 0
        guard first < file.records.count else { return false }
        return file.records.count - first >= Self.maxBatchRecords
            || Int(file.records[file.records.count - 1].end - file.records[first].start) >= Self.maxBatchBytes
    }

    /// The file is shorter than what was read, or its first bytes changed: copytruncate, a
    /// truncation, or a new file under a reused inode. A copy in the same directory whose first
    /// bytes equal the old content continues the stream; the file itself restarts at 0.
    private func truncated(_ file: TailedFile, source: TailSource) async -> TailedFile? {
        var rescuedFile: TailedFile?
        counters.update { $0.truncations += 1 }
        let directory = (file.path as NSString).deletingLastPathComponent
        if file.fingerprint.length > 0,
           let copy = Self.findCopy(in: directory, of: file.fingerprint, minSize: max(file.readOffset, file.forcedEnd ?? 0), excluding: file.identity),
           files[copy.identity] == nil {
            let rescued = TailedFile(
                identity: copy.identity, sourceIndex: file.sourceIndex, path: copy.path, fd: copy.fd, fingerprint: file.fingerprint,
                tag: file.tag, offset: 0, forcedEnd: nil, source: source, now: timeline.now)
            rescued.adoptStream(of: file)
            rescued.rotatedOut = true
            files[copy.identity] = rescued
            ignoredCopies[copy.identity] = nil
            rescuedFile = rescued
            logger.debug("\(file.path) truncated; continuing from its copy \(copy.path) at \(file.readOffset)")
        } else if file.forcedEnd == nil {
            // No copy: what was read before the truncation is still real data.
            file.flushPartialLine()
            file.assembler.flush(into: &file.records)
            await send(file, upTo: nil, asOneBatch: false)
            if file.forcedEnd != nil { return nil }
            // A copy shorter than what was read may appear among the rotations: it is this stream.
            remember(identity: file.identity, fingerprint: file.fingerprint, tag: file.tag, end: file.readOffset)
        }
        file.reset(to: 0, tag: Self.newTag(), source: source, fingerprint: FileFingerprint.read(fd: file.fd) ?? .empty)
        dirty = true
        return rescuedFile
    }

    private func release(_ file: TailedFile) {
        remember(identity: file.identity, fingerprint: file.fingerprint, tag: file.tag, end: file.readOffset)
        file.close()
        files[file.identity] = nil
        dirty = true
        logger.debug("released \(file.path)")
    }

    // MARK: - Sending

    /// A batch handed over and not yet confirmed: its pending mark and its append run off the
    /// actor while the next lines are read and encoded. One at a time, of the file being processed.
    private struct InFlight {
        var delivery: Task<Delivery, Never>
        var end: UInt64
        /// Records of the file's buffer in the batch (at its front), and log records sent.
        var count: Int
        var items: Int
    }

    private enum Delivery: Sendable { case queued, checkpointFailed, shutdown }

    /// Sends the complete records in slices; each slice is checkpointed as pending first and
    /// committed after the queue took it. Under back-pressure the same slice is retried. While
    /// one slice's pending mark and append wait for the disk, the next slice is encoded. With
    /// `fullBatchesOnly` (more lines are being read) a last slice short of a batch waits for
    /// them, and the last batch handed over stays in flight; otherwise every slice is confirmed.
    private func send(_ file: TailedFile, upTo forcedEnd: UInt64?, asOneBatch: Bool, fullBatchesOnly: Bool = false) async {
        // Records at the front of the buffer that belong to the batch in flight.
        var handedOver = inFlight?.count ?? 0
        while handedOver < file.records.count {
            var count = 0
            var bytes = 0
            if asOneBatch {
                count = file.records.count - handedOver
            } else {
                while handedOver + count < file.records.count, count < Self.maxBatchRecords, bytes < Self.maxBatchBytes {
                    bytes += file.records[handedOver + count].textCount
                    count += 1
                }
                if fullBatchesOnly, count < Self.maxBatchRecords, bytes < Self.maxBatchBytes { break }
            }
            let start = inFlight?.end ?? file.committed
            let end = forcedEnd ?? file.records[handedOver + count - 1].end
            let batch = encode(handedOver..<(handedOver + count), of: file)
            if let previous = inFlight {
                inFlight = nil
                guard await confirm(previous, of: file) else { return }
                handedOver -= previous.count
            }
            let pendingMark = checkpoint(sending: file, end: end)
            let encoded = batch.itemCount > 0
                ? EncodedBatch(id: "tail-\(file.tag)-\(start)-\(end)", signal: .logs, itemCount: batch.itemCount, body: batch.body) : nil
            let path = file.path
            inFlight = InFlight(delivery: Task { await self.deliver(encoded, after: pendingMark, path: path) }, end: end, count: count, items: batch.itemCount)
            handedOver += count
        }
        if fullBatchesOnly { return }
        if let previous = inFlight {
            inFlight = nil
            guard await confirm(previous, of: file) else { return }
        }
        if let forcedEnd { file.committed = max(file.committed, forcedEnd) }
        if file.records.isEmpty, file.assembler.openStart == nil, !file.splitter.hasPartialLine, file.committed < file.readOffset {
            // Only blank lines were left: nothing to send, but they are done.
            file.committed = file.readOffset
            dirty = true
        }
    }

    /// Waits for a batch handed over; commits it if the queue has it. False when sending must
    /// stop: the pending mark could not be written, or shutdown came first (the range then
    /// stays pending in the checkpoint, to be re-sent under the same ID).
    private func confirm(_ batch: InFlight, of file: TailedFile) async -> Bool {
        let delivery = await withTaskCancellationHandler { await batch.delivery.value } onCancel: { batch.delivery.cancel() }
        switch delivery {
        case .queued:
            file.committed = batch.end
            file.records.removeFirst(batch.count)
            dirty = true
            counters.update { $0.recordsSent += batch.items }
            return true
        case .checkpointFailed:
            dirty = true
            // Without a pending mark a crash could duplicate the range: do not send it yet.
            try? await timeline.sleep(for: .seconds(1))
            return false
        case .shutdown:
            file.forcedEnd = batch.end
            return false
        }
    }

    /// Off the actor: writes the pending mark, then appends the batch (nil: only blank lines).
    private nonisolated func deliver(_ batch: EncodedBatch?, after pendingMark: TailCheckpoints, path: String) async -> Delivery {
        guard await persist(pendingMark) else { return .checkpointFailed }
        guard let batch else { return .queued }
        return await appendPatiently(batch, path: path) ? .queued : .shutdown
    }

    /// Appends, waiting out a full queue with backoff; false only on shutdown.
    private nonisolated func appendPatiently(_ batch: EncodedBatch, path: String) async -> Bool {
        var delay = Duration.milliseconds(50)
        var paused = false
        while !Task.isCancelled {
            do {
                if paused && Task.isShuttingDownGracefully { return false }
                try await sink.append(batch)
                return true
            } catch {
                if !paused {
                    paused = true
                    counters.update { $0.backPressurePauses += 1 }
                    if case .queueFull = error {
                        logger.info("queue full: pausing \(path)")
                    } else {
                        logger.warning("cannot queue lines of \(path): \(error); retrying")
                    }
                }
                do { try await timeline.sleep(for: delay) } catch { return false }
                delay = min(delay * 2, .seconds(2))
            }
        }
        return false
    }

    /// Parses, redacts and encodes `range` of `file`'s records, counting what went wrong.
    private func encode(_ range: Range<Int>, of file: TailedFile) -> TailBatchEncoder.Batch {
        let batch = encoder.encode(
            file.records, range: range, parser: parsers[file.sourceIndex], resource: resources[file.sourceIndex], path: file.path,
            fileName: (file.path as NSString).lastPathComponent, redactor: redactor, timeBounds: timeBounds)
        counters.update {
            $0.unusableTimes += batch.unusableTimes
            $0.parseFailures += batch.parseFailures
            $0.truncatedLines += batch.truncatedLines
            $0.invalidUTF8Lines += batch.invalidUTF8Lines
        }
        return batch
    }

    // MARK: - Checkpoints

    /// The state to persist: every file's committed offset, and `sending`'s range up to `end`
    /// as pending. Whatever changes after this makes the state dirty again.
    private func checkpoint(sending: TailedFile?, end: UInt64) -> TailCheckpoints {
        var document = TailCheckpoints()
        document.startedSources = startedSources.sorted()
        document.savedAtUnixNano = WallClock.nowUnixNano()
        document.finished = finished
        for file in files.values {
            var pending = file.forcedEnd
            if let sending, sending === file { pending = end }
            document.files.append(TailCheckpoints.Entry(
                identity: file.identity, fingerprint: file.fingerprint, tag: file.tag, path: file.path,
                source: sources[file.sourceIndex].key, offset: file.committed, pendingEnd: pending))
        }
        // Entries not matched yet (first poll after a restart) are kept.
        document.files += savedEntries.values
        document.files.sort { ($0.path, $0.identity.inode) < ($1.path, $1.identity.inode) }
        dirty = false
        return document
    }

    /// Persists the current state (no range pending but a forced one).
    private func saveCheckpoints() async {
        if await !persist(checkpoint(sending: nil, end: 0)) { dirty = true }
    }

    /// Writes a checkpoint on the thread pool (it fsyncs), never on the actor's thread.
    private nonisolated func persist(_ document: TailCheckpoints) async -> Bool {
        let path = checkpointPath
        do {
            try await BlockingIO.run { try document.save(path) }
            return true
        } catch {
            logger.error("cannot write tail checkpoints: \(error)")
            return false
        }
    }

    // MARK: - Helpers

    static func newTag() -> String { String(UInt64.random(in: 1...UInt64.max), radix: 36) }

    struct FoundFile {
        var path: String
        var identity: FileIdentity
        var fd: Int32
        var size: UInt64
    }

    /// The largest file in `directory` whose first bytes have `fingerprint` (a copytruncate copy).
    static func findCopy(in directory: String, of fingerprint: FileFingerprint, minSize: UInt64, excluding: FileIdentity) -> FoundFile? {
        guard fingerprint.length > 0 else { return nil }
        var best: FoundFile?
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let identity = FileIdentity(info)
            let size = UInt64(info.st_size)
            guard identity != excluding, size >= minSize, size >= UInt64(fingerprint.length), size > best?.size ?? 0 || best == nil else { continue }
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if fingerprint.matches(fd: fd) {
                if let previous = best { Glibc.close(previous.fd) }
                best = FoundFile(path: path, identity: identity, fd: fd, size: size)
            } else {
                Glibc.close(fd)
            }
        }
        return best
    }

    static func findFile(in directory: String, where matches: (FileIdentity, String) -> Bool) -> FoundFile? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, matches(FileIdentity(info), path) else { continue }
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            return FoundFile(path: path, identity: FileIdentity(info), fd: fd, size: UInt64(info.st_size))
        }
        return nil
    }
}
