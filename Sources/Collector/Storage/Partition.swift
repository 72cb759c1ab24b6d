import Foundation
import PeriscopeConfig
import PeriscopeModel
import Synchronization

/// One day's SQLite database: a writer connection for ingest and a reader for queries
/// (WAL lets them run side by side), and the span blocks queries read recently.
final class Partition: Sendable {
    let day: PartitionDay
    let path: String
    let writer: ConnectionLock
    let reader: ConnectionLock
    let blocks = SpanBlockCache()
    /// Span IDs of the large traces being written (see `LargeTraceSpanIDs`).
    let largeTraces = LargeTraceSpanIDs()
    /// Something may await a rollup flush (set after every ingest; true at open, to merge what
    /// a crash left unmerged).
    let rollupsPending = Atomic<Bool>(true)
    /// The rollup deltas of span batches stored since the last flush: all of them in a new
    /// file, unknown in one opened again (a crash may have left blocks unmerged).
    let spanDeltas: Mutex<PendingSpanDeltas>
    /// The names request buckets number, as far as queries have read them.
    private let rollupNames = Mutex(RollupNames())
    /// Distinct operations per service in this day's rollups and operations list.
    let operations: OperationLimit

    init(
        day: PartitionDay, directory: String, maxOperationsPerService: Int = OperationLimit.defaultMaxPerService,
        durability: StoreDurability = .full
    ) throws {
        self.day = day
        path = Self.path(of: day, in: directory)
        let writer = try SQLiteDatabase(path: path)
        let version = try writer.integer("PRAGMA user_version")
        let isNew = try writer.integer("SELECT count(*) FROM sqlite_master") == 0
        if isNew {
            // Page size first: it only takes effect before the file's first write (the WAL switch).
            try writer.execute("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA user_version=\(Schema.version);")
        } else if !(Int(SchemaUpgrade.oldestUpgradable)...Int(Schema.version)).contains(version) {
            throw PartitionSchemaMismatch(path: path, found: version)
        }
        // 16 MiB of page cache holds the inner pages of a day's B-trees; a larger one costs more
        // than it saves, as SQLite's page-cache work per write transaction grows with it (store
        // bench, 10M spans: 126k spans per CPU-second with 64 MiB, 138k with 16 MiB). The
        // WAL is truncated back to 16 MiB after each checkpoint so it does not keep its peak size.
        try writer.execute("""
            PRAGMA journal_mode=WAL; PRAGMA synchronous=\(durability.synchronous); PRAGMA cache_size=-16384;
            PRAGMA journal_size_limit=16777216;
            """)
        if !isNew && version < Int(Schema.version) { _ = try SchemaUpgrade.upgrade(writer, path: path, from: version) }
        try writer.execute(Schema.statements)
        var known = [(service: String, operation: String)]()
        let listed = try writer.statement("SELECT service, name FROM operations")
        while try listed.step() { known.append((listed.string(0), listed.string(1))) }
        operations = OperationLimit(maxPerService: maxOperationsPerService, day: day.description, known: known)
        let reader = try SQLiteDatabase(path: path)
        try reader.execute("PRAGMA query_only=ON; PRAGMA cache_size=-32768;")
        spanDeltas = Mutex(PendingSpanDeltas(isComplete: isNew))
        self.writer = ConnectionLock(writer)
        self.reader = ConnectionLock(reader)
    }

    /// The names request buckets number (`RollupNames`), brought up to date through `database`
    /// (the reader). Call it after reading the buckets, so that every number they use is there.
    func rollupNames(reading database: SQLiteDatabase) throws -> RollupNames {
        try rollupNames.withLock { names in
            try names.update(from: database)
            return names
        }
    }

    /// Where the file of `day` lives in `directory`.
    static func path(of day: PartitionDay, in directory: String) -> String {
        (directory as NSString).appendingPathComponent("\(day).db")
    }

    /// Whether the file at `path` is a partition some Periscope wrote, read from its header
    /// alone (nothing opened, nothing upgraded; see `isOurs(header:)`). A file of another tool,
    /// or of a newer Periscope, is not ours to delete.
    static func isOurs(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: headerSize) else { return false }
        return isOurs(header: Array(data))
    }

    /// The bytes of a database file's header that `isOurs(header:)` reads.
    static let headerSize = 64

    /// Whether `header`, the first bytes of a file, is a whole SQLite header with the SQLite
    /// signature and a `user_version` (big-endian at offset 60) from the first schema to this
    /// collector's. (A file whose header change is still in its WAL reads as version 0: it is
    /// opened as usual instead.)
    static func isOurs(header: [UInt8]) -> Bool {
        guard header.count >= headerSize, header.prefix(16).elementsEqual("SQLite format 3\0".utf8) else { return false }
        let version = header[60..<64].reduce(0) { $0 << 8 | Int($1) }
        return (1...Int(Schema.version)).contains(version)
    }

    /// Removes the files of a partition that has been closed.
    static func removeFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }

    /// Moves a damaged partition's files aside, to `<day>.db.damaged-<UTC time>` (and its
    /// `-wal` and `-shm`), where the collector never opens them again and an operator can try
    /// `sqlite3 <file> .recover`. Returns the new path of the database file; nil when it could
    /// not be moved.
    static func moveAside(_ path: String, nowUnixNano: UInt64 = WallClock.nowUnixNano()) -> String? {
        let stamp = TimestampText.rfc3339(unixNano: nowUnixNano).filter { $0.isNumber || $0 == "T" }.prefix(15)
        var target = "\(path).damaged-\(stamp)"
        var attempt = 1
        while FileManager.default.fileExists(atPath: target) {
            attempt += 1
            target = "\(path).damaged-\(stamp)-\(attempt)"
        }
        guard rename(path, target) == 0 else { return nil }
        for suffix in ["-wal", "-shm"] { _ = rename(path + suffix, target + suffix) }
        return target
    }
}

/// A partition file that could not be opened, named.
struct PartitionOpenFailure: Error, CustomStringConvertible {
    var path: String
    var reason: String

    var description: String { "cannot open the day file \(path): \(reason)" }
}

/// A partition file written with another storage layout than this collector's.
struct PartitionSchemaMismatch: Error, CustomStringConvertible {
    var path: String
    var found: Int

    var description: String {
        let writer = found > Int(Schema.version) ? "a newer Periscope" : "an older Periscope"
        return "\(path) was written by \(writer) (storage schema \(found); this collector reads and writes schema \(Schema.version)) "
            + "and cannot be read (this collector upgrades files of schema \(SchemaUpgrade.oldestUpgradable) and later). Move it or the whole data directory aside (or delete it), then start the collector again; "
            + "to keep querying the old data, run the Periscope version that wrote it on that directory."
    }
}
