@testable import PeriscopeAgent
import PeriscopeModel
import Testing

@Suite("The agent's metrics in Prometheus's text format")
struct MetricExpositionTests {
    @Test("names follow OpenTelemetry's Prometheus rules: underscores, unit suffixes once, _total on monotonic cumulative sums")
    func names() {
        #expect(MetricExposition.prometheusName("periscope.agent.queue.bytes", unit: "By", counter: false) == "periscope_agent_queue_bytes")
        #expect(MetricExposition.prometheusName("periscope.agent.tail.bytes_read", unit: "By", counter: true) == "periscope_agent_tail_bytes_read_total")
        #expect(MetricExposition.prometheusName("periscope.agent.queue.oldest_age", unit: "s", counter: false) == "periscope_agent_queue_oldest_age_seconds")
        #expect(MetricExposition.prometheusName("periscope.agent.queue.utilization", unit: "1", counter: false) == "periscope_agent_queue_utilization_ratio")
        #expect(MetricExposition.prometheusName("periscope.agent.shipper.shipped", unit: "{batch}", counter: true) == "periscope_agent_shipper_shipped_total")
        #expect(MetricExposition.prometheusName("requests_total", unit: "{request}", counter: true) == "requests_total")
        #expect(MetricExposition.prometheusName("9lives-é", unit: "", counter: false) == "_9lives__")
    }

    @Test("gauges and counters with their values; delta and non-monotonic sums are gauges; negative or non-finite counters read 0")
    func text() {
        let text = String(decoding: MetricExposition.text([
            Metric(name: "a.gauge", unit: "By", data: .gauge([NumberPoint(timeUnixNano: 1, value: .int(42))])),
            Metric(name: "a.count", description: "things", unit: "{thing}", data: .sum(
                [NumberPoint(attributes: [Attribute("kind", .string("x\"y"))], startTimeUnixNano: 1, timeUnixNano: 2, value: .int(7))],
                temporality: .cumulative, isMonotonic: true)),
            Metric(name: "a.delta", data: .sum([NumberPoint(startTimeUnixNano: 1, timeUnixNano: 2, value: .double(2.5))], temporality: .delta, isMonotonic: true)),
            Metric(name: "a.bad", data: .sum([NumberPoint(startTimeUnixNano: 1, timeUnixNano: 2, value: .double(.nan))], temporality: .cumulative, isMonotonic: true)),
            Metric(name: "a.negative", data: .sum([NumberPoint(startTimeUnixNano: 1, timeUnixNano: 2, value: .int(-3))], temporality: .cumulative, isMonotonic: true)),
        ]), as: UTF8.self)
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            "# TYPE a_gauge_bytes gauge", "a_gauge_bytes 42.0",
            "# HELP a_count_total things", "# TYPE a_count_total counter", #"a_count_total{kind="x\"y"} 7"#,
            "# TYPE a_delta gauge", "a_delta 2.5", "a_bad_total 0", "a_negative_total 0",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in\n\(text)")
        }
    }
}
