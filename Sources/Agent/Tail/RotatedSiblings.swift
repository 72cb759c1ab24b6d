import Foundation

/// The names a rotation gives a log file in its own directory: `app.log.1`, `app.log-20261122`,
/// `app.log.2026-11-22_13` — the followed name, a separator, then digits and date punctuation.
/// Compressed rotations (`app.log.2.gz`) are not text to tail and never match.
enum RotatedSiblings {
    /// Paths in the directory of `path` that look like rotations of it.
    static func of(_ path: String) -> [String] {
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        return names.filter { isRotation($0, of: base) }.map { (directory as NSString).appendingPathComponent($0) }
    }

    static func isRotation(_ name: String, of base: String) -> Bool {
        guard name.count > base.count + 1, name.hasPrefix(base) else { return false }
        let suffix = name.utf8.dropFirst(base.utf8.count)
        guard let separator = suffix.first, separator == UInt8(ascii: ".") || separator == UInt8(ascii: "-") || separator == UInt8(ascii: "_"),
              let first = suffix.dropFirst().first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return suffix.dropFirst().allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "T") || byte == UInt8(ascii: ":")
        }
    }
}
