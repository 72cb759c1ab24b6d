import Foundation

/// Flags that only newer builds of the agent and collector know, passed only to a binary that
/// lists them in its `--help`: a benchmark can then run an older build side by side with the
/// current one (`--bin-dir` of each) on the same workload.
public enum OptionalFlags {
    /// `[flag, value]` when `binary --help` mentions `flag`, else nothing.
    public static func ifSupported(_ flag: String, _ value: String, by binary: URL) -> [String] {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--help"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        guard (try? process.run()) != nil else { return [] }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.contains(flag) ? [flag, value] : []
    }
}
