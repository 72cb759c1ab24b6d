import NIOCore
import PostgresNIO

/// Cumulative counters' baselines in `counter_baselines`, shared by every collector, read and
/// advanced inside the batch's own transaction: a counter whose points reach different
/// collectors counts each increase once, and a batch rolled back (and retried) leaves the
/// baselines as they were. A series is keyed by the SHA-256 of `CounterReading.series` (fixed
/// size, whatever the attributes).
struct PostgresCounterBaselines {
    let session: PostgresSession

    /// `trustedSinceUnixNano`: see `CounterBaseline.advance`; a series with no row is either
    /// new or was deleted by retention after a silence (`seen_ns` older than the cutoff).
    func increases(_ readings: [CounterReading], nowUnixNano: UInt64, trustedSinceUnixNano: UInt64) throws -> [Double] {
        let keys = Array(Set(readings.map(\.series))).map { ByteBuffer(bytes: $0) }
        let now = Int64(clamping: nowUnixNano)
        // A new series gets its row first, in key order, so batches sharing series lock them in one order.
        try session.query("""
            INSERT INTO periscope.counter_baselines (series, seen_ns)
            SELECT h, \(now) FROM (SELECT DISTINCT sha256(k) AS h FROM unnest(\(keys)) AS u(k)) AS d ORDER BY h
            ON CONFLICT DO NOTHING
            """, "adding counter baselines")
        var baselines = [[UInt8]: CounterBaseline]()
        for row in try session.query("""
            SELECT u.k, b.value, b.time_ns FROM periscope.counter_baselines AS b JOIN unnest(\(keys)) AS u(k) ON b.series = sha256(u.k)
            ORDER BY b.series FOR UPDATE OF b
            """, "reading counter baselines") {
            let (key, value, time) = try row.decode((ByteBuffer, Double?, Int64).self)
            if let value { baselines[Array(key.readableBytesView)] = CounterBaseline(value: value, timeUnixNano: UInt64(clamping: time)) }
        }
        let increases = readings.map { reading in
            let (increase, baseline) = CounterBaseline.advance(baselines[reading.series], by: reading, trustedSinceUnixNano: trustedSinceUnixNano)
            baselines[reading.series] = baseline
            return increase
        }
        let advanced = keys.compactMap { key in baselines[Array(key.readableBytesView)].map { (key, $0) } }
        // `seen_ns` (for retention) moves at most hourly, so most updates change no indexed column.
        try session.query("""
            UPDATE periscope.counter_baselines AS b SET value = u.v, time_ns = u.t,
                seen_ns = CASE WHEN b.seen_ns < \(now) - 3600000000000 THEN \(now) ELSE b.seen_ns END
            FROM unnest(\(advanced.map(\.0)), \(advanced.map(\.1.value)), \(advanced.map { Int64(clamping: $0.1.timeUnixNano) })) AS u(k, v, t)
            WHERE b.series = sha256(u.k)
            """, "advancing counter baselines")
        return increases
    }
}
