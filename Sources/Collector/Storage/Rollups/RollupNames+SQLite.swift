/// A partition's `rollup_names` table.
extension RollupNames {
    /// Reads the names numbered since the last call. Numbers are contiguous; one that is not
    /// ends the read, and the entries that use it are skipped as damaged.
    mutating func update(from database: SQLiteDatabase) throws {
        let statement = try database.statement("SELECT id, name FROM rollup_names WHERE id >= ? ORDER BY id").bind(1, names.count)
        while try statement.step() {
            guard statement.int(0) == names.count else { break }
            let name = statement.string(1)
            if !numbers.isEmpty { numbers[name] = Int32(names.count) }
            names.append(name)
        }
    }

    /// The number of `name`; a new name is numbered and stored (inside the caller's transaction).
    mutating func number(_ name: String, in database: SQLiteDatabase) throws -> Int32 {
        if numbers.isEmpty {
            for (number, name) in names.enumerated() { numbers[name] = Int32(number) }
        }
        if let number = numbers[name] { return number }
        let number = Int32(names.count)
        try database.statement("INSERT INTO rollup_names (id, name) VALUES (?, ?)").bind(1, Int(number)).bind(2, name).run()
        names.append(name)
        numbers[name] = number
        return number
    }
}
