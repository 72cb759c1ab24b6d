import AsyncHTTPClient
import NIOCore
import NIOPosix
import PeriscopeDelivery
import PeriscopeModel
import PeriscopeOTLP
import ServiceLifecycle
import Synchronization

/// Sends spans, log records and metrics to the agent as OTLP/HTTP protobuf, off the request path.
///
/// `submit` only appends to a bounded queue (one per signal) and never waits: when a queue is
/// full the item is dropped and counted. A background loop (`run()`) sends batches of up to
/// `maxBatchSize` every `exportInterval`, or sooner when a batch fills, retrying transient
/// failures with capped backoff before giving up and counting the batch as failed. Metrics are
/// not queued: ``export(metrics:)`` sends a cumulative snapshot, which the next one supersedes.
public final class OTLPExporter: TelemetrySink, Sendable {
    /// Queue sizes, batching and retry knobs; the defaults suit a typical service.
    public struct Configuration: Sendable {
        /// The agent's OTLP/HTTP base URL; `/v1/traces`, `/v1/logs` and `/v1/metrics` are appended.
        public var endpoint: String
        /// Finished spans held while waiting for export; more are dropped and counted.
        public var spanQueueCapacity: Int
        /// Log records held while waiting for export; more are dropped and counted.
        public var logQueueCapacity: Int
        /// Items per export request.
        public var maxBatchSize: Int
        /// How often the loop sends whatever is queued.
        public var exportInterval: Duration
        /// Upper bound for one HTTP request, connect included.
        public var requestTimeout: Duration
        /// Export requests in flight at once (spans and logs together). More than one keeps a
        /// busy service's queues draining while an answer is on its way.
        public var maxConcurrentExports: Int
        /// Retries of transient failures.
        public var retry: RetryPolicy
        /// Cuts applied to each span and record before it is queued.
        public var attributeLimits: AttributeLimits
        /// Headers sent with every export (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. an authorization.
        public var headers: [String: String] = [:]
        /// Full URLs that replace `endpoint` + `/v1/<signal>` for a signal
        /// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and its kin).
        public var signalEndpoints: [Signal: String] = [:]

        /// Defaults: the local agent, 2048-item queues, batches of 512 every second (or as soon
        /// as one is full), 4 exports in flight.
        public init(
            endpoint: String = "http://127.0.0.1:4318",
            spanQueueCapacity: Int = 2048, logQueueCapacity: Int = 2048, maxBatchSize: Int = 512,
            exportInterval: Duration = .seconds(1), requestTimeout: Duration = .seconds(5),
            maxConcurrentExports: Int = 4,
            retry: RetryPolicy = RetryPolicy(), attributeLimits: AttributeLimits = AttributeLimits()
        ) {
            self.maxConcurrentExports = max(1, maxConcurrentExports)
            self.attributeLimits = attributeLimits
            self.endpoint = endpoint
            self.spanQueueCapacity = spanQueueCapacity
            self.logQueueCapacity = logQueueCapacity
            self.maxBatchSize = max(1, maxBatchSize)
            self.exportInterval = exportInterval
            self.requestTimeout = requestTimeout
            self.retry = retry
        }
    }

    /// The process's resource, sent with every batch.
    public let resource: Resource
    /// The instrumentation scope every batch is grouped under.
    public let scope: InstrumentationScope
    /// The settings this exporter was built with.
    public let configuration: Configuration

    private let baseURL: String
    private let spans: BoundedBuffer<PeriscopeModel.Span>
    private let logs: BoundedBuffer<LogRecord>
    private let wakeStream: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let started = Atomic<Bool>(false)
    private let client: HTTPClient
    let timeline: Timeline

    private let droppedSpansCount = Atomic<Int>(0)
    private let limitedAttributesCount = Atomic<Int>(0)
    private let droppedLogsCount = Atomic<Int>(0)
    private let exportedSpansCount = Atomic<Int>(0)
    private let exportedLogsCount = Atomic<Int>(0)
    private let failedExportsCount = Atomic<Int>(0)
    private let exportedMetricPointsCount = Atomic<Int>(0)
    private let failedSpansCount = Atomic<Int>(0)
    private let failedLogsCount = Atomic<Int>(0)
    private let deferredExportsCount = Atomic<Int>(0)
    /// Batches failed in a row; while non-zero, batches get a single attempt, so a dead agent
    /// costs one connection attempt per batch rather than a full retry cycle.
    private let consecutiveFailures = Atomic<Int>(0)
    /// When the background loop may try the agent again (on `timeline`) after it last could not
    /// be reached; nil until then. Until that moment the loop leaves batches queued.
    private let retryAt = Mutex<Duration?>(nil)
    let exportsInFlight = ExportsInFlight()
    /// Bumped each time a cancelled loop puts taken batches back in the queues, before their
    /// tickets end: a flush that waited for those batches sees it and drains again.
    private let handBacks = Atomic<Int>(0)

