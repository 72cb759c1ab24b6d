import PeriscopeModel
import PeriscopeOTLP

/// A partition's `resources` rows: each distinct set of resource attributes once, which log
/// blocks and metric points refer to by row ID.
enum ResourceRows {
    /// The row ID of `resource`'s attributes, added if new (inside the caller's transaction).
    static func id(of resource: Resource, in database: SQLiteDatabase) throws -> Int64 {
        let encoded = CompactEncoding.encode(attributes: resource.attributes)
        try database.statement("INSERT OR IGNORE INTO resources (attributes) VALUES (?)").bind(1, blob: encoded).run()
        let select = try database.statement("SELECT id FROM resources WHERE attributes = ?").bind(1, blob: encoded)
        guard try select.step() else { throw SQLiteError(code: 0, message: "resource row vanished") }
        let id = select.int64(0)
        _ = try select.step()
        return id
    }
}
