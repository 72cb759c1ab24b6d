import Foundation
import Yams

/// Reads a YAML configuration file (`agent.yaml`, `collector.yaml`) into its keys, with one
/// sentence naming the file and the problem when it cannot. A key nothing reads (misspelt, or
/// of another version) is refused, named with the keys its mapping takes: a setting is never
/// silently left at its default.
public enum ConfigurationFile {
    public static func load<Keys: Decodable>(_ type: Keys.Type, from path: String) throws -> Keys {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read config file '\(path)': \(error.localizedDescription)")
        }
        let audited: Audited<Keys>
        do {
            audited = try YAMLDecoder().decode(Audited<Keys>.self, from: text)
        } catch {
            throw ConfigurationError("config file '\(path)': \(error)")
        }
        if let unknown = audited.record.unknown.first {
            let known = unknown.known.isEmpty ? "" : " (the keys there are \(unknown.known.joined(separator: ", ")))"
            throw ConfigurationError("config file '\(path)': unknown key '\(unknown.key)'\(known): remove it or correct its spelling")
        }
        return audited.keys
    }

    /// `Keys` decoded through `AuditingDecoder`, with what it saw.
    private struct Audited<Keys: Decodable>: Decodable {
        let keys: Keys
        let record: KeyAudit.Record

        init(from decoder: any Decoder) throws {
            let record = KeyAudit.Record()
            keys = try Keys(from: AuditingDecoder(base: decoder, record: record))
            self.record = record
        }
    }
}
