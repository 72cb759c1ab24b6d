import Foundation

/// Writes one line to standard error, kept apart from the benchmark tables on standard output.
func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
