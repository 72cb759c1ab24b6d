import Foundation
import Logging
import NIOPosix
import PeriscopeServer
import PeriscopeDelivery
import PeriscopeLogLines
import PeriscopeModel
import ServiceLifecycle

/// Reading: what each followed file gained since the last round, truncation, release at the end.
extension TailEngine {
    /// Reads what `file` gained, up to the per-poll budget, and queues it; true when the budget
    /// ran out before the end of the file.
    func process(_ file: TailedFile) async -> Bool {
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
        if joinsRound(file) {
            await join(file)
        } else {
            await send(file, upTo: nil, asOneBatch: false)
        }
        // The size is read again: the file may have been rotated away while this round waited on a full queue.
        // A deleted file gets the same grace as a renamed one: its writer may still hold it and write on.
        if file.rotatedOut, file.isDrained, file.readOffset >= file.size() ?? size, idle >= Self.rotatedGrace {
            release(file)
            return false
        }
        // The per-poll budget ran out before the end: there is more to read at once.
        return budget <= 0 && file.readOffset < size
    }

    /// Records not handed over yet make a whole batch.
    func hasFullBatch(_ file: TailedFile) -> Bool {
        let first = inFlight?.count ?? 0
        guard first < file.records.count else { return false }
        return file.records.count - first >= Self.maxBatchRecords
            || Int(file.records[file.records.count - 1].end - file.records[first].start) >= Self.maxBatchBytes
    }

    /// The file is shorter than what was read, or its first bytes changed: copytruncate, a
    /// truncation, or a new file under a reused inode. A copy in the same directory whose first
    /// bytes equal the old content continues the stream; the file itself restarts at 0.
    func truncated(_ file: TailedFile, source: TailSource) async -> TailedFile? {
        var rescuedFile: TailedFile?
        counters.update { $0.truncations += 1 }
        if file.fingerprint.length > 0,
           let copy = Self.findCopy(
               in: LinkTarget.directories(of: file.path), of: file.fingerprint, minSize: max(file.readOffset, file.forcedEnd ?? 0),
               excluding: knownIdentities) {
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

    func release(_ file: TailedFile) {
        remember(identity: file.identity, fingerprint: file.fingerprint, tag: file.tag, end: file.readOffset)
        file.close()
        files[file.identity] = nil
        dirty = true
        logger.debug("released \(file.path)")
    }
}
