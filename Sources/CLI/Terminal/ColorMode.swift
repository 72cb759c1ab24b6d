import ArgumentParser

/// `--color auto|always|never`.
enum ColorMode: String, CaseIterable, ExpressibleByArgument, Sendable {
    case auto
    case always
    case never

    /// Whether output gets ANSI colour. `auto` colours only a terminal, and never when
    /// `NO_COLOR` is set to a non-empty value (https://no-color.org) or `TERM` is `dumb`.
    func useColor(stdoutIsTerminal: Bool, environment: [String: String]) -> Bool {
        switch self {
        case .always: return true
        case .never: return false
        case .auto:
            guard stdoutIsTerminal else { return false }
            if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
            if environment["TERM"] == "dumb" { return false }
            return true
        }
    }
}
