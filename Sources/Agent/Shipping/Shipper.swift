import Logging
import NIOPosix
import PeriscopeServer
import PeriscopeDelivery
import PeriscopeDiskQueue
import PeriscopeModel
import ServiceLifecycle
import Synchronization

/// Counters of delivery, exported as the agent's own metrics.
struct ShipperStatistics: Equatable, Sendable {
    var shipped = 0
    var shippedItems = 0
    var retries = 0
    var deadLettered = 0
    /// Refused batches too large for the dead-letter box: dropped, and logged.
    var deadLettersDropped = 0
    var breakerState = 0
    /// Collectors whose circuit breaker is closed (taking their share).
    var healthyCollectors = 0
}

/// Delivers queued batches to the collectors with `concurrency` batches in flight. With more
/// than one collector, a batch of spans is cut by trace (`TraceSplit`) and logs and metrics
/// spread by batch ID; each part goes to the first collector in its order of preference whose
/// circuit breaker lets it through, and on a retryable failure straight to the next one, so a
/// dead collector's share moves to the others at once. A record is acknowledged (and so
/// deleted) only after every part of it was answered 2xx, or put in the dead-letter box after a
/// permanent refusal. When every collector has failed a part, it backs off with full jitter.
/// On graceful shutdown it keeps shipping until the queue is empty or the drain deadline
/// passes; whatever is left stays on disk for the next start.
final class Shipper: Service, Sendable {
    let queue: DiskQueue
    let clients: [OTLPUploader]
    let ring: CollectorRing
    let deadLetters: DeadLetterBox
    let concurrency: Int
    let retryPolicy: RetryPolicy
    let drainDeadline: Duration
    let logger: Logger
    let timeline: Timeline
    /// One per collector, in the order of `clients`.
    private let breakers: Mutex<[CircuitBreaker]>
    private let counters = Mutex(ShipperStatistics())
    /// Rung when a collector that was being skipped answers again: batches waiting out a backoff
    /// or a breaker's cool-down try at once, instead of up to 30 s after it is back.
    private let recovered = Doorbell()

    init(
        queue: DiskQueue, clients: [OTLPUploader], deadLetters: DeadLetterBox, concurrency: Int = 4,
        retryPolicy: RetryPolicy = .untilDelivered, breaker: CircuitBreaker = CircuitBreaker(),
        drainDeadline: Duration = .seconds(5), timeline: Timeline = .continuous, logger: Logger
    ) {
        self.timeline = timeline
        self.queue = queue
        precondition(!clients.isEmpty, "a shipper needs a collector")
        self.clients = clients
        ring = CollectorRing(urls: clients.map(\.endpoint))
        self.deadLetters = deadLetters
        self.concurrency = max(1, concurrency)
        self.retryPolicy = retryPolicy
        self.drainDeadline = drainDeadline
        self.logger = logger
        breakers = Mutex(Array(repeating: breaker, count: clients.count))
    }

    var statistics: ShipperStatistics {
        var statistics = counters.withLock { $0 }
        breakers.withLock { breakers in
            statistics.breakerState = breakers.map(\.state.gaugeValue).max() ?? 0
            statistics.healthyCollectors = breakers.filter { $0.state.gaugeValue == 0 }.count
        }
        return statistics
    }

