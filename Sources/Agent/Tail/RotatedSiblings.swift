import Foundation

/// The names a rotation gives a log file in its own directory: `app.log.1`, `app.log-20261122`,
/// `app.log.2026-11-22_13` — the followed name, a separator, then digits and date punctuation.
/// Compressed rotations (`app.log.2.gz`) are not text to tail and never match.
enum RotatedSiblings {
    /// Paths that look like rotations of `path`: in its directory, and — when `path` is a
    /// symbolic link (`/var/log/containers/x.log` → `../pods/…/0.log`) — next to its target,
    /// where the rotation happens.
    static func ofFollowed(_ path: String) -> [String] {
        LinkTarget.paths(of: path).flatMap(of)
    }

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

/// Where a followed path leads.
enum LinkTarget {
    /// `path`, then — when it is a symbolic link — the path it points at (relative targets
    /// taken from the link's directory; links to links followed up to 8 deep), even if nothing
    /// is there any more.
    static func paths(of path: String) -> [String] {
        var paths = [path]
        var current = path
        for _ in 0..<8 {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { break }
            current = target.hasPrefix("/") ? target : ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(target)
            current = (current as NSString).standardizingPath
            if !paths.contains(current) { paths.append(current) }
        }
        return paths
    }

    /// The directories a file followed at `path` may have been rotated, copied or renamed in.
    static func directories(of path: String) -> [String] {
        var directories: [String] = []
        for candidate in paths(of: path) {
            let directory = (candidate as NSString).deletingLastPathComponent
            if !directories.contains(directory) { directories.append(directory) }
        }
        return directories
    }
}
