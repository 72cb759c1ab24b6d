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
        return current.flatMap(SpanFailure.status) ?? older.flatMap(SpanFailure.status)
    }

    /// Whether a span failed (`SpanFailure`).
    static func isFailed(kind: Span.Kind, status code: Span.Status.Code, attributes: [Attribute]) -> Bool {
        SpanFailure.isFailed(isError: code == .error, isServer: kind == .server, httpStatus: kind == .server ? httpStatus(attributes) : nil)
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
