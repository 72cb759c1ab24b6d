import PeriscopeTelemetry

/// The rollup journal of one partition: each batch appends its `RollupDeltas` in its own
/// transaction (one row, cheap); `flush` merges every journaled entry into the minute, hour
/// and day rollup rows and the SLO counts, and deletes the entries, in one transaction — so
/// a crash at any point neither loses nor double-counts a batch, and a row that many batches
/// touch is rewritten once per flush.
struct RollupWriter {
    let database: SQLiteDatabase

    func journal(_ deltas: RollupDeltas) throws {
        guard !deltas.isEmpty else { return }
        try database.statement("INSERT INTO rollup_journal (deltas) VALUES (?)").bind(1, blob: deltas.encoded).run()
    }

    /// Merges and deletes every journal entry; call inside a transaction. Returns the entries merged.
    @discardableResult
    func flush() throws -> Int {
        var merged = RollupDeltas()
        var entries = 0
        let select = try database.statement("SELECT deltas FROM rollup_journal")
        while try select.step() {
            entries += 1
            // A damaged entry (it never is, unless the file is) must not block the others.
            if let deltas = try? RollupDeltas(encoded: select.blob(0)) { merged.merge(deltas) }
        }
        guard entries > 0 else { return 0 }
        try apply(merged)
        try database.statement("DELETE FROM rollup_journal").run()
        return entries
    }

    private func apply(_ deltas: RollupDeltas) throws {
        var byBucket = [Resolution: [RollupDeltas.Key: RollupDeltas.Requests]]()
        for (key, delta) in deltas.requests {
            for resolution in Resolution.allCases {
                let bucket = key.minute / Int64(resolution.rawValue) * Int64(resolution.rawValue)
                let coarse = RollupDeltas.Key(service: key.service, operation: key.operation, minute: bucket)
                byBucket[resolution, default: [:]][coarse, default: RollupDeltas.Requests()].merge(delta)
            }
        }
        for (resolution, rows) in byBucket {
            for (key, delta) in rows { try merge(delta, resolution: resolution, key: key) }
        }
        var sloRows = [Resolution: [RollupDeltas.SLOKey: RollupDeltas.Counts]]()
        for (key, counts) in deltas.slo {
            for resolution in Resolution.allCases {
                let bucket = key.minute / Int64(resolution.rawValue) * Int64(resolution.rawValue)
                let coarse = RollupDeltas.SLOKey(slo: key.slo, minute: bucket)
                sloRows[resolution, default: [:]][coarse, default: RollupDeltas.Counts()].total += counts.total
                sloRows[resolution, default: [:]][coarse, default: RollupDeltas.Counts()].good += counts.good
            }
        }
        for (resolution, rows) in sloRows {
            for (key, counts) in rows {
                try database.statement("""
                    INSERT INTO slo_counts (slo, resolution, bucket, total, good) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (slo, resolution, bucket) DO UPDATE SET total = total + excluded.total, good = good + excluded.good
                    """).bind(1, key.slo).bind(2, resolution.rawValue).bind(3, key.minute).bind(4, counts.total).bind(5, counts.good).run()
            }
        }
    }

    /// Read, merge, write one rollup row (`key.minute` holds the bucket of `resolution`).
    private func merge(_ delta: RollupDeltas.Requests, resolution: Resolution, key: RollupDeltas.Key) throws {
        var merged = delta
        let select = try database.statement("""
            SELECT requests, errors, ok_latency, error_latency, error_types FROM rollups
            WHERE resolution = ? AND bucket = ? AND service = ? AND operation = ?
            """).bind(1, resolution.rawValue).bind(2, key.minute).bind(3, key.service).bind(4, key.operation)
        if try select.step() {
            var stored = RollupDeltas.Requests()
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
            """).bind(1, resolution.rawValue).bind(2, key.minute).bind(3, key.service).bind(4, key.operation)
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
