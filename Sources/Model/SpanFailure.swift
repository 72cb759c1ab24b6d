/// What counts as a failed span, everywhere Periscope counts one (signals, SLOs, trace search,
/// summaries, dependencies, the CLI's marks): its status is error, or it is a server span whose
/// HTTP status is 5xx (DESIGN §6). One rule, so a request is an error in every view or in none.
public enum SpanFailure {
    /// Whether a span with these parts failed; `httpStatus` is `status(_:)` of its
    /// `http.response.status_code` attribute, or else of the older `http.status_code`.
    @inlinable
    public static func isFailed(isError: Bool, isServer: Bool, httpStatus: Int?) -> Bool {
        isError || (isServer && (httpStatus ?? 0) >= 500)
    }

    /// An HTTP status attribute's value as a number: an integer, a finite double, or text of
    /// ASCII digits (read here without a `String` conversion), else whatever `Int` parses.
    public static func status(_ value: AttributeValue) -> Int? {
        switch value {
        case .int(let value): return Int(value)
        case .string(let text): return statusCode(text)
        case .double(let value): return value.isFinite && abs(value) < 1e15 ? Int(value) : nil
        default: return nil
        }
    }

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
}
