import Foundation

/// Writes one line straight to standard output, unbuffered, so a parent process reading our
/// stdout (the demo, the end-to-end tests) sees it at once.
func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
