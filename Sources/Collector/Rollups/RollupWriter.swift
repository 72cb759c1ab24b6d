import PeriscopeTelemetry

/// Aggregates one batch's requests per (service, operation, minute) in memory, then merges
/// them into the minute, hour and day rollup rows — a handful of upserts per batch, so the
/// rollups cost a small share of ingest. Also feeds the SLOs' good/total counts.
struct RollupWriter {
    let database: SQLiteDatabase
    let objectives: [ServiceLevelObjective]

    private struct Key: Hashable {
        var service: String
        var operation: String
        var minute: Int64
    }

    private struct Delta {
        var requests = 0
        var errors = 0
        var ok = LatencySketch()
        var failed = LatencySketch()
        var errorTypes: [String: Int] = [:]

        mutating func merge(_ other: Delta) {
            requests += other.requests
            errors += other.errors
            ok.merge(other.ok)
            failed.merge(other.failed)
            for (type, count) in other.errorTypes { errorTypes[type, default: 0] += count }
        }
    }

    private struct Counts {
        var total = 0.0
        var good = 0.0
    }

    /// The span-based rollups and SLO counts for spans just stored (never for duplicates).
    func record(spans: [(service: String, span: Span)]) throws {
        var deltas = [Key: Delta]()
        var sloCounts = [SLOKey: Counts]()
        for (service, span) in spans where RequestClassification.isRequest(span) {
            let minute = Resolution.minute.bucket(span.startTimeUnixNano)
            let errorType = RequestClassification.errorType(span)
            for operation in [span.name, ""] {
                var delta = deltas[Key(service: service, operation: operation, minute: minute), default: Delta()]
                delta.requests += 1
                if let errorType {
                    delta.errors += 1
                    delta.failed.add(span.durationNanos)
                    delta.errorTypes[errorType, default: 0] += 1
                } else {
                    delta.ok.add(span.durationNanos)
                }
                deltas[Key(service: service, operation: operation, minute: minute)] = delta
            }
            for objective in objectives {
                guard let good = objective.isGood(span, service: service, failed: errorType != nil) else { continue }
                var counts = sloCounts[SLOKey(slo: objective.name, minute: minute), default: Counts()]
                counts.total += 1
                if good { counts.good += 1 }
                sloCounts[SLOKey(slo: objective.name, minute: minute)] = counts
            }
        }
        for (key, delta) in deltas {
            for resolution in Resolution.allCases {
                let bucket = resolution == .minute ? key.minute : Int64(key.minute) / Int64(resolution.rawValue) * Int64(resolution.rawValue)
                try merge(delta, resolution: resolution, bucket: bucket, service: key.service, operation: key.operation)
            }
        }
        try write(sloCounts)
    }

    private struct SLOKey: Hashable {
        var slo: String
        var minute: Int64
    }

    /// Ratio SLOs: increments of their good and total counters.
    func record(ratioIncrements: [(slo: String, minute: Int64, good: Double, total: Double)]) throws {
        var counts = [SLOKey: Counts]()
        for increment in ratioIncrements {
            counts[SLOKey(slo: increment.slo, minute: increment.minute), default: Counts()].good += increment.good
            counts[SLOKey(slo: increment.slo, minute: increment.minute), default: Counts()].total += increment.total
        }
        try write(counts)
    }

    private func write(_ counts: [SLOKey: Counts]) throws {
        for (key, value) in counts {
            for resolution in Resolution.allCases {
                let bucket = key.minute / Int64(resolution.rawValue) * Int64(resolution.rawValue)
                try database.statement("""
                    INSERT INTO slo_counts (slo, resolution, bucket, total, good) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (slo, resolution, bucket) DO UPDATE SET total = total + excluded.total, good = good + excluded.good
                    """).bind(1, key.slo).bind(2, resolution.rawValue).bind(3, bucket).bind(4, value.total).bind(5, value.good).run()
            }
        }
    }

    private func merge(_ delta: Delta, resolution: Resolution, bucket: Int64, service: String, operation: String) throws {
        var merged = delta
        let select = try database.statement("""
            SELECT requests, errors, ok_latency, error_latency, error_types FROM rollups
            WHERE resolution = ? AND bucket = ? AND service = ? AND operation = ?
            """).bind(1, resolution.rawValue).bind(2, bucket).bind(3, service).bind(4, operation)
        if try select.step() {
            var stored = Delta()
            stored.requests = select.int(0)
            stored.errors = select.int(1)
            stored.ok = LatencySketch(encoded: select.blob(2))
            stored.failed = LatencySketch(encoded: select.blob(3))
            stored.errorTypes = ErrorTypes.decode(select.string(4))
            merged.merge(stored)
            _ = try select.step()
        }
        try database.statement("""
            INSERT OR REPLACE INTO rollups (resolution, bucket, service, operation, requests, errors, ok_latency, error_latency, error_types)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).bind(1, resolution.rawValue).bind(2, bucket).bind(3, service).bind(4, operation)
            .bind(5, merged.requests).bind(6, merged.errors)
            .bind(7, blob: merged.ok.encoded).bind(8, blob: merged.failed.encoded)
            .bind(9, ErrorTypes.encode(merged.errorTypes)).run()
    }
}

/// Error counts by type, stored as `type=count` pairs separated by newlines.
enum ErrorTypes {
    static func encode(_ counts: [String: Int]) -> String {
        counts.keys.sorted().map { "\($0.replacingOccurrences(of: "\n", with: " "))=\(counts[$0]!)" }.joined(separator: "\n")
    }

    static func decode(_ text: String) -> [String: Int] {
        var out = [String: Int]()
        for line in text.split(separator: "\n") {
            guard let equals = line.lastIndex(of: "="), let count = Int(line[line.index(after: equals)...]) else { continue }
            out[String(line[..<equals]), default: 0] += count
        }
        return out
    }
}
