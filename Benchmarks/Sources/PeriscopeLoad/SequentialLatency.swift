import PeriscopeBenchKit
import AsyncHTTPClient
import Foundation
import NIOCore

/// What an exporter that waits for each answer sees: one-span OTLP/HTTP requests sent one at a
/// time, alternately to the agent and straight to the collector, so both are measured in the
/// same minute on the same machine. The agent's answer means "in its durable queue"; the
/// collector's means "committed to its store".
struct SequentialLatency: Sendable {
    let requests: Int
    let endpoints: HTTPEndpoints
    let ids = IDSource()

    struct Report: Codable, Sendable {
        var requests: Int
        var agentMs: Percentiles
        var collectorMs: Percentiles
        var agentFailures: Int
        var collectorFailures: Int
        /// Agent median over collector median.
        var medianRatio: Double
    }

    func run() async -> Report {
        var agent: [Double] = []
        var collector: [Double] = []
        var agentFailures = 0
        var collectorFailures = 0
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        for number in 0..<requests {
            let span = OTLPPayloads.SpanSpec(
                traceID: ids.traceID(UInt64(number)), spanID: ids.spanID(trace: UInt64(number), position: 0), parentSpanID: nil,
                name: "GET /sequential", kind: 2, startNanos: now, endNanos: now + 1_000_000, attributes: [], isError: false)
            let body = OTLPPayloads.traces(service: "sequential", spans: [span])
            // Alternate which goes first, so neither always meets a warmer cache.
            let targets = number % 2 == 0 ? [true, false] : [false, true]
            for toAgent in targets {
                let started = ContinuousClock.now
                let status = await endpoints.postOTLP(path: "/v1/traces", body: body, base: toAgent ? endpoints.agentURL : endpoints.collectorURL)
                let milliseconds = LoadDriver.milliseconds(ContinuousClock.now - started)
                if toAgent {
                    if status == 200 { agent.append(milliseconds) } else { agentFailures += 1 }
                } else {
                    if status == 200 { collector.append(milliseconds) } else { collectorFailures += 1 }
                }
            }
        }
        let agentFigures = Percentiles(agent)
        let collectorFigures = Percentiles(collector)
        return Report(
            requests: requests, agentMs: agentFigures, collectorMs: collectorFigures,
            agentFailures: agentFailures, collectorFailures: collectorFailures,
            medianRatio: collectorFigures.p50 > 0 ? agentFigures.p50 / collectorFigures.p50 : 0)
    }
}

extension SequentialLatency.Report {
    func table() -> String {
        func row(_ name: String, _ figures: Percentiles, _ failures: Int) -> String {
            String(format: "| %@ | %d | %.2f | %.2f | %.2f | %d |", name, figures.count, figures.p50, figures.p99, figures.max, failures)
        }
        return """
            | answered by | requests | p50 ms | p99 ms | max ms | failed |
            | --- | ---: | ---: | ---: | ---: | ---: |
            \(row("periscope-agent (in its durable queue)", agentMs, agentFailures))
            \(row("periscope-collector (committed to SQLite)", collectorMs, collectorFailures))

            agent p50 / collector p50 = \(String(format: "%.2f", medianRatio))
            """
    }
}
