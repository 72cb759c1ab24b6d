/// Where golden signals and SLO evaluation read rollups from: the buckets `RollupWriter` stored,
/// each shard's (a day partition's) with the names its numbers stand for. The reader decodes;
/// the store only finds rows, so a second backend serves the same questions with the same code.
protocol RollupSource: Sendable {
    /// From the start of the first stored day to the end of the last; `nil` when nothing is stored.
    var storedTimeRange: ClosedRange<UInt64>? { get }

    /// Every stored bucket of `table` at `resolution` numbered within `buckets`, with every
    /// ingested batch merged in first (a question answered right after ingest never misses it).
    func rollupBuckets(_ table: RollupTable, resolution: Resolution, buckets: ClosedRange<Int64>) throws -> [StoredRollupBuckets]

    /// For each gauge in `names`, the newest point per service between `start` and `end`.
    func newestGaugePoints(names: [String], from start: UInt64, to end: UInt64) throws -> [GaugePoint]
}

/// The two kinds of rollup bucket.
enum RollupTable: Sendable {
    /// Per service and operation: requests, errors, latency sketches (`RequestBucket`).
    case requests
    /// Per SLO: good and total counts (`SLOBucket`).
    case slo
}

/// One shard's stored buckets, their bytes one after another in `bytes`.
struct StoredRollupBuckets: Sendable {
    /// Which shard (day) the buckets come from: the same shard has the same names in every read.
    var shard: PartitionDay
    /// The names the shard's request buckets number, read after the buckets so every number they use is there.
    var names: RollupNames
    var buckets: [(bucket: Int64, bytes: Range<Int>)]
    var bytes: [UInt8]
}

/// A gauge's newest point for one service.
struct GaugePoint: Equatable, Sendable {
    var gauge: String
    var service: String
    var timeUnixNano: UInt64
    var value: Double
}
