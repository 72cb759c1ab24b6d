/// ANSI styling that collapses to plain text when colour is off.
struct Style: Sendable {
    var enabled: Bool

    static let plain = Style(enabled: false)

    enum Color: String, Sendable {
        case red = "31"
        case green = "32"
        case yellow = "33"
        case blue = "34"
        case magenta = "35"
        case cyan = "36"
        case gray = "90"
        case brightBlue = "94"
        case brightMagenta = "95"
        case brightCyan = "96"
        case brightGreen = "92"
        case brightYellow = "93"
    }

    func color(_ text: String, _ color: Color) -> String { wrap(text, color.rawValue) }
    func bold(_ text: String) -> String { wrap(text, "1") }
    func dim(_ text: String) -> String { wrap(text, "2") }
    func boldColor(_ text: String, _ color: Color) -> String { wrap(text, "1;" + color.rawValue) }

    private func wrap(_ text: String, _ code: String) -> String {
        guard enabled, !text.isEmpty else { return text }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// Colours that tell services apart in the waterfall (red is kept for errors).
    static let servicePalette: [Color] = [.cyan, .blue, .magenta, .green, .yellow, .brightCyan, .brightBlue, .brightMagenta, .brightGreen, .brightYellow]
}
