import Foundation
import PeriscopeQueryAPI

/// `--json` output: the collector's document, pretty-printed with sorted keys so scripts
/// and diffs see a stable shape.
enum JSONOutput {
    static func string(_ value: some Encodable) throws -> String {
        let encoder = QueryAPI.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    /// One compact line of NDJSON (sorted keys), newline included.
    static func line(_ value: some Encodable) throws -> String {
        let encoder = QueryAPI.encoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}
