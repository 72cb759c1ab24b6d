extension QueryAPI.Signals: DirectJSON {
    public func writeJSON(into out: inout JSONBytes) {
        out.object { out in
            out.key("endTimeUnixNano"); out.integer(endTimeUnixNano)
            out.key("rows"); out.array { out in for row in rows { row.writeJSON(into: &out) } }
            out.key("seriesStepSeconds"); out.integer(seriesStepSeconds)
            out.key("startTimeUnixNano"); out.integer(startTimeUnixNano)
            if let totalRows { out.key("totalRows"); out.integer(totalRows) }
        }
    }
}

extension QueryAPI.SignalRow: DirectJSON {
    public func writeJSON(into out: inout JSONBytes) {
        out.object { out in
            out.key("errorRatio"); out.double(errorRatio)
            out.key("errorSeries"); out.array { out in for count in errorSeries { out.integer(count) } }
            out.key("errorTypes")
            out.object { out in
                for (type, count) in errorTypes.sorted(by: { JSONBytes.keyOrder($0.key, $1.key) }) { out.key(type); out.integer(count) }
            }
            out.key("errors"); out.integer(errors)
            if let failureLatency { out.key("failureLatency"); failureLatency.writeJSON(into: &out) }
            if let latency { out.key("latency"); latency.writeJSON(into: &out) }
            if let operation { out.key("operation"); out.string(operation) }
            out.key("requests"); out.integer(requests)
            out.key("requestsPerSecond"); out.double(requestsPerSecond)
            if let saturation { out.key("saturation"); out.double(saturation) }
            out.key("series"); out.array { out in for count in series { out.integer(count) } }
            out.key("service"); out.string(service)
        }
    }
}

extension QueryAPI.Percentiles: DirectJSON {
    public func writeJSON(into out: inout JSONBytes) {
        out.object { out in
            out.key("p50"); out.double(p50)
            out.key("p90"); out.double(p90)
            out.key("p99"); out.double(p99)
            out.key("p999"); out.double(p999)
        }
    }
}