    func run() async throws {
        let shutdown = ShutdownSignal(timeline: timeline)
        // Cutting batches by trace is CPU work (decode, encode, compress: ~3 µs a span); it gets a
        // thread of its own, off the cooperative pool and off the pool the queue's writes use.
        let cutter = clients.count > 1 ? NIOThreadPool(numberOfThreads: 1) : nil
        cutter?.start()
        defer { cutter?.shutdownGracefully { _ in } }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for _ in 0..<concurrency {
                    group.addTask { await self.work(shutdown: shutdown, cutter: cutter) }
                }
            }
        } onGracefulShutdown: {
            shutdown.begin(deadline: self.timeline.now + self.drainDeadline)
            // Draining is the last chance: probe the collector now rather than wait out a cool-down.
            self.breakers.withLock { breakers in
                for index in breakers.indices { breakers[index].allowProbeNow() }
            }
            // Idle workers wake, find the queue empty during shutdown, and stop.
            self.queue.appended.ring()
        }
    }

    private func work(shutdown: ShutdownSignal, cutter: NIOThreadPool?) async {
        while !Task.isCancelled {
            if let deadline = shutdown.deadline, timeline.now >= deadline { return }
            let seen = queue.appended.rings
            guard let (record, batch) = await take() else {
                if shutdown.deadline != nil { return }
                // Woken by the next append (or shutdown), instead of polling an empty queue.
                await queue.appended.wait(after: seen)
                continue
            }
            await deliver(record, batch, shutdown: shutdown, cutter: cutter)
        }
    }

    private func take() async -> (QueuedRecord, EncodedBatch)? {
        let queue = self.queue
        return try? await BlockingIO.run { queue.take() }
    }

    private func deliver(_ record: QueuedRecord, _ batch: EncodedBatch, shutdown: ShutdownSignal, cutter: NIOThreadPool?) async {
        let parts: [ShipmentPart]
        if let cutter {
            // The cutter is inactive only once `run` is over; the record then stays queued.
            guard let cut = try? await cutter.runIfActive({ [ring] in TraceSplit.parts(of: batch, ring: ring) }) else { return }
            parts = cut
        } else {
            parts = [ShipmentPart(batch: batch, preference: [0])]
        }
        for part in parts {
            guard await deliver(part, shutdown: shutdown) else { return }
        }
        acknowledge(record)
    }

    /// Delivers one part, or puts it in the dead-letter box; `false` when shutdown's deadline
    /// came first (the record stays queued, and every part is sent again next time).
    private func deliver(_ part: ShipmentPart, shutdown: ShutdownSignal) async -> Bool {
        let batch = part.batch
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        var failedThisRound = Set<Int>()
        /// Collectors that refused the part for good (4xx): another may still take it (a
        /// different version or limit during a rolling upgrade); when all have, it is a dead letter.
        var refusedBy = Set<Int>()
        var lastRetryAfter: Duration?
        var failures = 0
        // Recoveries seen before the last attempt: one after it ends the wait that follows.
        var recoveriesSeen = recovered.rings
        while true {
            // The first collector, in this part's order, that has not failed it this round and
            // whose breaker lets a request through.
            let now = timeline.now
            let (chosen, earliest) = breakers.withLock { breakers -> (Int?, Duration?) in
                var earliest: Duration?
                for index in part.preference where !failedThisRound.contains(index) && !refusedBy.contains(index) {
                    switch breakers[index].permit(now: now) {
                    case .proceed: return (index, nil)
                    case .waitUntil(let instant): earliest = min(earliest ?? instant, instant)
                    }
                }
                return (nil, earliest)
            }
            guard let chosen else {
                let wakeAt: Duration
                if failedThisRound.isEmpty, let earliest {
                    wakeAt = earliest  // every breaker is open: wait for the first to allow a probe
                } else {
                    // Every collector this part may go to has failed it: back off, then start a new round.
                    attempt += 1
                    failedThisRound = []
                    wakeAt = now + retryPolicy.backoff(retry: attempt, retryAfter: lastRetryAfter, using: &generator)
                }
                if let deadline = shutdown.deadline, wakeAt > deadline { return false }
                // A wait the collector asked for (Retry-After) is kept; any other ends when a skipped collector is back.
                await shutdown.sleep(until: wakeAt, orRecovery: lastRetryAfter == nil ? recovered : nil, after: recoveriesSeen)
                // A ring ends one wait: the next one waits for a new ring (or its time).
                recoveriesSeen = recovered.rings
                if Task.isCancelled { return false }
                continue
            }
            recoveriesSeen = recovered.rings
            do {
                if let partial = try await clients[chosen].send(batch) {
                    logger.warning("collector \(clients[chosen].shownEndpoint) accepted batch \(batch.id) but rejected \(partial.rejected) of its \(batch.itemCount) items: \(partial.message.prefix(512))")
                }
                recordSuccess(chosen)
                counters.withLock {
                    $0.shipped += 1
                    $0.shippedItems += batch.itemCount
                }
                return true
            } catch {
                switch error {
                case .rejected(let status, let message):
                    // It answered, so its breaker closes; but a refusal is no sign that others' batches go through.
                    recordSuccess(chosen, delivered: false)
                    refusedBy.insert(chosen)
                    guard refusedBy.isSuperset(of: part.preference) else {
                        logger.warning("collector \(clients[chosen].shownEndpoint) refused batch \(batch.id) (\(status)): \(message); trying the next collector")
                        continue
                    }
                    return await keepAsDeadLetter(batch, status: status, message: message, shutdown: shutdown)
                case .unavailable, .queueFull, .storage:
                    lastRetryAfter = if case .unavailable(_, let wait) = error { wait } else { nil }
                    recordFailure(chosen)
                    counters.withLock { $0.retries += 1 }
                    failedThisRound.insert(chosen)
                    failures += 1
                    if failures % 10 == 1 {
                        let next = part.preference.count > failedThisRound.count ? "trying the next collector" : "backing off"
                        logger.warning("cannot deliver batch \(batch.id) to \(clients[chosen].shownEndpoint): \(error); \(next)")
                    }
                    if Task.isCancelled { return false }
                }
            }
        }
    }

    /// Moves a refused batch (or part) to the dead-letter box; `true` once it is there (or too
    /// large to keep, which is logged). A letter that cannot be written (disk full, permissions)
    /// is tried again with backoff — its record never acknowledged unwritten — until shutdown's
    /// deadline, when it returns `false` and the record stays queued for the next start.
    private func keepAsDeadLetter(_ batch: EncodedBatch, status: Int, message: String, shutdown: ShutdownSignal) async -> Bool {
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            do {
                let evicted = try await BlockingIO.run { [deadLetters] in
                    try deadLetters.store(batch, status: status, reason: message)
                }
                counters.withLock { $0.deadLettered += 1 }
                logger.error("collector refused batch \(batch.id) (\(status)): \(message); kept in the dead-letter box")
                if evicted > 0 {
                    logger.error("the dead-letter box is at its size limit: deleted its \(evicted) oldest letters to keep this one")
                }
                return true
            } catch let error as DeadLetterBox.LetterTooLarge {
                counters.withLock { $0.deadLettersDropped += 1 }
                logger.error("collector refused batch \(batch.id) (\(status)): \(message); not kept: \(error)")
                return true
            } catch {
                attempt += 1
                let delay = retryPolicy.backoff(retry: attempt, using: &generator)
                if attempt % 10 == 1 {
                    logger.error("cannot write dead letter for batch \(batch.id): \(error); it stays queued, next try in \(delay)")
                }
                if let deadline = shutdown.deadline, timeline.now + delay > deadline { return false }
                await shutdown.sleep(until: timeline.now + delay)
                if Task.isCancelled { return false }
            }
        }
    }

    /// A collector answered: closes its breaker, and says so when it had been skipped; a
    /// delivery to a skipped collector also ends the other batches' waits.
    private func recordSuccess(_ collector: Int, delivered: Bool = true) {
        let wasSkipped = breakers.withLock { breakers in
            defer { breakers[collector].recordSuccess() }
            return breakers[collector].state.gaugeValue != 0
        }
        guard wasSkipped else { return }
        if delivered { recovered.ring() }
        if clients.count > 1 {
            logger.notice("collector \(clients[collector].shownEndpoint) answers again and takes its share back")
        }
    }

    /// A collector failed: counts against its breaker, and says so when that starts skipping it.
    private func recordFailure(_ collector: Int) {
        let now = timeline.now
        let opened = breakers.withLock { breakers in
            let before = breakers[collector].state.gaugeValue
            breakers[collector].recordFailure(now: now)
            return before == 0 && breakers[collector].state.gaugeValue != 0
        }
        if opened && clients.count > 1 {
            logger.warning("collector \(clients[collector].shownEndpoint) keeps failing; its share goes to the other collectors until it answers again")
        }
    }

    private func acknowledge(_ record: QueuedRecord) {
        queue.acknowledge(record)
    }
}

