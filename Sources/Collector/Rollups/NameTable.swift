/// Strings numbered in the order they were first added, so records refer to a service,
/// operation, error type or SLO by a small index instead of repeating its name.
struct NameTable: Equatable, Sendable {
    private(set) var names: [String] = []
    private var indices: [String: Int32] = [:]

    init(indexing names: [String] = []) {
        for name in names { _ = index(name) }
    }

    /// Names read back from storage: they are only looked up by number, so no index by name is built.
    init(readBack names: [String]) { self.names = names }

    /// The number of `name`, added if it is new.
    mutating func index(_ name: String) -> Int32 {
        if let index = indices[name] { return index }
        let index = Int32(names.count)
        names.append(name)
        indices[name] = index
        return index
    }

    subscript(index: Int32) -> String { names[Int(index)] }

    static func == (lhs: NameTable, rhs: NameTable) -> Bool { lhs.names == rhs.names }
}
