/// The numbers request buckets give service and operation names, one table per partition
/// (`rollup_names`): a number takes a byte or two where a name takes its length, and in a
/// sparse minute bucket the names would be most of the bytes. Numbers run from 1 in the order
/// names first reach a flush (0 is "", a service's own entry) and never change, so a reader
/// keeps what it has read and only reads the names added since.
struct RollupNames: Sendable {
    /// Name n's text.
    var names: [String] = [""]
    /// Numbers by name, built when a flush first numbers a name.
    var numbers: [String: Int32] = [:]

    /// The name numbered `number`; `nil` if no such number was read (a damaged bucket).
    subscript(number: Int) -> String? { names.indices.contains(number) ? names[number] : nil }

    /// The number of `name`, if a bucket may use it.
    func number(of name: String) -> Int? { names.firstIndex(of: name) }
}
