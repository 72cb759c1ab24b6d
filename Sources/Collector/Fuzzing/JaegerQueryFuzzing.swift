import PeriscopeQueryAPI

/// Entry point for fuzzing what the collector reads from a Jaeger query string
/// (`JaegerRoutes.search`, `traceID=`, `endTs`/`start` numbers) and the text it writes for
/// Prometheus around names it did not choose (`CollectorExposition`): any input is taken or
/// refused with `QueryParameters.Invalid`, never trapped on; a taken search has its start at
/// or before its end, both within the times a query may name, and a limit Jaeger's way; every
/// line of the exposition is a comment or a `periscope_` series, whatever the SLO's name,
/// service or labels hold (a newline in one must not start a line of its own). Public for the
/// libFuzzer target in `Fuzz/`; the property tests call it too.
public enum JaegerQueryFuzzing {
    public static func check(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        let parameters = QueryParameters(query: text)
        if let query = try? JaegerRoutes.search(parameters, nowUnixNano: 1_780_000_000_000_000_000) {
            precondition(query.startUnixNano <= query.endUnixNano && query.endUnixNano <= QueryParameters.latestTime, "search \(query) from '\(text)'")
            precondition((1...JaegerRoutes.maxTraces).contains(query.limit), "limit \(query.limit) from '\(text)'")
            if let least = query.minSpanDurationNanos, let most = query.maxSpanDurationNanos { precondition(least <= most, "durations from '\(text)'") }
        }
        if let ids = try? JaegerRoutes.traceIDs(parameters) { precondition(ids.count <= JaegerRoutes.maxTraces) }
        for (name, scale) in [("endTs", UInt64(1_000_000)), ("lookback", 1_000_000), ("start", 1_000), ("end", 1_000)] {
            if let nanos = try? JaegerRoutes.number(name, parameters, scale: scale) { precondition(nanos <= QueryParameters.latestTime) }
        }
        _ = JaegerRoutes.traceID(text)

        let status = QueryAPI.SLOStatus(
            name: text, service: text, operation: text.isEmpty ? nil : text, indicator: "availability", objective: 99, windowSeconds: 3_600,
            total: 1, good: 0, sli: 0, errorBudget: 0.01, budgetRemaining: -99, burnRates: [QueryAPI.BurnRate(window: "5m", seconds: 300, rate: .infinity)],
            timeToExhaustionSeconds: nil, alerts: [], labels: ["team": text])
        let exposition = String(decoding: CollectorExposition.text([status]), as: UTF8.self)
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            precondition(line.hasPrefix("# ") || line.hasPrefix("periscope_"), "an exposition line neither comment nor series: '\(line)' for '\(text)'")
            if line.hasPrefix("periscope_slo_") {
                precondition(labelValue("slo", in: line) == text, "the slo label of \(String(reflecting: line)) reads back as \(String(reflecting: labelValue("slo", in: line))), not \(String(reflecting: text))")
            }
        }
    }

    /// The value of `name` in a series line, unescaped as Prometheus reads it (`\\`, `\"`, `\n`),
    /// byte by byte: a quote followed by a combining mark is one `Character`, which a search or
    /// a walk by characters would not see as a quote.
    static func labelValue(_ name: String, in line: Substring) -> String? {
        let bytes = Array(line.utf8)
        var found: Int?
        for opening in ["{", ","] {
            let pattern = Array((opening + name + "=\"").utf8)
            if let index = bytes.indices.first(where: { bytes[$0...].starts(with: pattern) }) {
                found = index + pattern.count
                break
            }
        }
        guard var index = found else { return nil }
        var value = [UInt8]()
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "n"): value.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(escaped)
                default: return nil
                }
            default:
                value.append(byte)
            }
        }
        return nil
    }
}
