/// When a committed batch reaches the disk, which decides what a 2xx from the collector means.
/// Partitions use SQLite's write-ahead log either way; see https://sqlite.org/pragma.html#pragma_synchronous.
enum StoreDurability: String, Equatable, Sendable {
    /// The WAL is synced at every commit: an acknowledged batch survives power loss.
    case full
    /// The WAL is synced at checkpoints only: an acknowledged batch survives `kill -9`, but a power
    /// loss can take the commits since the last checkpoint. Fewer fsyncs.
    case normal

    var synchronous: String { rawValue.uppercased() }
}
