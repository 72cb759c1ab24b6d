import PeriscopeModel
import Prometheus

/// OpenTelemetry metrics in Prometheus's text format, named as OpenTelemetry's Prometheus
/// compatibility rules name them: dots become underscores, the unit is a suffix (`By` →
/// `bytes`, `s` → `seconds`, `1` → `ratio` on gauges; `{batch}`-style annotations are dropped)
/// unless the name already says it, and a monotonic cumulative sum is a counter ending in
/// `_total`. Point attributes become labels. For the agent's `GET /metrics`.
enum MetricExposition {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func text(_ metrics: [Metric]) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        for metric in metrics {
            switch metric.data {
            case .sum(let points, .cumulative, true):
                let name = prometheusName(metric.name, unit: metric.unit, counter: true)
                for point in points {
                    let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: metric.description)
                    let counter = registry.makeCounter(descriptor: descriptor, labels: labels(point.attributes))
                    switch point.value {
                    case .int(let value): counter.increment(by: max(0, value))
                    case .double(let value): counter.increment(by: value.isFinite ? max(0, value) : 0)
                    }
                }
            case .gauge(let points), .sum(let points, _, _):
                let name = prometheusName(metric.name, unit: metric.unit, counter: false)
                for point in points {
                    let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: metric.description)
                    registry.makeGauge(descriptor: descriptor, labels: labels(point.attributes)).set(point.value.asDouble)
                }
            case .histogram:
                continue
            }
        }
        return registry.emitToBuffer()
    }

    static func prometheusName(_ name: String, unit: String, counter: Bool) -> String {
        var result = String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            ("0"..."9").contains(scalar) || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_" || scalar == ":" ? scalar : "_"
        }))
        if let first = result.unicodeScalars.first, ("0"..."9").contains(first) { result = "_" + result }
        let suffix: String? = switch unit {
        case "By": "bytes"
        case "s": "seconds"
        case "ms": "milliseconds"
        case "1": counter ? nil : "ratio"
        default: nil
        }
        if let suffix, !result.split(separator: "_").contains(Substring(suffix)) { result += "_" + suffix }
        if counter, !result.hasSuffix("_total") { result += "_total" }
        return result
    }

    private static func labels(_ attributes: [Attribute]) -> [(String, String)] {
        attributes.map { (prometheusName($0.key, unit: "", counter: false), $0.value.text) }
    }
}
