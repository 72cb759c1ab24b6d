/// What one run sends: how many services, at what rates, for how long, in what request sizes.
struct LoadShape: Codable, Sendable {
    /// Simulated services, each with its own `service.name` and request stream.
    var services: Int
    /// Spans per second each service offers.
    var spansPerSecond: Int
    /// Log records per second each service offers.
    var logsPerSecond: Int
    /// How long the load lasts.
    var durationSeconds: Double
    /// Upper bound on spans sent per service, whatever the duration.
    var maxSpansPerService: Int
    /// Spans per trace: one server root, the rest its children.
    var spansPerTrace: Int
    /// OTLP requests per second per service and signal (an SDK's export cadence).
    var requestsPerSecond: Int
    /// Requests a service may have in flight at once.
    var maxInFlight: Int
    /// When in each tick the request streams (each service's traces and logs) send.
    var phase: Phase = .together

    /// `together`: every stream sends at the start of each tick, a burst of all of them at
    /// once, as exporters whose timers happen to be in step. `spread`: stream k of n sends k/n
    /// of a tick later, as independent exporters' timers fall.
    enum Phase: String, Codable, Sendable, CaseIterable {
        case together
        case spread
    }

    /// How far into each tick stream `index` (service × 2 + 0 for traces, 1 for logs) sends.
    func offset(stream index: Int, interval: Duration) -> Duration {
        switch phase {
        case .together: .zero
        case .spread: interval * index / (services * 2)
        }
    }

    /// Ticks each service runs: bounded by the duration and by the span cap.
    var ticks: Int {
        let byDuration = Int(durationSeconds * Double(requestsPerSecond))
        let perTick = max(1, spansPerTick)
        return spansPerSecond > 0 ? min(byDuration, max(1, maxSpansPerService / perTick)) : byDuration
    }

    /// Spans per traces request, rounded down to whole traces.
    var spansPerTick: Int {
        let raw = spansPerSecond / max(1, requestsPerSecond)
        return spansPerSecond > 0 ? max(spansPerTrace, raw - raw % spansPerTrace) : 0
    }

    /// Log records per logs request.
    var logsPerTick: Int {
        logsPerSecond / max(1, requestsPerSecond)
    }
}