    /// Spans refused because the span queue was full.
    public var droppedSpans: Int { droppedSpansCount.load(ordering: .relaxed) }
    /// Log records refused because the log queue was full.
    public var droppedLogs: Int { droppedLogsCount.load(ordering: .relaxed) }
    /// Spans the agent accepted.
    public var exportedSpans: Int { exportedSpansCount.load(ordering: .relaxed) }
    /// Log records the agent accepted.
    public var exportedLogs: Int { exportedLogsCount.load(ordering: .relaxed) }
    /// Batches given up on (after retries, a permanent rejection, or a flush's deadline), and what
    /// was still queued when the final flush's deadline passed; their items are lost.
    public var failedExports: Int { failedExportsCount.load(ordering: .relaxed) }
    /// Spans and records waiting in the queues.
    public var queuedItems: Int { spans.count + logs.count }
    /// Spans lost in batches given up on (the agent absent or refusing); with `droppedSpans`,
    /// every span that did not reach the agent is counted.
    public var failedSpans: Int { failedSpansCount.load(ordering: .relaxed) }
    /// Log records lost in batches given up on.
    public var failedLogs: Int { failedLogsCount.load(ordering: .relaxed) }
    /// Metric points the agent accepted (each export of a series counts once).
    public var exportedMetricPoints: Int { exportedMetricPointsCount.load(ordering: .relaxed) }
    /// Times a batch the agent could not take for now (absent, restarting, busy) was kept queued
    /// to be tried again after a backoff; nothing of it is lost.
    public var deferredExports: Int { deferredExportsCount.load(ordering: .relaxed) }

    /// The exporter's counters at one moment, e.g. for a debug endpoint or a health check.
    public struct Statistics: Sendable, Hashable, Codable {
        /// Spans refused because the span queue was full.
        public var droppedSpans: Int
        /// Log records refused because the log queue was full.
        public var droppedLogs: Int
        /// Spans the agent accepted.
        public var exportedSpans: Int
        /// Log records the agent accepted.
        public var exportedLogs: Int
        /// Metric points the agent accepted.
        public var exportedMetricPoints: Int
        /// Batches given up on; their items are lost.
        public var failedExports: Int
        /// Spans lost in batches given up on.
        public var failedSpans: Int
        /// Log records lost in batches given up on.
        public var failedLogs: Int
        /// Spans and records waiting in the queues.
        public var queuedItems: Int
        /// Attributes, values, events and links dropped or cut by `AttributeLimits`.
        public var limitedAttributes: Int
        /// Times a batch the agent could not take for now was kept queued for a later try.
        public var deferredExports: Int

        public init(
            droppedSpans: Int, droppedLogs: Int, exportedSpans: Int, exportedLogs: Int, exportedMetricPoints: Int, failedExports: Int,
            failedSpans: Int, failedLogs: Int, queuedItems: Int, limitedAttributes: Int, deferredExports: Int
        ) {
            self.droppedSpans = droppedSpans
            self.droppedLogs = droppedLogs
            self.exportedSpans = exportedSpans
            self.exportedLogs = exportedLogs
            self.exportedMetricPoints = exportedMetricPoints
            self.failedExports = failedExports
            self.failedSpans = failedSpans
            self.failedLogs = failedLogs
            self.queuedItems = queuedItems
            self.limitedAttributes = limitedAttributes
            self.deferredExports = deferredExports
        }