/// Set once graceful shutdown begins: the time by which draining must stop.
final class ShutdownSignal: Sendable {
    private let timeline: Timeline
    private let value = Mutex<Duration?>(nil)
    private let began = Doorbell()

    init(timeline: Timeline) {
        self.timeline = timeline
    }

    var deadline: Duration? { value.withLock { $0 } }

    func begin(deadline: Duration) {
        value.withLock { $0 = $0 ?? deadline }
        began.ring()
    }

    /// Sleeps until `instant` on the timeline, waking early when shutdown begins so draining
    /// retries at once, when `recovery` has rung since its count was `recoveriesSeen`, or when
    /// the task is cancelled.
    func sleep(until instant: Duration, orRecovery recovery: Doorbell? = nil, after recoveriesSeen: UInt64 = 0) async {
        let seen = began.rings
        if let recovery, recovery.rings != recoveriesSeen {
            await Task.yield()
            return
        }
        guard deadline == nil || recovery != nil else {
            try? await timeline.sleep(until: instant)
            return
        }
        let draining = deadline != nil
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [timeline] in try? await timeline.sleep(until: instant) }
            if !draining { group.addTask { [began] in await began.wait(after: seen) } }
            if let recovery { group.addTask { await recovery.wait(after: recoveriesSeen) } }
            await group.next()
            group.cancelAll()
        }
    }
}
