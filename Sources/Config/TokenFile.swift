import Foundation

/// A bearer-token file, as the collector (every line an accepted token) and the CLI (the first
/// token) read it: one token per line; blank lines and `#` comments are skipped.
public enum TokenFile {
    /// The tokens in a token file's text, in order, without surrounding whitespace.
    public static func parse(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// The tokens in the file at `path`; throws when it cannot be read or holds none.
    public static func read(_ path: String) throws(ConfigurationError) -> [String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read token file '\(path)': \(error.localizedDescription)")
        }
        let tokens = parse(text)
        guard !tokens.isEmpty else { throw ConfigurationError("token file '\(path)' holds no token (blank lines and # comments are skipped)") }
        return tokens
    }
}
