import Logging
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
}

/// Delivers queued batches to the collector with `concurrency` batches in flight. A record
/// is acknowledged (and so deleted) only after the collector answered 2xx, or after a
/// permanent refusal put it in the dead-letter box. Retryable failures back off with full
/// jitter behind a circuit breaker. On graceful shutdown it keeps shipping until the queue is
/// empty or the drain deadline passes; whatever is left stays on disk for the next start.
final class Shipper: Service, Sendable {
    let queue: DiskQueue
    let client: OTLPUploader
    let deadLetters: DeadLetterBox
    let concurrency: Int
    let retryPolicy: RetryPolicy
    let drainDeadline: Duration
    let logger: Logger
    let timeline: Timeline
    private let breaker: Mutex<CircuitBreaker>
    private let counters = Mutex(ShipperStatistics())

    init(
        queue: DiskQueue, client: OTLPUploader, deadLetters: DeadLetterBox, concurrency: Int = 4,
        retryPolicy: RetryPolicy = .untilDelivered, breaker: CircuitBreaker = CircuitBreaker(),
        drainDeadline: Duration = .seconds(5), timeline: Timeline = .continuous, logger: Logger
    ) {
        self.timeline = timeline
        self.queue = queue
        self.client = client
        self.deadLetters = deadLetters
        self.concurrency = max(1, concurrency)
        self.retryPolicy = retryPolicy
        self.drainDeadline = drainDeadline
        self.logger = logger
        self.breaker = Mutex(breaker)
    }

    var statistics: ShipperStatistics {
        var statistics = counters.withLock { $0 }
        statistics.breakerState = breaker.withLock { $0.state.gaugeValue }
        return statistics
    }

    func run() async throws {
        let shutdown = ShutdownSignal(timeline: timeline)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for _ in 0..<concurrency {
                    group.addTask { await self.work(shutdown: shutdown) }
                }
            }
        } onGracefulShutdown: {
            shutdown.begin(deadline: self.timeline.now + self.drainDeadline)
            // Draining is the last chance: probe the collector now rather than wait out a cool-down.
            self.breaker.withLock { $0.allowProbeNow() }
            // Idle workers wake, find the queue empty during shutdown, and stop.
            self.queue.appended.ring()
        }
    }

    private func work(shutdown: ShutdownSignal) async {
        while !Task.isCancelled {
            if let deadline = shutdown.deadline, timeline.now >= deadline { return }
            let seen = queue.appended.rings
            guard let (record, batch) = await take() else {
                if shutdown.deadline != nil { return }
                // Woken by the next append (or shutdown), instead of polling an empty queue.
                await queue.appended.wait(after: seen)
                continue
            }
            await deliver(record, batch, shutdown: shutdown)
        }
    }

    private func take() async -> (QueuedRecord, EncodedBatch)? {
        let queue = self.queue
        return try? await BlockingIO.run { queue.take() }
    }

    private func deliver(_ record: QueuedRecord, _ batch: EncodedBatch, shutdown: ShutdownSignal) async {
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            let permit = breaker.withLock { $0.permit(now: timeline.now) }
            if case .waitUntil(let instant) = permit {
                if let deadline = shutdown.deadline, instant > deadline { return }
                await shutdown.sleep(until: instant)
                if Task.isCancelled { return }
                continue
            }
            do {
                try await client.send(batch)
                breaker.withLock { $0.recordSuccess() }
                acknowledge(record)
                counters.withLock {
                    $0.shipped += 1
                    $0.shippedItems += batch.itemCount
                }
                return
            } catch {
                switch error {
                case .rejected(let status, let message):
                    breaker.withLock { $0.recordSuccess() }
                    await keepAsDeadLetter(record, batch, status: status, message: message, shutdown: shutdown)
                    return
                case .unavailable, .queueFull, .storage:
                    let retryAfter: Duration? = if case .unavailable(_, let wait) = error { wait } else { nil }
                    breaker.withLock { $0.recordFailure(now: timeline.now) }
                    counters.withLock { $0.retries += 1 }
                    attempt += 1
                    let delay = retryPolicy.backoff(retry: attempt, retryAfter: retryAfter, using: &generator)
                    if attempt % 10 == 1 {
                        logger.warning("cannot deliver batch \(batch.id): \(error); retrying (attempt \(attempt), next in \(delay))")
                    }
                    if let deadline = shutdown.deadline, timeline.now + delay > deadline { return }
                    await shutdown.sleep(until: timeline.now + delay)
                    if Task.isCancelled { return }
                }
            }
        }
    }

    /// Moves a refused batch to the dead-letter box, then acknowledges it. A batch whose letter
    /// cannot be written (disk full, permissions) stays taken and is tried again with backoff —
    /// never acknowledged unwritten, never forgotten until the next start.
    private func keepAsDeadLetter(_ record: QueuedRecord, _ batch: EncodedBatch, status: Int, message: String, shutdown: ShutdownSignal) async {
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            do {
                let evicted = try await BlockingIO.run { [deadLetters] in
                    try deadLetters.store(batch, status: status, reason: message)
                }
                acknowledge(record)
                counters.withLock { $0.deadLettered += 1 }
                logger.error("collector refused batch \(batch.id) (\(status)): \(message); kept in the dead-letter box")
                if evicted > 0 {
                    logger.error("the dead-letter box is at its size limit: deleted its \(evicted) oldest letters to keep this one")
                }
                return
            } catch let error as DeadLetterBox.LetterTooLarge {
                acknowledge(record)
                counters.withLock { $0.deadLettersDropped += 1 }
                logger.error("collector refused batch \(batch.id) (\(status)): \(message); not kept: \(error)")
                return
            } catch {
                attempt += 1
                let delay = retryPolicy.backoff(retry: attempt, using: &generator)
                if attempt % 10 == 1 {
                    logger.error("cannot write dead letter for batch \(batch.id): \(error); it stays queued, next try in \(delay)")
                }
                if let deadline = shutdown.deadline, timeline.now + delay > deadline { return }
                await shutdown.sleep(until: timeline.now + delay)
                if Task.isCancelled { return }
            }
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
    /// retries at once, or when the task is cancelled.
    func sleep(until instant: Duration) async {
        let seen = began.rings
        guard deadline == nil else {
            try? await timeline.sleep(until: instant)
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [timeline] in try? await timeline.sleep(until: instant) }
            group.addTask { [began] in await began.wait(after: seen) }
            await group.next()
            group.cancelAll()
        }
    }
}
