import PeriscopeModel

/// Which spans are requests and which requests failed, as DESIGN §6 defines them: server and
/// consumer spans are requests; a request failed if its status is error, or, for a server
/// span, if its HTTP status is 5xx.
enum RequestClassification {
    static func isRequest(_ kind: Span.Kind) -> Bool { kind == .server || kind == .consumer }

    /// The HTTP status among a span's attributes: `http.response.status_code`, or the older
    /// `http.status_code`. One pass, comparing a key only when its length matches (this runs for
    /// every request span at ingest).
    static func httpStatus(_ attributes: [Attribute]) -> Int? {
        var current: AttributeValue?
        var older: AttributeValue?
        // By index: iterating would copy (retain and release) every attribute.
        for index in attributes.indices {
            switch attributes[index].key.utf8.count {
            case 25 where current == nil && attributes[index].key == "http.response.status_code": current = attributes[index].value
            case 16 where older == nil && attributes[index].key == "http.status_code": older = attributes[index].value
            default: continue
            }
        }
        return current.flatMap(status) ?? older.flatMap(status)
    }

    private static func status(_ value: AttributeValue) -> Int? {
        switch value {
        case .int(let value): return Int(value)
        case .string(let text): return statusCode(text)
        case .double(let value): return value.isFinite && abs(value) < 1e15 ? Int(value) : nil
        default: return nil
        }
    }

    /// A status code sent as text: a few ASCII digits (read here), else whatever `Int` parses.
    private static func statusCode(_ text: String) -> Int? {
        var code = 0
        var digits = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return Int(text) }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? code : nil
    }

    /// Whether a span failed: its status is error, or it is a server span whose HTTP status is
    /// 5xx. Signals, SLOs, trace search, trace summaries and dependencies all count by this.
    static func isFailed(kind: Span.Kind, status code: Span.Status.Code, attributes: [Attribute]) -> Bool {
        code == .error || (kind == .server && (httpStatus(attributes) ?? 0) >= 500)
    }

    /// `nil` for a success; otherwise the error type: the HTTP status (`500`) or `status_error`.
    /// Takes the span's parts: a span passed whole out of an array is copied first.
    static func errorType(kind: Span.Kind, status code: Span.Status.Code, attributes: [Attribute], events: [Span.Event]) -> String? {
        let status = httpStatus(attributes)
        if kind == .server, let status, status >= 500 { return String(status) }
        if code == .error {
            if let type = events.first(where: { $0.name == "exception" })?.attributes["exception.type"]?.text {
                return Self.bounded(type)
            }
            return status.map(String.init) ?? "status_error"
        }
        return nil
    }

    /// Longest error type kept, in UTF-8 bytes: it is stored in every rollup bucket it occurs in.
    static let maxErrorTypeBytes = 128

    /// `type` cut to `maxErrorTypeBytes` on a character boundary.
    static func bounded(_ type: String) -> String {
        guard type.utf8.count > maxErrorTypeBytes else { return type }
        var cut = ""
        for character in type {
            guard cut.utf8.count + character.utf8.count <= maxErrorTypeBytes else { break }
            cut.append(character)
        }
        if cut.isEmpty {
            // One character longer than the limit (a letter with thousands of combining marks): cut its scalars.
            var scalars = String.UnicodeScalarView()
            for scalar in type.unicodeScalars {
                guard String(scalars).utf8.count + String(scalar).utf8.count <= maxErrorTypeBytes else { break }
                scalars.append(scalar)
            }
            cut = String(scalars)
        }
        return cut
    }
}
