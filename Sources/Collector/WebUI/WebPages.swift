import Foundation
import PeriscopeModel
import PeriscopeQueryAPI

/// The web UI's pages, rendered on the server from the query API's own answers: plain HTML
/// and SVG, one stylesheet, no script. Every value from telemetry or the request goes through
/// `HTML.text` or `HTML.query`.
struct WebPages: Sendable {
    /// The sections in the header's navigation.
    enum Section: String, CaseIterable, Sendable {
        case traces, logs, dependencies, signals, slos

        var title: String {
            switch self {
            case .traces: "Traces"
            case .logs: "Logs"
            case .dependencies: "Dependencies"
            case .signals: "Signals"
            case .slos: "SLOs"
            }
        }

        var path: String { self == .traces ? "/ui/" : "/ui/\(rawValue)" }
    }

    /// The ages a search form offers, as `since` values (`all`: no start).
    static let ages = ["15m", "1h", "6h", "24h", "7d", "all"]
    /// Whether the collector asks for a token (then pages offer to sign out).
    var authenticated: Bool
    /// Attributes, events, and attributes of an event a page shows of one span or log line.
    static let maxShownPerSpan = 64

    /// A form's values as the request gave them, shown again in its fields.
    struct Form: Sendable {
        var values: [String: String]

        init(_ pairs: [(name: String, value: String)]) {
            var values: [String: String] = [:]
            for pair in pairs where values[pair.name] == nil { values[pair.name] = pair.value }
            self.values = values
        }

        subscript(_ name: String) -> String { values[name] ?? "" }
    }

    // MARK: - Layout

    /// `refreshSeconds`: the browser loads the page again after that long (a followed log search).
    func page(_ title: String, section: Section?, refreshSeconds: Int? = nil, _ body: String) -> String {
        let navigation = Section.allCases.map { item in
            "<a href=\"\(item.path)\"\(item == section ? " class=\"current\"" : "")>\(item.title)</a>"
        }.joined()
        let signOut = authenticated
            ? "<form method=\"post\" action=\"/ui/logout\" class=\"signout\"><button type=\"submit\">Sign out</button></form>" : ""
        return """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.text(title)) · Periscope</title><link rel="stylesheet" href="/ui/style.css?v=\(WebStyle.version)">\
            \(refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")</head>
            <body><header><a class="brand" href="/ui/">Periscope</a><nav>\(navigation)</nav>\(signOut)</header>
            <main>
            \(body)
            </main></body></html>

            """
    }

    /// `next`: the page to go on to once signed in (checked again when the form comes back).
    func login(error: String?, next: String = "/ui/") -> String {
        page("Sign in", section: nil, """
            <h1>Sign in</h1>
            \(error.map { "<p class=\"error\" role=\"alert\">\(HTML.text($0))</p>" } ?? "")
            <form method="post" action="/ui/login" class="login">
            <input type="hidden" name="next" value="\(HTML.text(next))">
            <label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
            <button type="submit">Sign in</button>
            </form>
            <p class="hint">A token the collector accepts (its <code>--token-file</code>): the one the CLI sends.</p>
            """)
    }

    /// The page for a trace ID nothing is stored under.
    func noSuchTrace(_ id: TraceID) -> String {
        message("No such trace", "No trace with ID \(id.hex) is stored (it may have expired, or not arrived yet).")
    }

    func message(_ title: String, _ text: String) -> String {
        page(title, section: nil, "<h1>\(HTML.text(title))</h1><p class=\"error\" role=\"alert\">\(HTML.text(text))</p>")
    }

    // MARK: - Forms

    func field(_ name: String, _ label: String, _ form: Form, placeholder: String = "", list: String? = nil) -> String {
        "<label>\(label) <input name=\"\(name)\" value=\"\(HTML.text(form[name]))\" placeholder=\"\(HTML.text(placeholder))\""
            + (list.map { " list=\"\($0)\"" } ?? "") + "></label>"
    }

    func select(_ name: String, _ label: String, _ form: Form, options: [(value: String, label: String)], default fallback: String) -> String {
        let chosen = form[name].isEmpty ? fallback : form[name]
        let items = options.map { option in
            "<option value=\"\(HTML.text(option.value))\"\(option.value == chosen ? " selected" : "")>\(HTML.text(option.label))</option>"
        }.joined()
        return "<label>\(label) <select name=\"\(name)\">\(items)</select></label>"
    }

    /// `unset`: a first choice with no value, so the page's own default applies when it is kept.
    func since(_ form: Form, default fallback: String, allowAll: Bool = true, unset: String? = nil) -> String {
        let ages = Self.ages.filter { allowAll || $0 != "all" }.map { ($0, $0 == "all" ? "all time" : $0) }
        return select("since", "Last", form, options: (unset.map { [("", $0)] } ?? []) + ages, default: fallback)
    }

    func error(_ text: String?) -> String {
        text.map { "<p class=\"error\" role=\"alert\">\(HTML.text($0))</p>" } ?? ""
    }

    func note(_ text: String) -> String {
        "<p class=\"note\">\(text)</p>"
    }
}
