import Foundation

/// Where the built Periscope binaries and the package's files are, for tests that start them.
public enum BinaryLocation {
    /// The package root, derived from this file's place in `Tests/PeriscopeTesting/`.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `PERISCOPE_BIN_DIR` if set (the Makefile sets it), else `.build/debug`.
    public static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["PERISCOPE_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return packageRoot.appendingPathComponent(".build/debug")
    }

    public static func binary(_ name: String) -> URL { binDirectory.appendingPathComponent(name) }
}
