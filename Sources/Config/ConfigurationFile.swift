import Foundation
import Yams

/// Reads a YAML configuration file (`agent.yaml`, `collector.yaml`) into its keys, with one
/// sentence naming the file and the problem when it cannot.
public enum ConfigurationFile {
    public static func load<Keys: Decodable>(_ type: Keys.Type, from path: String) throws -> Keys {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read config file '\(path)': \(error.localizedDescription)")
        }
        do {
            return try YAMLDecoder().decode(Keys.self, from: text)
        } catch {
            throw ConfigurationError("config file '\(path)': \(error)")
        }
    }
}
