import PeriscopeServer
import PeriscopeDelivery
import PeriscopeDiskQueue
import PeriscopeModel
import PeriscopeOTLP

/// The one way into the durable queue, by group commit. A request is answered as soon as the
/// write holding it is durable: when no write is in progress, the request's own write starts
/// at once; while one is, requests gather, and the next write takes all of them with one
/// `fdatasync`. At rest latency is one append and one sync; under load batches grow by
/// themselves, up to `maxItems` / `maxBytes` per batch.
///
/// There is no background task: the first request to find no write in progress leads, writes
/// the group gathered so far, answers everyone in it, and hands the lead to the first request
/// that arrived during its write. So every request takes part in at most one write.
///
/// OTLP requests of one signal are joined into one batch by concatenating their protobufs
/// (repeated fields merge, so joining costs no re-encoding): small requests are compressed
/// together at the write, large ones (`BatchCompressor.ownFrameBytes`) by their own task before
/// it, and the batch holds the zstd frames in the order they reached the write, one after
/// another, which a zstd stream decoder reads as the concatenation. Batches that arrive whole
/// (the tailer's, with IDs of their own) are appended as they are.
actor QueueWriter: BatchSink, TailBatchSink {
    let queue: DiskQueue
    let configuration: BatchingConfiguration
    /// The most protobuf one request the agent encodes itself may hold: its own decompressed-body
    /// limit, which the collector's should match, or the collector would refuse the batch later.
    let maxRequestBytes: Int
    private let timeline: Timeline
    private var pending: [Entry] = []
    private var nextTicket = 0
    private var writing = false
    /// The leader's wait for more requests (`maxDelay > 0`), cut short once the group fills.
    private var gathering: Task<Void, Never>?
    private let compressor = BatchCompressor()

    private enum Content: Sendable {
        case request(signal: Signal, protobuf: [UInt8], items: Int)
        /// A request compressed on its own: `frame` holds its `bytes` bytes of protobuf.
        case frame(signal: Signal, frame: [UInt8], bytes: Int, items: Int)
        case batch(EncodedBatch)
    }

    private enum Turn: Sendable {
        case lead
        /// One outcome per content of the entry, in order.
        case done([Result<Void, DeliveryError>])
    }

    /// One caller's contents, written in order in the same group.
    private struct Entry {
        var ticket: Int
        var contents: [Content]
        var continuation: CheckedContinuation<Turn, Never>
    }

    init(queue: DiskQueue, configuration: BatchingConfiguration, maxRequestBytes: Int = BodyLimits().maxDecompressedBytes, timeline: Timeline = .continuous) {
        self.queue = queue
        self.configuration = configuration
        self.maxRequestBytes = maxRequestBytes
        self.timeline = timeline
    }

    /// Queues one decoded request, joined with the others of its signal in the same write. Not
    /// isolated to the writer: a large request is compressed in the caller's task (where it was
    /// decoded, on a thread the request holds already), so requests compress side by side and
    /// the writer is only entered with the frame.
    nonisolated func accept(_ request: OTLPRequestPayload) async throws(DeliveryError) {
        guard request.batch.itemCount > 0 else { return }
        let (signal, protobuf, items) = (request.batch.signal, request.protobufBody, request.batch.itemCount)
        if request.protobuf == nil {
            // Encoded here (from OTLP/JSON, or redacted): its size and count as protobuf are what the collector will check.
            guard protobuf.count <= maxRequestBytes else {
                throw .rejected(status: 413, message: "as protobuf the request takes \(protobuf.count) bytes, more than \(maxRequestBytes): send smaller batches")
            }
            do throws(OTLPError) {
                try OTLPDecoder.checkElements(protobuf, signal: signal)
            } catch {
                throw .rejected(status: 400, message: "as protobuf, \(error.message)")
            }
        }
        if protobuf.count >= BatchCompressor.ownFrameBytes {
            try await write([.frame(signal: signal, frame: compressor.compress([protobuf]), bytes: protobuf.count, items: items)])[0].get()
        } else {
            try await write([.request(signal: signal, protobuf: protobuf, items: items)])[0].get()
        }
    }

    /// Queues a batch as it is, under its own ID.
    func append(_ batch: EncodedBatch) async throws(DeliveryError) {
        try await write([.batch(batch)])[0].get()
    }

    /// Queues batches as they are, in order, in one write (one `fdatasync` for all of them).
    func append(contentsOf batches: [EncodedBatch]) async -> [Result<Void, DeliveryError>] {
        guard !batches.isEmpty else { return [] }
        return await write(batches.map(Content.batch))
    }

    /// Writes `contents` in order within one group; one outcome per content.
    private func write(_ contents: [Content]) async -> [Result<Void, DeliveryError>] {
        let ticket = nextTicket
        nextTicket += 1
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            pending.append(Entry(ticket: ticket, contents: contents, continuation: continuation))
            if !writing {
                writing = true
                continuation.resume(returning: .lead)
            } else if let gathering, groupIsFull {
                gathering.cancel()
            }
        }
        switch turn {
        case .done(let outcomes):
            return outcomes
        case .lead:
            return await lead(ticket: ticket)
        }
    }

    /// Writes the group gathered so far (this caller's contents included), answers it, and
    /// passes the lead on to whoever arrived meanwhile. Returns the leader's own outcomes.
    private func lead(ticket: Int) async -> [Result<Void, DeliveryError>] {
        if configuration.maxDelay > .zero, !groupIsFull {
            let timeline = self.timeline
            let delay = configuration.maxDelay
            let wait = Task { _ = try? await timeline.sleep(for: delay) }
            gathering = wait
            await wait.value
            gathering = nil
        }
        let group = pending
        pending = []
        let outcomes = await Self.commit(group.flatMap(\.contents), to: queue, configuration: configuration, compressor: compressor)
        var own: [Result<Void, DeliveryError>] = []
        var next = 0
        for entry in group {
            let entryOutcomes = Array(outcomes[next..<(next + entry.contents.count)])
            next += entry.contents.count
            if entry.ticket == ticket {
                own = entryOutcomes
            } else {
                entry.continuation.resume(returning: .done(entryOutcomes))
            }
        }
        if pending.isEmpty {
            writing = false
        } else {
            pending[0].continuation.resume(returning: .lead)
        }
        return own
    }

    /// Requests and batches waiting for the next write (for tests that drive the clock).
    var pendingCount: Int { pending.count }

    /// Whether the requests waiting fill a batch already, so waiting for more gains nothing.
    private var groupIsFull: Bool {
        var items = 0
        var bytes = 0
        for content in pending.lazy.flatMap(\.contents) {
            switch content {
            case .request(_, let protobuf, let count):
                items += count
                bytes += protobuf.count
            case .frame(_, _, let size, let count):
                items += count
                bytes += size
            case .batch:
                return true
            }
        }
        return items >= configuration.maxItems || bytes >= configuration.maxBytes
    }

    /// Joins, compresses and appends a group off the cooperative pool (compression takes CPU,
    /// the append may `fdatasync`); one outcome per content, in order.
    private static func commit(
        _ contents: [Content], to queue: DiskQueue, configuration: BatchingConfiguration, compressor: BatchCompressor
    ) async -> [Result<Void, DeliveryError>] {
        do {
            // Run to the end even if the leader's client hangs up: the write is the others' too.
            return try await BlockingIO.runToCompletion {
                let plan = GroupPlan(contents, configuration: configuration, compressor: compressor)
                let appended = queue.append(contentsOf: plan.batches)
                var outcomes = plan.members.map { appended[$0].mapError(DeliveryError.init) }
                // A joined batch too large for the queue: its requests may each fit alone.
                let retry = plan.members.indices.filter { member in
                    guard case .failure(.tooLarge) = appended[plan.members[member]] else { return false }
                    return plan.members.lazy.filter { $0 == plan.members[member] }.count > 1
                }
                if !retry.isEmpty {
                    let alone = retry.map { GroupPlan([contents[$0]], configuration: configuration, compressor: compressor).batches[0] }
                    for (member, outcome) in zip(retry, queue.append(contentsOf: alone)) {
                        outcomes[member] = outcome.mapError(DeliveryError.init)
                    }
                }
                return outcomes
            }
        } catch {
            return Array(repeating: .failure(.storage("\(error)")), count: contents.count)
        }
    }

    /// The batches one write appends, and which batch each content landed in.
    private struct GroupPlan {
        var batches: [EncodedBatch] = []
        var members: [Int]

        init(_ contents: [Content], configuration: BatchingConfiguration, compressor: BatchCompressor) {
            members = Array(repeating: 0, count: contents.count)
            // Per signal, the batch being filled: its parts in order, items, protobuf bytes and members.
            var open: [Signal: (parts: [Part], items: Int, bytes: Int, members: [Int])] = [:]
            func close(_ signal: Signal) {
                guard let draft = open.removeValue(forKey: signal) else { return }
                for member in draft.members { members[member] = batches.count }
                batches.append(EncodedBatch(
                    id: EncodedBatch.newID(), signal: signal, itemCount: draft.items, body: Self.body(draft.parts, compressor: compressor)))
            }
            func add(_ part: Part, signal: Signal, bytes: Int, items: Int, member: Int) {
                if let draft = open[signal], draft.items + items > configuration.maxItems || draft.bytes + bytes > configuration.maxBytes {
                    close(signal)
                }
                var draft = open[signal] ?? ([], 0, 0, [])
                draft.parts.append(part)
                draft.items += items
                draft.bytes += bytes
                draft.members.append(member)
                open[signal] = draft
            }
            for (index, content) in contents.enumerated() {
                switch content {
                case .batch(let batch):
                    members[index] = batches.count
                    batches.append(batch)
                case .request(let signal, let protobuf, let items):
                    add(.protobuf(protobuf), signal: signal, bytes: protobuf.count, items: items, member: index)
                case .frame(let signal, let frame, let bytes, let items):
                    add(.frame(frame), signal: signal, bytes: bytes, items: items, member: index)
                }
            }
            for signal in Signal.allCases { close(signal) }
        }

        /// A request in a batch being filled: protobuf still to compress, or a frame already made.
        enum Part {
            case protobuf([UInt8])
            case frame([UInt8])
        }

        /// The batch's body: its parts in order as zstd frames, each run of protobuf parts
        /// compressed into one.
        static func body(_ parts: [Part], compressor: BatchCompressor) -> [UInt8] {
            if parts.count == 1, case .frame(let frame) = parts[0] { return frame }
            var body: [UInt8] = []
            var run: [[UInt8]] = []
            func endRun() {
                guard !run.isEmpty else { return }
                body.append(contentsOf: compressor.compress(run))
                run = []
            }
            for part in parts {
                switch part {
                case .protobuf(let protobuf):
                    run.append(protobuf)
                case .frame(let frame):
                    endRun()
                    body.append(contentsOf: frame)
                }
            }
            endRun()
            return body
        }
    }
}

extension DeliveryError {
    /// What a receiver tells its client when the queue would not take a batch.
    init(_ error: QueueError) {
        switch error {
        case .full: self = .queueFull(retryAfterSeconds: 5)
        case .tooLarge(let bytes, let limit): self = .rejected(status: 413, message: "a batch of \(bytes) bytes exceeds the queue's max_size \(limit)")
        case .io(let reason): self = .storage(reason)
        }
    }
}
