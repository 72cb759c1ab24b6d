/// The numbers request buckets give service and operation names, one table per partition
/// (`rollup_names`): a number takes a byte or two where a name takes its length, and in a
/// sparse minute bucket the names would be most of the bytes. Numbers run from 1 in the order
/// names first reach a flush (0 is "", a service's own entry) and never change, so a reader
/// keeps what it has read and only reads the names added since.
struct RollupNames: Sendable {
    /// Name n's text.
    private(set) var names: [String] = [""]
    /// Numbers by name, built when a flush first numbers a name.
    private var numbers: [String: Int32] = [:]

    /// The name numbered `number`; `nil` if no such number was read (a damaged bucket).
    subscript(number: Int) -> String? { names.indices.contains(number) ? names[number] : nil }

    /// The number of `name`, if a bucket may use it.
    func number(of name: String) -> Int? { names.firstIndex(of: name) }

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
