#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the CLI needs to know about where its output goes.
enum Terminal {
    /// Width used when neither `$COLUMNS` nor the terminal tells us one (output to a pipe or file).
    static let fallbackWidth = 120

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

    /// The width to lay out for: a valid `$COLUMNS` wins (an explicit override), then the
    /// terminal's own size (`TIOCGWINSZ` on stdout), then `fallbackWidth`.
    static func width(environment: [String: String]) -> Int {
        width(columnsVariable: environment["COLUMNS"], terminalColumns: terminalColumns())
    }

    static func width(columnsVariable: String?, terminalColumns: Int?) -> Int {
        if let text = columnsVariable, let columns = Int(text.trimmingSpaces), columns > 0 { return columns }
        if let columns = terminalColumns, columns > 0 { return columns }
        return fallbackWidth
    }

    /// Columns of the terminal on stdout, `nil` when stdout is no terminal.
    static func terminalColumns() -> Int? {
        guard stdoutIsTerminal else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}

extension String {
    var trimmingSpaces: Substring {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}
