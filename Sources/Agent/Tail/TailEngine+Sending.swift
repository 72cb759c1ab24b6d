import Foundation
import Logging
import NIOPosix
import PeriscopeServer
import PeriscopeDelivery
import PeriscopeLogLines
import PeriscopeModel
import ServiceLifecycle

/// Sending: a file's records as batches to the queue, each range's checkpoint marked pending first.
extension TailEngine {
    /// A batch handed over and not yet confirmed: its pending mark and its append run off the
    /// actor while the next lines are read and encoded. One at a time, of the file being processed.
    struct InFlight {
        var delivery: Task<Delivery, Never>
        var end: UInt64
        /// Records of the file's buffer in the batch (at its front), and log records sent.
        var count: Int
        var items: Int
    }

    enum Delivery: Sendable { case queued, checkpointFailed, shutdown }

    /// Sends the complete records in slices; each slice is checkpointed as pending first and
    /// committed after the queue took it. Under back-pressure the same slice is retried. While
    /// one slice's pending mark and append wait for the disk, the next slice is encoded. With
    /// `fullBatchesOnly` (more lines are being read) a last slice short of a batch waits for
    /// them, and the last batch handed over stays in flight; otherwise every slice is confirmed.
    func send(_ file: TailedFile, upTo forcedEnd: UInt64?, asOneBatch: Bool, fullBatchesOnly: Bool = false) async {
        // Records read earlier wait in the round: when this call appends, they go first, so the
        // queue keeps the order they were read in. A file with nothing new leaves the round be.
        if !round.isEmpty, !file.records.isEmpty || forcedEnd != nil { await sendRound() }
        // Records at the front of the buffer that belong to the batch in flight.
        var handedOver = inFlight?.count ?? 0
        while handedOver < file.records.count {
            var count = file.records.count - handedOver
            if !asOneBatch {
                let batch = file.records.batch(from: handedOver, maxCount: Self.maxBatchRecords, maxBytes: Self.maxBatchBytes)
                if fullBatchesOnly, !batch.full { break }
                count = batch.count
            }
            let start = inFlight?.end ?? file.committed
            let end = forcedEnd ?? file.records[handedOver + count - 1].end
            let batch = encode(handedOver..<(handedOver + count), of: file)
            if let previous = inFlight {
                inFlight = nil
                guard await confirm(previous, of: file) else { return }
                handedOver -= previous.count
            }
            let pendingMark = checkpoint(pending: [file.identity: end])
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
    func confirm(_ batch: InFlight, of file: TailedFile) async -> Bool {
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
    nonisolated func deliver(_ batch: EncodedBatch?, after pendingMark: TailCheckpoints, path: String) async -> Delivery {
        guard await persist(pendingMark) else { return .checkpointFailed }
        guard let batch else { return .queued }
        return await appendPatiently([batch], what: path)[0] ? .queued : .shutdown
    }

    /// Appends in order, waiting out a full queue with backoff; whether each batch was queued
    /// (false only on shutdown). Batches refused are tried again, the queued ones are not.
    nonisolated func appendPatiently(_ batches: [EncodedBatch], what: String) async -> [Bool] {
        var queued = [Bool](repeating: false, count: batches.count)
        var waiting = Array(batches.indices)
        var delay = Duration.milliseconds(50)
        var paused = false
        while !waiting.isEmpty, !Task.isCancelled {
            if paused && Task.isShuttingDownGracefully { break }
            let outcomes = await sink.append(contentsOf: waiting.map { batches[$0] })
            var refused: [Int] = []
            var firstError: DeliveryError?
            for (index, outcome) in zip(waiting, outcomes) {
                switch outcome {
                case .success: queued[index] = true
                case .failure(let error):
                    refused.append(index)
                    if firstError == nil { firstError = error }
                }
            }
            waiting = refused
            guard let error = firstError else { break }
            if !paused {
                paused = true
                counters.update { $0.backPressurePauses += 1 }
                if case .queueFull = error {
                    logger.info("queue full: pausing \(what)")
                } else {
                    logger.warning("cannot queue lines of \(what): \(error); retrying")
                }
            }
            do { try await timeline.sleep(for: delay) } catch { break }
            delay = min(delay * 2, .seconds(2))
            await discoverWhilePaused()
        }
        return queued
    }

    /// While a full queue holds reading up, keeps opening new and rotated files: a file created
    /// and rotated away during the pause is then held open, and read when the queue has room,
    /// instead of being deleted by the rotation before the tailer ever saw it. A deleted file held
    /// keeps its disk space, so this stops at `maxHeldRotations` rotated-away files or
    /// `maxHeldDeletedBytes` of deleted ones (one look may open a few more); past that, what is
    /// rotated and deleted during the pause is lost, as it is while the agent is down.
    func discoverWhilePaused() {
        var held = 0
        var deletedBytes: UInt64 = 0
        for file in files.values where file.rotatedOut {
            held += 1
            if file.linkCount == 0 { deletedBytes += file.size() ?? 0 }
        }
        guard held < Self.maxHeldRotations, deletedBytes < Self.maxHeldDeletedBytes else {
            if !warnedHeldRotations {
                warnedHeldRotations = true
                logger.warning("""
                    queue full: \(held) rotated files are held open unread (\(deletedBytes) bytes of them deleted); new files are not \
                    opened until the queue has room, so rotations deleted meanwhile are lost
                    """)
            }
            return
        }
        warnedHeldRotations = false
        discover()
    }

    // MARK: - A round's small remainders, together

    /// Whether `file`'s records, read to the end of what it has for now, join the round's
    /// shared write instead of being sent on their own: they make one batch, nothing of the
    /// file is in flight or forced, and it is not a rotated-away file (sent at once, so that it
    /// can be released in the same round).
    func joinsRound(_ file: TailedFile) -> Bool {
        guard inFlight == nil, file.forcedEnd == nil, !file.rotatedOut, !file.records.isEmpty else { return false }
        return file.records.batch(from: 0, maxCount: Self.maxBatchRecords, maxBytes: Self.maxBatchBytes).count == file.records.count
    }

    /// Adds `file` to the round's shared write; sends the round once it holds `maxRoundBytes`
    /// or `maxRoundFiles`, so what waits for it stays bounded.
    func join(_ file: TailedFile) async {
        round.append(file)
        roundBytes += Int(file.records[file.records.count - 1].end - file.records[0].start)
        if roundBytes >= Self.maxRoundBytes || round.count >= Self.maxRoundFiles { await sendRound() }
    }

    /// One file's part of a round's write.
    private struct RoundPart {
        var file: TailedFile
        var end: UInt64
        var count: Int
        var items: Int
        var batch: EncodedBatch?
    }

    /// Sends the records of the files that joined the round: one checkpoint write marks every
    /// range pending, one queue write appends every batch (in the files' order, each under its
    /// own range's ID, exactly as `send` would), then each range is committed. Many files that
    /// each gained a few lines cost three syncs a round instead of two per file. A file alone
    /// is sent as `send` sends it.
    func sendRound() async {
        let members = round
        (round, roundBytes) = ([], 0)
        guard members.count > 1, inFlight == nil else {
            for file in members { await send(file, upTo: nil, asOneBatch: false) }
            return
        }
        var parts: [RoundPart] = []
        for file in members where files[file.identity] === file && file.forcedEnd == nil && !file.records.isEmpty {
            let count = file.records.count
            let (start, end) = (file.committed, file.records[count - 1].end)
            let batch = encode(0..<count, of: file)
            let encoded = batch.itemCount > 0
                ? EncodedBatch(id: "tail-\(file.tag)-\(start)-\(end)", signal: .logs, itemCount: batch.itemCount, body: batch.body) : nil
            parts.append(RoundPart(file: file, end: end, count: count, items: batch.itemCount, batch: encoded))
        }
        guard !parts.isEmpty else { return }
        let pendingMark = checkpoint(pending: Dictionary(parts.map { ($0.file.identity, $0.end) }, uniquingKeysWith: max))
        let batches = parts.compactMap(\.batch)
        let queued = await deliverRound(batches, after: pendingMark, files: parts.count)
        guard let queued else {
            // Without a pending mark a crash could duplicate the ranges: do not send them yet.
            dirty = true
            try? await timeline.sleep(for: .seconds(1))
            return
        }
        var next = 0
        for part in parts {
            var isQueued = true
            if part.batch != nil {
                isQueued = queued[next]
                next += 1
            }
            guard isQueued else {
                // Shutdown first: the range stays pending, to be re-sent under the same ID.
                part.file.forcedEnd = part.end
                continue
            }
            part.file.committed = part.end
            part.file.records.removeFirst(part.count)
            counters.update { $0.recordsSent += part.items }
        }
        dirty = true
    }

    /// Off the actor: writes the round's pending marks, then appends its batches; nil when the
    /// marks could not be written, else whether each batch was queued.
    private nonisolated func deliverRound(_ batches: [EncodedBatch], after pendingMark: TailCheckpoints, files: Int) async -> [Bool]? {
        guard await persist(pendingMark) else { return nil }
        return await appendPatiently(batches, what: "\(files) files")
    }

    /// Parses, redacts and encodes `range` of `file`'s records, counting what went wrong.
    func encode(_ range: Range<Int>, of file: TailedFile) -> TailBatchEncoder.Batch {
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
}
