import Synchronization

/// Finds the keys of a configuration file that nothing reads: a misspelt `max_sise` would
/// otherwise leave the default in force without a word. The file is decoded through
/// `AuditingDecoder`, which notes, for every mapping a type opens, the keys it holds and the
/// keys the type asked for (`decodeIfPresent` asks even when a key is absent); what is held and
/// never asked for is unknown — but for keys starting with `x-`, left for the user's own use
/// (YAML anchors to merge elsewhere, notes), as Compose files do.
enum KeyAudit {
    /// What was seen, by the path of each mapping (`queue`, `tail[2].multiline`).
    final class Record: Sendable {
        private struct Seen {
            var present: [String: [String]] = [:]
            var asked: [String: Set<String>] = [:]
        }

        private let seen = Mutex(Seen())

        func present(_ keys: [String], at path: String) {
            seen.withLock { if $0.present[path] == nil { $0.present[path] = keys } }
        }

        func asked(_ key: String, at path: String) {
            seen.withLock { _ = $0.asked[path, default: []].insert(key) }
        }

        /// Each unknown key with its path, and the keys that mapping takes, in file order.
        var unknown: [(key: String, known: [String])] {
            seen.withLock { seen in
                seen.present.keys.sorted().flatMap { path -> [(key: String, known: [String])] in
                    let asked = seen.asked[path] ?? []
                    return seen.present[path, default: []].filter { !asked.contains($0) && !$0.hasPrefix("x-") }.map { key in
                        (path.isEmpty ? key : "\(path).\(key)", asked.sorted())
                    }
                }
            }
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == "\(index)" {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) {
            stringValue = "\(intValue)"
            self.intValue = intValue
        }
    }
}

/// A decoder that passes everything to `base` and notes in `record` the keys of each mapping
/// and the keys asked for.
struct AuditingDecoder: Decoder {
    let base: any Decoder
    let record: KeyAudit.Record

    var codingPath: [any CodingKey] { base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { base.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let container = try base.container(keyedBy: type)
        let path = KeyAudit.path(codingPath)
        if let all = try? base.container(keyedBy: KeyAudit.AnyKey.self) {
            record.present(all.allKeys.map(\.stringValue), at: path)
        }
        return KeyedDecodingContainer(AuditingKeyedContainer(base: container, record: record, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        AuditingUnkeyedContainer(base: try base.unkeyedContainer(), record: record)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        try base.singleValueContainer()
    }
}

private struct AuditingKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let base: KeyedDecodingContainer<Key>
    let record: KeyAudit.Record
    let path: String

    var codingPath: [any CodingKey] { base.codingPath }
    var allKeys: [Key] { base.allKeys }

    private func ask(_ key: Key) { record.asked(key.stringValue, at: path) }

    func contains(_ key: Key) -> Bool {
        ask(key)
        return base.contains(key)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        ask(key)
        return try base.decodeNil(forKey: key)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        ask(key)
        return try T(from: AuditingDecoder(base: base.superDecoder(forKey: key), record: record))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        ask(key)
        guard base.contains(key), try !base.decodeNil(forKey: key) else { return nil }
        return try decode(type, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        ask(key)
        return try AuditingDecoder(base: base.superDecoder(forKey: key), record: record).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        ask(key)
        return try AuditingDecoder(base: base.superDecoder(forKey: key), record: record).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { try base.superDecoder() }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ask(key)
        return AuditingDecoder(base: try base.superDecoder(forKey: key), record: record)
    }
}

private struct AuditingUnkeyedContainer: UnkeyedDecodingContainer {
    var base: any UnkeyedDecodingContainer
    let record: KeyAudit.Record

    var codingPath: [any CodingKey] { base.codingPath }
    var count: Int? { base.count }
    var isAtEnd: Bool { base.isAtEnd }
    var currentIndex: Int { base.currentIndex }

    mutating func decodeNil() throws -> Bool { try base.decodeNil() }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: AuditingDecoder(base: base.superDecoder(), record: record))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try AuditingDecoder(base: base.superDecoder(), record: record).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try AuditingDecoder(base: base.superDecoder(), record: record).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        AuditingDecoder(base: try base.superDecoder(), record: record)
    }
}
