import PeriscopeModel

/// The times the collector stores: from the retention cutoff to the clock-skew allowance past
/// now. An item outside — a span from last year, a point in 2999 — is refused alone, as OTLP
/// partial success (`rejected_spans`, `rejected_log_records`, `rejected_data_points`), and the
/// rest of its request is stored. So one bad clock never sinks a batch, and no request can open
/// a day partition that retention would drop anyway (2,000 spans on 2,000 old days open none).
struct IngestTimeWindow: Sendable {
    var earliest: UInt64
    var latest: UInt64

    init(nowUnixNano: UInt64, retentionNanos: UInt64, maxFutureNanos: UInt64) {
        let (earliest, underflow) = nowUnixNano.subtractingReportingOverflow(retentionNanos)
        let (latest, overflow) = nowUnixNano.addingReportingOverflow(maxFutureNanos)
        self.earliest = underflow ? 0 : earliest
        self.latest = overflow ? .max : latest
    }

    /// The batch with only the items inside the window, how many were refused, and why.
    struct Outcome: Sendable {
        var batch: TelemetryBatch
        var rejected: Int
        var reason: String
    }

    func contains(_ unixNano: UInt64) -> Bool { unixNano >= earliest && unixNano <= latest }

    /// Filters `batch`; a log record with neither time nor observed time gets `nowUnixNano` as its
    /// observed time. The common case — everything inside — returns the batch as it came.
    func filter(_ batch: TelemetryBatch, nowUnixNano: UInt64) -> Outcome {
        switch batch {
        case .traces(let groups):
            let fits = { (span: Span) in contains(span.startTimeUnixNano) && span.endTimeUnixNano <= latest }
            guard groups.contains(where: { $0.scopes.contains { $0.spans.contains { !fits($0) } } }) else {
                return Outcome(batch: batch, rejected: 0, reason: "")
            }
            var rejected = 0
            var kept = groups
            for group in kept.indices {
                for scope in kept[group].scopes.indices {
                    let before = kept[group].scopes[scope].spans.count
                    kept[group].scopes[scope].spans.removeAll { !fits($0) }
                    rejected += before - kept[group].scopes[scope].spans.count
                }
            }
            return Outcome(batch: .traces(kept), rejected: rejected, reason: reason(rejected, "spans"))
        case .logs(let groups):
            // A record keeps its own time when that is inside; else its observed time when that is
            // (marked `periscope.time_unusable`, as the agent's tailer does); else it is refused.
            // One with neither time is placed at its arrival.
            func needsWork(_ record: LogRecord) -> Bool { record.effectiveTimeUnixNano == 0 || !contains(record.effectiveTimeUnixNano) }
            guard groups.contains(where: { $0.scopes.contains { $0.records.contains(where: needsWork) } }) else {
                return Outcome(batch: batch, rejected: 0, reason: "")
            }
            var rejected = 0
            var kept = groups
            for group in kept.indices {
                for scope in kept[group].scopes.indices {
                    var records = [LogRecord]()
                    records.reserveCapacity(kept[group].scopes[scope].records.count)
                    for var record in kept[group].scopes[scope].records {
                        if record.effectiveTimeUnixNano == 0 {
                            record.observedTimeUnixNano = nowUnixNano
                        } else if !contains(record.effectiveTimeUnixNano) {
                            guard record.timeUnixNano != 0, contains(record.observedTimeUnixNano) else {
                                rejected += 1
                                continue
                            }
                            record.attributes.append(Attribute("periscope.time_unusable", .bool(true)))
                            record.attributes.append(Attribute("periscope.original_time_unix_nano", .string(String(record.timeUnixNano))))
                            record.timeUnixNano = 0
                        }
                        records.append(record)
                    }
                    kept[group].scopes[scope].records = records
                }
            }
            return Outcome(batch: .logs(kept), rejected: rejected, reason: reason(rejected, "log records"))
        case .metrics(let groups):
            var rejected = 0
            var kept = groups
            for group in kept.indices {
                for scope in kept[group].scopes.indices {
                    for metric in kept[group].scopes[scope].metrics.indices {
                        kept[group].scopes[scope].metrics[metric].data = filtered(kept[group].scopes[scope].metrics[metric].data, rejected: &rejected)
                    }
                    kept[group].scopes[scope].metrics.removeAll { $0.data.pointCount == 0 }
                }
            }
            guard rejected > 0 else { return Outcome(batch: batch, rejected: 0, reason: "") }
            return Outcome(batch: .metrics(kept), rejected: rejected, reason: reason(rejected, "data points"))
        }
    }

    private func filtered(_ data: Metric.Data, rejected: inout Int) -> Metric.Data {
        switch data {
        case .gauge(let points):
            let kept = points.filter { contains($0.timeUnixNano) }
            rejected += points.count - kept.count
            return .gauge(kept)
        case .sum(let points, let temporality, let monotonic):
            let kept = points.filter { contains($0.timeUnixNano) }
            rejected += points.count - kept.count
            return .sum(kept, temporality: temporality, isMonotonic: monotonic)
        case .histogram(let points, let temporality):
            let kept = points.filter { contains($0.timeUnixNano) }
            rejected += points.count - kept.count
            return .histogram(kept, temporality: temporality)
        }
    }

    private func reason(_ rejected: Int, _ items: String) -> String {
        "\(rejected) \(items) timed outside what this collector keeps (from \(earliest) to \(latest) Unix ns: the retention window to the clock-skew allowance); the rest were stored"
    }
}