        /// Statistics written before `deferredExports` existed read with it 0.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            droppedSpans = try container.decode(Int.self, forKey: .droppedSpans)
            droppedLogs = try container.decode(Int.self, forKey: .droppedLogs)
            exportedSpans = try container.decode(Int.self, forKey: .exportedSpans)
            exportedLogs = try container.decode(Int.self, forKey: .exportedLogs)
            exportedMetricPoints = try container.decode(Int.self, forKey: .exportedMetricPoints)
            failedExports = try container.decode(Int.self, forKey: .failedExports)
            failedSpans = try container.decode(Int.self, forKey: .failedSpans)
            failedLogs = try container.decode(Int.self, forKey: .failedLogs)
            queuedItems = try container.decode(Int.self, forKey: .queuedItems)
            limitedAttributes = try container.decode(Int.self, forKey: .limitedAttributes)
            deferredExports = try container.decodeIfPresent(Int.self, forKey: .deferredExports) ?? 0
        }
    }

    /// All counters, read together.
    public var statistics: Statistics {
        Statistics(
            droppedSpans: droppedSpans, droppedLogs: droppedLogs, exportedSpans: exportedSpans,
            exportedLogs: exportedLogs, exportedMetricPoints: exportedMetricPoints,
            failedExports: failedExports, failedSpans: failedSpans, failedLogs: failedLogs, queuedItems: queuedItems,
            limitedAttributes: limitedAttributesCount.load(ordering: .relaxed), deferredExports: deferredExports)
    }

    /// - Parameters:
    ///   - httpClient: the client to send with; by default a process-wide client with tracing
    ///     disabled, so exports never produce spans of their own.
    ///   - timeline: the clock behind the export interval, retries and deadlines (tests inject a
    ///     manual one).
    public init(
        resource: Resource,
        scope: InstrumentationScope = InstrumentationScope(name: "periscope-sdk", version: PeriscopeVersion.current),
        configuration: Configuration = Configuration(),
        httpClient: HTTPClient? = nil,
        timeline: Timeline = .continuous
    ) {
        self.timeline = timeline
        self.resource = resource
        self.scope = scope
        self.configuration = configuration
        var base = configuration.endpoint
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.spans = BoundedBuffer(capacity: configuration.spanQueueCapacity, batchSize: configuration.maxBatchSize)
        self.logs = BoundedBuffer(capacity: configuration.logQueueCapacity, batchSize: configuration.maxBatchSize)
        (self.wakeStream, self.wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.client = httpClient ?? exportHTTPClient
    }

    // MARK: Producer side (application threads)

    /// Queues a span for export, or drops and counts it when the queue is full. Never waits.
    public func submit(_ span: consuming PeriscopeModel.Span) {
        var span = span
        let cut = configuration.attributeLimits.apply(to: &span)
        if cut > 0 { limitedAttributesCount.add(cut, ordering: .relaxed) }
        switch spans.append(span) {
        case .queued: break
        // Once per filled batch, not on every span after it: a wake-up costs a lock of its own.
        case .filledBatch: wake.yield()
        case .full: droppedSpansCount.add(1, ordering: .relaxed)
        }
    }

    /// Queues a log record for export, or drops and counts it when the queue is full. Never waits.
    public func submit(_ record: consuming LogRecord) {
        var record = record
        let cut = configuration.attributeLimits.apply(to: &record)
        if cut > 0 { limitedAttributesCount.add(cut, ordering: .relaxed) }
        switch logs.append(record) {
        case .queued: break
        case .filledBatch: wake.yield()
        case .full: droppedLogsCount.add(1, ordering: .relaxed)
        }
    }

    /// Asks the running loop to send now; returns at once.
    public func requestFlush() {
        wake.yield()
    }

    // MARK: Export side

    /// Sends everything queued at the time of the call (and what arrives meanwhile), and waits
    /// for the answers to every export that left the queues before it — the background loop's
    /// and the metrics loop's too — at most `timeout` in all. Works with or without `run()`.
    public func forceFlush(timeout: Duration = .seconds(5)) async {
        await flush(timeout: timeout, untilEmpty: false)
    }

    /// `forceFlush`; with `untilEmpty` (the final flush) it also sends what arrived while it waited
    /// for answers, in up to `finalFlushExtraPasses` more passes: a service winding down gets its
    /// last items out, and the passes do not chase one still producing (what it makes after the
    /// last pass stays queued; a single drain still follows a producer faster than the answers,
    /// up to the deadline). True when it ended before `timeout`.
    @discardableResult
    private func flush(timeout: Duration, untilEmpty: Bool) async -> Bool {
        await withDeadline(timeout, on: timeline) {
            var extraPasses = untilEmpty ? Self.finalFlushExtraPasses : 0
            while !Task.isCancelled {
                let handBacksBefore = self.handBacks.load(ordering: .acquiring)
                // A user's flush keeps what the agent surely did not take; the final one gives it up.
                await self.drain(handingBackOnCancel: false, keepingUnreachable: !untilEmpty)
                await self.exportsInFlight.waitForEarlierExports()
                // Batches this flush waited for went back to the queues (the loop was cancelled).
                if self.handBacks.load(ordering: .acquiring) != handBacksBefore { continue }
                guard extraPasses > 0, self.queuedItems > 0 else { break }
                extraPasses -= 1
            }
        }
    }

    /// How many more times the final flush sends what arrived during its previous pass.
    static let finalFlushExtraPasses = 3

    /// The export loop: runs until graceful shutdown or cancellation, then sends what is still
    /// queued, bounded by `shutdownTimeout`. Call it once (the `Periscope` service does).
    public func run(shutdownTimeout: Duration = .seconds(5)) async {
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let wake = self.wake
        let timeline = self.timeline
        let interval = max(configuration.exportInterval, Self.shortestInterval)
        let loop = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        do { try await timeline.sleep(for: interval) } catch { return }
                        wake.yield()
                    }
                }
                for await _ in self.wakeStream {
                    await self.drain(handingBackOnCancel: true, keepingUnreachable: true)
                }
                group.cancelAll()
            }
        }
        // A graceful shutdown lets the drain in progress finish, but within the shutdown's time:
        // an export to an agent that accepted and never answers would otherwise hold it until the
        // request timeout, and the final flush would wait again after it.
        let shutdown = Mutex(ShutdownBound())
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await loop.value
            } onGracefulShutdown: {
                shutdown.withLock { state in
                    guard !state.loopEnded, state.began == nil else { return }
                    state.began = timeline.now
                    state.deadline = Task {
                        guard (try? await timeline.sleep(for: shutdownTimeout)) != nil else { return }
                        loop.cancel()
                    }
                }
                wake.finish()
            }
        } onCancel: {
            loop.cancel()
        }
        let began = shutdown.withLock { state in
            state.loopEnded = true
            state.deadline?.cancel()
            return state.began
        }
        wake.finish()
        // The final flush must not inherit our cancellation, or a cancelled service would lose
        // everything still queued. It is bounded by what is left of the shutdown's time instead;
        // with none left, nothing is started (an export begun and cut at once might be stored
        // and still be counted failed).
        let remaining = shutdownTimeout - (began.map { timeline.now - $0 } ?? .zero)
        guard remaining > .zero else { return abandonQueued() }
        let finalFlush = Task { await self.flush(timeout: remaining, untilEmpty: true) }
        if await !finalFlush.value { abandonQueued() }
    }

    /// When a graceful shutdown began, and the task that cuts the loop short at its deadline.
    private struct ShutdownBound {
        var began: Duration?
        var deadline: Task<Void, Never>?
        var loopEnded = false
    }

    /// What is still queued when the final flush's deadline passes goes with the process: it is
    /// counted failed rather than left as queued, so the counters account for it.
    private func abandonQueued() {
        for batch in takeBatches() { countFailed(batch) }
    }

    /// The shortest wait between exports the spans-and-logs and the metrics loops honour: a zero or
    /// negative interval would spin.
    static let shortestInterval = Duration.milliseconds(1)

    /// The fewest metrics a metrics request may be limited to, whatever `maxBatchSize` says.
    public static let minMetricsPerRequest = 512

    /// Sends `metrics` now, in requests of at most `maxBatchSize` metrics (but never fewer than
    /// `minMetricsPerRequest`, so that a tiny span batch size does not split a collection into
    /// thousands of requests), retrying like any batch; `true` when all were accepted. Called by
    /// the `Periscope` service every metrics interval; a failed export is counted in `failedExports` and superseded by the next one.
    @discardableResult
    public func export(metrics: [Metric]) async -> Bool {
        let ticket = exportsInFlight.begin()
        defer { exportsInFlight.end(ticket) }
        var allAccepted = true
        let perRequest = max(configuration.maxBatchSize, Self.minMetricsPerRequest)
        var start = 0
        while start < metrics.count {
            // `start + perRequest` could overflow with a batch size of `Int.max`.
            let chunk = Array(metrics[start..<(start + min(perRequest, metrics.count - start))])
            start += chunk.count
            let body = OTLPEncoder.encode(
                .metrics([ResourceMetrics(resource: resource, scopes: [ScopeMetrics(scope: scope, metrics: chunk)])]),
                format: .protobuf)
            if await send(body, signal: .metrics) == .delivered {
                exportedMetricPointsCount.add(chunk.reduce(0) { $0 + $1.data.pointCount }, ordering: .relaxed)
            } else {
                failedExportsCount.add(1, ordering: .relaxed)
                allAccepted = false
            }
        }
        return allAccepted
    }

    /// Sends batches of at most `maxBatchSize` until both queues are empty and every export
    /// has answered (or the task is cancelled), up to `maxConcurrentExports` at once, spans and
    /// logs alike. While exports are out, the queues are looked at again every 20 ms, so one
    /// slow answer (a retrying batch) does not hold the batches made after it.
    ///
    /// With `handingBackOnCancel` (the background loop, cancelled once, on the way out), batches
    /// taken but not yet sent when the task is cancelled go back to the front of their queues for
    /// the final flush. A flush cut short by its deadline does not hand back: a caller flushing
    /// again and again against a hung agent would otherwise hold batches past the queues' capacity
    /// instead of counting them failed.
    ///
    /// With `keepingUnreachable`, a batch the agent surely did not take goes back to its queue
    /// (`export(_:keepingIfUnreachable:)`), and no more are sent until the backoff has passed:
    /// the batches taken with it go back unsent.
    private func drain(handingBackOnCancel: Bool, keepingUnreachable: Bool) async {
        let limit = max(1, configuration.maxConcurrentExports)
        // Child tasks return true for a finished export, false for the 20 ms tick.
        await withTaskGroup(of: Bool.self) { group in
            var inFlight = 0
            var ticking = false
            func awaitOne() async {
                guard let finished = await group.next() else { return }
                if finished { inFlight -= 1 } else { ticking = false }
            }
            while !Task.isCancelled {
                // Batches are counted from the moment they leave the queues, under one ticket taken
                // before the take: a flush that finds the queues empty waits for them even before
                // they are sent.
                let take = exportsInFlight.begin()
                // After the agent could not be reached the loop leaves the queues be until its
                // backoff has passed; a flush (with its own deadline) tries at once.
                let batches = keepingUnreachable && backingOff ? [] : takeBatches()
                let tickets = batches.map { _ in exportsInFlight.another(take) }
                exportsInFlight.end(take)
                if batches.isEmpty {
                    if inFlight == 0 {
                        // Nothing is out but perhaps the 20 ms tick: end it rather than wait for it.
                        group.cancelAll()
                        break
                    }
                    if !ticking {
                        ticking = true
                        group.addTask {
                            try? await self.timeline.sleep(for: .milliseconds(20))
                            return false
                        }
                    }
                    await awaitOne()
                    continue
                }
                for index in batches.indices {
                    while inFlight >= limit && !Task.isCancelled { await awaitOne() }
                    if keepingUnreachable, backingOff {
                        // An export of this round found the agent away: the rest wait with it.
                        handBack(batches[index...], countsAsHandBack: false)
                        for ticket in tickets[index...] { exportsInFlight.end(ticket) }
                        break
                    }
                    let batch = batches[index]
                    let ticket = tickets[index]
                    let export: @Sendable () async -> Bool = {
                        defer { self.exportsInFlight.end(ticket) }
                        await self.export(batch, keepingIfUnreachable: keepingUnreachable)
                        return true
                    }
                    guard group.addTaskUnlessCancelled(operation: export) else {
                        // Cancelled. The loop (the service on its way out) hands what it has not
                        // sent back for the final flush; a flush past its deadline gives it up,
                        // rather than sending it after the time it was given.
                        if handingBackOnCancel {
                            handBack(batches[index...])
                        } else {
                            for batch in batches[index...] { countFailed(batch) }
                        }
                        for ticket in tickets[index...] { exportsInFlight.end(ticket) }
                        return
                    }
                    inFlight += 1
                }
            }
        }
    }

    /// Whether the agent was found away and its backoff has not passed yet.
    private var backingOff: Bool { retryAt.withLock { $0 }.map { timeline.now <= $0 } == true }

    /// One batch taken from a queue for export.
    private enum TakenBatch: Sendable {
        case spans([PeriscopeModel.Span])
        case logs([LogRecord])
    }

    /// Everything queued now, as batches alternating spans and logs.
    private func takeBatches() -> [TakenBatch] {
        let spanBatches = spans.takeAll()
        let logBatches = logs.takeAll()
        var batches: [TakenBatch] = []
        batches.reserveCapacity(spanBatches.count + logBatches.count)
        for index in 0..<max(spanBatches.count, logBatches.count) {
            if index < spanBatches.count { batches.append(.spans(spanBatches[index])) }
            if index < logBatches.count { batches.append(.logs(logBatches[index])) }
        }
        return batches
    }

    /// Puts batches taken but not sent back in front of their queues, oldest first; a batch that
    /// would take a queue past twice its capacity is counted failed instead.
    /// `countsAsHandBack`: a flush waiting for these batches sends them itself (the loop was
    /// cancelled); a batch kept after the agent could not take it waits for the loop's next try.
    /// Answers how many were put back (the others were counted failed).
    @discardableResult
    private func handBack(_ batches: ArraySlice<TakenBatch>, countsAsHandBack: Bool = true) -> Int {
        var restoredCount = 0
        for batch in batches.reversed() {
            let restored = switch batch {
            case .spans(let items): spans.restore(items)
            case .logs(let items): logs.restore(items)
            }
            if restored { restoredCount += 1 } else { countFailed(batch) }
        }
        if countsAsHandBack { handBacks.add(1, ordering: .releasing) }
        return restoredCount
    }

    /// Counts a batch given up on, and its items as lost.
    private func countFailed(_ batch: TakenBatch) {
        failedExportsCount.add(1, ordering: .relaxed)
        switch batch {
        case .spans(let items): failedSpansCount.add(items.count, ordering: .relaxed)
        case .logs(let items): failedLogsCount.add(items.count, ordering: .relaxed)
        }
    }

    /// Sends one batch. With `keepingIfUnreachable` (the background loop) a batch the agent did
    /// not take for a transient reason — absent, restarting, busy — goes back to the front of its
    /// queue and the loop waits out a backoff before trying again, so an agent restart loses
    /// nothing while the queues have room (only what overflows them is dropped, and counted);
    /// otherwise, and for a batch refused for good, it is counted failed.
    private func export(_ batch: TakenBatch, keepingIfUnreachable: Bool) async {
        let outcome: SendOutcome
        switch batch {
        case .spans(let items):
            outcome = await send(OTLPEncoder.encode(
                .traces([ResourceSpans(resource: resource, scopes: [ScopeSpans(scope: scope, spans: items)])]), format: .protobuf), signal: .traces)
            if outcome == .delivered { exportedSpansCount.add(items.count, ordering: .relaxed) }
        case .logs(let items):
            outcome = await send(OTLPEncoder.encode(
                .logs([ResourceLogs(resource: resource, scopes: [ScopeLogs(scope: scope, records: items)])]), format: .protobuf), signal: .logs)
            if outcome == .delivered { exportedLogsCount.add(items.count, ordering: .relaxed) }
        }
        switch outcome {
        case .delivered:
            // A backoff set meanwhile stands: an agent taking some requests and refusing others
            // (429) is not sent the refused ones again at once.
            break
        case .notTaken(let retryAfter) where keepingIfUnreachable:
            let ceiling = configuration.retry.ceiling(retry: consecutiveFailures.load(ordering: .relaxed))
            // Half the ceiling at least (equal jitter), and never sooner than the agent asked (up to a minute).
            let wait = max(ceiling / 2 + ceiling / 2 * Double.random(in: 0...1), min(retryAfter ?? .zero, Self.longestRetryAfter))
            retryAt.withLock { $0 = max($0 ?? .zero, timeline.now + wait) }
            if handBack([batch][...], countsAsHandBack: false) > 0 { deferredExportsCount.add(1, ordering: .relaxed) }
        case .notTaken, .failed, .cancelled:
            countFailed(batch)
        }
    }

    /// The longest `Retry-After` a kept batch waits for: past it the loop asks again.
    static let longestRetryAfter = Duration.seconds(60)

    /// What became of one batch sent.
    enum SendOutcome: Equatable {
        case delivered
        /// Not taken, and the agent surely does not have it: it could not be reached, or it
        /// answered 429 or 503 (full, busy, restarting) — sending it again later loses and doubles nothing.
        case notTaken(retryAfter: Duration?)
        /// Refused for good (400, 413, an endpoint that cannot be asked), or failed in a way that
        /// leaves open whether the agent has it (a timeout, a reset once sent, any other status):
        /// it is not sent again (the SDK's requests carry no batch ID to drop a copy by).
        case failed
        /// Cut short by cancellation (a service on its way out): the agent may have it already, so
        /// it is not sent again.
        case cancelled
    }

    /// Whether `error` came before the request reached the agent: the connection was refused or
    /// could not be made, so nothing was sent.
    static func neverSent(_ error: any Error) -> Bool {
        if let io = error as? IOError { return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, ENOENT].contains(io.errnoCode) }
        if let connection = error as? NIOConnectionError {
            return !connection.connectionErrors.isEmpty && connection.connectionErrors.allSatisfy { neverSent($0.error) }
        }
        if let client = error as? HTTPClientError { return client == .connectTimeout }
        return false
    }

    /// POSTs one encoded batch, retrying transient failures.
    private func send(_ body: [UInt8], signal: Signal) async -> SendOutcome {
        let outcome = await attemptSend(body, signal: signal)
        if outcome == .delivered {
            consecutiveFailures.store(0, ordering: .relaxed)
        } else {
            consecutiveFailures.add(1, ordering: .relaxed)
        }
        return outcome
    }

    private func attemptSend(_ body: [UInt8], signal: Signal) async -> SendOutcome {
        let url = configuration.signalEndpoints[signal] ?? baseURL + signal.path
        // `Periscope` refuses such an endpoint up front; an exporter built directly must not trap
        // in the HTTP client (a port past 65535 did), killing the service: the batch is not delivered.
        guard EndpointURL.problem(url) == nil else { return .failed }
        let policy = configuration.retry
        let attempts = consecutiveFailures.load(ordering: .relaxed) > 0 ? 1 : (policy.maxAttempts ?? Int.max)
        // Kept for another try only if no attempt may have reached the agent.
        var surelyNotTaken = true
        var retryAfter: Duration?
        for attempt in 1...attempts {
            retryAfter = nil
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                for (name, value) in configuration.headers { request.headers.add(name: name, value: value) }
                request.headers.add(name: "Content-Type", value: OTLPFormat.protobuf.rawValue)
                request.headers.add(name: "User-Agent", value: "periscope-sdk-swift/\(PeriscopeVersion.current)")
                request.body = .bytes(body)
                let response = try await client.execute(
                    request, timeout: .nanoseconds(configuration.requestTimeout.wholeNanoseconds))
                let status = Int(response.status.code)
                // The body is read only to free the connection: neither its size nor a failure
                // reading it changes what the status said (a 2xx read badly is still delivered).
                do { for try await _ in response.body {} } catch {}
                switch RetryPolicy.verdict(status: status) {
                case .delivered: return .delivered
                case .refused: return .failed
                case .retry:
                    retryAfter = RetryPolicy.retryAfter(response.headers.first(name: "Retry-After"))
                    surelyNotTaken = surelyNotTaken && (status == 429 || status == 503)
                }
            } catch {
                // Connection refused, timeouts, resets: all worth another try.
                surelyNotTaken = surelyNotTaken && Self.neverSent(error)
                if Task.isCancelled { return surelyNotTaken ? .notTaken(retryAfter: nil) : .cancelled }
            }
            guard attempt < attempts else { break }
            do {
                try await timeline.sleep(for: policy.backoff(retry: attempt, retryAfter: retryAfter))
            } catch {
                return surelyNotTaken ? .notTaken(retryAfter: retryAfter) : .cancelled
            }
        }
        return surelyNotTaken ? .notTaken(retryAfter: retryAfter) : .failed
    }
}

/// Runs `body`, cancelling it once `timeout` has passed on `timeline`; true when `body` ended first.
@discardableResult
func withDeadline(_ timeout: Duration, on timeline: Timeline, _ body: @escaping @Sendable () async -> Void) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            await body()
            return true
        }
        group.addTask {
            try? await timeline.sleep(for: timeout)
            return false
        }
        let finishedFirst = await group.next() ?? false
        group.cancelAll()
        return finishedFirst
    }
}

/// The default export client: process-wide like `HTTPClient.shared`, but with tracing off so an
/// export never records a span (which would be exported, which would record a span…).
private let exportHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.tracing.tracer = nil
    configuration.timeout = .init(connect: .seconds(1), read: .seconds(10))
    configuration.redirectConfiguration = .disallow
    // An absent agent should fail a batch at once, not hold it while the pool retries connecting.
    configuration.connectionPool.retryConnectionEstablishment = false
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()
