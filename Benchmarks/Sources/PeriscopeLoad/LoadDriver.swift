import PeriscopeBenchKit
import Foundation

/// Sends the load: each simulated service posts a traces request and a logs request every
/// tick, on a fixed schedule, with at most `maxInFlight` requests outstanding; a spread-out
/// sample of traces is probed for freshness. Every loop is bounded by the tick count.
struct LoadDriver: Sendable {
    /// What to send.
    let shape: LoadShape
    /// Where to send it and where to probe.
    let endpoints: HTTPEndpoints
    /// Trace and span IDs for this run.
    let ids: IDSource
    /// Where outcomes are recorded.
    let ledger: LoadLedger
    /// How many traces to probe for freshness over the whole run.
    let freshnessSamples: Int
    /// Longest a probe polls before calling the trace late.
    let probeLimit: Duration = .seconds(30)

    /// Runs every service to the end of its schedule and waits for its requests and probes.
    func run() async {
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { services in
            for service in 0..<shape.services {
                services.addTask { await runService(service, start: start) }
            }
        }
    }

    private func runService(_ service: Int, start: ContinuousClock.Instant) async {
        let interval = Duration.seconds(1) / shape.requestsPerSecond
        let ticks = shape.ticks
        let tracesPerTick = shape.spansPerTick / max(1, shape.spansPerTrace)
        let probeEvery = max(1, (shape.services * ticks) / max(1, freshnessSamples))
        let name = "load-service-\(service)"
        await withTaskGroup(of: Bool.self) { group in
            var inFlight = 0
            let tracesOffset = shape.offset(stream: service * 2, interval: interval)
            let logsOffset = shape.offset(stream: service * 2 + 1, interval: interval)
            for tick in 0..<ticks {
                let due = start + interval * tick
                let firstTrace = UInt64((service * ticks + tick) * tracesPerTick)
                let probe = (service * ticks + tick) % probeEvery == 0 && tracesPerTick > 0
                // Each stream: when it is due, and how to make its request (body included).
                var streams: [(due: ContinuousClock.Instant, make: () -> @Sendable () async -> Void)] = []
                if tracesPerTick > 0 {
                    streams.append((due + tracesOffset, {
                        let body = OTLPPayloads.traces(service: name, spans: spans(firstTrace: firstTrace, count: tracesPerTick))
                        return { await send(path: "/v1/traces", body: body, items: tracesPerTick * shape.spansPerTrace,
                                            firstTrace: firstTrace, probe: probe) }
                    }))
                }
                if shape.logsPerTick > 0 {
                    streams.append((due + logsOffset, {
                        let body = OTLPPayloads.logs(service: name, records: logs(firstTrace: firstTrace, count: shape.logsPerTick))
                        return { await send(path: "/v1/logs", body: body, items: shape.logsPerTick, firstTrace: nil, probe: false) }
                    }))
                }
                // Together: both bodies are made at the tick, then both sent. Spread: each is made and sent at its own moment.
                var made: [@Sendable () async -> Void] = []
                if shape.phase == .together {
                    if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                    made = streams.map { $0.make() }
                }
                for (index, stream) in streams.enumerated() {
                    let sendOne: @Sendable () async -> Void
                    if shape.phase == .together {
                        sendOne = made[index]
                    } else {
                        if stream.due > .now { try? await Task.sleep(until: stream.due, clock: .continuous) }
                        sendOne = stream.make()
                    }
                    while inFlight >= shape.maxInFlight, await group.next() != nil { inFlight -= 1 }
                    inFlight += 1
                    group.addTask { await sendOne(); return true }
                }
            }
        }
    }

    /// Posts one body, records the outcome, and when asked probes the first trace's freshness.
    private func send(path: String, body: [UInt8], items: Int, firstTrace: UInt64?, probe: Bool) async {
        let sent = ContinuousClock.now
        let status = await endpoints.postOTLP(path: path, body: body)
        let acknowledged = ContinuousClock.now
        ledger.recordRequest(isTraces: path == "/v1/traces", items: items, status: status,
                             latencyMs: Self.milliseconds(acknowledged - sent), firstTrace: firstTrace)
        guard probe, status == 200, let firstTrace else { return }
        let traceHex = IDSource.hex(ids.traceID(firstTrace))
        let deadline = acknowledged + probeLimit
        while ContinuousClock.now < deadline {
            if let count = await endpoints.spanCount(traceHex: traceHex), count >= shape.spansPerTrace {
                let now = ContinuousClock.now
                ledger.recordFreshness(fromSendMs: Self.milliseconds(now - sent), fromAckMs: Self.milliseconds(now - acknowledged))
                return
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        ledger.recordFreshness(fromSendMs: nil, fromAckMs: nil)
    }

    /// `count` traces of `shape.spansPerTrace` spans: a server root, then client and internal children.
    private func spans(firstTrace: UInt64, count: Int) -> [OTLPPayloads.SpanSpec] {
        let now = Self.nowNanos()
        var out: [OTLPPayloads.SpanSpec] = []
        out.reserveCapacity(count * shape.spansPerTrace)
        for offset in 0..<count {
            let number = firstTrace + UInt64(offset)
            let traceID = ids.traceID(number)
            let rootID = ids.spanID(trace: number, position: 0)
            let failed = number % 50 == 0
            out.append(.init(
                traceID: traceID, spanID: rootID, parentSpanID: nil, name: "GET /api/orders/{id}", kind: 2,
                startNanos: now - 40_000_000, endNanos: now,
                attributes: [("http.request.method", "GET"), ("http.route", "/api/orders/{id}"),
                             ("http.response.status_code", failed ? "500" : "200"),
                             ("correlation_id", "corr-\(number)")],
                isError: failed))
            for position in 1..<max(1, shape.spansPerTrace) {
                let isClient = position % 2 == 1
                out.append(.init(
                    traceID: traceID, spanID: ids.spanID(trace: number, position: position), parentSpanID: rootID,
                    name: isClient ? "SELECT orders" : "render order", kind: isClient ? 3 : 1,
                    startNanos: now - 35_000_000 + UInt64(position) * 1_000_000,
                    endNanos: now - 30_000_000 + UInt64(position) * 1_000_000,
                    attributes: isClient ? [("db.system", "postgresql"), ("server.address", "db.internal")] : [],
                    isError: false))
            }
        }
        return out
    }

    /// `count` INFO lines tied to the tick's first trace, carrying a correlation ID.
    private func logs(firstTrace: UInt64, count: Int) -> [OTLPPayloads.LogSpec] {
        let now = Self.nowNanos()
        let traceID = ids.traceID(firstTrace)
        let spanID = ids.spanID(trace: firstTrace, position: 0)
        return (0..<count).map { index in
            .init(timeNanos: now + UInt64(index), traceID: traceID, spanID: spanID,
                  body: "order \(firstTrace)-\(index) loaded from cache in 3 ms",
                  attributes: [("correlation_id", "corr-\(firstTrace)"), ("order_id", "\(index)")])
        }
    }

    /// Wall-clock time as Unix nanoseconds, for span and log timestamps.
    static func nowNanos() -> UInt64 {
        UInt64(Date().timeIntervalSince1970 * 1_000_000_000)
    }

    /// `duration` in (fractional) milliseconds.
    static func milliseconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }
}
