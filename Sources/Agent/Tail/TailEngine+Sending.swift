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
        return await appendPatiently(batch, path: path) ? .queued : .shutdown
    }

    /// Appends, waiting out a full queue with backoff; false only on shutdown.
    nonisolated func appendPatiently(_ batch: EncodedBatch, path: String) async -> Bool {
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
